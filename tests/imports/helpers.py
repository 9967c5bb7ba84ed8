"""Building the spreadsheets of the Excel import, and uploading them: shared by the tests of
the import, of the field rules, of jobs, of the clock and others (a helper module, so
that no test module imports another)."""

from __future__ import annotations

import io
from datetime import datetime

import sqlalchemy as sa
from openpyxl import Workbook
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

from portal.extensions import db
from portal.imports import services
from portal.records.models import Person
from tests.conftest import csrf_token

HEADER = [
    "Họ và tên",
    "Giới tính",
    "Ngày sinh",
    "Số CCCD/CMND",
    "Quốc tịch",
    "Số điện thoại",
    "Mã xã/phường",
    "Địa chỉ",
    "Mũi số",
    "Tên vắc xin",
    "Số lô",
    "Ngày tiêm",
    "Mã cơ sở tiêm",
]
PFIZER = "Pfizer-BioNTech (Comirnaty)"
ASTRA = "AstraZeneca (Vaxzevria)"


def row(
    name="Nguyễn Văn An",
    sex="Nam",
    birth="14/03/1985",
    id_number="001085012345",
    dose=None,
    vaccine=None,
    on=None,
    **kw,
):
    values = {
        "Họ và tên": name,
        "Giới tính": sex,
        "Ngày sinh": birth,
        "Số CCCD/CMND": id_number,
        "Mũi số": dose,
        "Tên vắc xin": vaccine,
        "Ngày tiêm": on,
        **{HEADER[i]: v for i, v in kw.get("extra", {}).items()},
    }
    return [values.get(h) for h in HEADER]


def xlsx(rows, header=HEADER, before=(), merged=()):
    workbook = Workbook()
    sheet = workbook.active
    for cells in before:
        sheet.append(list(cells))
    if header:
        sheet.append(header)
    for cells in rows:
        sheet.append(list(cells))
    for cells in merged:
        sheet.merge_cells(cells)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


GOOD = [
    row(dose=1, vaccine=ASTRA, on=datetime(2021, 8, 20)),  # a date cell
    row(dose=2, vaccine=PFIZER, on=44470),  # an Excel serial number: 01/10/2021
    row("Trần Thị Bình", "Nữ", 32874, "123456789"),  # serial birth date 01/01/1990, no dose
    row(
        "Lê Thị Hạ",
        "nữ",
        "1990",
        "079190000123",
        dose=1,
        vaccine="moderna (spikevax)",
        on="05/09/2021",
    ),
    [None] * len(HEADER),  # an empty row
    row("Phạm Đức Minh", "Nam", "02/2000", "001200000077", dose=1, vaccine=PFIZER, on="2021-11-03"),
]


def check(data, commune, name="ds.xlsx", user=None):
    batch = services.create_batch(data, name, commune, user)
    services.check_batch(batch)
    return batch


def persons():
    return db.session.scalars(sa.select(Person).order_by(Person.id_number)).all()


def upload(client, data, name="ds.xlsx"):
    token = csrf_token(client, "/imports")
    # Encoded in memory: the test client would spool a large body to a temporary file
    # that stays open when the app refuses the request before reading it.
    boundary, body = encode_multipart(
        MultiDict({"csrf_token": token, "file": FileStorage(io.BytesIO(data), name)})
    )
    return client.post(
        "/imports", data=body, content_type=f"multipart/form-data; boundary={boundary}"
    )
