"""The accounts tests' shared fixture: a logged-in administrator of Hà Nội."""

from __future__ import annotations

import pytest

from portal.auth.models import Role
from tests.conftest import HANOI


@pytest.fixture
def admin(login_as):
    return login_as(Role.ADMIN, HANOI, display_name="Quản trị Hà Nội")
