"""Periodic tasks on the huey queue: escalate overdue complaints, deliver the outbox.

The consumer (``huey_consumer portal.jobs.queue.huey``) runs them; each commits once.
"""

from __future__ import annotations

from datetime import timedelta

from flask import current_app
from huey import crontab

from portal.core.clock import utcnow
from portal.extensions import db
from portal.feedback.services import (
    deliver_pending,
    escalate_overdue,
    purge_failure_counts,
    purge_rate_hits,
)
from portal.jobs.queue import app_for_task, huey


def run_escalation() -> int:
    count = escalate_overdue()
    db.session.commit()
    return count


def run_outbox() -> int:
    sent = deliver_pending()
    purge_rate_hits(utcnow() - timedelta(days=1))
    purge_failure_counts(
        utcnow() - timedelta(days=current_app.config["FEEDBACK_STATUS_CODE_WINDOW_DAYS"])
    )
    db.session.commit()
    return sent


@huey.periodic_task(crontab(minute="*/5"))
def escalate_overdue_feedback() -> int:
    with app_for_task().app_context():
        return run_escalation()


@huey.periodic_task(crontab(minute="*"))
def deliver_feedback_notifications() -> int:
    with app_for_task().app_context():
        return run_outbox()
