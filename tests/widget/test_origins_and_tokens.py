"""Allowed-origin matching and visitor session tokens, as pure functions."""

from __future__ import annotations

import uuid

import pytest

from chatbot_platform.widget import origins, tokens
from chatbot_platform.widget.errors import InvalidSessionToken, SessionExpired


@pytest.mark.parametrize(
    ("entry", "normalized"),
    [
        ("HTTPS://Shop.Example.com/", "https://shop.example.com"),
        ("https://example.com:443", "https://example.com"),
        ("http://localhost:8080", "http://localhost:8080"),
        ("https://*.example.it", "https://*.example.it"),
        ("http://127.0.0.1:3000", "http://127.0.0.1:3000"),
    ],
)
def test_origins_are_normalized(entry: str, normalized: str) -> None:
    assert origins.normalize(entry) == normalized


@pytest.mark.parametrize(
    "entry",
    ["example.com", "https://example.com/path", "ftp://example.com", "https://*", "https://a.*.com", "*", ""],
)
def test_what_is_not_an_origin_is_refused(entry: str) -> None:
    assert origins.normalize(entry) is None


def test_exact_and_wildcard_matching() -> None:
    allowed = ["https://shop.example.com", "https://*.comune.it", "http://localhost:8080"]
    assert origins.allows(allowed, "https://shop.example.com")
    assert origins.allows(allowed, "https://www.comune.it")
    assert origins.allows(allowed, "https://a.b.comune.it")
    assert origins.allows(allowed, "http://localhost:8080")
    assert not origins.allows(allowed, "https://comune.it")  # the wildcard means subdomains only
    assert not origins.allows(allowed, "https://evilcomune.it")
    assert not origins.allows(allowed, "http://www.comune.it")  # another scheme
    assert not origins.allows(allowed, "https://www.comune.it:8443")  # another port
    assert not origins.allows(allowed, "http://localhost:9090")
    assert not origins.allows(allowed, "https://shop.example.com.evil.org")
    assert not origins.allows(allowed, None)


def test_the_origin_of_a_referer() -> None:
    assert origins.of_url("https://www.comune.it/servizi/anagrafe?x=1") == "https://www.comune.it"
    assert origins.of_url("null") is None
    assert origins.of_url("javascript:alert(1)") is None


def _session(now: float) -> tokens.VisitorSession:
    return tokens.new_session(
        tenant_id=uuid.uuid4(),
        key_id=uuid.uuid4(),
        visitor_id="v_abcdefghijklmnop",
        conversation_id="widget-abc",
        origin="https://www.comune.it",
        now=now,
    )


def test_a_token_carries_its_session_until_it_expires() -> None:
    key = tokens.signing_key("app key")
    session = _session(now=1_000_000)
    token = tokens.issue(key, session)
    assert tokens.verify(key, token, now=1_000_000 + tokens.TOKEN_TTL_SECONDS - 1) == session
    with pytest.raises(SessionExpired):
        tokens.verify(key, token, now=1_000_000 + tokens.TOKEN_TTL_SECONDS)


def test_forged_and_malformed_tokens_are_refused() -> None:
    key = tokens.signing_key("app key")
    token = tokens.issue(key, _session(now=10**10))
    body, _, signature = token.partition(".")
    for bad in [
        tokens.issue(tokens.signing_key("another key"), _session(now=10**10)),
        body[:-2] + "AA." + signature,
        "garbage",
        "",
        body + ".",
    ]:
        with pytest.raises(InvalidSessionToken):
            tokens.verify(key, bad)


def test_the_configuration_cache_is_per_database_and_forgets_a_tenant() -> None:
    from chatbot_platform.widget.cache import PublicWidget, WidgetCache

    cache = WidgetCache()
    widget = PublicWidget(uuid.uuid4(), "comune", "Comune", "it", True, (), "default", 24)
    cache.put("db-a", widget, ttl=60)
    cache.put("db-b", widget, ttl=0)  # a TTL of 0 caches nothing
    assert cache.get("db-a", "comune") == widget
    assert cache.get("db-b", "comune") is None
    cache.forget(widget.tenant_id)
    assert cache.get("db-a", "comune") is None
