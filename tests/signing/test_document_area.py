"""Issue 14, item 2: no user sees a person outside their area through a signed document.

A province-level site stands in commune A (Ba Đình) and signs a daily list of residents of
A, B (Ngọc Hà) and C (Giảng Võ). The document is stored under A. Before, the police and the
committee of A read all three residents on its page and in its PDF, while the health
stations of B and C got 404. Now a document is shown whole only to users whose area holds
every person on it (the province's authority and administrator, the site itself); anyone
else whose area holds some of its persons sees it reduced to those, is told how many are
left out, and is refused the signed PDF, which names everyone.
"""

from __future__ import annotations

import re
from datetime import date

import pytest
import sqlalchemy as sa

from portal.areas.models import SiteLevel
from portal.auth.models import Role
from portal.extensions import db
from portal.records import services as record_services
from portal.signing import permissions, services
from portal.signing.models import SignedDocument
from tests.conftest import NEIGHBOUR, OTHER_PROVINCE, OWN, csrf_token
from tests.signing.conftest import PIN

GIANG_VO = "00025"  # a third ward of Hà Nội
DAY = date(2021, 10, 4)
RESIDENTS = {  # commune -> (name, ID number)
    OWN: ("Lê Văn Ấn", "001090000101"),
    NEIGHBOUR: ("Trần Thị Bích", "001190000102"),
    GIANG_VO: ("Phạm Văn Cường", "001090000103"),
}


@pytest.fixture
def daily_list(make_site, make_user, make_person, give_certificate):
    """The province-level site's signed daily list: (document, {commune: person}, head)."""
    site = make_site(OWN, SiteLevel.PROVINCE, name="Trung tâm Kiểm soát bệnh tật Hà Nội")
    head = make_user(Role.VACCINATION_SITE, OWN, site=site, display_name="Đỗ Thị Hạnh")
    give_certificate(head, title="Thủ trưởng", unit=site.name)
    persons = {}
    for commune, (name, id_number) in RESIDENTS.items():
        person = make_person(
            full_name=name, status="matched", id_number=id_number, commune_code=commune
        )
        record_services.add_dose(
            person,
            {
                "dose_number": 1,
                "vaccine": "Pfizer",
                "lot": "FB2",
                "vaccinated_on": DAY,
                "site_id": site.id,
            },
        )
        persons[commune] = person
    db.session.commit()
    document = services.sign_site_daily(head, PIN, DAY)
    db.session.commit()
    assert document.area_id == persons[OWN].commune_id and document.member_count == 3
    return document, persons, head


def _names_on(page: str) -> set[str]:
    return {name for name, _id in RESIDENTS.values() if name in page} | {
        id_number for _name, id_number in RESIDENTS.values() if id_number in page
    }


def _shown(commune: str) -> set[str]:
    return set(RESIDENTS[commune])


@pytest.mark.parametrize("role", [Role.POLICE, Role.COMMITTEE])
def test_the_sites_commune_sees_its_own_residents_only(client, login_as, daily_list, role):
    """The police and the committee of A: the page lists A's resident and says two persons
    outside their area are not shown; the signed PDF is refused (it names everyone), the
    verification link (which names persons whose confirmation lapsed) is not given."""
    document, persons, _head = daily_list
    login_as(role, OWN)
    response = client.get(f"/signing/documents/{document.id}")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert _names_on(page) == _shown(OWN)
    assert 'data-testid="document-reduced" data-hidden="2"' in page
    assert "2 người ngoài địa bàn của bạn không được hiển thị" in page
    assert f"/signing/documents/{document.id}/file" not in page
    assert f"/verify/{document.code}" not in page
    assert "Thu hồi văn bản này" not in page

    refused = client.get(f"/signing/documents/{document.id}/file")
    assert refused.status_code == 403 and not refused.data.startswith(b"%PDF")
    assert "người ngoài địa bàn của bạn" in refused.get_data(as_text=True)

    # The resident's record lists the document and its history leads to the reduced page,
    # not to the public verification of the whole list.
    record = client.get(f"/records/{persons[OWN].id}").get_data(as_text=True)
    assert f'href="/signing/documents/{document.id}"' in record
    assert f"/verify/{document.code}" not in record
    if role == Role.COMMITTEE:  # a signer: the signing page lists the document, reduced
        listed = client.get("/signing").get_data(as_text=True).split('data-testid="documents"')[1]
        assert f'href="/signing/documents/{document.id}"' in listed
        assert 'data-testid="document-reduced"' in listed
        assert _names_on(listed) == set()


@pytest.mark.parametrize("commune", [NEIGHBOUR, GIANG_VO])
def test_the_residents_own_health_station_sees_the_document_reduced(
    client, login_as, daily_list, commune
):
    """Before: 404 for the health stations of B and C, whose residents are on the list."""
    document, persons, _head = daily_list
    login_as(Role.HEALTH_STATION, commune)
    page = client.get(f"/signing/documents/{document.id}").get_data(as_text=True)
    assert _names_on(page) == _shown(commune)
    assert f'data-person="{persons[commune].id}"' in page
    assert 'data-hidden="2"' in page
    assert client.get(f"/signing/documents/{document.id}/file").status_code == 403
    record = client.get(f"/records/{persons[commune].id}").get_data(as_text=True)
    assert 'data-testid="person-documents"' in record
    assert f'href="/signing/documents/{document.id}"' in record
    assert f"/verify/{document.code}" not in record


@pytest.mark.parametrize(
    ("role", "area_code"),
    [
        (Role.HEALTH_AUTHORITY, "01"),
        (Role.ADMIN, "01"),
        (Role.VACCINATION_SITE, OWN),
    ],
)
def test_a_user_whose_area_holds_everyone_sees_it_whole(
    client, login_as, daily_list, role, area_code
):
    """The province's authority and administrator, and the site (its reach is the
    province): every person, the signed PDF and the verification link."""
    document, _persons, head = daily_list
    login_as(role, area_code, **({"site": head.site} if role == Role.VACCINATION_SITE else {}))
    page = client.get(f"/signing/documents/{document.id}").get_data(as_text=True)
    assert _names_on(page) == set().union(*(_shown(c) for c in RESIDENTS))
    assert 'data-testid="document-reduced"' not in page
    assert f"/verify/{document.code}" in page
    pdf = client.get(f"/signing/documents/{document.id}/file")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF-")


@pytest.mark.parametrize(
    ("role", "area_code"),
    [
        (Role.HEALTH_STATION, OTHER_PROVINCE),
        (Role.HEALTH_AUTHORITY, "04"),
        (Role.POLICE, "00070"),  # Hoàn Kiếm: a ward of Hà Nội with nobody on the list
    ],
)
def test_nobody_on_it_from_the_users_area_is_404(client, login_as, daily_list, role, area_code):
    document, _persons, _head = daily_list
    login_as(role, area_code)
    assert client.get(f"/signing/documents/{document.id}").status_code == 404
    assert client.get(f"/signing/documents/{document.id}/file").status_code == 404


def test_a_person_moved_away_reduces_it_for_everyone_else(client, login_as, make_user, daily_list):
    """B's resident moves to Cao Bằng after the signature: Hà Nội's authority, and the site
    that signed, now see the list reduced and may neither download nor revoke it (revoking
    reopens every person on it); Cao Bằng's authority sees its new resident only."""
    document, persons, head = daily_list
    record_services.update_person(
        persons[NEIGHBOUR], {"commune_id": _commune_id(OTHER_PROVINCE)}, "moved"
    )
    db.session.commit()
    login_as(Role.HEALTH_AUTHORITY, "01")
    page = client.get(f"/signing/documents/{document.id}").get_data(as_text=True)
    assert _names_on(page) == _shown(OWN) | _shown(GIANG_VO) and 'data-hidden="1"' in page
    assert "Thu hồi văn bản này" not in page
    revoke = client.post(
        f"/signing/documents/{document.id}/revoke",
        data={"csrf_token": csrf_token(client, "/verify"), "reason": "thử"},
    )
    assert revoke.status_code == 403
    assert db.session.get(SignedDocument, document.id).state.value == "valid"
    for user in (make_user(Role.HEALTH_AUTHORITY, "04"), head):
        client.post("/logout", data={"csrf_token": csrf_token(client, "/verify")})
        _login(client, user)
        page = client.get(f"/signing/documents/{document.id}").get_data(as_text=True)
        expected = _shown(NEIGHBOUR) if user is not head else _shown(OWN) | _shown(GIANG_VO)
        assert _names_on(page) == expected
        assert client.get(f"/signing/documents/{document.id}/file").status_code == 403


def test_persons_left_out_of_the_signature_are_shown_by_the_same_rule(
    client, login_as, make_site, make_user, make_person, give_certificate
):
    """The document's page also lists who the signature left out (and why): B's resident,
    changed between the dialog and the PIN, is named to B's and the province's users only,
    never to A's police, who see the document (A's resident is on it)."""
    site = make_site(OWN, SiteLevel.PROVINCE)
    head = make_user(Role.VACCINATION_SITE, OWN, site=site)
    give_certificate(head, title="Thủ trưởng", unit=site.name)
    persons = {}
    for commune, (name, id_number) in RESIDENTS.items():
        persons[commune] = make_person(
            full_name=name, status="matched", id_number=id_number, commune_code=commune
        )
        record_services.add_dose(
            persons[commune],
            {
                "dose_number": 1,
                "vaccine": "Pfizer",
                "lot": "FB2",
                "vaccinated_on": DAY,
                "site_id": site.id,
            },
        )
    db.session.commit()
    batch = services.prepare_site_daily(head, DAY)
    record_services.update_person(persons[NEIGHBOUR], {"full_name": "Trần Thị Bích Ngọc"}, "typo")
    document, checks = services.sign_batch(batch, head, PIN)
    db.session.commit()
    assert [c.member.person_id for c in checks if c.reason] == [persons[NEIGHBOUR].id]
    skipped = f'data-person="{persons[NEIGHBOUR].id}" data-reason="changed"'

    login_as(Role.POLICE, OWN)
    page = client.get(f"/signing/documents/{document.id}").get_data(as_text=True)
    assert _names_on(page) == _shown(OWN) and skipped not in page
    client.post("/logout", data={"csrf_token": csrf_token(client, "/verify")})
    login_as(Role.HEALTH_AUTHORITY, "01")
    page = client.get(f"/signing/documents/{document.id}").get_data(as_text=True)
    assert skipped in page and 'data-testid="document-reduced"' not in page


def test_the_signing_page_lists_its_units_documents(client, login_as, daily_list):
    """The committee's signing page lists the documents of its unit (stored under its
    commune), each as the rule shows it; B's committee reaches the list stored under A
    through its resident's record, reduced."""
    document, persons, _head = daily_list
    login_as(Role.COMMITTEE, NEIGHBOUR)
    listed = client.get("/signing").get_data(as_text=True).split('data-testid="documents"')[1]
    assert f'href="/signing/documents/{document.id}"' not in listed
    record = client.get(f"/records/{persons[NEIGHBOUR].id}").get_data(as_text=True)
    assert f'href="/signing/documents/{document.id}"' in record
    page = client.get(f"/signing/documents/{document.id}").get_data(as_text=True)
    assert _names_on(page) == _shown(NEIGHBOUR)


def test_the_rule_is_one_statement_per_user(app, daily_list, make_user):
    """Set-based: which documents a user sees, and whether whole, is one statement with
    EXISTS / NOT EXISTS on the members (no member is loaded to decide)."""
    document, _persons, _head = daily_list
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    users = {
        who: make_user(role, area)
        for who, role, area in (
            ("police_a", Role.POLICE, OWN),
            ("station_b", Role.HEALTH_STATION, NEIGHBOUR),
            ("authority", Role.HEALTH_AUTHORITY, "01"),
            ("elsewhere", Role.HEALTH_STATION, OTHER_PROVINCE),
        )
    }
    for user in users.values():  # the users' areas and sites loaded beforehand
        assert user.area is not None and user.site is None
    sa.event.listen(db.engine, "before_cursor_execute", count)
    try:
        seen = {
            who: db.session.execute(
                sa.select(SignedDocument.id, permissions.whole_document(user)).where(
                    permissions.document_scope(user)
                )
            ).all()
            for who, user in users.items()
        }
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", count)
    assert seen == {
        "police_a": [(document.id, False)],
        "station_b": [(document.id, False)],
        "authority": [(document.id, True)],
        "elsewhere": [],
    }
    assert len(statements) == len(users)
    assert all(re.search(r"NOT \(EXISTS", s) and "signed_document_member" in s for s in statements)


def _commune_id(code: str) -> int:
    from portal.areas.models import Area

    return db.session.scalar(sa.select(Area.id).where(Area.code == code))


def _login(client, user) -> None:
    from tests.conftest import login

    assert login(client, user.username).status_code == 303
