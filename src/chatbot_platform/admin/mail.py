"""The admin UI's e-mails (password resets, invitations), sent after the response."""

from __future__ import annotations

import logging

from chatbot_platform.kit.mail import MailFailed, deliver
from chatbot_platform.settings import Settings

log = logging.getLogger("chatbot_platform.admin.mail")


async def send(settings: Settings, to: str, subject: str, body: str) -> None:
    """Send one e-mail; a failure is logged (without the body: it holds a secret link), never raised."""
    try:
        await deliver(settings, to, subject, body)
    except MailFailed as exc:
        log.error("e-mail could not be sent", extra={"error": str(exc), "subject": subject})
