"""Sending the report email: SMTP settings from the environment, STARTTLS / SSL / plain relay.

Off unless `MARINA_SMTP_HOST` is set. The password is read from `MARINA_SMTP_PASSWORD` at the
moment of login and kept nowhere else: not in the settings object, its repr, logs or metadata.

| variable | default | meaning |
| --- | --- | --- |
| `MARINA_SMTP_HOST` | unset (email off) | SMTP server |
| `MARINA_SMTP_PORT` | 587 / 465 (ssl) / 25 (none) | port |
| `MARINA_SMTP_SECURITY` | starttls | `starttls`, `ssl` or `none` (an internal relay) |
| `MARINA_SMTP_USER`, `MARINA_SMTP_PASSWORD` | unset | login (skipped when no user) |
| `MARINA_SMTP_FROM` | the user | sender |
| `MARINA_SMTP_TO` | required | recipients, comma separated |
| `MARINA_SMTP_SUBJECT_PREFIX` | `[Resilient Marina ETL]` | subject prefix |
| `MARINA_SMTP_ATTACH_BACKUPS` | false | attach the run's source backups… |
| `MARINA_SMTP_ATTACH_MAX_MB` | 20 | …when together no larger than this |
"""

from __future__ import annotations

import os
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage

DEFAULT_PREFIX = "[Resilient Marina ETL]"
_PORTS = {"starttls": 587, "ssl": 465, "none": 25}


class EmailConfigError(ValueError):
    pass


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    security: str  # starttls | ssl | none
    user: str | None
    sender: str
    recipients: tuple[str, ...]
    subject_prefix: str = DEFAULT_PREFIX
    attach_backups: bool = False
    attach_max_bytes: int = 20 * 1024 * 1024
    timeout_seconds: float = 30.0

    @staticmethod
    def from_env() -> SmtpSettings | None:
        env = os.environ
        host = env.get("MARINA_SMTP_HOST", "").strip()
        if not host:
            return None
        security = env.get("MARINA_SMTP_SECURITY", "starttls").strip().lower() or "starttls"
        if security not in _PORTS:
            raise EmailConfigError(f"MARINA_SMTP_SECURITY={security!r} is not starttls|ssl|none")
        recipients = tuple(a.strip() for a in env.get("MARINA_SMTP_TO", "").split(",") if a.strip())
        user = env.get("MARINA_SMTP_USER", "").strip() or None
        sender = env.get("MARINA_SMTP_FROM", "").strip() or user
        if not recipients or not sender:
            raise EmailConfigError(
                "MARINA_SMTP_HOST is set but MARINA_SMTP_TO or MARINA_SMTP_FROM is missing"
            )
        port = env.get("MARINA_SMTP_PORT", "").strip()
        return SmtpSettings(
            host=host,
            port=int(port) if port else _PORTS[security],
            security=security,
            user=user,
            sender=sender,
            recipients=recipients,
            subject_prefix=env.get("MARINA_SMTP_SUBJECT_PREFIX", DEFAULT_PREFIX).strip() or DEFAULT_PREFIX,
            attach_backups=env.get("MARINA_SMTP_ATTACH_BACKUPS", "").strip().lower() in ("1", "true", "yes"),
            attach_max_bytes=int(float(env.get("MARINA_SMTP_ATTACH_MAX_MB", "20") or 20) * 1024 * 1024),
        )


def send(settings: SmtpSettings, message: EmailMessage) -> None:
    """Deliver `message` (From/To are set here) through the configured server."""
    del message["From"], message["To"]
    message["From"] = settings.sender
    message["To"] = ", ".join(settings.recipients)
    context = ssl.create_default_context()
    if settings.security == "ssl":
        smtp: smtplib.SMTP = smtplib.SMTP_SSL(
            settings.host, settings.port, timeout=settings.timeout_seconds, context=context
        )
    else:
        smtp = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout_seconds)
    with smtp:
        smtp.ehlo()
        if settings.security == "starttls":
            smtp.starttls(context=context)
            smtp.ehlo()
        if settings.user:
            try:
                smtp.login(settings.user, os.environ.get("MARINA_SMTP_PASSWORD", ""))
            except smtplib.SMTPAuthenticationError as e:
                # the server's reply only; never the credentials
                raise EmailConfigError(
                    f"SMTP login as {settings.user} on {settings.host}:{settings.port} failed: {e.smtp_code}"
                ) from None
        smtp.send_message(message, from_addr=settings.sender, to_addrs=list(settings.recipients))
