"""Notification adapters: how the outbox reaches the citizen. The default writes to the log;
a deployment sets FEEDBACK_SMS_ADAPTER / FEEDBACK_EMAIL_ADAPTER to ``module:Class``."""

from __future__ import annotations

import importlib
import logging
from typing import Protocol

from flask import current_app

log = logging.getLogger("portal.feedback.notify")


class Adapter(Protocol):
    def send(self, recipient: str, body: str) -> None: ...


class LogAdapter:
    def __init__(self, channel: str):
        self.channel = channel

    def send(self, recipient: str, body: str) -> None:
        # The recipient is masked: the log is read by more people than the outbox.
        log.info("%s to %s: %s", self.channel, mask(recipient), body)


def mask(recipient: str) -> str:
    return recipient[:3] + "***" + recipient[-2:] if len(recipient) > 5 else "***"


def adapter_for(channel: str) -> Adapter:
    path = current_app.config.get(f"FEEDBACK_{channel.upper()}_ADAPTER") or ""
    if not path:
        return LogAdapter(channel)
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)()
