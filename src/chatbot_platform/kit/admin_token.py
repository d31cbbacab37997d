"""The development admin token: generated once, kept in the data folder with mode 0600."""

from __future__ import annotations

import os
from pathlib import Path

from chatbot_platform.kit.security import new_token
from chatbot_platform.settings import Settings

TOKEN_FILE = "admin_token"  # noqa: S105 - a file name, not a secret


def token_path(settings: Settings) -> Path:
    return settings.app.storage_path / TOKEN_FILE


def resolve_admin_token(settings: Settings) -> tuple[str, bool]:
    """(token, generated_now). Production always has ADMIN_TOKEN: settings refuse to load otherwise."""
    if settings.app.admin_token is not None:
        return settings.app.admin_token.get_secret_value(), False
    path = token_path(settings)
    if path.is_file():
        return path.read_text().strip(), False
    path.parent.mkdir(parents=True, exist_ok=True)
    token = new_token(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process generated it first
        return path.read_text().strip(), False
    with os.fdopen(fd, "w") as handle:
        handle.write(token + "\n")
    return token, True
