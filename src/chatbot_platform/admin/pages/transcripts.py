"""Transcripts of the tenant's conversations: search with filters, one conversation with its
citations and ratings, export (CSV or JSON), and the erasure of one visitor's data (GDPR)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response

from chatbot_platform.admin.auth import Admin, Permission
from chatbot_platform.admin.forms import checked, read_form, text
from chatbot_platform.admin.rendering import redirect, render, tenant_url
from chatbot_platform.audit import service as audit
from chatbot_platform.conversations import privacy, service, transcripts
from chatbot_platform.conversations.repository import FeedbackRepo, TranscriptFilters
from chatbot_platform.kit.deps import SessionDep
from chatbot_platform.kit.errors import Unprocessable
from chatbot_platform.models import WidgetFeedback

router = APIRouter(prefix="/t/{slug}/transcripts")
PAGE_SIZE = 25
MESSAGE_LIMIT = 500


@dataclass(frozen=True)
class Search:
    """The search form's values, as typed (for the form and the links) and as filters."""

    q: str
    since: date | None
    until: date | None
    outcome: str
    feedback: str
    handoff: str
    channel: str
    end_user: str

    @property
    def filters(self) -> TranscriptFilters:
        return TranscriptFilters(
            text=self.q or None,
            since=datetime.combine(self.since, time.min, tzinfo=UTC) if self.since else None,
            until=datetime.combine(self.until + timedelta(days=1), time.min, tzinfo=UTC)
            if self.until
            else None,
            outcome=self.outcome or None,
            feedback=self.feedback or None,
            handoff={"yes": True, "no": False}.get(self.handoff),
            channel=self.channel or None,
            end_user=self.end_user or None,
        )

    @property
    def query(self) -> str:
        values = {
            "q": self.q,
            "since": self.since.isoformat() if self.since else "",
            "until": self.until.isoformat() if self.until else "",
            "outcome": self.outcome,
            "feedback": self.feedback,
            "handoff": self.handoff,
            "channel": self.channel,
            "end_user": self.end_user,
        }
        return urlencode({k: v for k, v in values.items() if v})


def _midnight(day: date | None) -> datetime | None:
    return datetime.combine(day, time.min, tzinfo=UTC) if day else None


def search_of(
    q: Annotated[str, Query(max_length=200)] = "",
    since: Annotated[date | None, Query()] = None,
    until: Annotated[date | None, Query()] = None,
    outcome: Annotated[Literal["", "answered", "extractive", "dont_know"], Query()] = "",
    feedback: Annotated[Literal["", "positive", "negative", "any", "none"], Query()] = "",
    handoff: Annotated[Literal["", "yes", "no"], Query()] = "",
    channel: Annotated[Literal["", "api", "widget"], Query()] = "",
    end_user: Annotated[str, Query(max_length=200)] = "",
) -> Search:
    return Search(q.strip(), since, until, outcome, feedback, handoff, channel, end_user.strip())


SearchDep = Annotated[Search, Depends(search_of)]


@router.get("", response_class=HTMLResponse)
async def transcript_list(
    request: Request,
    admin: Admin,
    session: SessionDep,
    search: SearchDep,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> Response:
    admin.require(Permission.VIEW)
    rows, total = await transcripts.search(
        session, admin.tenant_id, search.filters, limit=PAGE_SIZE, offset=offset
    )
    return render(
        request,
        "transcripts.html",
        conversations=rows,
        total=total,
        offset=offset,
        page_size=PAGE_SIZE,
        search=search,
    )


@router.get("/export")
async def export(
    admin: Admin,
    session: SessionDep,
    search: SearchDep,
    format_: Annotated[Literal["csv", "json"], Query(alias="format")] = "csv",
) -> Response:
    admin.require(Permission.VIEW)
    if format_ == "json":
        items = await transcripts.export_json(session, admin.tenant_id, search.filters)
        return Response(
            transcripts.dumps(items),
            media_type="application/json",
            headers={"Content-Disposition": 'attachment; filename="conversations.json"'},
        )
    return Response(
        await transcripts.export_csv(session, admin.tenant_id, search.filters),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="conversations.csv"'},
    )


@router.get("/conversation", response_class=HTMLResponse)
async def conversation(
    request: Request,
    admin: Admin,
    session: SessionDep,
    id_: Annotated[str, Query(alias="id", min_length=1, max_length=200)],
) -> Response:
    admin.require(Permission.VIEW)
    row = await service.get_by_external_id_or_raise(session, admin.tenant_id, id_)
    messages = await service.messages(session, admin.tenant_id, row, limit=MESSAGE_LIMIT)
    ratings: dict[object, list[WidgetFeedback]] = {}
    for rating in await FeedbackRepo(session, admin.tenant_id).list(
        WidgetFeedback.conversation_id == row.id, order_by=[WidgetFeedback.created_at]
    ):
        ratings.setdefault(rating.message_id, []).append(rating)
    return render(request, "transcripts_view.html", conversation=row, messages=messages, ratings=ratings)


@router.post("/erase")
async def erase_visitor(request: Request, admin: Admin, session: SessionDep) -> Response:
    """Everything stored about one visitor; the audit keeps a fingerprint of the id, not the id."""
    admin.require(Permission.MANAGE_TENANT)
    form = await read_form(request)
    visitor_id = text(form, "visitor_id")
    if not visitor_id or len(visitor_id) > 200:
        raise Unprocessable("transcripts.erase_who")
    if not checked(form, "confirm") or text(form, "visitor_id_again") != visitor_id:
        raise Unprocessable("transcripts.erase_unconfirmed")
    erased = await privacy.erase_visitor(session, admin.tenant_id, visitor_id)
    fingerprint = hashlib.sha256(f"{admin.tenant_id}:{visitor_id}".encode()).hexdigest()[:16]
    await audit.record(
        session,
        actor=admin.label,
        action="conversations.visitor_erased",
        tenant_id=admin.tenant_id,
        details={"visitor_fingerprint": fingerprint, **erased.as_dict()},
    )
    return redirect(tenant_url(admin, "/transcripts"), "flash.visitor_erased")
