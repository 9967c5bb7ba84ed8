"""The Excel import: dry run, commit, error report, defences, scope, pages, CLI, jobs."""

from __future__ import annotations

import html
import io
import re
import zipfile
from datetime import date, datetime

import pytest
import sqlalchemy as sa
from openpyxl import Workbook, load_workbook
from python_calamine import CalamineWorkbook

from portal.audit.models import AuditEvent
from portal.auth.models import Role
from portal.extensions import db
from portal.imports import services
from portal.imports.models import BatchState, ImportBatch
from portal.records.models import Dose, PersonStatus
from tests.conftest import NEIGHBOUR, OTHER_PROVINCE, OWN, csrf_token
from tests.imports.helpers import ASTRA, GOOD, HEADER, PFIZER, check, persons, row, upload, xlsx

# What a dose stores: the product's code (issue 13, item 5), whatever spelling the file used.
PFIZER_CODE, ASTRA_CODE, MODERNA_CODE = "EU/1/20/1528", "EU/1/21/1529", "EU/1/20/1507"


def issues(batch):
    return {number: (errors, warnings) for number, errors, warnings in batch.report["issues"]}


def test_dry_run_reads_serial_and_text_dates_vietnamese_text_and_skips_empty_rows(area):
    batch = check(xlsx(GOOD), area(OWN))
    assert batch.state == BatchState.CHECKED
    assert (batch.rows, batch.valid_rows, batch.error_rows) == (5, 5, 0)
    assert persons() == []  # a dry run writes nothing but the batch


def test_commit_creates_persons_and_doses_traceable_to_the_batch(area, make_user):
    user = make_user(Role.HEALTH_STATION)
    batch = check(xlsx(GOOD), area(OWN), user=user)
    summary = services.commit_batch(batch, user)
    db.session.commit()
    assert summary["persons_created"] == 4 and summary["doses_created"] == 4
    found = {p.id_number: p for p in persons()}
    an = found["001085012345"]
    assert an.full_name == "Nguyễn Văn An" and an.birth_date == date(1985, 3, 14)
    assert [(d.dose_number, d.vaccine, d.vaccinated_on) for d in an.doses] == [
        (1, ASTRA_CODE, date(2021, 8, 20)),
        (2, PFIZER_CODE, date(2021, 10, 1)),
    ]
    assert found["123456789"].birth_date == date(1990, 1, 1)
    assert found["079190000123"].birth_precision.value == "year"
    assert found["001200000077"].birth_precision.value == "month"
    assert found["079190000123"].doses[0].vaccine == MODERNA_CODE
    assert {p.import_batch_id for p in found.values()} == {batch.id}
    assert {p.status for p in found.values()} == {PersonStatus.UNVERIFIED}
    assert an.name_sort and an.name_folded == "nguyen van an" and an.province_id
    events = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "import.commit")
    ).all()
    assert len(events) == 1 and events[0].entity_id == str(batch.id)
    assert events[0].changes["file_sha256"][1] == batch.file_sha256
    assert events[0].changes["persons_created"][1] == 4
    assert events[0].actor_id == user.id


def test_importing_the_same_file_twice_adds_nothing(area):
    data = xlsx(GOOD)
    services.commit_batch(check(data, area(OWN)))
    db.session.commit()
    before = (len(persons()), db.session.scalar(sa.select(sa.func.count()).select_from(Dose)))
    again = check(data, area(OWN))
    assert again.error_rows == 0 and again.warning_rows == 5
    summary = services.commit_batch(again)
    assert summary["persons_created"] == 0 and summary["doses_created"] == 0
    assert summary["persons_matched"] == 4 and summary["doses_matched"] == 4
    after = (len(persons()), db.session.scalar(sa.select(sa.func.count()).select_from(Dose)))
    assert after == before


def test_a_new_dose_is_added_to_a_person_already_recorded(area, make_person):
    person = make_person(id_number="001085012345")
    batch = check(xlsx([row(dose=1, vaccine=ASTRA, on="20/08/2021")]), area(OWN))
    assert f"#{person.id}" in issues(batch)[2][1][0]
    services.commit_batch(batch)
    db.session.refresh(person)
    assert [d.dose_number for d in person.doses] == [1]
    assert len(persons()) == 1


ERRORS = {
    "missing name": (row(name=None), "Thiếu trường bắt buộc: Họ và tên."),
    "missing ID": (row(id_number=None), "Thiếu trường bắt buộc: Số CCCD/CMND."),
    "bad date": (row(birth="31/02/1990"), "không phải là ngày có thật"),
    "future birth": (row(birth="01/01/2999"), "01/01/2999 ở tương lai"),
    "future dose": (row(dose=1, vaccine=PFIZER, on="01/01/2999"), "trong tương lai"),
    "bad ID": (row(id_number="12345"), "Số định danh phải có 9 hoặc 12 chữ số"),
    "bad province": (row(id_number="999085012345"), "không phải mã tỉnh"),
    "unknown commune": (row(extra={6: "99999"}), "99999"),
    "other commune": (row(extra={6: NEIGHBOUR}), NEIGHBOUR),
    "unknown site": (row(dose=1, vaccine=PFIZER, on="01/08/2021", extra={12: "NOPE"}), "NOPE"),
    "unknown vaccine": (row(dose=1, vaccine="Nước lã", on="01/08/2021"), "Nước lã"),
    "dose without the previous": (row(dose=2, vaccine=PFIZER, on="01/08/2021"), "mũi 1"),
    "unknown sex": (row(sex="X"), "“X”"),
}


@pytest.mark.parametrize("case", list(ERRORS))
def test_rows_with_errors_are_reported_and_never_imported(case, area):
    bad, expected = ERRORS[case]
    batch = check(xlsx([row("Ngô Văn Cường", id_number="001090000001"), bad]), area(OWN))
    assert batch.error_rows == 1 and batch.valid_rows == 1
    errors = issues(batch)[3][0]
    assert any(expected in message for message in errors), errors
    services.commit_batch(batch)
    assert [p.id_number for p in persons()] == ["001090000001"]


def test_doses_out_of_order_are_errors(area):
    batch = check(
        xlsx(
            [
                row(dose=1, vaccine=PFIZER, on="01/09/2021"),
                row(dose=2, vaccine=PFIZER, on="01/08/2021"),
            ]
        ),
        area(OWN),
    )
    assert batch.error_rows == 1
    assert "trước mũi 1" in issues(batch)[3][0][0]


def test_each_dose_cell_read_once_still_tells_true_from_1(area):
    # The dose columns' values are read once per distinct value: a TRUE cell is not the 1
    # of an earlier row (they are equal as dict keys).
    batch = check(
        xlsx(
            [
                row(dose=1, vaccine=PFIZER, on="01/08/2021"),
                row(
                    "Lê Thị Hạ",
                    "Nữ",
                    "1990",
                    "079190000123",
                    dose=True,
                    vaccine=PFIZER,
                    on="01/08/2021",
                ),
                row(
                    "Phạm Đức Minh",
                    "Nam",
                    "02/2000",
                    "001200000077",
                    dose=1.0,
                    vaccine=PFIZER,
                    on="01/08/2021",
                    extra={12: "KHONG-CO"},
                ),
            ]
        ),
        area(OWN),
    )
    found = issues(batch)
    assert batch.valid_rows == 1 and batch.error_rows == 2
    assert "TRUE" in found[3][0][0] or "True" in found[3][0][0]
    assert "KHONG-CO" in found[4][0][0]


def test_warnings_duplicates_spaced_ids_and_known_persons(area, make_person):
    make_person(
        full_name="Trần Thị Bình", sex="female", birth_date=date(1990, 1, 1), id_number=None
    )
    batch = check(
        xlsx(
            [
                row(id_number="001 085.012.345"),
                row(id_number="001085012345"),
                row("Trần Thị Bình", "Nữ", "01/01/1990", "123456789"),
            ]
        ),
        area(OWN),
    )
    found = issues(batch)
    assert batch.error_rows == 0 and batch.valid_rows == 3
    assert "001085012345" in found[2][1][0]  # normalised, and said so
    assert "dòng 2" in found[3][1][0]  # repeats row 2
    assert "cùng họ tên và ngày sinh" in found[4][1][0]
    services.commit_batch(batch)
    assert sorted(p.id_number or "" for p in persons()) == ["", "001085012345", "123456789"]


def test_merged_header_cells_and_a_title_row(area):
    top = ["DANH SÁCH ĐỐI TƯỢNG"] + [None] * 12
    groups = HEADER[:8] + ["Thông tin mũi tiêm"] + [None] * 4
    second = [None] * 8 + HEADER[8:]
    wb = Workbook()
    ws = wb.active
    for cells in [top, groups, second, row(dose=1, vaccine=PFIZER, on="01/08/2021")]:
        ws.append(cells)
    for cells in ["A1:M1", *[f"{c}2:{c}3" for c in "ABCDEFGH"], "I2:M2"]:
        ws.merge_cells(cells)
    out = io.BytesIO()
    wb.save(out)
    batch = check(out.getvalue(), area(OWN))
    assert batch.state == BatchState.CHECKED, batch.report
    assert (batch.rows, batch.valid_rows) == (1, 1)
    services.commit_batch(batch)
    found = persons()[0]
    assert [d.vaccine for d in found.doses] == [PFIZER_CODE], batch.report


def test_the_template_is_a_workbook_that_imports_as_it_is(area, make_site):
    data = services.template_workbook(area(OWN))
    workbook = load_workbook(io.BytesIO(data))
    sheet = workbook["Danh sách"]
    assert [c.value for c in sheet[1]][:4] == [
        "Họ và tên *",
        "Giới tính *",
        "Ngày sinh *",
        "Số CCCD/CMND *",
    ]
    formulas = {v.formula1 for v in sheet.data_validations.dataValidation}
    # The vaccines' list is a sheet of the catalogue: names, codes, types and holders.
    assert '"Nam,Nữ"' in formulas and "'Danh mục vắc xin'!$A$2:$A$11" in formulas
    products = [[c.value for c in r] for r in workbook["Danh mục vắc xin"].iter_rows(min_row=2)]
    assert ["Comirnaty (Pfizer-BioNTech)", "EU/1/20/1528"] in [p[:2] for p in products]
    assert workbook["Hướng dẫn"]["A2"].value == "Họ và tên"
    # Left unchanged, the example row is ignored: nothing to import.
    batch = check(data, area(OWN), "mau.xlsx")
    assert batch.state == BatchState.REJECTED
    # Filled in under the headers, it imports.
    sheet.append(row(dose=1, vaccine=PFIZER, on="01/08/2021"))
    out = io.BytesIO()
    workbook.save(out)
    batch = check(out.getvalue(), area(OWN))
    assert (batch.rows, batch.valid_rows) == (1, 1)


def test_the_error_report_lists_rejected_rows_and_can_be_fixed_and_uploaded(area):
    batch = check(
        xlsx(
            [
                row("Ngô Văn Cường", id_number="001090000001"),
                row(birth="31/02/1985"),
                row("Lê Văn Tám", birth=None, id_number="001090000008"),
            ]
        ),
        area(OWN),
    )
    services.commit_batch(batch)
    with services.error_report(batch) as handle:
        report = handle.read()
    sheet = CalamineWorkbook.from_filelike(io.BytesIO(report)).get_sheet_by_index(0).to_python()
    assert sheet[0][-1] == "Lý do bị từ chối" and len(sheet) == 3
    assert sheet[1][0] == "Nguyễn Văn An" and "31/02/1985" in sheet[1][-1]
    assert sheet[2][3] == "001090000008"
    # Fixed in the report itself and uploaded again: the reason column is ignored.
    workbook = load_workbook(io.BytesIO(report))
    workbook.active["C2"] = "28/02/1985"
    workbook.active["C3"] = "1990"
    out = io.BytesIO()
    workbook.save(out)
    again = check(out.getvalue(), area(OWN), "ds-loi.xlsx")
    assert (again.valid_rows, again.error_rows) == (2, 0)
    services.commit_batch(again)
    assert len(persons()) == 3


def test_a_crash_in_the_middle_of_a_commit_leaves_nothing_behind(area, monkeypatch):
    batch = check(xlsx(GOOD), area(OWN))
    db.session.commit()
    events = db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent))

    def crash(*_args, **_kw):
        raise RuntimeError("disk full")

    monkeypatch.setattr(services, "_insert_doses", crash)
    with pytest.raises(RuntimeError):
        services.commit_batch(batch)
    db.session.rollback()
    assert persons() == []
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Dose)) == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)) == events
    assert db.session.get(ImportBatch, batch.id).state == BatchState.CHECKED


# --- the dry run's file checks, kept for the commit ------------------------------------------


def test_the_commit_reuses_the_dry_runs_checks_without_reading_the_file(area, monkeypatch):
    batch = check(xlsx(GOOD), area(OWN))
    db.session.commit()
    assert batch.checked_rows

    def read_again(_batch):
        raise AssertionError("the commit read the file again")

    monkeypatch.setattr(services, "_read", read_again)
    summary = services.commit_batch(batch)
    db.session.commit()
    assert summary["persons_created"] == 4 and summary["doses_created"] == 4
    assert len(persons()) == 4
    assert batch.checked_rows is None  # emptied once committed


def test_the_stored_checks_give_back_the_rows_of_the_file_checks(area, make_site):
    from portal.imports import snapshot
    from portal.imports.parser import read_table
    from portal.imports.validation import check_file

    site = make_site(OWN, code="TYT-BD")
    data = xlsx(
        [
            *GOOD,
            row(
                "Ngô Văn Cường",
                id_number="001090000001",
                dose=1,
                vaccine=PFIZER,
                on="01/08/2021",
                extra={12: site.code},
            ),
            row(birth="31/02/1985", id_number="001085012346"),  # an error
            row(id_number="001 085.012.345", dose=1, vaccine=ASTRA, on=datetime(2021, 8, 20)),
        ]
    )  # a warning, and a duplicate
    batch = services.create_batch(data, "ds.xlsx", area(OWN))
    checked = check_file(read_table(data, "ds.xlsx"), area(OWN))
    assert any(r.errors for r in checked.rows) and any(r.duplicate for r in checked.rows)
    source = snapshot.made_from(batch)
    again = snapshot.unpack(snapshot.pack(checked, source), source)
    assert again is not None and again.rows == checked.rows


@pytest.mark.parametrize("change", ["format", "file_sha256", "commune_id", "day", "locale"])
def test_stored_checks_made_from_anything_else_are_not_used(area, change):
    from portal.imports import snapshot

    batch = check(xlsx(GOOD), area(OWN))
    source = snapshot.made_from(batch)
    assert snapshot.unpack(batch.checked_rows, source) is not None
    assert snapshot.unpack(batch.checked_rows, {**source, change: "other"}) is None
    assert snapshot.unpack(b"not zlib", source) is None
    assert snapshot.unpack(None, source) is None


def test_a_file_changed_after_the_dry_run_is_read_and_checked_again(area):
    batch = check(xlsx(GOOD), area(OWN))
    db.session.commit()
    # Not something the portal does; the stored checks must not outlive the file.
    batch.content = xlsx(
        [
            row("Ngô Văn Cường", id_number="001090000001"),
            row(birth="31/02/1985", id_number="001085012346"),
        ]
    )
    db.session.commit()
    summary = services.commit_batch(batch)
    db.session.commit()
    assert (summary["rows"], summary["persons_created"], summary["error_rows"]) == (2, 1, 1)
    assert [p.id_number for p in persons()] == ["001090000001"]


def test_a_person_recorded_between_the_dry_run_and_the_commit_is_not_duplicated(area, make_person):
    batch = check(xlsx(GOOD), area(OWN))
    db.session.commit()
    assert batch.warning_rows == 0  # nobody was recorded at the dry run
    someone = make_person(id_number="001085012345")  # Nguyễn Văn An, by someone else
    from portal.records import services as record_services

    record_services.add_dose(
        someone, {"dose_number": 1, "vaccine": ASTRA, "vaccinated_on": date(2021, 8, 20)}
    )
    db.session.commit()
    summary = services.commit_batch(batch)
    db.session.commit()
    assert summary["persons_created"] == 3 and summary["persons_matched"] == 1
    assert summary["doses_created"] == 3 and summary["doses_matched"] == 1
    assert [p.id for p in persons() if p.id_number == "001085012345"] == [someone.id]
    db.session.refresh(someone)
    assert [(d.dose_number, d.vaccine) for d in someone.doses] == [
        (1, ASTRA_CODE),
        (2, PFIZER_CODE),
    ]
    assert f"#{someone.id}" in " ".join(issues(batch)[2][1])


def test_two_batches_of_one_file_checked_before_either_commits_add_it_once(area):
    data = xlsx(GOOD)
    first, second = check(data, area(OWN)), check(data, area(OWN))
    db.session.commit()
    services.commit_batch(first)
    db.session.commit()
    summary = services.commit_batch(second)
    db.session.commit()
    assert summary["persons_created"] == 0 and summary["doses_created"] == 0
    assert summary["persons_matched"] == 4 and summary["doses_matched"] == 4
    assert len(persons()) == 4


def test_a_dose_recorded_differently_meanwhile_rejects_the_row(area, make_person):
    batch = check(xlsx([row(dose=1, vaccine=ASTRA, on="20/08/2021")]), area(OWN))
    db.session.commit()
    someone = make_person(id_number="001085012345")
    from portal.records import services as record_services

    record_services.add_dose(
        someone, {"dose_number": 1, "vaccine": PFIZER, "vaccinated_on": date(2021, 8, 21)}
    )
    db.session.commit()
    summary = services.commit_batch(batch)
    assert (summary["error_rows"], summary["doses_created"]) == (1, 0)
    assert "đã được ghi nhận" in issues(batch)[2][0][0]


def test_the_commit_locks_the_commune_after_its_last_progress_report(area, monkeypatch):
    """A job's progress report commits, which ends a transaction-level lock: the lock that
    keeps two commits into one commune apart must be taken after the last report, before
    the database checks (PostgreSQL; SQLite has one writer at a time)."""
    batch = check(xlsx(GOOD), area(OWN))
    db.session.commit()
    events: list[str] = []
    check_database = services.check_database

    def checking(*args):
        events.append("check")
        return check_database(*args)

    def locking(_conn, _cursor, statement, *_args):
        if "pg_advisory_xact_lock" in statement:
            events.append("lock")

    monkeypatch.setattr(services, "check_database", checking)
    engine = db.session.get_bind().engine
    sa.event.listen(engine, "before_cursor_execute", locking)
    try:
        services.commit_batch(batch, progress=lambda done, total: events.append("report"))
    finally:
        sa.event.remove(engine, "before_cursor_execute", locking)
    locked = engine.dialect.name == "postgresql"
    assert events == ["report", "report", *(["lock"] if locked else []), "check"]


# --- bad files -------------------------------------------------------------------------------


def _zip(entries):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in entries.items():
            archive.writestr(name, content)
    return out.getvalue()


def _parts():
    real = zipfile.ZipFile(io.BytesIO(xlsx(GOOD)))
    return {info.filename: real.read(info) for info in real.infolist()}


BAD = {
    "zip bomb": (
        lambda: _zip({**_parts(), "xl/media/p.bin": b"\0" * (64 * 1024 * 1024)}),
        "x.xlsx",
        "quá lớn",
    ),
    "many entries": (
        lambda: _zip({**_parts(), **{f"xl/m/{n}": b"x" for n in range(1200)}}),
        "x.xlsx",
        "quá lớn",
    ),
    "xlsm": (lambda: xlsx(GOOD), "x.xlsm", "macro"),
    "macros inside": (lambda: _zip({**_parts(), "xl/vbaProject.bin": b"VBA"}), "x.xlsx", "macro"),
    "not a spreadsheet": (lambda: b"%PDF-1.4 hello", "x.pdf", "x.pdf"),
    "text named xlsx": (lambda: b"just text", "x.xlsx", "không phải"),
    "password": (
        lambda: (
            b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
            + "EncryptedPackage".encode("utf-16-le")
            + b"\0" * 100
        ),
        "x.xlsx",
        "mật khẩu",
    ),
    "no headers": (
        lambda: xlsx([["a", "b", "c"]], header=["x", "y", "z"]),
        "x.xlsx",
        "Không tìm thấy dòng tiêu đề",
    ),
    "header lacks a column": (
        lambda: xlsx([["An", "Nam"]], header=["Họ và tên", "Giới tính"]),
        "x.xlsx",
        "Ngày sinh",
    ),
    "Windows-1258 CSV": (
        lambda: (
            ",".join(HEADER[:4]).encode()
            + b"\r\n"
            + ",".join(["Lê Văn Đô", "Nam", "01/01/1990", "123456789"]).encode("cp1258")
        ),
        "x.csv",
        "Windows-1258",
    ),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_files_are_refused_with_a_clear_message(case, area):
    make, name, expected = BAD[case]
    batch = check(make(), area(OWN), name)
    assert batch.state == BatchState.REJECTED
    assert expected in batch.report["file_error"], batch.report["file_error"]
    assert persons() == []
    with pytest.raises(services.ImportRefused):
        services.commit_batch(batch)


def test_a_utf8_csv_imports(area):
    text = "\ufeff" + ",".join(HEADER[:4]) + "\r\nTrần Thị Bình,Nữ,01/01/1990,123456789\r\n"
    batch = check(text.encode(), area(OWN), "ds.csv")
    assert batch.valid_rows == 1
    services.commit_batch(batch)
    assert persons()[0].full_name == "Trần Thị Bình"


# --- pages -----------------------------------------------------------------------------------


def test_health_station_uploads_checks_and_commits(client, login_as):
    login_as(Role.HEALTH_STATION)
    response = upload(client, xlsx(GOOD))
    assert response.status_code == 303
    page = client.get(response.headers["Location"])
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "Nhập 5 dòng hợp lệ" in text
    batch_id = int(response.headers["Location"].rsplit("/", 1)[1])
    token = csrf_token(client, f"/imports/{batch_id}")
    committed = client.post(f"/imports/{batch_id}/commit", data={"csrf_token": token})
    assert committed.status_code == 303
    assert len(persons()) == 4
    again = client.post(f"/imports/{batch_id}/commit", data={"csrf_token": token})
    assert again.status_code == 409 and len(persons()) == 4
    listing = client.get("/imports").get_data(as_text=True)
    assert "ds.xlsx" in listing and "đã nhập" in listing


def test_pages_and_fragments(client, login_as, area):
    user = login_as(Role.HEALTH_STATION)
    batch = check(
        xlsx([row(), row(birth="31/02/1985", id_number="001085012346")]), area(OWN), user=user
    )
    db.session.commit()
    for path, target in [("/imports", "import-batches"), (f"/imports/{batch.id}", "batch-status")]:
        page = client.get(path)
        assert page.status_code == 200 and "<html" in page.get_data(as_text=True)
        fragment = client.get(path, headers={"HX-Request": "true", "HX-Target": target})
        body = fragment.get_data(as_text=True)
        assert fragment.status_code == 200 and "<html" not in body and f'id="{target}"' in body
    report = client.get(f"/imports/{batch.id}/errors.xlsx")
    assert report.status_code == 200 and report.data.startswith(b"PK")
    report.close()
    template = client.get("/imports/template.xlsx")
    assert template.status_code == 200 and template.data.startswith(b"PK")


@pytest.mark.parametrize(
    "role", [Role.POLICE, Role.COMMITTEE, Role.VACCINATION_SITE, Role.HEALTH_AUTHORITY, Role.ADMIN]
)
def test_other_roles_are_refused(client, login_as, role):
    login_as(role, OWN if role not in (Role.HEALTH_AUTHORITY, Role.ADMIN) else "01")
    assert client.get("/imports").status_code == 403
    assert client.get("/imports/template.xlsx").status_code == 403


@pytest.mark.parametrize("commune,status", [(OWN, 200), (NEIGHBOUR, 404), (OTHER_PROVINCE, 404)])
def test_a_health_station_sees_only_its_own_communes_batches(
    client, login_as, area, commune, status
):
    batch = check(xlsx([row()]), area(commune))
    db.session.commit()
    login_as(Role.HEALTH_STATION, OWN)
    assert client.get(f"/imports/{batch.id}").status_code == status
    token = csrf_token(client, "/imports")
    response = client.post(f"/imports/{batch.id}/commit", data={"csrf_token": token})
    assert response.status_code == (303 if status == 200 else 404)


def test_an_oversized_upload_is_refused_with_413(client, login_as, app, monkeypatch):
    login_as(Role.HEALTH_STATION)
    monkeypatch.setitem(app.config, "IMPORT_MAX_BYTES", 1024 * 1024)
    response = upload(client, b"x" * (2 * 1024 * 1024), "big.csv")
    assert response.status_code == 413
    assert "lớn hơn 1 MB" in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ImportBatch)) == 0


def test_large_files_go_through_jobs(client, login_as, app, monkeypatch):
    login_as(Role.HEALTH_STATION)
    monkeypatch.setitem(app.config, "IMPORT_INLINE_BYTES", 0)
    response = upload(client, xlsx(GOOD))
    batch_id = int(response.headers["Location"].rsplit("/", 1)[1])
    batch = db.session.get(ImportBatch, batch_id)
    assert batch.state == BatchState.CHECKED and batch.job_id
    token = csrf_token(client, f"/imports/{batch_id}")
    assert client.post(f"/imports/{batch_id}/commit", data={"csrf_token": token}).status_code == 303
    db.session.expire_all()
    batch = db.session.get(ImportBatch, batch_id)
    assert batch.state == BatchState.COMMITTED and batch.persons_created == 4
    job_page = client.get(f"/jobs/{batch.job_id}")
    assert job_page.status_code == 200


def test_a_failing_commit_job_marks_the_batch_failed_and_writes_nothing(
    client, login_as, app, monkeypatch
):
    login_as(Role.HEALTH_STATION)
    monkeypatch.setitem(app.config, "IMPORT_INLINE_BYTES", 0)
    batch_id = int(upload(client, xlsx(GOOD)).headers["Location"].rsplit("/", 1)[1])

    def crash(*_args, **_kw):
        raise RuntimeError("disk full")

    monkeypatch.setattr(services, "_insert_doses", crash)
    token = csrf_token(client, f"/imports/{batch_id}")
    client.post(f"/imports/{batch_id}/commit", data={"csrf_token": token})
    db.session.expire_all()
    assert db.session.get(ImportBatch, batch_id).state == BatchState.FAILED
    assert persons() == []
    assert "thất bại" in client.get(f"/imports/{batch_id}").get_data(as_text=True)


# --- command line ----------------------------------------------------------------------------


def test_command_dry_run_then_commit(app, tmp_path):
    path = tmp_path / "ds.xlsx"
    path.write_bytes(xlsx([*GOOD, row(birth="31/02/1985", id_number="001085012349")]))
    runner = app.test_cli_runner()
    dry = runner.invoke(args=["records", "import", str(path), "--commune", OWN])
    assert dry.exit_code == 0, dry.output
    assert "5" in dry.output and "31/02/1985" in dry.output
    assert re.search(r"^Dòng \d+, bị từ chối: .*31/02/1985", dry.output, re.MULTILINE)
    assert "error" not in dry.output.lower() and "warning" not in dry.output.lower()
    assert persons() == []
    done = runner.invoke(args=["records", "import", str(path), "--commune", OWN, "--commit"])
    assert done.exit_code == 0, done.output
    assert len(persons()) == 4
    bad = runner.invoke(args=["records", "import", str(path), "--commune", "99999"])
    assert bad.exit_code == 2


def _batches_shown(body: str) -> list[str]:
    return re.findall(r'<td class="text-break"><a href="[^"]+">([^<]+)</a>', body)


def test_the_list_is_paged_and_searched(client, login_as, area):
    """Issue 16: the commune's imports are paged by the one pager (it showed the last 50,
    the rest unreachable) and searched by a WTForms form, by file name and state; a value
    in error has its Vietnamese message beside its field, in the fragment too."""
    user = login_as(Role.HEALTH_STATION)
    for n in range(52):
        db.session.add(
            ImportBatch(
                commune_id=area(OWN).id,
                created_by_id=user.id,
                filename=f"tep-{n:02}.xlsx",
                file_sha256="0" * 64,
                content=b"",
                state=BatchState.FAILED if n == 7 else BatchState.COMMITTED,
            )
        )
    db.session.commit()
    first = client.get("/imports")
    body = first.get_data(as_text=True)
    assert first.status_code == 200
    assert _batches_shown(body) == [f"tep-{n:02}.xlsx" for n in range(51, 1, -1)]
    assert user.display_name in body
    next_url = html.unescape(re.search(r'rel="next" href="([^"]+)"', body).group(1))
    second = client.get(next_url, headers={"HX-Request": "true", "HX-Target": "import-batches"})
    fragment = second.get_data(as_text=True)
    assert second.status_code == 200 and "<html" not in fragment
    assert fragment.lstrip().startswith('<div id="import-batches"')
    assert _batches_shown(fragment) == ["tep-01.xlsx", "tep-00.xlsx"]
    assert 'rel="prev"' in fragment and 'rel="next"' not in fragment

    searched = client.get("/imports?q=TEP-0&state=failed").get_data(as_text=True)
    assert _batches_shown(searched) == ["tep-07.xlsx"]
    assert "Không có lần nhập nào phù hợp." in client.get("/imports?q=khong-co").get_data(
        as_text=True
    )

    wrong = client.get(
        "/imports",
        query_string={"q": "x" * 101, "state": "bogus"},
        headers={"HX-Request": "true", "HX-Target": "import-batches"},
    )
    fragment = wrong.get_data(as_text=True)
    assert wrong.status_code == 200 and "<html" not in fragment
    assert re.search(
        r'id="imports-q-error" hx-swap-oob="true">Trường này không được dài quá 100 ký tự',
        fragment,
    )
    assert re.search(r'id="imports-state-error" hx-swap-oob="true">Lựa chọn không hợp lệ', fragment)
    assert len(_batches_shown(fragment)) == 50  # the list, without the values in error
    page = client.get("/imports?state=bogus").get_data(as_text=True)
    assert re.search(r'id="imports-state-error">Lựa chọn không hợp lệ', page)

    bad = client.get("/imports?after=not-a-cursor")
    assert bad.status_code == 400
    assert "Liên kết trang không hợp lệ" in bad.get_data(as_text=True)
