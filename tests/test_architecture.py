"""The architecture, held by tests: layers, import graph, module and function size.

Read from the source with :mod:`ast` (no module is imported), so a broken or slow import
cannot hide a violation. The layers, lowest first (docs/ARCHITECTURE.md draws them)::

    core < io < stages < engines < present < publish        kit/datasets.py: a tool (core only)

* a module imports only from its own layer or the layers below it (nothing imports upward;
  stages never import engines, present or publish; present never imports publish);
* the modules import no cycle (``if TYPE_CHECKING:`` imports excluded: they never run);
* imports stand at module level: none inside a function, method or class, except the
  optional heavy dependencies in :data:`LAZY_IMPORTS`;
* no module in kit/ is longer than :data:`MAX_MODULE_LINES` lines and no function longer
  than :data:`MAX_FUNCTION_LINES`, except the entries of :data:`SIZE_EXCEPTIONS`;
* stage modules import no plotting, notebook or HTML library and take no ``lang``;
* every ``docs/*.md`` the code points a reader to exists.

Why a test over ``ast`` and not import-linter: import-linter's ``layers`` contract covers
only the first rule; the other rules need this walk of the syntax tree anyway, and one file
with one graph is easier to read than a contract in pyproject.toml plus a test, with no
extra dependency. ``test_checker_catches_violations`` shows on a small broken package that
every check fails when it should.
"""
from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
KIT = ROOT / "kit"

#: The layers, lowest first. A module may import from its own layer and the ones before it.
LAYERS = ("core", "io", "stages", "engines", "present", "publish")
#: Top-level modules of kit/ outside the layers, and the layers they may import.
TOOLS = {"datasets": ("core",)}

#: Imports allowed inside a function: optional heavy dependencies that a user may not have
#: installed, imported only on the code path that needs them. Keep it short.
LAZY_IMPORTS = {
    "pyspark": "optional extra [spark]: needs a Java runtime; only the Spark engine imports it",
}

#: Size limits (issue 11): split a longer module into a subpackage, a longer function into steps.
MAX_MODULE_LINES = 600
MAX_FUNCTION_LINES = 80
#: ``"kit/path.py"`` (a module) or ``"kit/path.py::Class.function"`` -> why it must be longer.
#: Starts empty; an entry needs the maintainer's consent and a reason a reader can check.
SIZE_EXCEPTIONS: dict[str, str] = {}

#: Libraries a stage (pure computation) never imports: drawing, notebook display, HTML.
#: seaborn draws through matplotlib, so it counts as plotting.
STAGE_FORBIDDEN = ("matplotlib", "seaborn", "IPython", "html")
#: Parameter names that would make a stage speak a language.
LANGUAGE_PARAMETERS = ("lang", "language")


# ---- reading the package ----------------------------------------------------------------
@dataclass
class Import:
    target: str  # imported module, dotted (a kit module resolved to its file's module)
    line: int
    in_function: str | None  # qualified name of the enclosing function/class, if any
    type_checking: bool  # under ``if TYPE_CHECKING:``


@dataclass
class Module:
    name: str  # kit.stages.clean
    path: Path
    rel: str  # kit/stages/clean.py
    tree: ast.Module = field(repr=False)
    lines: int = 0
    imports: list[Import] = field(default_factory=list, repr=False)

    @property
    def is_package(self) -> bool:
        return self.path.name == "__init__.py"


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _resolve_from(mod: Module, node: ast.ImportFrom, names: set[str]) -> list[str]:
    """Modules an ``from X import a, b`` statement loads: ``X.a`` when it is a module of the
    package, else ``X``."""
    if node.level:
        base = mod.name.split(".") if mod.is_package else mod.name.split(".")[:-1]
        base = base[: len(base) - (node.level - 1)] if node.level > 1 else base
        pkg = ".".join(base + ([node.module] if node.module else []))
    else:
        pkg = node.module or ""
    out = []
    for alias in node.names:
        sub = f"{pkg}.{alias.name}"
        out.append(sub if sub in names else pkg)
    return out


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _collect_imports(mod: Module, names: set[str]) -> None:
    def visit(node: ast.AST, scope: list[str], type_checking: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                visit(child, scope + [child.name], type_checking)
                continue
            if isinstance(child, ast.Lambda):
                visit(child, scope + ["<lambda>"], type_checking)
                continue
            if isinstance(child, ast.If) and _is_type_checking(child.test):
                for stmt in child.body:
                    visit(ast.Module(body=[stmt], type_ignores=[]), scope, True)
                for stmt in child.orelse:
                    visit(ast.Module(body=[stmt], type_ignores=[]), scope, type_checking)
                continue
            where = ".".join(scope) or None
            if isinstance(child, ast.Import):
                for alias in child.names:
                    target = alias.name
                    while target.startswith("kit.") and target not in names and "." in target:
                        target = target.rsplit(".", 1)[0]
                    mod.imports.append(Import(target, child.lineno, where, type_checking))
            elif isinstance(child, ast.ImportFrom):
                for target in dict.fromkeys(_resolve_from(mod, child, names)):
                    mod.imports.append(Import(target, child.lineno, where, type_checking))
            visit(child, scope, type_checking)

    visit(mod.tree, [], False)


def load_package(root: Path = KIT) -> dict[str, Module]:
    """Every module under ``root`` (a package directory), parsed, with its imports."""
    mods: dict[str, Module] = {}
    for path in sorted(root.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        name = module_name(path, root)
        rel = path.relative_to(root.parent).as_posix()
        mods[name] = Module(name, path, rel, ast.parse(text, filename=str(path)), len(text.splitlines()))
    names = set(mods)
    for mod in mods.values():
        _collect_imports(mod, names)
    return mods


def layer_of(name: str, top: str = "kit") -> str:
    """``core`` ... ``publish``, a tool's name, ``<root>`` for the package itself, or ``?``."""
    parts = name.split(".")
    if parts == [top]:
        return "<root>"
    first = parts[1]
    if first in LAYERS or first in TOOLS:
        return first
    return "?"


def internal_imports(mod: Module, top: str = "kit") -> list[Import]:
    return [i for i in mod.imports if i.target == top or i.target.startswith(top + ".")]


# ---- the checks (each returns a list of readable violations) ------------------------------
def layer_violations(mods: dict[str, Module], top: str = "kit") -> list[str]:
    out = []
    for mod in mods.values():
        src = layer_of(mod.name, top)
        if src == "?":
            out.append(f"{mod.rel}: not in a layer ({', '.join(LAYERS)}) nor a tool ({', '.join(TOOLS)})")
            continue
        for imp in internal_imports(mod, top):
            dst = layer_of(imp.target, top)
            if src == "<root>":
                if dst != "<root>":
                    out.append(f"{mod.rel}:{imp.line}: the package root imports {imp.target} (it must import nothing of its own)")
                continue
            if dst == "<root>" or dst == src:
                continue
            if dst in TOOLS:
                out.append(f"{mod.rel}:{imp.line}: imports the tool {imp.target} (tools are not a layer: nothing imports them)")
            elif src in TOOLS:
                if dst not in TOOLS[src]:
                    out.append(f"{mod.rel}:{imp.line}: the tool {src} may import only {', '.join(TOOLS[src])}, not {imp.target}")
            elif dst == "?":
                out.append(f"{mod.rel}:{imp.line}: imports {imp.target}, which is in no layer")
            elif LAYERS.index(dst) > LAYERS.index(src):
                out.append(f"{mod.rel}:{imp.line}: {src} imports upward from {dst}: {imp.target}")
    return out


def cycles(mods: dict[str, Module], top: str = "kit") -> list[list[str]]:
    """Strongly connected components (size > 1, or a self-import) of the runtime import graph."""
    graph = {
        m.name: sorted({i.target for i in internal_imports(m, top) if not i.type_checking and i.target in mods})
        for m in mods.values()
    }
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = [0]

    def strongconnect(v: str) -> None:  # Tarjan, iterative enough for a package this size
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                strongconnect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1 or v in graph[v]:
                found.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            strongconnect(v)
    return found


def nested_imports(mods: dict[str, Module]) -> list[str]:
    out = []
    for mod in mods.values():
        for imp in mod.imports:
            if imp.in_function is None:
                continue
            if imp.target.split(".")[0] in LAZY_IMPORTS:
                continue
            out.append(f"{mod.rel}:{imp.line}: import of {imp.target} inside {imp.in_function}")
    return out


def functions(tree: ast.AST):
    """``(qualified name, first line, line count)`` of every function and method."""

    def visit(node: ast.AST, scope: list[str]):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                q = scope + [child.name]
                yield ".".join(q), child.lineno, child.end_lineno - child.lineno + 1
                yield from visit(child, q)
            elif isinstance(child, ast.ClassDef):
                yield from visit(child, scope + [child.name])
            else:
                yield from visit(child, scope)

    yield from visit(tree, [])


def size_violations(mods: dict[str, Module], exceptions: dict[str, str] = SIZE_EXCEPTIONS) -> list[str]:
    out = []
    for mod in mods.values():
        if mod.lines > MAX_MODULE_LINES and mod.rel not in exceptions:
            out.append(f"{mod.rel}: {mod.lines} lines (limit {MAX_MODULE_LINES})")
        for qual, line, n in functions(mod.tree):
            key = f"{mod.rel}::{qual}"
            if n > MAX_FUNCTION_LINES and key not in exceptions:
                out.append(f"{key} (line {line}): {n} lines (limit {MAX_FUNCTION_LINES})")
    return out


def stage_violations(mods: dict[str, Module], top: str = "kit") -> list[str]:
    out = []
    for mod in mods.values():
        if layer_of(mod.name, top) != "stages":
            continue
        for imp in mod.imports:
            if imp.target.split(".")[0] in STAGE_FORBIDDEN:
                out.append(f"{mod.rel}:{imp.line}: a stage imports {imp.target}")
        for node in ast.walk(mod.tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                a = node.args
                for arg in [*a.posonlyargs, *a.args, *a.kwonlyargs, a.vararg, a.kwarg]:
                    if arg is not None and arg.arg in LANGUAGE_PARAMETERS:
                        name = getattr(node, "name", "<lambda>")
                        out.append(f"{mod.rel}:{node.lineno}: {name}() takes a {arg.arg!r} parameter")
    return out


def _fmt(violations: list[str]) -> str:
    return f"{len(violations)} violation(s):\n  " + "\n  ".join(violations)


# ---- the tests on kit/ ----------------------------------------------------------------------
@pytest.fixture(scope="module")
def kit_modules() -> dict[str, Module]:
    return load_package(KIT)


def test_every_module_is_in_a_layer_and_imports_only_downward(kit_modules):
    v = layer_violations(kit_modules)
    assert not v, _fmt(v)


@pytest.mark.parametrize(
    "layer, forbidden",
    [("stages", ("engines", "present", "publish")), ("engines", ("present", "publish")),
     ("present", ("publish",)), ("io", ("stages", "engines", "present", "publish")),
     ("core", ("io", "stages", "engines", "present", "publish"))],
)
def test_layer_does_not_import(kit_modules, layer, forbidden):
    """The same rule as above, spelled out per layer so a failure names it."""
    v = [
        f"{m.rel}:{i.line}: {i.target}"
        for m in kit_modules.values() if layer_of(m.name) == layer
        for i in internal_imports(m) if layer_of(i.target) in forbidden
    ]
    assert not v, f"{layer} imports {'/'.join(forbidden)}: " + _fmt(v)


def test_no_import_cycles(kit_modules):
    found = cycles(kit_modules)
    assert not found, "import cycles:\n  " + "\n  ".join(" <-> ".join(c) for c in found)


def test_imports_at_module_top(kit_modules):
    v = nested_imports(kit_modules)
    assert not v, _fmt(v)


def test_module_and_function_size(kit_modules):
    v = size_violations(kit_modules)
    assert not v, _fmt(v)


def test_size_exceptions_are_real():
    """Every exception names a module or function that exists and is still over the limit."""
    mods = load_package(KIT)
    over = {m.rel for m in mods.values() if m.lines > MAX_MODULE_LINES}
    over |= {f"{m.rel}::{q}" for m in mods.values() for q, _, n in functions(m.tree) if n > MAX_FUNCTION_LINES}
    stale = sorted(set(SIZE_EXCEPTIONS) - over)
    assert not stale, f"SIZE_EXCEPTIONS entries that are no longer needed: {stale}"
    assert all(reason.strip() for reason in SIZE_EXCEPTIONS.values())


def test_stages_are_pure(kit_modules):
    """No plotting, notebook display or HTML in a stage, and no language parameter."""
    v = stage_violations(kit_modules)
    assert not v, _fmt(v)


# ---- the checker itself fails on a broken package ---------------------------------------------
BROKEN = {
    "__init__.py": '"""root"""\n',
    "core/__init__.py": "",
    "core/config.py": "X = 1\n",
    "io/__init__.py": "",
    "io/read.py": "from kit.core import config\n",
    "stages/__init__.py": "",
    "stages/clean.py": (
        "import matplotlib.pyplot as plt\n"
        "from kit.present.table import table  # upward\n"
        "def speak(df, lang='zh'):\n"
        "    import json\n"
        "    return df\n"
        "def fit(df):\n" + "    x = 1\n" * 90 + "    return x\n"
    ),
    "engines/__init__.py": "",
    "engines/spark.py": "def run():\n    import pyspark  # allowed: optional\n    return pyspark\n",
    "present/__init__.py": "",
    "present/table.py": "from kit.publish import run  # upward, and a cycle\ndef table(df):\n    return df\n",
    "publish/__init__.py": "",
    "publish/run.py": "from kit.present.table import table\n",
    "publish/cli.py": "import json\n\nfrom kit import datasets\n",
    "datasets.py": "from kit.stages import clean\n" + "# filler\n" * 610,
    "util.py": "",
}


def test_checker_catches_violations(tmp_path):
    root = tmp_path / "kit"
    for rel, text in BROKEN.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text, encoding="utf-8")
    mods = load_package(root)

    layers = "\n".join(layer_violations(mods))
    assert "kit/stages/clean.py:2: stages imports upward from present" in layers
    assert "kit/present/table.py:1: present imports upward from publish" in layers
    assert "kit/publish/cli.py:3: imports the tool kit.datasets" in layers
    assert "the tool datasets may import only core, not kit.stages.clean" in layers
    assert "kit/util.py: not in a layer" in layers
    assert "kit/io/read.py" not in layers

    assert cycles(mods) == [["kit.present.table", "kit.publish.run"]]

    nested = nested_imports(mods)
    assert nested == ["kit/stages/clean.py:4: import of json inside speak"]  # pyspark allowed

    sizes = "\n".join(size_violations(mods))
    assert "kit/datasets.py: 611 lines" in sizes
    assert "kit/stages/clean.py::fit (line 6): 92 lines" in sizes
    assert "speak" not in sizes
    assert not size_violations(mods, {"kit/datasets.py": "test", "kit/stages/clean.py::fit": "test"})

    stages = "\n".join(stage_violations(mods))
    assert "kit/stages/clean.py:1: a stage imports matplotlib.pyplot" in stages
    assert "speak() takes a 'lang' parameter" in stages


def test_docs_referenced_from_code_exist():
    """A docstring or comment that points the reader to ``docs/X.md`` points to a real page."""
    bad = []
    files = [*KIT.rglob("*.py"), *(ROOT / "tests").glob("*.py"), ROOT / "README.md"]
    for path in sorted(p for p in files if p.resolve() != Path(__file__).resolve()):
        for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            for ref in re.findall(r"\bdocs/[\w.-]+\.md\b", line):
                if not (ROOT / ref).exists():
                    bad.append(f"{path.relative_to(ROOT)}:{i}: {ref}")
    assert not bad, "references to missing docs (docs/CONTRACTS.md became docs/ARCHITECTURE.md):\n  " + "\n  ".join(bad)
