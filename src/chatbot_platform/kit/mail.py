"""Sending e-mail per MAIL_*: SMTP (plain, STARTTLS or SSL), or only a log line when MAIL_MAILER is
not smtp. The blocking SMTP conversation runs in a worker thread."""

from __future__ import annotations

import asyncio
import logging
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formataddr

from chatbot_platform.settings import Settings

log = logging.getLogger("chatbot_platform.mail")
SMTP_TIMEOUT_SECONDS = 15


class MailFailed(Exception):
    """The SMTP server refused the message or could not be reached; the message is the error's kind."""


def build_message(settings: Settings, to: str, subject: str, body: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = formataddr((settings.mail.from_name, settings.mail.from_address))
    message["To"] = to
    message["Subject"] = subject
    message.set_content(body)
    return message


def _send_smtp(settings: Settings, message: EmailMessage) -> None:
    mail = settings.mail
    password = mail.password.get_secret_value() if mail.password else None
    smtp: smtplib.SMTP
    if mail.encryption == "ssl":
        context = ssl.create_default_context()
        smtp = smtplib.SMTP_SSL(mail.host, mail.port, timeout=SMTP_TIMEOUT_SECONDS, context=context)
    else:
        smtp = smtplib.SMTP(mail.host, mail.port, timeout=SMTP_TIMEOUT_SECONDS)
    with smtp:
        if mail.encryption == "tls":
            smtp.starttls(context=ssl.create_default_context())
        if mail.username and password:
            smtp.login(mail.username, password)
        smtp.send_message(message)


async def deliver(settings: Settings, to: str, subject: str, body: str) -> bool:
    """Send one e-mail; False when MAIL_MAILER is not smtp (only logged). Raises MailFailed.
    The body is never logged: it may hold a one-use link."""
    if settings.mail.mailer != "smtp":
        log.info("e-mail not sent (MAIL_MAILER=%s)", settings.mail.mailer, extra={"subject": subject})
        return False
    try:
        await asyncio.to_thread(_send_smtp, settings, build_message(settings, to, subject, body))
    except (OSError, smtplib.SMTPException) as exc:
        raise MailFailed(type(exc).__name__) from None
    return True
