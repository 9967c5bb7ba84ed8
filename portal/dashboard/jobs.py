"""The dashboard's periodic task on the huey queue (the worker finds it by this module's name)."""

from __future__ import annotations

from huey import crontab

from portal.dashboard.services import snapshot
from portal.extensions import db
from portal.jobs.queue import app_for_task, huey


@huey.periodic_task(crontab(minute="*/30"))
def snapshot_dashboard() -> None:
    """Today's copy of the dashboard counters: the history that projections extrapolate."""
    with app_for_task().app_context():
        snapshot()
        db.session.commit()
