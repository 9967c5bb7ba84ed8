"""The test suite. Imported before any test module or conftest.py, so before the portal:
the task queue's SQLite file, which portal/jobs/queue.py opens when imported, is this
process's own in a temporary folder (each pytest-xdist worker, each of two runs at once),
never the checkout's instance/huey.sqlite3 that ``make serve`` uses. The tests that run a
real worker give it a file of their own (tests/jobs/test_worker_killed.py)."""

import atexit
import os
import shutil
import tempfile

_huey_dir = tempfile.mkdtemp(prefix="portal-tests-huey-")
atexit.register(shutil.rmtree, _huey_dir, ignore_errors=True)
os.environ["HUEY_SQLITE"] = os.path.join(_huey_dir, "huey.sqlite3")
