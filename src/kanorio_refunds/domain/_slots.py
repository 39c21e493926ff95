"""Slot setters for the builders of the domain's hottest values (issue 10).

attrs' generated ``__init__`` looks up ``object.__setattr__`` for every field of a frozen class,
and keyword arguments and converters cost more again; a builder that sets the slots directly
through these setters gives the same value for arguments that already are what the fields hold.
``slot_setters`` checks the class on import, so a field added, renamed, reordered or given a
validator or converter fails there instead of being left unset or unchecked.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs


def slot_setters(cls: type, names: tuple[str, ...], converted: tuple[str, ...] = ()) -> Any:
    """The slot setters of the attrs class ``cls``'s fields, which must be ``names`` in this
    order, with no validator, no converter but on ``converted``, no ``on_setattr`` and no
    ``__attrs_pre_init__`` or ``__attrs_post_init__``; ``TypeError`` otherwise."""
    fields = attrs.fields(cls)
    if (
        tuple(f.name for f in fields) != names
        or any(f.validator is not None for f in fields)
        or any((f.converter is not None) != (f.name in converted) for f in fields)
        or any(f.on_setattr not in (None, attrs.setters.NO_OP) for f in fields)
        or hasattr(cls, "__attrs_pre_init__")
        or hasattr(cls, "__attrs_post_init__")
    ):
        raise TypeError(f"{cls.__name__} changed: update its builder")
    setters: tuple[Callable[[object, object], None], ...] = tuple(
        cls.__dict__[name].__set__ for name in names
    )
    return setters
