"""Helpers of the accounts tests: an administrator's "new account" form, sent."""

from __future__ import annotations

from tests.conftest import OWN, csrf_token

NEW_PASSWORD = "mat-khau-moi-2026"


def new_account(client, **fields):
    """The new-account form posted by the logged-in ``client``: a police officer of the own
    commune, unless ``fields`` say otherwise."""
    data = {
        "csrf_token": csrf_token(client, "/admin/accounts/new"),
        "username": "congan.badinh2",
        "display_name": "Thượng úy Nguyễn Đức Anh",
        "role": "police",
        "area": OWN,
        "site": "",
        "password": NEW_PASSWORD,
        "confirm": NEW_PASSWORD,
        **fields,
    }
    return client.post("/admin/accounts/new", data=data)
