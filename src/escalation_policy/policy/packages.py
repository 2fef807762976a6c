"""Importing a policy package and its rule modules: what each module declares, read and checked
for its shape; whatever the package's code raises, a :class:`PolicyDefinitionError` naming the
file and line."""

import contextlib
import importlib
import os
import sys
from collections.abc import Iterable, Iterator, Mapping
from types import ModuleType
from typing import TYPE_CHECKING, Any

import attrs

from escalation_policy.errors import PolicyDefinitionError
from escalation_policy.policy.locations import assigned_in
from escalation_policy.policy.outputs import ENGINE_OUTPUTS
from escalation_policy.policy.scope import ROW_ID
from escalation_policy.vocabulary import Calendars, DecisionTable, Obligation, Reaction

if TYPE_CHECKING:
    import pathlib

# pathlib, importlib.util and traceback are imported where a policy package is loaded from a
# folder or fails to import: a host loading a package by its module name needs none of them.

DECLARED: Mapping[str, Any] = {
    "OBLIGATIONS": Obligation,
    "FACTS": object,  # checked with the terms
    "ACTIONS": object,
    "CONTEXT": object,
    "OUTPUTS": None,  # a dict, read on its own
}
"""What a rule module may declare besides TABLES and REACTIONS."""


@attrs.frozen
class Declarations:
    """What a policy's rule modules declare, each item with the name of its module."""

    modules: tuple[str, ...]
    tables: tuple[tuple[DecisionTable, str], ...]
    reactions: tuple[tuple[Reaction, str], ...]
    obligations: tuple[tuple[Obligation, str], ...]
    facts: tuple[tuple[Any, str], ...]
    actions: tuple[tuple[Any, str], ...]
    context: tuple[tuple[Any, str], ...]
    outputs: tuple[tuple[tuple[str, str], str], ...]
    """The policy's own table outputs: (name, description), module."""
    calendars: tuple[tuple[Calendars, str, ModuleType], ...] = ()
    """The ``CALENDARS`` declarations (one at most in a valid policy), with their module's name
    and the module (an error about them is located where it assigns them)."""
    opening_grace: tuple[tuple[object, str], ...] = ()
    """The ``OPENING_GRACE`` declarations (one at most in a valid policy), with their module."""


def read_modules(modules: Iterable[str | ModuleType]) -> Declarations:
    """Import each rule module (a name, or a module already imported) and read what it
    declares, each declaration checked for its shape."""
    tables: list[tuple[DecisionTable, str]] = []
    reactions: list[tuple[Reaction, str]] = []
    declared: dict[str, list[tuple[Any, str]]] = {key: [] for key in DECLARED}
    names: list[str] = []
    calendars: list[tuple[Calendars, str, ModuleType]] = []
    grace: list[tuple[object, str]] = []
    loaded_modules: list[ModuleType] = []
    for module in modules:
        if isinstance(module, str):
            with importing(module):
                loaded = importlib.import_module(module)
        else:
            loaded = module
        name = loaded.__name__
        names.append(name)
        loaded_modules.append(loaded)
        if not any(
            hasattr(loaded, attribute)
            for attribute in (*DECLARED, "TABLES", "REACTIONS", "CALENDARS", "OPENING_GRACE")
        ):
            raise PolicyDefinitionError(
                "declares no TABLES, REACTIONS, OBLIGATIONS, FACTS, ACTIONS, CONTEXT or OUTPUTS: "
                "a rule module declares its tables and reactions (an empty tuple if it has none), "
                "and may declare the terms they are written in",
                module=name,
            )
        tables.extend((item, name) for item in declared_items(loaded, "TABLES", DecisionTable))
        reactions.extend((item, name) for item in declared_items(loaded, "REACTIONS", Reaction))
        for attribute, expected in DECLARED.items():
            declared[attribute].extend(
                (item, name) for item in declared_items(loaded, attribute, expected)
            )
        declared["OUTPUTS"].extend((output, name) for output in _own_outputs(loaded))
        if hasattr(loaded, "CALENDARS"):
            chosen = loaded.CALENDARS
            if not isinstance(chosen, Calendars):
                raise PolicyDefinitionError(
                    f"CALENDARS: got {chosen!r}, expected a Calendars declaration "
                    "(Calendars(default=Calendar(...)))",
                    module=name,
                    **assigned_in(loaded, "CALENDARS"),
                )
            calendars.append((chosen, name, loaded))
        if hasattr(loaded, "OPENING_GRACE"):
            grace.append((loaded.OPENING_GRACE, name))
    _check_obligations_declared(loaded_modules, [item for item, _ in declared["OBLIGATIONS"]])
    return Declarations(
        modules=tuple(names),
        tables=tuple(tables),
        reactions=tuple(reactions),
        obligations=tuple(declared["OBLIGATIONS"]),
        facts=tuple(declared["FACTS"]),
        actions=tuple(declared["ACTIONS"]),
        context=tuple(declared["CONTEXT"]),
        outputs=tuple(declared["OUTPUTS"]),
        calendars=tuple(calendars),
        opening_grace=tuple(grace),
    )


def _check_obligations_declared(modules: list[ModuleType], declared: list[Obligation]) -> None:
    """An obligation a rule module that declares ``OBLIGATIONS`` defines must be among them
    (in its own, or another module's): the obligations a policy declares are where its owner
    looks for them, and one left out would only be loaded if a reaction happened to name it."""
    for loaded in modules:
        if not hasattr(loaded, "OBLIGATIONS"):
            continue
        file = getattr(loaded, "__file__", None)
        for attribute, value in vars(loaded).items():
            # type(): a global's own __class__ (which may raise) is not asked
            if not issubclass(type(value), Obligation) or value in declared:
                continue
            location = value.defined_at
            if location is None or file is None or location.file != file:
                continue  # defined elsewhere and imported here
            raise PolicyDefinitionError(
                f"the obligation {attribute} ({value.id!r}) is defined here but not declared in "
                "OBLIGATIONS: add it to OBLIGATIONS (obligations are declared there)",
                module=loaded.__name__,
                file=location.file,
                line=location.line,
            )


def _own_outputs(loaded: ModuleType) -> list[tuple[str, str]]:
    """The module's ``OUTPUTS``: its own table outputs, name and description."""
    name = loaded.__name__
    outputs = getattr(loaded, "OUTPUTS", None)
    if outputs is not None and not isinstance(outputs, Mapping):
        raise PolicyDefinitionError(
            f"OUTPUTS is a {type(outputs).__name__}, expected a dict of output name: description",
            module=name,
        )
    found = []
    for output, description in (outputs or {}).items():
        if (
            not isinstance(output, str)
            or not ROW_ID.match(output)
            or not isinstance(description, str)
        ):
            raise PolicyDefinitionError(
                f"OUTPUTS: got {output!r}: {description!r}, expected a lower-case name and "
                "its description",
                module=name,
            )
        if output in ENGINE_OUTPUTS:
            raise PolicyDefinitionError(
                f"OUTPUTS: {output!r} is one of the engine's outputs", module=name
            )
        found.append((output, description))
    return found


def declared_items(loaded: ModuleType, attribute: str, kind: Any) -> tuple[Any, ...]:
    if kind is None:
        return ()
    declared = getattr(loaded, attribute, ())
    if not isinstance(declared, (tuple, list)):
        raise PolicyDefinitionError(
            f"{attribute} is a {type(declared).__name__}, expected a tuple",
            module=loaded.__name__,
        )
    for item in declared:
        if not isinstance(item, kind):
            raise PolicyDefinitionError(
                f"{attribute} holds {item!r}, expected {kind.__name__} objects",
                module=loaded.__name__,
            )
    return tuple(declared)


@contextlib.contextmanager
def importing(module: str, *, absent_is_callers: bool = False) -> Iterator[None]:
    """Importing a module of a policy package: whatever its code raises (a syntax error, a
    module it imports that is not there, an exception) is a :class:`PolicyDefinitionError`
    naming the file and line, not a crash. ``absent_is_callers``: the module itself not being
    there is left to the caller (as an ``ImportError``) to say so."""
    try:
        yield
    except PolicyDefinitionError as error:
        if error.file is not None:
            raise
        # One raised by the library while the module declares something (a calendar in an
        # unknown time zone): located at the policy's line that declared it.
        file, line = _policy_line(module, error)
        if file is None:
            raise
        raise PolicyDefinitionError(
            error.reason, module=error.module or module, rule=error.rule, file=file, line=line
        ) from None
    except ModuleNotFoundError as error:
        absent = bool(error.name) and (module == error.name or module.startswith(f"{error.name}."))
        if absent and absent_is_callers:
            raise
        if absent:
            raise PolicyDefinitionError(
                f"MODULES names {module!r}, which cannot be found: is it in the package's "
                "folder, under the package's name?",
                module=module,
            ) from None
        raise _import_failed(module, error) from None
    except Exception as error:
        raise _import_failed(module, error) from None


def _import_failed(module: str, error: BaseException | None) -> PolicyDefinitionError:
    file: str | None = None
    line: int | None = None
    if isinstance(error, SyntaxError):
        file, line = error.filename, error.lineno
    elif error is not None:
        file, line = _policy_line(module, error, library_too=True)
    reason = f"{type(error).__name__}: {error}" if error is not None else "it failed"
    return PolicyDefinitionError(
        f"the module cannot be imported ({reason})", module=module, file=file, line=line
    )


def _policy_line(
    module: str, error: BaseException, *, library_too: bool = False
) -> tuple[str | None, int | None]:
    """The last line of the policy's own code that ran before ``error``: of the module being
    imported or of its package, else of any code but the standard library's and this
    library's (a value the policy gave that a class of the vocabulary refused is the policy's
    line, not the class's); ``library_too``: else of this library's."""
    import sysconfig
    import traceback

    package = module.rpartition(".")[0]
    standard = os.path.dirname(os.__file__) + os.sep
    # Installed packages, the policy's and this library's among them, are not the standard
    # library's, though a Python installed without a virtual environment keeps them in a
    # folder of it (site-packages).
    paths = sysconfig.get_paths()
    installed = tuple({os.path.join(paths[key], "") for key in ("purelib", "platlib")})
    library = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
    found: list[tuple[str, int | None]] = [("", None)] * 3  # the policy's, other, the library's
    for frame, number in traceback.walk_tb(error.__traceback__):
        file = frame.f_code.co_filename
        if file.startswith("<"):
            continue
        name = str(frame.f_globals.get("__name__", ""))
        if name == module or (package and (name == package or name.startswith(f"{package}."))):
            found[0] = (file, number)
        elif file.startswith(standard) and not file.startswith(installed):
            continue
        elif not os.path.abspath(file).startswith(library):
            found[1] = (file, number)
        else:
            found[2] = (file, number)
    for file, line in found if library_too else found[:2]:
        if file:
            return file, line
    return None, None


def package_modules(package: str | os.PathLike[str]) -> tuple[str, ...]:
    """The ``MODULES`` of a policy package given by module name or by folder."""
    if os.path.isdir(os.fspath(package) or "."):  # as pathlib reads "": the current folder
        import pathlib
        from importlib.util import module_from_spec, spec_from_file_location

        folder = pathlib.Path(package)
        init = folder / "__init__.py"
        if not init.is_file():
            raise PolicyDefinitionError(
                f"{folder} is not a policy package: expected an __init__.py declaring MODULES"
            )
        name = folder.resolve().name
        _check_name_is_free(name, folder, init.resolve())
        loaded = sys.modules.get(name)
        if loaded is None or _file_of(loaded) != init.resolve():
            spec = spec_from_file_location(
                name, init.resolve(), submodule_search_locations=[str(folder.resolve())]
            )
            if spec is None or spec.loader is None:
                raise PolicyDefinitionError(f"cannot load the policy package in {folder}")
            loaded = module_from_spec(spec)
            for stale in [key for key in sys.modules if key.startswith(f"{name}.")]:
                del sys.modules[stale]  # rule modules of a package of that name elsewhere
            sys.modules[name] = loaded  # its rule modules import as name.module
            with importing(name):
                spec.loader.exec_module(loaded)
    else:
        text = os.fspath(package)
        try:
            with importing(text, absent_is_callers=True):
                loaded = importlib.import_module(text)
        except ImportError as error:
            raise PolicyDefinitionError(
                f"no policy package {text!r}: expected an importable module or a folder ({error})"
            ) from None
    modules = getattr(loaded, "MODULES", None)
    if not isinstance(modules, (tuple, list)) or not modules:
        raise PolicyDefinitionError(
            "a policy package declares MODULES, its rule modules in order",
            module=loaded.__name__,
        )
    return tuple(modules)


def _file_of(module: ModuleType) -> "pathlib.Path | None":
    import pathlib

    file = getattr(module, "__file__", None)
    return pathlib.Path(file).resolve() if isinstance(file, str) and file else None


def _check_name_is_free(name: str, folder: "pathlib.Path", init: "pathlib.Path") -> None:
    """A folder loads as the package of its name, which its rule modules import by: refused
    when that name is another module's (``--policy ./json``), which the package would replace
    for the whole process. A policy package of that name loaded before, from another folder
    (an edited copy), may be replaced."""
    loaded = sys.modules.get(name)
    if loaded is not None:
        if _file_of(loaded) == init or hasattr(loaded, "MODULES"):
            return
        where: object = _file_of(loaded) or "built in"
    elif "." in name:
        return  # not a name an import statement reaches
    else:
        import pathlib
        from importlib.util import find_spec

        try:
            spec = find_spec(name)
        except (ImportError, ValueError):
            spec = None
        if spec is None:
            return
        origin = spec.origin if spec.has_location else None
        if origin is not None and pathlib.Path(origin).resolve() == init:
            return
        where = origin or "built in"
    raise PolicyDefinitionError(
        f"{folder} would load as the package {name!r}, which is the name of another module "
        f"({where}): loading it would replace that module in this process. Rename the folder "
        "(and the module names in its MODULES)"
    )
