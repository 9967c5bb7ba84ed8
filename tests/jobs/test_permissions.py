"""Issue 16 (one area-scope primitive): who follows a job (portal/jobs/permissions.py, on
portal.areas.scope): its author, and the users of its area or of an area holding it."""

from __future__ import annotations

import pytest

from portal.areas.services import add_legacy_district
from portal.extensions import db
from portal.jobs import services as jobs
from tests.conftest import CAO_BANG, HANOI, NEIGHBOUR, OWN

GIANG_VO = "00025"  # a third commune of Hà Nội, outside the legacy district below

# (role, area of the viewer) -> sees a job of Ba Đình (OWN)
VIEWERS = [
    (("committee", OWN), 200),  # any role of the job's own commune
    (("health_station", NEIGHBOUR), 404),
    (("health_authority", HANOI), 200),  # the province holding it
    (("health_authority", "D-BD"), 200),  # the legacy district holding it
    (("health_authority", CAO_BANG), 404),
    (("admin", CAO_BANG), 404),
]


@pytest.fixture
def district(area):
    district = add_legacy_district("D-BD", "Quận Ba Đình (cũ)", area(HANOI))
    area(OWN).parent_id = district.id
    db.session.commit()
    return district


@pytest.mark.parametrize(("viewer", "status"), VIEWERS, ids=[f"{r}-{a}" for (r, a), _ in VIEWERS])
def test_a_communes_job_is_followed_within_the_areas_holding_it(
    client, login_as, make_user, district, viewer, status
):
    owner = make_user("health_station", OWN)
    job = jobs.create_job("match", owner.area_id, {"communes": [OWN], "full": False}, owner)
    db.session.commit()
    login_as(*viewer)
    assert client.get(f"/jobs/{job.id}").status_code == status


def test_a_job_of_no_area_is_its_authors_only(client, login_as, make_user, district):
    """A job with no area (a register import of the whole country) is followed by the one
    who started it; the province's users do not see it."""
    author = make_user("national_admin", HANOI)
    job = jobs.create_job("match", None, {"communes": [], "full": False}, author)
    db.session.commit()
    login_as("admin", HANOI)
    assert client.get(f"/jobs/{job.id}").status_code == 404
    other = client.application.test_client()
    from tests.conftest import login

    assert login(other, author.username).status_code == 303
    assert other.get(f"/jobs/{job.id}").status_code == 200
