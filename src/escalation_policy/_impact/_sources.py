"""The two policies an impact compares, named so that another process can load them again: a
package by module name or folder, the handbook's, or a package as a git revision had it."""

import contextlib
import importlib
import importlib.util
import io
import os
import pathlib
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Iterator, Mapping
from types import ModuleType

import attrs

from escalation_policy.errors import InputError, PolicyDefinitionError
from escalation_policy.policy import Policy, default_policy, load_policy
from escalation_policy.policy.packages import importing

__all__ = ["HANDBOOK", "PolicySource", "base_source"]

HANDBOOK = "escalation_policy.rules"
"""The handbook's policy package."""


@attrs.frozen(kw_only=True)
class PolicySource:
    """Where a policy comes from: ``package`` (a module name or a folder; ``None``: the
    handbook's), with ``settings``; or ``archive``, a folder holding a copy of a package as a
    git revision had it, which imports as the module ``name``."""

    package: str | None = None
    settings: tuple[tuple[str, object], ...] = ()
    archive: str | None = None
    name: str | None = None
    revision: str | None = None
    """The git revision the archive was taken from, to name it."""

    def load(self) -> Policy:
        settings = dict(self.settings)
        if self.archive is not None and self.name is not None:
            return _load_archived(pathlib.Path(self.archive), self.name, settings)
        if self.package is None and not settings:
            return default_policy()
        return load_policy(self.package or HANDBOOK, settings=settings)

    def describe(self) -> str:
        """How the command line names it."""
        what = self.package or "the handbook's policy"
        if self.revision is not None:
            return f"{what} at {self.revision}"
        return what


@contextlib.contextmanager
def base_source(text: str, package: str | None) -> Iterator[PolicySource]:
    """The base policy ``text`` names: ``handbook``, a package (module name or folder), or
    ``git:REV`` (the package ``package`` names, by default the handbook's, as the git revision
    ``REV`` had it) or ``git:REV:PACKAGE``. A revision's copy lives in a temporary folder
    while the context lasts."""
    if text == "handbook":
        yield PolicySource()
        return
    if not text.startswith("git:"):
        yield PolicySource(package=text)
        return
    revision, _, named = text[len("git:") :].partition(":")
    if not revision:
        raise InputError(
            f"got {text!r}, expected git:REV, such as git:HEAD~1 or git:main", path="base"
        )
    package = named or package or HANDBOOK
    folder, name = _package_folder(package)
    with tempfile.TemporaryDirectory(prefix="escalation-policy-base-") as temporary:
        archive = _archive(folder, revision, pathlib.Path(temporary))
        yield PolicySource(archive=str(archive), name=name, revision=revision, package=package)


def _package_folder(package: str) -> tuple[pathlib.Path, str]:
    """The folder of a policy package named by module or folder, and the module name its rule
    modules import it by."""
    folder = pathlib.Path(package)
    if folder.is_dir():
        return folder.resolve(), folder.resolve().name
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        spec = None
    locations = list(spec.submodule_search_locations or ()) if spec is not None else []
    if not locations:
        raise InputError(
            f"no policy package {package!r} to take from git: expected a package's module "
            "name or folder",
            path="base",
        )
    return pathlib.Path(locations[0]).resolve(), package


def _git(folder: pathlib.Path, *arguments: str) -> bytes:
    try:
        done = subprocess.run(
            ["git", "-C", str(folder), *arguments], capture_output=True, check=False
        )
    except OSError as error:
        raise InputError(f"cannot run git: {error.strerror or error}", path="base") from None
    if done.returncode != 0:
        message = " ".join(done.stderr.decode("utf-8", "replace").split())
        raise InputError(f"git {arguments[0]}: {message or 'failed'}", path="base")
    return done.stdout


def _archive(folder: pathlib.Path, revision: str, into: pathlib.Path) -> pathlib.Path:
    """The package in ``folder`` as ``revision`` had it, written under ``into``."""
    top = pathlib.Path(_git(folder, "rev-parse", "--show-toplevel").decode().strip()).resolve()
    relative = folder.relative_to(top).as_posix()
    try:
        _git(top, "rev-parse", "--verify", "--quiet", f"{revision}^{{commit}}")
    except InputError:
        raise InputError(
            f"the git repository {top} has no revision {revision!r}; expected a commit, "
            "a branch or a tag",
            path="base",
        ) from None
    data = _git(top, "archive", "--format=tar", revision, "--", relative)
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        if hasattr(tarfile, "data_filter"):
            archive.extractall(into, filter="data")
        else:  # Python before 3.10.12: git's own archive of a tree, no links out of it
            archive.extractall(into)
    copy = into / relative
    if not (copy / "__init__.py").is_file():
        raise InputError(
            f"{relative} at {revision} is not a policy package: it has no __init__.py",
            path="base",
        )
    return copy


def _load_archived(folder: pathlib.Path, name: str, settings: Mapping[str, object]) -> Policy:
    """Load the copy of a package in ``folder`` as the module ``name`` it imports itself by,
    in place of the package of that name for as long as it loads: the modules of the one in
    use are put back after, and the loaded policy keeps what it needs of the copy."""
    if name == HANDBOOK:
        default_policy()  # loaded (and kept) before its modules make way for the copy's
    inside = [key for key in sys.modules if key == name or key.startswith(f"{name}.")]
    saved = {key: sys.modules.pop(key) for key in inside}
    parent_name, _, leaf = name.rpartition(".")
    parent = sys.modules.get(parent_name) if parent_name else None
    attribute = getattr(parent, leaf, None) if parent is not None else None
    try:
        package = _import_copy(folder, name)
        modules = getattr(package, "MODULES", None)
        if not isinstance(modules, (tuple, list)) or not modules:
            raise PolicyDefinitionError(
                "a policy package declares MODULES, its rule modules in order", module=name
            )
        policy = load_policy(list(modules), settings=settings)
        _ = policy.identity  # read while its source is there to be read
        return policy
    finally:
        for key in [key for key in sys.modules if key == name or key.startswith(f"{name}.")]:
            del sys.modules[key]
        sys.modules.update(saved)
        if parent is not None:
            if attribute is None:
                with contextlib.suppress(AttributeError):
                    delattr(parent, leaf)
            else:
                setattr(parent, leaf, attribute)


def _import_copy(folder: pathlib.Path, name: str) -> ModuleType:
    init = folder / "__init__.py"
    spec = importlib.util.spec_from_file_location(
        name, init, submodule_search_locations=[os.fspath(folder)]
    )
    if spec is None or spec.loader is None:
        raise PolicyDefinitionError(f"cannot load the policy package in {folder}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    with importing(name):
        spec.loader.exec_module(module)
    importlib.invalidate_caches()
    return module
