"""Password reset and invitations by e-mail, delivered to a local SMTP server (aiosmtpd)."""

from __future__ import annotations

import asyncio
import re
import socket
from collections.abc import AsyncIterator, Iterator
from email import message_from_bytes
from email.message import Message
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from fastapi import FastAPI

from chatbot_platform.app import create_app
from chatbot_platform.models import Role
from chatbot_platform.settings import Settings
from tests.admin.helpers import PASSWORD, Account, csrf_in, csrf_token, log_in, make_member, post_form
from tests.factories import make_tenant

LINK = re.compile(r"http://testserver(/admin/\S+)")


class Inbox:
    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"

    async def wait_for(self, count: int, within: float = 10.0) -> Message:
        for _ in range(int(within / 0.05)):
            if len(self.messages) >= count:
                return self.messages[count - 1]
            await asyncio.sleep(0.05)
        raise AssertionError(f"expected {count} e-mail(s), got {len(self.messages)}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def inbox() -> Iterator[tuple[Inbox, int]]:
    handler, port = Inbox(), free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    yield handler, port
    controller.stop()


@pytest.fixture
async def mail_app(settings: Settings, inbox: tuple[Inbox, int]) -> AsyncIterator[FastAPI]:
    configured = settings.replace(
        MAIL_MAILER="smtp",
        MAIL_HOST="127.0.0.1",
        MAIL_PORT=str(inbox[1]),
        MAIL_ENCRYPTION="none",
        MAIL_FROM_ADDRESS="admin@chatbot.example",
        APP_URL="http://testserver",
    )
    application = create_app(configured)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def mail_web(mail_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=mail_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


def link_in(message: Message) -> str:
    body = message.get_payload(decode=True)
    assert isinstance(body, bytes)
    found = LINK.search(body.decode())
    assert found is not None, body
    return found.group(1)


async def test_a_forgotten_password_is_reset_through_the_link_sent_by_smtp(
    mail_app: FastAPI, mail_web: httpx.AsyncClient, inbox: tuple[Inbox, int]
) -> None:
    mailbox, _ = inbox
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=mail_app), base_url="http://t") as api:
        tenant = await make_tenant(api, slug="mailed")
    account = await make_member(mail_app, tenant.id, "forgetful@example.com", Role.EDITOR)
    token = await csrf_token(mail_web, "/admin/password/forgot")
    unknown = await mail_web.post(
        "/admin/password/forgot", data={"email": "nobody@example.com", "csrf_token": token}
    )
    sent = await mail_web.post("/admin/password/forgot", data={"email": account.email, "csrf_token": token})
    assert (
        unknown.text.count("riceverai") == sent.text.count("riceverai") == 1
    )  # same answer: no account probing
    message = await mailbox.wait_for(1)
    assert message["To"] == account.email
    assert "admin@chatbot.example" in message["From"]
    assert len(mailbox.messages) == 1
    link = link_in(message)
    form = await mail_web.get(link)
    assert form.status_code == 200
    new_password = "a brand new password 42"
    short = await mail_web.post(
        link, data={"password": "short", "password_again": "short", "csrf_token": csrf_in(form.text)}
    )
    assert short.status_code == 422
    done = await mail_web.post(
        link,
        data={"password": new_password, "password_again": new_password, "csrf_token": csrf_in(form.text)},
    )
    assert done.status_code == 303
    assert done.headers["location"] == "/admin/login?notice=reset.done"
    assert (await mail_web.get(link)).status_code == 404  # spent
    await log_in(mail_web, Account(account.email, new_password))
    old = await mail_web.post(
        "/admin/login",
        data={"email": account.email, "password": PASSWORD, "csrf_token": await csrf_token(mail_web)},
    )
    assert old.status_code == 401


async def test_an_invited_user_sets_a_password_and_lands_in_the_tenant(
    mail_app: FastAPI, mail_web: httpx.AsyncClient, inbox: tuple[Inbox, int]
) -> None:
    mailbox, _ = inbox
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=mail_app), base_url="http://t") as api:
        tenant = await make_tenant(api, slug="inviting", name="Comune di Prova")
    owner = await make_member(mail_app, tenant.id, "owner@example.com", Role.OWNER)
    await log_in(mail_web, owner)
    invited = await post_form(
        mail_web,
        "/admin/t/inviting/members",
        {"email": "New.Person@example.com", "role": "analyst"},
        page="/admin/t/inviting/members",
    )
    assert invited.status_code == 200
    assert "new.person@example.com" in invited.text
    message = await mailbox.wait_for(1)
    assert "Comune di Prova" in str(message["Subject"])
    link = link_in(message)
    assert link.startswith("/admin/invitations/")
    await post_form(mail_web, "/admin/logout", page="/admin/t/inviting/")
    form = await mail_web.get(link)
    accepted = await mail_web.post(
        link,
        data={
            "name": "Nuova Persona",
            "password": PASSWORD,
            "password_again": PASSWORD,
            "csrf_token": csrf_in(form.text),
        },
    )
    assert accepted.status_code == 303
    home = await mail_web.get("/admin/t/inviting/")
    assert home.status_code == 200
    assert "new.person@example.com" in home.text
    assert "Analista" in home.text
    refused = await post_form(
        mail_web, "/admin/t/inviting/knowledge-bases", {"name": "x"}, page="/admin/t/inviting/"
    )
    assert refused.status_code == 403
