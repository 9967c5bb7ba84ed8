"""Helpers for the complaints tests: a valid submission, filed through the service or
sent through the public form (``post``)."""

from __future__ import annotations

from datetime import date

import pytest

from portal.areas.models import SiteLevel
from portal.auth.models import Role
from portal.extensions import db
from portal.feedback import services
from portal.feedback.models import FeedbackKind, UnitKind
from tests.conftest import CAO_BANG, HANOI, OWN, csrf_token

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64
PDF = b"%PDF-1.4\n" + b"x" * 64
EXE = b"MZ\x90\x00" + b"\x00" * 64


def submission(**kw) -> services.Submission:
    values = {
        "full_name": "Trần Thị Bình",
        "birth_date": date(1990, 5, 17),
        "phone": "0912345678",
        "kind": FeedbackKind.MISSING_DOSE,
        "description": "Mũi 2 của tôi không có trên hệ thống.",
        "id_number": "001190012345",
        **kw,
    }
    return services.Submission(**values)


FORM = {
    "full_name": "Trần Thị Bình",
    "id_number": "001190012345",
    "birth_date": "17/05/1990",
    "phone": "0912 345 678",
    "kind": "missing_dose",
    "province": HANOI,
    "commune": OWN,
    "description": "Mũi 2 của tôi không có trên hệ thống.",
}


def post(client, **changes):
    """The public complaint form, sent by ``client`` with ``FORM`` changed (None: left out)."""
    data = {**FORM, **changes, "csrf_token": csrf_token(client, "/feedback/new")}
    data = {k: v for k, v in data.items() if v is not None}
    return client.post("/feedback/new", data=data, content_type="multipart/form-data")


@pytest.fixture(autouse=True)
def province_authorities(app, make_user):
    """Each test province has a health authority someone can log in to, as every real one
    does, and OWN's health station has an account: complaints routed there stay there
    (a unit without one passes them to the unit above, issue 13 item 8; its tests
    deactivate these accounts)."""
    users = {
        code: make_user(Role.HEALTH_AUTHORITY, code, username=f"authority.{code}")
        for code in (HANOI, CAO_BANG)
    }
    users[OWN] = make_user(Role.HEALTH_STATION, OWN, username=f"station.{OWN}")
    return users


@pytest.fixture
def file_feedback(app):
    def make(**kw):
        feedback, created = services.submit(submission(**kw))
        db.session.commit()
        return feedback

    return make


@pytest.fixture
def at_station(file_feedback, area, make_user):
    """A complaint delegated to the health station of OWN."""
    from portal.feedback import routing

    authority = make_user(Role.HEALTH_AUTHORITY, HANOI)
    routing.set_rule(
        routing.Precision.COMMUNE, area(HANOI), UnitKind.HEALTH_STATION, "Ủy quyền", authority
    )
    return file_feedback(province_code=HANOI, commune_code=OWN)


@pytest.fixture
def staffed_site(make_site, make_user):
    """A commune-level vaccination site of OWN with an account someone can log in to."""
    site = make_site(OWN, SiteLevel.COMMUNE)
    make_user(Role.VACCINATION_SITE, OWN, site=site)
    return site


@pytest.fixture
def file_at_site(file_feedback):
    """A complaint about a dose given at ``site`` (of OWN, in Hà Nội): dose 1 of 01/08/2021
    unless said otherwise."""

    def make(site, dose_number: int = 1, vaccinated_on: date = date(2021, 8, 1), **kw):
        return file_feedback(
            province_code=HANOI,
            commune_code=OWN,
            site_code=site.code,
            dose_number=dose_number,
            vaccinated_on=vaccinated_on,
            **kw,
        )

    return make
