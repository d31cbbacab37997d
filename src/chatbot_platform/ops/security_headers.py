"""The seed's NGINX security headers and CORS for the API, sent by the app itself so that they hold
without NGINX too (SECURE_HEADERS_ENABLED, HSTS_MAX_AGE, CSP_ENABLED, SANCTUM_STATEFUL_DOMAINS).

The widget (`/widget/…`, `/api/v1/widget/…`) answers CORS per tenant origin and may be framed by
tenant sites, so it gets neither our CORS nor the framing headers; a header a route set itself is
never replaced.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from chatbot_platform.settings import Settings

# The seed's policy, plus frame-ancestors so that modern browsers enforce the same framing rule.
CONTENT_SECURITY_POLICY = (
    "default-src 'self' http: https: data: blob: 'unsafe-inline'; frame-ancestors 'self'"
)
WIDGET_PREFIXES = ("/widget", "/api/v1/widget")
CORS_PREFIXES = ("/api/", "/v1/")
CORS_METHODS = "GET, POST, PUT, PATCH, DELETE, OPTIONS"
CORS_HEADERS = "Authorization, Content-Type, X-Request-Id, Idempotency-Key, X-Tenant-Id, X-Admin-Token"
CORS_EXPOSE = "X-Request-Id, Retry-After, X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Reset"
CORS_MAX_AGE = "600"


def is_widget_path(path: str) -> bool:
    return any(path == p or path.startswith(p + "/") for p in WIDGET_PREFIXES)


def allowed_origins(settings: Settings) -> frozenset[str]:
    """APP_URL's origin and every SANCTUM_STATEFUL_DOMAINS host, over https (and http for localhost)."""
    origins = set()
    app_url = urlsplit(settings.app.url)
    if app_url.scheme and app_url.netloc:
        origins.add(f"{app_url.scheme}://{app_url.netloc}")
    for domain in (settings.security.stateful_domains or "").split(","):
        host = domain.strip().removeprefix("https://").removeprefix("http://").rstrip("/")
        if host:
            origins.add(f"https://{host}")
            if host.split(":")[0] in {"localhost", "127.0.0.1"}:
                origins.add(f"http://{host}")
    return frozenset(origins)


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp, *, settings: Settings) -> None:
        self.app = app
        security = settings.security
        self.enabled = security.secure_headers_enabled
        self.csp = CONTENT_SECURITY_POLICY if security.csp_enabled else None
        self.hsts = (
            f"max-age={security.hsts_max_age}; includeSubDomains" if security.hsts_max_age > 0 else None
        )
        self.https_app = settings.app.url.startswith("https://")
        self.origins = allowed_origins(settings)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        widget = is_widget_path(path)
        origin = Headers(scope=scope).get("origin")
        cors_origin = (
            origin if origin in self.origins and path.startswith(CORS_PREFIXES) and not widget else None
        )
        if cors_origin is not None and _is_preflight(scope):
            await self._preflight(cors_origin)(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                if self.enabled:
                    self._security(headers, scope, widget)
                if cors_origin is not None:
                    _cors(headers, cors_origin)
            await send(message)

        await self.app(scope, receive, send_with_headers)

    def _security(self, headers: MutableHeaders, scope: Scope, widget: bool) -> None:
        defaults = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer-when-downgrade"}
        if not widget:
            defaults["X-Frame-Options"] = "SAMEORIGIN"
            if self.csp:
                defaults["Content-Security-Policy"] = self.csp
        if self.hsts and (scope.get("scheme") == "https" or self.https_app):
            defaults["Strict-Transport-Security"] = self.hsts
        for name, value in defaults.items():
            if name not in headers:
                headers[name] = value

    def _preflight(self, origin: str) -> Response:
        response = Response(status_code=204)
        _cors(response.headers, origin)
        response.headers["Access-Control-Allow-Methods"] = CORS_METHODS
        response.headers["Access-Control-Allow-Headers"] = CORS_HEADERS
        response.headers["Access-Control-Max-Age"] = CORS_MAX_AGE
        return response


def _is_preflight(scope: Scope) -> bool:
    return scope["method"] == "OPTIONS" and "access-control-request-method" in Headers(scope=scope)


def _cors(headers: MutableHeaders, origin: str) -> None:
    if "access-control-allow-origin" in headers:
        return
    headers["Access-Control-Allow-Origin"] = origin
    headers["Access-Control-Allow-Credentials"] = "true"
    headers["Access-Control-Expose-Headers"] = CORS_EXPOSE
    headers.add_vary_header("Origin")
