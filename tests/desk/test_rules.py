"""The desk's pure rules: recognising a request for a human, and operator hours in a time zone."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from chatbot_platform.desk.availability import within_schedule
from chatbot_platform.desk.intent import wants_human


@pytest.mark.parametrize(
    "message",
    [
        "Vorrei parlare con un operatore",
        "posso parlare con una persona?",
        "voglio un operatore!",
        "Mi passi un operatore umano per favore",
        "è possibile chattare con un addetto?",
        "I want to talk to a human",
        "Can I speak with someone, please?",
        "connect me to a live agent",
        "Real person please",
    ],
)
def test_requests_for_a_human_are_recognised(message: str) -> None:
    assert wants_human(message)


@pytest.mark.parametrize(
    "message",
    [
        "Quanto costa la carta d'identità?",
        "Chi è il sindaco?",
        "Where is the office?",
        "Is the operator fee paid?",
    ],
)
def test_ordinary_questions_are_not(message: str) -> None:
    assert not wants_human(message)


def test_hours_follow_the_desk_time_zone() -> None:
    schedule = {"mon": [["09:00", "13:00"], ["14:00", "18:00"]]}
    monday_0730_utc = datetime(2026, 11, 30, 7, 30, tzinfo=UTC)  # 08:30 in Rome
    monday_0830_utc = datetime(2026, 11, 30, 8, 30, tzinfo=UTC)  # 09:30 in Rome
    monday_1215_utc = datetime(2026, 11, 30, 12, 15, tzinfo=UTC)  # 13:15 in Rome: lunch
    assert not within_schedule(schedule, "Europe/Rome", monday_0730_utc)
    assert within_schedule(schedule, "Europe/Rome", monday_0830_utc)
    assert not within_schedule(schedule, "Europe/Rome", monday_1215_utc)
    assert within_schedule(schedule, "UTC", monday_1215_utc)  # 12:15 in UTC is working time
    assert within_schedule({}, "Europe/Rome", monday_0730_utc)  # no schedule: any hour
    assert not within_schedule({"tue": [["00:00", "24:00"]]}, "UTC", monday_0830_utc)
