"""Times in exports: Vietnam's, as on the screens, and labelled so (issue 13, item 17)."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta

import sqlalchemy as sa
from openpyxl import load_workbook

from portal.audit import services as audit
from portal.audit.models import AuditEvent
from portal.auth.models import Role, User
from portal.core import export
from portal.extensions import db
from tests.conftest import HANOI, OWN

HEADING = "Thời gian (giờ Việt Nam)"


def _event(make_user) -> AuditEvent:
    officer = make_user(Role.POLICE, OWN, username="congan.badinh")
    event = audit.record("person.update", "person", 41, {"sex": ["male", "female"]}, actor=officer)
    db.session.commit()
    return event


def test_the_audit_trail_export_is_in_vietnam_time_and_says_so(client, login_as, make_user):
    """Issue 13, item 17: the audit trail's CSV and Excel were in UTC, unlabelled, while the
    page shows Vietnam time; now every file says "(giờ Việt Nam)" and shows what the page
    shows."""
    event = _event(make_user)
    local = event.occurred_at + timedelta(hours=7)
    login_as(Role.ADMIN, HANOI)
    page = client.get("/audit").get_data(as_text=True)
    assert f'<th scope="col">{HEADING}</th>' in page
    assert local.strftime("%d/%m/%Y %H:%M:%S") in page

    text = client.get("/audit/export.csv").get_data(as_text=True).lstrip("\ufeff")
    rows = list(csv.reader(io.StringIO(text)))
    column = rows[0].index(HEADING)
    row = next(r for r in rows[1:] if r[rows[0].index("Mã thao tác")] == "person.update")
    assert row[column] == local.strftime("%d/%m/%Y %H:%M:%S")

    sheet = load_workbook(io.BytesIO(client.get("/audit/export.xlsx").data)).active
    rows = list(sheet.iter_rows(values_only=True))
    column = rows[0].index(HEADING)
    cell = next(r for r in rows[1:] if "person.update" in r)[column]
    assert abs(cell - local) < timedelta(seconds=1)  # Excel keeps milliseconds


def test_the_accounts_export_is_in_vietnam_time_and_says_so(client, login_as):
    """Issue 13, item 17: the accounts' creation times, too (one rule, in the shared code)."""
    admin = login_as(Role.ADMIN, HANOI)
    created = db.session.scalar(sa.select(User.created_at).where(User.id == admin.id))
    text = client.get("/admin/accounts/export.csv").get_data(as_text=True).lstrip("\ufeff")
    rows = list(csv.reader(io.StringIO(text)))
    column = rows[0].index("Ngày lập (giờ Việt Nam)")
    row = next(r for r in rows[1:] if r[0] == admin.username)
    assert row[column] == (created + timedelta(hours=7)).strftime("%d/%m/%Y %H:%M:%S")


def test_every_export_gets_the_zone_from_the_shared_writer(app):
    """Issue 13, item 17: any export's column of times, found from its values, is written in
    Vietnam time under a heading that says so; dates (birth dates) are left as they are."""
    from datetime import date

    columns = [
        export.Column("Lúc", lambda r: r[0]),
        export.Column("Ngày", lambda r: r[1]),
        export.Column("Trống", lambda r: None, time=True),
    ]
    rows = [(datetime(2026, 12, 31, 20, 30), date(1990, 5, 17))]
    with app.test_request_context("/"):
        text = "".join(export.csv_chunks(columns, [rows]))
        with export.xlsx_file(columns, [rows], "x") as file:
            workbook = load_workbook(file)
    assert text.lstrip("\ufeff").splitlines() == [
        "Lúc (giờ Việt Nam),Ngày,Trống (giờ Việt Nam)",
        "01/01/2027 03:30:00,17/05/1990,",
    ]
    head, first = list(workbook.active.iter_rows(values_only=True))
    assert head == ("Lúc (giờ Việt Nam)", "Ngày", "Trống (giờ Việt Nam)")
    assert first[0] == datetime(2027, 1, 1, 3, 30)
