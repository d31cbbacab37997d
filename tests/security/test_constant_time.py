"""Secrets are compared in constant time: an AST scan of src/ finds no `==`/`!=` on a token, secret,
signature, password, key hash or CSRF value outside the reviewed exceptions below, and the shared
helper is `hmac.compare_digest`."""

from __future__ import annotations

import ast
import inspect
import re
from pathlib import Path

from chatbot_platform.kit import security

SOURCE = Path(__file__).resolve().parents[2] / "src" / "chatbot_platform"
SECRET_NAME = re.compile(r"token|secret|signature|password|key_hash|token_hash|csrf|api_key|bypass", re.I)

# (file relative to the package, comparison as ast.unparse writes it): why it is not a secret check.
REVIEWED = {
    ("admin/rendering.py", "request.cookies.get(CSRF_COOKIE) != csrf"): (
        "decides whether to (re)send the CSRF cookie; the token is the one this very page carries"
    ),
    ("admin/pages/account.py", "password != again"): "the new password and its confirmation, both the user's",
}


def names_in(node: ast.expr) -> list[str]:
    """The identifiers a value is named by: a variable, an attribute, or a call's arguments."""
    if isinstance(node, ast.Name):
        return [node.id]
    if isinstance(node, ast.Attribute):
        return [node.attr]
    if isinstance(node, ast.Call):
        return [name for arg in [*node.args, *(k.value for k in node.keywords)] for name in names_in(arg)]
    return []


def is_sql_column(node: ast.expr) -> bool:
    """`Model.column`: a WHERE clause the database evaluates (a lookup by a hash of the secret)."""
    return (
        isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id[:1].isupper()
    )


def is_literal(node: ast.expr) -> bool:
    """A constant or an enum member: comparing with it checks a kind, not a secret."""
    if isinstance(node, ast.Constant):
        return True
    return isinstance(node, ast.Attribute) and node.attr.isupper()


def secret_comparisons() -> list[tuple[str, str]]:
    found = []
    for path in sorted(SOURCE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Compare):
                continue
            if not any(isinstance(op, ast.Eq | ast.NotEq) for op in node.ops):
                continue
            sides = [node.left, *node.comparators]
            if any(is_literal(side) or is_sql_column(side) for side in sides):
                continue
            if any(SECRET_NAME.search(name) for side in sides for name in names_in(side)):
                found.append((str(path.relative_to(SOURCE)), ast.unparse(node)))
    return found


def test_secrets_are_never_compared_with_equality_operators() -> None:
    found = secret_comparisons()
    unexpected = [f"{file}: {code}" for file, code in found if (file, code) not in REVIEWED]
    assert not unexpected, "compare secrets with kit.security.constant_time_equals:\n" + "\n".join(unexpected)
    assert set(found) == set(REVIEWED), "a reviewed exception is gone: drop it from REVIEWED"


def test_the_scan_would_catch_a_plain_comparison() -> None:
    tree = ast.parse("def check(presented, key):\n    return presented == key.token_hash\n")
    compare = next(node for node in ast.walk(tree) if isinstance(node, ast.Compare))
    assert any(
        SECRET_NAME.search(name) for side in [compare.left, *compare.comparators] for name in names_in(side)
    )


def test_secret_checks_use_the_constant_time_helpers() -> None:
    assert "hmac.compare_digest" in inspect.getsource(security.constant_time_equals)
    assert security.constant_time_equals("ab", "ab")
    assert not security.constant_time_equals("ab", "ac")
    assert not security.constant_time_equals("ab", "abc")
    callers = [
        path
        for path in SOURCE.rglob("*.py")
        if re.search(r"constant_time_equals\(|hmac\.compare_digest\(", path.read_text(encoding="utf-8"))
    ]
    names = {str(path.relative_to(SOURCE)) for path in callers}
    # The key, widget, admin-token, CSRF, maintenance, metrics and signed-token checks.
    assert {"tenants/service.py", "tenants/auth.py", "admin/auth.py", "widget/tokens.py"} <= names
    assert {"widget/service.py", "ops/maintenance.py", "ops/endpoints.py", "desk/webhooks.py"} <= names
