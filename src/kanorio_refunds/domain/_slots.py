"""Slot setters for the builders of the domain's hottest values (issue 10).

attrs' generated ``__init__`` looks up ``object.__setattr__`` for every field of a frozen class,
and keyword arguments and converters cost more again; a builder that sets the slots directly
through these setters gives the same value for arguments that already are what the fields hold.
``slot_setters`` checks the class on import, so a field added, renamed, reordered or given a
validator or converter fails there instead of being left unset or unchecked.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import attrs
from attrs import AttrsInstance

_T = TypeVar("_T", bound=AttrsInstance)


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


def fast_init(cls: type[_T]) -> type[_T]:
    """Give the slotted attrs class ``cls`` an ``__init__`` that sets its slots through
    ``slot_setters`` instead of attrs' ``object.__setattr__`` per field: the same parameters
    (names, order, defaults), the same value built, about a fifth cheaper (issue 10: the domain
    builds refunds, entries and quotes on every use case). For a class ``slot_setters``
    accepts, whose fields are all ``__init__`` parameters named as the fields, positional or
    keyword, with plain defaults; ``TypeError`` otherwise, on import."""
    fields = attrs.fields(cls)
    names = tuple(f.name for f in fields)
    setters = slot_setters(cls, names)
    factory: Any = attrs.Factory  # a class, which attrs' stubs type as a function
    if any(
        not f.init or f.kw_only or f.alias != f.name or isinstance(f.default, factory)
        for f in fields
    ):
        raise TypeError(f"{cls.__name__} has fields fast_init cannot build: keep attrs' __init__")
    namespace: dict[str, Any] = {}
    parameters = []
    for f, setter in zip(fields, setters, strict=True):
        namespace[f"_set_{f.name}"] = setter
        if f.default is attrs.NOTHING:
            parameters.append(f.name)
        else:
            namespace[f"_default_{f.name}"] = f.default
            parameters.append(f"{f.name}=_default_{f.name}")
    body = "".join(f"    _set_{name}(self, {name})\n" for name in names)
    # Generated as attrs generates its own __init__ (field names are identifiers, and the
    # defaults are passed in the namespace, never written into the source).
    exec(f"def __init__(self, {', '.join(parameters)}):\n{body}", namespace)
    init = namespace["__init__"]
    generated = cls.__init__
    init.__annotations__ = dict(generated.__annotations__)
    init.__doc__ = generated.__doc__
    init.__module__ = cls.__module__
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    type.__setattr__(cls, "__init__", init)
    return cls
