"""BM25 postings, term document frequencies and per-knowledge-base statistics, kept by triggers.

Revision ID: 0004
Revises: 0003
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# A lexeme's frequency is its number of positions (a stripped lexeme counts once); a chunk's
# length is the sum over its lexemes. Both are capped to fit a smallint. `impact` is the BM25 term
# weight without idf (k1 1.2, b 0.75) against the knowledge base's average length when written: it
# orders each term's postings so a query can read the strongest ones first.
_POSTINGS_OF = """
    SELECT c.knowledge_base_id, t.lexeme, c.id,
           LEAST(COALESCE(cardinality(t.positions), 1), 32767)::smallint,
           l.dl::smallint,
           (LEAST(COALESCE(cardinality(t.positions), 1), 32767) * 2.2
            / (LEAST(COALESCE(cardinality(t.positions), 1), 32767)
               + 1.2 * (0.25 + 0.75 * l.dl / COALESCE(
                   (SELECT GREATEST(s.total_length::float8 / GREATEST(s.chunk_count, 1), 1)
                    FROM kb_search_stats s WHERE s.knowledge_base_id = c.knowledge_base_id), 100))))::real
    FROM {source} c
    CROSS JOIN LATERAL (SELECT fts_length(c.tsv) AS dl) l
    CROSS JOIN LATERAL unnest(c.tsv) t
    WHERE c.tsv IS NOT NULL
"""
# Document frequencies change by +1/-1 per chunk; rows are upserted in key order so that two
# transactions touching the same terms lock them in the same order (no deadlock).
_DF_DELTA = """
    INSERT INTO fts_terms AS f (knowledge_base_id, term, df)
    SELECT c.knowledge_base_id, t.term, {sign} count(*)
    FROM {source} c CROSS JOIN LATERAL unnest(tsvector_to_array(c.tsv)) AS t(term)
    WHERE c.tsv IS NOT NULL
    GROUP BY c.knowledge_base_id, t.term
    ORDER BY c.knowledge_base_id, t.term
    ON CONFLICT (knowledge_base_id, term) DO UPDATE SET df = GREATEST(f.df + excluded.df, 0)
"""
_COLUMNS = "(knowledge_base_id, term, chunk_id, tf, dl, impact)"

_STATEMENTS = [
    """
CREATE FUNCTION fts_length(tsv tsvector) RETURNS int LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT LEAST(COALESCE(sum(COALESCE(cardinality(u.positions), 1)), 0), 32767)::int FROM unnest(tsv) u
$$
""",
    f"""
CREATE FUNCTION chunks_fts_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
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
    INSERT INTO fts_postings {_COLUMNS} {_POSTINGS_OF.format(source="new_chunks")};
    {_DF_DELTA.format(source="new_chunks", sign="")};
    RETURN NULL;
END $$
""",  # noqa: S608 (constant SQL)
    f"""
CREATE FUNCTION chunks_fts_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM fts_postings p
    USING (SELECT c.knowledge_base_id, c.id, unnest(tsvector_to_array(c.tsv)) AS term
           FROM old_chunks c WHERE c.tsv IS NOT NULL) o
    WHERE p.knowledge_base_id = o.knowledge_base_id AND p.term = o.term AND p.chunk_id = o.id;
    {_DF_DELTA.format(source="old_chunks", sign="-")};
    UPDATE kb_search_stats s
    SET chunk_count = GREATEST(s.chunk_count - o.chunks, 0),
        total_length = GREATEST(s.total_length - o.length, 0),
        generation = s.generation + 1
    FROM (SELECT c.knowledge_base_id, count(*) AS chunks, COALESCE(sum(fts_length(c.tsv)), 0) AS length
          FROM old_chunks c GROUP BY c.knowledge_base_id) o
    WHERE s.knowledge_base_id = o.knowledge_base_id;
    RETURN NULL;
END $$
""",  # noqa: S608 (constant SQL)
    # After an UPDATE of chunks.tsv (a knowledge base's language changed), which no trigger sees.
    f"""
CREATE FUNCTION fts_reindex_knowledge_base(kb uuid) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM fts_postings WHERE knowledge_base_id = kb;
    DELETE FROM fts_terms WHERE knowledge_base_id = kb;
    UPDATE kb_search_stats
    SET total_length = (SELECT COALESCE(sum(fts_length(tsv)), 0) FROM chunks WHERE knowledge_base_id = kb),
        generation = generation + 1
    WHERE knowledge_base_id = kb;
    INSERT INTO fts_postings {_COLUMNS} {_POSTINGS_OF.format(source="chunks")} AND c.knowledge_base_id = kb;
    {_DF_DELTA.format(source="(SELECT * FROM chunks WHERE knowledge_base_id = kb)", sign="")};
END $$
""",  # noqa: S608 (constant SQL)
    """
CREATE TRIGGER chunks_fts_insert AFTER INSERT ON chunks
    REFERENCING NEW TABLE AS new_chunks FOR EACH STATEMENT EXECUTE FUNCTION chunks_fts_inserted()
""",
    """
CREATE TRIGGER chunks_fts_delete AFTER DELETE ON chunks
    REFERENCING OLD TABLE AS old_chunks FOR EACH STATEMENT EXECUTE FUNCTION chunks_fts_deleted()
""",
]


def upgrade() -> None:
    op.create_table(
        "fts_postings",
        sa.Column("knowledge_base_id", sa.Uuid(), nullable=False),
        sa.Column("term", sa.Text(), nullable=False),
        sa.Column("chunk_id", sa.Uuid(), nullable=False),
        sa.Column("tf", sa.SmallInteger(), nullable=False),
        sa.Column("dl", sa.SmallInteger(), nullable=False),
        sa.Column("impact", sa.REAL(), nullable=False),
        sa.PrimaryKeyConstraint("knowledge_base_id", "term", "chunk_id", name=op.f("pk_fts_postings")),
    )
    op.create_index(
        "ix_fts_postings_by_impact",
        "fts_postings",
        ["knowledge_base_id", "term", sa.text("impact DESC")],
        postgresql_include=["chunk_id", "tf", "dl"],
    )
    op.create_table(
        "fts_terms",
        sa.Column("knowledge_base_id", sa.Uuid(), nullable=False),
        sa.Column("term", sa.Text(), nullable=False),
        sa.Column("df", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("knowledge_base_id", "term", name=op.f("pk_fts_terms")),
    )
    op.create_table(
        "kb_search_stats",
        sa.Column("knowledge_base_id", sa.Uuid(), nullable=False),
        sa.Column("chunk_count", sa.BigInteger(), nullable=False),
        sa.Column("total_length", sa.BigInteger(), nullable=False),
        sa.Column("generation", sa.BigInteger(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["knowledge_base_id"],
            ["knowledge_bases.id"],
            name=op.f("fk_kb_search_stats_knowledge_base_id_knowledge_bases"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_kb_search_stats_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("knowledge_base_id", name=op.f("pk_kb_search_stats")),
    )
    op.create_index(op.f("ix_kb_search_stats_tenant_id"), "kb_search_stats", ["tenant_id"], unique=False)
    for statement in _STATEMENTS:
        op.execute(statement)
    op.execute(
        """
        INSERT INTO kb_search_stats (tenant_id, knowledge_base_id, chunk_count, total_length, generation)
        SELECT tenant_id, knowledge_base_id, count(*), COALESCE(sum(fts_length(tsv)), 0), 1
        FROM chunks GROUP BY tenant_id, knowledge_base_id
        """
    )
    op.execute("SELECT fts_reindex_knowledge_base(id) FROM knowledge_bases")


def downgrade() -> None:
    op.execute("DROP TRIGGER chunks_fts_delete ON chunks")
    op.execute("DROP TRIGGER chunks_fts_insert ON chunks")
    op.execute("DROP FUNCTION chunks_fts_deleted()")
    op.execute("DROP FUNCTION chunks_fts_inserted()")
    op.execute("DROP FUNCTION fts_reindex_knowledge_base(uuid)")
    op.execute("DROP FUNCTION fts_length(tsvector)")
    op.drop_index(op.f("ix_kb_search_stats_tenant_id"), table_name="kb_search_stats")
    op.drop_table("kb_search_stats")
    op.drop_table("fts_terms")
    op.drop_index("ix_fts_postings_by_impact", table_name="fts_postings")
    op.drop_table("fts_postings")
