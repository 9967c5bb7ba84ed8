"""The register domain's fixtures: a stand-in population database service (stub_register.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.registry.stub_register import StubRegister


@pytest.fixture
def register_stub(app, monkeypatch) -> Iterator[StubRegister]:
    """A running stub, with ``REGISTER_URL`` pointing at it for the test's duration."""
    stub = StubRegister().start()
    monkeypatch.setitem(app.config, "REGISTER_URL", stub.url)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    monkeypatch.setenv("no_proxy", "127.0.0.1")
    try:
        yield stub
    finally:
        stub.stop()
