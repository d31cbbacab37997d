"""Lead capture over real HTTP: a form with every field type, validated on the server with a
message per field, spam checks (honeypot, minimum fill time, rate limit), the confirmation and
notification e-mails on a local SMTP server, the CRM webhook signed with HMAC, the submissions list
and its CSV export."""

from __future__ import annotations

import asyncio
import csv
import io
import json

from chatbot_platform.desk.webhooks import verify_signature
from tests.desk.conftest import Desk, open_widget, visitor_of

CRM_SECRET = "crm-secret-0123456789"


def lead_form(hooks_url: str) -> dict[str, object]:
    return {
        "name": "preventivo",
        "title": "Richiedi un preventivo",
        "fields": [
            {"name": "name", "label": "Nome", "type": "text", "required": True, "min_length": 2},
            {"name": "email", "label": "E-mail", "type": "email", "required": True},
            {"name": "phone", "label": "Telefono", "type": "phone"},
            {"name": "message", "label": "Messaggio", "type": "textarea", "max_length": 50},
            {
                "name": "service",
                "label": "Servizio",
                "type": "select",
                "options": ["Sito", "App"],
                "required": True,
            },
            {"name": "contact", "label": "Contatto", "type": "radio", "options": ["email", "telefono"]},
            {"name": "privacy", "label": "Accetto la privacy", "type": "checkbox", "required": True},
            {"name": "day", "label": "Giorno", "type": "date", "min": 20260101},
            {"name": "budget", "label": "Budget", "type": "number", "min": 100, "max": 10000},
            {"name": "code", "label": "Codice", "type": "text", "pattern": "[A-Z]{3}[0-9]{2}"},
        ],
        "triggers": {"keywords": ["preventivo", "prezzo"], "after_messages": 6, "on_dont_know": True},
        "min_fill_seconds": 0,
        "notify_emails": ["vendite@azienda.example"],
        "confirmation_subject": "Grazie {name}",
        "confirmation_body": "Ciao {name}, ti contatteremo per il servizio {service}.",
        "webhook_url": f"{hooks_url}/crm",
        "webhook_secret": CRM_SECRET,
    }


GOOD = {
    "name": "Maria Rossi",
    "email": "maria@example.org",
    "phone": "+39 02 1234567",
    "message": "Vorrei un sito",
    "service": "Sito",
    "contact": "email",
    "privacy": True,
    "day": "2026-12-15",
    "budget": "2500",
    "code": "ABC12",
}


async def test_a_lead_is_validated_stored_mailed_and_sent_to_the_crm(desk: Desk) -> None:
    a = desk.a
    tenant = await a.tenant(default_language="it")
    ops = tenant.headers
    created = await a.http.post("/api/v1/desk/forms", json=lead_form(desk.hooks.url), headers=ops)
    assert created.status_code == 201, created.text
    form = created.json()
    assert form["webhook_secret_set"] is True
    assert CRM_SECRET not in created.text
    assert (
        await a.http.post("/api/v1/desk/forms", json=lead_form(desk.hooks.url), headers=ops)
    ).status_code == 409
    visitor = await visitor_of(a, tenant, await open_widget(a, tenant))

    shown = (await visitor.get(f"/forms/{form['id']}")).json()
    assert len(shown["fields"]) == 10
    assert shown["honeypot_field"] == "website"
    token = shown["form_token"]

    bad = {
        "name": "M",
        "email": "not-an-email",
        "phone": "abc",
        "message": "x" * 51,
        "service": "Altro",
        "contact": "piccione",
        "privacy": False,
        "day": "2025-12-31",
        "budget": "tanto",
        "code": "abc",
    }
    refused = await visitor.post(f"/forms/{form['id']}/submissions", {"data": bad, "form_token": token})
    assert refused.status_code == 422
    errors = refused.json()["error"]["details"]["fields"]
    assert errors == {
        "name": "Inserisci almeno 2 caratteri.",
        "email": "Indirizzo e-mail non valido.",
        "phone": "Numero di telefono non valido.",
        "message": "Inserisci al massimo 50 caratteri.",
        "service": "Scegli una delle opzioni.",
        "contact": "Scegli una delle opzioni.",
        "privacy": "Campo obbligatorio.",
        "day": "Il valore minimo è 2026-01-01.",
        "budget": "Inserisci un numero.",
        "code": "Formato non valido.",
    }
    missing = await visitor.post(
        f"/forms/{form['id']}/submissions", {"data": {}, "form_token": token, "locale": "en"}
    )
    assert missing.json()["error"]["details"]["fields"] == {
        "name": "This field is required.",
        "email": "This field is required.",
        "service": "This field is required.",
        "privacy": "This field is required.",
    }
    forged = await visitor.post(f"/forms/{form['id']}/submissions", {"data": GOOD, "form_token": "1.abc"})
    assert forged.status_code == 422

    accepted = await visitor.post(f"/forms/{form['id']}/submissions", {"data": GOOD, "form_token": token})
    assert accepted.status_code == 201, accepted.text
    submission_id = accepted.json()["id"]

    confirmation = (await desk.inbox.wait_for("maria@example.org"))[0]
    assert confirmation["Subject"] == "Grazie Maria Rossi"
    assert (
        "Ciao Maria Rossi, ti contatteremo per il servizio Sito."
        in confirmation.get_payload(decode=True).decode()
    )
    notification = (await desk.inbox.wait_for("vendite@azienda.example"))[0]
    assert "Richiedi un preventivo" in notification["Subject"]
    assert "Budget: 2500" in notification.get_payload(decode=True).decode()

    hook = await desk.hooks.wait_for("/crm")
    assert hook.headers["x-desk-event"] == "form.submitted"
    assert verify_signature(CRM_SECRET, hook.headers["x-desk-signature"], hook.body)
    sent = json.loads(hook.body)
    assert sent["submission"]["id"] == submission_id
    assert sent["submission"]["data"]["email"] == "maria@example.org"
    assert sent["submission"]["data"]["budget"] == 2500
    assert sent["submission"]["conversation_id"] == visitor.conversation_id

    for _ in range(100):
        listed = (await a.http.get("/api/v1/desk/submissions", headers=ops)).json()
        if listed["items"][0]["webhook_status"] == "delivered":
            break
        await asyncio.sleep(0.05)
    assert listed["total"] == 1
    item = listed["items"][0]
    assert (item["status"], item["webhook_status"], item["webhook_attempts"]) == ("new", "delivered", 1)
    done = await a.http.patch(
        f"/api/v1/desk/submissions/{submission_id}", json={"status": "done"}, headers=ops
    )
    assert done.json()["status"] == "done"

    exported = await a.http.get("/api/v1/desk/submissions/export", headers=ops)
    assert exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert len(rows) == 1
    assert (rows[0]["form"], rows[0]["status"], rows[0]["email"], rows[0]["privacy"]) == (
        "preventivo",
        "done",
        "maria@example.org",
        "true",
    )


async def test_spam_is_caught_by_honeypot_fill_time_and_rate_limit(desk: Desk) -> None:
    a = desk.a
    tenant = await a.tenant(default_language="en")
    ops = tenant.headers
    body = {
        **lead_form(desk.hooks.url),
        "min_fill_seconds": 30,
        "notify_emails": ["spam-check@azienda.example"],
    }
    body.pop("webhook_url")
    form = (await a.http.post("/api/v1/desk/forms", json=body, headers=ops)).json()
    visitor = await visitor_of(a, tenant, await open_widget(a, tenant))
    token = (await visitor.get(f"/forms/{form['id']}")).json()["form_token"]
    url = f"/forms/{form['id']}/submissions"

    too_fast = await visitor.post(url, {"data": GOOD, "form_token": token})
    assert too_fast.status_code == 422
    assert too_fast.json()["error"]["code"] == "submitted_too_fast"

    robot = await visitor.post(url, {"data": GOOD, "form_token": token, "website": "http://spam.example"})
    assert robot.status_code == 201
    assert robot.json()["id"] is None
    assert (await a.http.get("/api/v1/desk/submissions", headers=ops)).json()["total"] == 0
    assert (await a.http.get("/api/v1/desk/submissions?status=spam", headers=ops)).json()["total"] == 1

    for _ in range(3):
        await visitor.post(url, {"data": GOOD, "form_token": token})
    limited = await visitor.post(url, {"data": GOOD, "form_token": token})
    assert limited.status_code == 429
    assert int(limited.headers["retry-after"]) > 0
    assert desk.inbox.to("spam-check@azienda.example") == []
    assert desk.inbox.to("maria@example.org") == [] or all(
        "Richiedi" not in (m["Subject"] or "") for m in desk.inbox.to("maria@example.org")
    )


async def test_triggers_pick_the_form_to_show(desk: Desk) -> None:
    a = desk.a
    tenant = await a.tenant()
    ops = tenant.headers
    lead = (await a.http.post("/api/v1/desk/forms", json=lead_form(desk.hooks.url), headers=ops)).json()
    visitor = await visitor_of(a, tenant, await open_widget(a, tenant))

    async def shown(**check: object) -> str | None:
        result = (await visitor.post("/forms/trigger", check)).json()
        return result["form"]["id"] if result["form"] else None

    assert await shown(message="Quanto costa un PREVENTIVO?") == lead["id"]
    assert await shown(message="Buongiorno") is None
    assert await shown(message_count=6) == lead["id"]
    assert await shown(message_count=5) is None
    assert await shown(dont_know=True) == lead["id"]
    assert await shown(handoff_unavailable=True) is None
    disabled = await a.http.patch(f"/api/v1/desk/forms/{lead['id']}", json={"enabled": False}, headers=ops)
    assert disabled.json()["enabled"] is False
    assert await shown(message="preventivo") is None
    assert (await visitor.get(f"/forms/{lead['id']}")).status_code == 404


async def test_a_form_definition_is_checked(desk: Desk) -> None:
    a = desk.a
    tenant = await a.tenant()
    base = lead_form(desk.hooks.url)
    broken = [
        {**base, "fields": [{"name": "x", "label": "X", "type": "select"}]},
        {**base, "fields": [{"name": "Bad Name", "label": "X", "type": "text"}]},
        {
            **base,
            "fields": [
                {"name": "a", "label": "A", "type": "text"},
                {"name": "a", "label": "B", "type": "text"},
            ],
        },
        {**base, "fields": [{"name": "a", "label": "A", "type": "colour"}]},
        {**base, "fields": [{"name": "a", "label": "A", "type": "text", "pattern": "(["}]},
        {**base, "webhook_url": "ftp://crm.example"},
    ]
    for body in broken:
        response = await a.http.post("/api/v1/desk/forms", json=body, headers=tenant.headers)
        assert response.status_code == 422, body


async def test_a_failing_crm_is_retried_by_the_queue(desk: Desk) -> None:
    a = desk.a
    tenant = await a.tenant()
    body = {**lead_form(desk.hooks.url), "webhook_url": f"{desk.hooks.url}/crm-flaky", "notify_emails": []}
    form = (await a.http.post("/api/v1/desk/forms", json=body, headers=tenant.headers)).json()
    visitor = await visitor_of(a, tenant, await open_widget(a, tenant))
    token = (await visitor.get(f"/forms/{form['id']}")).json()["form_token"]
    data = {**GOOD, "email": "retry@example.org"}
    assert (
        await visitor.post(f"/forms/{form['id']}/submissions", {"data": data, "form_token": token})
    ).status_code == 201
    second = await desk.hooks.wait_for("/crm-flaky", count=2, within=30)
    assert verify_signature(CRM_SECRET, second.headers["x-desk-signature"], second.body)
    for _ in range(200):
        item = (await a.http.get("/api/v1/desk/submissions", headers=tenant.headers)).json()["items"][0]
        if item["webhook_status"] == "delivered":
            break
        await asyncio.sleep(0.05)
    assert (item["webhook_status"], item["webhook_attempts"]) == ("delivered", 2)
