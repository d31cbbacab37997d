"""Alembic environment: runs on the connection `cbp migrate` hands over, or opens its own."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

from chatbot_platform.models import Base

target_metadata = Base.metadata


def run_on(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


async def run_standalone() -> None:
    from chatbot_platform.kit.db import Database
    from chatbot_platform.settings import load_settings

    database = await Database.open(load_settings())
    try:
        async with database.engine.connect() as connection:
            await connection.run_sync(run_on)
            await connection.commit()
    finally:
        await database.close()


connection = context.config.attributes.get("connection")
if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported; run `cbp migrate`")
if connection is not None:
    run_on(connection)
else:
    asyncio.run(run_standalone())
