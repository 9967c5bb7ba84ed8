from __future__ import annotations

import click
from flask import current_app, request, session

from portal.core.cli import command_locale


def select_locale() -> str:
    """The session's language on a page; a command's ``--lang`` or locale on the command
    line; else the default (Vietnamese)."""
    languages = current_app.config["LANGUAGES"]
    if request:
        chosen = session.get("lang")
    elif click.get_current_context(silent=True) is not None:
        chosen = command_locale()
    else:
        chosen = None
    return str(chosen if chosen in languages else current_app.config["BABEL_DEFAULT_LOCALE"])


def select_timezone() -> str:
    return current_app.config["BABEL_DEFAULT_TIMEZONE"]
