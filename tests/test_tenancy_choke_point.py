"""Rule 2 of the house style: every query on a tenant-owned table goes through TenantRepository."""

from __future__ import annotations

import ast
from pathlib import Path

from chatbot_platform import models
from chatbot_platform.models.base import TenantOwned

SRC = Path(__file__).resolve().parents[1] / "src" / "chatbot_platform"
CHOKE_POINT = SRC / "kit" / "repository.py"
QUERY_BUILDERS = {"select", "update", "delete", "insert"}
SESSION_SHORTCUTS = {"get", "get_one", "merge", "refresh"}
TENANT_MODELS = {
    name
    for name in dir(models)
    if isinstance(getattr(models, name), type)
    and issubclass(getattr(models, name), TenantOwned)
    and getattr(models, name) is not TenantOwned
}
TENANT_TABLES = {getattr(models, name).__tablename__ for name in TENANT_MODELS}


def _names(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)} | {
        n.attr for n in ast.walk(node) if isinstance(n, ast.Attribute)
    }


def violations_in(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
        args_mention = set().union(*(_names(a) for a in node.args)) if node.args else set()
        if name in QUERY_BUILDERS and args_mention & TENANT_MODELS:
            found.append(f"{path.name}:{node.lineno} {name}() on {sorted(args_mention & TENANT_MODELS)}")
        if name in SESSION_SHORTCUTS and isinstance(func, ast.Attribute) and args_mention & TENANT_MODELS:
            found.append(f"{path.name}:{node.lineno} session.{name}() on a tenant model")
        if name == "text" and node.args and isinstance(node.args[0], ast.Constant):
            sql = str(node.args[0].value).lower()
            if any(f" {table}" in sql for table in TENANT_TABLES) and "tenant_id" not in sql:
                found.append(f"{path.name}:{node.lineno} raw SQL on a tenant table without tenant_id")
    return found


def test_tenant_models_are_known() -> None:
    assert {"ApiKey", "Membership", "KnowledgeBase", "Document", "Chunk"} <= TENANT_MODELS


def test_no_query_on_a_tenant_table_bypasses_the_tenant_scoped_base() -> None:
    problems = []
    for path in SRC.rglob("*.py"):
        if path != CHOKE_POINT:
            problems += violations_in(path)
    assert problems == []


def test_the_check_catches_a_bypass(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text(
        "from sqlalchemy import select, text\n"
        "q = select(Document).where(Document.id == 1)\n"
        "r = session.get(ApiKey, 1)\n"
        "s = text('SELECT * FROM chunks WHERE id = 1')\n"
    )
    assert len(violations_in(bad)) == 3
