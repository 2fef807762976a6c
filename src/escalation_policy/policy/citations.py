"""The handbook sections rules cite: each citation names a declared section, and every declared
section is cited by some rule."""

import importlib
import linecache
from collections.abc import Iterable, Mapping, Sequence
from types import ModuleType
from typing import Any

import attrs

from escalation_policy.errors import PolicyDefinitionError, did_you_mean


@attrs.frozen
class Sections:
    """The sections rules may cite, and who declared each (a package, or ``None``)."""

    declared_by: Mapping[str, ModuleType | None]


def declared_sections(module_names: Sequence[str]) -> Sections:
    """The ``SECTIONS`` of the packages the rule modules are in."""
    declared_by: dict[str, ModuleType | None] = {}
    for name in dict.fromkeys(n.rpartition(".")[0] for n in module_names if "." in n):
        try:
            package = importlib.import_module(name)
        except ImportError:  # an edited copy of a module may name a package that is not there
            continue
        sections = getattr(package, "SECTIONS", None)
        if sections is None:
            continue
        for section in _valid_sections(sections, name):
            declared_by.setdefault(section, package)
    if not declared_by:
        raise PolicyDefinitionError(
            "no sections declared: the rule modules' package declares the handbook sections "
            "its rules cite (SECTIONS = ('Scope', 'Scope > Subheading', ...)), "
            "or load_policy(..., sections=...) names them"
        )
    return Sections(declared_by=declared_by)


def given_sections(sections: Iterable[str]) -> Sections:
    if isinstance(sections, str):
        raise PolicyDefinitionError(
            f"sections is the text {sections!r}, expected a tuple of section names"
        )
    return Sections(declared_by=dict.fromkeys(_valid_sections(tuple(sections), None)))


def _valid_sections(sections: object, package: str | None) -> tuple[str, ...]:
    if not isinstance(sections, (tuple, list, frozenset, set)) or not sections:
        raise PolicyDefinitionError(
            f"SECTIONS is {sections!r}, expected a non-empty tuple of section names", module=package
        )
    seen: set[str] = set()
    for section in sections:
        if not isinstance(section, str) or not section.strip() or ";" in section:
            raise PolicyDefinitionError(
                f"section {section!r} is not a heading such as 'Scope' or "
                "'Responsibilities > Critical and High Level Issues' (without ';')",
                module=package,
            )
        if section in seen:
            raise PolicyDefinitionError(f"section {section!r} is declared twice", module=package)
        seen.add(section)
    return tuple(sections)


def check_citation(citation: object, declared: Sections, module: str, rule: str) -> list[str]:
    """The sections ``citation`` names (``"A; B > C"``), each one declared."""
    if not isinstance(citation, str) or not citation.strip():
        raise PolicyDefinitionError(
            f"cites is {citation!r}, expected non-empty text", module=module, rule=rule
        )
    parts = [part.strip() for part in citation.split(";")]
    for part in parts:
        if part not in declared.declared_by:
            # "Heading > Subheading": a subheading of the same heading is the likelier fix.
            heading = part.rpartition(" > ")[0]
            siblings = [
                s for s in declared.declared_by if heading and s.startswith(f"{heading} > ")
            ]
            hint = did_you_mean(part, siblings) or did_you_mean(part, declared.declared_by)
            raise PolicyDefinitionError(
                f"cites {part!r}, which is not a section the policy declares (SECTIONS){hint}"
                if part
                else f"cites {citation!r}, which has an empty section; sections are separated "
                "by '; '",
                module=module,
                rule=rule,
            )
    return parts


def check_all_cited(declared: Sections, cited: set[str]) -> None:
    for section, package in declared.declared_by.items():
        if section in cited:
            continue
        where: dict[str, Any] = {}
        file = getattr(package, "__file__", None)
        if isinstance(file, str):
            quoted = (f'"{section}"', f"'{section}'")
            lines = linecache.getlines(file)
            numbers = [n for n, text in enumerate(lines, 1) if any(q in text for q in quoted)]
            where = {"file": file, "line": numbers[0] if numbers else None}
        raise PolicyDefinitionError(
            f"section {section!r} is declared but no rule cites it: a rule that encodes it is "
            "missing (is its module left out?), or the section should not be declared",
            module=getattr(package, "__name__", None),
            **where,
        )
