"""Refusal of insecure settings in production."""

from __future__ import annotations

import base64
import binascii
from typing import TYPE_CHECKING

from pydantic import SecretStr

if TYPE_CHECKING:
    from chatbot_platform.settings import Settings

MIN_SECRET_BYTES = 32
MIN_DISTINCT_CHARS = 12
PLACEHOLDER_MARKERS = ("GENERA", "CHANGE", "YOUR_", "SECRET", "EXAMPLE", "PASSWORD", "TOKEN", "XXXX")


def secret_weakness(value: SecretStr | None, *, allow_base64: bool = False) -> str | None:
    """Why a secret is unfit for production, or None when it is fine."""
    if value is None or not value.get_secret_value().strip():
        return "is missing"
    raw = value.get_secret_value().strip()
    if any(marker in raw.upper() for marker in PLACEHOLDER_MARKERS):
        return "is a placeholder from the example configuration"
    material = raw
    if allow_base64 and raw.startswith("base64:"):
        try:
            decoded = base64.b64decode(raw.removeprefix("base64:"), validate=True)
        except (binascii.Error, ValueError):
            return "is not valid base64 after the base64: prefix"
        if len(decoded) < MIN_SECRET_BYTES:
            return f"decodes to {len(decoded)} bytes; at least {MIN_SECRET_BYTES} are required"
        return None if len(set(decoded)) >= MIN_DISTINCT_CHARS else "has too little entropy"
    if len(material) < MIN_SECRET_BYTES:
        return f"is {len(material)} characters long; at least {MIN_SECRET_BYTES} are required"
    if len(set(material)) < MIN_DISTINCT_CHARS:
        return "has too little entropy (too few distinct characters)"
    return None


def production_problems(settings: Settings) -> list[str]:
    if not settings.app.is_production:
        return []
    problems = []
    key_problem = secret_weakness(settings.app.key, allow_base64=True)
    if key_problem:
        problems.append(f"APP_KEY {key_problem} (generate one: cbp key generate)")
    token_problem = secret_weakness(settings.app.admin_token)
    if token_problem:
        problems.append(f"ADMIN_TOKEN {token_problem} (generate one: cbp key generate --token)")
    return problems
