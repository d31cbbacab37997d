"""The crawler's HTTP client: one pooled client whose every request (each redirect hop too) is
SSRF-checked by `kit.fetch` and sent to the address that was checked.

Cloud metadata and link-local addresses are refused even when the operator allows private
networks (FETCH_ALLOW_PRIVATE_NETWORKS is for intranets, never for the instance's credentials).
"""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import httpx

from chatbot_platform.kit.fetch import USER_AGENT, FetchError, checked_address

MAX_REDIRECTS = 5
DNS_TTL = 30.0
ALWAYS_REFUSED = (
    ipaddress.ip_network("169.254.0.0/16"),  # link-local, cloud metadata (169.254.169.254)
    ipaddress.ip_network("100.100.100.200/32"),  # Alibaba Cloud metadata
    ipaddress.ip_network("fe80::/10"),
    ipaddress.ip_network("fd00:ec2::254/128"),  # AWS metadata over IPv6
)


def always_refused(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return any(ip in network for network in ALWAYS_REFUSED if network.version == ip.version)


class SafeTransport(httpx.AsyncHTTPTransport):
    """Checks and pins every request's destination; connections are pooled per checked address."""

    def __init__(self, *, allow_private: bool, max_connections: int) -> None:
        super().__init__(retries=0, limits=httpx.Limits(max_connections=max_connections))
        self.allow_private = allow_private
        self.checked: dict[tuple[str, str, int | None], tuple[float, str]] = {}

    async def _address(self, url: httpx.URL) -> str:
        """The checked address of the URL's host, resolved again after DNS_TTL seconds. Reusing
        it is safe: requests go to that address, so a changed DNS answer cannot redirect them."""
        key = (url.scheme, url.host, url.port)
        cached = self.checked.get(key)
        if cached is not None and cached[0] > time.monotonic():
            return cached[1]
        address = await checked_address(str(url), allow_private=self.allow_private)
        self.checked[key] = (time.monotonic() + DNS_TTL, address)
        return address

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        address = await self._address(request.url)
        if always_refused(address):
            raise FetchError(f"Refusing to fetch {request.url.host}: it is a link-local or metadata address.")
        host = request.url.host
        request.extensions = {**request.extensions, "sni_hostname": host}
        request.headers["Host"] = request.url.netloc.decode()
        pinned = f"[{address}]" if ":" in address else address
        request.url = request.url.copy_with(host=pinned)
        return await super().handle_async_request(request)


@dataclass(frozen=True)
class Response:
    url: str  # after redirects
    status_code: int
    headers: httpx.Headers
    content: bytes

    @property
    def content_type(self) -> str:
        return str(self.headers.get("content-type", "")).split(";")[0].strip().lower()

    @property
    def charset(self) -> str | None:
        for part in str(self.headers.get("content-type", "")).split(";")[1:]:
            key, _, value = part.partition("=")
            if key.strip().lower() == "charset" and value.strip():
                return str(value).strip().strip("\"'")
        return None


class SizeExceeded(FetchError):
    pass


class Fetcher:
    """GETs with redirects followed hop by hop, a body cap, and the configuration's headers."""

    def __init__(
        self, *, allow_private: bool, timeout: float, headers: dict[str, str], max_connections: int = 10
    ) -> None:
        self.allow_private = allow_private
        self.timeout = timeout
        self.headers = {"User-Agent": USER_AGENT, **headers}
        self.max_connections = max_connections
        self.clients: dict[str, httpx.AsyncClient] = {}

    def _client(self, url: str) -> httpx.AsyncClient:
        """One pooled client per origin: a TLS connection made for one host name is never reused
        for another name that resolves to the same address."""
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}".lower()
        if origin not in self.clients:
            self.clients[origin] = httpx.AsyncClient(
                transport=SafeTransport(
                    allow_private=self.allow_private, max_connections=self.max_connections
                ),
                timeout=self.timeout,
                headers=self.headers,
            )
        return self.clients[origin]

    async def get(
        self,
        url: str,
        *,
        max_bytes: int,
        headers: dict[str, str] | None = None,
        before_hop: Callable[[str], Awaitable[None]] | None = None,
    ) -> Response:
        """`before_hop` runs before each redirect hop (the crawler's per-host pacing)."""
        for hop in range(MAX_REDIRECTS + 1):
            if hop and before_hop is not None:
                await before_hop(url)
            if urlsplit(url).scheme not in {"http", "https"}:
                raise FetchError("Only http:// and https:// URLs can be fetched.")
            try:
                async with self._client(url).stream("GET", url, headers=headers) as response:
                    if response.is_redirect and "location" in response.headers:
                        url = urljoin(url, response.headers["location"])
                        continue
                    declared = response.headers.get("content-length", "")
                    if declared.isdigit() and int(declared) > max_bytes:
                        raise SizeExceeded(f"The response is larger than {_mb(max_bytes)}.")
                    content = bytearray()
                    async for chunk in response.aiter_bytes():
                        content += chunk
                        if len(content) > max_bytes:
                            raise SizeExceeded(f"The response is larger than {_mb(max_bytes)}.")
                    return Response(url, response.status_code, response.headers, bytes(content))
            except httpx.TimeoutException as exc:
                raise FetchError(f"Timed out fetching {url}.") from exc
            except httpx.HTTPError as exc:
                raise FetchError(f"Could not fetch {url}: {type(exc).__name__}.") from exc
        raise FetchError(f"Too many redirects fetching {url}.")

    async def aclose(self) -> None:
        for client in self.clients.values():
            await client.aclose()
        self.clients.clear()


def _mb(size: int) -> str:
    return f"{size / (1024 * 1024):.3g} MB"
