"""Issue 14, item 1: the population register is written only inside one's area.

A register entry names the commune of permanent residence; a commune's police merge only
their commune's entries, a province's administrator only the province's; replacing the
whole register is a national administrator's act (or the command line's), previewed with
the counts it drops; every changed entry is in the audit trail before → after; and the
health station is never offered the value of an entry of another commune."""

from __future__ import annotations

import html
import io
import re

import pytest
import sqlalchemy as sa
from flask_babel import force_locale, gettext

from portal.audit.models import AuditEvent
from portal.auth import services as auth_services
from portal.auth.models import Role, User
from portal.extensions import db
from portal.records import corrections
from portal.records.models import Person, PersonStatus
from portal.registry.extract import import_extract
from portal.registry.matching import match_commune
from portal.registry.models import ExtractMode, MatchResult, Outcome, RegisterEntry, RegisterExtract
from tests.conftest import HANOI, NEIGHBOUR, OTHER_PROVINCE, OWN, csrf_token, login

HEADER = ["id_number", "full_name", "sex", "birth_date"]
WITH_COMMUNE = [*HEADER, "commune_code"]
THEIRS = "004085012345"  # a resident of Thục Phán, Cao Bằng
OURS = "001085000042"  # a resident of Ba Đình, Hà Nội
NEXT_DOOR = "001090000077"  # a resident of Ngọc Hà, Hà Nội
PAGE = "/registry/extracts"


def csv_bytes(rows, header=WITH_COMMUNE) -> bytes:
    return ("\r\n".join(",".join(r) for r in [header, *rows]) + "\r\n").encode()


def said(issue) -> str:
    with force_locale("vi"):
        return str(issue.message)


def vi(message: str, **variables) -> str:
    with force_locale("vi"):
        return gettext(message, **variables)


def load(rows, user=None, mode=ExtractMode.MERGE, header=WITH_COMMUNE):
    """Import as ``user`` (None: the command line); (parsed, summary), committed."""
    parsed, summary = import_extract(
        io.BytesIO(csv_bytes(rows, header)), "trich-xuat.csv", mode, user
    )
    db.session.commit()
    return parsed, summary


def entry(number: str) -> RegisterEntry | None:
    db.session.expire_all()
    return db.session.get(RegisterEntry, number)


def extracts() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(RegisterExtract))


@pytest.fixture
def national_register(area):
    """The register as a national import left it: three residents with their communes."""
    parsed, summary = load(
        [
            [THEIRS, "Hoàng Văn Thái", "Nam", "14/03/1985", OTHER_PROVINCE],
            [OURS, "Nguyễn Văn An", "Nam", "14/03/1985", OWN],
            [NEXT_DOOR, "Trần Thị Bình", "Nữ", "02/05/1990", NEIGHBOUR],
        ]
    )
    assert summary is not None, [said(i) for i in parsed.errors]
    assert entry(THEIRS).commune_id == area(OTHER_PROVINCE).id
    return summary


# --- the attack from the issue -----------------------------------------------------------


@pytest.mark.parametrize(
    "header, forged",
    [
        (HEADER, [THEIRS, "Nguyễn Giả Mạo", "Nữ", "01/01/2000"]),
        (WITH_COMMUNE, [THEIRS, "Nguyễn Giả Mạo", "Nữ", "01/01/2000", OWN]),
        (WITH_COMMUNE, [THEIRS, "Nguyễn Giả Mạo", "Nữ", "01/01/2000", OTHER_PROVINCE]),
    ],
    ids=["no commune column", "says Ba Đình", "says Cao Bằng"],
)
def test_ba_dinh_police_cannot_rewrite_a_cao_bang_residents_entry(
    area, make_person, make_user, national_register, header, forged
):
    """Issue 14, item 1: police.ba_dinh (Hà Nội) merged a row for the ID of a person in
    another province; that person became a mismatch against the forged entry. Refused now,
    with a Vietnamese message, and nothing of theirs written; the person still matches."""
    person = make_person(id_number=THEIRS, full_name="Hoàng Văn Thái", commune_code=OTHER_PROVINCE)
    match_commune(area(OTHER_PROVINCE), full=True)
    db.session.commit()
    assert db.session.get(MatchResult, person.id).outcome == Outcome.MATCHED
    police = make_user(Role.POLICE, OWN, username="police.ba_dinh")
    count = extracts()

    parsed, summary = load(
        [forged, [OURS, "Nguyễn Văn Ân", "Nam", "14/03/1985", OWN][: len(header)]],
        police,
        header=header,
    )
    assert summary is None
    messages = [said(i) for i in parsed.errors]
    assert parsed.error_count == 1
    assert any("ngoài" in m and "Phường Ba Đình" in m for m in messages), messages
    assert messages[0].startswith("1 dòng"), messages  # the rows refused, counted
    assert extracts() == count
    # Nothing of the file is written: not the forged row, not the police's own row either.
    assert entry(THEIRS).full_name == "Hoàng Văn Thái"
    assert entry(THEIRS).commune_id == area(OTHER_PROVINCE).id
    assert entry(OURS).full_name == "Nguyễn Văn An"

    match_commune(area(OTHER_PROVINCE), full=True)
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(MatchResult, person.id).outcome == Outcome.MATCHED
    assert db.session.get(Person, person.id).status == PersonStatus.MATCHED


def test_the_refusal_is_shown_on_the_job_page_in_vietnamese(client, login_as, national_register):
    """Issue 14, item 1: the same attack through the upload page."""
    login_as(Role.POLICE, OWN)
    form = {
        "csrf_token": csrf_token(client, PAGE),
        "mode": "merge",
        "file": (
            io.BytesIO(
                csv_bytes(
                    [
                        [THEIRS, "Nguyễn Giả Mạo", "Nữ", "01/01/2000", OTHER_PROVINCE],
                        [NEXT_DOOR, "Nguyễn Giả Mạo", "Nữ", "01/01/2000", OWN],
                    ]
                )
            ),
            "gia-mao.csv",
        ),
    }
    response = client.post(PAGE, data=form, content_type="multipart/form-data")
    assert response.status_code == 303
    body = html.unescape(client.get(response.headers["Location"]).get_data(as_text=True))
    assert 'data-testid="extract-errors"' in body
    assert (
        vi(
            "Commune %(code)s is outside your area (%(area)s).",
            code=OTHER_PROVINCE,
            area="Phường Ba Đình",
        )
        in body
    )
    assert (
        vi(
            "ID number %(id)s is in the register as a resident outside your area; only "
            "that area's police or administrator may change the entry.",
            id=NEXT_DOOR,
        )
        not in body
    )  # the rows outside are refused first, all at once
    assert "1 dòng" in body
    assert entry(THEIRS).full_name == "Hoàng Văn Thái"
    assert entry(NEXT_DOOR).full_name == "Trần Thị Bình"


def test_police_merge_their_own_communes_entries(area, make_user, national_register):
    """Issue 14, item 1: what a commune's police may do is still done; rows without a
    commune are their commune's residents."""
    police = make_user(Role.POLICE, OWN)
    parsed, summary = load(
        [
            [OURS, "Nguyễn Văn Ân", "Nam", "14/03/1985"],
            ["001200000099", "Vũ Minh Khoa", "Nam", "2000"],
        ],
        police,
        header=HEADER,
    )
    assert summary is not None, [said(i) for i in parsed.errors]
    assert (summary.inserted, summary.updated) == (1, 1)
    assert entry(OURS).full_name == "Nguyễn Văn Ân"
    assert entry("001200000099").commune_id == area(OWN).id


def test_police_may_not_change_an_entry_whose_commune_is_unknown(make_user, make_register):
    """Issue 14, item 1: an entry loaded before areas were recorded is a national act's."""
    make_register({"id_number": OURS, "full_name": "Nguyễn Văn An"})
    police = make_user(Role.POLICE, OWN)
    parsed, summary = load([[OURS, "Nguyễn Giả Mạo", "Nam", "14/03/1985"]], police, header=HEADER)
    assert summary is None
    assert entry(OURS).full_name == "Nguyễn Văn An"


def test_a_province_administrator_merges_only_the_provinces_entries(
    area, make_user, national_register
):
    """Issue 14, item 1: a province's administrator, only their province."""
    admin = make_user(Role.ADMIN, HANOI)
    parsed, summary = load(
        [
            [OURS, "Nguyễn Văn Ân", "Nam", "14/03/1985", OWN],
            [NEXT_DOOR, "Trần Thị Bình", "Nữ", "02/05/1990", OWN],
        ],
        admin,
    )
    assert summary is not None, [said(i) for i in parsed.errors]
    assert entry(NEXT_DOOR).commune_id == area(OWN).id  # moved within the province

    parsed, summary = load(
        [
            [OURS, "Nguyễn Văn An", "Nam", "14/03/1985", OWN],
            [THEIRS, "Nguyễn Giả Mạo", "Nữ", "01/01/2000", OWN],
        ],
        admin,
    )
    assert summary is None
    assert [i.row for i in parsed.errors] == [None, 3]
    assert entry(THEIRS).full_name == "Hoàng Văn Thái" and entry(OURS).full_name == (
        "Nguyễn Văn Ân"
    )

    parsed, summary = load([[OURS, "Nguyễn Văn An", "Nam", "14/03/1985"]], admin, header=HEADER)
    assert summary is None  # a province's file must say each resident's commune
    assert "commune_code" in said(parsed.errors[-1])


def test_an_account_that_imports_no_extracts_is_refused(make_user):
    """Issue 14, item 1: the command line's --user names an account whose rights apply."""
    station = make_user(Role.HEALTH_STATION, OWN)
    parsed, summary = load([[OURS, "Nguyễn Văn An", "Nam", "14/03/1985"]], station, header=HEADER)
    assert summary is None and entry(OURS) is None
    assert "công an và quản trị" in said(parsed.errors[0])


def test_an_unknown_commune_code_is_a_problem_of_its_row(make_user):
    parsed, summary = load([[OURS, "Nguyễn Văn An", "Nam", "14/03/1985", "99999"]])
    assert summary is None
    assert [(i.row, i.column) for i in parsed.errors] == [(2, "commune_code")]


# --- replacing the whole register ------------------------------------------------------------


def test_a_province_administrator_may_not_replace_the_register(
    client, app, login_as, national_register
):
    """Issue 14, item 1: an administrator of one province replaced the whole national
    register with one row. Refused on the page and in the service."""
    admin = login_as(Role.ADMIN, HANOI)
    assert 'value="replace"' not in client.get(PAGE).get_data(as_text=True)
    form = {
        "csrf_token": csrf_token(client, PAGE),
        "mode": "replace",
        "file": (
            io.BytesIO(csv_bytes([[OURS, "Nguyễn Văn An", "Nam", "14/03/1985", OWN]])),
            "mot-dong.csv",
        ),
    }
    assert client.post(PAGE, data=form, content_type="multipart/form-data").status_code == 400
    parsed, summary = load(
        [[OURS, "Nguyễn Văn An", "Nam", "14/03/1985", OWN]], admin, ExtractMode.REPLACE
    )
    assert summary is None
    assert "quản trị viên toàn quốc" in said(parsed.errors[0])
    assert db.session.scalar(sa.select(sa.func.count()).select_from(RegisterEntry)) == 3
    assert extracts() == 1


def test_a_national_administrator_replaces_after_a_preview_with_the_counts(
    app, client, make_user, national_register
):
    """Issue 14, item 1: the web flow shows what a replacement drops before anything is
    written; the confirmation writes it once, whatever the number of clicks."""
    national = make_user(Role.NATIONAL_ADMIN, HANOI)
    assert login(client, national.username).status_code == 303
    form = {
        "csrf_token": csrf_token(client, PAGE),
        "mode": "replace",
        "file": (
            io.BytesIO(csv_bytes([[OURS, "Nguyễn Văn Ân", "Nam", "14/03/1985", OWN]])),
            "mot-dong.csv",
        ),
    }
    response = client.post(PAGE, data=form, content_type="multipart/form-data")
    assert response.status_code == 303
    body = html.unescape(client.get(response.headers["Location"]).get_data(as_text=True))
    assert 'data-testid="replace-preview"' in body
    preview = re.sub(r"\s+", " ", body.split('data-testid="replace-preview"')[1])
    assert (
        vi(
            "Replacing the whole register with “%(file)s” drops %(deleted)s of its "
            "%(existing)s entries (those the file lacks); %(inserted)s are added, "
            "%(updated)s changed, %(unchanged)s stay as they are.",
            file="mot-dong.csv",
            deleted="2",
            existing="3",
            inserted="0",
            updated="1",
            unchanged="0",
        )
        in preview
    )
    assert db.session.scalar(sa.select(sa.func.count()).select_from(RegisterEntry)) == 3
    assert extracts() == 1 and entry(OURS).full_name == "Nguyễn Văn An"

    confirm = re.search(r'action="([^"]+/replace)"', body).group(1)
    token = csrf_token(client, PAGE)
    first = client.post(confirm, data={"csrf_token": token})
    second = client.post(confirm, data={"csrf_token": token})  # a double click
    assert first.status_code == second.status_code == 303
    assert first.headers["Location"] == second.headers["Location"]
    done = client.get(first.headers["Location"]).get_data(as_text=True)
    assert 'data-testid="import-summary"' in done
    assert set(db.session.scalars(sa.select(RegisterEntry.id_number))) == {OURS}
    assert extracts() == 2

    other = app.test_client()
    assert login(other, make_user(Role.NATIONAL_ADMIN, HANOI).username).status_code == 303
    assert other.post(confirm, data={"csrf_token": csrf_token(other, PAGE)}).status_code == 404


def test_a_replacement_confirmed_after_the_register_changed_writes_nothing(
    client, make_user, national_register
):
    """Issue 14, item 1: what is confirmed is what was previewed."""
    national = make_user(Role.NATIONAL_ADMIN, HANOI)
    login(client, national.username)
    form = {
        "csrf_token": csrf_token(client, PAGE),
        "mode": "replace",
        "file": (
            io.BytesIO(csv_bytes([[OURS, "Nguyễn Văn An", "Nam", "14/03/1985", OWN]])),
            "mot-dong.csv",
        ),
    }
    body = client.get(
        client.post(PAGE, data=form, content_type="multipart/form-data").headers["Location"]
    ).get_data(as_text=True)
    load([["001200000099", "Vũ Minh Khoa", "Nam", "2000", OWN]])  # meanwhile
    confirm = re.search(r'action="([^"]+/replace)"', body).group(1)
    done = html.unescape(
        client.get(
            client.post(confirm, data={"csrf_token": csrf_token(client, PAGE)}).headers["Location"]
        ).get_data(as_text=True)
    )
    assert "drop 3" in done or "xoá 3" in done
    assert db.session.scalar(sa.select(sa.func.count()).select_from(RegisterEntry)) == 4


def test_a_replacement_given_up_after_its_preview_leaves_no_upload(
    app, client, make_user, national_register, tmp_path, monkeypatch
):
    """Issue 14, item 1: the preview keeps the upload for the confirmation; giving the
    replacement up removes it, and it can no longer be confirmed."""
    monkeypatch.setitem(app.config, "UPLOADS_DIR", str(tmp_path))
    login(client, make_user(Role.NATIONAL_ADMIN, HANOI).username)
    form = {
        "csrf_token": csrf_token(client, PAGE),
        "mode": "replace",
        "file": (
            io.BytesIO(csv_bytes([[OURS, "Nguyễn Văn An", "Nam", "14/03/1985", OWN]])),
            "mot-dong.csv",
        ),
    }
    body = client.get(
        client.post(PAGE, data=form, content_type="multipart/form-data").headers["Location"]
    ).get_data(as_text=True)
    assert len(list(tmp_path.iterdir())) == 1
    token = csrf_token(client, PAGE)
    discard = re.search(r'action="([^"]+/discard)"', body).group(1)
    assert client.post(discard, data={"csrf_token": token}).status_code == 303
    assert list(tmp_path.iterdir()) == []
    confirm = re.search(r'action="([^"]+/replace)"', body).group(1)
    assert client.post(confirm, data={"csrf_token": token}).status_code == 409
    assert db.session.scalar(sa.select(sa.func.count()).select_from(RegisterEntry)) == 3


def test_the_command_line_says_what_a_replacement_drops(
    app, tmp_path, make_user, national_register
):
    """Issue 14, item 1: the command line replaces nation-wide, saying the counts (with
    --yes too); recorded under a province's administrator it is refused."""
    runner = app.test_cli_runner()
    path = tmp_path / "mot-dong.csv"
    path.write_bytes(csv_bytes([[OURS, "Nguyễn Văn An", "Nam", "14/03/1985", OWN]]))
    admin = make_user(Role.ADMIN, HANOI)
    refused = runner.invoke(
        args=[
            "registry",
            "import",
            str(path),
            "--mode",
            "replace",
            "--yes",
            "--user",
            admin.username,
        ]
    )
    assert refused.exit_code == 1
    assert "quản trị viên toàn quốc" in refused.output
    assert db.session.scalar(sa.select(sa.func.count()).select_from(RegisterEntry)) == 3

    replaced = runner.invoke(args=["registry", "import", str(path), "--mode", "replace", "--yes"])
    assert replaced.exit_code == 0, replaced.output
    assert ("Thay thế toàn bộ sổ dữ liệu dân cư sẽ xoá 2 trong số 3 mục hiện có") in (
        replaced.output
    )
    assert set(db.session.scalars(sa.select(RegisterEntry.id_number))) == {OURS}


# --- the audit trail -------------------------------------------------------------------------


def test_every_changed_entry_is_audited_before_and_after(area, make_user, national_register):
    """Issue 14, item 1: inserted, updated and dropped entries, before → after."""
    police = make_user(Role.POLICE, OWN)
    parsed, summary = load(
        [
            [OURS, "Nguyễn Văn Ân", "Nam", "14/03/1985", OWN],
            ["001200000099", "Vũ Minh Khoa", "Nam", "2000", OWN],
        ],
        police,
    )
    assert summary is not None
    [event] = db.session.scalars(
        sa.select(AuditEvent).where(
            AuditEvent.action == "register.entries", AuditEvent.entity_id == str(summary.extract_id)
        )
    )
    assert event.actor_id == police.id and event.actor_area == OWN
    assert event.changes == {
        "entries": [
            f"{OURS}|Nguyễn Văn An|male|1985-03-14|day|00004",
            f"{OURS}|Nguyễn Văn Ân|male|1985-03-14|day|00004\n"
            "001200000099|Vũ Minh Khoa|male|2000-01-01|year|00004",
        ]
    }

    parsed, summary = load(
        [[OURS, "Nguyễn Văn Ân", "Nam", "14/03/1985", OWN]], None, ExtractMode.REPLACE
    )
    [event] = db.session.scalars(
        sa.select(AuditEvent).where(
            AuditEvent.action == "register.entries", AuditEvent.entity_id == str(summary.extract_id)
        )
    )
    assert event.changes == {
        "entries": [
            "001090000077|Trần Thị Bình|female|1990-05-02|day|00008\n"
            "001200000099|Vũ Minh Khoa|male|2000-01-01|year|00004\n"
            "004085012345|Hoàng Văn Thái|male|1985-03-14|day|01273",
            None,
        ]
    }
    first = db.session.scalars(
        sa.select(AuditEvent)
        .where(AuditEvent.action == "register.entries")
        .order_by(AuditEvent.seq)
    ).first()
    assert first.changes["entries"][0] is None  # the first load: every entry new
    assert f"{THEIRS}|Hoàng Văn Thái|male|1985-03-14|day|01273" in (
        first.changes["entries"][1].split("\n")
    )


def test_a_large_import_is_audited_in_a_few_events(monkeypatch):
    from portal.registry import extract

    monkeypatch.setattr(extract, "AUDIT_CHUNK", 2)
    parsed, summary = load(
        [[f"0010850000{n:02d}", "Nguyễn Văn An", "Nam", "1985", OWN] for n in range(5)]
    )
    events = list(
        db.session.scalars(
            sa.select(AuditEvent)
            .where(AuditEvent.action == "register.entries")
            .order_by(AuditEvent.seq)
        )
    )
    assert [len(e.changes["entries"][1].split("\n")) for e in events] == [2, 2, 1]


# --- the health station's "take the register's value" ----------------------------------------


def test_the_value_of_another_communes_entry_is_not_offered(area, make_person, make_user):
    """Issue 14, item 1: the health station's one-click correction offered the forged
    value; an entry of another commune is not offered (one of the person's own is)."""
    load([[OURS, "Nguyễn Văn Ân", "Nam", "14/03/1985", NEIGHBOUR]])
    person = make_person(id_number=OURS, full_name="Nguyễn Văn An")
    match_commune(area(OWN), full=True)
    db.session.commit()
    assert corrections.register_differences([person]) == {}
    load([[OURS, "Nguyễn Văn Ân", "Nam", "14/03/1985", OWN]])
    offered = corrections.register_differences([person])
    assert offered[person.id]["full_name"].values == {"full_name": "Nguyễn Văn Ân"}


# --- the national administrator's account ----------------------------------------------------


def test_a_national_administrator_is_appointed_from_the_command_line_only(
    app, client, login_as, area
):
    """Issue 14, item 1: a province's administrator neither appoints nor sees nor edits a
    national administrator; the command line does."""
    national = auth_services.create_account(
        "quantri.toanquoc", "mat-khau-thu-nghiem", Role.NATIONAL_ADMIN, area(HANOI), "Quản trị"
    )
    db.session.commit()
    with pytest.raises(auth_services.AccountRefused):
        auth_services.create_account(
            "quantri.khac",
            "mat-khau-thu-nghiem",
            Role.NATIONAL_ADMIN,
            area(HANOI),
            "Quản trị",
            actor=national,
        )
    login_as(Role.ADMIN, HANOI)
    page = client.get("/admin/accounts").get_data(as_text=True)
    assert "quantri.toanquoc" not in page
    assert client.get(f"/admin/accounts/{national.id}").status_code == 404
    assert 'value="national_admin"' not in client.get("/admin/accounts/new").get_data(as_text=True)
    form = {
        "csrf_token": csrf_token(client, "/admin/accounts/new"),
        "username": "quantri.moi",
        "display_name": "Quản trị",
        "role": "national_admin",
        "area": HANOI,
        "site": "",
        "password": "mat-khau-moi-2026",
        "confirm": "mat-khau-moi-2026",
    }
    assert client.post("/admin/accounts/new", data=form).status_code == 422
    assert db.session.scalar(sa.select(User).where(User.username == "quantri.moi")) is None
