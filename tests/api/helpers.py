"""Helpers of the intake API's tests: a valid complaint body."""

from __future__ import annotations

from tests.conftest import HANOI, OWN

BODY = {
    "full_name": "Lê Văn Cường",
    "id_number": "001085012345",
    "birth_date": "1985-03-14",
    "phone": "0987654321",
    "kind": "wrong_dose",
    "description": "Ngày tiêm mũi 1 bị ghi sai.",
    "province_code": HANOI,
    "commune_code": OWN,
}
