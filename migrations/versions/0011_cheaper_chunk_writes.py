"""Cheaper chunk writes: the postings trigger reads each new chunk's lexemes once, and the unused GIN
index on `chunks.tsv` goes (the full-text leg reads `fts_postings`, never `tsv`).

The trigger of 0004 unnested every tsvector three times and looked up the knowledge base's average
length once per posting row; with a thousand new chunks that is a hundred thousand lookups in the
transaction that holds the knowledge base's statistics row. Now the lexemes are unnested once, the
statistics upsert returns the new average, and postings and document frequencies are written from
that. Same rows, same values.

Revision ID: 0011
Revises: 0010
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Document frequencies are upserted in key order so that two transactions touching the same terms
# lock them in the same order (no deadlock), as in 0004.
_INSERTED = """
CREATE OR REPLACE FUNCTION chunks_fts_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    WITH lexemes AS MATERIALIZED (
        SELECT c.tenant_id, c.knowledge_base_id, c.id, t.lexeme,
               LEAST(COALESCE(cardinality(t.positions), 1), 32767) AS tf
        FROM new_chunks c CROSS JOIN LATERAL unnest(c.tsv) t
        WHERE c.tsv IS NOT NULL
    ),
    lengths AS MATERIALIZED (
        SELECT tenant_id, knowledge_base_id, id, LEAST(sum(tf), 32767) AS dl
        FROM lexemes GROUP BY tenant_id, knowledge_base_id, id
    ),
    per_kb AS (
        SELECT c.tenant_id, c.knowledge_base_id, count(*) AS chunks, COALESCE(sum(l.dl), 0) AS length
        FROM new_chunks c LEFT JOIN lengths l ON l.id = c.id
        GROUP BY c.tenant_id, c.knowledge_base_id
    ),
    stats AS (
        INSERT INTO kb_search_stats AS s (tenant_id, knowledge_base_id, chunk_count, total_length, generation)
        SELECT tenant_id, knowledge_base_id, chunks, length, 1 FROM per_kb ORDER BY knowledge_base_id
        ON CONFLICT (knowledge_base_id) DO UPDATE
            SET chunk_count = s.chunk_count + excluded.chunk_count,
                total_length = s.total_length + excluded.total_length,
                generation = s.generation + 1
        RETURNING s.knowledge_base_id,
                  GREATEST(s.total_length::float8 / GREATEST(s.chunk_count, 1), 1) AS avgdl
    ),
    postings AS (
        INSERT INTO fts_postings (knowledge_base_id, term, chunk_id, tf, dl, impact)
        SELECT x.knowledge_base_id, x.lexeme, x.id, x.tf::smallint, l.dl::smallint,
               (x.tf * 2.2 / (x.tf + 1.2 * (0.25 + 0.75 * l.dl / st.avgdl)))::real
        FROM lexemes x
        JOIN lengths l ON l.id = x.id
        JOIN stats st ON st.knowledge_base_id = x.knowledge_base_id
    )
    INSERT INTO fts_terms AS f (knowledge_base_id, term, df)
    SELECT knowledge_base_id, lexeme, count(*) FROM lexemes
    GROUP BY knowledge_base_id, lexeme
    ORDER BY knowledge_base_id, lexeme
    ON CONFLICT (knowledge_base_id, term) DO UPDATE SET df = GREATEST(f.df + excluded.df, 0);
    RETURN NULL;
END $$
"""

# 0004's version, restored by the downgrade.
_INSERTED_0004 = """
CREATE OR REPLACE FUNCTION chunks_fts_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO kb_search_stats AS s (tenant_id, knowledge_base_id, chunk_count, total_length, generation)
    SELECT c.tenant_id, c.knowledge_base_id, count(*), COALESCE(sum(fts_length(c.tsv)), 0), 1
    FROM new_chunks c
    GROUP BY c.tenant_id, c.knowledge_base_id
    ORDER BY c.knowledge_base_id
    ON CONFLICT (knowledge_base_id) DO UPDATE
        SET chunk_count = s.chunk_count + excluded.chunk_count,
            total_length = s.total_length + excluded.total_length,
            generation = s.generation + 1;
    INSERT INTO fts_postings (knowledge_base_id, term, chunk_id, tf, dl, impact)
    SELECT c.knowledge_base_id, t.lexeme, c.id,
           LEAST(COALESCE(cardinality(t.positions), 1), 32767)::smallint,
           l.dl::smallint,
           (LEAST(COALESCE(cardinality(t.positions), 1), 32767) * 2.2
            / (LEAST(COALESCE(cardinality(t.positions), 1), 32767)
               + 1.2 * (0.25 + 0.75 * l.dl / COALESCE(
                   (SELECT GREATEST(s.total_length::float8 / GREATEST(s.chunk_count, 1), 1)
                    FROM kb_search_stats s WHERE s.knowledge_base_id = c.knowledge_base_id), 100))))::real
    FROM new_chunks c
    CROSS JOIN LATERAL (SELECT fts_length(c.tsv) AS dl) l
    CROSS JOIN LATERAL unnest(c.tsv) t
    WHERE c.tsv IS NOT NULL;
    INSERT INTO fts_terms AS f (knowledge_base_id, term, df)
    SELECT c.knowledge_base_id, t.term, count(*)
    FROM new_chunks c CROSS JOIN LATERAL unnest(tsvector_to_array(c.tsv)) AS t(term)
    WHERE c.tsv IS NOT NULL
    GROUP BY c.knowledge_base_id, t.term
    ORDER BY c.knowledge_base_id, t.term
    ON CONFLICT (knowledge_base_id, term) DO UPDATE SET df = GREATEST(f.df + excluded.df, 0);
    RETURN NULL;
END $$
"""


def upgrade() -> None:
    op.execute(_INSERTED)
    op.execute("DROP INDEX IF EXISTS ix_chunks_tsv")


def downgrade() -> None:
    op.execute("CREATE INDEX IF NOT EXISTS ix_chunks_tsv ON chunks USING gin (tsv)")
    op.execute(_INSERTED_0004)
