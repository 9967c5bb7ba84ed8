"""The counter of unanswered complaints per unit (feedback_open_count), kept by triggers:
it always equals a count of the complaints, and the queue shows it as its total."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from portal.auth.models import Role
from portal.extensions import db
from portal.feedback import routing, services
from portal.feedback.models import Feedback, FeedbackStatus, OpenCount, UnitKind
from portal.feedback.routing import Unit
from tests.conftest import CAO_BANG, HANOI, NEIGHBOUR, OWN


def counted() -> dict[str, int]:
    """What the triggers kept (units without any left out)."""
    return {
        key: n for key, n in db.session.execute(sa.select(OpenCount.unit_key, OpenCount.n)) if n
    }


def actual() -> dict[str, int]:
    return dict(
        db.session.execute(
            sa.select(Feedback.unit_key, sa.func.count())
            .where(Feedback.answered_at.is_(None))
            .group_by(Feedback.unit_key)
        ).all()
    )


def test_the_counter_follows_every_change(file_feedback, area, make_user):
    authority = make_user(Role.HEALTH_AUTHORITY, HANOI)
    routing.set_rule(
        routing.Precision.COMMUNE, area(HANOI), UnitKind.HEALTH_STATION, "Ủy quyền", authority
    )
    make_user(Role.HEALTH_STATION, NEIGHBOUR)
    at_own = [
        file_feedback(
            province_code=HANOI, commune_code=OWN, description=f"Phản ánh số {n} về mũi tiêm."
        )
        for n in range(3)
    ]
    at_neighbour = file_feedback(province_code=HANOI, commune_code=NEIGHBOUR)
    in_pool = file_feedback()
    file_feedback(province_code=CAO_BANG)
    assert (
        counted()
        == actual()
        == {
            f"health_station:{area(OWN).id}:": 3,
            f"health_station:{area(NEIGHBOUR).id}:": 1,
            "pool::": 1,
            f"province:{area(CAO_BANG).id}:": 1,
        }
    )

    # A replayed submission inserts nothing and counts nothing.
    services.submit(
        services.Submission(
            full_name=at_own[0].full_name,
            birth_date=at_own[0].birth_date,
            phone=at_own[0].phone,
            kind=at_own[0].kind,
            description=at_own[0].description,
            id_number=at_own[0].id_number,
            province_code=HANOI,
            commune_code=OWN,
        )
    )
    services.answer(at_own[0], "Đã bổ sung.", authority)
    services.answer(at_own[0], "Trả lời lần hai.", authority)  # answered already: no change
    services.close(at_own[1], FeedbackStatus.REJECTED, "Không thuộc thẩm quyền", authority)
    services.link_person(at_own[2], None, authority)  # an update that moves nothing
    services.reassign(in_pool, Unit(UnitKind.HEALTH_STATION, area(OWN).id), "Phân loại", authority)
    services.reassign(at_neighbour, Unit(UnitKind.PROVINCE, area(HANOI).id), "Thu hồi", authority)
    db.session.commit()
    assert (
        counted()
        == actual()
        == {
            f"health_station:{area(OWN).id}:": 2,
            f"province:{area(HANOI).id}:": 1,
            f"province:{area(CAO_BANG).id}:": 1,
        }
    )

    # Escalation stamps many complaints at once without answering or moving them.
    assert services.escalate_overdue(services.utcnow() + timedelta(days=3)) == 2
    db.session.execute(sa.delete(Feedback).where(Feedback.id == at_own[2].id))
    db.session.commit()
    assert (
        counted()
        == actual()
        == {
            f"health_station:{area(OWN).id}:": 1,
            f"province:{area(HANOI).id}:": 1,
            f"province:{area(CAO_BANG).id}:": 1,
        }
    )


def test_a_bulk_insert_is_counted_at_once(area):
    received = services.utcnow()
    unit = Unit(UnitKind.PROVINCE, area(HANOI).id)
    db.session.execute(
        sa.insert(Feedback),
        [
            {
                "code": f"PABULK{n:04d}",
                "fingerprint": f"bulk-{n}",
                "kind": "other",
                "status": "received",
                "full_name": "Người dân",
                "birth_date": received.date(),
                "phone": "0912345678",
                "description": "Phản ánh hàng loạt.",
                "precision": "province",
                "unit_kind": unit.kind,
                "unit_area_id": unit.area_id,
                "unit_key": unit.key,
                "routing_note": "",
                "source": "test",
                "received_at": received,
                "due_at": received + timedelta(hours=48),
                "answered_at": received if n % 4 == 0 else None,
            }
            for n in range(40)
        ],
    )
    assert counted() == actual() == {unit.key: 30}


def test_the_queue_total_is_the_counter(client, login_as, file_feedback, area, make_user):
    user = login_as(Role.HEALTH_AUTHORITY, HANOI)
    for n in range(3):
        file_feedback(province_code=HANOI, description=f"Phản ánh số {n} về mũi tiêm.")
    page = client.get("/feedback/queue").get_data(as_text=True)
    assert 'data-testid="result-count">3 phản ánh<' in page
    # The counter is what the page reads: changed behind the triggers' back, the total says so.
    db.session.execute(
        sa.update(OpenCount)
        .where(OpenCount.unit_key == Unit(UnitKind.PROVINCE, user.area_id).key)
        .values(n=7)
    )
    db.session.commit()
    assert 'data-testid="result-count">7 phản ánh<' in client.get("/feedback/queue").get_data(
        as_text=True
    )
    # Another view of the queue counts the complaints themselves.
    assert 'data-testid="result-count">3 phản ánh<' in client.get(
        "/feedback/queue?state=all"
    ).get_data(as_text=True)
