"""One typed settings tree over the seed's `.env` names."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dotenv import dotenv_values
from pydantic import BaseModel, ConfigDict, SecretStr, ValidationError

from chatbot_platform.settings.checks import production_problems
from chatbot_platform.settings.sections import (
    IGNORED_KEYS,
    AppSettings,
    BackupSettings,
    CacheSettings,
    DatabaseSettings,
    FeatureSettings,
    LoggingSettings,
    MailSettings,
    MilvusSettings,
    OpenAISettings,
    QueueSettings,
    RagSettings,
    RedisSettings,
    Section,
    SecuritySettings,
    SessionSettings,
    StorageSettings,
)

__all__ = ["IGNORED_KEYS", "SettingView", "Settings", "SettingsError", "load_settings"]


class SettingsError(ValueError):
    """Start-up refused because of a setting; the message names every offending key."""


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True)

    app: AppSettings
    database: DatabaseSettings
    redis: RedisSettings
    cache: CacheSettings
    queue: QueueSettings
    session: SessionSettings
    openai: OpenAISettings
    rag: RagSettings
    milvus: MilvusSettings
    storage: StorageSettings
    mail: MailSettings
    logging: LoggingSettings
    security: SecuritySettings
    features: FeatureSettings
    backup: BackupSettings
    ignored: dict[str, str] = {}

    def sections(self) -> Iterator[tuple[str, Section]]:
        for name in type(self).model_fields:
            value = getattr(self, name)
            if isinstance(value, Section):
                yield name, value

    def replace(self, **overrides: str) -> Settings:
        """A copy with some keys changed, given by their environment names."""
        return load_settings(env_file=None, overrides={**self.as_env(), **overrides})

    def as_env(self) -> dict[str, str]:
        """Every set key as the environment would spell it (secrets included: never log this)."""
        result: dict[str, str] = {}
        for view in self.describe(reveal=True):
            if view.value is not None:
                result[view.key] = view.value
        return result

    def describe(self, *, reveal: bool = False) -> list[SettingView]:
        """Effective settings, secrets masked unless `reveal`."""
        views: list[SettingView] = []
        for section_name, section in self.sections():
            for field_name, field in type(section).model_fields.items():
                raw = getattr(section, field_name)
                secret = isinstance(raw, SecretStr) or _is_secret_field(field.annotation)
                views.append(
                    SettingView(
                        key=str(field.validation_alias),
                        section=section_name,
                        value=_render(raw, reveal=reveal or not secret),
                        secret=secret,
                        description=field.description or "",
                    )
                )
        return views


@dataclass(frozen=True)
class SettingView:
    key: str
    section: str
    value: str | None
    secret: bool
    description: str


SECTION_CLASSES: dict[str, type[Section]] = {
    name: field.annotation
    for name, field in Settings.model_fields.items()
    if isinstance(field.annotation, type) and issubclass(field.annotation, Section)
}


def all_keys() -> dict[str, tuple[str, str]]:
    """Every supported key: key -> (section, description)."""
    keys: dict[str, tuple[str, str]] = {}
    for section_name, cls in SECTION_CLASSES.items():
        for field in cls.model_fields.values():
            keys[str(field.validation_alias)] = (section_name, field.description or "")
    return keys


def load_settings(
    env_file: Path | str | None = ".env", overrides: Mapping[str, str] | None = None
) -> Settings:
    """Read the environment (and `env_file`), validate, and refuse insecure production settings."""
    known = all_keys()
    overrides = dict(overrides or {})
    unknown = sorted(set(overrides) - set(known) - set(IGNORED_KEYS))
    if unknown:
        raise SettingsError(f"unknown setting(s): {', '.join(unknown)}")
    errors: list[str] = []
    sections: dict[str, Any] = {}
    for section_name, cls in SECTION_CLASSES.items():
        aliases = {str(f.validation_alias) for f in cls.model_fields.values()}
        mine: dict[str, Any] = {k: v for k, v in overrides.items() if k in aliases}
        try:
            sections[section_name] = cls(_env_file=env_file, **mine)
        except ValidationError as exc:
            errors.extend(_describe_errors(exc, cls))
    if errors:
        raise SettingsError("invalid settings:\n  " + "\n  ".join(errors))
    settings = Settings(**sections, ignored=_ignored_present(env_file, overrides))
    problems = production_problems(settings)
    if problems:
        raise SettingsError("refusing to start in production:\n  " + "\n  ".join(problems))
    return settings


def _describe_errors(exc: ValidationError, cls: type[Section]) -> list[str]:
    secret_keys = {
        str(f.validation_alias) for f in cls.model_fields.values() if _is_secret_field(f.annotation)
    }
    messages = []
    for error in exc.errors():
        key = str(error["loc"][0]) if error["loc"] else cls.__name__
        shown = "" if key in secret_keys else f" (got {error.get('input')!r})"
        messages.append(f"{key}: {error['msg']}{shown}")
    return messages


def _ignored_present(env_file: Path | str | None, overrides: Mapping[str, str]) -> dict[str, str]:
    present: set[str] = {k for k in overrides if k in IGNORED_KEYS}
    present |= {k for k in os.environ if k.upper() in IGNORED_KEYS}
    if env_file is not None and Path(env_file).is_file():
        present |= {k for k in dotenv_values(env_file) if k.upper() in IGNORED_KEYS}
    return {k.upper(): IGNORED_KEYS[k.upper()] for k in sorted(present)}


def _is_secret_field(annotation: Any) -> bool:
    return "SecretStr" in str(annotation)


def _render(value: Any, *, reveal: bool) -> str | None:
    if value is None:
        return None
    if isinstance(value, SecretStr):
        return value.get_secret_value() if reveal else "********"
    if not reveal:
        return "********"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
