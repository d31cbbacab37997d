"""`cbp tenant embedding-model` as an operator runs it: a subprocess against a real database."""

from __future__ import annotations

import json

from tests.fixtures.cli import cbp
from tests.fixtures.fake_openai import FakeOpenAI

OPENAI, E5 = "text-embedding-3-small", "multilingual-e5-small"


def test_the_embedding_model_is_switched_from_the_command_line(
    env: dict[str, str], fake_openai: FakeOpenAI
) -> None:
    env = {**env, "OPENAI_API_BASE_URL": fake_openai.base_url, "OPENAI_EMBEDDING_MODEL": OPENAI}
    cbp("tenant", "create", "Forno Rossi", "--slug", "forno", env=env)

    refused = cbp("tenant", "embedding-model", "forno", "text-embedding-3-large", env=env, check=False)
    switched = json.loads(cbp("tenant", "embedding-model", "forno", E5, "--wait", env=env).stdout)
    again = json.loads(cbp("tenant", "embedding-model", "forno", E5, env=env).stdout)

    assert refused.returncode == 1
    assert f"offers: {E5}, {OPENAI}" in refused.stderr
    assert (switched["slug"], switched["embedding_model"]) == ("forno", E5)
    assert (switched["embedding_switch"]["status"], switched["embedding_switch"]["progress"]) == (
        "completed",
        100,
    )
    assert again == switched, "the active model again changes nothing"
