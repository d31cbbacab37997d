"""Repository bases. Every read of a tenant-owned table goes through TenantRepository.

A test walks the source tree and fails if a query on a tenant-owned model is built anywhere
else, so this module is the single choke point for tenancy.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, Row, Select, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from chatbot_platform.kit.errors import Conflict
from chatbot_platform.models.base import Base, TenantOwned

M = TypeVar("M", bound=Base)
T = TypeVar("T", bound=TenantOwned)
R = TypeVar("R")


class _Reads(Generic[R]):
    """The read vocabulary shared by both bases; `scope()` is the filter every query carries."""

    model: type[R]
    session: AsyncSession

    def scope(self) -> list[ColumnElement[bool]]:
        return []

    def select(self) -> Select[R]:
        return select(self.model).where(*self.scope())

    async def first(self, *where: ColumnElement[bool]) -> R | None:
        return (await self.session.scalars(self.select().where(*where).limit(1))).first()

    async def list(
        self,
        *where: ColumnElement[bool],
        order_by: Sequence[Any] = (),
        limit: int | None = None,
        offset: int = 0,
        options: Sequence[Any] = (),
    ) -> list[R]:
        query = self.select().where(*where).options(*options).order_by(*order_by).offset(offset).limit(limit)
        return list(await self.session.scalars(query))

    async def values(self, *columns: Any, where: Sequence[ColumnElement[bool]] = ()) -> Sequence[Row[Any]]:
        """Only these columns of the rows, no objects: for scans over many rows."""
        query = select(*columns).where(*self.scope(), *where)
        return list((await self.session.execute(query)).all())

    async def grouped(
        self, *columns: Any, group_by: Sequence[Any], where: Sequence[ColumnElement[bool]] = ()
    ) -> Sequence[tuple[Any, ...]]:
        """Aggregates (sums, counts) of the rows, one tuple per group."""
        query = select(*columns).where(*self.scope(), *where).group_by(*group_by).order_by(*group_by)
        return [tuple(row) for row in (await self.session.execute(query)).all()]

    async def count(self, *where: ColumnElement[bool]) -> int:
        query = select(func.count()).select_from(self.model).where(*self.scope(), *where)
        return int(await self.session.scalar(query) or 0)


class Repository(_Reads[M]):
    """Platform-level tables (tenants, users, audit log): no tenant filter applies."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, id_: uuid.UUID) -> M | None:
        return await self.session.get(self.model, id_)

    async def add(self, obj: M, *, conflict: Conflict | None = None) -> M:
        """Insert; with `conflict`, a unique violation raises that error instead."""
        await flush_new(self.session, obj, conflict)
        return obj

    async def save(self, obj: M, *, conflict: Conflict | None = None) -> M:
        await flush_new(self.session, obj, conflict)
        return obj

    async def delete(self, obj: M) -> None:
        await self.session.delete(obj)
        await self.session.flush()


class TenantRepository(_Reads[T]):
    """Reads and writes of one tenant's rows; the tenant filter is inside every query."""

    def __init__(self, session: AsyncSession, tenant_id: uuid.UUID) -> None:
        self.session = session
        self.tenant_id = tenant_id

    def _in_tenant(self) -> ColumnElement[bool]:
        return self.model.tenant_id == self.tenant_id

    def scope(self) -> list[ColumnElement[bool]]:
        return [self._in_tenant()]

    async def get(self, id_: uuid.UUID) -> T | None:
        return await self.first(self.model.id == id_)  # type: ignore[attr-defined]

    async def add(self, obj: T, *, conflict: Conflict | None = None) -> T:
        """Insert for this tenant; with `conflict`, a unique violation raises that error instead."""
        obj.tenant_id = self.tenant_id
        await flush_new(self.session, obj, conflict)
        return obj

    async def add_all(self, objs: Sequence[T], *, conflict: Conflict | None = None) -> None:
        """Insert many rows for this tenant in one flush (a multi-row INSERT)."""
        if not objs:
            return
        for obj in objs:
            obj.tenant_id = self.tenant_id
        await flush_new(self.session, list(objs), conflict)

    async def save(self, obj: T, *, conflict: Conflict | None = None) -> T:
        if obj.tenant_id != self.tenant_id:
            raise PermissionError("object belongs to another tenant")
        await flush_new(self.session, obj, conflict)
        return obj

    async def delete(self, obj: T) -> None:
        if obj.tenant_id != self.tenant_id:
            raise PermissionError("object belongs to another tenant")
        await self.session.delete(obj)
        await self.session.flush()

    async def update_where(self, values: dict[str, Any], *where: ColumnElement[bool]) -> int:
        query = update(self.model).where(self._in_tenant(), *where).values(**values)
        result = await self.session.execute(query)
        return int(result.rowcount)  # type: ignore[attr-defined]


async def flush_new(session: AsyncSession, obj: Any, conflict: Conflict | None) -> None:
    """Add and flush `obj` (one object, or a list); a unique violation becomes `conflict`.

    The objects are added inside the savepoint, so a violation rolls back only them.
    """
    objs = obj if isinstance(obj, list) else [obj]
    if conflict is None:
        session.add_all(objs)
        await session.flush()
        return
    try:
        async with session.begin_nested():
            session.add_all(objs)
            await session.flush()
    except IntegrityError as exc:
        if "unique" not in str(exc.orig).lower() and "duplicate" not in str(exc.orig).lower():
            raise
        raise conflict from exc


async def lookup_credential(session: AsyncSession, column: InstrumentedAttribute[str], value: str) -> Any:
    """The one sanctioned cross-tenant read: resolving a credential (unique column) to its row."""
    model = column.class_
    return (await session.scalars(select(model).where(column == value).limit(1))).first()


async def owner_of(session: AsyncSession, model: type[TenantOwned], id_: uuid.UUID) -> uuid.UUID | None:
    """The tenant that owns a row, for operator tools that start from a bare id (`cbp ingest --kb`)."""
    id_column: InstrumentedAttribute[uuid.UUID] = model.id  # type: ignore[attr-defined]
    tenant_column: InstrumentedAttribute[uuid.UUID] = model.tenant_id
    return await session.scalar(select(tenant_column).where(id_column == id_))


async def scan_across_tenants(
    session: AsyncSession, model: type[T], *where: ColumnElement[bool], limit: int = 1000
) -> list[T]:
    """The sanctioned cross-tenant read for maintenance jobs (stalled work, retention); never for requests."""
    return list(await session.scalars(select(model).where(*where).limit(limit)))
