"""Documents: upload many, live status (polled JSON), filters, chunk viewer, retry, re-ingest,
delete and CSV export."""

from __future__ import annotations

import csv
import io
import uuid
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.datastructures import UploadFile

from chatbot_platform.admin.auth import Admin, AdminContext, Permission
from chatbot_platform.admin.forms import read_form, text, uploads
from chatbot_platform.admin.i18n import translate
from chatbot_platform.admin.rendering import redirect, render, tenant_url
from chatbot_platform.audit import service as audit
from chatbot_platform.ingestion import service as documents
from chatbot_platform.ingestion.errors import EmptyUpload, UploadTooLarge
from chatbot_platform.kit.deps import SessionDep
from chatbot_platform.kit.errors import AppError, BadRequest
from chatbot_platform.knowledge import service as knowledge
from chatbot_platform.models import Document, DocumentSource, DocumentStatus
from chatbot_platform.runtime import ServicesDep

router = APIRouter(prefix="/t/{slug}/documents")
PAGE_SIZE = 50
CHUNK_PAGE_SIZE = 20
MAX_FILES = 50
MAX_POLLED = 100
READ_BLOCK = 1024 * 1024
FINAL = frozenset({DocumentStatus.INDEXED, DocumentStatus.FAILED})


def _enum_or_none(kind: type[DocumentStatus] | type[DocumentSource], value: str | None) -> Any:
    try:
        return kind(value) if value else None
    except ValueError:
        return None


def _uuid_or_none(value: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(value) if value else None
    except ValueError:
        return None


async def _filtered(
    request: Request, admin: AdminContext, session: SessionDep, *, limit: int
) -> tuple[list[Document], int, dict[str, Any]]:
    query = request.query_params
    filters = {
        "knowledge_base_id": _uuid_or_none(query.get("kb")),
        "status": _enum_or_none(DocumentStatus, query.get("status")),
        "source": _enum_or_none(DocumentSource, query.get("source")),
    }
    offset = max(0, int(query.get("offset", "0"))) if query.get("offset", "0").isdigit() else 0
    items, total = await documents.list_(session, admin.tenant_id, limit=limit, offset=offset, **filters)
    return items, total, {**filters, "offset": offset}


@router.get("", response_class=HTMLResponse)
async def document_list(request: Request, admin: Admin, session: SessionDep) -> Response:
    admin.require(Permission.VIEW)
    items, total, filters = await _filtered(request, admin, session, limit=PAGE_SIZE)
    kbs, _ = await knowledge.list_(session, admin.tenant_id, limit=200, offset=0)
    query = [
        (k, v) for k, v in request.query_params.multi_items() if k in {"kb", "status", "source", "offset"}
    ]
    return render(
        request,
        "documents.html",
        items=items,
        total=total,
        filters=filters,
        page_size=PAGE_SIZE,
        knowledge_bases=kbs,
        kb_names={kb.id: kb.name for kb in kbs},
        statuses=list(DocumentStatus),
        sources=list(DocumentSource),
        final=FINAL,
        request_query=urlencode(query),
        request_query_without_offset=urlencode([(k, v) for k, v in query if k != "offset"]),
    )


async def _read(upload: UploadFile, limit_mb: int) -> bytes:
    data = bytearray()
    while block := await upload.read(READ_BLOCK):
        data += block
        if len(data) > limit_mb * 1024 * 1024:
            raise UploadTooLarge(limit_mb)
    if not data:
        raise EmptyUpload()
    return bytes(data)


@router.post("", response_class=HTMLResponse)
async def upload(request: Request, admin: Admin, session: SessionDep, services: ServicesDep) -> Response:
    """Each file is accepted in its own savepoint: a refused file does not undo the others."""
    admin.require(Permission.EDIT_CONTENT)
    form = await read_form(request)
    files = uploads(form, "files")
    kb_id = _uuid_or_none(text(form, "knowledge_base_id"))
    if not files or kb_id is None or len(files) > MAX_FILES:
        raise BadRequest(f"Choose a knowledge base and 1 to {MAX_FILES} files.")
    await knowledge.get_or_raise(session, admin.tenant_id, kb_id)
    results: list[tuple[str, str | None]] = []
    for file in files:
        name = file.filename or "upload"
        try:
            content = documents.Content(
                source=DocumentSource.UPLOAD,
                filename=name,
                data=await _read(file, services.settings.storage.upload_max_mb),
                mime_type=file.content_type or None,
            )
            async with session.begin_nested():
                accepted = await documents.accept(
                    session,
                    services.files,
                    admin.tenant_id,
                    knowledge_base_id=kb_id,
                    title=name,
                    content=content,
                    knowledge_base_checked=True,
                )
        except AppError as exc:
            results.append((name, exc.message))
            continue
        await audit.record(
            session,
            actor=admin.label,
            action="document.created",
            tenant_id=admin.tenant_id,
            target=accepted.document,
        )
        results.append((name, None))
    if all(error is None for _, error in results):
        return redirect(tenant_url(admin, f"/documents?kb={kb_id}"), "documents.uploaded")
    return render(request, "upload_result.html", results=results)


@router.get("/status.json")
async def status(request: Request, admin: Admin, session: SessionDep) -> JSONResponse:
    """Live status for the list page's polling: the documents named by `ids` (comma-separated)."""
    admin.require(Permission.VIEW)
    wanted = [
        u for raw in request.query_params.get("ids", "").split(",")[:MAX_POLLED] if (u := _uuid_or_none(raw))
    ]
    found = []
    for document_id in wanted:
        try:
            document = await documents.get_or_raise(session, admin.tenant_id, document_id)
        except AppError:
            continue
        found.append(
            {
                "id": str(document.id),
                "status": document.status.value,
                "label": translate(admin.locale, f"status.{document.status.value}"),
                "final": document.status in FINAL,
                "fields": {
                    "progress": document.progress,
                    "chunk_count": document.chunk_count,
                    "error": document.error,
                },
            }
        )
    return JSONResponse({"items": found}, headers={"Cache-Control": "no-store"})


@router.get("/export.csv")
async def export(request: Request, admin: Admin, session: SessionDep) -> Response:
    admin.require(Permission.VIEW)
    items, _, _ = await _filtered(request, admin, session, limit=10_000)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(
        ["id", "title", "knowledge_base_id", "source", "status", "progress", "chunks", "error", "created_at"]
    )
    for d in items:
        title = (
            d.title if not d.title.startswith(("=", "+", "-", "@")) else "'" + d.title
        )  # no spreadsheet formulas
        writer.writerow(
            [
                d.id,
                title,
                d.knowledge_base_id,
                d.source.value,
                d.status.value,
                d.progress,
                d.chunk_count,
                d.error or "",
                d.created_at.isoformat(),
            ]
        )
    return Response(
        buffer.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="documents.csv"'},
    )


@router.get("/{document_id}", response_class=HTMLResponse)
async def detail(document_id: uuid.UUID, request: Request, admin: Admin, session: SessionDep) -> Response:
    """The document and a page of its chunks."""
    admin.require(Permission.VIEW)
    document = await documents.get_or_raise(session, admin.tenant_id, document_id)
    raw_offset = request.query_params.get("offset", "0")
    offset = int(raw_offset) if raw_offset.isdigit() else 0
    chunks, total = await documents.chunks(
        session, admin.tenant_id, document_id, limit=CHUNK_PAGE_SIZE, offset=offset
    )
    return render(
        request,
        "document.html",
        document=document,
        chunks=chunks,
        total=total,
        offset=offset,
        page_size=CHUNK_PAGE_SIZE,
        final=FINAL,
    )


@router.post("/{document_id}/reingest")
async def reingest(document_id: uuid.UUID, admin: Admin, session: SessionDep) -> Response:
    """Retry (a failed document) and re-ingest (any document) are the same action."""
    admin.require(Permission.EDIT_CONTENT)
    document = await documents.reingest(session, admin.tenant_id, document_id)
    await audit.record(
        session, actor=admin.label, action="document.reingested", tenant_id=admin.tenant_id, target=document
    )
    return redirect(tenant_url(admin, f"/documents/{document.id}"), "documents.queued")


@router.post("/{document_id}/delete")
async def delete(document_id: uuid.UUID, admin: Admin, session: SessionDep) -> Response:
    admin.require(Permission.EDIT_CONTENT)
    document = await documents.delete(session, admin.tenant_id, document_id)
    await audit.record(
        session,
        actor=admin.label,
        action="document.deleted",
        tenant_id=admin.tenant_id,
        target=document,
        details={"title": document.title},
    )
    return redirect(tenant_url(admin, "/documents"), "documents.deleted")
