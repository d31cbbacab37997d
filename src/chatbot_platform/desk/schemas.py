from __future__ import annotations

import enum
import re
import uuid
from datetime import datetime
from typing import Any, Self
from zoneinfo import available_timezones

from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator, model_validator

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_HHMM = re.compile(r"^([01]\d|2[0-4]):[0-5]\d$")
_FIELD_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")


# -- desk settings ----------------------------------------------------------------------------------


def _check_schedule(value: dict[str, list[list[str]]] | None) -> dict[str, list[list[str]]] | None:
    if value is None:
        return value
    for day, intervals in value.items():
        if day not in WEEKDAYS:
            raise ValueError(f"unknown weekday {day!r}: use {', '.join(WEEKDAYS)}")
        for interval in intervals:
            if len(interval) != 2 or not all(_HHMM.match(t) for t in interval) or interval[0] >= interval[1]:
                raise ValueError(f'{day}: each interval is ["HH:MM", "HH:MM"] with the start first')
    return value


class DeskSettingsView(BaseModel):
    timezone: str
    schedule: dict[str, list[list[str]]] = Field(
        description='Weekday (mon..sun) to intervals, e.g. {"mon": [["09:00", "18:00"]]}; empty: any hour.'
    )
    queue_timeout_seconds: int
    dont_know_threshold: int = Field(
        description='Consecutive "I don\'t know" answers before a human is offered.'
    )
    notify_emails: list[str]
    webhook_url: str | None
    webhook_secret_set: bool
    timeout_message: str | None
    retention_days: int | None = Field(description="Transcripts older than this are purged; null keeps them.")
    last_purged_at: datetime | None


class DeskSettingsUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    timezone: str | None = None
    schedule: dict[str, list[list[str]]] | None = None
    queue_timeout_seconds: int | None = Field(None, ge=10, le=86400)
    dont_know_threshold: int | None = Field(None, ge=1, le=20)
    notify_emails: list[EmailStr] | None = Field(None, max_length=20)
    webhook_url: str | None = Field(None, max_length=2000, pattern=r"^https?://")
    webhook_secret: str | None = Field(None, min_length=16, max_length=200)
    timeout_message: str | None = Field(None, max_length=2000)
    retention_days: int | None = Field(None, ge=1, le=3650)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        if value is not None and value not in available_timezones():
            raise ValueError(f"unknown IANA time zone {value!r}")
        return value

    @field_validator("schedule")
    @classmethod
    def _schedule(cls, value: dict[str, list[list[str]]] | None) -> dict[str, list[list[str]]] | None:
        return _check_schedule(value)


# -- operators and handoffs -------------------------------------------------------------------------


class Heartbeat(BaseModel):
    operator: str = Field(min_length=1, max_length=200, description="The operator's name or e-mail.")


class Operator(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    name: str
    last_seen_at: datetime | None


class Availability(BaseModel):
    available: bool
    within_hours: bool
    operators_present: list[str]


class Handoff(BaseModel):
    id: uuid.UUID
    conversation_id: str = Field(description="The conversation's client id (as in /api/v1/conversations).")
    visitor_id: str | None
    status: str = Field(description="queued, active, released, closed, timed_out or unavailable.")
    reason: str = Field(description="visitor_request, intent or dont_know.")
    priority: int
    operator: str | None
    requested_at: datetime
    taken_at: datetime | None
    ended_at: datetime | None
    wait_seconds: float | None
    handling_seconds: float | None


class HandoffCreate(BaseModel):
    """A visitor asking for a human (the widget's button)."""

    message: str | None = Field(None, max_length=4000, description="What the visitor wants, if typed.")
    accepted_offer: bool = Field(
        False, description='True when the visitor accepts the offer made after "I don\'t know" answers.'
    )


class HandoffUpdate(BaseModel):
    """What operators may change on a queued or active handoff."""

    model_config = ConfigDict(extra="forbid")

    priority: int = Field(ge=0, le=10, description="Higher is served first.")


class OperatorAction(BaseModel):
    operator: str = Field(min_length=1, max_length=200)


class OperatorReply(OperatorAction):
    text: str = Field(min_length=1, max_length=4000)


class VisitorMessage(BaseModel):
    text: str = Field(min_length=1, max_length=4000)


class HandoffState(BaseModel):
    """What the widget shows: the latest handoff of the conversation, and a form when nobody is there."""

    status: str | None
    operator: str | None = None
    handoff_id: uuid.UUID | None = None
    form: PublicForm | None = None
    message: str | None = None


class HandoffMetrics(BaseModel):
    requests: int
    by_status: dict[str, int]
    taken: int
    average_wait_seconds: float | None
    median_wait_seconds: float | None
    average_handling_seconds: float | None


class CannedReply(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    title: str
    body: str
    shortcut: str | None
    created_at: datetime
    updated_at: datetime


class CannedReplyCreate(BaseModel):
    title: str = Field(min_length=1, max_length=200)
    body: str = Field(min_length=1, max_length=4000)
    shortcut: str | None = Field(None, max_length=50, pattern=r"^[a-z0-9_-]+$")


class CannedReplyUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str | None = Field(None, min_length=1, max_length=200)
    body: str | None = Field(None, min_length=1, max_length=4000)
    shortcut: str | None = Field(None, max_length=50, pattern=r"^[a-z0-9_-]+$")


# -- forms ------------------------------------------------------------------------------------------


class FieldType(enum.StrEnum):
    TEXT = "text"
    EMAIL = "email"
    PHONE = "phone"
    TEXTAREA = "textarea"
    SELECT = "select"
    CHECKBOX = "checkbox"
    RADIO = "radio"
    DATE = "date"
    NUMBER = "number"


CHOICE_TYPES = {FieldType.SELECT, FieldType.RADIO}


class FormField(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(description="Key of the value in submissions (a-z, 0-9, _).")
    label: str = Field(min_length=1, max_length=200)
    type: FieldType
    required: bool = False
    placeholder: str | None = Field(None, max_length=200)
    options: list[str] = Field(
        default_factory=list, max_length=100, description="Choices of select and radio; of checkbox for many."
    )
    min_length: int | None = Field(None, ge=0, le=10000)
    max_length: int | None = Field(None, ge=1, le=10000)
    pattern: str | None = Field(None, max_length=500, description="A regular expression the text must match.")
    min: float | None = Field(None, description="Smallest number, or earliest date as YYYYMMDD.")
    max: float | None = Field(None, description="Largest number, or latest date as YYYYMMDD.")

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not _FIELD_NAME.match(value) or value == "website":
            raise ValueError("use a-z, 0-9 and _ , starting with a letter ('website' is reserved)")
        return value

    @field_validator("pattern")
    @classmethod
    def _pattern(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"invalid regular expression: {exc}") from None
        return value

    @model_validator(mode="after")
    def _options(self) -> Self:
        if self.type in CHOICE_TYPES and not self.options:
            raise ValueError(f"a {self.type.value} field needs options")
        return self


class FormTriggers(BaseModel):
    model_config = ConfigDict(extra="forbid")

    keywords: list[str] = Field(
        default_factory=list, max_length=50, description="Shown when a message has one."
    )
    after_messages: int | None = Field(
        None, ge=1, le=1000, description="Shown after this many visitor messages."
    )
    on_dont_know: bool = Field(False, description='Shown after an "I don\'t know" answer.')
    on_handoff_unavailable: bool = Field(
        False, description="Shown when a human is asked for and none is available."
    )


class FormBase(BaseModel):
    title: str = Field(min_length=1, max_length=300)
    description: str | None = Field(None, max_length=2000)
    fields: list[FormField] = Field(min_length=1, max_length=50)
    triggers: FormTriggers = Field(default_factory=FormTriggers)
    enabled: bool = True
    min_fill_seconds: int = Field(3, ge=0, le=600, description="Faster submissions are refused as robots.")
    notify_emails: list[EmailStr] = Field(default_factory=list, max_length=20)
    confirmation_subject: str | None = Field(None, max_length=300)
    confirmation_body: str | None = Field(
        None,
        max_length=5000,
        description="Sent to the visitor's e-mail field; {name} style fields are filled in.",
    )
    webhook_url: str | None = Field(None, max_length=2000, pattern=r"^https?://")

    @model_validator(mode="after")
    def _unique_names(self) -> Self:
        names = [f.name for f in self.fields]
        if len(names) != len(set(names)):
            raise ValueError("field names must be unique")
        return self


class FormCreate(FormBase):
    name: str = Field(min_length=1, max_length=200)
    webhook_secret: str | None = Field(None, min_length=16, max_length=200)


class FormUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str | None = Field(None, min_length=1, max_length=300)
    description: str | None = Field(None, max_length=2000)
    fields: list[FormField] | None = Field(None, min_length=1, max_length=50)
    triggers: FormTriggers | None = None
    enabled: bool | None = None
    min_fill_seconds: int | None = Field(None, ge=0, le=600)
    notify_emails: list[EmailStr] | None = Field(None, max_length=20)
    confirmation_subject: str | None = Field(None, max_length=300)
    confirmation_body: str | None = Field(None, max_length=5000)
    webhook_url: str | None = Field(None, max_length=2000, pattern=r"^https?://")
    webhook_secret: str | None = Field(None, min_length=16, max_length=200)


class Form(FormBase):
    id: uuid.UUID
    name: str
    webhook_secret_set: bool
    created_at: datetime
    updated_at: datetime


class PublicForm(BaseModel):
    """What the widget renders; `form_token` must come back with the submission."""

    id: uuid.UUID
    title: str
    description: str | None
    fields: list[FormField]
    form_token: str
    honeypot_field: str = "website"


class SubmissionCreate(BaseModel):
    data: dict[str, Any] = Field(description="Field name to value.")
    form_token: str = Field(max_length=200, description="From the form as fetched (timing check).")
    website: str | None = Field(None, max_length=500, description="Honeypot: must stay empty.")
    locale: str | None = Field(None, pattern=r"^(it|en)$")


class SubmissionAccepted(BaseModel):
    id: uuid.UUID | None
    status: str = "received"


class Submission(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    form_id: uuid.UUID
    conversation_external_id: str | None
    visitor_id: str | None
    data: dict[str, Any]
    status: str
    webhook_status: str | None
    webhook_attempts: int
    created_at: datetime


class SubmissionUpdate(BaseModel):
    status: str = Field(pattern=r"^(new|in_progress|done|spam)$")


class TriggerCheck(BaseModel):
    """What just happened in the widget, for `POST …/forms/trigger`."""

    message: str | None = Field(None, max_length=4000)
    message_count: int | None = Field(None, ge=0)
    dont_know: bool = False
    handoff_unavailable: bool = False


class TriggerResult(BaseModel):
    form: PublicForm | None


HandoffState.model_rebuild()
