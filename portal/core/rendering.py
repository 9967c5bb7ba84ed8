"""The one place that decides between a whole page and a fragment."""

from __future__ import annotations

from collections.abc import Mapping

from flask import Response, current_app, make_response, render_template, request

# What an answer depends on besides its URL, for caches and the browser's: whether htmx
# asked (a page or a fragment) and, for a fragment, the element it targets (render picks
# the block by HX-Target). htmx-flask sets neither.
HTMX_VARY = ("HX-Request", "HX-Target")


def vary_on_htmx(response: Response) -> Response:
    response.vary.update(HTMX_VARY)
    return response


def is_fragment_request() -> bool:
    htmx = getattr(request, "htmx", None)
    return htmx is not None and bool(htmx) and not (htmx.boosted or htmx.history_restore_request)


def render_block(template_name: str, block: str, **context) -> str:
    app = current_app
    template = app.jinja_env.get_template(template_name)
    app.update_template_context(context)
    return "".join(template.blocks[block](template.new_context(context)))


def render(
    template_name: str,
    fragments: Mapping[str, str] | None = None,
    status: int = 200,
    **context,
):
    """Render the page, or only the block that an htmx request targets.

    ``fragments`` maps an element id (``HX-Target``) to a block of the template; the
    server picks it, so a client can never ask for a block the view does not offer.
    """
    block = None
    if fragments and is_fragment_request():
        block = fragments.get(request.headers.get("HX-Target", ""))
    if block:
        body = render_block(template_name, block, **context)
    else:
        body = render_template(template_name, **context)
    return vary_on_htmx(make_response(body, status))
