"""Routing by how precisely the place is named, the rule table, delegation, reassignment."""

from __future__ import annotations

import re
from datetime import date

import pytest
import sqlalchemy as sa

from portal.areas import services as area_services
from portal.areas.models import SiteLevel
from portal.audit.models import AuditEvent
from portal.auth.models import Role
from portal.extensions import db
from portal.feedback import routing, services
from portal.feedback.models import Precision, UnitKind
from portal.feedback.routing import Unit
from tests.conftest import CAO_BANG, HANOI, NEIGHBOUR, OWN, csrf_token
from tests.feedback.conftest import submission


def test_the_national_table_is_seeded_readably(app):
    rules = {r.precision: r.target for r in routing.rules_for_province(None)}
    assert rules == {
        Precision.SITE: UnitKind.SITE,
        Precision.COMMUNE: UnitKind.PROVINCE,
        Precision.DISTRICT: UnitKind.DISTRICT_CENTRE,
        Precision.PROVINCE: UnitKind.PROVINCE,
        Precision.NONE: UnitKind.POOL,
    }


def test_site_and_dose_details_go_to_the_site(file_feedback, make_site, make_user):
    site = make_site(OWN)
    make_user(Role.VACCINATION_SITE, OWN, site=site)
    feedback = file_feedback(
        province_code=HANOI,
        commune_code=OWN,
        site_code=site.code,
        dose_number=2,
        vaccinated_on=date(2021, 9, 1),
    )
    assert feedback.precision == Precision.SITE
    assert (feedback.unit_kind, feedback.unit_site_id) == (UnitKind.SITE, site.id)


def test_a_site_without_dose_details_counts_as_its_commune(file_feedback, make_site, area):
    site = make_site(OWN)
    feedback = file_feedback(province_code=HANOI, site_code=site.code)
    assert feedback.precision == Precision.COMMUNE
    assert feedback.commune_id == area(OWN).id
    assert (feedback.unit_kind, feedback.unit_area_id) == (UnitKind.PROVINCE, area(HANOI).id)


def test_commune_goes_to_the_province_where_not_delegated(file_feedback, area):
    feedback = file_feedback(province_code=HANOI, commune_code=OWN)
    assert feedback.precision == Precision.COMMUNE
    assert (feedback.unit_kind, feedback.unit_area_id) == (UnitKind.PROVINCE, area(HANOI).id)


def test_a_delegating_province_sends_commune_complaints_to_the_health_station(
    file_feedback, area, make_user
):
    authority = make_user(Role.HEALTH_AUTHORITY, HANOI)
    routing.set_rule(
        Precision.COMMUNE, area(HANOI), UnitKind.HEALTH_STATION, "Ủy quyền cho trạm y tế", authority
    )
    feedback = file_feedback(province_code=HANOI, commune_code=OWN)
    assert (feedback.unit_kind, feedback.unit_area_id) == (UnitKind.HEALTH_STATION, area(OWN).id)
    # Another province keeps the national rule.
    other = file_feedback(province_code=CAO_BANG, commune_code="01273")
    assert (other.unit_kind, other.unit_area_id) == (UnitKind.PROVINCE, area(CAO_BANG).id)
    event = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "feedback.rule")
    ).one()
    assert event.reason == "Ủy quyền cho trạm y tế"
    assert event.changes["target"] == [None, "health_station"]


def test_legacy_district_goes_to_its_health_centre_if_there_is_one(file_feedback, area, make_user):
    district = area_services.add_legacy_district("D001", "Quận Ba Đình (cũ)", area(HANOI))
    db.session.commit()
    without = file_feedback(province_code=HANOI, district_code="D001")
    assert without.precision == Precision.DISTRICT
    assert (without.unit_kind, without.unit_area_id) == (UnitKind.PROVINCE, area(HANOI).id)
    assert without.routing_note == "no_district_centre"
    make_user(Role.HEALTH_AUTHORITY, "D001")
    with_centre = file_feedback(
        province_code=HANOI, district_code="D001", description="Một phản ánh khác về mũi tiêm."
    )
    assert (with_centre.unit_kind, with_centre.unit_area_id) == (
        UnitKind.DISTRICT_CENTRE,
        district.id,
    )


def test_province_only_goes_to_the_provincial_authority(file_feedback, area):
    feedback = file_feedback(province_code=CAO_BANG)
    assert feedback.precision == Precision.PROVINCE
    assert (feedback.unit_kind, feedback.unit_area_id) == (UnitKind.PROVINCE, area(CAO_BANG).id)


def test_no_place_goes_to_the_common_pool(file_feedback):
    feedback = file_feedback()
    assert feedback.precision == Precision.NONE
    assert (feedback.unit_kind, feedback.unit_area_id, feedback.unit_site_id) == (
        UnitKind.POOL,
        None,
        None,
    )


def test_every_routing_decision_is_recorded(file_feedback):
    feedback = file_feedback(province_code=HANOI, commune_code=OWN)
    event = db.session.scalars(
        sa.select(AuditEvent).where(
            AuditEvent.action == "feedback.route", AuditEvent.entity_id == feedback.code
        )
    ).one()
    assert event.changes["precision"] == [None, "commune"]
    assert event.changes["unit_kind"] == [None, "province"]
    assert event.changes["rule_id"][1] == feedback.routing_rule_id is not None


def test_a_province_rule_overrides_and_an_admin_changes_the_national_one(
    file_feedback, area, make_user
):
    admin = make_user(Role.ADMIN, HANOI)
    routing.set_rule(Precision.PROVINCE, None, UnitKind.POOL, "Thử", admin)
    assert file_feedback(province_code=CAO_BANG).unit_kind == UnitKind.POOL


@pytest.mark.parametrize(
    "kw, field",
    [
        ({"province_code": "99"}, "province"),
        ({"province_code": HANOI, "commune_code": "99999"}, "commune"),
        ({"province_code": CAO_BANG, "commune_code": OWN}, "commune"),
        ({"commune_code": OWN}, "province"),
        ({"province_code": HANOI, "site_code": "NO-SUCH-SITE"}, "site"),
    ],
)
def test_places_that_do_not_exist_or_do_not_belong_together(app, kw, field):
    with pytest.raises(services.SubmissionError) as error:
        services.submit(submission(**kw))
    assert field in error.value.errors


def test_site_in_another_commune_is_refused(app, make_site):
    site = make_site(NEIGHBOUR)
    with pytest.raises(services.SubmissionError) as error:
        services.submit(submission(province_code=HANOI, commune_code=OWN, site_code=site.code))
    assert "site" in error.value.errors


def test_reassignment_with_a_reason_is_audited(file_feedback, area, make_user, make_site):
    authority = make_user(Role.HEALTH_AUTHORITY, HANOI)
    feedback = file_feedback(province_code=HANOI, commune_code=OWN)
    site = make_site(OWN, SiteLevel.COMMUNE)
    make_user(Role.VACCINATION_SITE, OWN, site=site)
    services.reassign(feedback, Unit(UnitKind.SITE, site_id=site.id), "Điểm tiêm xử lý", authority)
    db.session.commit()
    assert (feedback.unit_kind, feedback.unit_site_id) == (UnitKind.SITE, site.id)
    event = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "feedback.reassign")
    ).one()
    assert event.reason == "Điểm tiêm xử lý"
    assert event.changes["unit_kind"] == ["province", "site"]
    assert event.actor_id == authority.id


def test_a_rule_pointing_to_a_unit_without_an_account_falls_back_to_the_unit_above(
    client, login_as, file_feedback, area, make_user, make_site, province_authorities
):
    """Issue 13, item 8: a delegation rule routing to a health station nobody can log in
    to sends the complaint to the province instead, and the routing record says so; a
    commune site without an account passes it to its commune's station; a province
    without one to the common pool."""
    authority = province_authorities[HANOI]
    routing.set_rule(Precision.COMMUNE, area(HANOI), UnitKind.HEALTH_STATION, "Ủy quyền", authority)
    staffed = file_feedback(province_code=HANOI, commune_code=OWN)
    assert (staffed.unit_kind, staffed.unit_area_id) == (UnitKind.HEALTH_STATION, area(OWN).id)
    assert staffed.routing_note == ""
    unstaffed = file_feedback(province_code=HANOI, commune_code=NEIGHBOUR)
    assert (unstaffed.unit_kind, unstaffed.unit_area_id) == (UnitKind.PROVINCE, area(HANOI).id)
    assert unstaffed.routing_note == f"no_account|health_station:{area(NEIGHBOUR).id}:"
    event = db.session.scalars(
        sa.select(AuditEvent).where(
            AuditEvent.action == "feedback.route", AuditEvent.entity_id == unstaffed.code
        )
    ).one()
    assert event.changes["fallback"] == [None, unstaffed.routing_note]
    assert event.changes["unit_kind"] == [None, "province"]

    site = make_site(OWN, SiteLevel.COMMUNE, name="Điểm tiêm không tài khoản")
    at_site = file_feedback(
        province_code=HANOI, site_code=site.code, dose_number=1, vaccinated_on=date(2021, 8, 1)
    )
    assert (at_site.unit_kind, at_site.unit_area_id) == (UnitKind.HEALTH_STATION, area(OWN).id)
    assert at_site.routing_note == f"no_account|site::{site.id}"

    province_authorities[CAO_BANG].active = False
    db.session.commit()
    orphan = file_feedback(province_code=CAO_BANG)
    assert orphan.unit_kind == UnitKind.POOL
    assert orphan.routing_note == f"no_account|province:{area(CAO_BANG).id}:"

    login_as(Role.HEALTH_AUTHORITY, HANOI)
    page = client.get(f"/feedback/queue/{unstaffed.id}").get_data(as_text=True)
    assert (
        "chưa có tài khoản đang hoạt động tại Trạm Y tế Phường Ngọc Hà: chuyển lên đơn vị cấp trên"
    ) in page


def test_only_units_with_an_active_account_can_be_chosen_for_reassignment(
    client, login_as, file_feedback, area, make_site, make_user
):
    """Issue 13, item 8: the reassignment list offers the units someone can log in to;
    the others are shown disabled with the reason, and a post naming one is refused."""
    feedback = file_feedback(province_code=HANOI, commune_code=OWN)
    site = make_site(OWN, SiteLevel.COMMUNE, name="Điểm tiêm có tài khoản")
    make_user(Role.VACCINATION_SITE, OWN, site=site)
    closed = make_site(OWN, SiteLevel.COMMUNE, name="Điểm tiêm đã khóa")
    make_user(Role.VACCINATION_SITE, OWN, site=closed).active = False
    db.session.commit()
    login_as(Role.HEALTH_AUTHORITY, HANOI)
    page = client.get(f"/feedback/queue/{feedback.id}").get_data(as_text=True)
    own, neighbour = area(OWN).id, area(NEIGHBOUR).id
    assert re.search(
        rf'<option value="health_station:{own}:">Trạm Y tế Phường Ba Đình</option>', page
    )
    assert re.search(
        rf'<option value="site::{site.id}">Điểm tiêm có tài khoản '
        r"\(cơ sở tiêm chủng\)</option>",
        page,
    )
    for key, name in (
        (f"health_station:{neighbour}:", "Trạm Y tế Phường Ngọc Hà"),
        (f"site::{closed.id}", r"Điểm tiêm đã khóa \(cơ sở tiêm chủng\)"),
    ):
        assert re.search(
            rf'<option disabled value="{key}">{name} \(chưa có tài khoản đang '
            r"hoạt động\)</option>",
            page,
        ), key
    assert 'label="Chưa có tài khoản đang hoạt động: không chọn được"' in page

    token = csrf_token(client, f"/feedback/queue/{feedback.id}")
    refused = client.post(
        f"/feedback/queue/{feedback.id}/reassign",
        data={"unit": f"health_station:{neighbour}:", "reason": "Giao trạm", "csrf_token": token},
    )
    assert refused.status_code == 422
    assert "chưa có ai đăng nhập được" in refused.get_data(as_text=True)
    db.session.expire_all()
    assert feedback.unit_kind == UnitKind.PROVINCE
    with pytest.raises(services.UnitWithoutAccount):
        services.reassign(
            feedback,
            Unit(UnitKind.SITE, site_id=closed.id),
            "x",
            make_user(Role.HEALTH_AUTHORITY, HANOI),
        )
    accepted = client.post(
        f"/feedback/queue/{feedback.id}/reassign",
        data={"unit": f"site::{site.id}", "reason": "Điểm tiêm xử lý", "csrf_token": token},
    )
    assert accepted.status_code == 303
    db.session.expire_all()
    assert (feedback.unit_kind, feedback.unit_site_id) == (UnitKind.SITE, site.id)


@pytest.mark.parametrize(
    "precision, target, field, message",
    [
        ("province", "site", "target", "không thể chuyển đến đơn vị loại “Cơ sở tiêm chủng”"),
        ("commune", "site", "target", "nơi được nêu không cho biết là đơn vị nào"),
        ("district", "health_station", "target", "mức “quận/huyện (cũ)”"),
        ("province", "pool", "target", "quy tắc riêng của tỉnh phải chuyển phản ánh"),
        ("none", "pool", "precision", "chỉ áp dụng quy tắc toàn quốc"),
    ],
)
def test_nonsense_routing_rules_are_refused_beside_the_field(
    client, login_as, precision, target, field, message
):
    """Issue 13 (smaller ones): a rule sending province-only complaints to a site, a site
    rule for complaints that name no site, or a province's rule sending its complaints out
    of the province is refused with a Vietnamese message beside the field."""
    login_as(Role.HEALTH_AUTHORITY, HANOI)
    before = routing.rules_for_province(None)
    token = csrf_token(client, "/feedback/rules")
    response = client.post(
        "/feedback/rules",
        data={"precision": precision, "target": target, "reason": "Thử", "csrf_token": token},
    )
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert re.search(
        rf'name="{field}"[^>]*>.*?</select>\s*<div class="invalid-feedback">[^<]*'
        rf"{re.escape(message)}",
        text,
        re.S,
    ), text[-3000:]
    db.session.expire_all()
    assert routing.rules_for_province(None) == before
    assert not db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "feedback.rule")
    ).all()


def test_a_sensible_delegation_is_still_accepted(client, login_as, area, make_user):
    """Issue 13 (smaller ones): the check refuses nonsense only."""
    login_as(Role.HEALTH_AUTHORITY, HANOI)
    token = csrf_token(client, "/feedback/rules")
    assert (
        client.post(
            "/feedback/rules",
            data={
                "precision": "commune",
                "target": "health_station",
                "reason": "Ủy quyền",
                "csrf_token": token,
            },
        ).status_code
        == 303
    )
    with pytest.raises(routing.RuleError):  # the service refuses what the form refuses
        routing.set_rule(Precision.PROVINCE, None, UnitKind.SITE, "x", make_user(Role.ADMIN, HANOI))
