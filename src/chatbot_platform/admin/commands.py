"""`cbp admin create`: the first platform administrator of the admin UI."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from chatbot_platform.kit.cli import fail, out, with_session

admin_app = typer.Typer(help="Admin UI accounts.", no_args_is_help=True)


@admin_app.command("create")
def create_admin(
    email: Annotated[str, typer.Option(help="The administrator's e-mail (the login).")],
    name: Annotated[str, typer.Option(help="The administrator's name.")] = "Administrator",
    password: Annotated[
        str | None,
        typer.Option(
            envvar="CBP_ADMIN_PASSWORD",
            help="At least 12 characters (or CBP_ADMIN_PASSWORD); asked for when omitted.",
        ),
    ] = None,
) -> None:
    """Create a platform administrator (or promote an existing user) who signs in at /admin."""
    from pydantic import EmailStr, TypeAdapter, ValidationError

    from chatbot_platform.admin import service
    from chatbot_platform.audit import service as audit

    try:
        address = str(TypeAdapter(EmailStr).validate_python(email))
    except ValidationError:
        raise fail(f"not an e-mail address: {email!r}", code=2) from None
    if password is None:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    if len(password) < service.MIN_PASSWORD_LENGTH:
        raise fail(f"the password needs at least {service.MIN_PASSWORD_LENGTH} characters", code=2)

    async def work(session: AsyncSession) -> dict[str, Any]:
        user = await service.create_platform_admin(session, address, name, password)
        await audit.record(session, actor="cli", action="admin.platform_admin_created", target=user)
        return {"id": str(user.id), "email": user.email, "platform_admin": True}

    out.print_json(json.dumps(with_session(work)))
