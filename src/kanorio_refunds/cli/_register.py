"""``register``: intake (I1) of orders for Stripe payments, from arguments or a CSV file.

Each registration goes through ``RefundService.register_order``, which reads the payment from
Stripe and stores the order with the status its payment gives. Idempotent: a registration
already stored is reported ``already_registered`` (nothing changes but what Stripe now shows);
a conflicting one (another payment, site or amount) is refused with ``order_conflict``. A CSV
whose header is wrong stops before anything (``invalid_csv``); a row that cannot be read is
refused with ``invalid_row`` and the run goes on.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from kanorio_refunds.cli._csv import header_problems, open_table
from kanorio_refunds.domain import OrderId, SiteId
from kanorio_refunds.errors import (
    GatewayUnavailable,
    InvalidCsv,
    InvalidInput,
    InvalidRow,
    OrderNotFound,
    RefundError,
)
from kanorio_refunds.service import RefundService

REQUIRED_COLUMNS: Final = ("order_id", "site_id")
PAYMENT_COLUMNS: Final = ("payment_intent_id", "charge_id")
HEADER: Final = "order_id,site_id,payment_intent_id,charge_id"

# Outcomes.
REGISTERED: Final = "registered"
ALREADY: Final = "already_registered"
REFUSED: Final = "refused"  # a conflict, a bad row, no such payment: nothing stored
UNKNOWN: Final = "unknown"  # Stripe could not be read: nothing stored, run it again


@dataclass(frozen=True)
class Registration:
    """One order to register (``row`` counts CSV data rows from 1; 0 for arguments)."""

    row: int
    order_id: str
    site_id: str
    payment_intent_id: str | None
    charge_id: str | None
    problem: str | None = None

    @property
    def payment(self) -> str:
        """The payment as given: the PaymentIntent id, else the Charge id."""
        return self.payment_intent_id or self.charge_id or ""


@dataclass
class Registered:
    """What happened to one registration."""

    row: int
    order_id: str
    site_id: str
    payment: str
    outcome: str
    status: str = ""
    total: str = ""
    error_code: str = ""
    message: str = ""

    def as_dict(self) -> dict[str, Any]:
        """For ``--json``."""
        return dict(vars(self))


def from_arguments(
    order_id: str, site_id: str | None, payment_intent_id: str | None, charge_id: str | None
) -> Registration:
    """The registration the arguments name; ``InvalidInput`` when one is missing or blank."""
    if not order_id.strip():
        raise InvalidInput("ORDER_ID must not be blank")
    if site_id is None or not site_id.strip():
        raise InvalidInput("--site SITE is required: the site the order belongs to")
    for flag, value in (("--payment-intent", payment_intent_id), ("--charge", charge_id)):
        if value is not None and not value.strip():
            raise InvalidInput(f"{flag} must not be blank")
    if payment_intent_id is None and charge_id is None:
        raise InvalidInput(
            "give the order's payment: --payment-intent pi_… or, for a charge-only payment, "
            "--charge ch_…"
        )
    return Registration(0, order_id.strip(), site_id.strip(), payment_intent_id, charge_id)


def read_registrations(path: Path) -> list[Registration]:
    """Every data row of ``path``. A header that is not ``order_id,site_id`` and at least one
    of ``payment_intent_id``, ``charge_id`` (any order) is ``InvalidCsv``, before anything is
    done; a row that cannot be read carries its ``problem`` (refused as ``invalid_row``)."""
    names, reader = open_table(path, expected=HEADER)
    missing, unknown, duplicated = header_problems(
        names, required=REQUIRED_COLUMNS, known=set(REQUIRED_COLUMNS) | set(PAYMENT_COLUMNS)
    )
    problems = []
    if missing:
        problems.append(f"missing {', '.join(missing)}")
    if not any(n in names for n in PAYMENT_COLUMNS):
        problems.append("missing payment_intent_id or charge_id")
    if unknown:
        problems.append(f"unknown {', '.join(repr(n) for n in unknown)}")
    if duplicated:
        problems.append(f"repeated {', '.join(duplicated)}")
    if problems:
        raise InvalidCsv(
            f"{path}: the header must be {HEADER} (either payment column may be left out; "
            f"{'; '.join(problems)}); nothing was registered"
        )
    rows: list[Registration] = []
    for number, fields in enumerate(reader, start=1):
        if not any(f.strip() for f in fields):
            continue
        values = {name: value.strip() for name, value in zip(names, fields, strict=False)}
        problem = None
        if len(fields) != len(names):
            problem = f"{len(fields)} fields, the header has {len(names)}"
        elif not values.get("order_id"):
            problem = "the order id is empty"
        elif not values.get("site_id"):
            problem = "the site id is empty"
        rows.append(
            Registration(
                number,
                values.get("order_id", ""),
                values.get("site_id", ""),
                values.get("payment_intent_id") or None,
                values.get("charge_id") or None,
                problem,
            )
        )
    return rows


def register(service: RefundService, registration: Registration) -> Registered:
    """Register one order (I1) and say what happened; never raises a ``RefundError``."""
    result = Registered(
        registration.row,
        registration.order_id,
        registration.site_id,
        registration.payment,
        REFUSED,
    )
    try:
        if registration.problem is not None:
            raise InvalidRow(f"row {registration.row}: {registration.problem}")
        order_id = OrderId(registration.order_id)
        existed = _is_stored(service, order_id)
        order = service.register_order(
            order_id,
            SiteId(registration.site_id),
            payment_intent_id=registration.payment_intent_id,
            charge_id=registration.charge_id,
        )
    except GatewayUnavailable as e:
        result.outcome, result.error_code, result.message = UNKNOWN, e.code, e.message
        return result
    except RefundError as e:
        result.error_code, result.message = e.code, e.message
        return result
    result.outcome = ALREADY if existed else REGISTERED
    result.status = order.status.label
    result.total = str(order.total)
    return result


def _is_stored(service: RefundService, order_id: OrderId) -> bool:
    try:
        service.orders.get(order_id)
    except OrderNotFound:
        return False
    return True
