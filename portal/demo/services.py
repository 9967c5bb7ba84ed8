"""Seeding a fresh database with a demo province, its people, the register and the users."""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from portal.areas import services as areas
from portal.areas.models import Area, SiteLevel
from portal.audit import services as audit
from portal.auth.models import Role, User
from portal.auth.passwords import password_problem
from portal.auth.services import create_user
from portal.core.clock import today_in_vietnam
from portal.core.text import fold, norm
from portal.dashboard import services as dashboard
from portal.dashboard.models import DailyTally, TargetMetric
from portal.dashboard.queries import CLEANED
from portal.demo.generator import Mix, cccd, generate, vietnamese_name
from portal.extensions import db
from portal.feedback import services as feedback
from portal.feedback.models import FeedbackKind
from portal.records.models import Dose, Person, PersonTally
from portal.registry.matching import match_commune
from portal.registry.models import RegisterEntry, RegisterExtract

DEMO_PROVINCE = "01"  # Thành phố Hà Nội
DEMO_COMMUNES = ("00004", "00008", "00025")  # Ba Đình, Ngọc Hà, Giảng Võ: neighbours
PERSONS_PER_COMMUNE = (2200, 1700, 1300)
# The password meets the policy every password meets (issue 14, item 12), and is easy to
# say to an official trying the demo; the signing PIN is another secret, as in real life.
DEFAULT_PASSWORD = "tiem-chung-2021"
DEFAULT_PIN = "246810"
SIGNING_ROLES = frozenset({Role.COMMITTEE.value, Role.VACCINATION_SITE.value, Role.POLICE.value})


class AlreadySeeded(Exception):
    pass


class DemoRefused(Exception):
    """A demo password the policy refuses, or a PIN equal to it: the message says why."""


@dataclass
class Account:
    username: str
    role: str
    area_code: str
    area_name: str
    display_name: str
    site_code: str | None = None
    password: str | None = None  # known only to the run that seeded it
    signing_pin: str | None = None

    def as_json(self) -> dict:
        data = {
            "username": self.username,
            "role": self.role,
            "area_code": self.area_code,
            "display_name": self.display_name,
        }
        for key in ("site_code", "password", "signing_pin"):
            if getattr(self, key):
                data[key] = getattr(self, key)
        return data


def check_secrets(password: str, pin: str) -> None:
    """The demo's password passes the policy of every password; its PIN is not the
    password."""
    problem = password_problem(password)
    if problem is not None:
        raise DemoRefused(problem)
    if pin == password:
        raise DemoRefused(_l("The signing PIN must differ from the password."))


def short_name(area: Area) -> str:
    """``Phường Ba Đình`` -> ``ba_dinh``: a username part a person can type."""
    words = fold(area.name).split(" ")
    for prefix in (["phuong"], ["xa"], ["dac", "khu"], ["thanh", "pho"], ["tinh"]):
        if words[: len(prefix)] == prefix:
            words = words[len(prefix) :]
            break
    return "_".join(words)


def next_id(model) -> int:
    return (db.session.scalar(sa.select(sa.func.max(model.id))) or 0) + 1


def sync_sequence(table: str) -> None:
    """Explicit ids were inserted; PostgreSQL's sequence must move past them."""
    if db.engine.dialect.name == "postgresql":
        db.session.execute(
            sa.text(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT COALESCE(MAX(id), 1) FROM {table}))"
            )
        )


def seed(
    password: str = DEFAULT_PASSWORD, seed_value: int = 2021, pin: str = DEFAULT_PIN
) -> list[Account]:
    """The demo data and accounts (the signing certificates are ``signing.demo``'s, with
    ``pin``); the accounts carry their password and, for those who sign, the PIN."""
    check_secrets(password, pin)
    if db.session.scalar(sa.select(sa.func.count()).select_from(User)):
        raise AlreadySeeded()
    rng = random.Random(seed_value)
    areas.load_official_areas()
    province = areas.require_area(DEMO_PROVINCE)
    communes = [areas.require_area(code) for code in DEMO_COMMUNES]
    areas.add_legacy_district("001", "Quận Ba Đình (cũ)", province)

    first = communes[0]
    central = areas.add_site("BV-BACHMAI", "Bệnh viện Bạch Mai", communes[1], SiteLevel.CENTRAL)
    ministry = areas.add_site(
        "BV-CONGAN", "Bệnh viện 19-8 Bộ Công an", communes[2], SiteLevel.MINISTRY
    )
    provincial = areas.add_site(
        "CDC-HN", "Trung tâm Kiểm soát bệnh tật Hà Nội", first, SiteLevel.PROVINCE
    )
    district = areas.add_site(
        "TTYT-BD", "Trung tâm Y tế quận Ba Đình (cũ)", first, SiteLevel.DISTRICT
    )
    private = areas.add_site(
        "PK-VIETEC", "Phòng khám đa khoa tư nhân Việt Séc", communes[2], SiteLevel.PRIVATE
    )
    shared_sites = [central.id, ministry.id, provincial.id, district.id, private.id]

    accounts: list[Account] = []

    def add_account(username, role, area, display_name, site=None):
        create_user(username, password, role, area, display_name, site=site)
        accounts.append(
            Account(
                username,
                role.value,
                area.code,
                area.name,
                display_name,
                site.code if site else None,
                password,
                pin if role.value in SIGNING_ROLES else None,
            )
        )

    add_account("admin", Role.ADMIN, province, "Quản trị hệ thống")
    # The whole population register (replacing it) is a national administrator's; the
    # account is seated in the demo province (issue 14, item 1).
    add_account(
        "national.admin", Role.NATIONAL_ADMIN, province, "Quản trị dữ liệu dân cư toàn quốc"
    )
    # The vaccine passport's issuer (issue 18), nation-wide, seated in the demo province.
    add_account("issuer.ytdp", Role.ISSUER, province, "Cục Y tế dự phòng - Bộ Y tế")
    add_account(
        "authority." + short_name(province),
        Role.HEALTH_AUTHORITY,
        province,
        "Sở Y tế " + province.name.removeprefix("Thành phố "),
    )
    add_account(
        "site.cdc_hn", Role.VACCINATION_SITE, first, "Điểm tiêm CDC Hà Nội", site=provincial
    )

    extract = RegisterExtract(source="demo extract (synthetic)")
    db.session.add(extract)
    db.session.flush()
    used_ids: set[str] = set()
    person_id = next_id(Person)
    totals = {"persons": 0, "doses": 0, "register": 0}
    for commune, count in zip(communes, PERSONS_PER_COMMUNE, strict=True):
        short = short_name(commune)
        station = areas.add_site(
            f"TYT-{commune.code}", "Trạm Y tế " + commune.name, commune, SiteLevel.COMMUNE
        )
        add_account(f"police.{short}", Role.POLICE, commune, "Công an " + commune.name)
        add_account(f"health.{short}", Role.HEALTH_STATION, commune, "Trạm Y tế " + commune.name)
        add_account(f"committee.{short}", Role.COMMITTEE, commune, "Chủ tịch UBND " + commune.name)
        add_account(
            f"site.{short}",
            Role.VACCINATION_SITE,
            commune,
            "Điểm tiêm " + commune.name,
            site=station,
        )

        rows = generate(
            rng,
            count,
            commune.id,
            province.id,
            [station.id, *shared_sites],
            used_ids,
            Mix(),
            first_person_id=person_id,
            address_suffix=", " + commune.name,
        )
        db.session.execute(sa.insert(Person), rows.persons)
        doses = [
            {k: v for k, v in d.items() if k != "person_index"}
            | {"person_id": person_id + d["person_index"]}
            for d in rows.doses
        ]
        db.session.execute(sa.insert(Dose), doses)
        db.session.execute(
            sa.insert(RegisterEntry),
            [r | {"extract_id": extract.id, "commune_id": commune.id} for r in rows.register],
        )
        audit.record(
            "records.bulk_create",
            "area",
            commune.code,
            {"persons": [None, len(rows.persons)], "doses": [None, len(doses)]},
            reason="demo data",
        )
        person_id += count
        totals["persons"] += len(rows.persons)
        totals["doses"] += len(doses)
        totals["register"] += len(rows.register)

    # People the register knows who were never vaccinated here: the extract is a superset.
    others = []
    for n in range(500):
        sex = rng.choice(("male", "female"))
        born = date(1950 + rng.randrange(60), 1 + rng.randrange(12), 1 + rng.randrange(28))
        name = vietnamese_name(rng, sex)
        others.append(
            {
                "id_number": cccd(rng, sex, born, used_ids),
                "full_name": name,
                "name_norm": norm(name),
                "name_folded": fold(name),
                "sex": sex,
                "birth_date": born,
                "birth_precision": "day",
                "extract_id": extract.id,
                "commune_id": communes[n % len(communes)].id,
            }
        )
    db.session.execute(sa.insert(RegisterEntry), others)
    extract.row_count = totals["register"] + len(others)
    audit.record(
        "register.import",
        "register_extract",
        extract.id,
        {"rows": [None, extract.row_count], "source": [None, extract.source]},
        reason="demo data",
    )
    sync_sequence("person")
    sync_sequence("dose")
    db.session.flush()
    # Matched once, so that the lists and the review have something to show at first login.
    for commune in communes:
        match_commune(commune)
    _dashboard_history(province)
    seed_feedback(first)
    return accounts


def _dashboard_history(province: Area, days: int = 14) -> None:
    """A deadline, and two weeks of synthetic daily snapshots that climb to today's
    figures, so that the dashboard's projection and chart have a pace to show."""
    today = today_in_vietnam()
    dashboard.create_target(
        province,
        TargetMetric.CLEANED,
        today + timedelta(days=45),
        "Làm sạch toàn bộ dữ liệu tiêm chủng",
    )
    dashboard.snapshot(today)
    cleaned = {str(s) for s in CLEANED}
    now = db.session.execute(
        sa.select(PersonTally.commune_id, PersonTally.status, PersonTally.n).where(
            PersonTally.n != 0
        )
    ).all()
    # Records not yet clean on a past day count as unverified that day.
    counts: dict[tuple[date, int, str], int] = defaultdict(int)
    for back in range(days, 0, -1):
        day = today - timedelta(days=back)
        share = 0.35 + 0.65 * (days - back) / days  # a third done two weeks ago
        for commune_id, status, n in now:
            kept = round(n * share) if status in cleaned else n
            counts[(day, commune_id, status)] += kept
            counts[(day, commune_id, "unverified")] += n - kept
    db.session.execute(
        sa.insert(DailyTally),
        [
            {"day": d, "commune_id": c, "status": st, "n": n}
            for (d, c, st), n in counts.items()
            if n
        ],
    )


def seed_feedback(commune: Area) -> None:
    """A few citizens' complaints, one per precision of the place, routed as filed."""
    station = f"TYT-{commune.code}"
    samples = [
        dict(
            kind=FeedbackKind.MISSING_DOSE,
            province_code=DEMO_PROVINCE,
            commune_code=commune.code,
            site_code=station,
            dose_number=2,
            vaccinated_on=date(2021, 9, 17),
            description="Tôi đã tiêm mũi 2 tại trạm y tế nhưng hệ thống chưa ghi nhận.",
        ),
        dict(
            kind=FeedbackKind.WRONG_PERSONAL,
            province_code=DEMO_PROVINCE,
            commune_code=commune.code,
            description="Ngày sinh trên hồ sơ tiêm chủng bị ghi sai thành 01/01.",
        ),
        dict(
            kind=FeedbackKind.WRONG_DOSE,
            province_code=DEMO_PROVINCE,
            district_code="001",
            description="Loại vắc xin mũi 1 ghi là Vero Cell, thực tế tôi tiêm AstraZeneca.",
        ),
        dict(
            kind=FeedbackKind.DUPLICATE,
            province_code=DEMO_PROVINCE,
            description="Tôi có hai hồ sơ tiêm chủng, một hồ sơ không có số định danh.",
        ),
        dict(
            kind=FeedbackKind.OTHER,
            description="Tôi không nhớ nơi tiêm, chỉ biết hồ sơ không hiện trên ứng dụng.",
        ),
    ]
    for n, sample in enumerate(samples):
        feedback.submit(
            feedback.Submission(
                full_name=(
                    "Nguyễn Thị Lan",
                    "Trần Văn Hùng",
                    "Lê Thị Thu",
                    "Phạm Minh Đức",
                    "Hoàng Thị Mai",
                )[n],
                birth_date=date(1970 + 5 * n, 1 + n, 10 + n),
                phone=f"09120000{n:02d}",
                id_number=f"0011{90 + n:02d}0000{n:02d}",
                **sample,  # type: ignore[arg-type]
            )
        )


def existing_accounts() -> list[Account]:
    users = db.session.scalars(sa.select(User).order_by(User.id))
    return [
        Account(
            u.username,
            u.role.value,
            u.area.code,
            u.area.name,
            u.display_name,
            u.site.code if u.site else None,
        )
        for u in users
    ]
