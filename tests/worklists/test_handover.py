"""Handover lists: police create and hand over, the health station receives and archives;
each step audited, the frozen PDF checked by its hash, scope and roles enforced."""

from __future__ import annotations

import hashlib
import html
import re
import shutil
import subprocess
from datetime import date

import pytest
import sqlalchemy as sa

from portal.audit.models import AuditEvent
from portal.extensions import db
from portal.worklists import handover
from portal.worklists.models import Worklist, WorklistState
from tests.conftest import NEIGHBOUR, OWN, csrf_token


@pytest.fixture(autouse=True)
def documents(app, tmp_path):
    """Each test stores its documents in its own folder, never in the instance folder."""
    previous = app.config.get("DOCUMENTS_DIR")
    app.config["DOCUMENTS_DIR"] = str(tmp_path / "documents")
    yield tmp_path / "documents"
    app.config["DOCUMENTS_DIR"] = previous


@pytest.fixture
def people(make_person):
    """In OWN: two verified, one matched, one mismatch, one unverified; in NEIGHBOUR: one
    verified person the OWN police must never list."""
    return {
        "verified": make_person(
            full_name="Nguyễn Văn Bình", status="verified", id_number="001090000001"
        ),
        "verified2": make_person(
            full_name="Trần Thị Hường",
            status="verified",
            sex="female",
            birth_date=date(1972, 1, 1),
            birth_precision="year",
            id_number="001172000002",
        ),
        "matched": make_person(full_name="Lê Văn Dũng", status="matched", id_number="001090000003"),
        "mismatch": make_person(
            full_name="Phạm Văn Em", status="mismatch", id_number="001090000004"
        ),
        "unverified": make_person(full_name="Hoàng Văn Giang"),
        "neighbour": make_person(
            full_name="Vũ Văn Hải",
            status="verified",
            commune_code=NEIGHBOUR,
            id_number="001090000006",
        ),
    }


def token(client) -> str:
    return csrf_token(client, "/records")


def create(client, person_ids, note="Đã đối chiếu CCCD gốc"):
    return client.post(
        "/worklists/handover/new",
        data={"csrf_token": token(client), "person_ids": person_ids, "note": note},
    )


def transition(client, worklist_id: int, slug: str):
    return client.post(
        f"/worklists/handover/{worklist_id}/{slug}", data={"csrf_token": token(client)}
    )


def created_id(response) -> int:
    assert response.status_code == 303, response.get_data(as_text=True)[:800]
    match = re.search(r"/worklists/handover/(\d+)$", response.headers["Location"])
    assert match
    return int(match.group(1))


def events(worklist_id: int) -> list[AuditEvent]:
    return list(
        db.session.scalars(
            sa.select(AuditEvent)
            .where(AuditEvent.entity_type == "worklist", AuditEvent.entity_id == str(worklist_id))
            .order_by(AuditEvent.seq)
        )
    )


def english(client) -> None:
    client.post("/language", data={"csrf_token": token(client), "lang": "en", "next": "/"})


def test_police_list_only_their_verified_persons(client, login_as, people):
    login_as("police", OWN)
    page = client.get("/worklists/handover/new").get_data(as_text=True)
    for key in ("verified", "verified2", "matched"):
        assert people[key].full_name in page
    for key in ("mismatch", "unverified", "neighbour"):
        assert people[key].full_name not in page

    # Ineligible and foreign persons in the post are ignored.
    chosen = [people[k].id for k in ("verified", "matched", "mismatch", "neighbour")]
    worklist_id = created_id(create(client, chosen))
    worklist = db.session.get(Worklist, worklist_id)
    assert worklist.state == WorklistState.DRAFT and worklist.area.code == OWN
    assert worklist.title.startswith("Danh sách bàn giao kết quả xác minh – Phường Ba Đình – ")
    members = handover.members_of(worklist)
    assert {m.person_id for m in members} == {people["verified"].id, people["matched"].id}
    snap = next(m.snapshot for m in members if m.person_id == people["verified"].id)
    assert snap["full_name"] == "Nguyễn Văn Bình" and snap["id_number"] == "001090000001"
    assert snap["status"] == "verified" and snap["sex"] == "male"

    # Listed persons are no longer eligible while the list is open.
    page = client.get("/worklists/handover/new").get_data(as_text=True)
    assert "Nguyễn Văn Bình" not in page and "Trần Thị Hường" in page
    assert create(client, [people["verified"].id]).status_code == 422


def test_nothing_eligible_is_refused_with_a_message(client, login_as, people):
    login_as("police", OWN)
    english(client)
    response = create(client, [people["mismatch"].id, people["neighbour"].id])
    assert response.status_code == 422
    assert "Select at least one verified person" in response.get_data(as_text=True)
    response = create(client, [])
    assert response.status_code == 422
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Worklist)) == 0


def test_the_full_state_machine_with_the_right_roles(client, login_as, people, documents):
    police = login_as("police", OWN)
    worklist_id = created_id(create(client, [people["verified"].id, people["verified2"].id]))

    # A draft's PDF is rendered on the fly and says so.
    draft = client.get(f"/worklists/handover/{worklist_id}.pdf")
    assert draft.status_code == 200 and draft.mimetype == "application/pdf"
    assert draft.data.startswith(b"%PDF")
    assert not list(documents.rglob("*.pdf")), "a draft is never stored"

    # Police cannot receive; a wrong transition is a conflict.
    assert transition(client, worklist_id, "receive").status_code == 403
    assert transition(client, worklist_id, "hand-over").status_code == 303
    assert transition(client, worklist_id, "hand-over").status_code == 409
    db.session.expire_all()
    worklist = db.session.get(Worklist, worklist_id)
    assert worklist.state == WorklistState.HANDED_OVER and worklist.handed_over_at
    stored = documents / worklist.document_path
    assert worklist.document_path == f"worklists/{worklist_id}.pdf"
    assert hashlib.sha256(stored.read_bytes()).hexdigest() == worklist.document_sha256
    pdf = client.get(f"/worklists/handover/{worklist_id}.pdf")
    assert pdf.status_code == 200 and pdf.data == stored.read_bytes()

    client.post("/logout", data={"csrf_token": token(client)})
    station = login_as("health_station", OWN)
    page = client.get(f"/worklists/handover/{worklist_id}").get_data(as_text=True)
    assert 'data-transition="receive"' in page and 'data-transition="hand_over"' not in page
    assert transition(client, worklist_id, "hand-over").status_code == 403
    assert transition(client, worklist_id, "archive").status_code == 409
    assert transition(client, worklist_id, "receive").status_code == 303
    assert transition(client, worklist_id, "archive").status_code == 303
    db.session.expire_all()
    worklist = db.session.get(Worklist, worklist_id)
    assert worklist.state == WorklistState.ARCHIVED
    assert worklist.received_at and worklist.archived_at

    # Every step is one audit event, by the right person, with the state and the hash.
    trail = events(worklist_id)
    assert [e.action for e in trail] == [
        "worklist.create",
        "worklist.hand_over",
        "worklist.receive",
        "worklist.archive",
    ]
    assert [e.actor_id for e in trail] == [police.id, police.id, station.id, station.id]
    assert trail[0].changes["members"] == [None, 2]
    assert trail[1].changes["state"] == ["draft", "handed_over"]
    assert trail[1].changes["document_sha256"] == [None, worklist.document_sha256]
    assert trail[2].changes["state"] == ["handed_over", "received"]
    assert trail[3].changes["state"] == ["received", "archived"]
    assert trail[3].changes["members"] == [2, 2]
    assert trail[3].changes["document_sha256"][1] == worklist.document_sha256

    # Once archived, its persons may go on a new list.
    client.post("/logout", data={"csrf_token": token(client)})
    login_as("police", OWN)
    assert "Nguyễn Văn Bình" in client.get("/worklists/handover/new").get_data(as_text=True)


def test_a_wrong_transition_shows_its_message(client, login_as, people):
    login_as("police", OWN)
    english(client)
    worklist_id = created_id(create(client, [people["verified"].id]))
    transition(client, worklist_id, "hand-over")
    # Sent again (issue 15, item 2): the list is handed over already, and says so.
    response = transition(client, worklist_id, "hand-over")
    assert response.status_code == 409
    assert "This list has already been handed over." in response.get_data(as_text=True)
    client.post("/logout", data={"csrf_token": token(client)})
    login_as("health_station", OWN)
    assert transition(client, worklist_id, "receive").status_code == 303
    client.post("/logout", data={"csrf_token": token(client)})
    login_as("police", OWN)
    english(client)
    response = transition(client, worklist_id, "hand-over")
    assert response.status_code == 409
    assert "Only a draft list can be handed over." in response.get_data(as_text=True)


def test_an_altered_document_is_refused(client, login_as, people, documents):
    login_as("police", OWN)
    worklist_id = created_id(create(client, [people["verified"].id]))
    transition(client, worklist_id, "hand-over")
    stored = next(documents.rglob("*.pdf"))
    stored.write_bytes(stored.read_bytes() + b"\n% altered\n")
    response = client.get(f"/worklists/handover/{worklist_id}.pdf")
    assert response.status_code == 409 and response.mimetype == "text/html"
    client.post("/logout", data={"csrf_token": token(client)})
    login_as("health_station", OWN)
    assert transition(client, worklist_id, "receive").status_code == 409
    db.session.expire_all()
    assert db.session.get(Worklist, worklist_id).state == WorklistState.HANDED_OVER


@pytest.mark.parametrize(
    ("role", "area_code", "status"),
    [
        ("health_station", OWN, 200),
        # Issue 14, item 3: roles with no part in a handover read it no more (was 200).
        ("committee", OWN, 404),
        ("vaccination_site", OWN, 404),
        ("admin", "01", 404),
        ("health_authority", "01", 200),
        ("police", NEIGHBOUR, 404),
        ("health_station", NEIGHBOUR, 404),
        ("health_authority", "04", 404),
    ],
)
def test_scope_of_a_handed_over_list(client, login_as, people, role, area_code, status):
    login_as("police", OWN)
    worklist_id = created_id(create(client, [people["verified"].id]))
    transition(client, worklist_id, "hand-over")
    client.post("/logout", data={"csrf_token": token(client)})
    login_as(role, area_code)
    assert client.get(f"/worklists/handover/{worklist_id}").status_code == status
    assert client.get(f"/worklists/handover/{worklist_id}.pdf").status_code == status
    listed = f'/worklists/handover/{worklist_id}"' in client.get("/worklists/handover").get_data(
        as_text=True
    )
    assert listed == (status == 200)
    if status == 200:
        # In scope but not the receiving health station of that commune: forbidden.
        expected = 303 if (role, area_code) == ("health_station", OWN) else 403
        assert transition(client, worklist_id, "receive").status_code == expected
    else:
        assert transition(client, worklist_id, "receive").status_code == 404


def test_drafts_are_the_polices_own(client, login_as, people):
    login_as("police", OWN)
    worklist_id = created_id(create(client, [people["verified"].id]))
    client.post("/logout", data={"csrf_token": token(client)})
    login_as("health_station", OWN)
    assert client.get(f"/worklists/handover/{worklist_id}").status_code == 404


@pytest.mark.parametrize("role", ["health_station", "committee", "vaccination_site"])
def test_only_police_create_lists(client, login_as, people, role):
    login_as(role, OWN)
    assert client.get("/worklists/handover/new").status_code == 403
    assert create(client, [people["verified"].id]).status_code == 403


def test_the_list_page_and_its_fragment(client, login_as, people):
    login_as("police", OWN)
    first = created_id(create(client, [people["verified"].id]))
    second = created_id(create(client, [people["matched"].id]))
    transition(client, second, "hand-over")
    page = client.get("/worklists/handover")
    body = page.get_data(as_text=True)
    assert page.status_code == 200 and "<html" in body
    assert f'data-worklist="{first}"' in body and f'data-worklist="{second}"' in body
    assert "HX-Request" in page.headers.get("Vary", "")

    fragment = client.get(
        "/worklists/handover?state=handed_over",
        headers={"HX-Request": "true", "HX-Target": "handover-results"},
    )
    body = fragment.get_data(as_text=True)
    assert fragment.status_code == 200 and "<html" not in body
    assert f'data-worklist="{second}"' in body and f'data-worklist="{first}"' not in body
    assert 'data-state="handed_over"' in body

    assert client.get("/worklists/handover?state=bogus").status_code == 400
    assert client.get("/worklists/handover?after=x").status_code == 400


def test_the_list_page_is_paged(app, client, login_as, people, monkeypatch):
    monkeypatch.setitem(app.config, "RECORDS_PAGE_SIZE", 1)
    login_as("police", OWN)
    first = created_id(create(client, [people["verified"].id]))
    second = created_id(create(client, [people["matched"].id]))
    body = client.get("/worklists/handover").get_data(as_text=True)
    assert f'data-worklist="{second}"' in body and f'data-worklist="{first}"' not in body
    # The page link after the newest list (an opaque cursor, core.paging).
    after = html.unescape(re.search(r'rel="next" href="([^"]+)"', body).group(1))
    body = client.get(after).get_data(as_text=True)
    assert f'data-worklist="{first}"' in body and f'data-worklist="{second}"' not in body


def test_the_pdf_embeds_noto_and_grows_with_its_members(app, login_as, make_person, client):
    police = login_as("police", OWN)
    persons = [
        make_person(
            full_name=f"Ngô Thị Ánh {n:02d}",
            status="verified",
            sex="female",
            id_number=f"001190{n:06d}",
        )
        for n in range(60)
    ]
    few = handover.create_handover(police, [p.id for p in persons[:3]], None)
    many_ids = [p.id for p in persons[3:]]
    one_page = handover.render_document(few, draft=True)
    assert one_page.startswith(b"%PDF")
    assert b"NotoSerif-Regular" in one_page and b"NotoSerif-Bold" in one_page
    assert b"/FontFile2" in one_page, "the font is embedded"
    assert pages(one_page) == 1

    many = handover.create_handover(police, many_ids, None)
    handover.hand_over(many, police)
    stored = handover.stored_document(many)
    assert pages(stored) >= 2
    if shutil.which("pdftotext"):
        text = subprocess.run(
            ["pdftotext", "-", "-"], input=stored, capture_output=True, check=True
        ).stdout.decode()
        assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in text
        assert "CÔNG AN PHƯỜNG BA ĐÌNH" in text
        assert "Ngô Thị Ánh 59" in text and "NGƯỜI LẬP DANH SÁCH" in text
        assert "BẢN NHÁP" not in text
        draft_text = subprocess.run(
            ["pdftotext", "-", "-"], input=one_page, capture_output=True, check=True
        ).stdout.decode()
        assert "BẢN NHÁP" in draft_text


def pages(content: bytes) -> int:
    return len(re.findall(rb"/Type\s*/Page(?![s\w])", content))


def test_document_texts():
    from portal.core.pdf import birth_text, date_line

    assert date_line("Ba Đình", date(2025, 2, 4)) == "Ba Đình, ngày 04 tháng 02 năm 2025"
    assert date_line("Ba Đình", date(2025, 11, 20)) == "Ba Đình, ngày 20 tháng 11 năm 2025"
    assert date_line("Ba Đình", date(2025, 3, 9)) == "Ba Đình, ngày 09 tháng 3 năm 2025"
    assert birth_text("1972-01-01", "year") == "1972"
    assert birth_text("1972-05-01", "month") == "05/1972"
    assert birth_text("1972-05-31", "day") == "31/05/1972"


def test_a_handover_list_exports_its_members(app, client, login_as, people, make_user):
    import io

    from openpyxl import load_workbook

    login_as("police", OWN)
    worklist_id = created_id(create(client, [people["verified"].id, people["verified2"].id]))
    csv_text = client.get(f"/worklists/handover/{worklist_id}/export.csv").get_data(as_text=True)
    assert csv_text.startswith("\ufeff") and "Nguyễn Văn Bình" in csv_text
    assert "1972" in csv_text and "001172000002" in csv_text
    xlsx = client.get(f"/worklists/handover/{worklist_id}/export.xlsx")
    sheet = load_workbook(io.BytesIO(xlsx.data)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert len(rows) == 3 and rows[1][3] in {"001090000001", "001172000002"}
    assert any(e.action == "worklist.export" for e in events(worklist_id))
    from tests.conftest import login

    other = app.test_client()
    login(other, make_user("police", NEIGHBOUR).username)
    assert other.get(f"/worklists/handover/{worklist_id}/export.csv").status_code == 404


def test_handover_creation_searches_filters_pages_and_selects_all_matching(
    client, login_as, make_person, app
):
    """Issue 13, item 9: the eligible persons have the record list's search, filters and
    paging (not the first 1,000 only), and "select all N matching" makes the list on the
    server from the filters, not from checkboxes."""
    login_as("police", OWN)
    verified = [
        make_person(
            full_name=f"Nguyễn Thị Vân {n:02d}",
            status="verified",
            sex="female",
            id_number=f"001190{n:06d}",
        )
        for n in range(7)
    ]
    matched = [
        make_person(
            full_name=f"Trần Văn Khôi {n:02d}", status="matched", id_number=f"001090{n:06d}"
        )
        for n in range(5)
    ]
    app.config["RECORDS_PAGE_SIZE"] = 5
    try:
        page = client.get("/worklists/handover/new").get_data(as_text=True)
        assert "12 người" in page
        assert len(re.findall(r'name="person_ids"', page)) == 5
        assert 'rel="next"' in page  # paging, not a truncated list

        # Search without diacritics, as on the record list.
        page = client.get("/worklists/handover/new?q=tran+van+khoi").get_data(as_text=True)
        assert "5 người" in page and "Nguyễn Thị Vân" not in page
        # The status filter offers the eligible statuses only; "verified by police" only.
        page = client.get("/worklists/handover/new?status=verified").get_data(as_text=True)
        assert "7 người" in page and "Trần Văn Khôi" not in page
        assert 'value="mismatch"' not in page
        fragment = client.get(
            "/worklists/handover/new?status=verified",
            headers={"HX-Request": "true", "HX-Target": "handover-candidates"},
        )
        assert fragment.status_code == 200 and "<html" not in fragment.get_data(as_text=True)

        # Select all 7 matching (more than the page shows): no person_ids posted.
        response = client.post(
            "/worklists/handover/new?status=verified",
            data={
                "csrf_token": token(client),
                "all_matching": "y",
                "note": "Tất cả người đã xác minh",
            },
        )
    finally:
        app.config["RECORDS_PAGE_SIZE"] = 50
    worklist = db.session.get(Worklist, created_id(response))
    members = handover.members_of(worklist)
    assert {m.person_id for m in members} == {p.id for p in verified}
    assert [m.snapshot["full_name"] for m in members] == sorted(p.full_name for p in verified), (
        "listed in name order"
    )
    snap = members[0].snapshot
    assert snap == {
        "full_name": "Nguyễn Thị Vân 00",
        "sex": "female",
        "birth_date": "1985-03-14",
        "birth_precision": "day",
        "id_number": "001190000000",
        "status": "verified",
        "outcome": None,
    }
    [event] = [e for e in events(worklist.id) if e.action == "worklist.create"]
    assert event.changes["members"] == [None, 7]
    # The matched persons are still waiting; the listed ones are not.
    page = client.get("/worklists/handover/new").get_data(as_text=True)
    assert "5 người" in page and all(p.full_name not in page for p in verified)
    assert matched[0].full_name in page


def test_a_page_link_not_made_by_the_portal_gives_the_first_page(client, login_as, people):
    """Issue 16: the handover list pages with the one paging helper: a page link it did
    not make is refused (400) with the first page and a message, not a bare error."""
    login_as("police", OWN)
    worklist_id = created_id(create(client, [people["verified"].id]))
    response = client.get("/worklists/handover?after=x")
    body = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Liên kết trang không hợp lệ" in body and f'data-worklist="{worklist_id}"' in body


def test_the_documents_words_are_the_owning_domains_labels_in_vietnamese(app):
    """Issue 16: the handover list's PDF (and signing's documents, which read the same
    table) wrote its sex and result words itself; they are the records', the review's and
    the register's labels, in Vietnamese whatever the reader's language: the document is
    a Vietnamese paper."""
    from flask_babel import force_locale

    from portal.worklists import pdf

    with app.test_request_context("/"), force_locale("en"):
        assert (pdf.SEX.get("male"), pdf.SEX.get("female"), pdf.SEX.get("")) == ("Nam", "Nữ", None)
        assert pdf.result_text({"status": "verified"}) == "Đã xác minh trực tiếp"
        assert pdf.result_text({"status": "matched"}) == "Khớp CSDL dân cư"
        assert pdf.result_text({"status": "confirmed", "outcome": "matched"}) == "Khớp CSDL dân cư"
        # The register's word for an outcome, not its code.
        assert pdf.result_text({"outcome": "not_found"}) == "Không có trong CSDL dân cư"
