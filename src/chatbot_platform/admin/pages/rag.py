"""The RAG tester: a question through the chat pipeline with its retrieval trace, shown stage by stage."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from chatbot_platform.admin.auth import Admin, AdminContext, Permission
from chatbot_platform.admin.forms import read_form, text
from chatbot_platform.admin.i18n import translate
from chatbot_platform.admin.rendering import render
from chatbot_platform.assistants import service as assistants
from chatbot_platform.chat import service as chat
from chatbot_platform.chat.schemas import Answer, Question, Turn
from chatbot_platform.kit.deps import SessionDep
from chatbot_platform.kit.errors import AppError
from chatbot_platform.knowledge import service as knowledge
from chatbot_platform.runtime import ServicesDep

router = APIRouter(prefix="/t/{slug}/rag")
MAX_QUESTION_CHARS = 4000


async def assistant_targets(session: SessionDep, admin: AdminContext) -> list[tuple[str, str]]:
    """What the tester can ask: the default, each assistant profile, each knowledge base."""
    profiles, _ = await assistants.list_(session, admin.tenant_id)
    kbs, _ = await knowledge.list_(session, admin.tenant_id, limit=200, offset=0)
    return (
        [("default", "default")]
        + [(p.name, p.name) for p in profiles]
        + [(f"kb:{kb.id}", f"kb:{kb.name}") for kb in kbs]
    )


@router.get("", response_class=HTMLResponse)
async def tester(request: Request, admin: Admin, session: SessionDep) -> Response:
    admin.require(Permission.VIEW)
    return render(
        request,
        "rag.html",
        targets=await assistant_targets(session, admin),
        query="",
        target="default",
        run=None,
    )


def _stages(trace: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    shown = []
    for stage in trace or []:
        details = {k: v for k, v in stage.items() if k not in {"stage", "ms"}}
        shown.append(
            {
                "name": stage.get("stage", "?"),
                "ms": stage.get("ms"),
                "details": json.dumps(details, indent=1, ensure_ascii=False, default=str),
            }
        )
    return shown


@router.post("", response_class=HTMLResponse)
async def run(request: Request, admin: Admin, session: SessionDep, services: ServicesDep) -> Response:
    admin.require(Permission.TEST_RAG)
    form = await read_form(request)
    query, target = text(form, "query")[:MAX_QUESTION_CHARS], text(form, "target") or "default"
    targets = await assistant_targets(session, admin)
    if not query or target not in {value for value, _ in targets}:
        problem = translate(admin.locale, "form.invalid", problems=translate(admin.locale, "field.query"))
        return render(
            request, "rag.html", 422, targets=targets, query=query, target=target, run={"error": problem}
        )
    question = Question(tenant_id=admin.tenant_id, turns=[Turn("user", query)], assistant=target, trace=True)
    plan = await chat.plan(session, question, history_enabled=False)
    await (
        session.commit()
    )  # nothing below needs the request's transaction; don't hold it while the model answers
    result: dict[str, Any] = {"error": None, "answer": None}
    try:
        prepared = await chat.prepare(services, plan)
    except AppError as exc:
        result["error"] = exc.message
        return render(
            request, "rag.html", exc.status_code, targets=targets, query=query, target=target, run=result
        )
    result.update(
        search=prepared.search, stages=_stages(prepared.search.trace), outcome=prepared.outcome.value
    )
    try:
        answer: Answer = await chat.complete(services, prepared)
    except AppError as exc:  # the model's failures (LLMError) included
        result["error"] = translate(admin.locale, "rag.chat_failed", error=exc.message)
    else:
        await chat.record(services, prepared, answer, first_token_ms=None)
        result.update(answer=answer, outcome=answer.retrieval.outcome.value)
    return render(request, "rag.html", targets=targets, query=query, target=target, run=result)
