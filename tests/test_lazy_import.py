"""Issue 10, goal 5: ``import kanorio_refunds`` loads its top-level names on first use (PEP 562)
and they are the very objects of the modules they live in."""

from __future__ import annotations

import subprocess
import sys

import pytest

import kanorio_refunds
from kanorio_refunds import domain, errors, service


def _fresh(code: str) -> str:
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return done.stdout.strip()


def test_import_loads_no_submodule() -> None:
    """Importing the package alone loads none of its modules, nor attrs or typing."""
    out = _fresh(
        "import sys, kanorio_refunds\n"
        "print(sorted(m for m in sys.modules if m.startswith('kanorio_refunds.')"
        " or m in ('attrs', 'stripe', 'sqlalchemy', 'click', 'flask', 'babel')))"
    )
    assert out == "[]"


def test_a_name_loads_what_it_needs_and_nothing_heavy() -> None:
    """``from kanorio_refunds import RefundService`` loads the service, never the SDKs."""
    out = _fresh(
        "import sys\n"
        "from kanorio_refunds import RefundService, Money\n"
        "print(RefundService.__module__, Money.__module__,"
        " sorted(m for m in ('stripe', 'sqlalchemy', 'click', 'flask', 'babel')"
        " if m in sys.modules))"
    )
    assert out == "kanorio_refunds.service kanorio_refunds.domain._money []"


@pytest.mark.parametrize("name", kanorio_refunds.__all__)
def test_every_public_name_is_its_modules_object(name: str) -> None:
    """Each name of ``__all__`` is the object its module defines, and stays so."""
    value = getattr(kanorio_refunds, name)
    home = {"RefundError": errors, "RefundService": service}.get(name, domain)
    assert value is getattr(home, name)
    assert getattr(kanorio_refunds, name) is value
    assert name in dir(kanorio_refunds)


def test_submodules_are_attributes_and_unknown_names_are_refused() -> None:
    """The modules the package used to load are its attributes; anything else is an
    AttributeError naming the package."""
    assert kanorio_refunds.domain is domain
    assert kanorio_refunds.errors is errors
    ports, missing = "ports", "no_such_name"  # names mypy does not know on the package
    assert getattr(kanorio_refunds, ports).__name__ == "kanorio_refunds.ports"
    with pytest.raises(AttributeError, match=r"'kanorio_refunds' has no attribute 'no_such_name'"):
        getattr(kanorio_refunds, missing)
