"""The crawler's parts on their own: URLs and scope, robots.txt, sitemaps, extraction, safe fetching."""

from __future__ import annotations

import asyncio
import gzip
import uuid

import pytest
from redis.asyncio import Redis

from chatbot_platform.kit.fetch import FetchError
from chatbot_platform.scraper.crawler import Crawl
from chatbot_platform.scraper.extraction import decode_html, extract
from chatbot_platform.scraper.fetching import Fetcher
from chatbot_platform.scraper.robots import crawl_delay, parse_robots
from chatbot_platform.scraper.schemas import CrawlOptions
from chatbot_platform.scraper.sitemap import parse_sitemap
from chatbot_platform.scraper.slots import RedisSlots
from chatbot_platform.scraper.urls import Scope, normalize_url
from tests.scraper.site import Site, layout, serving


def test_urls_are_normalised_and_scoped() -> None:
    assert normalize_url("HTTP://Example.COM:80/a?b=1#top") == "http://example.com/a?b=1"
    assert normalize_url("../c", "https://example.com/a/b/") == "https://example.com/a/c"
    assert normalize_url("mailto:info@example.com") is None
    assert normalize_url("javascript:void(0)") is None
    scope = Scope.build(["*.comune.it"], [], [r"\.zip$"], [r"/tag/"], ["https://www.comune.it/"])
    assert scope.allows("https://servizi.comune.it/x")
    assert scope.allows("https://comune.it/")
    assert not scope.allows("https://comune.it.evil.com/")
    assert not scope.allows("https://www.comune.it/a.zip")
    assert scope.links_only("https://www.comune.it/tag/eventi")
    default = Scope.build([], [r"/servizi/"], [], [], ["http://127.0.0.1:8000/servizi/"])
    assert default.allows("http://127.0.0.1:8000/servizi/a")
    assert not default.allows("http://127.0.0.1:8000/altro")
    assert not default.allows("http://127.0.0.1:9000/servizi/a")


def test_robots_rules_and_fractional_crawl_delay() -> None:
    text = "User-agent: Googlebot\nCrawl-delay: 9\n\nUser-agent: *\nDisallow: /admin\nCrawl-delay: 0.5\n"
    rules = parse_robots(text + "Sitemap: https://a.it/sitemap.xml\n")
    assert not rules.allows("https://a.it/admin/x")
    assert rules.allows("https://a.it/pagina")
    assert rules.crawl_delay == 0.5
    assert rules.sitemaps == ["https://a.it/sitemap.xml"]
    assert crawl_delay("User-agent: ChatbotPlatformBot\nCrawl-delay: 2\nUser-agent: *\nCrawl-delay: 5\n") == 2
    assert crawl_delay("User-agent: *\nCrawl-delay: 100000\n") == 60


def test_sitemaps_indexes_and_gzip() -> None:
    urlset = (
        b'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        b"<url><loc> https://a.it/1 </loc></url><url><loc>https://a.it/2</loc></url></urlset>"
    )
    assert parse_sitemap(urlset) == (["https://a.it/1", "https://a.it/2"], [])
    assert parse_sitemap(gzip.compress(urlset))[0] == ["https://a.it/1", "https://a.it/2"]
    index = b"<sitemapindex><sitemap><loc>https://a.it/s1.xml</loc></sitemap></sitemapindex>"
    assert parse_sitemap(index) == ([], ["https://a.it/s1.xml"])
    bomb = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><urlset><url><loc>&a;</loc></url></urlset>'
    assert parse_sitemap(bomb) == ([], [])  # entities are refused (billion laughs)
    assert parse_sitemap(b"not xml") == ([], [])


def test_titles_follow_the_strategy_and_robots_meta_is_honoured() -> None:
    html = (
        '<html><head><title>Titolo</title><meta property="og:title" content="Social">'
        '<meta name="robots" content="noindex, nofollow"></head>'
        '<body><h1>Intestazione</h1><p>Testo <a href="/x" rel="nofollow">x</a> <a href="/y">y</a></p>'
        "</body></html>"
    )
    url = "https://a.it/guida-ai-servizi.html"
    titles = {s: extract(html, url, title_strategy=s).title for s in ("title_tag", "h1", "og_title", "url")}
    assert titles == {
        "title_tag": "Titolo",
        "h1": "Intestazione",
        "og_title": "Social",
        "url": "Guida ai servizi",
    }
    page = extract(html, url)
    assert (page.noindex, page.nofollow, page.links) == (True, True, ["https://a.it/y"])


def test_the_charset_comes_from_the_header_then_the_page_then_detection() -> None:
    text = "<p>perché così</p>"
    assert decode_html(text.encode("cp1252"), "iso-8859-1") == text
    assert "perché" in decode_html(f'<meta charset="windows-1252">{text}'.encode("cp1252"), None)
    assert "perché" in decode_html(text.encode("utf-8"), None)


async def test_fetching_refuses_private_and_metadata_addresses_also_after_a_redirect() -> None:
    site = Site()
    site.page("/", "<p>ok</p>")
    site.redirect("/meta", "http://169.254.169.254/latest/meta-data/")
    site.redirect("/ipv6-meta", "http://[::ffff:169.254.169.254]/")
    with serving(site):
        strict = Fetcher(allow_private=False, timeout=2, headers={})
        with pytest.raises(FetchError, match="private or reserved"):
            await strict.get(site.url("/"), max_bytes=1000)
        await strict.aclose()
        allowed = Fetcher(allow_private=True, timeout=2, headers={})
        assert (await allowed.get(site.url("/"), max_bytes=1000)).status_code == 200
        for path in ("/meta", "/ipv6-meta"):
            with pytest.raises(FetchError, match="metadata"):
                await allowed.get(site.url(path), max_bytes=1000)
        with pytest.raises(FetchError, match="larger than"):
            await allowed.get(site.url("/"), max_bytes=5)
        await allowed.aclose()
    assert site.hits["/"]  # the strict fetcher never connected; the allowed one did
    assert len(site.hits["/"]) == 2


class CountingSink:
    """A crawl's sink that keeps nothing (the database-backed one is tested in test_crawl.py)."""

    def __init__(self) -> None:
        self.stored = 0

    def previous(self, url: str) -> None:
        return None

    def known_hashes(self) -> dict[str, str]:
        return {}

    async def seen(self, url: str, **values: object) -> None:
        pass

    async def store(self, content: object) -> bool:
        self.stored += 1
        return True

    async def failed(self, url: str, reason: str) -> None:
        raise AssertionError(f"{url}: {reason}")

    async def gone(self, url: str) -> None:
        raise AssertionError(url)

    async def progress(self, counters: object) -> bool:
        return False


async def test_the_concurrency_bound_holds_across_processes_sharing_redis() -> None:
    site = Site()
    links = [f"/p{i}" for i in range(12)]
    site.page("/", layout("Home", "<p>Indice.</p>", links=links))
    for link in links:
        site.page(link, layout(link, f"<p>Pagina {link}.</p>"), delay=0.1)
    key = f"cbp-test:scraper:slots:{uuid.uuid4().hex}"
    clients = [Redis(), Redis()]  # two worker processes, each with its own connection
    sinks = [CountingSink(), CountingSink()]
    try:
        with serving(site):
            options = CrawlOptions.model_validate({"seeds": [site.url("/")], "rate_limit": 1000})
            crawls = [
                Crawl(
                    options,
                    sink,
                    allow_private=True,
                    max_concurrent=3,  # each process would run 3 at once on its own
                    slots=RedisSlots(client, key=key, limit=2, lease_seconds=30),
                )
                for client, sink in zip(clients, sinks, strict=True)
            ]
            await asyncio.gather(*(crawl.run() for crawl in crawls))
    finally:
        for client in clients:
            await client.aclose()
    assert [sink.stored for sink in sinks] == [13, 13]
    assert site.max_in_flight == 2
