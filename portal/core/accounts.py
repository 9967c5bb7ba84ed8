"""The roles of a person's account. Every domain's permission rules, the menu and the landing
page read them, so they sit in core; the accounts themselves are auth's (``auth.models``)."""

from __future__ import annotations

import enum


class Role(enum.StrEnum):
    POLICE = "police"
    HEALTH_STATION = "health_station"
    COMMITTEE = "committee"
    VACCINATION_SITE = "vaccination_site"
    HEALTH_AUTHORITY = "health_authority"
    ADMIN = "admin"
    # The population register as a whole (replacing it): nation-wide, appointed from the
    # command line only (issue 14, item 1).
    NATIONAL_ADMIN = "national_admin"
