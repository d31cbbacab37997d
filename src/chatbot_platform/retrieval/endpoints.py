from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from chatbot_platform.retrieval import search as pipeline
from chatbot_platform.retrieval.schemas import SearchRequest, SearchResponse
from chatbot_platform.runtime import ServicesDep
from chatbot_platform.tenants.auth import ApiKeyContext, require_scope
from chatbot_platform.tenants.scopes import Scope

router = APIRouter(prefix="/api/v1/retrieval", tags=["retrieval"])
Searcher = Annotated[ApiKeyContext, Depends(require_scope(Scope.RETRIEVAL))]


@router.post("/search", response_model=SearchResponse)
async def search(body: SearchRequest, key: Searcher, services: ServicesDep) -> SearchResponse:
    """Hybrid search over the tenant's knowledge bases; `trace: true` shows every stage."""
    return await pipeline.search(services, key.tenant_id, body)
