"""The `cbp` command: one sub-command group per feature."""

from __future__ import annotations

import asyncio
import json
import platform
import sys
import uuid
from typing import Annotated, Any, TypeVar

import typer
from rich.table import Table
from sqlalchemy.ext.asyncio import AsyncSession

from chatbot_platform import __version__
from chatbot_platform.admin.commands import admin_app
from chatbot_platform.ingestion.commands import ingest, kb_app
from chatbot_platform.kit.cli import fail, out, run_async, settings_or_exit, validation_message, with_session
from chatbot_platform.ops.commands import backup_app, cache_app, down, queue_app, restore, up, worker
from chatbot_platform.retrieval.commands import eval_command
from chatbot_platform.scheduler.commands import scheduler
from chatbot_platform.scraper.commands import scrape_app
from chatbot_platform.tenants.scopes import Scope

ResultT = TypeVar("ResultT")

app = typer.Typer(
    name="cbp", help="ChatbotPlatform command line.", no_args_is_help=True, add_completion=False
)
tenant_app = typer.Typer(help="Tenants.", no_args_is_help=True)
apikey_app = typer.Typer(help="Tenant API keys.", no_args_is_help=True)
user_app = typer.Typer(help="Users and their roles.", no_args_is_help=True)
key_app = typer.Typer(help="Secrets for the configuration.", no_args_is_help=True)
app.add_typer(tenant_app, name="tenant")
app.add_typer(apikey_app, name="apikey")
app.add_typer(user_app, name="user")
app.add_typer(key_app, name="key")
app.add_typer(queue_app, name="queue")
app.add_typer(cache_app, name="cache")
app.add_typer(backup_app, name="backup")
app.command()(down)
app.command()(up)
app.command()(restore)
app.add_typer(kb_app, name="kb")
app.add_typer(admin_app, name="admin")
app.add_typer(scrape_app, name="scrape")
app.command()(scheduler)
app.command()(worker)
app.command()(ingest)
app.command("eval")(eval_command)

CLI_ACTOR = "cli"


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Listen address (default HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Listen port (default PORT).")] = None,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes.")] = 1,
) -> None:
    """Start the web server (the embedded PostgreSQL too, when no database is configured)."""
    import uvicorn

    from chatbot_platform.ops.observability import prepare_multiprocess_metrics

    settings = settings_or_exit()
    port = port or settings.app.port
    prepare_multiprocess_metrics(settings, workers, port)
    uvicorn.run(
        "chatbot_platform.ops.observability:served_app",
        factory=True,
        host=host or settings.app.host,
        port=port,
        workers=workers,
        log_config=None,
        proxy_headers=True,
        server_header=False,
    )


@app.command()
def migrate(
    revision: Annotated[str, typer.Option(help="Target revision.")] = "head",
    downgrade: Annotated[bool, typer.Option("--downgrade", help="Downgrade to --revision.")] = False,
) -> None:
    """Apply database migrations (Alembic)."""
    from chatbot_platform.kit import migrations
    from chatbot_platform.kit.db import Database

    settings = settings_or_exit()

    async def run() -> str | None:
        database = await Database.open(settings)
        try:
            if downgrade:
                await migrations.downgrade(database, revision)
            else:
                await migrations.upgrade(database, revision)
            return await migrations.current_revision(database)
        finally:
            await database.close()

    current = asyncio.run(run())
    out.print(f"database at revision {current or 'base'}")


@app.command()
def config(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    reveal: Annotated[bool, typer.Option(help="Show secrets too (never paste this anywhere).")] = False,
) -> None:
    """Print the effective settings, secrets masked."""
    settings = settings_or_exit()
    views = settings.describe(reveal=reveal)
    if as_json:
        payload = {"settings": {v.key: v.value for v in views}, "ignored": settings.ignored}
        out.print_json(json.dumps(payload))
        return
    table = Table("key", "value", "section", title="Effective settings")
    for view in views:
        table.add_row(view.key, "(not set)" if view.value is None else view.value, view.section)
    out.print(table)
    if settings.ignored:
        ignored = Table("key", "why it is ignored", title="Accepted but ignored")
        for key, reason in settings.ignored.items():
            ignored.add_row(key, reason)
        out.print(ignored)


@app.command()
def about() -> None:
    """Versions, environment and the services in use."""
    settings = settings_or_exit()
    rows = {
        "ChatbotPlatform": __version__,
        "Python": platform.python_version(),
        "Environment": settings.app.env,
        "URL": settings.app.url,
        "Locale": settings.app.locale,
        "Database": "embedded PostgreSQL in " + str(settings.app.storage_path / "pgdata")
        if settings.database.is_embedded
        else "PostgreSQL (configured)",
        "Redis": "configured" if settings.redis.enabled else "not configured (in-process cache and queue)",
        "Queue": settings.queue.connection,
        "Vector store": settings.rag.vector_driver,
        "Chat model": settings.openai.chat_model if settings.openai.api_key else "none (extractive answers)",
        "Files": settings.storage.disk,
        "Backups": f"s3://{settings.backup.s3_bucket}/backups/"
        if settings.backup.s3_bucket
        else str(settings.app.storage_path / "backups"),
        "Maintenance state": settings.app.maintenance_driver,
        "Metrics": "/metrics" if settings.features.metrics_enabled else "disabled",
        "Data folder": str(settings.app.storage_path.resolve()),
    }
    table = Table("", "", show_header=False, title="ChatbotPlatform")
    for name, value in rows.items():
        table.add_row(name, value)
    out.print(table)


@app.command()
def routes() -> None:
    """List the HTTP routes (as the OpenAPI document at /openapi.json describes them)."""
    from chatbot_platform.app import create_app

    table = Table("method", "path", "summary")
    for path, operations in create_app(settings_or_exit()).openapi()["paths"].items():
        for method, operation in operations.items():
            table.add_row(method.upper(), path, operation.get("summary", ""))
    out.print(table)


@key_app.command("generate")
def key_generate(
    token: Annotated[bool, typer.Option("--token", help="An ADMIN_TOKEN instead of an APP_KEY.")] = False,
) -> None:
    """Print a new random APP_KEY (or ADMIN_TOKEN) for the .env file."""
    from chatbot_platform.kit.security import new_app_key, new_token

    out.print(f"ADMIN_TOKEN={new_token(48)}" if token else f"APP_KEY={new_app_key()}", highlight=False)


@tenant_app.command("create")
def tenant_create(
    name: str,
    slug: Annotated[str | None, typer.Option(help="URL-safe id (derived from the name).")] = None,
    domain: Annotated[str | None, typer.Option(help="The tenant's website domain.")] = None,
    plan: Annotated[str, typer.Option(help="Plan name.")] = "free",
    language: Annotated[str | None, typer.Option(help="it or en (default APP_LOCALE).")] = None,
) -> None:
    """Create a tenant and its default knowledge base."""
    from pydantic import ValidationError

    from chatbot_platform.audit import service as audit
    from chatbot_platform.tenants import service
    from chatbot_platform.tenants.schemas import TenantCreate

    try:
        data = TenantCreate.model_validate(
            {"name": name, "slug": slug, "domain": domain, "plan": plan, "default_language": language}
        )
    except ValidationError as exc:
        raise fail(validation_message(exc), code=2) from None
    locale = settings_or_exit().app.locale

    async def work(session: AsyncSession) -> dict[str, Any]:
        tenant, kb = await service.create_tenant(session, data, default_locale=locale)
        await audit.record(
            session, actor=CLI_ACTOR, action="tenant.created", tenant_id=tenant.id, target=tenant
        )
        return {"id": str(tenant.id), "slug": tenant.slug, "default_knowledge_base_id": str(kb.id)}

    out.print_json(json.dumps(with_session(work)))


@tenant_app.command("list")
def tenant_list() -> None:
    """List tenants."""
    from chatbot_platform.tenants import service

    async def work(session: AsyncSession) -> list[list[str]]:
        tenants, _ = await service.list_tenants(session, limit=10_000, offset=0)
        return [[str(t.id), t.slug, t.name, t.plan, t.default_language] for t in tenants]

    table = Table("id", "slug", "name", "plan", "language")
    for row in with_session(work):
        table.add_row(*row)
    out.print(table)


@tenant_app.command("embedding-model")
def tenant_embedding_model(
    tenant: Annotated[str, typer.Argument(help="Tenant id or slug.")],
    model: Annotated[str, typer.Argument(help="The embedding model to switch to.")],
    wait: Annotated[
        bool, typer.Option("--wait", help="Re-embed in this process, showing progress, until it switches.")
    ] = False,
) -> None:
    """Switch a tenant's embedding model: chunks are re-embedded in the background, then it switches."""
    from chatbot_platform.tenants.commands import switch_embedding_model

    state = run_async(switch_embedding_model(settings_or_exit(), tenant, model, wait=wait, actor=CLI_ACTOR))
    out.print_json(json.dumps(state))
    if (state.get("embedding_switch") or {}).get("status") == "failed":
        raise typer.Exit(1)


@apikey_app.command("issue")
def apikey_issue(
    tenant: Annotated[str, typer.Argument(help="Tenant id or slug.")],
    name: Annotated[str, typer.Option(help="A name to recognise the key by.")] = "cli",
    scope: Annotated[
        list[Scope] | None, typer.Option(help="Repeat for several; default: all scopes.")
    ] = None,
) -> None:
    """Issue a secret API key; it is printed once and only its hash is stored."""
    from chatbot_platform.audit import service as audit
    from chatbot_platform.tenants import service
    from chatbot_platform.tenants.schemas import ApiKeyCreate

    async def work(session: AsyncSession) -> dict[str, Any]:
        found = await service.get_tenant_by_slug_or_id(session, tenant)
        issued = await service.issue_api_key(session, found.id, ApiKeyCreate(name=name, scopes=scope or None))
        await audit.record(
            session, actor=CLI_ACTOR, action="api_key.issued", tenant_id=found.id, target=issued.api_key
        )
        return {"id": str(issued.api_key.id), "key": issued.secret, "scopes": issued.api_key.scopes}

    out.print_json(json.dumps(with_session(work)))


@apikey_app.command("revoke")
def apikey_revoke(
    tenant: Annotated[str, typer.Argument(help="Tenant id or slug.")],
    key_id: Annotated[str, typer.Argument(help="The key's id.")],
) -> None:
    """Revoke an API key."""
    from chatbot_platform.audit import service as audit
    from chatbot_platform.tenants import service

    parsed = _uuid_or_exit(key_id, "KEY_ID")

    async def work(session: AsyncSession) -> None:
        found = await service.get_tenant_by_slug_or_id(session, tenant)
        api_key = await service.revoke_api_key(session, found.id, parsed)
        await audit.record(
            session, actor=CLI_ACTOR, action="api_key.revoked", tenant_id=found.id, target=api_key
        )

    with_session(work)
    out.print(f"revoked {key_id}")


@user_app.command("create")
def user_create(
    tenant: Annotated[str, typer.Argument(help="Tenant id or slug.")],
    email: Annotated[str, typer.Option(help="The user's e-mail.")],
    name: Annotated[str, typer.Option(help="The user's name.")],
    role: Annotated[str, typer.Option(help="owner, admin, editor, analyst, operator or viewer.")] = "viewer",
    password: Annotated[
        str | None,
        typer.Option(envvar="CBP_USER_PASSWORD", help="At least 12 characters (or CBP_USER_PASSWORD)."),
    ] = None,
) -> None:
    """Add a user to a tenant with a role."""
    from pydantic import ValidationError

    from chatbot_platform.audit import service as audit
    from chatbot_platform.tenants import service
    from chatbot_platform.tenants.schemas import UserCreate

    try:
        data = UserCreate.model_validate({"email": email, "name": name, "role": role, "password": password})
    except ValidationError as exc:
        raise fail(validation_message(exc), code=2) from None

    async def work(session: AsyncSession) -> dict[str, Any]:
        found = await service.get_tenant_by_slug_or_id(session, tenant)
        user, membership = await service.add_user(session, found.id, data)
        await audit.record(
            session,
            actor=CLI_ACTOR,
            action="user.added",
            tenant_id=found.id,
            target=user,
            details={"role": membership.role.value},
        )
        return {"id": str(user.id), "email": user.email, "role": membership.role.value}

    out.print_json(json.dumps(with_session(work)))


def _uuid_or_exit(value: str, name: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise fail(f"{name} must be a UUID, got {value!r}", code=2) from None


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
