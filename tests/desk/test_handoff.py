"""Handoff to a human over real HTTP, with two platform servers on one database: the visitor talks
to one, the operator to the other, and live events cross between them (PostgreSQL LISTEN/NOTIFY)."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import asyncpg

from chatbot_platform.desk import handoff
from chatbot_platform.desk.webhooks import verify_signature
from chatbot_platform.kit.clock import utcnow
from chatbot_platform.scheduler.registry import load_periodic_tasks
from chatbot_platform.scheduler.service import tick
from tests.desk.conftest import ORIGIN, Desk, Stream, open_widget, visitor_of

WEBHOOK_SECRET = "whsec-0123456789abcdef"
FORM = {
    "name": "callback",
    "title": "Ti richiamiamo noi",
    "fields": [
        {"name": "email", "label": "E-mail", "type": "email", "required": True},
        {"name": "note", "label": "Messaggio", "type": "textarea"},
    ],
    "triggers": {"on_handoff_unavailable": True},
    "min_fill_seconds": 0,
}


async def backdate(desk: Desk, tenant_id: str, handoff_id: str) -> None:
    """Make a request look two minutes old."""
    connection = await asyncpg.connect(desk.database_url)
    try:
        await connection.execute(
            "UPDATE desk_handoffs SET requested_at = now() - interval '2 minutes'"
            " WHERE tenant_id = $1 AND id = $2",
            uuid.UUID(tenant_id),
            uuid.UUID(handoff_id),
        )
    finally:
        await connection.close()


async def test_visitor_gets_a_human_live_and_the_bot_is_silent_until_release(desk: Desk) -> None:
    a, b = desk.a, desk.b
    tenant = await a.tenant(default_language="it")
    ops = tenant.headers
    settings = {"notify_emails": ["desk@comune.example"], "webhook_url": f"{desk.hooks.url}/handoffs"}
    updated = await a.http.patch(
        "/api/v1/desk/settings", json={**settings, "webhook_secret": WEBHOOK_SECRET}, headers=ops
    )
    assert updated.status_code == 200, updated.text
    assert updated.json()["webhook_secret_set"] is True
    assert WEBHOOK_SECRET not in updated.text
    key = await open_widget(a, tenant)
    visitor = await visitor_of(b, tenant, key)
    assert (
        await a.http.post("/api/v1/desk/operators/heartbeat", json={"operator": "anna"}, headers=ops)
    ).status_code == 204
    assert (await a.http.get("/api/v1/desk/availability", headers=ops)).json()["available"] is True

    stream = Stream(b.http, visitor.url("/handoff/stream"), visitor.headers)
    console = Stream(a.http, "/api/v1/desk/stream", ops)
    try:
        assert (await stream.next("handoff"))["status"] is None
        await console.next("ready")
        asked = await visitor.post("/handoff", {"message": "Ho un problema con il pagamento"})
        assert asked.status_code == 201, asked.text
        assert asked.json()["status"] == "queued"
        handoff_id = asked.json()["handoff_id"]
        queued = await stream.next("handoff", status="queued")
        assert "operatore" in queued["message"]
        assert (await console.next("queue", status="queued"))["conversation_id"] == visitor.conversation_id

        # The team is told: an e-mail and a signed webhook.
        mail = (await desk.inbox.wait_for("desk@comune.example"))[0]
        assert mail["Subject"] == "Nuova richiesta di operatore"
        assert visitor.conversation_id in mail.get_payload(decode=True).decode()
        hook = await desk.hooks.wait_for("/handoffs")
        assert verify_signature(WEBHOOK_SECRET, hook.headers["x-desk-signature"], hook.body)
        assert not verify_signature("another-secret-000000", hook.headers["x-desk-signature"], hook.body)
        assert json.loads(hook.body)["handoff"]["id"] == handoff_id

        # Another visitor waits longer, but this one is moved up the queue.
        other = await visitor_of(b, tenant, key)
        other_id = (await other.post("/handoff", {})).json()["handoff_id"]
        queue = (await a.http.get("/api/v1/desk/handoffs", headers=ops)).json()
        assert [item["id"] for item in queue["items"]] == [handoff_id, other_id]
        moved = await a.http.patch(f"/api/v1/desk/handoffs/{other_id}", json={"priority": 2}, headers=ops)
        assert moved.json()["priority"] == 2
        queue = (await a.http.get("/api/v1/desk/handoffs", headers=ops)).json()
        assert [item["id"] for item in queue["items"]] == [other_id, handoff_id]
        await a.http.post(f"/api/v1/desk/handoffs/{other_id}/close", headers=ops)
        ended = await a.http.patch(f"/api/v1/desk/handoffs/{other_id}", json={"priority": 3}, headers=ops)
        assert ended.status_code == 409

        taken = await a.http.post(
            f"/api/v1/desk/handoffs/{handoff_id}/take", json={"operator": "anna"}, headers=ops
        )
        assert taken.status_code == 200, taken.text
        assert taken.json()["status"] == "active"
        assert (await stream.next("handoff", status="active"))["operator"] == "anna"
        again = await a.http.post(
            f"/api/v1/desk/handoffs/{handoff_id}/take", json={"operator": "bruno"}, headers=ops
        )
        assert again.status_code == 409

        # While the human handles it, the bot stays silent and the visitor's words reach the operator.
        tenant_id = uuid.UUID(tenant.id)
        async with desk.database.transaction() as session:
            assert await handoff.is_human_handling(session, tenant_id, visitor.conversation_id)
            routing = await handoff.before_answer(
                session, tenant_id, visitor.conversation_id, "Siete ancora lì?", visitor_id=visitor.visitor_id
            )
        assert routing.kind == "human"
        assert (await console.next("visitor_message"))["text"] == "Siete ancora lì?"

        replied = await a.http.post(
            f"/api/v1/desk/handoffs/{handoff_id}/reply",
            json={"operator": "anna", "text": "Buongiorno, sono Anna: controllo subito."},
            headers=ops,
        )
        assert replied.status_code == 201, replied.text
        live = await stream.next("operator_message")
        assert live["text"] == "Buongiorno, sono Anna: controllo subito."
        assert live["operator"] == "anna"

        detail = (await a.http.get(f"/api/v1/desk/handoffs/{handoff_id}", headers=ops)).json()
        roles = [(m["role"], m["content"]) for m in detail["messages"]]
        assert ("user", "Ho un problema con il pagamento") in roles
        assert ("user", "Siete ancora lì?") in roles
        assert ("operator", "Buongiorno, sono Anna: controllo subito.") in roles

        released = await a.http.post(f"/api/v1/desk/handoffs/{handoff_id}/release", headers=ops)
        assert released.json()["status"] == "released"
        assert "assistente virtuale" in (await stream.next("handoff", status="released"))["message"]
        async with desk.database.transaction() as session:
            assert not await handoff.is_human_handling(session, tenant_id, visitor.conversation_id)
            routing = await handoff.before_answer(
                session,
                tenant_id,
                visitor.conversation_id,
                "Grazie, e gli orari?",
                visitor_id=visitor.visitor_id,
            )
        assert routing.kind == "bot"
        reply_after = await a.http.post(
            f"/api/v1/desk/handoffs/{handoff_id}/reply", json={"operator": "anna", "text": "x"}, headers=ops
        )
        assert reply_after.status_code == 409

        # A second request in the same conversation, closed by the operator.
        second = (await visitor.post("/handoff", {})).json()
        assert second["status"] == "queued"
        assert second["handoff_id"] != handoff_id
        await a.http.post(
            f"/api/v1/desk/handoffs/{second['handoff_id']}/take", json={"operator": "anna"}, headers=ops
        )
        closed = await a.http.post(f"/api/v1/desk/handoffs/{second['handoff_id']}/close", headers=ops)
        assert closed.json()["status"] == "closed"
        await stream.next("handoff", status="closed")

        metrics = (await a.http.get("/api/v1/desk/metrics", headers=ops)).json()
        assert metrics["requests"] == 3
        assert metrics["by_status"] == {"released": 1, "closed": 2}
        assert metrics["taken"] == 2
        assert metrics["average_wait_seconds"] >= 0
        assert metrics["average_handling_seconds"] > 0
    finally:
        await stream.close()
        await console.close()


async def test_a_stream_opened_after_the_operator_took_over_still_says_who_joined(desk: Desk) -> None:
    a = desk.a
    tenant = await a.tenant(default_language="it")
    ops = tenant.headers
    await a.http.post("/api/v1/desk/operators/heartbeat", json={"operator": "anna"}, headers=ops)
    visitor = await visitor_of(a, tenant, await open_widget(a, tenant))
    handoff_id = (await visitor.post("/handoff", {})).json()["handoff_id"]
    taken = await a.http.post(
        f"/api/v1/desk/handoffs/{handoff_id}/take", json={"operator": "anna"}, headers=ops
    )
    assert taken.status_code == 200, taken.text
    stream = Stream(a.http, visitor.url("/handoff/stream"), visitor.headers)
    try:
        first = await stream.next("handoff")
        assert (first["status"], first["operator"]) == ("active", "anna")
        assert first["message"] == "anna si è unito alla conversazione."
    finally:
        await stream.close()


async def test_a_request_nobody_takes_times_out_with_a_message_and_the_form(desk: Desk) -> None:
    a, b = desk.a, desk.b
    tenant = await a.tenant(default_language="en")
    ops = tenant.headers
    await a.http.patch("/api/v1/desk/settings", json={"queue_timeout_seconds": 60}, headers=ops)
    assert (await a.http.post("/api/v1/desk/forms", json=FORM, headers=ops)).status_code == 201
    await a.http.post("/api/v1/desk/operators/heartbeat", json={"operator": "anna"}, headers=ops)
    visitor = await visitor_of(b, tenant, await open_widget(a, tenant))
    stream = Stream(b.http, visitor.url("/handoff/stream"), visitor.headers)
    try:
        await stream.next("handoff")
        assert (await visitor.post("/handoff", {})).json()["status"] == "queued"
        await stream.next("handoff", status="queued")
        assert "desk.handoff_timeouts" in {t.name for t in load_periodic_tasks()}
        # Not yet due: nothing happens.
        early = await tick(desk.services, utcnow() + timedelta(seconds=30))
        assert early.started["desk.handoff_timeouts"] == 0
        report = await tick(desk.services, utcnow() + timedelta(seconds=61))
        assert report.started["desk.handoff_timeouts"] == 1
        timed_out = await stream.next("handoff", status="timed_out")
        assert "no operator could answer" in timed_out["message"]
        state = (await visitor.get("/handoff")).json()
        assert state["status"] == "timed_out"
        assert state["form"]["title"] == "Ti richiamiamo noi"
    finally:
        await stream.close()

    # Without any scheduler, the visitor's own stream times the request out when it is due.
    late = await visitor_of(b, tenant, await open_widget(a, tenant))
    late_id = (await late.post("/handoff", {})).json()["handoff_id"]
    await backdate(desk, tenant.id, late_id)
    waiting = Stream(b.http, late.url("/handoff/stream"), late.headers)
    try:
        assert (await waiting.next("handoff"))["status"] == "queued"
        assert "no operator could answer" in (await waiting.next("handoff", status="timed_out"))["message"]
    finally:
        await waiting.close()

    # Nor does the operators' queue show a request nobody can take any more.
    forgotten = await visitor_of(b, tenant, await open_widget(a, tenant))
    forgotten_id = (await forgotten.post("/handoff", {})).json()["handoff_id"]
    await backdate(desk, tenant.id, forgotten_id)
    assert (await a.http.get("/api/v1/desk/handoffs", headers=ops)).json()["total"] == 0
    timed_out = (await a.http.get("/api/v1/desk/handoffs?status=timed_out", headers=ops)).json()["items"]
    assert forgotten_id in [h["id"] for h in timed_out]


async def test_without_an_operator_the_visitor_is_offered_the_form(desk: Desk) -> None:
    a = desk.a
    tenant = await a.tenant(default_language="it")
    ops = tenant.headers
    assert (await a.http.post("/api/v1/desk/forms", json=FORM, headers=ops)).status_code == 201
    visitor = await visitor_of(a, tenant, await open_widget(a, tenant))

    answered = await visitor.post("/handoff", {})
    assert answered.headers["access-control-allow-origin"] == ORIGIN  # the widget can read it
    nobody = answered.json()
    assert nobody["status"] == "unavailable"
    assert "nessun operatore" in nobody["message"].lower()
    assert [f["name"] for f in nobody["form"]["fields"]] == ["email", "note"]
    assert nobody["form"]["form_token"]

    # Present, but outside the weekly hours (in the desk's time zone): still unavailable.
    await a.http.post("/api/v1/desk/operators/heartbeat", json={"operator": "anna"}, headers=ops)
    closed_today = {day: [] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
    await a.http.patch(
        "/api/v1/desk/settings", json={"schedule": closed_today, "timezone": "Europe/Rome"}, headers=ops
    )
    availability = (await a.http.get("/api/v1/desk/availability", headers=ops)).json()
    assert availability == {"available": False, "within_hours": False, "operators_present": ["anna"]}
    later = await visitor_of(a, tenant, await open_widget(a, tenant))
    assert (await later.post("/handoff", {})).json()["status"] == "unavailable"
    all_day = {day: [["00:00", "24:00"]] for day in closed_today}
    await a.http.patch("/api/v1/desk/settings", json={"schedule": all_day}, headers=ops)
    assert (await a.http.get("/api/v1/desk/availability", headers=ops)).json()["available"] is True

    bad = await a.http.patch(
        "/api/v1/desk/settings", json={"schedule": {"mon": [["18:00", "09:00"]]}}, headers=ops
    )
    assert bad.status_code == 422
    bad_zone = await a.http.patch("/api/v1/desk/settings", json={"timezone": "Mars/Olympus"}, headers=ops)
    assert bad_zone.status_code == 422


async def test_the_bot_offers_a_human_after_repeated_dont_know_and_understands_the_request(
    desk: Desk,
) -> None:
    a = desk.a
    tenant = await a.tenant(default_language="it")
    ops = tenant.headers
    await a.http.post("/api/v1/desk/operators/heartbeat", json={"operator": "anna"}, headers=ops)
    visitor = await visitor_of(a, tenant, await open_widget(a, tenant))
    tenant_id = uuid.UUID(tenant.id)
    for attempt in range(2):
        async with a.http.stream(
            "POST",
            visitor.url("/chat"),
            json={"message": "Qual è il senso della vita?"},
            headers=visitor.headers,
        ) as response:
            events = [
                json.loads(line[6:]) async for line in response.aiter_lines() if line.startswith("data: ")
            ]
        assert events[-1]["outcome"] == "dont_know"
        async with desk.database.transaction() as session:
            offer = await handoff.after_answer(session, tenant_id, visitor.conversation_id)
        assert (offer is None) == (attempt == 0)
    assert offer is not None
    assert "operatore" in offer

    accepted = await visitor.post("/handoff", {"accepted_offer": True})
    assert accepted.json()["status"] == "queued"
    async with desk.database.transaction() as session:
        # With a handoff open, no offer is repeated.
        assert await handoff.after_answer(session, tenant_id, visitor.conversation_id) is None

    another = await visitor_of(a, tenant, await open_widget(a, tenant))
    async with desk.database.transaction() as session:
        routing = await handoff.before_answer(
            session,
            tenant_id,
            another.conversation_id,
            "Vorrei parlare con un operatore, per favore",
            visitor_id=another.visitor_id,
        )
    assert routing.kind == "handoff"
    assert routing.outcome is not None
    assert routing.outcome.handoff.reason == "intent"
    queue = (await a.http.get("/api/v1/desk/handoffs", headers=ops)).json()["items"]
    assert [(q["conversation_id"], q["reason"]) for q in queue] == [
        (visitor.conversation_id, "dont_know"),
        (another.conversation_id, "intent"),
    ]
    stored = (await a.http.get(f"/api/v1/conversations/{another.conversation_id}", headers=ops)).json()
    assert stored["messages"][0]["content"] == "Vorrei parlare con un operatore, per favore"


async def test_canned_replies_are_managed(desk: Desk) -> None:
    http = desk.a.http
    tenant = await desk.a.tenant()
    ops = tenant.headers
    created = await http.post(
        "/api/v1/desk/canned-replies",
        json={"title": "Orari", "body": "Siamo aperti 9-18.", "shortcut": "orari"},
        headers=ops,
    )
    assert created.status_code == 201, created.text
    reply_id = created.json()["id"]
    await http.post("/api/v1/desk/canned-replies", json={"title": "Benvenuto", "body": "Ciao!"}, headers=ops)
    assert [r["title"] for r in (await http.get("/api/v1/desk/canned-replies", headers=ops)).json()] == [
        "Benvenuto",
        "Orari",
    ]
    changed = await http.patch(
        f"/api/v1/desk/canned-replies/{reply_id}", json={"body": "Aperti 8-17."}, headers=ops
    )
    assert (changed.json()["body"], changed.json()["shortcut"]) == ("Aperti 8-17.", "orari")
    bad = await http.post(
        "/api/v1/desk/canned-replies", json={"title": "x", "body": "y", "shortcut": "No Spaces!"}, headers=ops
    )
    assert bad.status_code == 422
    assert (await http.delete(f"/api/v1/desk/canned-replies/{reply_id}", headers=ops)).status_code == 204
    assert (await http.delete(f"/api/v1/desk/canned-replies/{reply_id}", headers=ops)).status_code == 404
