"""The keyword index behind BM25: term postings per knowledge base and their statistics.

PostgreSQL's `ts_rank` scores 0.05-0.08 nDCG below BM25 and has to score every matching row,
so retrieval ranks from postings instead. All three tables are written only by triggers on `chunks`
(migration 0004): inserting or deleting chunks, cascades included, keeps them exact.

`FtsPosting` rows carry no tenant id (it would double the table's size); they are reached only
through knowledge base ids that the same query has checked against the tenant.
"""

from __future__ import annotations

import uuid

from sqlalchemy import REAL, BigInteger, ForeignKey, Index, PrimaryKeyConstraint, SmallInteger, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from chatbot_platform.models.base import Base, TenantOwned


class FtsPosting(Base):
    """One lexeme of one chunk: its frequency there, the chunk's length in lexemes, and its BM25
    weight without idf when written (`impact`), by which each term's postings are read."""

    __tablename__ = "fts_postings"
    __table_args__ = (
        PrimaryKeyConstraint("knowledge_base_id", "term", "chunk_id"),
        Index(
            "ix_fts_postings_by_impact",
            "knowledge_base_id",
            "term",
            text("impact DESC"),
            postgresql_include=["chunk_id", "tf", "dl"],
        ),
    )

    knowledge_base_id: Mapped[uuid.UUID]
    term: Mapped[str] = mapped_column(Text)
    chunk_id: Mapped[uuid.UUID]
    tf: Mapped[int] = mapped_column(SmallInteger)
    dl: Mapped[int] = mapped_column(SmallInteger)
    impact: Mapped[float] = mapped_column(REAL)


class FtsTerm(Base):
    """How many chunks of a knowledge base contain a term (BM25's document frequency)."""

    __tablename__ = "fts_terms"
    __table_args__ = (PrimaryKeyConstraint("knowledge_base_id", "term"),)

    knowledge_base_id: Mapped[uuid.UUID]
    term: Mapped[str] = mapped_column(Text)
    df: Mapped[int]


class KbSearchStats(TenantOwned, Base):
    """Per knowledge base: chunks and total length for BM25, and a generation that every change
    of its searchable content increments (the retrieval cache keys on it)."""

    __tablename__ = "kb_search_stats"

    knowledge_base_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("knowledge_bases.id", ondelete="CASCADE"), primary_key=True
    )
    chunk_count: Mapped[int] = mapped_column(BigInteger, default=0)
    total_length: Mapped[int] = mapped_column(BigInteger, default=0)
    generation: Mapped[int] = mapped_column(BigInteger, default=0)
