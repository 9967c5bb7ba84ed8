"""End to end in headless Chromium, second factors at sign-in (issue 14, item 13):

- the administrator requires a second factor for the commune committee; the chair's next
  sign-in sets up an authenticator app (the code computed with pyotp from the key the page
  shows), sees ten recovery codes once, and later signs in with the app's code;
- the police, required by the seed, set up a passkey with Chromium's virtual authenticator
  (CTAP2, internal, resident key, user verified) and sign in with it the next time.

On the session's demo portal (tests/e2e/conftest.py), in a province of its own (Lào Cai):
the demo's journeys sign in without a second factor, in Hà Nội.
Passkeys need a host name, not an address, as relying party: those pages are opened at
http://localhost. axe-core checks each new page. Without Chromium the tests are skipped,
unless REQUIRE_BROWSER=1 (CI).
"""

from __future__ import annotations

import re
import time

import pyotp
import pytest
import sqlalchemy as sa

from tests.e2e.axe import check_accessibility
from tests.e2e.browser import SCREENSHOTS, add_to_demo, console_error

pytestmark = [pytest.mark.e2e, pytest.mark.committing]

PASSWORD = "mat-khau-e2e-mfa"
PROVINCE = "15"  # Lào Cai
WARD = "02647"  # Phường Lào Cai
ADMIN = "admin.mfa"
CHAIR = "chutich.mfa"
POLICE = "congan.mfa"


def _seed() -> None:
    from portal.areas.services import area_by_code
    from portal.auth import mfa
    from portal.auth.models import Role
    from portal.auth.services import create_user

    province, ward = area_by_code(PROVINCE), area_by_code(WARD)
    create_user(ADMIN, PASSWORD, Role.ADMIN, province, "Quản trị Lào Cai")
    create_user(CHAIR, PASSWORD, Role.COMMITTEE, ward, "Chủ tịch Nguyễn Văn Chí")
    create_user(POLICE, PASSWORD, Role.POLICE, ward, "Đại úy Trần Văn Công")
    mfa.set_required_roles(province, {Role.POLICE})


@pytest.fixture(scope="module")
def mfa_portal(demo_portal):
    return add_to_demo(demo_portal, _seed)


def _watch(page) -> list[str]:
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(f"pageerror: {exc}"))
    page.on("console", lambda msg: console_error(msg, errors))
    return errors


def _password_step(page, base: str, username: str) -> None:
    page.goto(base + "/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    with page.expect_navigation():
        page.locator("form[action$='/login'] button[type=submit]").click()


def _log_out(page) -> None:
    with page.expect_navigation():
        page.get_by_role("button", name="Đăng xuất").click()


def _events(app, action: str, username: str) -> list:
    from portal.audit.models import AuditEvent
    from portal.extensions import db

    with app.app_context():
        return list(
            db.session.scalars(
                sa.select(AuditEvent)
                .where(AuditEvent.action == action, AuditEvent.entity_id == username)
                .order_by(AuditEvent.seq)
            )
        )


def test_the_administrator_requires_an_app_and_the_chair_sets_one_up(mfa_portal, page):
    from playwright.sync_api import expect

    app, base = mfa_portal
    errors = _watch(page)

    # The administrator ticks the committee on the province's second-factor page.
    _password_step(page, base, ADMIN)
    expect(page).to_have_url(re.compile(r"/dashboard$"))
    page.get_by_role("link", name="Tài khoản").first.click()
    page.get_by_role("link", name="Yếu tố xác thực thứ hai khi đăng nhập").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Yếu tố xác thực thứ hai khi đăng nhập"
    )
    check_accessibility(page, "the second-factor requirement page")
    expect(page.get_by_label("Công an xã/phường")).to_be_checked()
    page.get_by_label("UBND xã/phường").check()
    page.get_by_role("button", name="Lưu").click()
    expect(page.locator(".alert-success")).to_contain_text("lần đăng nhập tiếp theo")
    expect(page.get_by_label("UBND xã/phường")).to_be_checked()
    _log_out(page)

    # The chair: the password leads to the set-up, not into the portal.
    _password_step(page, base, CHAIR)
    expect(page).to_have_url(re.compile(r"/login/enrol$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Cài đặt yếu tố xác thực thứ hai")
    expect(page.get_by_role("img", name="Mã QR cho ứng dụng xác thực")).to_be_visible()
    check_accessibility(page, "the set-up page")
    page.screenshot(path=str(SCREENSHOTS / "e2e-mfa-enrol.png"), full_page=True)
    secret = page.get_by_test_id("totp-secret").inner_text().replace(" ", "")
    totp = pyotp.TOTP(secret)
    page.get_by_label("Mã 6 chữ số ứng dụng đang hiện").fill(
        "000000" if totp.now() != "000000" else "111111"
    )
    page.get_by_role("button", name="Xác nhận mã").click()
    expect(page.locator("#code-error")).to_contain_text("Mã không khớp")
    page.get_by_label("Mã 6 chữ số ứng dụng đang hiện").fill(totp.now())
    page.get_by_role("button", name="Xác nhận mã").click()

    # Ten recovery codes, once; then the portal.
    expect(page.get_by_role("heading", level=1)).to_have_text("Mã khôi phục")
    codes = page.get_by_test_id("recovery-codes").locator("li")
    expect(codes).to_have_count(10)
    check_accessibility(page, "the recovery codes")
    page.get_by_role("link", name="Tôi đã lưu các mã: tiếp tục").click()
    expect(page).to_have_url(re.compile(r"/records$"))
    expect(page.get_by_test_id("whoami")).to_contain_text("Chủ tịch Nguyễn Văn Chí")
    _log_out(page)

    # The next sign-in asks for the app's code (the next step's: the one typed is used).
    _password_step(page, base, CHAIR)
    expect(page).to_have_url(re.compile(r"/login/second-factor$"))
    check_accessibility(page, "the second step")
    page.get_by_label("Mã từ ứng dụng, hoặc mã khôi phục").fill(totp.at(time.time() + 30))
    page.get_by_role("button", name="Tiếp tục").click()
    expect(page).to_have_url(re.compile(r"/records$"))

    [_seeded, ticked] = _events(app, "auth.mfa_policy", PROVINCE)
    assert ticked.actor_name == ADMIN
    assert ticked.changes == {"required_roles": [["police"], ["committee", "police"]]}
    assert len(_events(app, "user.mfa_totp_add", CHAIR)) == 1
    assert [e.changes for e in _events(app, "auth.login", CHAIR)] == [
        {"factor": [None, "totp"]},
        {"factor": [None, "totp"]},
    ]
    # The wrong code was answered 422 on purpose; nothing else went wrong.
    assert [e for e in errors if "422" not in e] == [], errors


def _virtual_authenticator(page) -> tuple:
    client = page.context.new_cdp_session(page)
    client.send("WebAuthn.enable")
    added = client.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }
        },
    )
    return client, added["authenticatorId"]


def test_the_police_set_up_a_passkey_and_sign_in_with_it(mfa_portal, page):
    from playwright.sync_api import expect

    app, base = mfa_portal
    base = base.replace("127.0.0.1", "localhost")
    errors = _watch(page)
    cdp, authenticator = _virtual_authenticator(page)

    _password_step(page, base, POLICE)
    expect(page).to_have_url(re.compile(r"/login/enrol$"))
    page.get_by_label("Tên của khóa truy cập này (không bắt buộc)").fill("Máy trực ban")
    with page.expect_navigation():
        page.get_by_role("button", name="Tạo khóa truy cập").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Mã khôi phục")
    expect(page.get_by_test_id("recovery-codes").locator("li")).to_have_count(10)
    credentials = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})
    assert len(credentials["credentials"]) == 1
    page.get_by_role("link", name="Tôi đã lưu các mã: tiếp tục").click()
    expect(page).to_have_url(re.compile(r"/records$"))
    _log_out(page)

    # Next time the passkey is the second step.
    _password_step(page, base, POLICE)
    expect(page).to_have_url(re.compile(r"/login/second-factor$"))
    check_accessibility(page, "the second step with a passkey")
    page.screenshot(path=str(SCREENSHOTS / "e2e-mfa-passkey.png"), full_page=True)
    with page.expect_navigation():
        page.get_by_role("button", name="Dùng khóa truy cập").click()
    expect(page).to_have_url(re.compile(r"/records$"))
    expect(page.get_by_test_id("whoami")).to_contain_text("Đại úy Trần Văn Công")

    # The security page lists it.
    page.get_by_role("link", name="Bảo mật").click()
    expect(page.get_by_test_id("factor-passkey")).to_contain_text("Máy trực ban")
    check_accessibility(page, "the security page")

    from portal.auth.models import Passkey
    from portal.extensions import db

    with app.app_context():
        [passkey] = db.session.scalars(sa.select(Passkey)).all()
        assert passkey.name == "Máy trực ban" and passkey.sign_count >= 1
    assert [e.changes for e in _events(app, "auth.login", POLICE)] == [
        {"factor": [None, "passkey"]},
        {"factor": [None, "passkey"]},
    ]
    assert len(_events(app, "user.mfa_passkey_add", POLICE)) == 1
    assert errors == [], errors
