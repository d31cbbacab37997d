"""Provisioning: tenants, their API keys and users. Services never commit."""

from __future__ import annotations

import re
import secrets
import unicodedata
import uuid
from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from chatbot_platform.kit.clock import utcnow
from chatbot_platform.kit.repository import lookup_credential
from chatbot_platform.kit.security import constant_time_equals, hash_password, sha256_hex
from chatbot_platform.knowledge import service as knowledge
from chatbot_platform.models import ApiKey, KnowledgeBase, Membership, Tenant, User
from chatbot_platform.models.tenant import EmbeddingSwitchStatus
from chatbot_platform.tenants.errors import (
    AlreadyMember,
    ApiKeyNotFound,
    EmbeddingModelNotOffered,
    SlugTaken,
    TenantNotFound,
)
from chatbot_platform.tenants.repository import ApiKeyRepo, MembershipRepo, TenantRepo, UserRepo
from chatbot_platform.tenants.schemas import ApiKeyCreate, TenantCreate, TenantUpdate, UserCreate
from chatbot_platform.tenants.scopes import ALL_SCOPES

KEY_PREFIX = "cbp_"
KEY_PREFIX_LENGTH = len(KEY_PREFIX) + 12  # then "_" and the secret, which may itself contain "_"
LAST_USED_RESOLUTION_SECONDS = 60


def slugify(name: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")[:63].strip("-")
    return slug or "tenant"


async def _free_slug(repo: TenantRepo, base: str) -> str:
    candidate, n = base, 1
    while await repo.first(Tenant.slug == candidate) is not None:
        n += 1
        suffix = f"-{n}"
        candidate = base[: 63 - len(suffix)] + suffix
    return candidate


async def create_tenant(
    session: AsyncSession, data: TenantCreate, *, default_locale: str
) -> tuple[Tenant, KnowledgeBase]:
    """A tenant with its default knowledge base, in the caller's transaction."""
    repo = TenantRepo(session)
    if data.slug is not None:
        slug = data.slug
        if await repo.first(Tenant.slug == slug) is not None:
            raise SlugTaken(slug)
    else:
        slug = await _free_slug(repo, slugify(data.name))
    tenant = Tenant(
        name=data.name,
        slug=slug,
        domain=data.domain,
        plan=data.plan,
        default_language=data.default_language or default_locale,
        settings={},
    )
    await repo.add(tenant, conflict=SlugTaken(slug))
    kb = await knowledge.create_default(session, tenant.id, tenant.default_language)
    return tenant, kb


async def list_tenants(session: AsyncSession, *, limit: int, offset: int) -> tuple[list[Tenant], int]:
    repo = TenantRepo(session)
    items = await repo.list(order_by=[Tenant.created_at, Tenant.slug], limit=limit, offset=offset)
    return items, await repo.count()


async def get_tenant_or_raise(session: AsyncSession, tenant_id: uuid.UUID) -> Tenant:
    tenant = await TenantRepo(session).get(tenant_id)
    if tenant is None:
        raise TenantNotFound()
    return tenant


async def get_tenant_by_slug_or_id(session: AsyncSession, ref: str) -> Tenant:
    try:
        return await get_tenant_or_raise(session, uuid.UUID(ref))
    except ValueError:
        tenant = await TenantRepo(session).first(Tenant.slug == ref)
        if tenant is None:
            raise TenantNotFound() from None
        return tenant


async def update_tenant(session: AsyncSession, tenant_id: uuid.UUID, data: TenantUpdate) -> Tenant:
    repo = TenantRepo(session)
    tenant = await get_tenant_or_raise(session, tenant_id)
    changes = data.model_dump(exclude_unset=True, exclude_none=True, exclude={"settings", "embedding_model"})
    if data.settings is not None:
        tenant.settings = data.settings.model_dump(exclude_none=True)
    if "slug" in changes and changes["slug"] != tenant.slug:
        if await repo.first(Tenant.slug == changes["slug"]) is not None:
            raise SlugTaken(changes["slug"])
    for field, value in changes.items():
        setattr(tenant, field, value)
    if "domain" in data.model_fields_set and data.domain is None:
        tenant.domain = None
    return await repo.save(tenant, conflict=SlugTaken(tenant.slug))


async def get_tenant_fresh(session: AsyncSession, tenant_id: uuid.UUID, *, lock: bool = False) -> Tenant:
    """The tenant as committed now; with `lock`, nobody else can change it until this transaction ends."""
    tenant = await TenantRepo(session).get_fresh(tenant_id, lock=lock)
    if tenant is None:
        raise TenantNotFound()
    return tenant


# -- changing the embedding model (the job is ingestion/model_switch.py) ----------------------------


async def request_embedding_model(
    session: AsyncSession, tenant_id: uuid.UUID, model: str, *, default_model: str, offered: Collection[str]
) -> uuid.UUID | None:
    """Record a switch to `model`; returns the id of the switch whose job must run, or None.

    The active model again: nothing to do, and a switch in progress is cancelled. The model a
    switch in progress is already heading for: nothing to do. Any other model replaces the
    target of a switch in progress (its job stops at its next step; vectors already cached for
    the old target stay in the cache for later).
    """
    if model not in offered:
        raise EmbeddingModelNotOffered(model, offered)
    tenant = await get_tenant_fresh(session, tenant_id, lock=True)
    if model == (tenant.embedding_model or default_model):
        if tenant.switching_embedding_model:
            _finish(tenant, EmbeddingSwitchStatus.CANCELLED)
            await TenantRepo(session).save(tenant)
        return None
    if tenant.switching_embedding_model and tenant.embedding_switch_model == model:
        return None
    tenant.embedding_switch_id = uuid.uuid4()
    tenant.embedding_switch_model = model
    tenant.embedding_switch_status = EmbeddingSwitchStatus.PENDING
    tenant.embedding_switch_progress = 0
    tenant.embedding_switch_error = None
    tenant.embedding_switch_started_at = utcnow()
    tenant.embedding_switch_finished_at = None
    await TenantRepo(session).save(tenant)
    return tenant.embedding_switch_id


def _finish(tenant: Tenant, status: EmbeddingSwitchStatus, error: str | None = None) -> None:
    tenant.embedding_switch_status = status
    tenant.embedding_switch_error = error
    tenant.embedding_switch_finished_at = utcnow()


async def start_embedding_switch(session: AsyncSession, tenant_id: uuid.UUID, switch_id: uuid.UUID) -> bool:
    """Mark the switch as re-embedding; False when it was replaced or cancelled meanwhile."""
    return await TenantRepo(session).update_switch(
        tenant_id, switch_id, {"embedding_switch_status": EmbeddingSwitchStatus.EMBEDDING}
    )


async def save_switch_progress(
    session: AsyncSession, tenant_id: uuid.UUID, switch_id: uuid.UUID, progress: int
) -> bool:
    """Save the share of chunks re-embedded; False when the switch was replaced or cancelled."""
    values = {
        "embedding_switch_status": EmbeddingSwitchStatus.EMBEDDING,
        "embedding_switch_progress": max(0, min(progress, 99)),
    }
    return await TenantRepo(session).update_switch(tenant_id, switch_id, values)


async def fail_embedding_switch(
    session: AsyncSession, tenant_id: uuid.UUID, switch_id: uuid.UUID, reason: str
) -> bool:
    """The switch gave up: the reason is kept and the previous model stays active."""
    values = {
        "embedding_switch_status": EmbeddingSwitchStatus.FAILED,
        "embedding_switch_error": reason,
        "embedding_switch_finished_at": utcnow(),
    }
    return await TenantRepo(session).update_switch(tenant_id, switch_id, values)


async def complete_embedding_switch(session: AsyncSession, tenant: Tenant) -> None:
    """Make the switch's target the active model (the caller holds the row lock and checked the switch)."""
    tenant.embedding_model = tenant.embedding_switch_model
    tenant.embedding_switch_progress = 100
    _finish(tenant, EmbeddingSwitchStatus.COMPLETED)
    await TenantRepo(session).save(tenant)


async def delete_tenant(session: AsyncSession, tenant_id: uuid.UUID) -> Tenant:
    tenant = await get_tenant_or_raise(session, tenant_id)
    await TenantRepo(session).delete(tenant)
    return tenant


@dataclass(frozen=True)
class IssuedKey:
    api_key: ApiKey
    secret: str


async def issue_api_key(session: AsyncSession, tenant_id: uuid.UUID, data: ApiKeyCreate) -> IssuedKey:
    await get_tenant_or_raise(session, tenant_id)
    prefix = KEY_PREFIX + secrets.token_hex(6)  # 12 hex digits
    secret = f"{prefix}_{secrets.token_urlsafe(32)}"
    scopes = sorted({str(s) for s in (data.scopes if data.scopes is not None else ALL_SCOPES)})
    api_key = ApiKey(name=data.name, prefix=prefix, key_hash=sha256_hex(secret), scopes=scopes)
    await ApiKeyRepo(session, tenant_id).add(api_key)
    return IssuedKey(api_key=api_key, secret=secret)


async def list_api_keys(session: AsyncSession, tenant_id: uuid.UUID) -> list[ApiKey]:
    await get_tenant_or_raise(session, tenant_id)
    return await ApiKeyRepo(session, tenant_id).list(order_by=[ApiKey.created_at])


async def revoke_api_key(session: AsyncSession, tenant_id: uuid.UUID, key_id: uuid.UUID) -> ApiKey:
    await get_tenant_or_raise(session, tenant_id)
    repo = ApiKeyRepo(session, tenant_id)
    api_key = await repo.get(key_id)
    if api_key is None:
        raise ApiKeyNotFound()
    if api_key.revoked_at is None:
        api_key.revoked_at = utcnow()
        await repo.save(api_key)
    return api_key


async def authenticate_api_key(session: AsyncSession, presented: str) -> ApiKey | None:
    """The live key matching `presented`, or None; the hash is compared in constant time."""
    prefix, separator, rest = (
        presented[:KEY_PREFIX_LENGTH],
        presented[KEY_PREFIX_LENGTH:][:1],
        presented[KEY_PREFIX_LENGTH + 1 :],
    )
    if not prefix.startswith(KEY_PREFIX) or separator != "_" or not rest:
        return None
    api_key: ApiKey | None = await lookup_credential(session, ApiKey.prefix, prefix)
    if api_key is None or not constant_time_equals(api_key.key_hash, sha256_hex(presented)):
        return None
    if api_key.revoked_at is not None:
        return None
    now = utcnow()
    if (
        api_key.last_used_at is None
        or (now - api_key.last_used_at).total_seconds() > LAST_USED_RESOLUTION_SECONDS
    ):
        api_key.last_used_at = now
        await session.flush()
    return api_key


async def add_user(session: AsyncSession, tenant_id: uuid.UUID, data: UserCreate) -> tuple[User, Membership]:
    """Create the user (or find them by e-mail) and make them a member with `data.role`."""
    await get_tenant_or_raise(session, tenant_id)
    users = UserRepo(session)
    email = data.email.lower()
    user = await users.first(User.email == email)
    if user is None:
        user = User(
            email=email,
            name=data.name,
            password_hash=hash_password(data.password) if data.password else None,
        )
        await users.add(user, conflict=AlreadyMember(email))
    memberships = MembershipRepo(session, tenant_id)
    membership = Membership(user_id=user.id, role=data.role)
    await memberships.add(membership, conflict=AlreadyMember(email))
    return user, membership


async def list_members(session: AsyncSession, tenant_id: uuid.UUID) -> list[Membership]:
    await get_tenant_or_raise(session, tenant_id)
    return await MembershipRepo(session, tenant_id).list(
        order_by=[Membership.created_at], options=[selectinload(Membership.user)]
    )
