"""A quicker ``__init__`` for the frozen attrs classes the engine builds on every fact.

attrs' ``__init__`` for a frozen slotted class sets each field with ``object.__setattr__``,
which looks the slot up on the type every time. Here each class has a *twin*: a class of the
same layout (a subclass that adds no slot) that is not frozen. ``__init__`` turns the new object
into its twin, sets the fields by plain assignment (which the interpreter does through the
slot directly), and turns it back: about a third of attrs' time for a class of a dozen
fields. Nothing else ever sees the twin: the object is of its class again before ``__init__``
returns, so equality, hashing, ``repr``, pickling and immutability are attrs' own.
:func:`twin_of` gives it to code that builds objects of the class from values already checked
(the engine's frozen copy of a record).

Only for plain data: keyword-only fields with no validator, converter, factory default or
alias, and no ``__attrs_pre_init__``/``__attrs_post_init__``, so that the signature and the
objects built are exactly attrs' own. ``ATTRS_INIT`` keeps attrs' version for the tests that
compare the two.

The quick ``__init__`` (and the twin) is generated when its class builds its first object, not
when the class is made: of the classes a host's start makes, most build no object before its
first decision, and compiling their ``__init__`` is part of what a start costs.

:func:`kept_together` makes a class smaller: fields that most of its objects leave at their
defaults are kept in one slot, a tuple shared by every object that left them all so.
"""

from collections.abc import Callable
from typing import Any, NamedTuple, TypeVar, cast

import attrs

from escalation_policy._language.codegen import generate

__all__ = [
    "ATTRS_INIT",
    "Kept",
    "build_lines",
    "builder_of",
    "construct_lines",
    "kept_together",
    "quick_init",
    "slot_setter",
    "twin_of",
]

_T = TypeVar("_T")

ATTRS_INIT: dict[type[Any], Any] = {}
"""attrs' own ``__init__`` of each class given a quick one."""


class Kept(NamedTuple):
    """The fields of a class that :func:`kept_together` keeps in one slot (``cls._KEPT``)."""

    slot: str
    """The slot: a tuple of the fields' values, in their order."""
    names: tuple[str, ...]
    """The fields, in the class's order."""
    defaults: tuple[Any, ...]
    """What the slot holds for every object that left each field at its default (shared)."""

    def slot_value(self, values: list[str], namespace: dict[str, Any], prefix: str = "") -> str:
        """An expression for the slot's value from an expression of each field (names or plain
        reads: each is evaluated up to twice): the shared defaults if each is its default, the
        very object (a value equal to its default but of another type, ``0`` for ``False``,
        is kept as it came), else a tuple of them. What it uses is added to ``namespace``,
        under names that start with ``prefix``."""
        namespace[f"{prefix}kept_defaults"] = self.defaults
        tests = []
        for name, default, value in zip(self.names, self.defaults, values, strict=True):
            namespace[f"{prefix}kept_default_{name}"] = default
            tests.append(f"{value} is {prefix}kept_default_{name}")
        together = f"({', '.join(values)},)"
        return f"({prefix}kept_defaults if {' and '.join(tests)} else {together})"


def kept_together(*names: str, slot: str = "_kept") -> Callable[[type[_T]], type[_T]]:
    """Class decorator, between :func:`quick_init` and ``@attrs.frozen(kw_only=True)``: the
    fields ``names`` are kept in one slot, and every object that leaves them all at their
    defaults shares one tuple there. They are read, built, compared, hashed, written and
    pickled as before: each is a property over the slot, and the class's fields, signature,
    ``repr``, equality, hashing and pickled form are attrs' own. For fields most objects
    never set: an object that sets one holds a tuple of its own (one slot less per field
    kept together, a tuple more for those objects)."""

    def decorate(cls: type[_T]) -> type[_T]:
        original: Any = cls
        slots = original.__dict__.get("__slots__", ())
        fields = [field for field in attrs.fields(original) if field.name in names]
        if len(fields) != len(names) or any(
            field.name not in slots
            or field.default is attrs.NOTHING
            or isinstance(field.default, attrs.Factory)  # type: ignore[arg-type]
            for field in fields
        ):
            raise TypeError(
                f"{cls.__qualname__}: not slotted fields of its own with a plain default: {names}"
            )
        kept = Kept(
            slot,
            tuple(field.name for field in fields),
            tuple(field.default for field in fields),
        )
        # The class again, as attrs makes a slotted class: the same namespace, but one slot
        # for the fields kept together and a property for each.
        body = {
            key: value
            for key, value in original.__dict__.items()
            if key not in (*slots, "__dict__", "__weakref__")
        }
        body["__slots__"] = (*(name for name in slots if name not in kept.names), slot)
        for index, name in enumerate(kept.names):
            body[name] = _kept_field(kept, index)
        body["_KEPT"] = kept
        made: Any = type(original)(original.__name__, original.__bases__, body)
        # A method that names its class (``super()``, ``__class__``) names the new one, as
        # attrs does for the class it makes.
        for item in body.values():
            function = item.fget if isinstance(item, property) else getattr(item, "__func__", item)
            for cell in getattr(function, "__closure__", None) or ():
                try:
                    if cell.cell_contents is original:
                        cell.cell_contents = made
                except ValueError:  # an empty cell
                    continue
        result: type[_T] = made
        return result

    return decorate


def _kept_field(kept: Kept, index: int) -> property:
    """The field ``kept.names[index]``, read from (and, as attrs' own ``__init__`` and
    pickling set fields, set in) the class's slot ``kept.slot``."""
    defaults = kept.defaults
    slot = kept.slot

    def set_field(instance: Any, value: Any) -> None:
        current = getattr(instance, slot, defaults)
        values = (*current[:index], value, *current[index + 1 :])
        quiet = all(new is default for new, default in zip(values, defaults, strict=True))
        object.__setattr__(instance, slot, defaults if quiet else values)

    # Generated: the slot read by name, which the interpreter does directly.
    get_field = generate(
        ["def get_field(instance):", f"    return instance.{slot}[{index}]"],
        {},
        f"field {kept.names[index]} kept in {slot}",
    )
    get_field.__doc__ = (
        f"The field ``{kept.names[index]}`` (read from the slot ``{slot}``, where the class "
        "keeps the fields most of its objects leave at their defaults)."
    )
    return property(get_field, set_field)


def quick_init(cls: type[_T]) -> type[_T]:
    """Class decorator, above ``@attrs.frozen(kw_only=True)``: the same ``__init__``, quicker
    (generated when the class builds its first object)."""
    problems = _unsupported(cls)
    if problems:
        raise TypeError(f"{cls.__qualname__}: no quick __init__ for {'; '.join(problems)}")
    original = cls.__init__
    built: list[Any] = []

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        if not built:
            built.append(_quick(cls, original))
            cls.__init__ = built[0]  # type: ignore[method-assign]
        built[0](self, *args, **kwargs)

    _like(__init__, original)
    __init__.__wrapped__ = original  # type: ignore[attr-defined]  # inspect.signature: attrs'
    ATTRS_INIT[cls] = original
    cls.__init__ = __init__  # type: ignore[method-assign]
    return cls


def _like(function: Any, original: Any) -> None:
    function.__qualname__ = original.__qualname__
    function.__doc__ = original.__doc__
    function.__annotations__ = dict(getattr(original, "__annotations__", {}))


def _quick(cls: type[Any], original: Any) -> Any:
    """The quick ``__init__`` of ``cls``, generated."""
    twin = twin_of(cls)
    namespace: dict[str, Any] = {"Class": cls, "Twin": twin, "set_class": object.__setattr__}
    parameters: list[str] = []
    quick: list[str] = []
    slow: list[str] = []
    kept: Kept | None = cls.__dict__.get("_KEPT")
    for field in attrs.fields(cls):
        name = field.name
        if field.default is attrs.NOTHING:
            parameters.append(name)
        else:
            namespace[f"default_{name}"] = field.default
            parameters.append(f"{name}=default_{name}")
        if kept is None or name not in kept.names:
            namespace[f"set_{name}"] = slot_setter(cls, name)
            quick.append(f"        self.{name} = {name}")
            slow.append(f"        set_{name}(self, {name})")
    if kept is not None:
        value = kept.slot_value(list(kept.names), namespace)
        namespace[f"set_{kept.slot}"] = slot_setter(cls, kept.slot)
        quick.append(f"        self.{kept.slot} = {value}")
        slow.append(f"        set_{kept.slot}(self, {value})")
    # A subclass that is not an attrs class inherits this __init__: its objects may not have
    # the twin's layout, so they are built as attrs builds them.
    body = [
        "    if type(self) is Class:",
        "        set_class(self, '__class__', Twin)",
        *quick,
        "        self.__class__ = Class",
        "    else:",
        *slow,
    ]
    if twin is None:
        body = [line[4:] for line in slow]
    init = generate(
        [f"def __init__(self, *, {', '.join(parameters)}):", *body],
        namespace,
        f"__init__ of {cls.__qualname__}",
    )
    _like(init, original)
    return init


def twin_of(cls: type[Any]) -> type[Any] | None:
    """The twin of a class given a quick ``__init__``: the same layout, not frozen (made the
    first time it is asked for); ``None`` where the interpreter does not let an object change
    between the two (Python 3.10 refuses it for a class with a weak-reference slot), and the
    fields are then set through their slots' descriptors, as attrs sets them.

    For generated code that builds an object from values already checked, with every field
    set, as ``__init__`` does: :func:`build_lines` writes it.
    """
    if "_quick_twin" not in cls.__dict__:
        made = _twin(cls)
        type.__setattr__(cls, "_quick_twin", made if _swappable(cls, made) else None)
    twin: type[Any] | None = cls.__dict__["_quick_twin"]
    return twin


def build_lines(
    cls: type[Any], fields: list[tuple[str, str]], namespace: dict[str, Any], *, prefix: str
) -> list[str]:
    """Lines of generated code (a function's body) that build ``new``, an object of ``cls``
    (a class given a quick ``__init__``) with each field set to its expression, from values
    already checked, as its quick ``__init__`` builds it: every field must be given (for a
    class with fields :func:`kept_together`, either each of them or their slot). What the
    lines use is added to ``namespace``, under names that start with ``prefix``."""
    twin = twin_of(cls)
    kept: Kept | None = cls.__dict__.get("_KEPT")
    first: list[str] = []
    if kept is not None and kept.slot not in dict(fields):
        given = dict(fields)
        if all(
            given[name] == f"{prefix}default_{name}"
            and namespace.get(given[name], namespace) is default
            for name, default in zip(kept.names, kept.defaults, strict=True)
        ):
            # Each left at its default (construct_lines): the shared defaults, as they are.
            namespace[f"{prefix}kept_defaults"] = kept.defaults
            value = f"{prefix}kept_defaults"
        else:
            first = [f"    {prefix}kept_{name} = {given[name]}" for name in kept.names]
            value = kept.slot_value(
                [f"{prefix}kept_{name}" for name in kept.names], namespace, prefix
            )
        fields = [(name, expr) for name, expr in fields if name not in kept.names]
        fields.append((kept.slot, value))
    namespace["new_object"] = object.__new__
    namespace[f"{prefix}Class"] = cls
    if twin is not None:
        namespace[f"{prefix}Twin"] = twin
        return [
            *first,
            f"    new = {prefix}Twin()",  # a twin's __init__ is object's: nothing set yet
            *(f"    new.{name} = {value}" for name, value in fields),
            f"    new.__class__ = {prefix}Class",
        ]
    lines = [*first, f"    new = new_object({prefix}Class)"]
    for name, value in fields:
        namespace[f"{prefix}set_{name}"] = slot_setter(cls, name)
        lines.append(f"    {prefix}set_{name}(new, {value})")
    return lines


def construct_lines(
    cls: type[Any], given: dict[str, str], namespace: dict[str, Any], *, prefix: str
) -> list[str] | None:
    """Lines of generated code that build ``new``, an object of ``cls`` with the fields in
    ``given`` set to their expressions and the others to their defaults, as ``cls(**given)``
    builds it (:func:`build_lines`); ``None`` for a class without a quick ``__init__``, which
    the generated code calls instead."""
    if cls not in ATTRS_INIT:
        return None
    values: list[tuple[str, str]] = []
    for field in attrs.fields(cls):
        name = field.name
        if name in given:
            values.append((name, given[name]))
        elif field.default is attrs.NOTHING:
            raise TypeError(f"{cls.__qualname__}: nothing given for {name!r}")
        else:
            namespace[f"{prefix}default_{name}"] = field.default
            values.append((name, f"{prefix}default_{name}"))
    unknown = sorted(set(given) - {name for name, _ in values})
    if unknown:
        raise TypeError(f"{cls.__qualname__} has no field {unknown[0]!r}")
    return build_lines(cls, values, namespace, prefix=prefix)


def builder_of(cls: type[_T]) -> Callable[..., _T]:
    """``build(**fields)``: an object of ``cls`` (a class given a quick ``__init__``), with the
    signature of its ``__init__`` and built as it builds one, but without calling the class:
    a call of a class with keywords costs the interpreter about as much again as the
    ``__init__`` (the keywords made a dictionary, the new object passed through the type). For
    code that builds many."""
    fields = attrs.fields(cast("type[Any]", cls))
    namespace: dict[str, Any] = {}
    parameters: list[str] = []
    for field in fields:
        name = field.name
        if name in ("new", "new_object") or name.startswith("built_"):
            raise TypeError(f"{cls.__qualname__}: no builder for a field named {name!r}")
        if field.default is attrs.NOTHING:
            parameters.append(name)
        else:
            namespace[f"built_default_{name}"] = field.default
            parameters.append(f"{name}=built_default_{name}")
    lines = [
        f"def build(*, {', '.join(parameters)}):",
        *build_lines(
            cls, [(field.name, field.name) for field in fields], namespace, prefix="built_"
        ),
        "    return new",
    ]
    build: Callable[..., _T] = generate(lines, namespace, f"builder of {cls.__qualname__}")
    return build


def _swappable(cls: type[Any], twin: type[Any]) -> bool:
    probe = object.__new__(cls)
    try:
        object.__setattr__(probe, "__class__", twin)
    except TypeError:
        return False
    object.__setattr__(probe, "__class__", cls)
    return True


def _twin(cls: type[Any]) -> type[Any]:
    # A subclass that adds no slot: the same layout, so an object may change between the two
    # classes, and the interpreter tells it so without comparing their slots name by name
    # (as it must for two classes that each add theirs). Both of object's own attribute
    # setters, so that the interpreter sets slots directly, and object's own __init__, so
    # that calling the twin makes an object with nothing set (quicker than object.__new__).
    namespace = {
        "__slots__": (),
        "__init__": object.__init__,
        "__setattr__": object.__setattr__,
        "__delattr__": object.__delattr__,
        "__module__": cls.__module__,
        "__qualname__": f"{cls.__qualname__}.twin",
        "__doc__": "Objects of the class while they are built (see frozen.twin_of).",
    }
    metaclass: Any = type(cls)
    twin: type[Any] = metaclass(cls.__name__, (cls,), namespace)
    return twin


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
