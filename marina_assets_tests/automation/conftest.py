"""Real servers for the automation tests: moto's S3 over HTTP and an aiosmtpd SMTP server."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest


@pytest.fixture()
def s3_bucket(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A moto S3 server on a free port, an empty bucket, and the MARINA_S3_* environment for it."""
    import boto3
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    for k, v in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "MARINA_S3_BUCKET": "marina-backups",
        "MARINA_S3_ENDPOINT_URL": endpoint,
    }.items():
        monkeypatch.setenv(k, v)
    boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket="marina-backups")
    try:
        yield endpoint
    finally:
        server.stop()


@dataclass
class Received:
    envelope_from: str
    recipients: list[str]
    message: EmailMessage


@dataclass
class SmtpSink:
    port: int
    messages: list[Received] = field(default_factory=list)
    logins: list[tuple[str, str]] = field(default_factory=list)

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd handler hook
        msg = message_from_bytes(envelope.original_content, policy=policy.default)
        self.messages.append(Received(envelope.mail_from, list(envelope.rcpt_tos), msg))  # type: ignore[arg-type]
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture()
def smtp_sink(monkeypatch: pytest.MonkeyPatch) -> Iterator[SmtpSink]:
    """A local SMTP server (plain, with AUTH) and the MARINA_SMTP_* environment pointing at it."""
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult

    sink = SmtpSink(port=_free_port())

    def authenticator(server, session, envelope, mechanism, auth_data):
        sink.logins.append((auth_data.login.decode(), auth_data.password.decode()))
        return AuthResult(success=auth_data.password == b"s3cr3t-pw")

    controller = Controller(
        sink, hostname="127.0.0.1", port=sink.port, authenticator=authenticator, auth_require_tls=False
    )
    controller.start()
    for k, v in {
        "MARINA_SMTP_HOST": "127.0.0.1",
        "MARINA_SMTP_PORT": str(sink.port),
        "MARINA_SMTP_SECURITY": "none",
        "MARINA_SMTP_USER": "etl@marina.test",
        "MARINA_SMTP_PASSWORD": "s3cr3t-pw",
        "MARINA_SMTP_FROM": "etl@marina.test",
        "MARINA_SMTP_TO": "ops@marina.test, cfo@marina.test",
    }.items():
        monkeypatch.setenv(k, v)
    try:
        yield sink
    finally:
        controller.stop()
