"""Accounts of the admin UI: passwords, e-mailed one-use links, members and roles. Never commits."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from chatbot_platform.admin.repository import (
    ApiKeyCounts,
    DocumentCounts,
    KnowledgeBaseCounts,
    MembershipRepo,
    TokenRepo,
    UserRepo,
)
from chatbot_platform.kit.clock import utcnow
from chatbot_platform.kit.errors import Conflict, NotFound, Unprocessable
from chatbot_platform.kit.security import hash_password, new_token, sha256_hex, verify_password
from chatbot_platform.models import (
    AdminToken,
    AdminTokenKind,
    ApiKey,
    Document,
    DocumentStatus,
    Membership,
    Role,
    User,
)

MIN_PASSWORD_LENGTH = 12
RESET_LIFETIME = timedelta(hours=1)
INVITATION_LIFETIME = timedelta(days=7)
# Verifying against this when the e-mail is unknown takes as long as a real check.
_DUMMY_HASH = hash_password("not-a-password-" + "x" * 16)


class PasswordTooShort(Unprocessable):
    def __init__(self) -> None:
        super().__init__("reset.too_short")


class MemberNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("error.404")


class LastOwner(Conflict):
    def __init__(self) -> None:
        super().__init__("A tenant keeps at least one owner.")


def check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH or len(password) > 256:
        raise PasswordTooShort()
    return password


async def authenticate(session: AsyncSession, email: str, password: str) -> User | None:
    user = await UserRepo(session).first(User.email == email.strip().lower())
    if user is None or user.password_hash is None:
        verify_password(_DUMMY_HASH, password)
        return None
    return user if verify_password(user.password_hash, password) else None


async def set_locale(session: AsyncSession, user: User, locale: str) -> None:
    user.locale = locale
    await UserRepo(session).save(user)


# -- one-use links -------------------------------------------------------------------------------


async def issue_token(session: AsyncSession, user: User, kind: AdminTokenKind) -> str:
    """A new link token for `user`; only its hash is stored."""
    token = new_token()
    lifetime = RESET_LIFETIME if kind == AdminTokenKind.PASSWORD_RESET else INVITATION_LIFETIME
    row = AdminToken(kind=kind, token_hash=sha256_hex(token), user_id=user.id, expires_at=utcnow() + lifetime)
    await TokenRepo(session).add(row)
    return token


async def valid_token(session: AsyncSession, token: str, kind: AdminTokenKind) -> AdminToken | None:
    row = await TokenRepo(session).first(AdminToken.token_hash == sha256_hex(token), AdminToken.kind == kind)
    if row is None or row.used_at is not None or row.expires_at <= utcnow():
        return None
    return row


async def request_password_reset(session: AsyncSession, email: str) -> tuple[User, str] | None:
    """A reset link for a known e-mail (None otherwise: the page says the same either way)."""
    user = await UserRepo(session).first(User.email == email.strip().lower())
    if user is None:
        return None
    return user, await issue_token(session, user, AdminTokenKind.PASSWORD_RESET)


async def use_token(
    session: AsyncSession, token: str, kind: AdminTokenKind, password: str, *, name: str | None = None
) -> User | None:
    """Set the password through a link (and the name, for an invitation); the link is then spent."""
    row = await valid_token(session, token, kind)
    if row is None:
        return None
    check_password(password)
    users = UserRepo(session)
    user = await users.get(row.user_id)
    if user is None:
        return None
    user.password_hash = hash_password(password)
    if name:
        user.name = name[:200]
    row.used_at = utcnow()
    await TokenRepo(session).save(row)
    await users.save(user)
    return user


# -- members and roles ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Invited:
    user: User
    membership: Membership
    token: str | None  # a link to set a password, for a user who has none


async def invite(session: AsyncSession, tenant_id: uuid.UUID, email: str, role: Role) -> Invited:
    """Make `email` a member with `role`, creating the user (without a password) when new."""
    users = UserRepo(session)
    email = email.strip().lower()
    user = await users.first(User.email == email)
    if user is None:
        user = await users.add(User(email=email, name=email.split("@")[0][:200], password_hash=None))
    membership = Membership(user_id=user.id, role=role)
    await MembershipRepo(session, tenant_id).add(
        membership, conflict=Conflict(f"{email} is already a member.")
    )
    token = None
    if user.password_hash is None:
        token = await issue_token(session, user, AdminTokenKind.INVITATION)
    return Invited(user, membership, token)


async def members(session: AsyncSession, tenant_id: uuid.UUID) -> list[Membership]:
    return await MembershipRepo(session, tenant_id).list(
        order_by=[Membership.created_at], options=[selectinload(Membership.user)]
    )


async def _member_or_raise(
    session: AsyncSession, tenant_id: uuid.UUID, membership_id: uuid.UUID
) -> Membership:
    membership = await MembershipRepo(session, tenant_id).get(membership_id)
    if membership is None:
        raise MemberNotFound()
    return membership


async def _keep_an_owner(session: AsyncSession, tenant_id: uuid.UUID, membership: Membership) -> None:
    if membership.role != Role.OWNER:
        return
    owners = await MembershipRepo(session, tenant_id).count(Membership.role == Role.OWNER)
    if owners <= 1:
        raise LastOwner()


async def change_role(
    session: AsyncSession, tenant_id: uuid.UUID, membership_id: uuid.UUID, role: Role
) -> Membership:
    membership = await _member_or_raise(session, tenant_id, membership_id)
    if role != Role.OWNER:
        await _keep_an_owner(session, tenant_id, membership)
    membership.role = role
    return await MembershipRepo(session, tenant_id).save(membership)


async def remove_member(session: AsyncSession, tenant_id: uuid.UUID, membership_id: uuid.UUID) -> Membership:
    membership = await _member_or_raise(session, tenant_id, membership_id)
    await _keep_an_owner(session, tenant_id, membership)
    await MembershipRepo(session, tenant_id).delete(membership)
    return membership


async def get_member(session: AsyncSession, tenant_id: uuid.UUID, membership_id: uuid.UUID) -> Membership:
    return await _member_or_raise(session, tenant_id, membership_id)


# -- platform admins (`cbp admin create`) --------------------------------------------------------


async def create_platform_admin(session: AsyncSession, email: str, name: str, password: str) -> User:
    """Create the platform admin, or make an existing user one and set their password."""
    check_password(password)
    users = UserRepo(session)
    email = email.strip().lower()
    user = await users.first(User.email == email)
    if user is None:
        user = User(email=email, name=name, password_hash=None)
    user.is_platform_admin = True
    user.password_hash = hash_password(password)
    return await users.save(user)


# -- the dashboard -------------------------------------------------------------------------------


@dataclass(frozen=True)
class TenantCounts:
    knowledge_bases: int
    documents: int
    indexed: int
    failed: int
    active_keys: int
    members: int


async def tenant_counts(session: AsyncSession, tenant_id: uuid.UUID) -> TenantCounts:
    documents = DocumentCounts(session, tenant_id)
    return TenantCounts(
        knowledge_bases=await KnowledgeBaseCounts(session, tenant_id).count(),
        documents=await documents.count(),
        indexed=await documents.count(Document.status == DocumentStatus.INDEXED),
        failed=await documents.count(Document.status == DocumentStatus.FAILED),
        active_keys=await ApiKeyCounts(session, tenant_id).count(ApiKey.revoked_at.is_(None)),
        members=await MembershipRepo(session, tenant_id).count(),
    )


async def actor_names(session: AsyncSession, actors: list[str]) -> dict[str, str]:
    """Audit actors as people read them: `user:<id>` becomes the user's e-mail."""
    names: dict[str, str] = {}
    users = UserRepo(session)
    for actor in set(actors):
        kind, _, ref = actor.partition(":")
        if kind != "user":
            continue
        try:
            user = await users.get(uuid.UUID(ref))
        except ValueError:
            continue
        if user is not None:
            names[actor] = user.email
    return names


async def platform_counts(session: AsyncSession) -> dict[str, int]:
    users = UserRepo(session)
    return {"tenants": await users.count_tenants(), "users": await users.count()}
