"""The package's layers: no import cycle anywhere, and a pure core that never imports Spark.

Every import statement is an arrow, including those inside functions (a lazy import is still an
arrow); only imports under `if TYPE_CHECKING:` (type hints) are not. `from a.b import c` points at
the module `a.b.c` when there is one, else at `a.b`.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "pyspark_synth"
ROOT = "pyspark_synth"

# the pure core: models, transformers, metadata, specs, planning, the kernel, privacy rules
CORE_PREFIXES = (
    "pyspark_synth.errors", "pyspark_synth.seeds", "pyspark_synth._log", "pyspark_synth._version",
    "pyspark_synth.metadata", "pyspark_synth.spec", "pyspark_synth.kernel", "pyspark_synth.coercion",
    "pyspark_synth.training", "pyspark_synth.distributed",
    "pyspark_synth.transformers", "pyspark_synth.models", "pyspark_synth.relational", "pyspark_synth.privacy",
)
# modules kept at an old path so earlier code runs (with a DeprecationWarning); nothing imports them
DEPRECATED_ALIASES = {
    "pyspark_synth.relational.fit", "pyspark_synth.relational.generate", "pyspark_synth.relational.sampling",
    "pyspark_synth.spark.detect", "pyspark_synth.spark.scrub", "pyspark_synth.spark.fit",
    "pyspark_synth.spark.sample", "pyspark_synth.spark.generate", "pyspark_synth.relational.keys",
}
# arrows that exist only for a deprecated re-export (to be removed with it)
DEPRECATED_ARROWS = {("pyspark_synth.privacy", "pyspark_synth.spark.pii")}


def _modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(PACKAGE.parent).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


MODULES = _modules()


def _type_checking_lines(tree: ast.AST) -> set[int]:
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.body:
                lines.update(range(child.lineno, (child.end_lineno or child.lineno) + 1))
    return lines


def _target(name: str, attribute: str | None = None) -> str | None:
    """The package module an import points at: `name.attribute` when that is a module, else `name`."""
    if attribute is not None and f"{name}.{attribute}" in MODULES:
        return f"{name}.{attribute}"
    return name if name in MODULES else None


def imports() -> dict[str, set[str]]:
    """`{module: modules and external top-level packages it imports}` for every package module."""
    graph: dict[str, set[str]] = {}
    for module, path in MODULES.items():
        tree = ast.parse(path.read_text())
        hints = _type_checking_lines(tree)
        arrows: set[str] = set()
        for node in ast.walk(tree):
            if getattr(node, "lineno", None) in hints:
                continue
            found: list[tuple[str, str | None]] = []
            if isinstance(node, ast.Import):
                found = [(a.name, None) for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found = [(node.module, a.name) for a in node.names]
            for name, attribute in found:
                if name == ROOT or name.startswith(ROOT + "."):
                    target = _target(name, attribute)
                    if target and target != module:
                        arrows.add(target)
                else:
                    arrows.add(name.split(".")[0])
        graph[module] = arrows
    return graph


GRAPH = imports()


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in graph:
                continue
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    sys.setrecursionlimit(10_000)
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def _is_core(module: str) -> bool:
    return module not in DEPRECATED_ALIASES and any(module == p or module.startswith(p + ".") for p in CORE_PREFIXES)


def test_no_module_takes_part_in_an_import_cycle():
    graph = {m: {t for t in arrows if (m, t) not in DEPRECATED_ARROWS} for m, arrows in GRAPH.items()
             if m not in DEPRECATED_ALIASES}
    assert _cycles(graph) == []


def test_the_walk_finds_lazy_imports_and_cycles():
    # the checks above can fail: a function-level import is an arrow, and a loop is found
    assert "pyspark_synth.spark.pii" in GRAPH["pyspark_synth.spark.accessors"]  # imported inside methods
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_the_core_imports_neither_spark_nor_the_spark_layer():
    bad = {m: sorted(t for t in arrows if t == "pyspark" or (t.startswith(ROOT + ".") and not _is_core(t))
                     and (m, t) not in DEPRECATED_ARROWS)
           for m, arrows in GRAPH.items() if _is_core(m)}
    assert {m: v for m, v in bad.items() if v} == {}


def test_nothing_imports_the_deprecated_aliases():
    users = {m: sorted(arrows & DEPRECATED_ALIASES) for m, arrows in GRAPH.items()}
    assert {m: v for m, v in users.items() if v} == {}


def test_module_names_say_what_they_are():
    # no two modules of the same name in different packages (package __init__ files aside), but
    # the contract of a package (`base`) where the package makes the difference obvious
    names: dict[str, list[str]] = {"base": []}
    for module, path in MODULES.items():
        if path.name != "__init__.py" and module not in DEPRECATED_ALIASES:
            names.setdefault(module.rsplit(".", 1)[-1], []).append(module)
    assert sorted(names.pop("base")) == ["pyspark_synth.models.base", "pyspark_synth.transformers.base"]
    assert {n: m for n, m in names.items() if len(m) > 1} == {}


def test_every_module_says_its_job_in_its_first_docstring_line():
    missing = [m for m, p in MODULES.items() if not (ast.get_docstring(ast.parse(p.read_text())) or "").strip()]
    assert missing == []


def test_core_modules_import_without_pyspark():
    core = sorted(m for m in MODULES if _is_core(m))
    # the root package's __init__ registers the Spark accessors: load the core without running it
    script = f"""
import importlib, json, sys, types
root = types.ModuleType("pyspark_synth")
root.__path__ = [{str(PACKAGE)!r}]
sys.modules["pyspark_synth"] = root
loaded = {{}}
for name in {core!r}:
    importlib.import_module(name)
    loaded[name] = sorted(m for m in sys.modules if m == "pyspark" or m.startswith("pyspark."))
print(json.dumps(loaded))
"""
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    loaded = json.loads(out.stdout.strip().splitlines()[-1])
    assert set(loaded) == set(core) and len(core) > 40
    assert {m: v for m, v in loaded.items() if v} == {}
