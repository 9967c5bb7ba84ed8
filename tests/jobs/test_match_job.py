"""Matching from the browser: a job on the task queue and its progress page."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from portal.audit.models import AuditEvent
from portal.extensions import db
from portal.jobs import services as jobs
from portal.jobs.models import Job, JobState
from portal.records.models import Person, PersonStatus
from tests.conftest import HANOI, NEIGHBOUR, OWN, csrf_token


def start(client, **form):
    token = csrf_token(client, "/records")
    return client.post("/registry/match", data={"csrf_token": token, **form})


def job_id(response) -> int:
    match = re.search(r"/jobs/(\d+)$", response.headers["Location"])
    assert match, response.headers.get("Location")
    db.session.expire_all()
    return int(match.group(1))


def test_health_station_runs_matching_and_follows_its_progress(client, login_as, make_person):
    person = make_person(id_number=None)
    login_as("health_station", OWN)
    assert 'data-testid="match-form"' in client.get("/records").get_data(as_text=True)
    response = start(client)
    assert response.status_code == 303
    job = db.session.get(Job, job_id(response))
    assert job.state == JobState.DONE and job.percent == 100
    assert job.result["outcomes"] == {"missing_id": 1}
    page = client.get(f"/jobs/{job.id}")
    body = page.get_data(as_text=True)
    assert page.status_code == 200 and "100%" in body and 'data-testid="match-result"' in body
    fragment = client.get(
        f"/jobs/{job.id}", headers={"HX-Request": "true", "HX-Target": "job-progress"}
    )
    assert "<html" not in fragment.get_data(as_text=True)
    # A finished job stops polling.
    assert "hx-trigger" not in fragment.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Person, person.id).status == PersonStatus.MISSING_ID
    actions = set(db.session.scalars(sa.select(AuditEvent.action)))
    assert {"job.create", "registry.match"} <= actions


def test_a_running_job_polls_itself(client, login_as):
    user = login_as("health_station", OWN)
    job = jobs.create_job("match", user.area_id, {"communes": [OWN], "full": False}, user)
    db.session.commit()
    body = client.get(f"/jobs/{job.id}").get_data(as_text=True)
    assert 'hx-trigger="load delay:1s"' in body and 'role="progressbar"' in body


def test_other_communes_do_not_see_the_job(client, login_as, make_user):
    owner = make_user("health_station", OWN)
    job = jobs.create_job("match", owner.area_id, {"communes": [OWN], "full": False}, owner)
    db.session.commit()
    login_as("health_station", NEIGHBOUR)
    assert client.get(f"/jobs/{job.id}").status_code == 404


def test_province_user_sees_a_communes_job(client, login_as, make_user):
    owner = make_user("health_station", OWN)
    job = jobs.create_job("match", owner.area_id, {"communes": [OWN], "full": False}, owner)
    db.session.commit()
    login_as("health_authority", HANOI)
    assert client.get(f"/jobs/{job.id}").status_code == 200


@pytest.mark.parametrize("role", ["committee", "vaccination_site"])
def test_roles_that_cannot_start_matching(client, login_as, role):
    login_as(role, OWN)
    assert start(client).status_code == 403


def test_province_user_matches_one_commune(client, login_as, make_person):
    make_person(id_number=None)
    make_person(id_number=None, commune_code=NEIGHBOUR)
    login_as("health_authority", HANOI)
    job = db.session.get(Job, job_id(start(client, commune=NEIGHBOUR)))
    assert job.params["communes"] == [NEIGHBOUR]
    assert job.result["checked"] == 1
    assert start(client, commune="01273").status_code == 404, "a commune of another province"


def test_a_failing_job_says_so(client, login_as, monkeypatch):
    def broken(job, progress):
        raise RuntimeError("sự cố kết nối")

    monkeypatch.setitem(jobs.HANDLERS, "match", broken)
    login_as("police", OWN)
    job = db.session.get(Job, job_id(start(client)))
    assert job.state == JobState.FAILED and "sự cố kết nối" in job.error
    assert "sự cố kết nối" in client.get(f"/jobs/{job.id}").get_data(as_text=True)


def test_a_job_killed_part_way_left_no_status_change_without_its_event(
    client, login_as, make_person, monkeypatch
):
    """Issue 14, item 5: the job commits slice by slice with its progress; it wrote its one
    ``registry.match`` event at the end of the commune, so a worker killed part-way left
    committed status changes that no event recorded. Each slice's event is now in the
    slice's own transaction."""
    from portal.registry import matching

    persons = [make_person(id_number=None) for _ in range(6)]
    assert {p.status for p in persons} != {PersonStatus.MISSING_ID}
    monkeypatch.setattr(matching, "SLICE", 2)
    real_slice = matching._match_slice
    slices = []

    def killed_in_the_second_slice(*args, **kwargs):
        found = real_slice(*args, **kwargs)
        slices.append(found)
        if len(slices) == 2:  # its writes done, not committed: the worker dies here
            raise RuntimeError("worker killed")
        return found

    monkeypatch.setattr(matching, "_match_slice", killed_in_the_second_slice)
    first_seq = db.session.scalar(sa.select(sa.func.max(AuditEvent.seq)))
    login_as("health_station", OWN)
    job = db.session.get(Job, job_id(start(client)))
    assert job.state == JobState.FAILED and "worker killed" in job.error

    db.session.expire_all()
    changed = set(
        db.session.scalars(
            sa.select(Person.id).where(
                Person.id.in_([p.id for p in persons]), Person.status == PersonStatus.MISSING_ID
            )
        )
    )
    assert 0 < len(changed) < len(persons), "the first slice committed, the rest did not"
    events = list(
        db.session.scalars(
            sa.select(AuditEvent).where(
                AuditEvent.seq > first_seq, AuditEvent.action == "registry.match"
            )
        )
    )
    assert events, "the committed slice has its event"
    covered = {
        person_id
        for event in events
        for person_id in changed
        if event.changes["persons"][1][0] <= person_id <= event.changes["persons"][1][1]
    }
    assert covered == changed
    assert sum(event.changes["status_changed"][1] for event in events) == len(changed)
    assert all(event.entity_id == OWN for event in events)
