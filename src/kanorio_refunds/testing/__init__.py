"""Helpers for testing code that uses kanorio_refunds: builders and Hypothesis strategies.

``kanorio_refunds.testing.builders`` (re-exported here) is plain Python: ``paid_order()``,
``owner()``, ``admin()``, ``staff()``, ``buyer()``, ``refund()``, … .
``kanorio_refunds.testing.strategies`` needs Hypothesis and is imported explicitly::

    from kanorio_refunds.testing import paid_order, owner
    from kanorio_refunds.testing import strategies as kst
"""

from kanorio_refunds.testing.builders import (
    T0,
    AmountLike,
    actor,
    admin,
    admin_of_other_site,
    anonymous,
    as_money,
    buyer,
    evolve_payment,
    gateway_refund,
    owner,
    paid_order,
    payment_record,
    refund,
    staff,
    with_refunds,
)

__all__ = [
    "T0",
    "AmountLike",
    "actor",
    "admin",
    "admin_of_other_site",
    "anonymous",
    "as_money",
    "buyer",
    "evolve_payment",
    "gateway_refund",
    "owner",
    "paid_order",
    "payment_record",
    "refund",
    "staff",
    "with_refunds",
]
