"""Issue 16: one label table per concept. Every code the portal can write — each audit
action, each kind of record an event names, each field an event's changes hold, each value
of a status or state column — has Vietnamese words, read through the helpers the templates
call (core.labels, Jinja globals) in the Vietnamese locale; and the record's history and the
audit trail say the same thing, because there is one table."""

from __future__ import annotations

import ast
import enum
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask_babel import force_locale

from portal.audit import services as audit
from portal.auth.models import Role
from portal.core import labels
from portal.extensions import db
from portal.feedback.clock import ClockState
from portal.feedback.models import FeedbackStatus
from portal.records.models import Dose
from portal.records.services import PERSON_FIELDS
from portal.signing.models import DocumentKind
from portal.worklists.handover import TRANSITIONS
from portal.worklists.models import WorklistKind
from tests.conftest import HANOI, OWN, login

PORTAL = Path(__file__).resolve().parents[2] / "portal"

# The actions whose code is built at run time, each with the codes it can build.
DYNAMIC_ACTIONS = {
    "feedback.{status.value}": {
        f"feedback.{s.value}" for s in FeedbackStatus if s != FeedbackStatus.RECEIVED
    },
    "worklist.{name}": {f"worklist.{name}" for name in TRANSITIONS},
    "worklist.add_{worklist.kind.value}": {f"worklist.add_{k.value}" for k in WorklistKind},
    "document.sign.{document.kind.value}": {f"document.sign.{k.value}" for k in DocumentKind},
}
# Fields whose changes are built from a variable, not a literal at the call.
BUILT_FIELDS = {
    *PERSON_FIELDS,  # records.services.snapshot: a person's create and update
    "status",
    "match_outcome",  # registry.recheck.RecheckResult.changes
    "display_name",
    "role",
    "area",
    "site",
    "active",  # auth.services.update_user
    *(step.stamp for step in TRANSITIONS.values()),  # worklist.{transition}
}


def _is_audit_call(node: ast.Call) -> bool:
    func = node.func
    if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
        return func.value.id == "audit" and func.attr in ("record", "Entry")
    return isinstance(func, ast.Name) and func.id == "Entry"


def _written() -> tuple[set[str], set[str], set[str]]:
    """The actions, kinds of record and change fields of every audit call in the code:
    ``audit.record(...)``, ``audit.Entry(...)`` and the record history's ``Entry(...)``."""
    actions: set[str] = set()
    entities: set[str] = set()
    fields: set[str] = set()
    for path in PORTAL.rglob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign):
                # changes["register_values"] = [...] before the call records ``changes``.
                for target in node.targets:
                    if (
                        isinstance(target, ast.Subscript)
                        and isinstance(target.value, ast.Name)
                        and target.value.id == "changes"
                        and isinstance(target.slice, ast.Constant)
                    ):
                        fields.add(target.slice.value)
            if isinstance(node, ast.FunctionDef | ast.Call):
                # A service that records the action its caller names: update_person(...,
                # action="review.verified_in_person"), with "person.update" by default.
                if isinstance(node, ast.FunctionDef):
                    defaults = node.args.defaults
                    with_default = node.args.args[len(node.args.args) - len(defaults) :]
                    named = list(zip(with_default, defaults, strict=True))
                else:
                    named = [(k, k.value) for k in node.keywords]
                for arg, value in named:
                    if (
                        getattr(arg, "arg", None) == "action"
                        and isinstance(value, ast.Constant)
                        and "." in str(value.value)
                    ):
                        actions.add(value.value)
            if not isinstance(node, ast.Call) or not _is_audit_call(node):
                continue
            args = list(node.args)
            # The history's Entry starts with the time; the trail's with the action.
            if args and isinstance(node.func, ast.Name) and path.name == "history.py":
                args = args[1:2] + [ast.Constant(None)] + args[4:]
            if len(args) < 2:
                continue
            action, entity = args[0], args[1]
            if isinstance(action, ast.Constant) and isinstance(action.value, str):
                actions.add(action.value)
            elif isinstance(action, ast.JoinedStr):
                pattern = "".join(
                    v.value if isinstance(v, ast.Constant) else "{" + ast.unparse(v.value) + "}"
                    for v in action.values
                )
                assert pattern in DYNAMIC_ACTIONS, f"{path}: an action built as {pattern!r}"
                actions |= DYNAMIC_ACTIONS[pattern]
            if isinstance(entity, ast.Constant) and isinstance(entity.value, str):
                entities.add(entity.value)
            for argument in args[2:]:
                for inner in ast.walk(argument):
                    if isinstance(inner, ast.Dict):
                        fields |= {k.value for k in inner.keys if isinstance(k, ast.Constant)}
    return actions, entities, fields | BUILT_FIELDS


def _render(app, template: str, **context) -> str:
    with app.test_request_context("/"), force_locale("vi"):
        return app.jinja_env.from_string(template).render(**context)


def _unlabelled(app, template: str, codes, name: str = "code") -> list[str]:
    """The codes the template helper shows as they are (no label) in Vietnamese."""
    out = []
    for code in sorted(codes):
        shown = _render(app, template, **{name: code})
        if shown.strip() in ("", str(code)):
            out.append(str(code))
    return out


def test_the_scan_finds_what_the_portal_writes():
    actions, entities, fields = _written()
    assert (
        len(actions) > 80
        and {
            "person.update",
            "auth.login",
            "feedback.resolved",
            "worklist.receive",
            "document.sign.minutes",
        }
        <= actions
    )
    assert {"person", "user", "feedback", "signed_document", "import_batch"} <= entities
    assert {"full_name", "register_values", "recovery_codes_left", "entries"} <= fields


def test_every_audit_action_has_vietnamese_words(app):
    actions, _, _ = _written()
    assert _unlabelled(app, "{{ action_label(code) }}", actions) == []


def test_every_kind_of_record_has_vietnamese_words(app):
    _, entities, _ = _written()
    assert _unlabelled(app, "{{ entity_label(code) }}", entities) == []


def test_every_field_an_event_holds_has_vietnamese_words(app):
    _, _, fields = _written()
    dose_fields = {
        f"dose_2.{c.key}"
        for c in sa.inspect(Dose).column_attrs
        if c.key not in ("id", "person_id", "import_batch_id")
    }
    dose_fields.add("dose_2.identity_acknowledged")
    assert _unlabelled(app, "{{ field_label(code) }}", fields | dose_fields) == []


def test_an_account_s_deactivation_reads_in_words(app):
    """Issue 16: the trail showed an account's deactivation as its code and Python's values,
    "active: True → False"; it reads as the accounts page and export say it."""
    assert _render(app, "{{ field_label('active') }}") == "Đang hoạt động"
    shown = _render(
        app, "{{ change_value('active', a) }} → {{ change_value('active', b) }}", a=True, b=False
    )
    assert shown == "có → không"


def _status_columns() -> list[tuple[str, type[enum.Enum]]]:
    """Every status or state column of the models: (column name, its enum)."""
    out = []
    for mapper in db.Model.registry.mappers:
        for column in mapper.columns:
            enum_class = getattr(column.type, "enum_class", None)
            if enum_class is None:
                continue
            if column.key in ("status", "state", "outcome") or enum_class.__name__.endswith(
                ("Status", "State")
            ):
                out.append((column.key, enum_class))
    return out


def test_every_status_value_has_vietnamese_words(app):
    columns = _status_columns()
    assert len(columns) >= 9
    # A complaint's answer clock is computed, not stored; its page shows it all the same.
    columns.append(("clock", ClockState))
    missing = []
    for name, enum_class in columns:
        for member in enum_class:
            for template in ("{{ change_value(name, code) }}", "{{ value_label(name, code) }}"):
                shown = _render(app, template, name=name, code=member.value)
                if shown == member.value:
                    missing.append(f"{enum_class.__name__}.{member.name} ({template})")
    assert missing == []


def test_the_labels_are_translated_not_only_named(app):
    """A label whose Vietnamese is missing from the catalogue shows its English source."""
    registry = labels.registry()
    untranslated = []
    for table in (registry.actions, registry.entities, registry.fields, *registry.values.values()):
        for label in table.values():
            with app.test_request_context("/"), force_locale("vi"):
                shown = str(label)
            if (
                shown == labels._source(label)
                and any(c.isalpha() for c in shown)
                and shown not in {"SHA-256"}
            ):
                untranslated.append(shown)
    assert sorted(set(untranslated)) == []


def test_the_record_history_and_the_audit_trail_use_the_same_words(app):
    """One table: the record page's history and the trail (and its export) call the same
    helper, so an action reads the same on both."""
    from portal.audit import routes as audit_routes

    assert audit_routes.action_label is labels.action_label
    assert app.jinja_env.globals["action_label"] is labels.action_label
    assert (
        _render(app, "{{ action_label('person.recheck') }}")
        == _render(app, "{{ action_label(code) }}", code="person.recheck")
        == "Kiểm tra lại với CSDL dân cư"
    )


def test_the_record_page_and_the_trail_name_an_action_alike(
    client, app, login_as, make_user, make_person
):
    """Actions the two pages used to word differently read the same on both."""
    officer = make_user(Role.POLICE, OWN, username="congan.nhan")
    person = make_person(full_name="Lò Văn Pả")
    actions = (
        "person.recheck",
        "person.supersede_confirmation",
        "worklist.add_register_update",
        "worklist.add_correction",
    )
    for action in actions:
        audit.record(
            action, "person", person.id, {"status": ["mismatch", "matched"]}, actor=officer
        )
    db.session.commit()
    login_as(Role.HEALTH_STATION, OWN)
    page = client.get(f"/records/{person.id}").get_data(as_text=True)
    history = page.split('data-testid="history"')[1].split("</table>")[0]
    administrator = app.test_client()
    login(administrator, make_user(Role.ADMIN, HANOI).username)
    trail = administrator.get(f"/audit?entity_type=person&entity_id={person.id}")
    trail = trail.get_data(as_text=True)
    for action in actions:
        words = _render(app, "{{ action_label(code) }}", code=action)
        assert words != action and f"<td>{words}</td>" in history
        assert f"{words}<div><code>{action}</code></div>" in trail
    assert "Khớp CSDL dân cư" in history and "Khớp CSDL dân cư" in trail


def test_two_words_for_one_code_are_refused():
    from flask_babel import lazy_gettext as _l

    table: dict = {"person.update": _l("Record changed")}
    labels._merge(table, {"person.update": _l("Record changed")}, "same words")
    with pytest.raises(labels.LabelConflict):
        labels._merge(table, {"person.update": _l("Record edited")}, "other words")
