"""Canned replies operators insert into their answers. Services never commit."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from chatbot_platform.desk.errors import CannedReplyNotFound
from chatbot_platform.desk.repository import CannedReplyRepo
from chatbot_platform.desk.schemas import CannedReplyCreate, CannedReplyUpdate
from chatbot_platform.models import DeskCannedReply


async def list_(session: AsyncSession, tenant_id: uuid.UUID) -> list[DeskCannedReply]:
    return await CannedReplyRepo(session, tenant_id).list(order_by=[DeskCannedReply.title])


async def create(session: AsyncSession, tenant_id: uuid.UUID, data: CannedReplyCreate) -> DeskCannedReply:
    return await CannedReplyRepo(session, tenant_id).add(DeskCannedReply(**data.model_dump()))


async def get_or_raise(session: AsyncSession, tenant_id: uuid.UUID, reply_id: uuid.UUID) -> DeskCannedReply:
    row = await CannedReplyRepo(session, tenant_id).get(reply_id)
    if row is None:
        raise CannedReplyNotFound()
    return row


async def update(
    session: AsyncSession, tenant_id: uuid.UUID, reply_id: uuid.UUID, data: CannedReplyUpdate
) -> DeskCannedReply:
    row = await get_or_raise(session, tenant_id, reply_id)
    for name, value in data.model_dump(exclude_unset=True).items():
        if value is not None or name == "shortcut":
            setattr(row, name, value)
    return await CannedReplyRepo(session, tenant_id).save(row)


async def delete(session: AsyncSession, tenant_id: uuid.UUID, reply_id: uuid.UUID) -> None:
    await CannedReplyRepo(session, tenant_id).delete(await get_or_raise(session, tenant_id, reply_id))
