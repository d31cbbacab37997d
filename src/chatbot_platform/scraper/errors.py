from __future__ import annotations

from chatbot_platform.kit.errors import Conflict, NotFound, ServiceUnavailable, Unprocessable


class ScraperConfigNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("Scraper configuration not found.")


class ScraperRunNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("Scraper run not found.")


class ScraperConfigNameTaken(Conflict):
    def __init__(self, name: str) -> None:
        super().__init__(f"A scraper configuration named {name!r} already exists.")


class RunAlreadyActive(Conflict):
    def __init__(self) -> None:
        super().__init__("A run of this configuration is already queued or running; cancel it or wait.")


class RunFinished(Conflict):
    def __init__(self, status: str) -> None:
        super().__init__(f"The run is already {status}.")


class ScraperDisabled(ServiceUnavailable):
    def __init__(self) -> None:
        super().__init__("The website scraper is disabled on this platform (SCRAPER_ENABLED=false).")


class PageNotScraped(Unprocessable):
    """A single-page scrape that produced nothing to ingest; the reason is shown."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason, details=[{"field": "url", "location": "body", "message": reason}])
