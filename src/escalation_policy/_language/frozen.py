"""A quicker ``__init__`` for the frozen attrs classes the engine builds on every fact.

attrs' ``__init__`` for a frozen slotted class sets each field with ``object.__setattr__``,
which looks the slot up on the type every time. Setting the slot through its descriptor does
the same in about half the time; on the realistic mix of facts, where each fact builds a few
actions, a decision and an obligation or two, that is about 5% of the engine's work.

Only for plain data: keyword-only fields with no validator, converter, factory default or
alias, and no ``__attrs_pre_init__``/``__attrs_post_init__``, so that the signature and the
objects built are exactly attrs' own. ``ATTRS_INIT`` keeps attrs' version for the tests that
compare the two.
"""

from typing import Any, TypeVar

import attrs

from escalation_policy._language.codegen import generate

__all__ = ["ATTRS_INIT", "quick_init", "slot_setter"]

_T = TypeVar("_T")

ATTRS_INIT: dict[type[Any], Any] = {}
"""attrs' own ``__init__`` of each class given a quick one."""


def quick_init(cls: type[_T]) -> type[_T]:
    """Class decorator, above ``@attrs.frozen(kw_only=True)``: the same ``__init__``, quicker."""
    problems = _unsupported(cls)
    if problems:
        raise TypeError(f"{cls.__qualname__}: no quick __init__ for {'; '.join(problems)}")
    namespace: dict[str, Any] = {}
    parameters: list[str] = []
    body: list[str] = []
    for field in attrs.fields(cls):  # type: ignore[arg-type]  # checked by _unsupported
        name = field.name
        namespace[f"set_{name}"] = slot_setter(cls, name)
        if field.default is attrs.NOTHING:
            parameters.append(name)
        else:
            namespace[f"default_{name}"] = field.default
            parameters.append(f"{name}=default_{name}")
        body.append(f"    set_{name}(self, {name})")
    init = generate(
        [f"def __init__(self, *, {', '.join(parameters)}):", *body],
        namespace,
        f"__init__ of {cls.__qualname__}",
    )
    original = cls.__init__
    init.__qualname__ = original.__qualname__
    init.__doc__ = original.__doc__
    init.__annotations__ = dict(getattr(original, "__annotations__", {}))
    ATTRS_INIT[cls] = original
    cls.__init__ = init  # type: ignore[method-assign]
    return cls


def slot_setter(cls: type[Any], name: str) -> Any:
    """``setter(instance, value)``: sets a slotted class's field through the slot's descriptor,
    as attrs' frozen ``__init__`` does with ``object.__setattr__``, in about half the time."""
    return getattr(cls, name).__set__


def _unsupported(cls: type[Any]) -> list[str]:
    problems: list[str] = []
    if not attrs.has(cls) or "__slots__" not in cls.__dict__:
        problems.append("a class that is not a slotted attrs class")
        return problems
    if not attrs.fields(cls):
        problems.append("a class with no fields")
    for hook in ("__attrs_pre_init__", "__attrs_post_init__"):
        if hasattr(cls, hook):
            problems.append(hook)
    for field in attrs.fields(cls):
        if field.validator is not None:
            problems.append(f"the validator of {field.name!r}")
        if field.converter is not None:
            problems.append(f"the converter of {field.name!r}")
        if isinstance(field.default, attrs.Factory):  # type: ignore[arg-type]
            problems.append(f"the factory default of {field.name!r}")
        if not field.kw_only:
            problems.append(f"the positional field {field.name!r}")
        if field.alias != field.name:
            problems.append(f"the alias of {field.name!r}")
        if not field.init:
            problems.append(f"the init=False field {field.name!r}")
    return problems
