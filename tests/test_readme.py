"""The README tells the truth: its commands exist as typed, its configuration table is one
table with each key once, its code layout names every package."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import click

from portal import config

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _code_lines() -> list[str]:
    blocks = re.findall(r"^```(?:sh)?\n(.*?)^```", README, re.MULTILINE | re.DOTALL)
    return [line.strip() for block in blocks for line in block.splitlines()]


def _flask_lines() -> list[str]:
    found = []
    for line in _code_lines() + re.findall(r"`([^`]*flask --app wsgi[^`]*)`", README):
        line = line.split("#")[0].strip()
        if "flask --app wsgi" in line:
            found.append(line)
    return found


def test_every_flask_line_is_typed_as_it_runs_from_the_repository_root():
    lines = _flask_lines()
    assert len(lines) > 25
    bare = [
        line
        for line in lines
        if re.search(r"(?:^|[\s=])flask --app wsgi", line.split(".venv/bin/flask")[0])
    ]
    assert bare == []  # always .venv/bin/flask, which exists after the two commands


def test_every_flask_line_names_a_command_and_options_that_exist(app):
    problems = []
    for line in _flask_lines():
        words = shlex.split(line.split(".venv/bin/flask --app wsgi", 1)[1].replace("…", ""))
        command: click.Command = app.cli
        path = []
        while isinstance(command, click.Group) and words and not words[0].startswith("-"):
            name = words.pop(0)
            sub = command.get_command(click.Context(command), name)
            if sub is None:
                problems.append(f"{line}: no command {' '.join([*path, name])}")
                break
            command, path = sub, [*path, name]
        else:
            known = {opt for param in command.params for opt in param.opts}
            for word in words:
                option = word.strip("[]|").split("=")[0]
                if option.startswith("--") and option not in known:
                    problems.append(f"{line}: {' '.join(path)} has no {option}")
    assert problems == []


def _configuration_rows() -> list[str]:
    section = README.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    table = re.search(r"^\| variable .*?(?=\n\n)", section, re.MULTILINE | re.DOTALL)
    assert table, "no configuration table"
    rest = section[table.end() :]
    assert "\n| `" not in rest, "the configuration table is split in two"
    return re.findall(r"^\| `([A-Z0-9_]+)`", table.group(0), re.MULTILINE)


def test_the_configuration_table_is_one_table_with_each_key_once():
    keys = _configuration_rows()
    assert len(keys) == len(set(keys)), [k for k in keys if keys.count(k) > 1]
    assert set(config.ENV_KEYS) - set(keys) == set()


def test_the_code_layout_lists_every_package():
    layout = README.split("## Code layout", 1)[1]
    packages = sorted(
        p.name for p in (ROOT / "portal").iterdir() if p.is_dir() and not p.name.startswith("__")
    )
    missing = [name for name in packages if not re.search(rf"^\s+{name}/", layout, re.MULTILINE)]
    assert missing == []


def test_the_readme_does_not_call_revocation_undone():
    assert "revoking a document from the interface" not in README
