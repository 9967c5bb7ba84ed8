"""The load test's parsing of the pages it submits (bench/locustfile.py, issue 15, item 6).

The locustfile imports locust, which patches the standard library with gevent as it is
imported: it is read in a Python of its own, not in the test's.
"""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

AWAITING = """
<form method="post" action="/language"><input type="hidden" name="csrf_token" value="t">
  <input name="language" value="vi"></form>
<form method="post" action="/signing/batches" hx-post="/signing/batches">
  <input type="hidden" name="csrf_token" value="t1"><input type="hidden" name="status" value="">
  <input type="hidden" name="q" value="Hồ Minh An"><input type="hidden" name="day" value="">
  <button type="submit">Ký…</button></form>
<form method="post" action="/signing/minutes"><input type="hidden" name="csrf_token" value="t2">
  <input type="hidden" name="q" value="x"></form>
<table><tr data-person="7"><td><a href="/records/7">Hồ Minh An</a></td></tr>
<tr data-person="9"><td><a href="/records/9">Đỗ Thành &amp; An</a></td></tr></table>
"""

DIALOG = """
<div id="sign-dialog"><dialog open><form method="post" action="/signing/batches/12/sign">
  <input id="csrf_token" name="csrf_token" type="hidden" value="t3">
  <input id="pin" name="pin" type="password" value="">
  <button type="submit">Ký</button></form></dialog></div>
"""

SCRIPT = """
import json, sys
from gevent import monkey
monkey.patch_all()
from bench.locustfile import AWAITING_ROW, form_inputs, _pin
pages = json.loads(sys.stdin.read())
print(json.dumps({
    "first": form_inputs(pages["awaiting"]),
    "open": form_inputs(pages["awaiting"], r"/signing/batches"),
    "sign": form_inputs(pages["dialog"], r"/signing/batches/[0-9]+/sign"),
    "none": form_inputs(pages["dialog"], r"/signing/batches"),
    "names": AWAITING_ROW.findall(pages["awaiting"]),
    "pin": _pin("committee.ba_dinh"), "other_pin": _pin("nobody"),
}))
"""


def run_locustfile(tmp_path, env_pin: str | None = None) -> dict:
    accounts = tmp_path / "accounts.json"
    accounts.write_text(
        json.dumps(
            [
                {"username": "committee.ba_dinh", "password": "p", "signing_pin": "135790"},
                {"username": "police.ba_dinh", "password": "p"},
            ]
        )
    )
    env = {
        "PATH": "/usr/bin:/bin",
        "LOAD_ACCOUNTS": str(accounts),
        **({"LOAD_PIN": env_pin} if env_pin else {}),
    }
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        cwd=ROOT,
        env=env,
        text=True,
        input=json.dumps({"awaiting": AWAITING, "dialog": DIALOG}),
        capture_output=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_the_forms_the_browser_submits_are_found_by_their_action(tmp_path):
    found = run_locustfile(tmp_path, env_pin="112233")
    # Without an action: the first form, as the record editor's fragment is read.
    assert found["first"] == {"csrf_token": "t", "language": "vi"}
    # "Sign…": the hidden inputs of that form only, not those of the minutes' form after it.
    assert found["open"] == {
        "csrf_token": "t1",
        "status": "",
        "q": "Hồ Minh An",
        "day": "",
        "<action>": "/signing/batches",
    }
    assert found["sign"] == {"csrf_token": "t3", "pin": "", "<action>": "/signing/batches/12/sign"}
    assert found["none"] == {}  # the pattern matches the whole action only
    assert found["names"] == ["Hồ Minh An", "Đỗ Thành &amp; An"]
    # The PIN: the accounts file's, else LOAD_PIN.
    assert found["pin"] == "135790"
    assert found["other_pin"] == "112233"


def test_the_demo_pin_is_the_default(tmp_path):
    assert run_locustfile(tmp_path)["other_pin"] == "246810"
