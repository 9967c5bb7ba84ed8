"""The load test: the roles' real traffic, mixed, against any deployment of the portal.

    locust -f bench/locustfile.py --host http://127.0.0.1:5000 --headless \\
        --users 32 --spawn-rate 8 --run-time 60s --csv load

(``python -m bench.load`` starts gunicorn on a demo database and runs it for you.)

Who does what (weights per simulated user, then per task; each user waits
``LOAD_WAIT`` seconds, default 1–3, between two actions, as people do):

- **Police** of a commune (3): the record list, a name search, the next page, record
  pages, a dashboard refresh (the page's own htmx timer), and now and then the CSV export.
- **Health station** of a commune (3): the same reading, and saves: the phone number of a
  record of their commune corrected through the real editor (the editor fragment loaded,
  its hidden inputs posted back with the page's CSRF token, as htmx does).
- **Health authority** of the province (1): the dashboard and its refreshes, the
  province's records, searches.
- **Commune committee** (1): the persons awaiting the chair's signature (``/signing``),
  record pages, and now and then a signature, as the chair signs in the browser: the list
  narrowed to one name of it (a small document: signing costs about a second of CPU), the
  sign dialog opened (``POST /signing/batches``, htmx), the PIN posted
  (``POST /signing/batches/<id>/sign``). With nobody left awaiting, nothing is signed.
- **Citizen** (1, no account): the complaint form loaded and a complaint filed (CSRF token
  of the form, a made-up person, a commune of the province), then the receipt page.

Accounts: the JSON file that ``flask demo --accounts FILE`` writes (``LOAD_ACCOUNTS``,
default ``instance/demo-accounts.json``), else the demo's usernames with ``LOAD_PASSWORD``
(default the demo password); the signing PIN is the file's ``signing_pin``, else ``LOAD_PIN``
(default the demo PIN). An account that asks for a second factor stops its user with
a message: choose accounts without one. ``LOAD_WRITES=0`` leaves out every write (saves,
complaints, exports, signatures): a read-only run against a production deployment.

Outcomes: every answer the role should not get is a failure (a 409 of a save is not:
someone else saved the same record meanwhile, which the portal reports as it should; it is
counted as a conflict; so is a signature refused because a concurrent signer confirmed the same
persons first; a chair with nobody left to sign counts ``nothing_to_sign``).
``LOAD_COUNTS=FILE`` writes, at the end, the number of saves, complaints, exports and
signatures (signed documents) that succeeded (so a runner can compare with the database), the
conflicts, the 5xx answers, and the response times by kind (page, save, export, sign: the
dialog opened and the PIN posted, login), all but the logins' from the moment every user is
spawned and logged in (the logins of the start, a slow password hash each, are the ramp-up;
``steady_seconds`` says how long the steady load lasted).
"""

from __future__ import annotations

import html
import json
import os
import random
import re
import threading
import time
from collections import Counter, defaultdict
from html.parser import HTMLParser
from pathlib import Path

from locust import HttpUser, between, events, task
from locust.exception import StopUser

DEMO_PASSWORD = "tiem-chung-2021"
DEMO_PIN = "246810"
COMMUNES = {"ba_dinh": "00004", "ngoc_ha": "00008", "giang_vo": "00025"}
PROVINCE = "01"
SEARCHES = ("nguyen", "thi", "van", "tran", "le", "hoa", "minh", "thu", "anh", "hai")
CSRF_INPUT = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')
CSRF_HEADER = re.compile(r'"X-CSRFToken": "([^"]+)"')
AWAITING_ROW = re.compile(r'<tr data-person="[0-9]+"><td><a href="[^"]*">([^<]+)</a>')
ROW_LINK = re.compile(r'<a href="/records/([0-9]+)"')
NEXT_LINK = re.compile(r'href="(/records\?[^"]*after=[^"]+)"')

# What succeeded, and how long each kind of request took (the runner's figures). The times
# are kept from the moment every user is spawned and logged in: the burst of logins at the
# start (a password hash each, deliberately slow) is the ramp-up, not the steady load.
_lock = threading.Lock()
counts: Counter[str] = Counter()
times: dict[str, list[float]] = defaultdict(list)
_ramp = {"spawned": False, "logging_in": 0, "steady_since": 0.0}


def _wait() -> tuple[float, float]:
    low, _, high = os.environ.get("LOAD_WAIT", "1,3").partition(",")
    return float(low), float(high or low)


def _writes() -> bool:
    return os.environ.get("LOAD_WRITES", "1") != "0"


def _accounts() -> dict[str, str]:
    """username → password."""
    path = Path(os.environ.get("LOAD_ACCOUNTS", "instance/demo-accounts.json"))
    if path.exists():
        return {a["username"]: a["password"] for a in json.loads(path.read_text())}
    password = os.environ.get("LOAD_PASSWORD", DEMO_PASSWORD)
    names = ["authority.ha_noi"] + [
        f"{role}.{c}" for role in ("police", "health", "committee") for c in COMMUNES
    ]
    return {name: password for name in names}


def _pin(username: str) -> str:
    """The signing PIN of an account: the accounts file's, else ``LOAD_PIN``."""
    path = Path(os.environ.get("LOAD_ACCOUNTS", "instance/demo-accounts.json"))
    if path.exists():
        for account in json.loads(path.read_text()):
            if account["username"] == username and account.get("signing_pin"):
                return account["signing_pin"]
    return os.environ.get("LOAD_PIN", DEMO_PIN)


def count(what: str, n: int = 1) -> None:
    with _lock:
        counts[what] += n


@events.request.add_listener
def _timed(
    request_type,
    name,
    response_time,
    response_length,
    exception=None,
    context=None,
    response=None,
    **kwargs,
):
    kind = (context or {}).get("kind", "page")
    with _lock:
        if _ramp["steady_since"] or kind == "login":
            times[kind].append(response_time)
        status = getattr(response, "status_code", 0) or 0
        if status >= 500:
            counts[f"http_{status}"] += 1
        if exception is not None:
            counts["failures"] += 1


def _steady_yet() -> None:
    if _ramp["spawned"] and not _ramp["logging_in"] and not _ramp["steady_since"]:
        _ramp["steady_since"] = time.time()


@events.spawning_complete.add_listener
def _spawned(user_count, **kwargs):
    with _lock:
        _ramp["spawned"] = True
        _steady_yet()


@events.test_start.add_listener
def _started(environment, **kwargs):
    with _lock:
        _ramp.update(spawned=False, logging_in=0, steady_since=0.0)
        _ramp["started"] = time.time()


@events.quitting.add_listener
def _write_counts(environment, **kwargs):
    target = os.environ.get("LOAD_COUNTS")
    if target:
        with _lock:
            steady = _ramp["steady_since"]
            Path(target).write_text(
                json.dumps(
                    {
                        "counts": dict(counts),
                        "times": {k: v for k, v in times.items()},
                        "steady_seconds": time.time() - steady if steady else 0,
                        "ramp_seconds": steady - _ramp.get("started", steady) if steady else 0,
                    }
                )
            )


class _Inputs(HTMLParser):
    """The inputs of a form of an HTML page or fragment: name → value. The first form, or
    the first whose ``action`` matches the pattern ``action``."""

    def __init__(self, action: re.Pattern[str] | None = None) -> None:
        super().__init__()
        self.values: dict[str, str] = {}
        self.action_pattern = action
        self.action = ""  # the action of the form read
        self.state = "before"  # before, in (the form read), after

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "form" and self.state == "before":
            action = attributes.get("action") or ""
            if self.action_pattern is None or self.action_pattern.fullmatch(action):
                self.state, self.action = "in", action
        elif (
            tag in ("input", "select", "textarea")
            and self.state == "in"
            and attributes.get("name")
            and attributes.get("type") not in ("submit", "button")
        ):
            self.values.setdefault(attributes["name"], attributes.get("value") or "")

    def handle_endtag(self, tag):
        if tag == "form" and self.state == "in":
            self.state = "after"


def form_inputs(html: str, action: str | None = None) -> dict[str, str]:
    """The inputs of the page's first form, or of its first form whose action matches the
    regular expression ``action`` (the form's action is then under the key ``"<action>"``)."""
    parser = _Inputs(re.compile(action) if action else None)
    parser.feed(html)
    if action and parser.state != "before":
        return {**parser.values, "<action>": parser.action}
    return parser.values


class PortalUser(HttpUser):
    abstract = True
    wait_time = between(*_wait())
    roles: tuple[str, ...] = ()

    def on_start(self) -> None:
        accounts = _accounts()
        names = [n for n in accounts if n.split(".")[0] in self.roles]
        if not names:
            raise StopUser(f"no account for {self.roles} in the accounts")
        self.username = random.choice(names)
        self.person_ids: list[int] = []
        self.csrf = ""
        with _lock:
            _ramp["logging_in"] += 1
        try:
            self.log_in(accounts[self.username])
        finally:
            with _lock:
                _ramp["logging_in"] -= 1
                _steady_yet()

    def log_in(self, password: str) -> None:
        page = self.client.get("/login", name="/login", context={"kind": "login"})
        token = CSRF_INPUT.search(page.text)
        with self.client.post(
            "/login",
            name="/login [post]",
            allow_redirects=False,
            data={
                "username": self.username,
                "password": password,
                "csrf_token": token.group(1) if token else "",
            },
            context={"kind": "login"},
            catch_response=True,
        ) as answer:
            where = answer.headers.get("Location", "")
            if answer.status_code != 303 or "/login" in where:
                answer.failure(f"login of {self.username}: {answer.status_code} → {where}")
                why = "a second factor is required" if "/login/" in where else answer.status_code
                raise StopUser(f"{self.username} cannot log in ({why})")
            answer.success()

    # --- the record list and pages ---------------------------------------------------

    def _remember(self, html: str) -> None:
        found = [int(i) for i in ROW_LINK.findall(html)]
        if found:
            self.person_ids = (self.person_ids + found)[-200:]
        token = CSRF_HEADER.search(html)
        if token:
            self.csrf = token.group(1)

    def list_records(self) -> None:
        page = self.client.get("/records", name="/records")
        self._remember(page.text)
        following = NEXT_LINK.search(page.text)
        if following and random.random() < 0.3:
            more = self.client.get(following.group(1).replace("&amp;", "&"), name="/records?after=")
            self._remember(more.text)

    def search_records(self) -> None:
        page = self.client.get(
            "/records", params={"q": random.choice(SEARCHES)}, name="/records?q="
        )
        self._remember(page.text)

    def show_record(self) -> int | None:
        if not self.person_ids:
            self.list_records()
        if not self.person_ids:
            return None
        person_id = random.choice(self.person_ids)
        page = self.client.get(f"/records/{person_id}", name="/records/[id]")
        self._remember(page.text)
        return person_id

    def refresh_dashboard(self) -> None:
        if random.random() < 0.2:
            self.client.get("/dashboard", name="/dashboard")
        # What the open page's timer sends every DASHBOARD_REFRESH_SECONDS.
        self.client.get(
            "/dashboard",
            name="/dashboard [refresh]",
            headers={"HX-Request": "true", "HX-Target": "figures-refresh"},
        )


class Police(PortalUser):
    weight = 3
    roles = ("police",)

    @task(6)
    def records(self):
        self.list_records()

    @task(4)
    def search(self):
        self.search_records()

    @task(5)
    def record(self):
        self.show_record()

    @task(2)
    def dashboard(self):
        self.refresh_dashboard()

    @task(1)
    def export(self):
        if not _writes():  # the export is audited: a write
            return
        with self.client.get(
            "/records/export.csv",
            name="/records/export.csv",
            context={"kind": "export"},
            catch_response=True,
        ) as answer:
            if answer.status_code == 200 and answer.content:
                answer.success()
                count("exports")
            else:
                answer.failure(f"export answered {answer.status_code}")


class HealthStation(PortalUser):
    weight = 3
    roles = ("health",)

    @task(5)
    def records(self):
        self.list_records()

    @task(3)
    def search(self):
        self.search_records()

    @task(4)
    def record(self):
        self.show_record()

    @task(1)
    def dashboard(self):
        self.refresh_dashboard()

    @task(3)
    def save(self):
        """The record page, the phone's editor, a new phone number saved (htmx)."""
        if not _writes():
            return
        person_id = self.show_record()
        if person_id is None or not self.csrf:
            return
        htmx = {"HX-Request": "true", "HX-Target": f"identity-{person_id}"}
        editor = self.client.get(
            f"/records/{person_id}/correct/phone", headers=htmx, name="/records/[id]/correct/phone"
        )
        values = form_inputs(editor.text)
        if "version" not in values:
            return
        values["phone"] = "09" + "".join(random.choices("0123456789", k=8))
        with self.client.post(
            f"/records/{person_id}/correct/phone",
            data=values,
            headers={**htmx, "X-CSRFToken": self.csrf},
            name="/records/[id]/correct/phone [save]",
            context={"kind": "save"},
            catch_response=True,
        ) as answer:
            if answer.status_code == 200:
                answer.success()
                count("saves")
            elif answer.status_code == 409:
                answer.success()  # saved by someone else meanwhile: said, nothing lost
                count("conflicts")
            else:
                answer.failure(f"save answered {answer.status_code}")


class Authority(PortalUser):
    weight = 1
    roles = ("authority",)

    @task(4)
    def dashboard(self):
        self.refresh_dashboard()

    @task(2)
    def records(self):
        self.list_records()

    @task(2)
    def search(self):
        self.search_records()

    @task(1)
    def record(self):
        self.show_record()


class Committee(PortalUser):
    """The commune committee's chair: reads what awaits their signature, and signs."""

    weight = 1
    roles = ("committee",)

    @task(4)
    def awaiting(self):
        self.client.get("/signing", name="/signing")

    @task(2)
    def records(self):
        self.list_records()

    @task(2)
    def record(self):
        self.show_record()

    @task(1)
    def sign(self):
        """As in the browser: the awaiting list narrowed to a name of it (the filter's
        search), "Sign…" (the dialog, htmx), the PIN (htmx). Nobody awaiting: nothing."""
        if not _writes():
            return
        page = self.client.get("/signing", name="/signing")
        names = AWAITING_ROW.findall(page.text)
        if page.status_code != 200 or not names:
            if page.status_code == 200:
                count("nothing_to_sign")
            return
        name = html.unescape(random.choice(names))
        page = self.client.get("/signing", params={"q": name}, name="/signing?q=")
        opening = form_inputs(page.text, r"/signing/batches")
        if page.status_code != 200 or "csrf_token" not in opening:
            if page.status_code == 200:  # signed by another meanwhile: the button is gone
                count("nothing_to_sign")
            return
        action = opening.pop("<action>")
        htmx = {"HX-Request": "true", "HX-Target": "sign-dialog"}
        with self.client.post(
            action,
            data=opening,
            headers=htmx,
            name="/signing/batches",
            context={"kind": "sign"},
            catch_response=True,
        ) as answer:
            dialog = form_inputs(answer.text, r"/signing/batches/[0-9]+/sign")
            if answer.status_code == 200 and "pin" in dialog:
                answer.success()
            elif answer.status_code == 422 and not self._still_awaiting(name):
                answer.success()  # signed by a concurrent signer since the list was read
                count("nothing_to_sign")
                return
            else:
                answer.failure(f"the sign dialog answered {answer.status_code}")
                return
        action = dialog.pop("<action>")
        dialog["pin"] = _pin(self.username)
        with self.client.post(
            action,
            data=dialog,
            headers=htmx,
            name="/signing/batches/[id]/sign",
            context={"kind": "sign"},
            catch_response=True,
        ) as answer:
            if answer.status_code == 200 and 'data-testid="signed"' in answer.text:
                answer.success()
                count("signatures")
            elif answer.status_code == 409 or (
                answer.status_code == 422 and not self._still_awaiting(name)
            ):
                # Already signed, or every person of the dialog confirmed by a concurrent
                # signature meanwhile: the portal says so, nothing is signed twice.
                answer.success()
                count("conflicts")
            else:
                answer.failure(f"the signature answered {answer.status_code}")

    def _still_awaiting(self, name: str) -> bool:
        page = self.client.get("/signing", params={"q": name}, name="/signing?q=")
        return page.status_code != 200 or bool(AWAITING_ROW.findall(page.text))


FAMILY = ("Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Vũ", "Đặng", "Bùi")
MIDDLE = ("Văn", "Thị", "Minh", "Thu", "Đức", "Ngọc")
GIVEN = ("An", "Bình", "Chi", "Dũng", "Hà", "Hùng", "Lan", "Mai", "Nam", "Trang")


class Citizen(HttpUser):
    weight = 1
    wait_time = between(*_wait())

    @task(3)
    def complain(self):
        if not _writes():
            self.client.get("/feedback/new", name="/feedback/new")
            return
        form = self.client.get("/feedback/new", name="/feedback/new")
        token = CSRF_INPUT.search(form.text)
        if token is None:
            return  # the form did not come (that failure is recorded): nothing to post
        day, month, year = random.randint(1, 28), random.randint(1, 12), random.randint(1950, 2004)
        data = {
            "csrf_token": token.group(1),
            "full_name": f"{random.choice(FAMILY)} {random.choice(MIDDLE)} {random.choice(GIVEN)}",
            "birth_date": f"{day:02d}/{month:02d}/{year}",
            "phone": "09" + "".join(random.choices("0123456789", k=8)),
            "kind": random.choice(("missing_dose", "wrong_dose", "wrong_personal")),
            "province": PROVINCE,
            "commune": random.choice(list(COMMUNES.values())),
            "description": "Mũi tiêm của tôi không có trên hệ thống, xin kiểm tra giúp.",
        }
        with self.client.post(
            "/feedback/new",
            data=data,
            name="/feedback/new [post]",
            allow_redirects=False,
            context={"kind": "save"},
            catch_response=True,
        ) as answer:
            if answer.status_code == 303:
                answer.success()
                count("complaints")
            else:
                answer.failure(f"complaint answered {answer.status_code}")
                return
        self.client.get(answer.headers["Location"], name="/feedback/received")

    @task(1)
    def form_only(self):
        self.client.get("/feedback/new", name="/feedback/new")
