"""The reference backend uses only the library's public API: what a host may import."""

from __future__ import annotations

import ast

from tests.backend.conftest import BACKEND

#: The library's public modules the example may use (docs/integration.md §6).
PUBLIC = frozenset(
    {
        "kanorio_refunds",
        "kanorio_refunds.domain",
        "kanorio_refunds.errors",
        "kanorio_refunds.display",
        "kanorio_refunds.adapters.sql",
        "kanorio_refunds.adapters.stripe",
        "kanorio_refunds.signed_quotes",
        "kanorio_refunds.testing.stripe_server",
        "kanorio_refunds.testing.fake_stripe",
    }
)


def _library_imports() -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for path in sorted(BACKEND.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names: list[str] = []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            for name in names:
                if name.split(".")[0] == "kanorio_refunds":
                    found.setdefault(name, set()).add(path.name)
    return found


def test_only_public_modules_are_imported() -> None:
    imported = _library_imports()
    assert "kanorio_refunds" in imported  # the check reads the files it should
    assert sorted(set(imported) - PUBLIC) == []


def test_no_private_name_is_imported() -> None:
    """Nothing named with a leading underscore, from any module of the library."""
    private = []
    for path in sorted(BACKEND.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("kanorio_"):
                private += [f"{path.name}: {a.name}" for a in node.names if a.name.startswith("_")]
    assert private == []
