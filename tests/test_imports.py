"""The import walker that decides which library modules each rule tracks, and the
library's import graph: no cycles, function-level imports included."""

from __future__ import annotations

from aeclust.imports import closure, direct_imports, find_cycle, graph
from conftest import REPO

LIBRARY = REPO / "workflow" / "scripts" / "aeclust"
SCRIPTS = REPO / "workflow" / "scripts"


def read_library(name: str) -> str | None:
    path = LIBRARY / f"{name}.py"
    return path.read_text() if path.is_file() else None


def test_every_kind_of_import_counts():
    script = (
        "import numpy\n"
        "import aeclust.io\n"
        "import aeclust.models as m\n"
        "from aeclust.train import fit\n"
        "from aeclust import plots, __version__\n"
        "from aeclust.x.y import z\n"
        "def f():\n"
        "    from aeclust.cluster import kmeans\n"
        "    class C:\n"
        "        def g(self):\n"
        "            import aeclust.metrics\n"
        "from .local import q\n"  # a script's relative import is not the package's
        "import aeclust\n"
    )
    assert direct_imports(script, in_package=False) == {
        "io",
        "models",
        "train",
        "plots",
        "__version__",
        "x",
        "cluster",
        "metrics",
    }


def test_relative_imports_inside_the_package():
    module = "from .io import save\nfrom . import methods, study\ndef f():\n    from .claims import check\n"
    assert direct_imports(module, in_package=True) == {"io", "methods", "study", "claims"}
    assert direct_imports(module, in_package=False) == set()  # not the package's own: nothing
    assert direct_imports("from ..other import x\nfrom .. import y\n", in_package=True) == set()


def test_closure_follows_the_package_and_skips_what_is_no_module():
    files = {
        "a": "from .b import x\n",
        "b": "def f():\n    from . import c\n",  # only inside a function: still run
        "c": "import numpy\nfrom .a import y\n",  # back to a: visited once
        "d": "",  # never imported
    }
    script = "from aeclust.a import y\nfrom aeclust import helper\nimport aeclust.c\n"
    assert closure(script, files.get) == ["a", "b", "c"]
    assert closure("import numpy\n", files.get) == []
    assert closure("from aeclust import __init__\n", files.get) == []


def test_graph_and_cycles():
    files = {"a": "from .b import x\n", "b": "def f():\n    from .a import y\n", "c": "from . import a\n"}
    edges = graph(sorted(files), files.get)
    assert edges == {"a": {"b"}, "b": {"a"}, "c": {"a"}}
    assert find_cycle(edges) == ["a", "b", "a"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set(), "d": {"a", "c"}}) == []
    assert find_cycle({"a": {"a"}}) == ["a", "a"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"d"}, "d": {"b"}}) == ["b", "c", "d", "b"]


def test_library_has_no_import_cycle():
    """No module of aeclust imports, directly or through others, one that imports it back,
    at module level or inside a function."""
    modules = sorted(p.stem for p in LIBRARY.glob("*.py") if p.stem != "__init__")
    edges = graph(modules, read_library)
    assert sum(map(len, edges.values())) > 20  # the walker sees the library's imports
    assert find_cycle(edges) == [], " -> ".join(find_cycle(edges))


def test_every_rule_script_reaches_only_real_modules():
    """Each rule script's closure names files that exist, and the scripts that train
    networks reach the model code: what lib_for tracks for their rules."""
    scripts = {p.stem: closure(p.read_text(), read_library) for p in SCRIPTS.glob("*.py")}
    assert {"train_autoencoder", "summarize", "cluster_kmeans"} <= scripts.keys()
    for name, modules in scripts.items():
        assert all((LIBRARY / f"{m}.py").is_file() for m in modules), name
    assert {"models", "train", "io", "runtime"} <= set(scripts["train_autoencoder"])
    assert "models" not in scripts["summarize"] and "claims" in scripts["summarize"]
