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
    # The vaccine passport's issuer (issue 18): the Department of Preventive Medicine (Cục
    # Y tế dự phòng, Ministry of Health) signs passports for the whole country.
    ISSUER = "issuer"


# Roles that work nation-wide: the province they are seated in only says where the account
# is kept; only the command line appoints them, and no province's administrator manages them.
NATION_WIDE = frozenset({Role.NATIONAL_ADMIN, Role.ISSUER})


class SigningMethod(enum.StrEnum):
    """How a person's signature is made, set by the administrator on the account (issue 17).
    A person's key must be under their sole control when signing (Law 20/2023/QH15, Decree
    23/2025/NĐ-CP): at a remote-signing provider or in their own browser. A key held by the
    portal's server is allowed only where the deployment says so (SIGNING_ALLOW_SERVER_KEYS)."""

    CSC = "csc"  # a remote-signing provider over the CSC API, authorised per document
    BROWSER = "browser"  # a key made and kept in the signer's browser (WebCrypto)
    SERVER = "server"  # a PKCS#12 or PKCS#11 key held by the portal's server
