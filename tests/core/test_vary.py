"""Issue 16: an answer that depends on htmx's request headers says so in ``Vary``. The
same URL gives the whole page, or one block picked by ``HX-Target``: a cache (or the
browser's back button) that keyed on the URL and ``HX-Request`` alone could hand one
target's fragment to another."""

from __future__ import annotations

import pytest

from portal.core.rendering import HTMX_VARY


def vary(response) -> set[str]:
    return {value.strip() for value in response.headers.get("Vary", "").split(",")}


def test_the_block_follows_hx_target_and_vary_names_it(client, login_as, make_person):
    make_person(full_name="Nguyễn Văn Ánh")
    login_as()
    fragment = client.get("/records", headers={"HX-Request": "true", "HX-Target": "results"})
    page = client.get("/records", headers={"HX-Request": "true", "HX-Target": "main"})
    assert "<html" not in fragment.get_data(as_text=True)
    assert "<html" in page.get_data(as_text=True)
    for response in (fragment, page):
        assert response.status_code == 200
        assert {"HX-Request", "HX-Target"} <= vary(response)


@pytest.mark.parametrize(
    "path, headers, status",
    [
        ("/records", {}, 200),  # a whole page, no htmx
        ("/records/999999999", {"HX-Request": "true", "HX-Target": "main"}, 404),  # an error
    ],
)
def test_every_answer_varies_on_htmx_headers(client, login_as, path, headers, status):
    login_as()
    response = client.get(path, headers=headers)
    assert response.status_code == status
    assert set(HTMX_VARY) <= vary(response)


def test_the_session_end_answer_varies_on_htmx_headers(client):
    response = client.get("/records", headers={"HX-Request": "true", "HX-Target": "results"})
    assert response.status_code == 401 and "HX-Redirect" in response.headers
    assert set(HTMX_VARY) <= vary(response)
