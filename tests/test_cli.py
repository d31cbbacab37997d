"""`cbp` run as a user runs it: a subprocess against a real database."""

from __future__ import annotations

import json

from chatbot_platform.kit import migrations
from tests.fixtures.cli import cbp

HEAD = migrations.head_revision()


def test_provisioning_from_the_command_line(env: dict[str, str]) -> None:
    created = json.loads(cbp("tenant", "create", "Pizzeria Napoli", "--language", "en", env=env).stdout)
    assert created["slug"] == "pizzeria-napoli"
    assert "pizzeria-napoli" in cbp("tenant", "list", env=env).stdout
    issued = json.loads(
        cbp("apikey", "issue", "pizzeria-napoli", "--name", "site", "--scope", "chat", env=env).stdout
    )
    assert issued["key"].startswith("cbp_")
    assert issued["scopes"] == ["chat"]
    user = cbp(
        "user",
        "create",
        created["id"],
        "--email",
        "Chef@Napoli.it",
        "--name",
        "Chef",
        "--role",
        "owner",
        env={**env, "CBP_USER_PASSWORD": "a long enough passphrase"},
    )
    assert json.loads(user.stdout)["email"] == "chef@napoli.it"
    cbp("apikey", "revoke", "pizzeria-napoli", issued["id"], env=env)


def test_bad_input_gets_a_clear_error_and_exit_code(env: dict[str, str]) -> None:
    bad_role = cbp(
        "user", "create", "nobody", "--email", "a@b.it", "--name", "A", "--role", "boss", env=env, check=False
    )
    assert bad_role.returncode == 2
    assert "role" in bad_role.stderr
    missing = cbp("apikey", "issue", "no-such-tenant", env=env, check=False)
    assert missing.returncode == 1
    assert "Tenant not found" in missing.stderr
    bad_id = cbp("apikey", "revoke", "x", "not-a-uuid", env=env, check=False)
    assert (bad_id.returncode, "KEY_ID must be a UUID" in bad_id.stderr) == (2, True)
    cbp("tenant", "create", "Dup", "--slug", "dup", env=env)
    duplicate = cbp("tenant", "create", "Dup", "--slug", "dup", env=env, check=False)
    assert duplicate.returncode == 1
    assert "already taken" in duplicate.stderr


def test_invalid_settings_stop_every_command_naming_the_key(env: dict[str, str]) -> None:
    result = cbp("config", env={**env, "RAG_CHUNK_MAX_CHARS": "lots"}, check=False)
    assert result.returncode == 2
    assert "RAG_CHUNK_MAX_CHARS" in result.stderr


def test_config_masks_secrets_and_lists_ignored_keys(env: dict[str, str]) -> None:
    result = cbp("config", "--json", env={**env, "OPENAI_API_KEY": "sk-very-secret", "OCTANE_WORKERS": "8"})
    payload = json.loads(result.stdout)
    assert payload["settings"]["OPENAI_API_KEY"] == "********"
    assert payload["settings"]["DATABASE_URL"] == "********"
    assert payload["settings"]["RAG_CHUNK_MAX_CHARS"] == "2200"
    assert "OCTANE_WORKERS" in payload["ignored"]
    assert "sk-very-secret" not in result.stdout
    table = cbp("config", env=env).stdout
    assert "RAG_CHUNK_MAX_CHARS" in table


def test_about_routes_and_key_generation(env: dict[str, str]) -> None:
    assert "ChatbotPlatform" in cbp("about", env=env).stdout
    assert "/api/v1/tenants/{tenant_id}/api-keys" in cbp("routes", env=env).stdout
    app_key = cbp("key", "generate", env=env).stdout.strip()
    token = cbp("key", "generate", "--token", env=env).stdout.strip()
    assert app_key.startswith("APP_KEY=base64:")
    assert token.startswith("ADMIN_TOKEN=")
    assert len(token) > 60
    production = {
        **env,
        "APP_ENV": "production",
        "APP_KEY": app_key.split("=", 1)[1],
        "ADMIN_TOKEN": token.split("=", 1)[1],
    }
    assert cbp("config", env=production).returncode == 0


def test_migrate_is_idempotent_and_reversible(env: dict[str, str]) -> None:
    assert f"revision {HEAD}" in cbp("migrate", env=env).stdout
    assert "revision base" in cbp("migrate", "--downgrade", "--revision", "base", env=env).stdout
    assert f"revision {HEAD}" in cbp("migrate", env=env).stdout
