"""Issue 14, item 12: signing PINs, like passwords, are compared in their normalised
(NFKC) form; a key file made elsewhere with a PIN that normalising changes still opens."""

from __future__ import annotations

import unicodedata

import pytest

from portal.auth.models import Role
from portal.extensions import db
from portal.signing import services as signing
from tests.conftest import OWN


def test_the_signing_pin_is_compared_normalised(app, make_user, give_certificate):
    """A PIN typed with decomposed accents unlocks a key made with the composed PIN, and
    a key file made elsewhere with a decomposed PIN still opens with it."""
    composed = unicodedata.normalize("NFC", "mã-ký-số")
    decomposed = unicodedata.normalize("NFD", composed)
    chair = make_user(Role.COMMITTEE, OWN)
    give_certificate(chair, pin=composed)
    db.session.commit()
    credential, _signer = signing.unlock(chair, decomposed)
    assert credential.failed_pins == 0
    other = make_user(Role.COMMITTEE, OWN)
    give_certificate(other, pin=decomposed)
    db.session.commit()
    signing.unlock(other, decomposed)
    with pytest.raises(signing.SigningRefused):
        signing.unlock(other, "000000")
