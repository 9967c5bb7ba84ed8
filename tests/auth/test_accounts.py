"""Administrators manage the accounts of their province: list (filters, pages, fragment,
export), create, change, deactivate, new password; each audited; the rules on roles and
areas; refusals keep what was typed; the command line for the first administrator."""

from __future__ import annotations

import csv
import io
import re

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from portal.audit.models import AuditEvent
from portal.auth.models import LoginSession, Role, User
from portal.extensions import db
from tests.auth.helpers import NEW_PASSWORD, new_account
from tests.conftest import CAO_BANG, HANOI, NEIGHBOUR, OTHER_PROVINCE, OWN, PASSWORD, csrf_token
from tests.conftest import login as log_in


def _events(action):
    return list(db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == action)))


def test_an_administrator_creates_an_account_that_can_log_in(client, admin, app):
    response = new_account(client)
    assert response.status_code == 303
    account = db.session.scalar(sa.select(User).where(User.username == "congan.badinh2"))
    assert account.role == Role.POLICE and account.area.code == OWN and account.active
    event = _events("user.create")[-1]
    assert event.actor_name == admin.username
    assert event.changes["display_name"] == [None, "Thượng úy Nguyễn Đức Anh"]
    assert NEW_PASSWORD not in str(event.changes)

    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "congan.badinh2" in page and "Thượng úy Nguyễn Đức Anh" in page

    other = app.test_client()
    assert log_in(other, "congan.badinh2", NEW_PASSWORD).status_code == 303


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"username": "Cong An!"}, "username", "chữ thường không dấu"),
        ({"password": "ngan", "confirm": "ngan"}, "password", "ít nhất 10 ký tự"),
        ({"confirm": "khac-hoan-toan-1"}, "confirm", "Hai mật khẩu khác nhau"),
        ({"area": HANOI}, "area", "thuộc một xã/phường"),
        ({"role": "admin"}, "area", "Quản trị viên thuộc một tỉnh"),
        ({"role": "vaccination_site"}, "site", "Chọn điểm tiêm"),
        ({"display_name": ""}, "display_name", "Nhập họ tên"),
    ],
)
def test_a_refused_account_says_why_beside_the_field_and_keeps_what_was_typed(
    client, admin, fields, field, message
):
    response = new_account(client, **fields)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert message in page
    assert f'id="{field}-error"' in page
    assert "Thượng úy Nguyễn Đức Anh" in page or field == "display_name"
    assert NEW_PASSWORD not in page  # a password is never sent back
    assert db.session.scalar(sa.select(User).where(User.username == "congan.badinh2")) is None


def test_a_taken_username_is_refused(client, admin, make_user):
    make_user(Role.POLICE, OWN, username="congan.badinh2")
    response = new_account(client)
    assert response.status_code == 422
    assert "Tên đăng nhập này đã có người dùng" in response.get_data(as_text=True)


def test_site_staff_belong_to_a_site_of_their_commune(client, admin, make_site):
    site_id, site_code = (site := make_site(OWN)).id, site.code
    elsewhere = make_site(NEIGHBOUR).code
    db.session.commit()
    response = new_account(client, role="vaccination_site", site=elsewhere)
    assert response.status_code == 422
    assert "không thuộc xã/phường đã chọn" in response.get_data(as_text=True)
    assert new_account(client, role="vaccination_site", site=site_code).status_code == 303
    account = db.session.scalar(sa.select(User).where(User.username == "congan.badinh2"))
    assert account.site_id == site_id


def test_changes_are_audited_and_deactivation_logs_the_person_out(client, admin, make_user, app):
    account = make_user(Role.POLICE, OWN, display_name="Nguyễn Văn Bình")
    account_id, username = account.id, account.username
    other = app.test_client()
    assert log_in(other, username).status_code == 303
    assert other.get("/records").status_code == 200

    response = client.post(
        f"/admin/accounts/{account_id}",
        data={
            "csrf_token": csrf_token(client, "/admin/accounts"),
            "display_name": "Nguyễn Văn Bình",
            "role": "health_station",
            "area": NEIGHBOUR,
            "site": "",
        },
    )  # "active" unticked
    assert response.status_code == 303
    db.session.expire_all()
    account = db.session.get(User, account_id)
    assert (account.role, account.area.code, account.active) == (
        Role.HEALTH_STATION,
        NEIGHBOUR,
        False,
    )
    event = _events("user.update")[-1]
    assert event.changes == {
        "role": ["police", "health_station"],
        "area": [OWN, NEIGHBOUR],
        "active": [True, False],
    }
    # Logged out at once; the login is refused.
    assert other.get("/records").status_code in (302, 401)
    assert log_in(other, username).status_code == 401


def test_a_new_password_ends_the_sessions_and_is_not_in_the_audit_trail(
    client, admin, make_user, app
):
    account = make_user(Role.COMMITTEE, OWN)
    account_id, username = account.id, account.username
    other = app.test_client()
    log_in(other, username)
    response = client.post(
        f"/admin/accounts/{account_id}/password",
        data={
            "csrf_token": csrf_token(client, "/admin/accounts"),
            "password": NEW_PASSWORD,
            "confirm": NEW_PASSWORD,
        },
    )
    assert response.status_code == 303
    assert (
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(LoginSession)
            .where(LoginSession.user_id == account_id, LoginSession.ended_at.is_(None))
        )
        == 0
    )
    assert other.get("/records").status_code in (302, 401)
    assert log_in(other, username, PASSWORD).status_code == 401
    assert log_in(other, username, NEW_PASSWORD).status_code == 303
    event = _events("user.password")[-1]
    assert NEW_PASSWORD not in str(event.changes) and event.entity_id == username

    short = client.post(
        f"/admin/accounts/{account_id}/password",
        data={
            "csrf_token": csrf_token(client, "/admin/accounts"),
            "password": "ngan",
            "confirm": "ngan",
        },
    )
    assert short.status_code == 422 and "ít nhất 10 ký tự" in short.get_data(as_text=True)


def test_an_administrator_cannot_lock_themselves_out(client, admin):
    response = client.post(
        f"/admin/accounts/{admin.id}",
        data={
            "csrf_token": csrf_token(client, "/admin/accounts"),
            "display_name": "Quản trị Hà Nội",
            "role": "admin",
            "area": HANOI,
            "site": "",
        },
    )  # deactivating themselves
    assert response.status_code == 422
    assert "không thể tự khóa" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(User, admin.id).active


def test_the_list_filters_folds_diacritics_pages_and_answers_fragments(client, admin, make_user):
    make_user(Role.POLICE, OWN, display_name="Đặng Thị Hồng")
    make_user(Role.POLICE, NEIGHBOUR, display_name="Lê Văn Sáu")
    make_user(Role.HEALTH_STATION, OWN, display_name="Phạm Hữu Đức")
    gone = make_user(Role.COMMITTEE, OWN, display_name="Đỗ Văn Cũ")
    gone.active = False
    make_user(Role.POLICE, OTHER_PROVINCE, display_name="Đặng Văn Cao Bằng")
    db.session.commit()

    page = client.get("/admin/accounts?q=dang+thi").get_data(as_text=True)
    assert "Đặng Thị Hồng" in page and "Lê Văn Sáu" not in page
    assert "Đặng Văn Cao Bằng" not in client.get("/admin/accounts?q=dang").get_data(as_text=True)
    page = client.get(f"/admin/accounts?role=police&area={OWN}").get_data(as_text=True)
    assert "Đặng Thị Hồng" in page and "Lê Văn Sáu" not in page and "Phạm Hữu Đức" not in page
    assert "Đỗ Văn Cũ" not in client.get("/admin/accounts").get_data(as_text=True)
    assert "Đỗ Văn Cũ" in client.get("/admin/accounts?state=inactive").get_data(as_text=True)

    fragment = client.get(
        "/admin/accounts?q=sau", headers={"HX-Request": "true", "HX-Target": "accounts-results"}
    )
    body = fragment.get_data(as_text=True)
    assert body.lstrip().startswith('<div id="accounts-results"') and "<html" not in body
    assert "Lê Văn Sáu" in body and "HX-Request" in fragment.headers["Vary"]

    for n in range(55):
        make_user(Role.POLICE, NEIGHBOUR, display_name=f"Cán bộ {n}")
    first = client.get(f"/admin/accounts?area={NEIGHBOUR}").get_data(as_text=True)
    second = client.get(f"/admin/accounts?area={NEIGHBOUR}&page=2").get_data(as_text=True)
    assert first.count('data-testid="account-row"') == 50
    assert second.count('data-testid="account-row"') == 6
    assert "Trang 2/2" in second and "Trang trước" in second and "Trang sau" not in second


def test_the_list_exports_csv_and_excel_as_filtered_and_audited(client, admin, make_user):
    make_user(Role.POLICE, OWN, display_name='=HYPERLINK("x")')
    make_user(Role.HEALTH_STATION, OWN, display_name="Phạm Hữu Đức")
    response = client.get(f"/admin/accounts/export.csv?area={OWN}&role=police")
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0][0] == "Tên đăng nhập" and len(rows) == 2
    assert rows[1][1] == '\'=HYPERLINK("x")'
    workbook = load_workbook(
        io.BytesIO(client.get(f"/admin/accounts/export.xlsx?area={OWN}").get_data())
    )
    names = [row[1] for row in workbook.active.iter_rows(min_row=2, values_only=True)]
    assert "Phạm Hữu Đức" in names
    assert _events("user.export")


@pytest.mark.parametrize(
    ("role", "area_code", "expected"),
    [
        (Role.ADMIN, HANOI, 200),
        (Role.ADMIN, CAO_BANG, 404),
        (Role.HEALTH_AUTHORITY, HANOI, 404),
        (Role.POLICE, OWN, 404),
        (Role.HEALTH_STATION, OWN, 404),
    ],
)
def test_who_may_manage_an_account(client, login_as, make_user, role, area_code, expected):
    """Issue 14, item 15: an existing account's page answered 403 to non-administrators and
    a missing one 404, which told which ids exist; both answer 404 now."""
    account = make_user(Role.POLICE, OWN)
    login_as(role, area_code)
    assert client.get(f"/admin/accounts/{account.id}").status_code == expected
    missing = db.session.scalar(sa.select(sa.func.max(User.id))) + 1000
    assert client.get(f"/admin/accounts/{missing}").status_code == 404
    assert (
        client.post(
            f"/admin/accounts/{missing}/password",
            data={
                "csrf_token": csrf_token(client, "/verify"),
                "password": NEW_PASSWORD,
                "confirm": NEW_PASSWORD,
            },
        ).status_code
        == 404
    )
    response = client.post(
        f"/admin/accounts/{account.id}/password",
        data={
            "csrf_token": csrf_token(client, "/verify"),
            "password": NEW_PASSWORD,
            "confirm": NEW_PASSWORD,
        },
    )
    assert response.status_code == (303 if expected == 200 else expected)
    if role != Role.ADMIN:
        assert client.get("/admin/accounts").status_code == 403
        assert "/admin/accounts" not in client.get("/records").get_data(as_text=True)


def test_an_administrator_of_another_province_cannot_place_an_account_here(client, login_as):
    login_as(Role.ADMIN, CAO_BANG)
    response = new_account(client, area=OWN)
    assert response.status_code == 422  # not among the choices
    assert db.session.scalar(sa.select(User).where(User.username == "congan.badinh2")) is None


def test_the_command_line_creates_the_first_administrator(app, monkeypatch):
    runner = app.test_cli_runner()
    monkeypatch.setenv("PORTAL_NEW_PASSWORD", NEW_PASSWORD)
    result = runner.invoke(
        args=[
            "users",
            "create",
            "quantri.hanoi",
            "--role",
            "admin",
            "--area",
            HANOI,
            "--name",
            "Quản trị viên Sở Y tế",
        ]
    )
    assert result.exit_code == 0, result.output
    account = db.session.scalar(sa.select(User).where(User.username == "quantri.hanoi"))
    assert account.role == Role.ADMIN and account.area.code == HANOI

    refused = runner.invoke(
        args=[
            "users",
            "create",
            "quantri.xa",
            "--role",
            "admin",
            "--area",
            OWN,
            "--name",
            "Sai chỗ",
        ]
    )
    assert refused.exit_code == 1 and "tỉnh" in refused.output

    monkeypatch.setenv("PORTAL_NEW_PASSWORD", "mat-khau-thu-ba-2026")
    assert runner.invoke(args=["users", "set-password", "quantri.hanoi"]).exit_code == 0
    assert runner.invoke(args=["users", "deactivate", "quantri.hanoi"]).exit_code == 0
    listing = runner.invoke(args=["users", "list", "--area", HANOI])
    assert "quantri.hanoi" in listing.output
    db.session.expire_all()
    assert not db.session.get(User, account.id).active
    assert [
        e.action
        for e in db.session.scalars(
            sa.select(AuditEvent)
            .where(AuditEvent.entity_id == "quantri.hanoi")
            .order_by(AuditEvent.id)
        )
    ] == ["user.create", "user.password", "user.update"]


def test_every_problem_of_a_new_account_is_shown_at_once(client, admin):
    response = new_account(
        client, username="Cong An", password="ngan", confirm="ngan", role="vaccination_site"
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    for field, message in (
        ("username", "chữ thường không dấu"),
        ("password", "ít nhất 10 ký tự"),
        ("site", "Chọn điểm tiêm"),
    ):
        assert f'id="{field}-error"' in page and message in page


def test_an_account_placed_before_the_rules_can_still_be_deactivated(app, make_user):
    odd = make_user(Role.ADMIN, OWN, username="quantri.cu")  # an admin in a commune
    runner = app.test_cli_runner()
    result = runner.invoke(args=["users", "deactivate", "quantri.cu"])
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    assert not db.session.get(User, odd.id).active


def test_a_wrong_filter_is_shown_beside_its_field_and_the_list_still_shows(
    client, admin, make_user
):
    """Issue 16: the accounts list's search is a WTForms form: a value it cannot read (a
    role that is not one, a search too long) has its Vietnamese message beside the field,
    and the list shows without it (it was silently dropped)."""
    make_user(Role.POLICE, OWN, display_name="Đặng Thị Hồng")
    response = client.get("/admin/accounts", query_string={"role": "emperor", "q": "x" * 101})
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert re.search(r'id="accounts-role-error">Lựa chọn không hợp lệ', page)
    assert re.search(r'id="accounts-q-error">Trường này không được dài quá 100 ký tự', page)
    assert 'aria-describedby="accounts-role-error"' in page
    assert "Đặng Thị Hồng" in page  # the list, unfiltered by the values in error


def test_a_wrong_live_search_has_its_message_in_the_fragment(client, admin, make_user):
    """Issue 16: the live search (htmx) replaces the results only; a search it cannot read
    brings its Vietnamese message beside the field (out of band), as a whole page does,
    and the results still show."""
    make_user(Role.POLICE, OWN, display_name="Đặng Thị Hồng")
    response = client.get(
        "/admin/accounts",
        query_string={"q": "x" * 101, "role": "emperor"},
        headers={"HX-Request": "true", "HX-Target": "accounts-results"},
    )
    fragment = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in fragment
    assert re.search(
        r'<div class="invalid-feedback d-block" id="accounts-q-error" hx-swap-oob="true">'
        r"Trường này không được dài quá 100 ký tự",
        fragment,
    )
    assert re.search(r'id="accounts-role-error" hx-swap-oob="true">Lựa chọn không hợp lệ', fragment)
    assert re.search(r'id="accounts-state-error" hx-swap-oob="true"></div>', fragment)
    assert "Đặng Thị Hồng" in fragment
    # A good search clears a message shown before.
    fine = client.get(
        "/admin/accounts?q=dang",
        headers={"HX-Request": "true", "HX-Target": "accounts-results"},
    ).get_data(as_text=True)
    assert re.search(r'id="accounts-q-error" hx-swap-oob="true"></div>', fine)
    # The whole page keeps an element for each message, for the fragment's to replace.
    page = client.get("/admin/accounts").get_data(as_text=True)
    assert 'id="accounts-q-error"' in page and 'aria-describedby="accounts-q-error"' in page
