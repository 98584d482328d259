"""E-mail for invitations and password resets, through the school's SMTP server when SMTP_URL is set.

smtp://user:password@host:587 uses STARTTLS whenever the server offers it; smtps://host:465 is TLS from the first
byte. Without SMTP_URL nothing is sent and the admin copies the link from the page, which shows it either way.
"""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from urllib.parse import unquote, urlsplit

from ..extensions import settings

TIMEOUT_S = 10


def send(to: str, subject: str, body: str) -> bool:
    """True once the server accepted the message; False when no SMTP server is set up. Raises OSError or
    smtplib.SMTPException when the server cannot be reached or refuses (the caller says so in words)."""
    configured = settings().smtp_url
    if configured is None or not configured.get_secret_value():
        return False
    parts = urlsplit(configured.get_secret_value())
    message = EmailMessage()
    message["From"] = settings().mail_from
    message["To"] = to
    message["Subject"] = subject
    message.set_content(body)
    host = parts.hostname or "localhost"
    if parts.scheme == "smtps":
        client: smtplib.SMTP = smtplib.SMTP_SSL(
            host, parts.port or 465, timeout=TIMEOUT_S, context=ssl.create_default_context()
        )
    else:
        client = smtplib.SMTP(host, parts.port or 25, timeout=TIMEOUT_S)
    with client:
        if parts.scheme != "smtps":
            client.ehlo()
            if client.has_extn("starttls"):
                client.starttls(context=ssl.create_default_context())
                client.ehlo()
        if parts.username:
            client.login(unquote(parts.username), unquote(parts.password or ""))
        client.send_message(message)
    return True
