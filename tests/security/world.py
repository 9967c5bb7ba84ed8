"""The world the security tests attack: one user of every role at home (commune OWN of Hà Nội,
its site, the province), and every kind of object a route takes by id, at home and in three
places that are not the user's: a neighbouring commune of the same province, a commune of
another province, and another vaccination site of the home commune.

Every object outside home carries its place's marker (``MARKERS``) in a name, a title or a
note, so that a page, an export or a PDF that shows it to a user of another place is found
by reading the response for the marker.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import sqlalchemy as sa

from portal.areas import services as area_services
from portal.areas.models import Area, Site, SiteLevel
from portal.auth.models import Passkey, Role, User
from portal.auth.services import create_user
from portal.extensions import db
from tests.imports.helpers import HEADER, PFIZER, row, xlsx

PASSWORD = "mat-khau-thu-nghiem"
PIN = "246810"
HANOI, CAO_BANG = "01", "04"
OWN, NEIGHBOUR, OTHER_PROVINCE = "00004", "00008", "01273"
DAY = date(2021, 9, 15)  # the day every site vaccinated and signs

# The places; "home" is the users'. A marker is plain ASCII, so that it survives HTML
# escaping, JSON's \u escapes, CSV and spreadsheets unchanged.
HOME, NEIGHBOUR_SCOPE, FAR, OTHER_SITE = "home", "neighbour", "far", "other_site"
SCOPES = (HOME, NEIGHBOUR_SCOPE, FAR, OTHER_SITE)
# The API's clients are no place: a client reaches the complaints it filed, not another's.
OTHER_CLIENT = "other_client"
MARKERS = {HOME: "Qxhome", NEIGHBOUR_SCOPE: "Qxneigh", FAR: "Qxfar", OTHER_SITE: "Qxsite"}
COMMUNE_OF = {HOME: OWN, NEIGHBOUR_SCOPE: NEIGHBOUR, FAR: OTHER_PROVINCE}
PROVINCE_OF = {HOME: HANOI, NEIGHBOUR_SCOPE: HANOI, FAR: CAO_BANG}

# Where the world holds objects of each kind (``test_the_world…`` checks it): the sweep asks
# for a kind only where it exists.
_COMMUNES = (HOME, NEIGHBOUR_SCOPE, FAR)
KIND_SCOPES = {
    "person": _COMMUNES,
    "worklist": _COMMUNES,
    "minutes": _COMMUNES,
    "import_batch": _COMMUNES,
    "job": _COMMUNES,
    "target": _COMMUNES,
    "document": SCOPES,
    "signing_batch": SCOPES,
    "feedback": SCOPES,
    "attachment": SCOPES,
    "account": SCOPES,
    "passkey": SCOPES,
    "api_feedback": (HOME, OTHER_CLIENT),
}

# The roles of portal.auth, each as the home user holds it: commune roles in OWN (site staff
# at the home site), the province roles in Hà Nội.
COMMUNE_ROLES = (Role.POLICE, Role.HEALTH_STATION, Role.COMMITTEE, Role.VACCINATION_SITE)
PROVINCE_ROLES = (Role.HEALTH_AUTHORITY, Role.ADMIN, Role.NATIONAL_ADMIN, Role.ISSUER)


def foreign_scopes(role: Role | str) -> tuple[str, ...]:
    """The places whose objects the home user of ``role`` must not reach: another province
    for everyone; a neighbouring commune for commune roles; another site of the same commune
    for site staff (a province role oversees its whole province, neighbour included)."""
    role = Role(role)
    if role in PROVINCE_ROLES:
        return (FAR,)
    if role == Role.VACCINATION_SITE:
        return (NEIGHBOUR_SCOPE, FAR, OTHER_SITE)
    return (NEIGHBOUR_SCOPE, FAR)


@dataclass
class World:
    users: dict[str, str] = field(default_factory=dict)  # role value -> home user's username
    # kind -> scope -> ids of objects of that kind there
    ids: dict[str, dict[str, list[Any]]] = field(default_factory=dict)
    # scope -> the audit entities (type, id) that belong there
    entities: dict[str, set[tuple[str, str]]] = field(default_factory=dict)
    area_ids: dict[str, set[int]] = field(default_factory=dict)  # scope -> area ids
    codes: dict[str, dict[str, str]] = field(default_factory=dict)  # scope -> name -> code
    api_token: str = ""
    id_numbers: dict[str, set[str]] = field(default_factory=dict)  # scope -> persons' IDs
    site_ids: dict[str, int] = field(default_factory=dict)  # code -> id

    def add(self, kind: str, scope: str, value: Any, entity: str | None = None) -> None:
        self.ids.setdefault(kind, {}).setdefault(scope, []).append(value)
        if entity is not None:
            self.entities.setdefault(scope, set()).add((entity, str(value)))


def _area(code: str) -> Area:
    found = area_services.area_by_code(code)
    assert found is not None, code
    return found


def _png() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("L", (40, 40), 255).save(buffer, format="PNG")
    return buffer.getvalue()


def upload_rows(persons: dict[str, dict[str, Any]], scopes) -> list[list[Any]]:
    """Rows of the import file for other places' residents, each with a dose."""
    return [_resident_row(p.id_number) for scope in scopes for p in persons[scope].values()]


def _resident_row(id_number: str) -> list[Any]:
    return row(
        "Tên Giả Mạo",
        "Nam",
        "14/03/1985",
        id_number,
        dose=1,
        vaccine=PFIZER,
        on="15/09/2021",
        extra={HEADER.index("Số lô"): "LOT9"},
    )


def upload_file(world: World, endpoint: str, scopes) -> tuple[bytes, str]:
    """What the sweep uploads to a file field: for the register extract, entries for other
    places' residents with another name; for the records import, their rows with a dose;
    elsewhere a small image."""
    numbers = sorted(n for s in scopes for n in world.id_numbers.get(s, ()))
    if endpoint == "registry.post_extract":
        lines = ["id_number,full_name,sex,birth_date"]
        lines += [f"{n},Tên Giả Mạo,male,14/03/1985" for n in numbers] or [
            "001085099999,Tên Giả Mạo,male,14/03/1985"
        ]
        return "\n".join(lines).encode(), "trich-xuat.csv"
    if endpoint == "imports.post_import":
        rows = [_resident_row(n) for n in numbers]
        return xlsx(rows or [row("Tên Giả Mạo", "Nam", "14/03/1985", "001085099999")]), "ds.xlsx"
    return _png(), "anh.png"


class _Pki:
    """An offline CA and a TSA laid out as the demo's instance/demo-pki."""

    def __init__(self, folder) -> None:
        from portal.signing import pki

        self.ca = pki.make_ca("Sweep CA – Cổng đối soát")
        tsa = pki.issue(self.ca, "Sweep TSA", tsa=True)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "ca.pem").write_bytes(self.ca.cert_pem())
        (folder / "tsa.pem").write_bytes(tsa.cert_pem())
        (folder / "tsa-key.pem").write_bytes(tsa.key_pem())

    def give(self, user: User, title: str = "Chủ tịch") -> None:
        from portal.signing import pki, services

        issued = pki.issue(self.ca, user.display_name, title=title, unit=user.area.name)
        services.add_pkcs12_credential(
            user, pki.to_pkcs12(issued, self.ca, PIN), PIN, title, user.area.name
        )


def build(app, folder) -> World:
    """Build the world (the caller commits). ``folder``: where the PKI goes."""
    from portal.api import services as api_services
    from portal.dashboard import services as dashboard_services
    from portal.dashboard.models import TargetMetric
    from portal.feedback import routing
    from portal.feedback import services as feedback_services
    from portal.feedback.models import Attachment, FeedbackKind, UnitKind
    from portal.imports import services as import_services
    from portal.jobs.models import Job, JobState
    from portal.records import services as record_services
    from portal.records.models import BirthPrecision, Sex
    from portal.registry.models import RegisterExtract
    from portal.signing import services as signing_services
    from portal.worklists import handover

    world = World()
    pki = _Pki(folder / "pki")
    app.config.update(
        DOCUMENTS_DIR=str(folder / "documents"),
        UPLOADS_DIR=str(folder / "up"),
        SIGNING_DEMO_PKI_DIR=str(folder / "pki"),
        SIGNING_TSA_URL=None,
        SIGNING_LEVEL="B-T",
    )
    signing_services.VERDICTS.clear()

    for scope in SCOPES:
        world.area_ids[scope] = set()
        world.codes[scope] = {}
    for scope, code in COMMUNE_OF.items():
        commune = _area(code)
        world.codes[scope]["commune"] = code
        world.codes[scope]["commune_id"] = str(commune.id)
        world.area_ids[scope].add(commune.id)
    world.codes[FAR]["province"] = CAO_BANG
    world.area_ids[FAR].add(_area(CAO_BANG).id)

    # Sites: the home site and another one in the home commune, one in each foreign commune,
    # and a province-level site in the home commune (it vaccinates the whole province).
    def site(code: str, scope: str, commune: str, level=SiteLevel.COMMUNE) -> Site:
        made = area_services.add_site(code, f"Điểm tiêm {code}", _area(commune), level)
        world.site_ids[code] = made.id
        world.codes[scope].setdefault("site", made.code)
        return made

    site_home = site("SWHOME", HOME, OWN)
    site_other = site("SWOTHER", OTHER_SITE, OWN)
    site_neighbour = site("SWNEIGH", NEIGHBOUR_SCOPE, NEIGHBOUR)
    site_far = site("SWFAR", FAR, OTHER_PROVINCE)
    site_province = site("SWPROV", HOME, OWN, SiteLevel.PROVINCE)
    world.codes[OTHER_SITE]["site"] = site_other.code
    world.codes[FAR]["site"] = site_far.code
    for scope in SCOPES:
        if "site" in world.codes[scope]:
            world.codes[scope]["site_id"] = str(world.site_ids[world.codes[scope]["site"]])

    def user(
        role: Role, area_code: str, scope: str, tag: str, site=None, certificate=False, home=False
    ) -> User:
        # The other site's staff act on the home commune's persons, whose history names
        # them: their names carry no marker (their site's complaint and documents do).
        marker = MARKERS[scope] if scope != OTHER_SITE else "Khac"
        made = create_user(
            f"{role.value}.{marker.lower()}.{tag}",
            PASSWORD,
            role,
            _area(area_code),
            f"Cán bộ {marker} {role.value} {tag}",
            site=site,
        )
        db.session.flush()
        if certificate:
            pki.give(made)
        if home:
            world.users[role.value] = made.username
            home_users[role.value] = made
            world.add("account", HOME, made.id)
        else:
            world.add("account", scope, made.id, "user")
            world.entities[scope].add(("user", made.username))
        return made

    # The home users, one per role; signers hold a certificate.
    home_users: dict[str, User] = {}
    user(Role.POLICE, OWN, HOME, "a", certificate=True, home=True)
    user(Role.HEALTH_STATION, OWN, HOME, "a", home=True)
    user(Role.COMMITTEE, OWN, HOME, "a", certificate=True, home=True)
    user(Role.VACCINATION_SITE, OWN, HOME, "a", site=site_home, certificate=True, home=True)
    user(Role.HEALTH_AUTHORITY, HANOI, HOME, "a", home=True)
    user(Role.ADMIN, HANOI, HOME, "a", home=True)
    user(Role.NATIONAL_ADMIN, HANOI, HOME, "a", home=True)
    user(Role.ISSUER, HANOI, HOME, "a", home=True)
    # The others' users: a commune's police, health station, committee and site staff; the
    # far province's authority and administrator; the other site's staff; the province-level
    # site's staff.
    staff: dict[str, dict[str, User]] = {HOME: {r: u for r, u in home_users.items()}}
    for scope, site_of in ((NEIGHBOUR_SCOPE, site_neighbour), (FAR, site_far)):
        commune = COMMUNE_OF[scope]
        staff[scope] = {
            "police": user(Role.POLICE, commune, scope, "b", certificate=True),
            "health_station": user(Role.HEALTH_STATION, commune, scope, "b"),
            "committee": user(Role.COMMITTEE, commune, scope, "b", certificate=True),
            "vaccination_site": user(
                Role.VACCINATION_SITE, commune, scope, "b", site=site_of, certificate=True
            ),
        }
    staff[FAR]["health_authority"] = user(Role.HEALTH_AUTHORITY, CAO_BANG, FAR, "b")
    staff[FAR]["admin"] = user(Role.ADMIN, CAO_BANG, FAR, "b")
    staff[OTHER_SITE] = {
        "vaccination_site": user(
            Role.VACCINATION_SITE, OWN, OTHER_SITE, "b", site=site_other, certificate=True
        )
    }
    province_site_staff = create_user(
        "vaccination_site.swprov",
        PASSWORD,
        Role.VACCINATION_SITE,
        _area(OWN),
        "Cán bộ điểm tiêm tỉnh",
        site=site_province,
    )
    db.session.flush()
    pki.give(province_site_staff)

    # A passkey of every user (issue 14, item 13): one's own may be removed, nobody else's.
    for scope, by_role in staff.items():
        for made in by_role.values():
            key = Passkey(
                user_id=made.id,
                credential_id=f"sweep-{made.id}".encode(),
                public_key=b"sweep",
                name=f"khoa {made.username}",
            )
            db.session.add(key)
            db.session.flush()
            world.add("passkey", scope, key.id)

    # Persons: in each commune one verified (for the handover list), two matched (the
    # committee's list, the site's day), one to be corrected; each named with its marker.
    # The other site vaccinates a person of the home commune; the province-level site a
    # person of the neighbouring commune (item 2 of issue 14: its list is stored under the
    # home commune).
    ids = iter(range(1, 1000))

    def person(scope: str, commune: str, given: str, status: str):
        n = next(ids)
        made = record_services.create_person(
            {
                "full_name": f"Nguyễn Văn {MARKERS[scope]} {given}",
                "sex": Sex.MALE,
                "birth_date": date(1985, 3, 14),
                "birth_precision": BirthPrecision.DAY,
                "id_number": f"0010850{n:05d}",
                "commune_id": _area(commune).id,
                "status": status,
                "phone": f"09123{n:05d}",
            }
        )
        world.add("person", scope, made.id, "person")
        world.id_numbers.setdefault(scope, set()).add(made.id_number)
        return made

    def dose(made, at: Site) -> None:
        record_services.add_dose(
            made,
            {
                "dose_number": 1,
                "vaccine": "EU/1/20/1528",
                "lot": "LOT1",
                "vaccinated_on": DAY,
                "site_id": at.id,
            },
        )

    persons: dict[str, dict[str, Any]] = {}
    for scope, commune in COMMUNE_OF.items():
        persons[scope] = {
            "verified": person(scope, commune, "Một", "verified"),
            "matched": person(scope, commune, "Hai", "matched"),
            "site": person(scope, commune, "Ba", "matched"),
            "mismatch": person(scope, commune, "Bốn", "mismatch"),
        }
    dose(persons[HOME]["site"], site_home)
    dose(persons[NEIGHBOUR_SCOPE]["site"], site_neighbour)
    dose(persons[FAR]["site"], site_far)
    at_other_site = person(HOME, OWN, "Năm", "matched")
    dose(at_other_site, site_other)
    at_province_site = person(NEIGHBOUR_SCOPE, NEIGHBOUR, "Sáu", "matched")
    dose(at_province_site, site_province)
    dose(persons[HOME]["matched"], site_province)

    # Handover lists: the police of each commune hand their verified person over, and sign.
    for scope in COMMUNE_OF:
        police = staff[scope]["police"]
        worklist = handover.create_handover(
            police, [persons[scope]["verified"].id], f"Ghi chú {MARKERS[scope]}"
        )
        handover.hand_over(worklist, police)
        world.add("worklist", scope, worklist.id, "worklist")
        document = signing_services.sign_handover(police, PIN, worklist)
        world.add("document", scope, document.id, "signed_document")

    # Signing: each site's open sign dialog and its signed daily list; each committee's open
    # dialog and minutes (with the signed scan, not yet confirmed), then its signed list.
    for scope, holder in (
        (HOME, staff[HOME]["vaccination_site"]),
        (NEIGHBOUR_SCOPE, staff[NEIGHBOUR_SCOPE]["vaccination_site"]),
        (FAR, staff[FAR]["vaccination_site"]),
        (OTHER_SITE, staff[OTHER_SITE]["vaccination_site"]),
        (HOME, province_site_staff),
    ):
        batch = signing_services.prepare_site_daily(holder, DAY)
        world.add(
            "signing_batch",
            scope if holder is not province_site_staff else OTHER_SITE,
            batch.id,
            "signing_batch",
        )
        document = signing_services.sign_site_daily(holder, PIN, DAY)
        world.add(
            "document",
            scope if holder is not province_site_staff else OTHER_SITE,
            document.id,
            "signed_document",
        )
        if holder is province_site_staff:
            world.ids["province_site_document"] = {HOME: [document.id]}
    for scope in COMMUNE_OF:
        committee = staff[scope]["committee"]
        batch = signing_services.prepare_committee(committee)
        world.add("signing_batch", scope, batch.id, "signing_batch")
        minutes = signing_services.print_minutes(committee)
        signing_services.upload_minutes_scan(minutes, committee, _png())
        world.add("minutes", scope, minutes.id, "minutes")
        document = signing_services.sign_committee_list(committee, PIN)
        world.add("document", scope, document.id, "signed_document")

    # Complaints: the province rules send a commune's complaints to its health station; a
    # complaint naming a site goes to that site. Each carries an attachment.
    routing.set_rule(
        routing.Precision.COMMUNE,
        _area(HANOI),
        UnitKind.HEALTH_STATION,
        "Ủy quyền",
        home_users["health_authority"],
    )
    routing.set_rule(
        routing.Precision.COMMUNE,
        _area(CAO_BANG),
        UnitKind.HEALTH_STATION,
        "Ủy quyền",
        staff[FAR]["health_authority"],
    )
    png = _png()

    def complaint(scope: str, source: str = "web", **place):
        n = next(ids)
        sub = feedback_services.Submission(
            full_name=f"Trần Thị {MARKERS[scope]}",
            birth_date=date(1990, 5, 17),
            phone=f"09876{n:05d}",
            kind=FeedbackKind.MISSING_DOSE,
            description=f"Mũi 2 không có trên hệ thống ({MARKERS[scope]} {n}).",
            id_number=f"0011900{n:05d}",
            attachment_name="anh.png",
            attachment_data=png,
            **place,
        )
        made, _created = feedback_services.submit(sub, source=source)
        db.session.flush()
        attachment = db.session.scalar(
            sa.select(Attachment.id).where(Attachment.feedback_id == made.id)
        )
        return made, attachment

    for scope, commune in COMMUNE_OF.items():
        made, attachment = complaint(scope, province_code=PROVINCE_OF[scope], commune_code=commune)
        world.add("feedback", scope, made.id, "feedback")
        world.add("attachment", scope, attachment)
    for scope, at in (
        (HOME, site_home),
        (OTHER_SITE, site_other),
        (NEIGHBOUR_SCOPE, site_neighbour),
        (FAR, site_far),
    ):
        made, attachment = complaint(
            scope,
            province_code=PROVINCE_OF.get(scope, HANOI),
            site_code=at.code,
            dose_number=1,
            vaccinated_on=DAY,
        )
        assert made.unit_site_id == at.id, (scope, made.unit_kind)
        world.add("feedback", scope, made.id, "feedback")
        world.add("attachment", scope, attachment)
    made, attachment = complaint(FAR, province_code=CAO_BANG)
    world.add("feedback", FAR, made.id, "feedback")
    world.add("attachment", FAR, attachment)

    # API clients: the home client and another one, each with a complaint it filed.
    client, world.api_token = api_services.create_client("he-thong-sweep-a")
    other, _token = api_services.create_client("he-thong-sweep-b")
    for scope, name in ((HOME, client.name), (OTHER_CLIENT, other.name)):
        made, _attachment = complaint(
            HOME, source=f"api:{name}", province_code=HANOI, commune_code=OWN
        )
        world.add("api_feedback", scope, made.code, "feedback")
    # A complaint filed on the web is not the API client's either.
    from portal.feedback.models import Feedback

    web = db.session.get(Feedback, world.ids["feedback"][HOME][0])
    world.add("api_feedback", OTHER_CLIENT, web.code)

    # Imports: each health station's batch, checked, with a row in error.
    for scope, commune in COMMUNE_OF.items():
        station = staff[scope]["health_station"]
        rows = [
            [f"Lê Văn {MARKERS[scope]}", "Nam", "14/03/1985", "001085099001"],
            [f"Lê Thị {MARKERS[scope]}", "Nữ", "31/02/1985", "12"],
        ]
        if scope == HOME:  # the home file names others' residents, with a dose: committing
            rows += upload_rows(persons, (NEIGHBOUR_SCOPE, FAR))  # it must not touch them
        data = xlsx(rows)
        batch = import_services.create_batch(
            data, f"danh-sach-{MARKERS[scope]}.xlsx", _area(commune), station
        )
        import_services.check_batch(batch)
        world.add("import_batch", scope, batch.id, "import_batch")

    # Jobs (a matching run of each commune's police), and each commune's register extract
    # with its residents' entries, as the police imported it.
    from portal.core.text import fold, norm
    from portal.registry.models import RegisterEntry

    for scope, commune in COMMUNE_OF.items():
        police = staff[scope]["police"]
        extract = RegisterExtract(
            source=f"trich-xuat-{MARKERS[scope]}.csv",
            mode="merge",
            row_count=len(persons[scope]),
            imported_by_id=police.id,
        )
        db.session.add(extract)
        db.session.flush()
        for resident in persons[scope].values():
            db.session.add(
                RegisterEntry(
                    id_number=resident.id_number,
                    full_name=resident.full_name,
                    name_norm=norm(resident.full_name),
                    name_folded=fold(resident.full_name),
                    sex="male",
                    birth_date=resident.birth_date,
                    birth_precision="day",
                    extract_id=extract.id,
                )
            )
        job = Job(
            kind="registry_match",
            state=JobState.DONE,
            area_id=_area(commune).id,
            created_by_id=police.id,
            done=1,
            total=1,
            params={"communes": [commune]},
            result={},
        )
        db.session.add(job)
        db.session.flush()
        world.add("job", scope, job.id, "job")

    # Deadlines: one on each commune and on the far province.
    for scope, code in (*COMMUNE_OF.items(), (FAR, CAO_BANG)):
        target = dashboard_services.create_target(
            _area(code),
            TargetMetric.CLEANED,
            date(2030, 1, 1),
            f"Làm sạch {MARKERS[scope]}",
            home_users["admin"] if scope != FAR else staff[FAR]["admin"],
        )
        world.add("target", scope, target.id, "target")

    db.session.flush()
    return world
