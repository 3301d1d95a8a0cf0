"""The code a sweep cell runs, as a hash: the key under which its saved result is reused.

A saved cell is reused only while the code it ran is unchanged. "The code it ran" is the source of
the module that defines the cell function and of every module it imports, directly or through
others, from its own top-level package or from ``theorycheck``: editing a simulator a cell calls
starts that cell afresh, while editing the report's style or another paper's code keeps it. A
paper outside the package (a user's own module) is hashed the same way.

Imports are read from the source with :mod:`ast` (nothing is executed); an import inside a function
counts as well. The parent packages' ``__init__`` modules are not followed unless imported by name:
they hold catalogue entries and re-exports, not the cell's computation. Modules that cannot be found as source files (extensions, the standard library,
third-party packages) are not part of the hash: their versions are recorded in each result instead.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import importlib.util
from pathlib import Path

__all__ = ["code_hash", "code_modules"]


def _source_path(module: str) -> Path | None:
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError, AttributeError):
        return None
    if spec is None or not spec.origin or not spec.origin.endswith(".py"):
        return None
    return Path(spec.origin)


def _is_module(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError, AttributeError):
        return False


def _imported(module: str, path: Path, roots: set[str]) -> set[str]:
    """Absolute names of the modules ``module`` (source at ``path``) imports from ``roots``.

    ``from package import name`` counts as an import of the submodule ``package.name`` when there is
    one, and of ``package`` itself only for names that are not submodules.
    """
    is_package = path.name == "__init__.py"
    package = module if is_package else module.rpartition(".")[0]
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_bytes(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[:len(parts) - node.level + 1])
                base = f"{base}.{node.module}" if node.module else base
            else:
                base = node.module or ""
            if base.split(".")[0] not in roots:
                continue
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                names.add(sub if alias.name != "*" and _is_module(sub) else base)
    return names


@functools.lru_cache(maxsize=None)
def code_modules(module: str) -> tuple[tuple[str, str], ...]:
    """``(module name, source path)`` of ``module`` and everything it imports from its own top-level
    package or from ``theorycheck``, transitively; sorted by name."""
    roots = {module.split(".")[0], "theorycheck"}
    seen: dict[str, Path] = {}
    todo = [module]
    while todo:
        name = todo.pop()
        if name in seen or name.split(".")[0] not in roots:
            continue
        path = _source_path(name)
        if path is None:
            continue
        seen[name] = path
        todo.extend(_imported(name, path, roots))
    return tuple(sorted((k, str(v)) for k, v in seen.items()))


@functools.lru_cache(maxsize=None)
def code_hash(module: str) -> str:
    """16 hex digits of SHA-256 over the names and sources of :func:`code_modules` of ``module``."""
    h = hashlib.sha256()
    for name, path in code_modules(module):
        h.update(name.encode() + b"\0" + Path(path).read_bytes() + b"\0")
    return h.hexdigest()[:16]
