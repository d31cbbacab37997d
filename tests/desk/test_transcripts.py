"""Transcripts over real HTTP: search by text, dates, outcome, feedback and handoff; CSV and JSON
export; retention purge (endpoint and scheduler); erasure of one visitor's data with an audit entry."""

from __future__ import annotations

import csv
import io
import json
import uuid
from datetime import timedelta

import asyncpg

from chatbot_platform.kit.clock import utcnow
from chatbot_platform.scheduler.service import tick
from tests.desk.conftest import Desk
from tests.desk.seed import seed


async def test_transcripts_are_searchable_and_exportable(desk: Desk) -> None:
    a = desk.a
    tenant = await a.tenant()
    seeded = await seed(desk.database, desk.database_url, tenant.id)

    async def found(**params: object) -> list[str]:
        response = await a.http.get("/api/v1/conversations", params=params, headers=tenant.headers)
        assert response.status_code == 200, response.text
        return sorted(c["conversation_id"] for c in response.json()["items"])

    assert await found() == ["c1", "c2", "c3", "old"]
    assert await found(q="SINDACO") == ["c2"]
    assert await found(q="orari") == ["c1", "c3"]
    assert await found(q="100%") == []
    assert await found(outcome="dont_know") == ["c2"]
    assert await found(outcome="extractive") == ["c3"]
    assert await found(feedback="positive") == ["c1"]
    assert await found(feedback="negative") == ["c2"]
    assert await found(feedback="none") == ["c3", "old"]
    assert await found(handoff="true") == ["c2"]
    assert await found(handoff="false") == ["c1", "c3", "old"]
    assert await found(since=(seeded.day2 - timedelta(hours=10)).isoformat()) == ["c3"]
    assert await found(until=(seeded.day1 - timedelta(days=1)).isoformat()) == ["old"]
    assert await found(end_user="v1", q="orari") == ["c1"]
    bad = await a.http.get("/api/v1/conversations", params={"outcome": "maybe"}, headers=tenant.headers)
    assert bad.status_code == 422

    exported = await a.http.get("/api/v1/conversations/export", params={"q": "orari"}, headers=tenant.headers)
    assert exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    roles: dict[str, list[str]] = {}
    for r in rows:
        roles.setdefault(r["conversation_id"], []).append(r["role"])
    assert roles == {"c1": ["user", "assistant", "user", "assistant"], "c3": ["user", "assistant"]}
    first_answer = next(r for r in rows if r["conversation_id"] == "c1" and r["role"] == "assistant")
    assert first_answer["feedback"] == "1"
    assert first_answer["sources"] == "https://comune.example/orari"
    assert first_answer["trace_id"] == "trace-100"
    assert first_answer["latency_ms"] == "100"

    as_json = await a.http.get(
        "/api/v1/conversations/export",
        params={"format": "json", "feedback": "negative"},
        headers=tenant.headers,
    )
    data = json.loads(as_json.text)
    assert [c["conversation_id"] for c in data] == ["c2"]
    answer = data[0]["messages"][1]
    assert answer["outcome"] == "dont_know"
    assert answer["feedback"][0]["rating"] == -1
    assert answer["feedback"][0]["comment"] == "Non utile"


async def test_retention_purges_old_transcripts_on_schedule_and_on_demand(desk: Desk) -> None:
    a = desk.a
    tenant = await a.tenant()
    await seed(desk.database, desk.database_url, tenant.id)
    not_set = await a.http.post("/api/v1/conversations/purge", headers=tenant.headers)
    assert not_set.status_code == 422

    await a.http.patch("/api/v1/desk/settings", json={"retention_days": 60}, headers=tenant.headers)
    report = await tick(desk.services, utcnow())
    assert report.failed == {}
    assert report.started["conversations.retention_purge"] >= 1
    listed = (await a.http.get("/api/v1/conversations", headers=tenant.headers)).json()
    assert sorted(c["conversation_id"] for c in listed["items"]) == ["c1", "c2", "c3"]
    # Claimed for the hour: another scheduler (or tick) does not purge this tenant again.
    again = await tick(desk.services, utcnow())
    assert again.started["conversations.retention_purge"] == 0
    assert (await a.http.get("/api/v1/desk/settings", headers=tenant.headers)).json()["last_purged_at"]

    await a.http.patch("/api/v1/desk/settings", json={"retention_days": 5}, headers=tenant.headers)
    purged = await a.http.post("/api/v1/conversations/purge", headers=tenant.headers)
    assert purged.status_code == 200, purged.text
    assert purged.json()["conversations"] == 3
    assert purged.json()["messages"] == 8
    assert (await a.http.get("/api/v1/conversations", headers=tenant.headers)).json()["total"] == 0


async def test_one_visitors_data_is_erased_with_an_audit_entry(desk: Desk) -> None:
    a = desk.a
    tenant = await a.tenant()
    await seed(desk.database, desk.database_url, tenant.id)
    erased = await a.http.delete("/api/v1/conversations/visitors/v2", headers=tenant.headers)
    assert erased.status_code == 200, erased.text
    assert erased.json() == {"conversations": 1, "messages": 2, "feedback": 1, "events": 1, "submissions": 0}
    assert (await a.http.get("/api/v1/conversations/c2", headers=tenant.headers)).status_code == 404
    assert (await a.http.get("/api/v1/conversations", headers=tenant.headers)).json()["total"] == 3
    metrics = (await a.http.get("/api/v1/desk/metrics", headers=tenant.headers)).json()
    assert metrics["requests"] == 0  # the handoff went with the conversation

    connection = await asyncpg.connect(desk.database_url)
    try:
        entry = await connection.fetchrow(
            "SELECT actor, details FROM audit_log"
            " WHERE tenant_id = $1 AND action = 'conversations.visitor_erased'",
            uuid.UUID(tenant.id),
        )
    finally:
        await connection.close()
    assert entry is not None
    assert entry["actor"] == f"api-key:{tenant.key_id}"
    details = json.loads(entry["details"])
    assert details["conversations"] == 1
    assert details["visitor_fingerprint"]
    assert "v2" not in json.dumps(details).replace(details["visitor_fingerprint"], "")
