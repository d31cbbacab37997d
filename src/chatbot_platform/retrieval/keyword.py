"""The full-text leg: BM25 (k1 1.2, b 0.75) computed in SQL from the postings of each knowledge base.

The query is analysed with each knowledge base's own text-search configuration (stemmer and stop
words of its language), so one search over an Italian and an English knowledge base matches both.
Document frequencies and the average length are taken over the knowledge bases searched together.
Terms are OR-ed: a chunk scores for every query term it contains, as in Lucene's BM25. Document
frequencies come from `fts_terms`, postings from `fts_postings` by impact (see POSTINGS_PER_TERM).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Float, bindparam, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

K1 = 1.2
B = 0.75
# Each query term reads at most this many postings, strongest first (by BM25 weight without idf):
# a term so common that it has more adds little to any ranking, and reading all of its postings is
# what makes per-row scoring grow with the corpus. Scores are exact for the postings read.
POSTINGS_PER_TERM = 1000

_BM25 = text(
    """
    WITH kbs AS MATERIALIZED (
        SELECT id, CAST(language AS regconfig) AS config FROM knowledge_bases
        WHERE tenant_id = :tenant_id AND id = ANY(CAST(:kb_ids AS uuid[]))
    ),
    stats AS MATERIALIZED (
        SELECT GREATEST(COALESCE(sum(chunk_count), 0), 1)::float8 AS n,
               GREATEST(COALESCE(sum(total_length), 0)::float8
                        / GREATEST(COALESCE(sum(chunk_count), 0), 1), 1) AS avgdl
        FROM kb_search_stats WHERE tenant_id = :tenant_id AND knowledge_base_id IN (SELECT id FROM kbs)
    ),
    query_terms AS MATERIALIZED (
        SELECT DISTINCT kbs.id AS kb_id, t.term
        FROM kbs, unnest(tsvector_to_array(to_tsvector(kbs.config, :query))) AS t(term)
    ),
    terms AS MATERIALIZED (
        SELECT q.kb_id, q.term, ln(1 + (s.n - d.df + 0.5) / (d.df + 0.5)) AS idf
        FROM query_terms q
        CROSS JOIN stats s
        JOIN (
            SELECT q2.term, sum(f.df) AS df
            FROM query_terms q2 JOIN fts_terms f ON f.knowledge_base_id = q2.kb_id AND f.term = q2.term
            WHERE f.df > 0
            GROUP BY q2.term
        ) d ON d.term = q.term
    )
    SELECT p.chunk_id,
           sum(t.idf * p.tf * (:k1 + 1.0) / (p.tf + :k1 * (1.0 - :b + :b * p.dl / s.avgdl))) AS score
    FROM terms t
    CROSS JOIN stats s
    CROSS JOIN LATERAL (
        SELECT chunk_id, tf, dl FROM fts_postings
        WHERE knowledge_base_id = t.kb_id AND term = t.term
        ORDER BY impact DESC
        LIMIT :per_term
    ) p
    GROUP BY p.chunk_id
    ORDER BY score DESC, p.chunk_id
    LIMIT :top_k
    """
).bindparams(bindparam("k1", type_=Float()), bindparam("b", type_=Float()))


@dataclass(frozen=True)
class KeywordHit:
    chunk_id: uuid.UUID
    score: float


async def bm25_search(
    session: AsyncSession | AsyncConnection,
    tenant_id: uuid.UUID,
    knowledge_base_ids: Sequence[uuid.UUID],
    query: str,
    *,
    top_k: int,
) -> list[KeywordHit]:
    """The `top_k` chunks of the tenant's knowledge bases that best match `query` by BM25."""
    if not query.strip() or not knowledge_base_ids or top_k < 1:
        return []
    params = {
        "tenant_id": tenant_id,
        "kb_ids": list(knowledge_base_ids),
        "query": query,
        "top_k": top_k,
        "per_term": POSTINGS_PER_TERM,
        "k1": K1,
        "b": B,
    }
    rows = await session.execute(_BM25, params)
    return [KeywordHit(row.chunk_id, float(row.score)) for row in rows]
