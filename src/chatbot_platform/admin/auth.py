"""The one guard of the admin UI: who is signed in, in which tenant, with which role; CSRF; cookies.

Every route of the sub-application runs `guard` (an application-level dependency), so no page can
forget it. Public pages (login, password reset, invitations, static files) are listed by path.
CSRF uses a double-submit token: a random cookie whose value every unsafe request repeats in the
`csrf_token` form field or the `X-CSRF-Token` header; the Origin header, when sent, must be ours.
"""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass
from typing import Annotated, cast

from fastapi import Depends, Request, Response
from starlette.datastructures import FormData

from chatbot_platform.admin.errors import CsrfRejected, LoginRequired, NoSuchTenant, NotAllowed
from chatbot_platform.admin.repository import MembershipRepo, UserRepo
from chatbot_platform.admin.sessions import SessionStore, build_session_store
from chatbot_platform.kit.context import tenant_id_var
from chatbot_platform.kit.deps import SessionDep
from chatbot_platform.kit.security import constant_time_equals, new_token
from chatbot_platform.models import Membership, Role, Tenant, User
from chatbot_platform.runtime import Services
from chatbot_platform.settings import Settings
from chatbot_platform.tenants import service as tenants
from chatbot_platform.tenants.errors import TenantNotFound

SESSION_COOKIE = "cbp_admin_session"
CSRF_COOKIE = "cbp_admin_csrf"
LOCALE_COOKIE = "cbp_admin_locale"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
SWITCHER_LIMIT = 200  # tenants offered by a platform admin's switcher; the tenants page lists them all
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
PUBLIC_PATHS = frozenset(
    {
        "/login",
        "/password/forgot",
        "/password/reset/{token}",
        "/invitations/{token}",
        "/locale",
    }
)


class Permission(enum.StrEnum):
    VIEW = "view"
    EDIT_CONTENT = "edit_content"  # knowledge bases, documents, assistants, scraper, widget look
    TEST_RAG = "test_rag"  # runs searches and the chat model (costs tokens)
    MANAGE_KEYS = "manage_keys"  # API keys and widget keys
    MANAGE_MEMBERS = "manage_members"
    MANAGE_TENANT = "manage_tenant"  # the tenant's name, language and retrieval defaults


ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.OWNER: frozenset(Permission),
    Role.ADMIN: frozenset(Permission),
    Role.EDITOR: frozenset({Permission.VIEW, Permission.EDIT_CONTENT, Permission.TEST_RAG}),
    Role.ANALYST: frozenset({Permission.VIEW}),
    Role.OPERATOR: frozenset({Permission.VIEW}),
    Role.VIEWER: frozenset({Permission.VIEW}),
}


@dataclass(frozen=True)
class UserRef:
    """What pages need of the signed-in user: plain values, still readable after a rollback."""

    id: uuid.UUID
    email: str
    name: str
    is_platform_admin: bool

    @classmethod
    def of(cls, user: User) -> UserRef:
        return cls(user.id, user.email, user.name, user.is_platform_admin)


@dataclass(frozen=True)
class TenantRef:
    id: uuid.UUID
    slug: str
    name: str
    plan: str
    default_language: str

    @classmethod
    def of(cls, tenant: Tenant) -> TenantRef:
        return cls(tenant.id, tenant.slug, tenant.name, tenant.plan, tenant.default_language)


@dataclass
class AdminContext:
    """The signed-in user, and the tenant of the page with their role in it (if the page has one)."""

    user: UserRef
    session_token: str
    csrf_token: str
    locale: str
    tenant: TenantRef | None = None
    role: Role | None = None
    tenants: tuple[TenantRef, ...] = ()

    @property
    def is_platform_admin(self) -> bool:
        return self.user.is_platform_admin

    @property
    def label(self) -> str:
        return f"user:{self.user.id}"

    def can(self, permission: Permission) -> bool:
        if self.is_platform_admin:
            return True
        return self.role is not None and permission in ROLE_PERMISSIONS[self.role]

    def require(self, permission: Permission) -> None:
        if not self.can(permission):
            raise NotAllowed()

    def require_platform_admin(self) -> None:
        if not self.is_platform_admin:
            raise NotAllowed()

    @property
    def current_tenant(self) -> TenantRef:
        if self.tenant is None:
            raise NoSuchTenant()
        return self.tenant

    @property
    def tenant_id(self) -> uuid.UUID:
        return self.current_tenant.id


def session_store(request: Request) -> SessionStore:
    state = request.app.state
    store: SessionStore | None = getattr(state, "admin_session_store", None)
    if store is None:
        services = cast(Services, state.services)
        store = build_session_store(services.settings, services.database, services.session_redis)
        state.admin_session_store = store
    return store


def client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None


async def _form(request: Request) -> FormData:
    return await request.form()


async def check_csrf(request: Request) -> str:
    """The request's CSRF token (a new one for a first visit); unsafe methods must prove it."""
    cookie = request.cookies.get(CSRF_COOKIE, "")
    if request.method in SAFE_METHODS:
        return cookie or new_token(24)
    origin = request.headers.get("origin")
    if origin and origin != _own_origin(request):
        raise CsrfRejected()
    presented = request.headers.get(CSRF_HEADER)
    if presented is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        value = (await _form(request)).get(CSRF_FIELD)
        presented = value if isinstance(value, str) else None
    if not cookie or not presented or not constant_time_equals(cookie, presented):
        raise CsrfRejected()
    return cookie


def _own_origin(request: Request) -> str:
    host = request.headers.get("host", "")
    return f"{request.url.scheme}://{host}"


async def guard(request: Request, session: SessionDep) -> None:
    """Runs before every admin route: the session (except on public pages), CSRF on every unsafe
    method, then the page's tenant and the user's role in it."""
    settings = cast(Settings, request.app.state.settings)
    cookie_locale = request.cookies.get(LOCALE_COOKIE)
    request.state.locale = cookie_locale if cookie_locale in ("it", "en") else settings.app.locale
    path = getattr(request.scope.get("route"), "path", "")
    if path in PUBLIC_PATHS:
        request.state.csrf_token = await check_csrf(request)
        return
    # The session first: a request without one never gets its body parsed.
    token = request.cookies.get(SESSION_COOKIE)
    user_id = await session_store(request).user_of(token) if token else None
    user = await UserRepo(session).get(user_id) if user_id else None
    if user is None or token is None:
        raise LoginRequired()
    csrf = await check_csrf(request)
    request.state.csrf_token = csrf
    locale = user.locale if user.locale in ("it", "en") else request.state.locale
    request.state.locale = locale
    ctx = AdminContext(user=UserRef.of(user), session_token=token, csrf_token=csrf, locale=locale)
    repo = UserRepo(session)
    found = await (repo.all_tenants(SWITCHER_LIMIT) if user.is_platform_admin else repo.tenants_of(user.id))
    ctx.tenants = tuple(TenantRef.of(t) for t in found)
    slug = request.path_params.get("slug")
    if slug is not None:
        await _enter_tenant(session, ctx, str(slug))
    request.state.admin = ctx


async def _enter_tenant(session: SessionDep, ctx: AdminContext, slug: str) -> None:
    """The page's tenant: a member's, or any for a platform admin; another tenant is a plain 404."""
    try:
        tenant = await tenants.get_tenant_by_slug_or_id(session, slug)
    except TenantNotFound:
        raise NoSuchTenant() from None
    membership = await MembershipRepo(session, tenant.id).first(Membership.user_id == ctx.user.id)
    if membership is None and not ctx.is_platform_admin:
        raise NoSuchTenant()
    ctx.tenant = TenantRef.of(tenant)
    ctx.role = membership.role if membership is not None else Role.OWNER
    tenant_id_var.set(str(tenant.id))


def current_admin(request: Request) -> AdminContext:
    ctx: AdminContext | None = getattr(request.state, "admin", None)
    if ctx is None:  # a public route asked for the user: treat as signed out
        raise LoginRequired()
    return ctx


Admin = Annotated[AdminContext, Depends(current_admin)]


def cookie_path(settings: Settings) -> str:
    """SESSION_PATH when it is a URL path, else the whole site."""
    path = settings.session.path
    return path if path.startswith("/") else "/"


def set_cookie(response: Response, settings: Settings, name: str, value: str, *, max_age: int | None) -> None:
    """Cookies follow SESSION_*: path, domain, Secure, HttpOnly and SameSite."""
    session = settings.session
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path=cookie_path(settings),
        domain=session.domain,
        secure=session.secure_cookie,
        httponly=session.http_only,
        samesite=session.same_site,
    )


def clear_cookie(response: Response, settings: Settings, name: str) -> None:
    response.delete_cookie(
        name,
        path=cookie_path(settings),
        domain=settings.session.domain,
        secure=settings.session.secure_cookie,
        httponly=settings.session.http_only,
        samesite=settings.session.same_site,
    )
