"""Documentation is checked: generated references are current, every key and command is documented."""

from __future__ import annotations

from pathlib import Path

from dotenv import dotenv_values

from chatbot_platform import reference
from chatbot_platform.settings import IGNORED_KEYS, all_keys

ROOT = Path(__file__).resolve().parents[1]


def test_generated_references_are_up_to_date() -> None:
    stale = [
        str(path.relative_to(ROOT))
        for path, content in reference.outputs().items()
        if not path.is_file() or path.read_text() != content
    ]
    assert stale == [], f"run `make docs` and commit: {stale}"


def test_every_setting_is_in_env_example_and_the_configuration_reference() -> None:
    example = dotenv_values(ROOT / ".env.example")
    configuration = (ROOT / "docs" / "configuration.md").read_text()
    for key in all_keys():
        assert key in example, key
        assert f"`{key}`" in configuration, key
    for key in IGNORED_KEYS:
        assert f"`{key}`" in configuration, key


def test_every_setting_has_a_description() -> None:
    assert [key for key, (_, description) in all_keys().items() if len(description) < 8] == []


def test_every_cli_command_is_documented_with_help() -> None:
    cli_doc = (ROOT / "docs" / "cli.md").read_text()
    readme = (ROOT / "README.md").read_text()
    for path in reference.cli_command_paths():
        assert f"## `{path}`" in cli_doc, path
        assert path.split()[1] in readme, f"README should mention `{path}`"


def test_readme_starts_with_the_two_commands() -> None:
    readme = (ROOT / "README.md").read_text()
    first_section = readme.split("\n## ")[1] if "\n## " in readme else readme
    assert "make run" in first_section
    assert "make test" in first_section


def test_every_route_is_in_the_api_reference() -> None:
    from chatbot_platform.app import create_app
    from chatbot_platform.settings import load_settings

    api_doc = (ROOT / "docs" / "api.md").read_text()
    paths = create_app(load_settings(env_file=None)).openapi()["paths"]
    for path, operations in paths.items():
        for method in operations:
            assert f"{method.upper()} {path}" in api_doc, f"{method.upper()} {path} is not in docs/api.md"
