from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, func, select

from chatbot_platform.kit.repository import TenantRepository
from chatbot_platform.models import ConversationMessage, DeskHandoff, UsageRecord, WidgetFeedback


class UsageRepo(TenantRepository[UsageRecord]):
    model = UsageRecord


class AnswerRepo(TenantRepository[ConversationMessage]):
    """Stored messages, read for the dashboard's numbers."""

    model = ConversationMessage

    async def percentiles(
        self, column: Any, fractions: Sequence[float], where: Sequence[ColumnElement[bool]]
    ) -> list[float | None]:
        query = (
            self.select()
            .with_only_columns(*[func.percentile_cont(f).within_group(column) for f in fractions])
            .where(*where, column.is_not(None))
        )
        row = (await self.session.execute(query)).one()
        return [None if v is None else float(v) for v in row]

    async def top(self, key: Any, where: Sequence[ColumnElement[bool]], limit: int) -> list[tuple[Any, int]]:
        """The most frequent values of `key` (an expression over messages) and their counts."""
        count = func.count().label("n")
        query = (
            self.select()
            .with_only_columns(key.label("k"), count)
            .where(*where)
            .group_by(key)
            .order_by(count.desc(), key)
            .limit(limit)
        )
        return [(row[0], int(row[1])) for row in (await self.session.execute(query)).all()]

    async def top_citations(
        self, where: Sequence[ColumnElement[bool]], limit: int
    ) -> list[tuple[str, str, int]]:
        """The sources cited most often: (title, url, count)."""
        cited = (
            self.select()
            .with_only_columns(func.jsonb_array_elements(ConversationMessage.citations).label("citation"))
            .where(*where)
            .subquery()
        )
        title = cited.c.citation.op("->>")("title")
        url = cited.c.citation.op("->>")("url")
        count = func.count().label("n")
        query = select(title, url, count).group_by(title, url).order_by(count.desc(), title).limit(limit)
        return [
            (str(r[0] or ""), str(r[1] or ""), int(r[2])) for r in (await self.session.execute(query)).all()
        ]


class FeedbackRepo(TenantRepository[WidgetFeedback]):
    model = WidgetFeedback


class HandoffRepo(TenantRepository[DeskHandoff]):
    model = DeskHandoff
