"""Issue 14, item 1 in headless Chromium, on a portal of its own (a replacement empties
the register that the shared demo's journeys need): the police of Ba Đình upload a file
with a row of another province and are refused, nothing written; the national
administrator uploads a replacement, reads what it drops, confirms, and the register is
the file. axe-core checks every page they see.
"""

from __future__ import annotations

import pytest

from tests.e2e.axe import check_accessibility, log_in_as
from tests.e2e.browser import SCREENSHOTS, serve_portal

pytestmark = [pytest.mark.e2e, pytest.mark.committing]

PASSWORD = "mat-khau-thu-nghiem"
HEADER = "id_number,full_name,sex,birth_date,commune_code\r\n"


def _seed() -> None:
    import io

    from portal.areas.services import area_by_code
    from portal.auth.models import Role
    from portal.auth.services import create_user
    from portal.extensions import db
    from portal.registry.extract import import_extract

    create_user("police.ba_dinh", PASSWORD, Role.POLICE, area_by_code("00004"), "Công an")
    create_user(
        "national.admin", PASSWORD, Role.NATIONAL_ADMIN, area_by_code("01"), "Quản trị toàn quốc"
    )
    rows = (
        HEADER + "004085012345,Hoàng Văn Thái,Nam,14/03/1985,01273\r\n"
        "001085000042,Nguyễn Văn An,Nam,14/03/1985,00004\r\n"
        "001090000077,Trần Thị Bình,Nữ,02/05/1990,00008\r\n"
    )
    parsed, summary = import_extract(io.BytesIO(rows.encode()), "quoc-gia.csv", "merge")
    assert summary is not None
    db.session.commit()


@pytest.fixture(scope="module")
def server(chromium_path, tmp_path_factory):
    # The one portal of the folder besides the session's demo (conftest.py): the national
    # administrator's replacement empties the register, and with it the demo's matching.
    with serve_portal(tmp_path_factory.mktemp("e2e-register"), _seed) as served:
        yield served


def _entries(app) -> dict[str, str]:
    import sqlalchemy as sa

    from portal.extensions import db
    from portal.registry.models import RegisterEntry

    with app.app_context():
        return dict(
            db.session.execute(sa.select(RegisterEntry.id_number, RegisterEntry.full_name)).all()
        )


def _upload(page, tmp_path, name: str, text: str, mode: str) -> None:
    path = tmp_path / name
    path.write_bytes(text.encode())
    page.set_input_files("input[name=file]", str(path))
    page.check(f"input[name=mode][value={mode}]")
    with page.expect_navigation():
        page.get_by_role("button", name="Nhập", exact=True).click()


def test_police_are_refused_and_the_national_administrator_replaces_after_the_preview(
    server, page, tmp_path
):
    from playwright.sync_api import expect

    app, base = server
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(f"pageerror: {exc}"))
    before = _entries(app)

    log_in_as(page, base, "police.ba_dinh", PASSWORD)
    page.goto(base + "/registry/extracts")
    expect(page.locator("input[name=mode][value=replace]")).to_have_count(0)
    check_accessibility(page)
    _upload(
        page,
        tmp_path,
        "gia-mao.csv",
        HEADER + "004085012345,Nguyễn Giả Mạo,Nữ,01/01/2000,01273\r\n",
        "merge",
    )
    report = page.get_by_test_id("extract-errors")
    expect(report).to_contain_text("01273")
    expect(report).to_contain_text("ngoài")
    check_accessibility(page, "the refusal")
    page.screenshot(path=str(SCREENSHOTS / "register-police-refused.png"), full_page=True)
    assert _entries(app) == before

    page.context.clear_cookies()
    log_in_as(page, base, "national.admin", PASSWORD)
    assert page.url.endswith("/registry/extracts")  # where their work is
    _upload(
        page,
        tmp_path,
        "mot-dong.csv",
        HEADER + "001085000042,Nguyễn Văn Ân,Nam,14/03/1985,00004\r\n",
        "replace",
    )
    preview = page.get_by_test_id("replace-preview")
    expect(preview).to_contain_text("xoá 2 trong số 3")
    check_accessibility(page, "the replacement's preview")
    page.screenshot(path=str(SCREENSHOTS / "register-replace-preview.png"), full_page=True)
    assert _entries(app) == before  # nothing written before the confirmation

    with page.expect_navigation():
        page.get_by_test_id("confirm-replace").click()
    expect(page.get_by_test_id("import-summary")).to_be_visible()
    check_accessibility(page, "the replacement done")
    assert _entries(app) == {"001085000042": "Nguyễn Văn Ân"}
    assert errors == []
