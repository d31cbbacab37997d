"""Signing in and out, password reset by e-mail, accepting an invitation, choosing the language."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, BackgroundTasks, Request
from fastapi.responses import HTMLResponse, Response

from chatbot_platform.admin import mail, service
from chatbot_platform.admin.auth import (
    CSRF_COOKIE,
    LOCALE_COOKIE,
    SESSION_COOKIE,
    Admin,
    clear_cookie,
    client_ip,
    session_store,
    set_cookie,
)
from chatbot_platform.admin.forms import read_form, text
from chatbot_platform.admin.i18n import LOCALES, translate
from chatbot_platform.admin.rendering import redirect, render
from chatbot_platform.admin.repository import UserRepo
from chatbot_platform.audit import service as audit
from chatbot_platform.kit.deps import SessionDep, SettingsDep
from chatbot_platform.kit.security import new_token
from chatbot_platform.models import AdminTokenKind, User
from chatbot_platform.runtime import ServicesDep
from chatbot_platform.settings import Settings

router = APIRouter()
LOGIN_LIMIT_PER_ACCOUNT = 5  # attempts per minute for one e-mail from one address
LOGIN_LIMIT_PER_ADDRESS = 20  # attempts per minute from one address, any e-mail
MAIL_LIMIT_PER_ADDRESS = 5  # reset e-mails requested per minute from one address
WINDOW_SECONDS = 60.0


def safe_next(value: str | None) -> str:
    """Only our own pages: an absolute or protocol-relative URL would be an open redirect."""
    if value and value.startswith("/admin/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/admin/"


async def _throttled(services: ServicesDep, *keys: tuple[str, int]) -> int | None:
    """Seconds to wait when any key is over its limit, else None."""
    for key, limit in keys:
        window = await services.throttle.hit(key, limit=limit, window=WINDOW_SECONDS)
        if not window.allowed:
            return window.retry_after
    return None


@router.get("/login", response_class=HTMLResponse)
async def login_form(request: Request) -> HTMLResponse:
    return render(request, "login.html", next=safe_next(request.query_params.get("next")), error=None)


@router.post("/login", response_class=HTMLResponse)
async def login(request: Request, session: SessionDep, services: ServicesDep) -> Response:
    form = await read_form(request)
    email, password, next_url = (
        text(form, "email").lower(),
        text(form, "password"),
        safe_next(text(form, "next")),
    )
    locale = request.state.locale
    ip = client_ip(request) or "unknown"
    wait = await _throttled(
        services,
        (f"admin-login:{ip}:{email}", LOGIN_LIMIT_PER_ACCOUNT),
        (f"admin-login:{ip}", LOGIN_LIMIT_PER_ADDRESS),
    )
    if wait is not None:
        error = translate(locale, "login.throttled", seconds=wait)
        response = render(request, "login.html", 429, next=next_url, error=error, email=email)
        response.headers["Retry-After"] = str(wait)
        return response
    user = await service.authenticate(session, email, password)
    if user is None:
        error = translate(locale, "login.failed")
        return render(request, "login.html", 401, next=next_url, error=error, email=email)
    await audit.record(session, actor=f"user:{user.id}", action="admin.login", target=user, ip=ip)
    return await start_session(request, services.settings, user, next_url)


async def start_session(request: Request, settings: Settings, user: User, next_url: str) -> Response:
    """Sign `user` in: a new session cookie, and a new CSRF token (no token survives a login)."""
    token = await session_store(request).create(
        user.id, ip=client_ip(request), user_agent=request.headers.get("user-agent")
    )
    response = redirect(next_url)
    set_cookie(response, settings, SESSION_COOKIE, token, max_age=settings.session.lifetime * 60)
    set_cookie(response, settings, CSRF_COOKIE, new_token(24), max_age=None)
    return response


@router.post("/logout")
async def logout(request: Request, admin: Admin, settings: SettingsDep) -> Response:
    await session_store(request).destroy(admin.session_token)
    response = redirect("/admin/login")
    clear_cookie(response, settings, SESSION_COOKIE)
    clear_cookie(response, settings, CSRF_COOKIE)
    return response


@router.get("/password/forgot", response_class=HTMLResponse)
async def forgot_form(request: Request) -> HTMLResponse:
    return render(request, "forgot.html", sent=False)


@router.post("/password/forgot", response_class=HTMLResponse)
async def forgot(
    request: Request, session: SessionDep, services: ServicesDep, background: BackgroundTasks
) -> Response:
    email = text(await read_form(request), "email")
    ip = client_ip(request) or "unknown"
    if await _throttled(services, (f"admin-reset:{ip}", MAIL_LIMIT_PER_ADDRESS)) is None:
        issued = await service.request_password_reset(session, email)
        if issued is not None:
            user, token = issued
            settings = services.settings
            locale = user.locale if user.locale in LOCALES else request.state.locale
            link = f"{settings.app.url.rstrip('/')}/admin/password/reset/{quote(token)}"
            minutes = int(service.RESET_LIFETIME.total_seconds() // 60)
            subject = translate(locale, "mail.reset.subject", app=settings.app.name)
            body = translate(locale, "mail.reset.body", link=link, minutes=minutes)
            background.add_task(mail.send, settings, user.email, subject, body)
            await audit.record(
                session, actor=f"user:{user.id}", action="admin.password_reset_requested", ip=ip
            )
    return render(request, "forgot.html", sent=True)


@router.get("/password/reset/{token}", response_class=HTMLResponse)
async def reset_form(token: str, request: Request, session: SessionDep) -> HTMLResponse:
    valid = await service.valid_token(session, token, AdminTokenKind.PASSWORD_RESET) is not None
    return render(request, "reset.html", 200 if valid else 404, valid=valid, error=None, invitation=False)


@router.post("/password/reset/{token}", response_class=HTMLResponse)
async def reset(token: str, request: Request, session: SessionDep) -> Response:
    form = await read_form(request)
    error = _password_problem(request, text(form, "password"), text(form, "password_again"))
    if error is not None:
        return render(request, "reset.html", 422, valid=True, error=error, invitation=False)
    user = await service.use_token(session, token, AdminTokenKind.PASSWORD_RESET, text(form, "password"))
    if user is None:
        return render(request, "reset.html", 404, valid=False, error=None, invitation=False)
    await session_store(request).destroy_user(user.id)
    await audit.record(session, actor=f"user:{user.id}", action="admin.password_reset", target=user)
    return redirect("/admin/login", "reset.done")


def _password_problem(request: Request, password: str, again: str) -> str | None:
    locale = request.state.locale
    if password != again:
        return translate(locale, "reset.mismatch")
    if len(password) < service.MIN_PASSWORD_LENGTH:
        return translate(locale, "reset.too_short")
    return None


@router.get("/invitations/{token}", response_class=HTMLResponse)
async def invitation_form(token: str, request: Request, session: SessionDep) -> HTMLResponse:
    valid = await service.valid_token(session, token, AdminTokenKind.INVITATION) is not None
    return render(request, "reset.html", 200 if valid else 404, valid=valid, error=None, invitation=True)


@router.post("/invitations/{token}", response_class=HTMLResponse)
async def accept_invitation(
    token: str, request: Request, session: SessionDep, settings: SettingsDep
) -> Response:
    form = await read_form(request)
    error = _password_problem(request, text(form, "password"), text(form, "password_again"))
    if error is not None:
        return render(request, "reset.html", 422, valid=True, error=error, invitation=True)
    user = await service.use_token(
        session, token, AdminTokenKind.INVITATION, text(form, "password"), name=text(form, "name")
    )
    if user is None:
        return render(request, "reset.html", 404, valid=False, error=None, invitation=True)
    await audit.record(session, actor=f"user:{user.id}", action="admin.invitation_accepted", target=user)
    return await start_session(request, settings, user, "/admin/")


@router.post("/locale")
async def choose_locale(request: Request, session: SessionDep, settings: SettingsDep) -> Response:
    """The language of the UI: a cookie, and the signed-in user's preference."""
    form = await read_form(request)
    locale = text(form, "locale")
    if locale not in LOCALES:
        locale = settings.app.locale
    token = request.cookies.get(SESSION_COOKIE)
    user_id = await session_store(request).user_of(token) if token else None
    user = await UserRepo(session).get(user_id) if user_id else None
    if user is not None:
        await service.set_locale(session, user, locale)
    response = redirect(safe_next(text(form, "next")))
    set_cookie(response, settings, LOCALE_COOKIE, locale, max_age=365 * 24 * 3600)
    return response
