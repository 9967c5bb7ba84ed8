"""What every ``flask --app wsgi …`` command of the portal shares: its language, how it
refuses, and how it asks for a secret.

The output of a command follows the portal's language: Vietnamese unless ``--lang en``
is given (every portal command has the option), or ``PORTAL_LANG``, or the locale
(``LC_ALL``, ``LC_MESSAGES``, ``LANG``) names English. Messages are printed as they are,
without click's English "Error:" or "Aborted!" around them.
"""

from __future__ import annotations

import os
import sys
from typing import NoReturn

import click
from flask import current_app
from flask_babel import gettext as _
from flask_babel import refresh

LANG_KEY = "portal.lang"
LOCALE_VARIABLES = ("PORTAL_LANG", "LC_ALL", "LC_MESSAGES", "LANG")


def _remember_lang(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    if value:
        ctx.meta[LANG_KEY] = value
        # A locale already worked out in this app context (a test's, or a command run from
        # another) is forgotten now, and again when the command ends.
        refresh()
        ctx.call_on_close(refresh)


def command_locale() -> str | None:
    """The language asked for on the command line, else by the environment; None when
    neither names one of the portal's languages (the default language applies)."""
    ctx = click.get_current_context(silent=True)
    if ctx is not None and ctx.meta.get(LANG_KEY):
        return str(ctx.meta[LANG_KEY])
    languages = current_app.config["LANGUAGES"]
    for variable in LOCALE_VARIABLES:
        value = os.environ.get(variable, "")
        if value:
            # "en_US.UTF-8" → "en"; "C", "POSIX" and "C.UTF-8" name no language.
            code = value.split(".")[0].split("_")[0].split("-")[0].lower()
            return code if code in languages else None
    return None


def add_lang_option(command: click.Command, languages: tuple[str, ...]) -> None:
    """Give ``command`` (and, for a group, every command under it) ``--lang``."""
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            add_lang_option(sub, languages)
        return
    if any(param.name == "lang" for param in command.params):
        return
    command.params.append(
        click.Option(
            ["--lang"],
            type=click.Choice(languages),
            expose_value=False,
            is_eager=True,
            callback=_remember_lang,
            help="Language of the output (default: vi, or PORTAL_LANG / the locale).",
        )
    )


def fail(message: object, code: int = 1) -> NoReturn:
    """Print the message on standard error, as it is, and stop with ``code``."""
    click.echo(str(message), err=True)
    sys.exit(code)


def ask_secret(label: str, env: str, twice: bool = False) -> str:
    """A secret from the environment variable ``env`` (scripts), else typed at the
    terminal without echo (twice when ``twice``). Without a terminal to type it on, the
    command stops and names the variable instead of reading it from a pipe in clear."""
    value = os.environ.get(env)
    if value:
        return value
    if not sys.stdin.isatty():
        fail(_("No terminal to type %(what)s on: set %(env)s.", what=label.lower(), env=env))
    while True:
        first = click.prompt(label, hide_input=True, prompt_suffix=": ")
        if not twice:
            return str(first)
        again = click.prompt(_("Type it again"), hide_input=True, prompt_suffix=": ")
        if first == again:
            return str(first)
        click.echo(_("The two entries differ; type them again."), err=True)


def confirm(question: str) -> bool:
    """Yes or no at the terminal, in the command's language; no terminal means no."""
    if not sys.stdin.isatty():
        return False
    answer = click.prompt(
        _("%(question)s (yes/no)", question=question),
        default="",
        show_default=False,
        prompt_suffix=" ",
    )
    return str(answer).strip().lower() in {"y", "yes", "c", "co", "có"}


class Progress:
    """``progress(done, total)`` for long work, on standard error: one line rewritten in
    place at a terminal, else a line at every tenth of the way (logs stay short)."""

    def __init__(self, label: str):
        self.label = label
        self.tty = sys.stderr.isatty()
        self.shown = -1

    def __call__(self, done: int, total: int) -> None:
        if total <= 0:
            return
        percent = 100 * done // total
        if self.tty:
            click.echo(f"\r{self.label}: {done}/{total} ({percent}%)", nl=done >= total, err=True)
        elif percent // 10 > self.shown // 10 or done >= total and self.shown < 100:
            click.echo(f"{self.label}: {done}/{total} ({percent}%)", err=True)
        self.shown = percent
