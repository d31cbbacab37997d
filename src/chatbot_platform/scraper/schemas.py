"""Scraper configurations, runs and single-page scrapes as the API speaks them."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, StringConstraints, field_validator

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Pattern = Annotated[str, StringConstraints(min_length=1, max_length=500)]
Domain = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, to_lower=True, pattern=r"^(\*\.)?[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:\d+)?$"
    ),
]
HeaderName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,100}$")]
TitleStrategy = Literal["title_tag", "h1", "og_title", "url"]
MAX_URLS = 500
FORBIDDEN_HEADERS = frozenset({"host", "content-length", "transfer-encoding", "connection"})
DEFAULT_DOCUMENT_TYPES = ["pdf", "docx", "xlsx", "pptx", "csv", "txt", "md"]


def _compiled(patterns: list[str]) -> list[str]:
    for pattern in patterns:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise ValueError(f"{pattern!r} is not a valid regular expression: {exc}") from None
    return patterns


class CrawlOptions(BaseModel):
    """How a site is crawled. Patterns are regular expressions searched in the full URL."""

    model_config = ConfigDict(extra="forbid")

    seeds: list[AnyHttpUrl] = Field(
        default_factory=list, max_length=MAX_URLS, description="Start pages (http/https)."
    )
    sitemaps: list[AnyHttpUrl] = Field(
        default_factory=list,
        max_length=MAX_URLS,
        description="Sitemap or sitemap-index URLs; their pages are crawled too.",
    )
    allowed_domains: list[Domain] = Field(
        default_factory=list,
        description="Hosts the crawl may visit (`*.example.com` for subdomains); empty: the seeds' hosts.",
    )
    include_patterns: list[Pattern] = Field(
        default_factory=list, description="Only URLs matching one of these are crawled (empty: all)."
    )
    exclude_patterns: list[Pattern] = Field(
        default_factory=list, description="URLs matching these are skipped."
    )
    link_only_patterns: list[Pattern] = Field(
        default_factory=list,
        description="Pages matching these are followed for links but not ingested (indexes, listings).",
    )
    max_depth: int = Field(3, ge=0, le=50, description="Link hops from a seed (sitemap pages are depth 0).")
    max_pages: int = Field(500, ge=1, le=100_000, description="Pages fetched per run at most.")
    rate_limit: float = Field(
        2.0, gt=0, le=1000, description="Requests per second per host (robots.txt crawl-delay may lower it)."
    )
    timeout: float = Field(20.0, gt=0, le=300, description="Seconds one request may take.")
    headers: dict[HeaderName, Annotated[str, StringConstraints(max_length=2000)]] = Field(
        default_factory=dict, description="Extra request headers (e.g. a cookie or Authorization)."
    )
    respect_robots: bool = Field(True, description="Obey robots.txt rules and its crawl-delay.")
    render_js: bool = Field(False, description="Render pages in headless Chromium before extracting.")
    title_strategy: TitleStrategy = Field(
        "title_tag", description="Document title from <title>, the first <h1>, og:title, or the URL."
    )
    download_documents: bool = Field(False, description="Also ingest linked files (PDF, DOCX, ...).")
    document_types: list[Annotated[str, StringConstraints(to_lower=True, pattern=r"^[a-z0-9]{1,10}$")]] = (
        Field(default_factory=lambda: list(DEFAULT_DOCUMENT_TYPES), description="File extensions downloaded.")
    )
    max_document_mb: float = Field(20.0, gt=0, le=500, description="Largest linked file downloaded (MB).")
    max_page_mb: float = Field(5.0, gt=0, le=100, description="Largest HTML page read (MB).")
    remove_vanished: bool = Field(
        False, description="Delete the documents of pages gone from the site (otherwise only marked)."
    )

    @field_validator("include_patterns", "exclude_patterns", "link_only_patterns")
    @classmethod
    def _valid_patterns(cls, value: list[str]) -> list[str]:
        return _compiled(value)

    @field_validator("headers")
    @classmethod
    def _allowed_headers(cls, value: dict[str, str]) -> dict[str, str]:
        refused = sorted(name for name in value if name.lower() in FORBIDDEN_HEADERS)
        if refused:
            raise ValueError(f"these headers cannot be set: {', '.join(refused)}")
        return value


class Schedule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    interval_minutes: int = Field(ge=5, le=60 * 24 * 90, description="Minutes between scheduled runs.")


class ScraperConfigCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name
    knowledge_base_id: uuid.UUID = Field(description="Where the pages are ingested.")
    enabled: bool = True
    options: CrawlOptions
    schedule: Schedule | None = Field(None, description="Run on a schedule (`cbp scheduler`); null: manual.")

    @field_validator("options")
    @classmethod
    def _has_start(cls, value: CrawlOptions) -> CrawlOptions:
        if not value.seeds and not value.sitemaps:
            raise ValueError("give at least one seed URL or sitemap")
        return value


class ScraperConfigUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    knowledge_base_id: uuid.UUID | None = None
    enabled: bool | None = None
    options: CrawlOptions | None = Field(None, description="Replaces every option.")
    schedule: Schedule | None = Field(None, description="null turns the schedule off.")

    @field_validator("options")
    @classmethod
    def _has_start(cls, value: CrawlOptions | None) -> CrawlOptions | None:
        if value is not None and not value.seeds and not value.sitemaps:
            raise ValueError("give at least one seed URL or sitemap")
        return value


class ScraperConfig(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    knowledge_base_id: uuid.UUID
    enabled: bool
    options: CrawlOptions
    schedule: Schedule | None
    next_run_at: datetime | None
    last_run_at: datetime | None
    created_at: datetime
    updated_at: datetime


class ScraperRun(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    config_id: uuid.UUID
    status: str
    trigger: str
    cancel_requested: bool
    found: int = Field(description="URLs discovered and accepted for crawling.")
    fetched: int = Field(description="Pages and files downloaded.")
    skipped: int = Field(description="Unchanged (304 or same content), duplicates, robots-disallowed.")
    failed: int
    ingested: int = Field(description="New or changed pages sent to ingestion.")
    vanished: int = Field(description="Pages gone from the site since the last run.")
    removed: int = Field(description="Documents of vanished pages deleted.")
    error: str | None
    started_at: datetime | None
    finished_at: datetime | None
    created_at: datetime


class ScrapeUrl(BaseModel):
    """One page fetched, extracted and ingested now, without a configuration."""

    model_config = ConfigDict(extra="forbid")

    url: AnyHttpUrl
    knowledge_base_id: uuid.UUID
    render_js: bool = False
    respect_robots: bool = True
    title_strategy: TitleStrategy = "title_tag"
    timeout: float = Field(20.0, gt=0, le=120)
    headers: dict[HeaderName, Annotated[str, StringConstraints(max_length=2000)]] = Field(
        default_factory=dict
    )


class ScrapedPage(BaseModel):
    document_id: uuid.UUID
    url: str = Field(description="The canonical URL (the document's external_id).")
    title: str
    unchanged: bool = Field(description="true: the same content was already ingested; nothing was redone.")
    characters: int
