"""SSRF-safe HTTP fetching: refuses private, loopback, link-local and metadata addresses.

Every hop of a redirect chain is resolved and checked before it is requested, and the
connection goes to the address that was checked (the host name is kept for TLS and the Host
header), so DNS rebinding between the check and the request cannot reach an internal address.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import httpx

MAX_REDIRECTS = 5
USER_AGENT = "ChatbotPlatformBot/0.1 (+https://github.com/chatbot-platform)"


class FetchError(Exception):
    """The URL could not be fetched; the message is safe to show."""


@dataclass(frozen=True)
class Fetched:
    url: str
    status_code: int
    content_type: str
    content: bytes
    headers: dict[str, str]


def is_public_address(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


async def resolve(host: str, port: int) -> list[str]:
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise FetchError(f"Cannot resolve host {host!r}.") from exc
    return sorted({str(info[4][0]) for info in infos})


async def checked_address(url: str, *, allow_private: bool) -> str:
    """The address to connect to for `url`, after refusing unsafe schemes and destinations."""
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise FetchError("Only http:// and https:// URLs can be fetched.")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    addresses = await resolve(parts.hostname, port)
    if not allow_private:
        refused = [a for a in addresses if not is_public_address(a)]
        if refused:
            raise FetchError(
                f"Refusing to fetch {parts.hostname}: it resolves to a private or reserved address."
            )
    return addresses[0]


class PinnedTransport(httpx.AsyncHTTPTransport):
    """Connects to the pre-checked address while keeping the URL's host for TLS and Host."""

    def __init__(self, address: str) -> None:
        super().__init__(retries=0)
        self.address = address

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        host = request.url.host
        request.extensions = {**request.extensions, "sni_hostname": host}
        request.headers["Host"] = request.url.netloc.decode()
        pinned = f"[{self.address}]" if ":" in self.address else self.address
        request.url = request.url.copy_with(host=pinned)
        return await super().handle_async_request(request)


async def fetch(
    url: str,
    *,
    allow_private: bool = False,
    request_timeout: float = 30.0,
    max_bytes: int = 100 * 1024 * 1024,
    headers: dict[str, str] | None = None,
) -> Fetched:
    """GET `url`, following at most MAX_REDIRECTS redirects, each hop checked; body capped at max_bytes."""
    for _ in range(MAX_REDIRECTS + 1):
        address = await checked_address(url, allow_private=allow_private)
        async with httpx.AsyncClient(transport=PinnedTransport(address), timeout=request_timeout) as client:
            request_headers = {"User-Agent": USER_AGENT, **(headers or {})}
            try:
                async with client.stream("GET", url, headers=request_headers) as response:
                    if response.is_redirect and "location" in response.headers:
                        url = urljoin(url, response.headers["location"])
                        continue
                    content = await _read_capped(response.aiter_bytes(), max_bytes)
                    return Fetched(
                        url=url,
                        status_code=response.status_code,
                        content_type=response.headers.get("content-type", ""),
                        content=content,
                        headers=dict(response.headers),
                    )
            except httpx.TimeoutException as exc:
                raise FetchError(f"Timed out fetching {url}.") from exc
            except httpx.HTTPError as exc:
                raise FetchError(f"Could not fetch {url}: {type(exc).__name__}.") from exc
    raise FetchError(f"Too many redirects fetching {url}.")


async def _read_capped(chunks: AsyncIterator[bytes], max_bytes: int) -> bytes:
    buffer = bytearray()
    async for chunk in chunks:
        buffer += chunk
        if len(buffer) > max_bytes:
            raise FetchError(f"The response is larger than {max_bytes // (1024 * 1024)} MB.")
    return bytes(buffer)
