"""Documents API: upload files, send text or URLs, follow their processing, re-ingest, delete."""

from __future__ import annotations

import json
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request, Response, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from starlette.datastructures import FormData, UploadFile

from chatbot_platform.audit import service as audit
from chatbot_platform.ingestion import pipeline, service
from chatbot_platform.ingestion.errors import EmptyUpload, UnsupportedUpload, UploadTooLarge
from chatbot_platform.ingestion.schemas import (
    BatchItem,
    BatchResult,
    Chunk,
    Document,
    DocumentAccepted,
    DocumentBatch,
    DocumentCreate,
    FileFields,
)
from chatbot_platform.kit import idempotency
from chatbot_platform.kit.deps import SessionDep
from chatbot_platform.kit.errors import AppError
from chatbot_platform.kit.pagination import Page, PageDep
from chatbot_platform.knowledge import service as knowledge
from chatbot_platform.knowledge.errors import KnowledgeBaseNotFound
from chatbot_platform.models import DocumentSource, DocumentStatus
from chatbot_platform.runtime import ServicesDep
from chatbot_platform.tenants.auth import ApiKeyContext, require_scope
from chatbot_platform.tenants.scopes import Scope

router = APIRouter(prefix="/api/v1/documents", tags=["documents"])
Reader = Annotated[ApiKeyContext, Depends(require_scope(Scope.DOCUMENTS_READ))]
Writer = Annotated[ApiKeyContext, Depends(require_scope(Scope.DOCUMENTS_WRITE))]
IdempotencyKeyHeader = Annotated[
    str | None, Header(alias="Idempotency-Key", description="Replays the first answer.")
]
MAX_BATCH_FILES = 200
READ_BLOCK = 1024 * 1024

UPLOAD_SCHEMA: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/DocumentCreate"}},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file", "knowledge_base_id"],
                    "properties": {
                        "file": {"type": "string", "format": "binary"},
                        "knowledge_base_id": {"type": "string", "format": "uuid"},
                        "title": {"type": "string"},
                        "external_id": {"type": "string"},
                        "metadata": {"type": "string", "description": "A JSON object."},
                    },
                }
            },
        },
    }
}


def _validation_error(exc: ValidationError, location: str) -> RequestValidationError:
    return RequestValidationError([{**e, "loc": (location, *e["loc"])} for e in exc.errors()])


def _form_fields(form: FormData) -> FileFields:
    raw: dict[str, Any] = {k: v for k, v in form.items() if isinstance(v, str)}
    if "metadata" in raw:
        try:
            raw["metadata"] = json.loads(raw["metadata"])
        except json.JSONDecodeError:
            raw["metadata"] = "not JSON"
    try:
        return FileFields.model_validate(raw)
    except ValidationError as exc:
        raise _validation_error(exc, "body") from None


async def _read_upload(upload: UploadFile, limit_mb: int) -> bytes:
    limit = limit_mb * 1024 * 1024
    data = bytearray()
    while block := await upload.read(READ_BLOCK):
        data += block
        if len(data) > limit:
            raise UploadTooLarge(limit_mb)
    if not data:
        raise EmptyUpload()
    return bytes(data)


def _upload_content(upload: UploadFile, data: bytes) -> service.Content:
    filename = upload.filename or "upload"
    return service.Content(
        source=DocumentSource.UPLOAD, filename=filename, data=data, mime_type=upload.content_type or None
    )


def _json_content(body: DocumentCreate) -> service.Content:
    if body.url is not None:
        return service.Content(source=DocumentSource.API_URL, filename="page", url=str(body.url))
    return service.Content(
        source=DocumentSource.API_TEXT,
        filename=service.TEXT_FILENAME,
        data=(body.text or "").encode(),
        mime_type="text/plain",
    )


async def _parse_request(
    request: Request, limit_mb: int
) -> tuple[FileFields | DocumentCreate, service.Content]:
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("multipart/form-data"):
        async with request.form(max_files=1, max_fields=20) as form:
            fields = _form_fields(form)
            upload = form.get("file")
            if not isinstance(upload, UploadFile):
                raise RequestValidationError(
                    [{"type": "missing", "loc": ("body", "file"), "msg": "Field required"}]
                )
            return fields, _upload_content(upload, await _read_upload(upload, limit_mb))
    if content_type.startswith("application/json"):
        try:
            body = DocumentCreate.model_validate_json(await request.body())
        except ValidationError as exc:
            raise _validation_error(exc, "body") from None
        return body, _json_content(body)
    raise UnsupportedUpload("Send multipart/form-data (a file) or application/json (text or url).")


@router.post(
    "", status_code=status.HTTP_202_ACCEPTED, response_model=DocumentAccepted, openapi_extra=UPLOAD_SCHEMA
)
async def create_document(
    request: Request,
    session: SessionDep,
    services: ServicesDep,
    ctx: Writer,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Response:
    """Ingest a file (multipart), raw text or a URL (JSON). Processing continues in the background."""
    fields, content = await _parse_request(request, services.settings.storage.upload_max_mb)
    title = fields.title or content.filename
    fingerprint = idempotency.request_hash(
        str(fields.knowledge_base_id), title, fields.external_id, fields.metadata, content.content_hash
    )
    replayed = await idempotency.replay(session, ctx.tenant_id, idempotency_key, fingerprint)
    if replayed is not None:
        return JSONResponse(replayed.body, status_code=replayed.status_code)
    accepted = await service.accept(
        session,
        services.files,
        ctx.tenant_id,
        knowledge_base_id=fields.knowledge_base_id,
        title=title,
        content=content,
        external_id=fields.external_id,
        metadata=fields.metadata,
    )
    body = DocumentAccepted(
        id=accepted.document.id, status=accepted.document.status, unchanged=accepted.unchanged
    ).model_dump(mode="json")
    code = status.HTTP_200_OK if accepted.unchanged else status.HTTP_202_ACCEPTED
    await idempotency.remember(session, ctx.tenant_id, idempotency_key, fingerprint, code, body)
    if not accepted.unchanged:
        await audit.record_tenant_action(session, ctx, request, "document.created", accepted.document)
    return JSONResponse(body, status_code=code)


@router.post(
    "/batch",
    status_code=status.HTTP_207_MULTI_STATUS,
    response_model=BatchResult,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/DocumentBatch"}},
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "required": ["files", "knowledge_base_id"],
                        "properties": {
                            "files": {"type": "array", "items": {"type": "string", "format": "binary"}},
                            "knowledge_base_id": {"type": "string", "format": "uuid"},
                        },
                    }
                },
            },
        }
    },
)
async def create_documents_batch(
    request: Request, session: SessionDep, services: ServicesDep, ctx: Writer
) -> JSONResponse:
    """Up to 200 files (multipart) or text/URL documents (JSON); each gets its own result (207)."""
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("multipart/form-data"):
        results = await _accept_files(request, session, services, ctx)
    elif content_type.startswith("application/json"):
        try:
            batch = DocumentBatch.model_validate_json(await request.body())
        except ValidationError as exc:
            raise _validation_error(exc, "body") from None
        results = await _accept_json_batch(session, services, ctx, batch)
    else:
        raise UnsupportedUpload('Send multipart/form-data with `files` parts, or JSON {"documents": [...]}.')
    queued = [(r.id, r.version) for r in results if r.status == 202 and r.id is not None and r.version]
    if queued:
        pipeline.enqueue(session, pipeline.PROCESS_TASK, ctx.tenant_id, queued)
    accepted = sum(1 for r in results if r.status < 400)
    payload = BatchResult(results=results, accepted=accepted, rejected=len(results) - accepted)
    return JSONResponse(
        payload.model_dump(mode="json", exclude={"results": {"__all__": {"version"}}}),
        status_code=status.HTTP_207_MULTI_STATUS,
    )


async def _accept_json_batch(
    session: SessionDep, services: ServicesDep, ctx: ApiKeyContext, batch: DocumentBatch
) -> list[BatchItem]:
    """Text and URL documents: one lookup and one multi-row insert for all of them."""
    mine = await _own_knowledge_bases(session, ctx, {body.knowledge_base_id for body in batch.documents})
    wanted = [
        service.NewDocument(
            body.knowledge_base_id, body.title, _json_content(body), body.external_id, body.metadata
        )
        for body in batch.documents
        if body.knowledge_base_id in mine
    ]
    accepted = iter(await service.accept_many(session, services.files, ctx.tenant_id, wanted))
    results = []
    for body in batch.documents:
        if body.knowledge_base_id not in mine:
            results.append(BatchItem(filename=body.title, status=404, error=KnowledgeBaseNotFound().message))
            continue
        item = next(accepted)
        if isinstance(item, AppError):
            results.append(BatchItem(filename=body.title, status=item.status_code, error=item.message))
            continue
        results.append(
            BatchItem(
                filename=body.title,
                status=200 if item.unchanged else 202,
                id=item.document.id,
                document_status=item.document.status,
                version=item.document.version,
            )
        )
    return results


async def _own_knowledge_bases(
    session: SessionDep, ctx: ApiKeyContext, ids: set[uuid.UUID]
) -> set[uuid.UUID]:
    """Which of these knowledge bases belong to the caller's tenant (checked once per batch)."""
    found = set()
    for kb_id in ids:
        try:
            await knowledge.get_or_raise(session, ctx.tenant_id, kb_id)
        except KnowledgeBaseNotFound:
            continue
        found.add(kb_id)
    return found


async def _accept_files(
    request: Request, session: SessionDep, services: ServicesDep, ctx: ApiKeyContext
) -> list[BatchItem]:
    results: list[BatchItem] = []
    async with request.form(max_files=MAX_BATCH_FILES, max_fields=20) as form:
        fields = _form_fields(form)
        uploads = [item for item in form.getlist("files") if isinstance(item, UploadFile)]
        if not uploads:
            raise RequestValidationError(
                [{"type": "missing", "loc": ("body", "files"), "msg": "Field required"}]
            )
        for upload in uploads:
            name = upload.filename or "upload"
            try:
                data = await _read_upload(upload, services.settings.storage.upload_max_mb)
            except AppError as exc:
                results.append(BatchItem(filename=name, status=exc.status_code, error=exc.message))
                continue
            results.append(
                await _accept_one(session, services, ctx, name, fields, _upload_content(upload, data))
            )
    return results


async def _accept_one(
    session: SessionDep,
    services: ServicesDep,
    ctx: ApiKeyContext,
    title: str,
    fields: FileFields | DocumentCreate,
    content: service.Content,
) -> BatchItem:
    """One uploaded file of a batch, in its own savepoint: a refused file leaves nothing behind."""
    try:
        async with session.begin_nested():
            accepted = await service.accept(
                session,
                services.files,
                ctx.tenant_id,
                knowledge_base_id=fields.knowledge_base_id,
                title=title,
                content=content,
                external_id=fields.external_id,
                metadata=fields.metadata,
                enqueue=False,
            )
    except AppError as exc:
        return BatchItem(filename=title, status=exc.status_code, error=exc.message)
    return BatchItem(
        filename=title,
        status=200 if accepted.unchanged else 202,
        id=accepted.document.id,
        document_status=accepted.document.status,
        version=accepted.document.version,
    )


@router.get("", response_model=Page[Document])
async def list_documents(
    session: SessionDep,
    ctx: Reader,
    page: PageDep,
    knowledge_base_id: Annotated[uuid.UUID | None, Query(description="Only this knowledge base.")] = None,
    status_: Annotated[DocumentStatus | None, Query(alias="status", description="Only this status.")] = None,
    source: Annotated[DocumentSource | None, Query(description="Only this source.")] = None,
) -> Page[Document]:
    items, total = await service.list_(
        session,
        ctx.tenant_id,
        knowledge_base_id=knowledge_base_id,
        status=status_,
        source=source,
        limit=page.limit,
        offset=page.offset,
    )
    return Page(
        items=[Document.model_validate(d) for d in items], total=total, limit=page.limit, offset=page.offset
    )


@router.get("/{document_id}", response_model=Document)
async def get_document(document_id: uuid.UUID, session: SessionDep, ctx: Reader) -> Document:
    """Status, progress, error and chunk count of one document."""
    return Document.model_validate(await service.get_or_raise(session, ctx.tenant_id, document_id))


@router.get("/{document_id}/chunks", response_model=Page[Chunk])
async def list_chunks(document_id: uuid.UUID, session: SessionDep, ctx: Reader, page: PageDep) -> Page[Chunk]:
    items, total = await service.chunks(
        session, ctx.tenant_id, document_id, limit=page.limit, offset=page.offset
    )
    chunks = [
        Chunk.model_validate(c).model_copy(update={"embedded": c.embedding_model is not None}) for c in items
    ]
    return Page(items=chunks, total=total, limit=page.limit, offset=page.offset)


@router.post("/{document_id}/reingest", status_code=status.HTTP_202_ACCEPTED, response_model=DocumentAccepted)
async def reingest_document(
    document_id: uuid.UUID, session: SessionDep, ctx: Writer, request: Request
) -> DocumentAccepted:
    """Process the stored content again."""
    document = await service.reingest(session, ctx.tenant_id, document_id)
    await audit.record_tenant_action(session, ctx, request, "document.reingested", document)
    return DocumentAccepted(id=document.id, status=document.status)


@router.delete("/{document_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_document(
    document_id: uuid.UUID, session: SessionDep, ctx: Writer, request: Request
) -> Response:
    """Delete the document, its chunks, vectors and stored file."""
    document = await service.delete(session, ctx.tenant_id, document_id)
    await audit.record_tenant_action(
        session, ctx, request, "document.deleted", document, details={"title": document.title}
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)
