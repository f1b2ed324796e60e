"""A real SMTP server on 127.0.0.1 (aiosmtpd) for the sending tests, and Django's SMTP
backend pointed at it. Refusing chosen addresses or stopping the server stands in for
an SMTP server that is down or rejects mail."""

from __future__ import annotations

import email
import io
import socket
from dataclasses import dataclass, field
from email.message import Message
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from openpyxl import load_workbook


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Received:
    to: list[str]
    message: Message

    @property
    def subject(self) -> str:
        from email.header import decode_header, make_header

        return str(make_header(decode_header(self.message["Subject"])))

    def part(self, content_type: str) -> str:
        for p in self.message.walk():
            if p.get_content_type() == content_type and not p.get_filename():
                payload: Any = p.get_payload(decode=True)
                return payload.decode(p.get_content_charset() or "utf-8")
        raise AssertionError(f"no {content_type} part")

    def workbook_rows(self) -> list[tuple[Any, ...]]:
        for p in self.message.walk():
            if (p.get_filename() or "").endswith(".xlsx"):
                payload: Any = p.get_payload(decode=True)
                sheet: Any = load_workbook(io.BytesIO(payload)).active
                return [tuple(row) for row in sheet.iter_rows(values_only=True)]
        raise AssertionError("no XLSX attachment")


@dataclass
class Handler:
    received: list[Received] = field(default_factory=list)
    refuse: set[str] = field(default_factory=set)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return "550 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.original_content or envelope.content)
        self.received.append(Received(list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"


@dataclass
class Smtp:
    handler: Handler
    controller: Controller
    port: int

    @property
    def received(self) -> list[Received]:
        return self.handler.received

    def to(self, address: str) -> list[Received]:
        return [r for r in self.received if address in r.to]


def use_smtp(settings: Any, port: int) -> None:
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": port, "timeout": 5},
        }
    }


@pytest.fixture
def smtp(settings):
    """A running SMTP server that Django sends to; its received messages."""
    handler = Handler()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    use_smtp(settings, port)
    try:
        yield Smtp(handler, controller, port)
    finally:
        controller.stop()


@pytest.fixture
def smtp_down(settings):
    """Django sends to a port where nothing listens."""
    use_smtp(settings, free_port())
