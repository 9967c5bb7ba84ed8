"""What one domain tells the domains above it, without importing them: blinker signals
(a Flask dependency). The sender calls ``send`` inside its transaction; each receiver runs
at once, in the same transaction, and may answer (``send`` returns the answers).

Every signal is here, with who sends it and who receives it. Each domain connects its
receivers in its ``reactions.py``; ``connect_reactions`` imports them all when the app is
built (``core.web.init_app``), so that no reaction depends on what a request imported.

- ``person_changed``: records.services.update_person, after the change and its audit event.
  Sender: the ``Person``; ``before`` (its snapshot before the change), ``changes``
  ({field: [old, new]}), ``actor``. Received by registry (a new commune: the match result is
  filed under the old one and is dropped), signing (a confirmed person's identity
  changed: the confirmation is superseded) and passport (then their passport is revoked).
- ``confirmation_undone``: records.services.correct_person, when a correction of a
  confirmed person's identity undoes the confirmation. Sender: the ``Person``; ``actor``.
  Received by signing (the person is superseded in the documents that confirmed them) and
  passport (their passport is revoked).
- ``person_corrected``: records.services.correct_person, after the correction, to re-check
  the person against the population register at once. Sender: the ``Person``; ``actor``.
  Received by registry, which answers with its ``Recheck``.
- ``identity_checked``: records.dose_routes, on the dose form and before a dose is recorded,
  to check the person's identity against the population register. Sender: the ``Person``.
  Received by registry, which answers with its ``IdentityCheck``.
- ``handover_shown``: worklists.handover_routes, on a handover list's page, to ask what
  signing offers there. Sender: the ``Worklist``; ``user``. Received by signing, which
  answers with the list's signed copy (or None) and whether the user may sign the list.
- ``register_compared``: records.corrections.register_differences, for the persons a
  correction form or list shows. Sender: a tuple of ``Person``s (with an ID number, not
  foreign). Received by registry, which answers with the register's value of each field
  that differs ({person id: {field: RegisterValue}}).
- ``correction_row_shown``: records.correction_routes, when a row of the correction list
  is sent back after an inline edit, to ask which open correction list holds the person.
  Sender: the ``Person``. Received by worklists, which answers with the ``WorklistMember``
  (or None).
- ``history_shown``: records.history.record_history, for a record's history. Sender: the
  ``Person``; ``user``, ``limit``. Received by signing, which answers with an entry per
  signed document that holds the person (newest first, at most ``limit``).
"""

from __future__ import annotations

from functools import cache
from typing import Any

from blinker import Namespace

from portal.core.domains import domain_modules

_signals = Namespace()

person_changed = _signals.signal("person-changed")
confirmation_undone = _signals.signal("confirmation-undone")
person_corrected = _signals.signal("person-corrected")
identity_checked = _signals.signal("identity-checked")
handover_shown = _signals.signal("handover-shown")
register_compared = _signals.signal("register-compared")
correction_row_shown = _signals.signal("correction-row-shown")
history_shown = _signals.signal("history-shown")


@cache
def connect_reactions() -> None:
    """Every domain's receivers (its ``reactions.py``), connected once."""
    domain_modules("reactions")


def send(signal: Any, sender: Any, **kwargs: Any) -> list[tuple[Any, Any]]:
    """``signal.send``, every domain's receivers connected."""
    connect_reactions()
    return signal.send(sender, **kwargs)


def answer(signal: Any, sender: Any, **kwargs: Any) -> Any:
    """The one receiver's answer to ``signal`` (a question a lower domain asks above)."""
    answers = [value for _, value in send(signal, sender, **kwargs)]
    if len(answers) != 1:
        raise RuntimeError(f"{signal.name}: {len(answers)} answers, one expected")
    return answers[0]
