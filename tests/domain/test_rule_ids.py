"""Every domain rule id is proved by a test whose docstring starts with it, and documented."""

from __future__ import annotations

import ast
import re
from pathlib import Path

HERE = Path(__file__).parent
ROOT = HERE.parent.parent

DOMAIN_RULES = [
    *(f"M{i}" for i in range(1, 6)),
    *(f"E{i}" for i in range(1, 6)),
    *(f"B{i}" for i in range(1, 6)),
    *(f"A{i}" for i in range(1, 6)),
    *(f"N{i}" for i in range(1, 5)),
    *(f"S{i}" for i in range(1, 5)),
]
SERVICE_RULES = [
    *(f"F{i}" for i in range(1, 6)),
    *(f"L{i}" for i in range(1, 7)),
    *(f"P{i}" for i in range(1, 4)),
]
_PREFIX = re.compile(r"^((?:[A-Z]\d(?:–[A-Z]\d)?)(?:, [A-Z]\d(?:–[A-Z]\d)?)*):")


def expand(prefix: str) -> set[str]:
    """'E1–E3, M5' → {'E1', 'E2', 'E3', 'M5'}."""
    ids: set[str] = set()
    for part in prefix.split(", "):
        if "–" in part:
            first, last = part.split("–")
            assert first[0] == last[0], part
            ids.update(f"{first[0]}{n}" for n in range(int(first[1:]), int(last[1:]) + 1))
        else:
            ids.add(part)
    return ids


def test_docstring_prefixes_expand() -> None:
    """Rule-id prefixes such as 'E1–E3, M5:' are read as the ids they name."""
    assert expand("E1–E3, M5") == {"E1", "E2", "E3", "M5"}
    match = _PREFIX.match("B3: a fee in EUR …")
    assert match is not None
    assert expand(match.group(1)) == {"B3"}
    assert _PREFIX.match("a docstring without id") is None


def test_every_domain_rule_starts_a_test_docstring() -> None:
    """Each domain rule id starts the docstring of some test, and every domain test names one."""
    proved: dict[str, list[str]] = {}
    unlabelled: list[str] = []
    for path in sorted(HERE.glob("test_*.py")):
        if path.name == Path(__file__).name:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test_"):
                doc = ast.get_docstring(node) or ""
                match = _PREFIX.match(doc)
                if match is None:
                    unlabelled.append(f"{path.name}::{node.name}")
                    continue
                for rule in expand(match.group(1)):
                    proved.setdefault(rule, []).append(f"{path.name}::{node.name}")
    missing = [rule for rule in DOMAIN_RULES if rule not in proved]
    assert missing == [], f"rules without a test: {missing}"
    assert unlabelled == [], f"tests whose docstring does not start with a rule id: {unlabelled}"


def test_rules_doc_lists_every_rule() -> None:
    """docs/rules.md has a row for every rule id, the service and adapter ones (F, L, P) too."""
    text = (ROOT / "docs" / "rules.md").read_text(encoding="utf-8")
    rows = {m.group(1) for m in re.finditer(r"^\| \*\*([A-Z]\d)\*\* \|", text, re.M)}
    assert set(DOMAIN_RULES + SERVICE_RULES) <= rows


def test_errors_doc_lists_every_error_code() -> None:
    """docs/errors.md has a row for every error class of kanorio_refunds.errors, with its code."""
    from kanorio_refunds import errors

    text = (ROOT / "docs" / "errors.md").read_text(encoding="utf-8")
    classes = [
        cls
        for cls in vars(errors).values()
        if isinstance(cls, type) and issubclass(cls, errors.RefundError)
    ]
    assert len(classes) > 10
    missing = [
        cls.__name__ for cls in classes if f"| `{cls.__name__}` | `{cls.code}` |" not in text
    ]
    assert missing == [], f"error classes not documented in docs/errors.md: {missing}"
    # A subclass may keep its parent's code (InvalidQuoteToken is an invalid_quote with a
    # ``problem``); two unrelated classes never share one.
    codes = [cls.code for cls in classes if cls.code != cls.__mro__[1].__dict__.get("code")]
    assert len(codes) == len(set(codes)), "two error classes share a code"


def test_errors_doc_lists_every_notice_code() -> None:
    """F1: docs/errors.md lists the stable code of every quote notice."""
    from kanorio_refunds.domain import Notice

    text = (ROOT / "docs" / "errors.md").read_text(encoding="utf-8")
    missing = [n.code for n in Notice if f"| `{n.code}` |" not in text]
    assert missing == [], f"notice codes not documented in docs/errors.md: {missing}"
