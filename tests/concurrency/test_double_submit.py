"""Issue 15, item 2: one outcome per double submit. Each case sends the same request two
times at once (four for the API) to a real portal on the suite's kind of database, then
finds exactly one effect in the database; no answer is a 500, and the other request is told
clearly that it was done already (or is sent to the result)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
import requests
import sqlalchemy as sa

from portal.areas import services as area_services
from portal.areas.models import SiteLevel
from portal.audit.models import AuditEvent
from portal.auth.models import Role
from portal.auth.services import create_user
from portal.extensions import db
from portal.records import services as record_services
from portal.records.models import BirthPrecision, Dose, Person, Sex
from tests.conftest import HANOI, OWN, PASSWORD
from tests.imports.helpers import PFIZER, row, xlsx
from tests.live import at_once, form_token, live_portal, logged_in

pytestmark = pytest.mark.committing

PIN = "246810"


def _person(name: str, id_number: str, status: str = "verified") -> Person:
    return record_services.create_person(
        {
            "full_name": name,
            "sex": Sex.MALE,
            "birth_date": date(1985, 3, 14),
            "birth_precision": BirthPrecision.DAY,
            "id_number": id_number,
            "status": status,
            "commune_id": area_services.area_by_code(OWN).id,
        },
        reason="test fixture",
    )


def _user(username: str, role: Role, code: str = OWN, site=None):
    return create_user(
        username, PASSWORD, role, area_services.area_by_code(code), f"Cán bộ {username}", site=site
    )


def _events(app, action: str) -> int:
    with app.app_context():
        return (
            db.session.scalar(
                sa.select(sa.func.count())
                .select_from(AuditEvent)
                .where(AuditEvent.action == action)
            )
            or 0
        )


def _no_500(answers: list[Any]) -> None:
    for answer in answers:
        assert isinstance(answer, requests.Response), answer
        assert answer.status_code < 500, (answer.status_code, answer.text[:800])


def _twice(client: requests.Session, url: str, data: dict[str, Any]) -> list[Any]:
    return at_once(
        [lambda: client.post(url, data=data, allow_redirects=False, timeout=120) for _ in range(2)]
    )


def _told(answer: requests.Response, client: requests.Session, text: str) -> None:
    """The loser's answer says ``text``: on its page, or on the page it is sent to."""
    if answer.status_code == 303:
        answer = client.get(answer.headers["Location"], timeout=30)
    assert text in answer.text, (answer.status_code, answer.text[:1500])


# --- handover lists -----------------------------------------------------------------------


def _handover_seed() -> None:
    _user("police.twice", Role.POLICE)
    _person("Nguyễn Văn An", "001085000001")
    _person("Trần Thị Bình", "001185000002")


def test_creating_a_handover_list_twice_puts_each_person_on_one_open_list(tmp_path):
    from portal.worklists.models import Worklist, WorklistMember

    with live_portal(tmp_path, _handover_seed) as (app, base):
        with app.app_context():
            ids = list(db.session.scalars(sa.select(Person.id).order_by(Person.id)))
        client = logged_in(base, "police.twice", PASSWORD)
        token = form_token(client, f"{base}/worklists/handover/new")
        answers = _twice(
            client,
            f"{base}/worklists/handover/new",
            {"csrf_token": token, "person_ids": ids, "note": "Bấm hai lần"},
        )
        _no_500(answers)
        statuses = sorted(a.status_code for a in answers)
        assert statuses == [303, 422], statuses
        loser = next(a for a in answers if a.status_code == 422)
        _told(loser, client, "đã có trong một danh sách bàn giao đang mở")
        with app.app_context():
            assert db.session.scalar(sa.select(sa.func.count()).select_from(Worklist)) == 1
            per_person = db.session.execute(
                sa.select(WorklistMember.person_id, sa.func.count()).group_by(
                    WorklistMember.person_id
                )
            ).all()
            assert sorted(per_person) == [(pid, 1) for pid in ids]
        assert _events(app, "worklist.create") == 1


def test_handing_over_twice_hands_over_once(tmp_path):
    with live_portal(tmp_path, _handover_seed, DOCUMENTS_DIR=str(tmp_path / "docs")) as (app, base):
        with app.app_context():
            ids = list(db.session.scalars(sa.select(Person.id)))
        client = logged_in(base, "police.twice", PASSWORD)
        token = form_token(client, f"{base}/worklists/handover/new")
        created = client.post(
            f"{base}/worklists/handover/new",
            allow_redirects=False,
            data={"csrf_token": token, "person_ids": ids},
            timeout=60,
        )
        assert created.status_code == 303, created.text[:800]
        url = created.headers["Location"]
        url = url if url.startswith("http") else base + url
        answers = _twice(client, f"{url}/hand-over", {"csrf_token": token})
        _no_500(answers)
        assert sorted(a.status_code for a in answers) == [303, 409]
        _told(
            next(a for a in answers if a.status_code == 409),
            client,
            "Danh sách này đã được bàn giao",
        )
        assert _events(app, "worklist.hand_over") == 1


# --- the committee's signature ------------------------------------------------------------


def _signing_seed(tmp_path: Path):
    def seed() -> None:
        from portal.signing import pki, services

        folder = tmp_path / "demo-pki"
        folder.mkdir(exist_ok=True)
        ca = pki.make_ca("Test CA – hai lần")
        tsa = pki.issue(ca, "Test TSA", tsa=True)
        (folder / "ca.pem").write_bytes(ca.cert_pem())
        (folder / "tsa.pem").write_bytes(tsa.cert_pem())
        (folder / "tsa-key.pem").write_bytes(tsa.key_pem())
        chair = _user("chair.twice", Role.COMMITTEE)
        issued = pki.issue(ca, chair.display_name, title="Chủ tịch", unit=chair.area.name)
        services.add_pkcs12_credential(
            chair, pki.to_pkcs12(issued, ca, PIN), PIN, "Chủ tịch", chair.area.name
        )
        _person("Nguyễn Thị Hương", "001190000001", "matched")
        _person("Đặng Văn Lộc", "001090000002", "verified")

    return seed


def _signing_config(tmp_path: Path) -> dict[str, Any]:
    return {
        "DOCUMENTS_DIR": str(tmp_path / "docs"),
        "SIGNING_TSA_URL": None,
        "SIGNING_LEVEL": "B-T",
    }


def _open_dialog(client: requests.Session, base: str, token: str) -> int:
    opened = client.post(
        f"{base}/signing/batches", data={"csrf_token": token}, allow_redirects=False, timeout=60
    )
    assert opened.status_code == 303, opened.text[:800]
    return int(opened.headers["Location"].rstrip("/").rsplit("/", 1)[1])


def _confirmations(app) -> list[tuple[int, int]]:
    from portal.signing.models import DocumentMember

    with app.app_context():
        return sorted(
            db.session.execute(
                sa.select(DocumentMember.person_id, sa.func.count())
                .where(DocumentMember.superseded_at.is_(None))
                .group_by(DocumentMember.person_id)
            ).all()
        )


def test_signing_one_dialog_twice_makes_one_document(tmp_path):
    from portal.signing.models import SignedDocument

    with live_portal(tmp_path, _signing_seed(tmp_path), **_signing_config(tmp_path)) as (app, base):
        client = logged_in(base, "chair.twice", PASSWORD)
        token = form_token(client, f"{base}/verify")
        batch_id = _open_dialog(client, base, token)
        answers = _twice(
            client, f"{base}/signing/batches/{batch_id}/sign", {"csrf_token": token, "pin": PIN}
        )
        _no_500(answers)
        assert sorted(a.status_code for a in answers) == [303, 409]
        _told(next(a for a in answers if a.status_code == 409), client, "Danh sách này đã được ký")
        with app.app_context():
            assert db.session.scalar(sa.select(sa.func.count()).select_from(SignedDocument)) == 1
        assert [count for _pid, count in _confirmations(app)] == [1, 1]
        assert _events(app, "document.sign") == 1


def test_signing_two_dialogs_of_the_same_persons_at_once_confirms_each_person_once(tmp_path):
    """The sign dialog opened twice (a double click on "Sign…"), both signed at once."""
    from portal.signing.models import SignedDocument

    with live_portal(tmp_path, _signing_seed(tmp_path), **_signing_config(tmp_path)) as (app, base):
        client = logged_in(base, "chair.twice", PASSWORD)
        token = form_token(client, f"{base}/verify")
        batches = [_open_dialog(client, base, token) for _ in range(2)]
        answers = at_once(
            [
                lambda b=b: client.post(
                    f"{base}/signing/batches/{b}/sign",
                    allow_redirects=False,
                    data={"csrf_token": token, "pin": PIN},
                    timeout=120,
                )
                for b in batches
            ]
        )
        _no_500(answers)
        assert sorted(a.status_code for a in answers) == [303, 422]
        _told(
            next(a for a in answers if a.status_code == 422),
            client,
            "Không còn ai trong danh sách này có thể được xác nhận",
        )
        with app.app_context():
            assert db.session.scalar(sa.select(sa.func.count()).select_from(SignedDocument)) == 1
        assert [count for _pid, count in _confirmations(app)] == [1, 1]


# --- closing a complaint --------------------------------------------------------------------


def _feedback_seed() -> None:
    from portal.feedback import services
    from portal.feedback.models import FeedbackKind

    _user("authority.twice", Role.HEALTH_AUTHORITY, HANOI)
    _user("station.twice", Role.HEALTH_STATION)
    services.submit(
        services.Submission(
            full_name="Trần Thị Bình",
            birth_date=date(1990, 5, 17),
            phone="0912345678",
            kind=FeedbackKind.MISSING_DOSE,
            description="Mũi 2 của tôi không có trên hệ thống.",
            id_number="001190012345",
            province_code=HANOI,
            commune_code=OWN,
        )
    )


def test_closing_a_complaint_twice_closes_it_once_and_queues_one_sms(tmp_path):
    from portal.feedback import permissions
    from portal.feedback.models import Feedback, FeedbackStatus, Notification

    with live_portal(tmp_path, _feedback_seed) as (app, base):
        with app.app_context():
            feedback = db.session.scalars(sa.select(Feedback)).one()
            from portal.auth.models import User

            handler = next(
                u.username
                for u in db.session.scalars(sa.select(User))
                if permissions.can_handle(u, feedback)
            )
            url = f"{base}/feedback/queue/{feedback.id}"
        client = logged_in(base, handler, PASSWORD)
        token = form_token(client, url)
        answers = at_once(
            [
                lambda o=o: client.post(
                    f"{url}/close",
                    allow_redirects=False,
                    timeout=60,
                    data={"csrf_token": token, "outcome": o, "reason": "Đã xử lý xong."},
                )
                for o in ("resolved", "rejected")
            ]
        )
        _no_500(answers)
        assert sorted(a.status_code for a in answers) == [303, 409]
        _told(next(a for a in answers if a.status_code == 409), client, "Phản ánh này đã được đóng")
        with app.app_context():
            feedback = db.session.scalars(sa.select(Feedback)).one()
            status = feedback.status
            answers = len(feedback.answers)
            sms = db.session.scalar(
                sa.select(sa.func.count())
                .select_from(Notification)
                .where(Notification.channel == "sms")
            )
        assert status in (FeedbackStatus.RESOLVED, FeedbackStatus.REJECTED)
        assert _events(app, "feedback.resolved") + _events(app, "feedback.rejected") == 1
        assert _events(app, f"feedback.{status.value}") == 1
        assert sms == 1 and answers == 1


# --- committing an import -----------------------------------------------------------------


def _import_file() -> bytes:
    return xlsx(
        [
            row("Lê Thị Hạ", "Nữ", "1990", "079190000123", dose=1, vaccine=PFIZER, on="05/09/2021"),
            row(
                "Phạm Đức Minh",
                "Nam",
                "02/2000",
                "001200000077",
                dose=1,
                vaccine=PFIZER,
                on="03/11/2021",
            ),
        ]
    )


def _import_seed() -> None:
    from portal.imports import services

    station = _user("station.twice", Role.HEALTH_STATION)
    batch = services.create_batch(_import_file(), "hai-lan.xlsx", station.area, station)
    services.check_batch(batch)


def test_committing_an_import_twice_commits_it_once(tmp_path):
    from portal.imports.models import BatchState, ImportBatch

    with live_portal(tmp_path, _import_seed) as (app, base):
        with app.app_context():
            batch_id = db.session.scalars(sa.select(ImportBatch.id)).one()
        client = logged_in(base, "station.twice", PASSWORD)
        token = form_token(client, f"{base}/imports/{batch_id}")
        answers = _twice(client, f"{base}/imports/{batch_id}/commit", {"csrf_token": token})
        _no_500(answers)
        assert sorted(a.status_code for a in answers) == [303, 409]
        _told(next(a for a in answers if a.status_code == 409), client, "Lô nhập này đã được ghi")
        assert _events(app, "import.commit") == 1
        with app.app_context():
            batch = db.session.get_one(ImportBatch, batch_id)
            assert batch.state == BatchState.COMMITTED
            assert (batch.persons_created, batch.persons_matched, batch.doses_created) == (2, 0, 2)
            assert db.session.scalar(sa.select(sa.func.count()).select_from(Person)) == 2
            assert db.session.scalar(sa.select(sa.func.count()).select_from(Dose)) == 2


# --- recording a dose -----------------------------------------------------------------------


def _dose_seed() -> None:
    site = area_services.add_site(
        "S-TWICE", "Điểm tiêm hai lần", area_services.area_by_code(OWN), SiteLevel.COMMUNE
    )
    _user("site.twice", Role.VACCINATION_SITE, site=site)
    _person("Nguyễn Văn An", "001085000001")


def test_recording_the_same_dose_twice_records_it_once(tmp_path):
    with live_portal(tmp_path, _dose_seed) as (app, base):
        with app.app_context():
            person_id = db.session.scalars(sa.select(Person.id)).one()
        client = logged_in(base, "site.twice", PASSWORD)
        url = f"{base}/records/{person_id}/doses"
        token = form_token(client, f"{url}/new")
        answers = _twice(
            client,
            url,
            {
                "csrf_token": token,
                "dose_number": "1",
                "vaccine": "EU/1/20/1528",
                "lot": "FK1234",
                "vaccinated_on": "01/09/2021",
                "acknowledge": "y",
            },
        )
        _no_500(answers)
        assert [a.status_code for a in answers] == [303, 303]
        assert {a.headers["Location"].rsplit("/", 1)[-1] for a in answers} == {str(person_id)}
        with app.app_context():
            assert db.session.scalar(sa.select(sa.func.count()).select_from(Dose)) == 1
        assert _events(app, "dose.create") == 1


# --- the API's Idempotency-Key ---------------------------------------------------------------


def test_four_requests_with_one_idempotency_key_all_get_the_first_answer(tmp_path):
    from portal.api.services import create_client
    from portal.feedback.models import Feedback

    token: dict[str, str] = {}

    def seed() -> None:
        _user("authority.twice", Role.HEALTH_AUTHORITY, HANOI)
        _user("station.twice", Role.HEALTH_STATION)
        token["value"] = create_client("cong-hai-lan")[1]

    body = {
        "full_name": "Lê Văn Cường",
        "id_number": "001085012345",
        "birth_date": "1985-03-14",
        "phone": "0987654321",
        "kind": "wrong_dose",
        "description": "Ngày tiêm mũi 1 bị ghi sai.",
        "province_code": HANOI,
        "commune_code": OWN,
    }
    with live_portal(tmp_path, seed) as (app, base):
        headers = {"Authorization": f"Bearer {token['value']}", "Idempotency-Key": "k-twice"}
        answers = at_once(
            [
                lambda: requests.post(
                    f"{base}/api/v1/feedback", json=body, headers=headers, timeout=120
                )
                for _ in range(4)
            ]
        )
        _no_500(answers)
        assert sorted(a.status_code for a in answers) == [200, 200, 200, 201], [
            (a.status_code, a.text[:300]) for a in answers
        ]
        assert len({a.json()["code"] for a in answers}) == 1
        with app.app_context():
            assert db.session.scalar(sa.select(sa.func.count()).select_from(Feedback)) == 1
