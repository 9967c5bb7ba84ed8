"""Issue 14, item 4 (b): the chain's head anchored outside the database.

Whoever holds the database login can rewrite the chain so that it holds together: cut
events from the end and set the head back, or remove one in the middle and re-chain the
rest with the portal's own hash function. Alone, the chain cannot tell; a signed,
time-stamped checkpoint that saw it before can. The attacks run as the tables' owner (the
application's role may not lift the triggers: test_roles.py), on SQLite as on PostgreSQL.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa
from flask_babel import force_locale

from portal.audit import services as audit
from portal.audit.models import AuditEvent, AuditHead
from portal.core.clock import format_time, utcnow
from portal.extensions import db
from portal.signing import checkpoints, core, pki
from portal.signing import demo as signing_demo
from portal.signing.jobs import run_checkpoint
from tests.audit.conftest import event_hash, record_events, tamper, vi


@pytest.fixture
def folder(app, tmp_path, monkeypatch):
    """A checkpoint folder of the test's own, and the demo's organisation key and TSA."""
    with app.app_context():
        signing_demo.ensure_pki()
    monkeypatch.setitem(app.config, "AUDIT_CHECKPOINT_DIR", str(tmp_path / "checkpoints"))
    return tmp_path / "checkpoints"


@pytest.fixture
def run(app):
    runner = app.test_cli_runner()

    def invoke(*args: str):
        return runner.invoke(args=list(args))

    return invoke


def head() -> tuple[int, str]:
    row = db.session.get(AuditHead, 1)
    return row.seq, row.hash


def stamped(folder, seq: int) -> str:
    """The time-stamp of the checkpoint at ``seq``, as the command prints it."""
    with force_locale("vi"):
        return format_time(checkpoints.read(folder / f"{seq:012d}.json").stamped_at)


def set_head(seq: int) -> None:
    tamper(
        ("UPDATE audit_head SET seq = :s, hash = :h WHERE id = 1", {"s": seq, "h": event_hash(seq)})
    )


def rechain_without(removed: int) -> None:
    """Remove one event and re-chain every later one with the portal's own hash function,
    moving each one place down, then set the head on the new last event."""
    later = [
        seq
        for (seq,) in db.session.execute(
            sa.select(AuditEvent.seq).where(AuditEvent.seq > removed).order_by(AuditEvent.seq)
        )
    ]
    prev_hash = event_hash(removed - 1)
    tamper(("DELETE FROM audit_event WHERE seq = :s", {"s": removed}))
    for seq in later:
        tamper(("UPDATE audit_event SET seq = :new WHERE seq = :old", {"new": seq - 1, "old": seq}))
        event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.seq == seq - 1))
        forged = audit.chain_hash(prev_hash, event)
        tamper(
            (
                "UPDATE audit_event SET prev_hash = :p, hash = :h WHERE seq = :s",
                {"p": prev_hash, "h": forged, "s": seq - 1},
            )
        )
        prev_hash = forged
    tamper(
        (
            "UPDATE audit_head SET seq = :s, hash = :h WHERE id = 1",
            {"s": later[-1] - 1, "h": prev_hash},
        )
    )


# --- written and checked ----------------------------------------------------------------


def test_a_checkpoint_signs_the_head_and_anyone_can_check_it(folder, run, cli):
    record_events(3)
    result = run("audit", "checkpoint")
    assert result.exit_code == 0, result.output
    seq, head_hash = head()
    payload = folder / f"{seq:012d}.json"
    signature = folder / f"{seq:012d}.json.p7s"
    assert payload.is_file() and signature.is_file()
    content = json.loads(payload.read_bytes())
    assert (content["format"], content["seq"], content["hash"]) == (
        checkpoints.FORMAT,
        seq,
        head_hash,
    )
    assert {oct(path.stat().st_mode & 0o777) for path in (payload, signature)} == {"0o600"}
    assert str(payload) in result.output and head_hash in result.output

    written = checkpoints.read(payload)
    assert written.ok, written.problem
    assert written.stamped_at is not None, "time-stamped by the TSA"
    assert "KHÔNG DÙNG THẬT" in written.signer

    # A tool the portal did not write checks the signature over exactly those bytes.
    if shutil.which("openssl"):
        ca = os.path.join(signing_demo.services.demo_pki_dir(), "ca.pem")
        checked = subprocess.run(
            [
                "openssl",
                "cms",
                "-verify",
                "-binary",
                "-inform",
                "DER",
                "-in",
                str(signature),
                "-content",
                str(payload),
                "-CAfile",
                ca,
                "-purpose",
                "any",
                "-out",
                os.devnull,
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        assert checked.returncode == 0, checked.stderr

    verified = cli()
    assert verified.exit_code == 0, verified.output
    assert f"#{seq}" in verified.output

    # Nothing appended since: no second checkpoint.
    again = run("audit", "checkpoint")
    assert again.exit_code == 0
    assert vi("Nothing was appended since the last checkpoint; none written.") in again.output
    assert len(list(folder.glob("*.json"))) == 1

    # Events appended after the last checkpoint are checked as before, and the next one
    # covers them.
    record_events(2)
    assert cli().exit_code == 0
    assert run("audit", "checkpoint").exit_code == 0
    assert len(list(folder.glob("*.json"))) == 2
    assert cli().exit_code == 0


def test_verify_says_when_there_is_no_checkpoint_yet(folder, cli):
    result = cli()
    assert result.exit_code == 0
    assert vi("No signed checkpoint yet: flask audit checkpoint writes one.") in result.output


# --- the two attacks of the issue -------------------------------------------------------


@pytest.mark.as_owner
def test_events_cut_from_the_end_and_the_head_set_back(folder, run, cli, unguarded):
    seqs = [event.seq for event in record_events(4)]
    assert run("audit", "checkpoint").exit_code == 0
    covered = seqs[-1]
    tamper(("DELETE FROM audit_event WHERE seq >= :s", {"s": seqs[2]}))
    set_head(seqs[1])
    assert audit.verify_chain().ok, "the chain alone holds together"

    result = cli()
    assert result.exit_code == 1, result.output
    assert (
        vi(
            "Audit chain BROKEN at event #%(seq)d: the chain ends at event #%(n)d, but "
            "checkpoint %(file)s (time-stamped %(time)s) signed it up to event #%(seq)d; events "
            "were removed from the end.",
            seq=covered,
            n=seqs[1],
            file=f"{covered:012d}.json",
            time=stamped(folder, covered),
        )
        in result.output
    )
    # Nor is a new checkpoint signed over the cut chain.
    refused = run("audit", "checkpoint")
    assert refused.exit_code == 1
    assert not (folder / f"{seqs[1]:012d}.json").exists()


@pytest.mark.as_owner
def test_an_event_removed_in_the_middle_and_the_rest_re_chained(folder, run, cli, unguarded):
    seqs = [event.seq for event in record_events(5)]
    assert run("audit", "checkpoint").exit_code == 0
    covered = seqs[-1]
    rechain_without(seqs[1])
    assert audit.verify_chain().ok, "re-chained with the portal's own hash function"
    assert head()[0] == covered - 1

    # One event fewer: the chain now ends before the event the checkpoint signed.
    result = cli()
    assert result.exit_code == 1, result.output
    assert f"#{covered}" in result.output and f"{covered:012d}.json" in result.output

    # Once the portal appends again, that place holds another event than the one signed:
    # the rewrite is caught all the same.
    audit.record("test.after", "thing", 1)
    db.session.commit()
    db.session.expire_all()
    assert audit.verify_chain().ok
    result = cli()
    assert result.exit_code == 1, result.output
    assert (
        vi(
            "Audit chain BROKEN at event #%(seq)d: the chain up to this event is not the one "
            "checkpoint %(file)s signed (time-stamped %(time)s); events before it were changed, "
            "removed or re-chained.",
            seq=covered,
            file=f"{covered:012d}.json",
            time=stamped(folder, covered),
        )
        in result.output
    )


@pytest.mark.as_owner
def test_history_after_the_last_checkpoint_is_only_as_safe_as_the_chain(
    folder, run, cli, unguarded
):
    """The limit, said plainly: what came after the last checkpoint can be cut unseen."""
    record_events(2)
    assert run("audit", "checkpoint").exit_code == 0
    first_later = record_events(2)[0].seq
    tamper(("DELETE FROM audit_event WHERE seq >= :s", {"s": first_later}))
    set_head(first_later - 1)
    assert cli().exit_code == 0


# --- checkpoints that do not verify -----------------------------------------------------


def _one_checkpoint(run, folder):
    record_events(1)
    assert run("audit", "checkpoint").exit_code == 0
    [payload] = folder.glob("*.json")
    return payload


def test_a_checkpoint_edited_after_signing_fails(folder, run, cli):
    payload = _one_checkpoint(run, folder)
    content = json.loads(payload.read_bytes())
    content["seq"] -= 1
    payload.write_bytes(json.dumps(content, sort_keys=True).encode())
    result = cli()
    assert result.exit_code == 1
    assert (
        vi(
            "Checkpoint %(file)s does not verify: %(problem)s.",
            file=payload.name,
            problem=vi("its signature does not match its content"),
        )
        in result.output
    )


def test_a_checkpoint_without_its_signature_fails(folder, run, cli):
    payload = _one_checkpoint(run, folder)
    payload.with_name(payload.name + ".p7s").unlink()
    result = cli()
    assert result.exit_code == 1
    assert vi("its signature file is missing") in result.output


def test_a_checkpoint_signed_by_an_untrusted_key_fails(folder, run, cli):
    payload = _one_checkpoint(run, folder)
    stranger_ca = pki.make_ca("Người lạ CA")
    stranger = pki.issue(stranger_ca, "Kẻ giả mạo")
    signer = core.ParsedKeySigner(stranger.key, stranger.cert, [stranger_ca.cert])
    timestamper = signing_demo.services.tsa_config().timestamper()
    payload.with_name(payload.name + ".p7s").write_bytes(
        core.sign_detached(payload.read_bytes(), signer, timestamper)
    )
    result = cli()
    assert result.exit_code == 1
    assert vi("its signer's certificate is not trusted") in result.output


def test_a_checkpoint_without_a_time_stamp_fails(folder, run, cli):
    import asyncio

    payload = _one_checkpoint(run, folder)
    signer = signing_demo.services.organisation_signer()
    unstamped = asyncio.run(
        signer.async_sign_general_data(
            payload.read_bytes(), "sha256", detached=True, use_cades=True
        )
    )
    payload.with_name(payload.name + ".p7s").write_bytes(unstamped.dump())
    result = cli()
    assert result.exit_code == 1
    assert vi("it has no valid time-stamp") in result.output


def test_verify_reads_a_copy_kept_elsewhere(folder, run, cli, tmp_path):
    payload = _one_checkpoint(run, folder)
    copy = tmp_path / "elsewhere"
    shutil.copytree(folder, copy)
    payload.unlink()  # the instance's copy is gone; the one kept elsewhere still counts
    payload.with_name(payload.name + ".p7s").unlink()
    nothing = vi("No signed checkpoint yet: flask audit checkpoint writes one.")
    elsewhere = cli("--checkpoints", str(copy))
    assert elsewhere.exit_code == 0 and nothing not in elsewhere.output
    assert f"#{head()[0]}" in elsewhere.output
    assert nothing in cli().output


def test_no_organisation_key_no_checkpoint(folder, run, app, monkeypatch, tmp_path):
    monkeypatch.setitem(app.config, "SIGNING_DEMO_PKI_DIR", str(tmp_path / "no-pki"))
    record_events(1)
    result = run("audit", "checkpoint")
    assert result.exit_code == 1
    assert (
        vi("No organisation key: set SIGNING_ORGANISATION_P12 (and SIGNING_ORGANISATION_PASSWORD).")
        in result.output
    )
    assert not list(folder.glob("*.json"))


def test_the_organisation_key_from_a_pkcs12_file(folder, run, app, monkeypatch, tmp_path):
    ca, _created = signing_demo.ensure_pki()
    organisation = pki.issue(ca, "Sở Y tế Hà Nội", unit="Cổng đối soát")
    p12 = tmp_path / "organisation.p12"
    p12.write_bytes(pki.to_pkcs12(organisation, ca, "mat-khau-to-chuc"))
    monkeypatch.setitem(app.config, "SIGNING_ORGANISATION_P12", str(p12))
    monkeypatch.setitem(app.config, "SIGNING_ORGANISATION_PASSWORD", "sai")
    record_events(1)
    refused = run("audit", "checkpoint")
    assert refused.exit_code == 1 and "SIGNING_ORGANISATION_P12" in refused.output
    monkeypatch.setitem(app.config, "SIGNING_ORGANISATION_PASSWORD", "mat-khau-to-chuc")
    assert run("audit", "checkpoint").exit_code == 0
    [payload] = folder.glob("*.json")
    assert "Sở Y tế Hà Nội" in checkpoints.read(payload).signer


# --- the worker --------------------------------------------------------------------------


def test_the_worker_writes_one_when_due(folder, app, monkeypatch, caplog):
    record_events(1)
    monkeypatch.setitem(app.config, "AUDIT_CHECKPOINT_MINUTES", 60)
    first = run_checkpoint()
    assert first is not None and first.ok
    record_events(1)
    assert run_checkpoint() is None, "not due: the last is younger than an hour"
    an_hour_ago = (datetime.now() - timedelta(minutes=61)).timestamp()
    os.utime(first.path, (an_hour_ago, an_hour_ago))
    second = run_checkpoint()
    assert second is not None and second.seq == head()[0]

    monkeypatch.setitem(app.config, "AUDIT_CHECKPOINT_MINUTES", 0)
    record_events(1)
    assert run_checkpoint() is None, "0 turns them off"

    monkeypatch.setitem(app.config, "AUDIT_CHECKPOINT_MINUTES", 1)
    monkeypatch.setitem(app.config, "SIGNING_DEMO_PKI_DIR", str(folder / "none"))
    os.utime(second.path, ((datetime.now() - timedelta(minutes=2)).timestamp(),) * 2)
    with caplog.at_level(logging.ERROR):
        assert run_checkpoint() is None
    assert "audit checkpoint not written" in caplog.text


def test_events_appended_meanwhile_do_not_look_like_a_cut(folder):
    """The walk goes up to the head it read first. An appender that commits during the
    walk (the worker checks a live chain) leaves events beyond that head: they wait for
    the next check instead of being taken for a head set back."""
    record_events(2)
    seq, head_hash = head()
    late = AuditEvent(
        seq=seq + 1,
        occurred_at=utcnow(),
        action="test.late",
        entity_type="thing",
        changes={},
        prev_hash=head_hash,
    )
    late.hash = audit.chain_hash(head_hash, late)
    db.session.add(late)
    db.session.flush()
    report = audit.verify_chain()
    assert report.ok, report
    assert report.head == (seq, head_hash)
