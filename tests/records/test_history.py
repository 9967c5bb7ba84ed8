"""The record history in words: creation by import, confirmations, labels, local times."""

from __future__ import annotations

import re
from datetime import date, datetime

from portal.audit import services as audit
from portal.extensions import db
from portal.imports.models import ImportBatch
from portal.records import services as record_services
from portal.records.models import BirthPrecision, PersonStatus
from portal.signing.models import DocumentKind, DocumentMember, SignedDocument


def plain(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_history_shows_import_confirmations_words_and_local_times(
    client, login_as, make_person, area
):
    """Issue 13 (smaller items): the record history names the Excel import that created
    the record and the signed documents that confirmed it; list and document keys are in
    words; times are in Vietnam time; a year-only birth date reads yyyy, not 01/01/yyyy."""
    station = login_as("health_station")
    batch = ImportBatch(
        commune_id=area("00004").id, filename="ds-bo-sung.xlsx", file_sha256="0" * 64, content=b""
    )
    db.session.add(batch)
    db.session.flush()
    audit.record(
        "import.commit",
        "import_batch",
        batch.id,
        {"filename": [None, "ds-bo-sung.xlsx"]},
        actor=station,
    )
    person = make_person(
        full_name="Đinh Thị Lan", birth_date=date(1950, 1, 1), birth_precision=BirthPrecision.YEAR
    )
    person.import_batch_id = batch.id
    document = SignedDocument(
        code="abc123",
        kind=DocumentKind.COMMITTEE_LIST,
        area_id=area("00004").id,
        title="Danh sách xác nhận số 7",
        signer_name="Chủ tịch UBND",
        path="x.pdf",
        sha256="1" * 64,
        signed_at=datetime(2026, 3, 1, 17, 30),
    )  # 00:30 on 2 March
    db.session.add(document)
    db.session.flush()
    db.session.add(DocumentMember(document_id=document.id, person_id=person.id))
    record_services.update_person(person, {"status": PersonStatus.CONFIRMED}, "test")
    audit.record(
        "person.supersede_confirmation",
        "person",
        person.id,
        {
            "status": ["confirmed", "needs_reconfirmation"],
            "documents": [None, 1],
            "answered_at": [None, "2026-03-01T17:31:00"],
        },
    )
    db.session.commit()

    page = client.get(f"/records/{person.id}").get_data(as_text=True)
    history = plain(page.split('data-testid="history"')[1].split("</table>")[0])
    assert "Bản ghi được tạo khi nhập từ tệp Excel" in history and "ds-bo-sung.xlsx" in history
    assert "Đã xác nhận: UBND đã ký danh sách" in history
    assert "Danh sách xác nhận số 7" in history and "02/03/2026 00:30" in history
    assert "/verify/abc123" in page
    assert "Số văn bản đã ký bị ảnh hưởng" in history and "documents" not in history
    # The creation line: the year of birth alone.
    assert "1950" in history and "01/01/1950" not in history
    assert "T17:31" not in history and "02/03/2026 00:31" in history
