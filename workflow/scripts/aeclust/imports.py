"""Which of the library's modules a script runs: its imports of ``aeclust``, followed
through the package.

Snakemake tracks a rule's script, not the modules the script imports; the workflow
makes those modules inputs of the rule (``lib_for`` in common.smk), computed here from
the source: every import statement counts, at module level and inside functions,
absolute (``import aeclust.x``, ``from aeclust.x import y``, ``from aeclust import x``)
and relative within the package (``from .x import y``, ``from . import x``). Imports
built at run time (``importlib``) are not seen; the library has none.

Stdlib only, and the sources come from a caller's reader: the workflow runs this at
parse time, before any job, also when it is a module whose files are fetched from a URL.
"""

from __future__ import annotations

import ast
from collections.abc import Callable

PACKAGE = "aeclust"

# A reader: the source of the package's module ``name`` (``"io"`` for io.py), or None
# when the package has no such module (``from aeclust import x`` may name a function).
Reader = Callable[[str], "str | None"]


def direct_imports(source: str, in_package: bool, filename: str = "<script>") -> set[str]:
    """Names of the package's modules that ``source`` names in an import anywhere in it.

    ``in_package``: the source is a module of the package, so relative imports
    (``from .x import y``) are the package's. A name may be a function or class of the
    package's ``__init__`` (``from aeclust import x``): :func:`closure` drops those.
    """
    found: set[str] = set()
    for node in ast.walk(ast.parse(source, filename=filename)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == PACKAGE and len(parts) > 1:
                    found.add(parts[1])
        elif isinstance(node, ast.ImportFrom):
            parts = (node.module or "").split(".") if node.module else []
            if node.level == 0 and parts[:1] == [PACKAGE]:
                rest = parts[1:]
            elif node.level == 1 and in_package:
                rest = parts
            else:
                continue
            found |= {rest[0]} if rest else {a.name for a in node.names if a.name != "*"}
    return found


def closure(script_source: str, read: Reader, filename: str = "<script>") -> list[str]:
    """The package's modules a script runs, sorted: its own imports of the package and,
    transitively, theirs. ``read(name)`` gives a module's source (None: no such module).
    ``__init__`` is not listed: importing any module runs it, and it holds no code."""
    sources: dict[str, str] = {}
    todo = sorted(direct_imports(script_source, in_package=False, filename=filename))
    while todo:
        name = todo.pop()
        if name in sources or name == "__init__":
            continue
        source = read(name)
        if source is None:
            continue
        sources[name] = source
        todo += sorted(direct_imports(source, in_package=True, filename=f"{PACKAGE}/{name}.py"))
    return sorted(sources)


def graph(modules: list[str], read: Reader) -> dict[str, set[str]]:
    """Module -> the package's modules it imports (at module level or inside functions)."""
    known = set(modules)
    return {
        m: {d for d in direct_imports(read(m) or "", in_package=True, filename=f"{m}.py") if d in known}
        for m in modules
    }


def find_cycle(edges: dict[str, set[str]]) -> list[str]:
    """One import cycle (``[a, b, a]``: a imports b imports a), or [] when there is none."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str]:
        state[node] = 1
        path.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt) :] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        path.pop()
        state[node] = 2
        return []

    for start in sorted(edges):
        if start not in state:
            found = visit(start)
            if found:
                return found
    return []
