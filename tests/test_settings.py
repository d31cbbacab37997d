"""The settings tree: the seed's keys, validation, production refusals, masking."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from dotenv import dotenv_values

from chatbot_platform.kit.admin_token import resolve_admin_token
from chatbot_platform.settings import IGNORED_KEYS, SettingsError, all_keys, load_settings

SEED_ENV = Path(__file__).parent / "fixtures" / "seed.env"
STRONG_APP_KEY = "base64:BwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyAhIiMkJSY="
STRONG_TOKEN = "N8f2Qw7Lr4Tz9Kb1Xc6Vh3Jm5Pd0Sa8Ge2Yu7Io4Ln1Rk6"


def seed_with_real_secrets(tmp_path: Path) -> Path:
    text = SEED_ENV.read_text()
    text = text.replace("APP_KEY=base64:GENERA_CHIAVE_SICURA_32_CARATTERI", f"APP_KEY={STRONG_APP_KEY}")
    text = text.replace("ADMIN_TOKEN=GENERA_TOKEN_SICURO_64_CARATTERI", f"ADMIN_TOKEN={STRONG_TOKEN}")
    path = tmp_path / ".env"
    path.write_text(text)
    return path


def test_every_key_of_the_seed_is_read_or_explicitly_ignored() -> None:
    seed_keys = set(dotenv_values(SEED_ENV))
    known = set(all_keys()) | set(IGNORED_KEYS)
    assert seed_keys - known == set()
    assert len(seed_keys) >= 150


def test_the_seed_production_file_loads_once_its_placeholders_are_replaced(tmp_path: Path) -> None:
    settings = load_settings(env_file=seed_with_real_secrets(tmp_path))
    assert settings.app.is_production
    assert settings.rag.vector_driver == "milvus"
    assert settings.rag.feat_multiquery is False, "the seed's inline comment must not break parsing"
    assert settings.backup.schedule == "0 2 * * *"
    assert settings.session.same_site == "strict"
    assert settings.database.host == "your-postgres-host.example.com"
    assert "OCTANE_SERVER" not in settings.ignored, "commented-out keys are not present"
    assert settings.ignored["VIEW_CACHE_DRIVER"] == IGNORED_KEYS["VIEW_CACHE_DRIVER"]


def test_the_seed_placeholders_are_refused_in_production() -> None:
    with pytest.raises(SettingsError) as refused:
        load_settings(env_file=SEED_ENV)
    assert "APP_KEY is a placeholder" in str(refused.value)
    assert "ADMIN_TOKEN is a placeholder" in str(refused.value)


@pytest.mark.parametrize(
    ("key", "token", "reason"),
    [
        (None, STRONG_TOKEN, "APP_KEY is missing"),
        ("base64:c2hvcnQ=", STRONG_TOKEN, "APP_KEY decodes to 5 bytes"),
        ("base64:not base64!", STRONG_TOKEN, "APP_KEY is not valid base64"),
        (STRONG_APP_KEY, None, "ADMIN_TOKEN is missing"),
        (STRONG_APP_KEY, "short", "ADMIN_TOKEN is 5 characters long"),
        (STRONG_APP_KEY, "a" * 64, "ADMIN_TOKEN has too little entropy"),
        (STRONG_APP_KEY, "CHANGE_ME_" + STRONG_TOKEN, "ADMIN_TOKEN is a placeholder"),
    ],
)
def test_weak_production_secrets_stop_start_up(key: str | None, token: str | None, reason: str) -> None:
    overrides = {"APP_ENV": "production"}
    if key is not None:
        overrides["APP_KEY"] = key
    if token is not None:
        overrides["ADMIN_TOKEN"] = token
    with pytest.raises(SettingsError, match=reason):
        load_settings(env_file=None, overrides=overrides)


def test_strong_production_secrets_are_accepted() -> None:
    settings = load_settings(
        env_file=None,
        overrides={"APP_ENV": "production", "APP_KEY": STRONG_APP_KEY, "ADMIN_TOKEN": STRONG_TOKEN},
    )
    assert settings.app.is_production


def test_invalid_values_name_every_offending_key() -> None:
    with pytest.raises(SettingsError) as refused:
        load_settings(
            env_file=None,
            overrides={
                "RAG_CHUNK_MAX_CHARS": "lots",
                "PORT": "99999",
                "APP_TIMEZONE": "Mars/Olympus",
                "DB_PASSWORD": "x",
            },
        )
    message = str(refused.value)
    for key in ("RAG_CHUNK_MAX_CHARS", "PORT", "APP_TIMEZONE"):
        assert key in message


def test_invalid_secret_values_are_not_echoed() -> None:
    with pytest.raises(SettingsError) as refused:
        load_settings(env_file=None, overrides={"SESSION_SAME_SITE": "sometimes", "DB_PORT": "x"})
    assert "sometimes" in str(refused.value), "non-secret values are shown to help"


def test_environment_variables_override_the_env_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("RAG_CHUNK_MAX_CHARS=1000\nAPP_LOCALE=en\n")
    monkeypatch.setenv("RAG_CHUNK_MAX_CHARS", "3000")
    settings = load_settings(env_file=env_file)
    assert (settings.rag.chunk_max_chars, settings.app.locale) == (3000, "en")


def test_a_setting_is_read_only_from_its_documented_name(monkeypatch: pytest.MonkeyPatch) -> None:
    """HOST, PORT and PATH are the web server's (or the shell's), not the mail, Redis or cookie ones."""
    monkeypatch.setenv("HOST", "10.9.8.7")
    monkeypatch.setenv("PORT", "2525")
    settings = load_settings(env_file=None)
    assert (settings.app.host, settings.app.port) == ("10.9.8.7", 2525)
    assert (settings.mail.host, settings.mail.port) == ("127.0.0.1", 587)
    assert settings.redis.host is None
    assert settings.session.path == "/"


def test_defaults_are_the_seed_production_values() -> None:
    settings = load_settings(env_file=None)
    rag = settings.rag
    assert (rag.chunk_max_chars, rag.chunk_overlap_chars, rag.vector_top_k, rag.bm25_top_k) == (
        2200,
        250,
        50,
        100,
    )
    assert (rag.rrf_k, rag.mmr_lambda, rag.mmr_take, rag.neighbor_radius) == (60, 0.3, 30, 3)
    assert (rag.cache_ttl, rag.ctx_max_chars, rag.min_confidence) == (300, 8000, 0.08)
    assert settings.security.throttle_chat_requests == 10
    assert settings.features.widget_rate_limit == 60
    assert settings.features.scraper_max_concurrent == 3
    assert settings.queue.ingestion_timeout == 1800
    assert settings.database.is_embedded


def test_describe_masks_every_secret() -> None:
    settings = load_settings(
        env_file=None,
        overrides={
            "ADMIN_TOKEN": STRONG_TOKEN,
            "DB_PASSWORD": "hunter2hunter2",
            "OPENAI_API_KEY": "sk-live-123",
        },
    )
    shown = {v.key: v.value for v in settings.describe()}
    assert shown["ADMIN_TOKEN"] == shown["DB_PASSWORD"] == shown["OPENAI_API_KEY"] == "********"
    assert shown["RAG_CHUNK_MAX_CHARS"] == "2200"
    assert shown["APP_KEY"] is None
    assert all(STRONG_TOKEN not in str(v) for v in shown.values())


def test_unknown_override_keys_are_refused() -> None:
    with pytest.raises(SettingsError, match="NOT_A_SETTING"):
        load_settings(env_file=None, overrides={"NOT_A_SETTING": "1"})


def test_development_admin_token_is_generated_once_with_mode_0600(tmp_path: Path) -> None:
    settings = load_settings(env_file=None, overrides={"STORAGE_PATH": str(tmp_path / "data")})
    token, generated = resolve_admin_token(settings)
    again, generated_again = resolve_admin_token(settings)
    assert generated
    assert not generated_again
    assert token == again
    assert len(token) >= 32
    mode = stat.S_IMODE(os.stat(tmp_path / "data" / "admin_token").st_mode)
    assert mode == 0o600


def test_a_configured_admin_token_wins_over_the_generated_file(tmp_path: Path) -> None:
    settings = load_settings(
        env_file=None, overrides={"STORAGE_PATH": str(tmp_path), "ADMIN_TOKEN": STRONG_TOKEN}
    )
    assert resolve_admin_token(settings) == (STRONG_TOKEN, False)
    assert not (tmp_path / "admin_token").exists()
