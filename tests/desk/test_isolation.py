"""Tenant isolation of the desk: an operator key or a visitor of tenant B never sees or touches
tenant A's conversations, queue items, forms or submissions."""

from __future__ import annotations

import uuid

from chatbot_platform.desk import handoff
from tests.desk.conftest import Desk, open_widget, visitor_of

FORM = {
    "name": "contatti",
    "title": "Contatti",
    "fields": [{"name": "email", "label": "E-mail", "type": "email", "required": True}],
    "triggers": {"keywords": ["contatto"]},
    "min_fill_seconds": 0,
}


async def test_tenant_b_never_sees_tenant_a(desk: Desk) -> None:
    http = desk.a.http
    tenant_a, tenant_b = await desk.a.tenant(), await desk.a.tenant()
    a, b = tenant_a.headers, tenant_b.headers
    await http.post("/api/v1/desk/operators/heartbeat", json={"operator": "anna"}, headers=a)
    await http.post("/api/v1/desk/operators/heartbeat", json={"operator": "bruno"}, headers=b)
    form = (await http.post("/api/v1/desk/forms", json=FORM, headers=a)).json()
    await http.post("/api/v1/desk/canned-replies", json={"title": "Saluto", "body": "Ciao!"}, headers=a)
    visitor_a = await visitor_of(desk.a, tenant_a, await open_widget(desk.a, tenant_a))
    visitor_b = await visitor_of(desk.a, tenant_b, await open_widget(desk.a, tenant_b))
    token = (await visitor_a.get(f"/forms/{form['id']}")).json()["form_token"]
    sent = await visitor_a.post(
        f"/forms/{form['id']}/submissions", {"data": {"email": "a@a.example"}, "form_token": token}
    )
    assert sent.status_code == 201
    handoff_id = (await visitor_a.post("/handoff", {"message": "aiuto"})).json()["handoff_id"]

    # B's operator key: empty lists, 404 on A's ids, no action possible.
    assert (await http.get("/api/v1/desk/handoffs", headers=b)).json()["total"] == 0
    assert (await http.get(f"/api/v1/desk/handoffs/{handoff_id}", headers=b)).status_code == 404
    for action, body in (
        ("take", {"operator": "bruno"}),
        ("reply", {"operator": "bruno", "text": "x"}),
        ("close", {}),
    ):
        response = await http.post(f"/api/v1/desk/handoffs/{handoff_id}/{action}", json=body, headers=b)
        assert response.status_code == 404, action
    assert (await http.get("/api/v1/desk/forms", headers=b)).json() == []
    assert (await http.get(f"/api/v1/desk/forms/{form['id']}", headers=b)).status_code == 404
    assert (
        await http.patch(f"/api/v1/desk/forms/{form['id']}", json={"enabled": False}, headers=b)
    ).status_code == 404
    assert (await http.get("/api/v1/desk/submissions", headers=b)).json()["total"] == 0
    assert "a@a.example" not in (await http.get("/api/v1/desk/submissions/export", headers=b)).text
    submission_id = (await http.get("/api/v1/desk/submissions", headers=a)).json()["items"][0]["id"]
    assert (
        await http.patch(f"/api/v1/desk/submissions/{submission_id}", json={"status": "done"}, headers=b)
    ).status_code == 404
    assert (await http.get("/api/v1/desk/canned-replies", headers=b)).json() == []
    assert (await http.get("/api/v1/conversations", headers=b)).json()["total"] == 0
    assert (
        await http.get(f"/api/v1/conversations/{visitor_a.conversation_id}", headers=b)
    ).status_code == 404
    assert (
        "aiuto"
        not in (await http.get("/api/v1/conversations/export", params={"format": "json"}, headers=b)).text
    )
    assert (await http.get("/api/v1/desk/metrics", headers=b)).json()["requests"] == 0
    erased = await http.delete(f"/api/v1/conversations/visitors/{visitor_a.visitor_id}", headers=b)
    assert erased.json()["conversations"] == 0
    assert erased.json()["submissions"] == 0

    # B's visitor: A's form and A's conversation are out of reach.
    assert (await visitor_b.get(f"/forms/{form['id']}")).status_code == 404
    stolen = await visitor_b.post(
        f"/forms/{form['id']}/submissions", {"data": {"email": "b@b.example"}, "form_token": token}
    )
    assert stolen.status_code == 404
    assert (await visitor_b.post("/forms/trigger", {"message": "contatto"})).json()["form"] is None
    async with desk.database.transaction() as session:
        assert not await handoff.is_human_handling(session, uuid.UUID(tenant_b.id), visitor_a.conversation_id)

    # A's own view is intact.
    assert (await http.get("/api/v1/desk/handoffs", headers=a)).json()["total"] == 1
    assert (await http.get("/api/v1/desk/submissions", headers=a)).json()["total"] == 1
    # And a visitor token of A is refused on B's slug.
    foreign = await http.get(f"/api/v1/widget/{tenant_b.slug}/handoff", headers=visitor_a.headers)
    assert foreign.status_code == 401


async def test_operator_endpoints_need_the_right_scope(desk: Desk) -> None:
    http = desk.a.http
    reader = await desk.a.tenant(scopes=["conversations:read"])
    assert (await http.get("/api/v1/desk/handoffs", headers=reader.headers)).status_code == 200
    denied = await http.post("/api/v1/desk/forms", json=FORM, headers=reader.headers)
    assert denied.status_code == 403
    assert (await http.delete("/api/v1/conversations/visitors/x", headers=reader.headers)).status_code == 403
    assert (await http.get("/api/v1/desk/handoffs")).status_code == 401
