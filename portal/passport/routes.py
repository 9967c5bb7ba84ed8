"""The passport's public publications: the trust list and the revocation list, which any
verifier (a border officer's app, an airline) downloads to check passports offline."""

from __future__ import annotations

from flask import Response, jsonify

from portal.passport import services


def show_trust_list() -> Response:
    response = jsonify(services.published_trust_list())
    response.cache_control.public = True
    response.cache_control.max_age = 3600
    return response


def show_revocation() -> Response:
    response = jsonify(services.published_revocations())
    response.cache_control.public = True
    response.cache_control.max_age = 600
    return response
