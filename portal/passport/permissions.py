"""Who may do what with vaccine passports: the issuer (Cục Y tế dự phòng) issues them,
nation-wide."""

from __future__ import annotations

from typing import Any

from portal.core.accounts import Role


def can_issue(user: Any) -> bool:
    return bool(user is not None and getattr(user, "role", None) == Role.ISSUER)
