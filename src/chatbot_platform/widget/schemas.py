from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

Color = Annotated[str, StringConstraints(pattern=r"^#[0-9a-fA-F]{6}$"), Field(examples=["#0b5cad"])]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=80)]
Message = Annotated[str, StringConstraints(max_length=500)]
Locale = Literal["it", "en"]
MAX_CUSTOM_CSS = 20000
_IMPORT = re.compile(r"@import", re.I)


class Theme(BaseModel):
    """How the widget looks; every field has a default, so `{}` is a complete theme."""

    model_config = ConfigDict(extra="forbid")

    title: Annotated[str, StringConstraints(max_length=80)] | None = Field(
        None, description="Header title (default: the tenant's name)."
    )
    primary_color: Color = "#0b5cad"
    text_on_primary: Color = "#ffffff"
    background_color: Color = "#ffffff"
    text_color: Color = "#1b1b1b"
    position: Literal["bottom-right", "bottom-left"] = "bottom-right"
    size: Literal["small", "medium", "large"] = "medium"
    logo_url: Annotated[str, StringConstraints(pattern=r"^https?://\S+$", max_length=1000)] | None = None
    welcome_message: dict[Locale, Message] = Field(
        default_factory=dict, description='Per language, e.g. {"it": "Ciao!", "en": "Hello!"}.'
    )
    quick_replies: list[ShortText] = Field(default_factory=list, max_length=6)
    dark_mode: Literal["light", "dark", "auto"] = "light"
    high_contrast: bool = False
    custom_css: Annotated[str, StringConstraints(max_length=MAX_CUSTOM_CSS)] = Field(
        "", description="Extra CSS applied inside the widget's shadow root (@import is not allowed)."
    )
    locale: Literal["auto", "it", "en"] = Field(
        "auto", description="auto: the host page's language, else the tenant's."
    )

    @field_validator("custom_css")
    @classmethod
    def _no_import(cls, value: str) -> str:
        if _IMPORT.search(value):
            raise ValueError("@import is not allowed in custom_css")
        return value


class WidgetConfig(BaseModel):
    enabled: bool
    allowed_origins: list[str] = Field(description="Sites that may use the widget (exact or *.domain).")
    assistant: str = Field(description="The assistant profile or kb:<name> that answers (default).")
    conversation_lifetime_hours: int = Field(description="How long a visitor's conversation is resumed.")
    theme: Theme
    updated_at: datetime | None


class WidgetConfigUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: bool | None = None
    allowed_origins: list[Annotated[str, StringConstraints(max_length=300)]] | None = Field(
        None, max_length=100
    )
    assistant: (
        Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)] | None
    ) = None
    conversation_lifetime_hours: int | None = Field(None, ge=0, le=24 * 90)
    theme: Theme | None = Field(None, description="Replaces the whole theme.")


class WidgetKeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)] = "website"


class WidgetKey(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class WidgetKeyCreated(WidgetKey):
    key: str = Field(description="The publishable key (pk_…): shown only in this response.")


# -- the public API -------------------------------------------------------------------------------


class PublicConfig(BaseModel):
    tenant: str
    name: str
    default_locale: str
    conversation_lifetime_hours: int
    theme: Theme


class SessionStart(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: Annotated[str, StringConstraints(max_length=200)]
    visitor_id: Annotated[str, StringConstraints(max_length=64)] | None = None
    conversation_id: Annotated[str, StringConstraints(max_length=200)] | None = Field(
        None, description="Resume this conversation (when it is the visitor's and still within its lifetime)."
    )


class SessionStarted(BaseModel):
    token: str = Field(description="Send as `Authorization: Bearer …` to the other widget endpoints.")
    expires_at: int = Field(description="Unix seconds.")
    visitor_id: str
    conversation_id: str
    resumed: bool


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="forbid")

    message: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]


class FeedbackCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    message_id: uuid.UUID
    rating: Literal[1, -1]
    comment: Annotated[str, StringConstraints(max_length=1000)] | None = None


class Feedback(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    message_id: uuid.UUID
    rating: int
    comment: str | None
    created_at: datetime


class Event(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: Literal["open", "close", "quick_reply", "citation_click", "new_conversation", "error"]
    data: dict[
        Annotated[str, StringConstraints(max_length=40)],
        Annotated[str, StringConstraints(max_length=300)] | int | float | bool | None,
    ] = Field(default_factory=dict, max_length=10)


class EventBatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    events: list[Event] = Field(min_length=1, max_length=20)


class PublicCitation(BaseModel):
    """What a page may show of a source: its number, title, link (http(s) only) and snippet."""

    id: int
    title: str
    url: str | None
    snippet: str

    @classmethod
    def of(cls, citation: dict[str, Any]) -> PublicCitation:
        url = citation.get("url")
        safe = url if isinstance(url, str) and url.startswith(("https://", "http://")) else None
        return cls(
            id=int(citation.get("id", 0)),
            title=str(citation.get("title", "")),
            url=safe,
            snippet=str(citation.get("snippet", "")),
        )


class HistoryMessage(BaseModel):
    id: uuid.UUID
    role: str
    content: str
    citations: list[PublicCitation]
    feedback: int | None
    created_at: datetime


class History(BaseModel):
    conversation_id: str
    messages: list[HistoryMessage]
