"""Regenerate ``subset.json`` and ``fixtures.json`` from Stripe's OpenAPI spec.

Run by hand (never by the test suite), from the repository root::

    python scripts/extract_stripe_openapi.py [SPEC_DIR]

``SPEC_DIR`` defaults to ``../shared/stripe-openapi`` relative to the repository root and must
hold ``spec3.json`` and ``fixtures3.json`` from github.com/stripe/openapi (API 2023-08-16).
This script is the only thing in the project that reads ``../shared``; the tests read the two
files it writes next to itself. Output is deterministic (sorted keys), so a re-run on the same
spec produces no diff.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
HERE = REPO_ROOT / "src" / "kanorio_refunds" / "testing" / "stripe_openapi"
DEFAULT_SPEC_DIR = REPO_ROOT.parent / "shared" / "stripe-openapi"

#: Component schemas copied in full (minus descriptions).
TOP_SCHEMAS = (
    "refund",
    "charge",
    "payment_intent",
    "balance_transaction",
    "fee",
    "dispute",
    "event",
    "error",
    "api_errors",
)

#: (HTTP method, path) of the operations the Stripe adapter may call.
OPERATIONS = (
    ("get", "/v1/payment_intents/{intent}"),
    ("get", "/v1/charges/{charge}"),
    ("post", "/v1/refunds"),
    ("get", "/v1/refunds"),
    ("get", "/v1/refunds/{refund}"),
    ("get", "/v1/balance_transactions/{id}"),
    ("get", "/v1/disputes"),
)

#: Example objects copied from fixtures3.json (it has no "list"; one is synthesised below).
FIXTURES = ("refund", "charge", "payment_intent", "balance_transaction", "dispute", "event")

#: Schema keywords kept; everything else (descriptions, x-expansionResources, ...) is dropped.
KEPT_KEYWORDS = frozenset(
    {
        "$ref",
        "additionalProperties",
        "anyOf",
        "allOf",
        "enum",
        "format",
        "items",
        "maxLength",
        "nullable",
        "oneOf",
        "pattern",
        "properties",
        "required",
        "title",
        "type",
        "x-expandableFields",
        "x-resourceId",
        "x-stripeBypassValidation",
    }
)


def _strip(node: Any, *, in_properties: bool = False) -> Any:
    """Drop descriptions and other noise; keep property names whatever they are called."""
    if isinstance(node, list):
        return [_strip(item) for item in node]
    if not isinstance(node, dict):
        return node
    if in_properties:
        return {name: _strip(schema) for name, schema in node.items()}
    return {
        key: _strip(value, in_properties=(key == "properties"))
        for key, value in node.items()
        if key in KEPT_KEYWORDS
    }


def _refs(node: Any, found: set[str]) -> set[str]:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            found.add(ref.rsplit("/", 1)[-1])
        for value in node.values():
            _refs(value, found)
    elif isinstance(node, list):
        for item in node:
            _refs(item, found)
    return found


def _schemas(spec: dict[str, Any]) -> dict[str, Any]:
    components: dict[str, Any] = spec["components"]["schemas"]
    out: dict[str, Any] = {name: _strip(components[name]) for name in TOP_SCHEMAS}
    level_one: set[str] = set()
    for name in TOP_SCHEMAS:
        _refs(components[name], level_one)
    for name in sorted(level_one - set(TOP_SCHEMAS)):
        schema = components[name]
        if "x-resourceId" in schema:
            # Another API resource (customer, invoice, ...) reachable only through expansion:
            # a stub says "an object of this kind" without dragging in its whole tree.
            out[name] = {
                "type": "object",
                "title": schema.get("title", name),
                "x-resourceId": schema["x-resourceId"],
                "x-stub": True,
            }
        else:
            # An inline sub-object (outcome, next_action, fee ...): kept one level deep; the
            # $refs inside it are left dangling and the validator treats them as "any object".
            out[name] = _strip(schema)
    return out


def _param(param: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "in": param["in"],
        "required": bool(param.get("required", False)),
        "schema": _strip(param["schema"]),
    }
    if "style" in param:
        out["style"] = param["style"]
    if "explode" in param:
        out["explode"] = param["explode"]
    return out


def _operations(spec: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for method, path in OPERATIONS:
        op = spec["paths"][path][method]
        params = {p["name"]: _param(p) for p in op.get("parameters", [])}
        form = op.get("requestBody", {}).get("content", {}).get("application/x-www-form-urlencoded")
        form_schema = _strip(form["schema"]) if form else {"properties": {}}
        response = op["responses"]["200"]["content"]["application/json"]["schema"]
        out[f"{method.upper()} {path}"] = {
            "operationId": op["operationId"],
            "path_params": {n: p for n, p in params.items() if p["in"] == "path"},
            "query_params": {n: p for n, p in params.items() if p["in"] == "query"},
            "form_params": form_schema.get("properties", {}),
            "form_encoding": form.get("encoding", {}) if form else {},
            "response": _strip(response),
        }
    return out


def build(spec_dir: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    spec = json.loads((spec_dir / "spec3.json").read_text(encoding="utf-8"))
    fixtures = json.loads((spec_dir / "fixtures3.json").read_text(encoding="utf-8"))
    version = spec["info"]["version"]
    subset = {
        "x-source": "github.com/stripe/openapi spec3.json (see README.md)",
        "x-api-version": version,
        "schemas": _schemas(spec),
        "operations": _operations(spec),
    }
    resources = fixtures["resources"]
    examples: dict[str, Any] = {name: resources[name] for name in FIXTURES}
    examples["list"] = {
        "object": "list",
        "data": [resources["refund"]],
        "has_more": False,
        "url": "/v1/refunds",
    }
    fixtures_out = {
        "x-source": "github.com/stripe/openapi fixtures3.json (see README.md)",
        "x-api-version": version,
        "x-note": "'list' is synthesised from the refund fixture (fixtures3.json has none)",
        "resources": examples,
    }
    return subset, fixtures_out


def _write(path: Path, data: dict[str, Any]) -> None:
    text = json.dumps(data, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
    path.write_text(text, encoding="utf-8")
    print(f"wrote {path.relative_to(REPO_ROOT)} ({len(text.encode()):,} bytes)")


def main(argv: list[str]) -> int:
    spec_dir = Path(argv[1]) if len(argv) > 1 else DEFAULT_SPEC_DIR
    subset, fixtures = build(spec_dir)
    _write(HERE / "subset.json", subset)
    _write(HERE / "fixtures.json", fixtures)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
