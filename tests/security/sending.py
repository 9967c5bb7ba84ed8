"""How the security tests call a route: as a role, with plausible form values and a file
of a foreign place where the form takes one (``send``, used by the authorisation sweep
and the bounded-id check), and what counts as a success rather than a refusal."""

from __future__ import annotations

import io

from tests.security import world as w
from tests.security.routes import Route, file_fields

DENIED = {401, 403, 404}


def foreign_scopes(role: str) -> tuple[str, ...]:
    """The places whose objects ``role`` may not reach (world.py), the API's other client
    for a caller without an account."""
    if role == "anonymous":
        return (*w.SCOPES, w.OTHER_CLIENT)
    if role == "api":
        return (w.OTHER_CLIENT,)
    return w.foreign_scopes(role)


def is_success(response) -> bool:
    """Anything but a refusal: a page or file, or a redirect somewhere but the login page."""
    if response.status_code in DENIED:
        return False
    if response.status_code in (301, 302, 303, 307, 308):
        return not response.headers.get("Location", "").split("?")[0].endswith("/login")
    return True


# Form values the sweep sends beside the plausible ones, per endpoint: one request each.
EXTRA_FORMS = {"registry.post_extract": ({"mode": "merge"}, {"mode": "replace"})}


def send(sweep, route: Route, role: str, path: str, params: dict | None = None):
    """The request of ``route`` at ``path`` as ``role``, with plausible values (and a file where
    the form takes one); of several forms sent, the answer that is a success if any."""
    client = sweep.clients[role]
    headers = {}
    if role == "api":
        headers["Authorization"] = f"Bearer {sweep.world.api_token}"
    if route.method == "GET":
        return client.get(path, query_string=params or None, headers=headers)
    data = {
        "csrf_token": sweep.tokens[role],
        "pin": w.PIN,
        "reason": "Kiểm tra quyền",
        "note": "Kiểm tra quyền",
        "answer": "Đã kiểm tra",
        "full_name": "Nguyễn Văn Sửa",
        "version": "1",
        **(params or {}),
    }
    if route.is_api:
        return client.post(path, json={}, headers={**headers, "Idempotency-Key": "sweep"})
    content, filename = w.upload_file(sweep.world, route.endpoint, foreign_scopes(role))
    responses = []
    for extra in EXTRA_FORMS.get(route.endpoint, ({},)):
        files = {name: (io.BytesIO(content), filename) for name in file_fields()}
        responses.append(
            client.open(path, method=route.method, data={**data, **files, **extra}, headers=headers)
        )
    return _worst(responses)


def _worst(responses):
    """Of several answers, a success if there is one (the sweep reports it)."""
    return next((r for r in responses if is_success(r)), responses[-1])
