"""The police review list: side by side, filters, decisions audited, scope."""

from __future__ import annotations

import re
from datetime import date

import pytest
import sqlalchemy as sa

from portal.audit.models import AuditEvent
from portal.extensions import db
from portal.records.models import Person, PersonStatus
from portal.registry.matching import match_commune
from portal.worklists.models import Worklist, WorklistKind, WorklistMember
from tests.conftest import NEIGHBOUR, OWN, csrf_token

BORN = date(1990, 5, 17)


def cccd(n: int) -> str:
    return f"001090{n:06d}"


@pytest.fixture
def mismatches(area, make_person, make_register):
    """In OWN: a diacritics difference, a swapped date, a sex difference, one not found and
    one match; in NEIGHBOUR: one mismatch the OWN police must never see."""
    people = {
        "diacritics": make_person(full_name="Nguyen Van Binh", id_number=cccd(1), birth_date=BORN),
        "swapped": make_person(
            full_name="Trần Văn Cường", id_number=cccd(2), birth_date=date(1990, 6, 3)
        ),
        "sex": make_person(
            full_name="Lê Văn Dũng", id_number=cccd(3), birth_date=BORN, sex="female"
        ),
        "absent": make_person(full_name="Phạm Văn Em", id_number=cccd(4), birth_date=BORN),
        "same": make_person(full_name="Hoàng Văn Giang", id_number=cccd(5), birth_date=BORN),
        "neighbour": make_person(
            full_name="Vũ Văn Hải", id_number=cccd(6), birth_date=BORN, commune_code=NEIGHBOUR
        ),
    }
    truth = [
        (1, "Nguyễn Văn Bình", BORN),
        (2, "Trần Văn Cường", date(1990, 3, 6)),
        (3, "Lê Văn Dũng", BORN),
        (5, "Hoàng Văn Giang", BORN),
        (6, "Vũ Văn Hai", BORN),
    ]
    make_register(
        *({"id_number": cccd(n), "full_name": name, "birth_date": born} for n, name, born in truth)
    )
    match_commune(area(OWN))
    match_commune(area(NEIGHBOUR))
    db.session.commit()
    return people


def names_on(page: str) -> set[str]:
    return set(re.findall(r'<a href="/records/\d+">(.*?)</a>', page))


def plain(html: str) -> str:
    return re.sub(r"<[^>]+>", "", html)


def test_police_see_their_communes_differences_side_by_side(client, login_as, mismatches):
    login_as("police", OWN)
    response = client.get("/worklists/review")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    shown = {plain(name) for name in names_on(page)}
    assert shown == {"Nguyen Van Binh", "Trần Văn Cường", "Lê Văn Dũng", "Phạm Văn Em"}
    assert "Vũ Văn Hải" not in page, "another commune's person"
    # The register side is shown with the differing characters marked.
    assert "Nguy<mark>ễ</mark>n V<mark>ă</mark>n B<mark>ì</mark>nh" in page
    assert "<mark>Nam</mark>" in page and "<mark>Nữ</mark>" in page


@pytest.mark.parametrize(
    ("difference", "expected"),
    [
        ("name_diacritics", {"Nguyen Van Binh"}),
        ("birth_swapped", {"Trần Văn Cường"}),
        ("sex", {"Lê Văn Dũng"}),
        ("not_found", {"Phạm Văn Em"}),
        ("birth", {"Trần Văn Cường"}),
    ],
)
def test_filter_by_kind_of_difference(client, login_as, mismatches, difference, expected):
    login_as("police", OWN)
    page = client.get(f"/worklists/review?difference={difference}").get_data(as_text=True)
    assert {plain(n) for n in names_on(page)} == expected


def test_the_list_is_a_fragment_for_htmx(client, login_as, mismatches):
    login_as("police", OWN)
    response = client.get(
        "/worklists/review?difference=sex",
        headers={"HX-Request": "true", "HX-Target": "review-results"},
    )
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in body and "Lê Văn Dũng" in body


@pytest.mark.parametrize(
    "role", ["health_station", "committee", "vaccination_site", "health_authority", "admin"]
)
def test_only_police_review_identities(client, login_as, mismatches, role):
    login_as(role, OWN if role not in ("health_authority", "admin") else "01")
    assert client.get("/worklists/review").status_code == 403
    assert (
        client.post(
            "/worklists/review",
            data={
                "csrf_token": csrf_token(client, "/records"),
                "person_ids": [1],
                "action": "x",
                "note": "n",
            },
        ).status_code
        == 403
    )


def decide(client, person_ids, action, note="Đã xem CCCD bản gốc", **headers):
    token = csrf_token(client, "/records")
    return client.post(
        "/worklists/review",
        data={"csrf_token": token, "person_ids": person_ids, "action": action, "note": note},
        headers=headers,
    )


def events(action: str, person: Person) -> list[AuditEvent]:
    return list(
        db.session.scalars(
            sa.select(AuditEvent).where(
                AuditEvent.action == action, AuditEvent.entity_id == str(person.id)
            )
        )
    )


def test_verified_in_person_is_audited_with_its_note_and_leaves_the_list(
    client, login_as, mismatches
):
    police = login_as("police", OWN)
    person = mismatches["diacritics"]
    response = decide(client, [person.id], "verified_in_person")
    assert response.status_code == 303
    db.session.expire_all()
    assert db.session.get(Person, person.id).status == PersonStatus.VERIFIED
    [event] = events("review.verified_in_person", person)
    assert event.reason == "Đã xem CCCD bản gốc"
    assert event.actor_id == police.id and event.actor_role == "police"
    assert event.changes["status"] == ["mismatch", "verified"]
    page = client.get("/worklists/review").get_data(as_text=True)
    assert "Nguyen Van Binh" not in page


@pytest.mark.parametrize(
    ("action", "kind"),
    [
        ("register_is_right", WorklistKind.CORRECTION),
        ("record_is_right", WorklistKind.REGISTER_UPDATE),
    ],
)
def test_decisions_feed_the_lists(client, login_as, mismatches, action, kind):
    login_as("police", OWN)
    chosen = [mismatches["swapped"], mismatches["sex"]]
    assert decide(client, [p.id for p in chosen], action).status_code == 303
    worklist = db.session.scalar(sa.select(Worklist).where(Worklist.kind == kind))
    assert worklist is not None and worklist.area.code == OWN
    members = db.session.scalars(
        sa.select(WorklistMember).where(WorklistMember.worklist_id == worklist.id)
    ).all()
    assert {m.person_id for m in members} == {p.id for p in chosen}
    assert all(m.note == "Đã xem CCCD bản gốc" for m in members)
    assert members[0].snapshot["id_number"] in {p.id_number for p in chosen}
    for person in chosen:
        assert len(events(f"worklist.add_{kind.value}", person)) == 1
    # Deciding again does not list anyone twice.
    decide(client, [p.id for p in chosen], action)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(WorklistMember)) == 2


def test_a_person_outside_the_commune_is_never_touched(client, login_as, mismatches):
    login_as("police", OWN)
    outsider = mismatches["neighbour"]
    decide(client, [outsider.id], "verified_in_person")
    db.session.expire_all()
    assert db.session.get(Person, outsider.id).status == PersonStatus.MISMATCH
    assert events("review.verified_in_person", outsider) == []


def test_a_decision_needs_a_note_and_keeps_the_selection(client, login_as, mismatches):
    login_as("police", OWN)
    person = mismatches["sex"]
    response = decide(
        client,
        [person.id],
        "verified_in_person",
        note="  ",
        **{"HX-Request": "true", "HX-Target": "review-results"},
    )
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert "<html" not in body
    assert f'name="person_ids" value="{person.id}"\n               checked' in body or re.search(
        rf'value="{person.id}"\s+checked', body
    )
    db.session.expire_all()
    assert db.session.get(Person, person.id).status == PersonStatus.MISMATCH


def test_htmx_decision_returns_the_refreshed_list(client, login_as, mismatches):
    login_as("police", OWN)
    person = mismatches["absent"]
    response = decide(
        client,
        [person.id],
        "verified_in_person",
        **{"HX-Request": "true", "HX-Target": "review-results"},
    )
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in body
    assert "alert-success" in body and "Phạm Văn Em" not in body


def test_a_decision_without_a_chosen_decision_is_refused_and_nothing_is_lost(
    client, login_as, mismatches
):
    """Issue 13, item 2: no default decision. A missing decision is refused with a message
    in Vietnamese; the ticked rows and the note stay, nothing is written."""
    login_as("police", OWN)
    person = mismatches["sex"]
    response = decide(
        client,
        [person.id],
        "",
        note="Hồ sơ đúng, CSDL sai",
        **{"HX-Request": "true", "HX-Target": "review-results"},
    )
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert "Chọn kết luận cho những người đã chọn." in body
    assert re.search(rf'value="{person.id}"\s+checked', body)
    assert "Hồ sơ đúng, CSDL sai" in body
    # The drop-down offers no decision as chosen.
    assert re.search(r'<option selected value="">', body)
    db.session.expire_all()
    assert db.session.get(Person, person.id).status == PersonStatus.MISMATCH
    assert db.session.scalar(sa.select(sa.func.count()).select_from(WorklistMember)) == 0


def test_the_decision_drop_down_is_not_a_filter(client, login_as, mismatches):
    """Issue 13, item 2: the filter form re-searches on a change of its own drop-downs only,
    not on the decision's (which sits in the results and is swapped with them)."""
    login_as("police", OWN)
    page = client.get("/worklists/review").get_data(as_text=True)
    trigger = re.search(r'<form id="review-filters"[^>]*hx-trigger="([^"]+)"', page, re.S)
    assert trigger and "change from:select" not in trigger.group(1)
    assert "change from:(#review-filters select)" in trigger.group(1)
    assert 'name="action"' not in page.split('id="review-results"')[0]


def test_a_decided_row_leaves_the_list_and_shows_its_decision(client, login_as, mismatches):
    """Issue 13, item 2: once decided, a person leaves "to decide", is listed under
    "decided" with the decision, and cannot be decided a second time."""
    login_as("police", OWN)
    person = mismatches["swapped"]
    assert (
        decide(client, [person.id], "record_is_right", note="Giấy khai sinh đúng").status_code
        == 303
    )
    to_decide = client.get("/worklists/review").get_data(as_text=True)
    assert "Trần Văn Cường" not in to_decide
    decided = client.get("/worklists/review?decided=decided").get_data(as_text=True)
    assert {plain(n) for n in names_on(decided)} == {"Trần Văn Cường"}
    row = decided.split(f'data-person="{person.id}"')[1].split("</tr>")[0]
    assert 'data-decided="register_update"' in decided
    assert "Bản ghi tiêm chủng đúng: cần cập nhật CSDL dân cư" in plain(row)
    assert "Giấy khai sinh đúng" in row
    assert 'name="person_ids"' not in row
    # A second decision on the same record is ignored.
    decide(client, [person.id], "register_is_right")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(WorklistMember)) == 1
    assert {m.person_id for m in db.session.scalars(sa.select(WorklistMember))} == {person.id}
    everyone = client.get("/worklists/review?decided=all").get_data(as_text=True)
    assert "Trần Văn Cường" in everyone and "Lê Văn Dũng" in everyone


def test_a_changed_record_is_to_decide_again(client, login_as, mismatches):
    """Issue 13, item 2: a decision holds for the record as it was; once the record is
    corrected and still differs, the police decide again (the entry is renewed)."""
    from portal.records.services import update_person

    login_as("police", OWN)
    person = mismatches["sex"]
    decide(client, [person.id], "register_is_right")
    db.session.expire_all()
    update_person(db.session.get(Person, person.id), {"phone": "0912345678"}, "test")
    db.session.commit()
    assert "Lê Văn Dũng" in client.get("/worklists/review").get_data(as_text=True)
    assert decide(client, [person.id], "register_is_right", note="Lần hai").status_code == 303
    [member] = db.session.scalars(sa.select(WorklistMember)).all()
    db.session.expire_all()
    assert member.note == "Lần hai"
    assert member.person_version == db.session.get(Person, person.id).version
