"""The BM25 index (postings, document frequencies, statistics) stays exactly what the chunks say,
through uploads, re-ingestion, deletion, a language change and a knowledge base's deletion."""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from sqlalchemy import text

from tests.factories import make_tenant
from tests.retrieval.corpora import ENGLISH, ITALIAN, external_ids, index_corpus, search

# What the triggers must have produced, recomputed from the chunks themselves.
_MISMATCHES = text(
    """
    WITH expected AS (
        SELECT c.knowledge_base_id, t.lexeme AS term, c.id AS chunk_id,
               COALESCE(cardinality(t.positions), 1) AS tf, fts_length(c.tsv) AS dl
        FROM chunks c CROSS JOIN LATERAL unnest(c.tsv) t
    ),
    postings AS (SELECT knowledge_base_id, term, chunk_id, tf, dl FROM fts_postings),
    df AS (SELECT knowledge_base_id, term, count(*) AS df FROM expected GROUP BY 1, 2),
    stats AS (
        SELECT knowledge_base_id, count(*) AS n, sum(fts_length(tsv)) AS len FROM chunks GROUP BY 1
    )
    SELECT
        (SELECT count(*) FROM ((SELECT * FROM expected EXCEPT SELECT * FROM postings)
                               UNION ALL (SELECT * FROM postings EXCEPT SELECT * FROM expected)) x)
            AS postings,
        (SELECT count(*) FROM ((SELECT * FROM df EXCEPT SELECT knowledge_base_id, term, df FROM fts_terms
                                WHERE df > 0)
                               UNION ALL (SELECT knowledge_base_id, term, df FROM fts_terms WHERE df > 0
                                          EXCEPT SELECT * FROM df)) y) AS terms,
        (SELECT count(*) FROM stats s FULL JOIN kb_search_stats k USING (knowledge_base_id)
         WHERE COALESCE(s.n, 0) <> COALESCE(k.chunk_count, 0)
            OR COALESCE(s.len, 0) <> COALESCE(k.total_length, 0))
            AS stats
    """
)


async def mismatches(app: FastAPI) -> tuple[int, int, int]:
    async with app.state.services.database.engine.connect() as conn:
        row = (await conn.execute(_MISMATCHES)).one()
        return int(row.postings), int(row.terms), int(row.stats)


async def test_the_index_follows_every_change(app: FastAPI, client: httpx.AsyncClient) -> None:
    tenant = await make_tenant(client, default_language="it")
    ids = await index_corpus(client, tenant, ITALIAN)
    assert await mismatches(app) == (0, 0, 0)

    changed = {"biblioteca": ("Biblioteca civica", "La biblioteca è chiusa per lavori fino a settembre.")}
    await index_corpus(client, tenant, changed)
    assert await mismatches(app) == (0, 0, 0)
    assert external_ids(await search(client, tenant, "chiusa per lavori", mode="fulltext"))[0] == "biblioteca"
    assert (await search(client, tenant, "riviste film prestito", mode="fulltext"))["results"][:1] != [
        "biblioteca"
    ]

    deleted = await client.delete(f"/api/v1/documents/{ids['rifiuti']}", headers=tenant.headers)
    assert deleted.status_code == 204
    assert await mismatches(app) == (0, 0, 0)
    assert "rifiuti" not in external_ids(await search(client, tenant, "plastica mercoledì", mode="fulltext"))

    english = await client.patch(
        f"/api/v1/knowledge-bases/{tenant.default_kb_id}",
        json={"language": "english"},
        headers=tenant.headers,
    )
    assert english.status_code == 200
    assert await mismatches(app) == (0, 0, 0)

    other = await client.post(
        "/api/v1/knowledge-bases", json={"name": "Other", "language": "english"}, headers=tenant.headers
    )
    await index_corpus(client, tenant, ENGLISH, knowledge_base_id=other.json()["id"])
    assert await mismatches(app) == (0, 0, 0)
    gone = await client.delete(f"/api/v1/knowledge-bases/{other.json()['id']}", headers=tenant.headers)
    assert gone.status_code == 204
    assert await mismatches(app) == (0, 0, 0)
