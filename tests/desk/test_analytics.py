"""The analytics dashboard on a known data set: exact counts, rates, percentiles, tokens and cost,
top questions and sources, feedback trend, CSV export, and ANALYTICS_ENABLED honoured."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import httpx

from chatbot_platform.app import create_app
from tests.desk.conftest import Desk
from tests.desk.seed import seed
from tests.fixtures.database import make_settings


async def test_dashboard_numbers_match_the_data(desk: Desk) -> None:
    a = desk.a
    tenant = await a.tenant()
    seeded = await seed(desk.database, desk.database_url, tenant.id)
    period = {
        "since": (seeded.day1 - timedelta(days=1)).isoformat(),
        "until": (seeded.day2 + timedelta(days=1)).isoformat(),
    }
    response = await a.http.get("/api/v1/analytics/dashboard", params=period, headers=tenant.headers)
    assert response.status_code == 200, response.text
    report = response.json()
    assert (report["questions"], report["answered"], report["dont_know"]) == (4, 3, 1)
    assert (report["answer_rate"], report["dont_know_rate"]) == (0.75, 0.25)
    assert report["handoffs"] == 1
    assert (report["feedback_positive"], report["feedback_negative"]) == (1, 1)
    assert report["latency"] == {
        "p50_ms": 250.0,
        "p90_ms": 370.0,
        "p95_ms": 385.0,
        "p99_ms": 397.0,
        "first_token_p50_ms": 125.0,
    }
    assert (report["prompt_tokens"], report["completion_tokens"]) == (3000, 1500)
    # gpt-4o-mini: 0.15 USD per million prompt tokens, 0.60 per million completion tokens.
    assert Decimal(str(report["cost_usd"])) == Decimal("0.00135")
    assert report["top_questions"] == [
        {"text": "quali sono gli orari?", "count": 3},
        {"text": "chi è il sindaco?", "count": 1},
    ]
    assert report["top_sources"] == [
        {"title": "Orari", "url": "https://comune.example/orari", "count": 3},
        {"title": "Tariffe", "url": "https://comune.example/tariffe", "count": 1},
    ]
    days = {d["day"]: d for d in report["days"]}
    first, second = days[seeded.day1.date().isoformat()], days[seeded.day2.date().isoformat()]
    assert (first["questions"], first["answered"], first["dont_know"], first["handoffs"]) == (3, 2, 1, 0)
    assert (second["questions"], second["answered"], second["handoffs"]) == (1, 1, 1)
    assert (second["feedback_positive"], second["feedback_negative"]) == (1, 1)
    assert first["prompt_tokens"] == 2000
    assert second["prompt_tokens"] == 1000

    exported = await a.http.get("/api/v1/analytics/export", params=period, headers=tenant.headers)
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert [(r["day"], r["questions"], r["answer_rate"], r["dont_know_rate"]) for r in rows] == [
        (seeded.day1.date().isoformat(), "3", "0.6667", "0.3333"),
        (seeded.day2.date().isoformat(), "1", "1.0000", "0.0000"),
    ]
    top = await a.http.get(
        "/api/v1/analytics/export", params={**period, "report": "top_questions"}, headers=tenant.headers
    )
    assert top.text.splitlines()[1] == "quali sono gli orari?,3"

    # Days are counted in the desk's time zone.
    await a.http.patch(
        "/api/v1/desk/settings", json={"timezone": "Pacific/Kiritimati"}, headers=tenant.headers
    )
    shifted = (await a.http.get("/api/v1/analytics/dashboard", params=period, headers=tenant.headers)).json()
    assert shifted["timezone"] == "Pacific/Kiritimati"
    assert shifted["questions"] == 4


async def test_analytics_can_be_switched_off(desk: Desk, tmp_path: Path) -> None:
    tenant = await desk.a.tenant()
    for flags, status in ({"ANALYTICS_ENABLED": "false"}, 404), ({"RAG_TELEMETRY_ENABLED": "false"}, 200):
        app = create_app(make_settings(tmp_path / "storage", desk.database_url, **flags))
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
                response = await client.get("/api/v1/analytics/dashboard", headers=tenant.headers)
        assert response.status_code == status, response.text
        if status == 404:
            assert response.json()["error"]["code"] == "analytics_disabled"
        else:
            assert response.json()["latency"] is None
            assert response.json()["top_sources"] is None
