"""A host runs the shipped contract suites on its own adapters, exactly as docs/usage.md shows.

The code samples of docs/usage.md marked ``tested by tests/contract/test_host_adapters.py`` are
written to a scratch project with broken variants of its adapters (each with a bug a real
adapter could have), and pytest runs there in a subprocess, as it would in a host's checkout:
the samples must pass, and every broken variant must fail the tests of the promise it breaks.
"""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from pathlib import Path

import pytest

import kanorio_refunds.testing.contracts as contracts
from kanorio_refunds.testing.contracts import OrderRepositoryContract, ProcessedEventsContract

USAGE = Path(__file__).resolve().parents[2] / "docs" / "usage.md"
_SAMPLE = re.compile(
    r"<!-- tested by tests/contract/test_host_adapters\.py: (\w+) -->\s*```python\n(.*?)```",
    re.DOTALL,
)

# A quick Hypothesis profile for the scratch run: the property tests only need to run (and fail
# where they must) there; shrinking a failure would only cost time. The project's own suites
# explore the properties fully.
_CONFTEST = """
from hypothesis import Phase, settings

settings.register_profile(
    "host",
    max_examples=20,
    deadline=None,
    database=None,
    derandomize=True,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
)
settings.load_profile("host")
"""

# Each bug is one a real adapter could have; the docstrings say which.
_BROKEN_STORES = '''
from decimal import Decimal

import attrs

import test_contracts as host
from kanorio_refunds.errors import OrderNotFound
from kanorio_refunds.testing.contracts import OrderRepositoryContract, ProcessedEventsContract


class UncheckedSaveRepository(host.DictOrderRepository):
    """Saves whatever it is given: the compare-and-set on the version is forgotten."""

    def save(self, order, expected_version):
        with self._lock:
            if order.id not in self._orders:
                raise OrderNotFound(order.id)
            stored = self._orders[order.id] = attrs.evolve(order, version=expected_version + 1)
            return stored


class AddOnlyIndexRepository(host.DictOrderRepository):
    """Finds orders through a payment index that only ``add`` writes."""

    def __init__(self):
        super().__init__()
        self._by_payment = {}

    def add(self, order):
        stored = super().add(order)
        if stored.payment is not None:
            for key in (stored.payment.payment_intent_id, stored.payment.charge_id):
                if key:
                    self._by_payment[key] = stored
        return stored

    def find_by_payment(self, payment_intent_id, charge_id):
        for key in (payment_intent_id, charge_id):
            if key and key in self._by_payment:
                return self._by_payment[key]
        return None


class FloatRateRepository(host.DictOrderRepository):
    """Keeps the exchange rate as a float, as a careless JSON or REAL column does."""

    def _floated(self, order):
        if order.payment is None or order.payment.exchange_rate is None:
            return order
        rate = Decimal(float(order.payment.exchange_rate))
        return attrs.evolve(order, payment=attrs.evolve(order.payment, exchange_rate=rate))

    def add(self, order):
        return super().add(self._floated(order))

    def save(self, order, expected_version):
        return super().save(self._floated(order), expected_version)


class InsertOnlyProcessedEvents(host.SetProcessedEvents):
    """Records with a bare INSERT on a unique key: a second delivery raises."""

    def record(self, event_id):
        if event_id in self._ids:
            raise ValueError(f"duplicate key {event_id}")
        super().record(event_id)


class CaseFoldingProcessedEvents(host.SetProcessedEvents):
    """Compares ids without letter case, as a case-insensitive SQL collation does."""

    def seen(self, event_id):
        return event_id.lower() in {e.lower() for e in self._ids}


class TestUncheckedSave(OrderRepositoryContract):
    def make_repository(self):
        return UncheckedSaveRepository()


class TestAddOnlyIndex(OrderRepositoryContract):
    def make_repository(self):
        return AddOnlyIndexRepository()


class TestFloatRate(OrderRepositoryContract):
    def make_repository(self):
        return FloatRateRepository()


class TestInsertOnlyProcessedEvents(ProcessedEventsContract):
    def make_processed_events(self):
        return InsertOnlyProcessedEvents()


class TestCaseFoldingProcessedEvents(ProcessedEventsContract):
    def make_processed_events(self):
        return CaseFoldingProcessedEvents()
'''

_BROKEN_WIRE = """
import test_gateway_contract as host


class TestOffSpecWire(host.TestMyGateway):
    def check_wire(self):
        raise AssertionError("the wire check ran and found the traffic off spec")
"""

# Enough of the gateway sample to show it is wired right (both factory arguments, the reference
# comparison); the whole suite on StripeGateway runs in test_gateway_contract.py already.
_GATEWAY_TESTS = (
    "test_snapshot_of_a_payment_with_stripe_and_platform_fees",
    "test_refund_application_fee_only_when_configured",
    "test_observes_what_the_reference_gateway_observes",
)
_WIRE_TEST = "test_a_payment_needs_an_id"

Outcomes = Mapping[str, Mapping[str, str]]


def _samples() -> dict[str, str]:
    return {name: code for name, code in _SAMPLE.findall(USAGE.read_text(encoding="utf-8"))}


def _contract_tests(suite: type) -> set[str]:
    return {name for name in dir(suite) if name.startswith("test_")}


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> Outcomes:
    """Run the host's scratch project once: {class name: {test name: outcome}}."""
    samples = _samples()
    project = tmp_path_factory.mktemp("host_project")
    files = {
        "pytest.ini": "[pytest]\n",
        "conftest.py": _CONFTEST,
        "test_contracts.py": samples["host_stores"],
        "test_gateway_contract.py": samples["host_gateway"],
        "test_broken_stores.py": _BROKEN_STORES,
        "test_broken_wire.py": _BROKEN_WIRE,
    }
    for name, text in files.items():
        (project / name).write_text(textwrap.dedent(text), encoding="utf-8")
    report = project / "report.xml"
    args = [
        "test_contracts.py",
        "test_broken_stores.py",
        *(f"test_gateway_contract.py::TestMyGateway::{t}" for t in _GATEWAY_TESTS),
        f"test_broken_wire.py::TestOffSpecWire::{_WIRE_TEST}",
    ]
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", f"--junitxml={report}", *args],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert report.exists(), run.stdout + run.stderr
    results: dict[str, dict[str, str]] = {}
    for case in ET.parse(report).getroot().iter("testcase"):
        outcome = next(
            (child.tag for child in case if child.tag in ("failure", "error", "skipped")),
            "passed",
        )
        # Parametrized ids are not used by these two suites; the bare name is the method.
        results.setdefault(case.attrib["classname"].rsplit(".", 1)[-1], {})[case.attrib["name"]] = (
            outcome
        )
    return results


def _failed(results: Mapping[str, str]) -> set[str]:
    return {name for name, outcome in results.items() if outcome != "passed"}


def test_the_module_exports_exactly_one_suite_per_port() -> None:
    """``kanorio_refunds.testing.contracts`` offers one suite per port, the feed and listing
    ones (O1, O2) too (that it never imports ``stripe`` is an import-linter contract in
    pyproject.toml)."""
    assert sorted(contracts.__all__) == [
        "ActivityFeedContract",
        "OrderListingContract",
        "OrderRepositoryContract",
        "PaymentGatewayContract",
        "ProcessedEventsContract",
    ]


def test_the_docs_samples_are_there() -> None:
    """docs/usage.md carries the two tested samples, subclassing the shipped suites."""
    samples = _samples()
    assert set(samples) == {"host_stores", "host_gateway"}
    assert "(OrderRepositoryContract)" in samples["host_stores"]
    assert "(ProcessedEventsContract)" in samples["host_stores"]
    assert "(PaymentGatewayContract)" in samples["host_gateway"]


def test_a_host_repository_and_event_store_as_docs_show_pass_the_suites(
    outcomes: Outcomes,
) -> None:
    """L4, L5, F3: the dict-backed repository and event store of docs/usage.md, subclassing
    ``OrderRepositoryContract`` and ``ProcessedEventsContract`` as shown, pass every test of
    both suites."""
    assert outcomes["TestDictOrderRepository"] == dict.fromkeys(
        _contract_tests(OrderRepositoryContract), "passed"
    )
    assert outcomes["TestSetProcessedEvents"] == dict.fromkeys(
        _contract_tests(ProcessedEventsContract), "passed"
    )


def test_a_host_gateway_as_docs_show_runs_the_gateway_suite(outcomes: Outcomes) -> None:
    """The gateway sample of docs/usage.md (``StripeGateway`` over ``testing.stripe_http``)
    builds gateways the suite can drive."""
    assert outcomes["TestMyGateway"] == dict.fromkeys(_GATEWAY_TESTS, "passed")


def test_a_save_without_the_version_check_fails_the_suite(outcomes: Outcomes) -> None:
    """L4: a repository whose save forgets the compare-and-set on the version fails the stale
    save and the concurrent saves tests."""
    assert _failed(outcomes["TestUncheckedSave"]) >= {
        "test_save_with_a_stale_version_conflicts_and_writes_nothing",
        "test_concurrent_saves_of_one_version_let_exactly_one_win",
    }


def test_a_lookup_index_that_saves_do_not_update_fails_the_suite(outcomes: Outcomes) -> None:
    """L5: a repository whose payment index only ``add`` writes fails the lookup tests."""
    assert _failed(outcomes["TestAddOnlyIndex"]) >= {
        "test_find_by_payment_sees_the_latest_version",
        "test_lookups_follow_the_payment_a_save_stores",
    }


def test_an_exchange_rate_kept_as_a_float_fails_the_suite(outcomes: Outcomes) -> None:
    """F3, B3: a repository that keeps the exchange rate as a float fails the round trips,
    the property test included."""
    assert _failed(outcomes["TestFloatRate"]) >= {
        "test_every_field_round_trips",
        "test_any_order_round_trips_through_add_and_save",
    }


def test_event_stores_that_break_idempotency_or_exact_ids_fail_the_suite(
    outcomes: Outcomes,
) -> None:
    """L5: an event store that raises on a second record, or folds letter case, fails."""
    assert _failed(outcomes["TestInsertOnlyProcessedEvents"]) >= {
        "test_recording_twice_is_harmless",
        "test_concurrent_records_of_one_id_all_succeed",
    }
    assert _failed(outcomes["TestCaseFoldingProcessedEvents"]) == {"test_ids_are_kept_distinct"}


def test_check_wire_runs_after_each_gateway_test(outcomes: Outcomes) -> None:
    """A ``check_wire`` that finds the traffic off spec fails the test it ran after."""
    assert outcomes["TestOffSpecWire"] == {_WIRE_TEST: "error"}
