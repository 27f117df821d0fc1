"""The import layers (issue 12): spiders → apis, never spiders → middlewares/pipelines/
extensions; the provider layer imports nothing above it; components do not import each
other across kinds. Imports are read with ``ast`` (inside functions too)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "harvester"
#: Modules of ``harvester/spiders`` that spiders share (not spiders themselves); modules
#: whose name starts with ``_`` are shared too.
SHARED_SPIDER_MODULES = {"__init__", "base", "arguments"}


def module_name(path: Path, package: Path = PACKAGE) -> str:
    parts = path.relative_to(package.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path, root: Path = PACKAGE) -> set[str]:
    """Every module *path* imports, absolute (relative imports resolved)."""
    name = module_name(path, root)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def violations(layer: str, forbidden: tuple[str, ...], root: Path = PACKAGE) -> list[str]:
    found = []
    for path in sorted((root / layer).rglob("*.py")):
        for name in sorted(imports(path, root)):
            if name.startswith(tuple(f"harvester.{f}" for f in forbidden)):
                found.append(f"{path.relative_to(root.parent).as_posix()} imports {name}")
    return found


@pytest.mark.parametrize(
    ("layer", "forbidden"),
    [
        ("apis", ("spiders", "middlewares", "pipelines", "extensions", "storage")),
        ("spiders", ("middlewares", "pipelines", "extensions", "storage")),
        ("pipelines", ("extensions",)),
    ],
)
def test_layer_does_not_import_upward(layer, forbidden):
    assert violations(layer, forbidden) == []


def test_no_spider_imports_another_spider():
    spiders = PACKAGE / "spiders"
    names = {
        p.stem for p in spiders.glob("*.py") if not p.stem.startswith("_")
    } - SHARED_SPIDER_MODULES
    found = [
        f"{path.name} imports {name}"
        for path in sorted(spiders.glob("*.py"))
        for name in imports(path)
        if name.removeprefix("harvester.spiders.").split(".")[0] in names - {path.stem}
        and name.startswith("harvester.spiders.")
    ]
    assert found == []


def test_the_checker_sees_a_forbidden_import(tmp_path):
    """The check can fail: relative and deferred imports of a middleware are caught."""
    spiders = tmp_path / "harvester" / "spiders"
    spiders.mkdir(parents=True)
    (spiders / "probe.py").write_text(
        "from ..middlewares import errors\ndef later():\n    import harvester.pipelines.storage\n",
        encoding="utf-8",
    )
    assert violations("spiders", ("middlewares", "pipelines"), tmp_path / "harvester") == [
        "harvester/spiders/probe.py imports harvester.middlewares",
        "harvester/spiders/probe.py imports harvester.middlewares.errors",
        "harvester/spiders/probe.py imports harvester.pipelines.storage",
    ]


def runtime_imports(path: Path) -> set[str]:
    """Harvester modules *path* imports when it runs: type-only imports left out, deferred
    (function-level) ones included — a deferred import hides a cycle, it does not break it."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    type_only = {
        id(node)
        for block in ast.walk(tree)
        if isinstance(block, ast.If) and "TYPE_CHECKING" in ast.unparse(block.test)
        for stmt in block.body
        for node in ast.walk(stmt)
    }
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in type_only:
            continue
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def test_the_sandbox_has_no_import_cycle():
    modules = {module_name(p): p for p in (PACKAGE / "sandbox").rglob("*.py")}
    graph = {
        name: {other for other in runtime_imports(path) if other in modules and other != name}
        for name, path in modules.items()
    }
    # a package's __init__ importing its own submodules is not a cycle of interest
    for name in graph:
        graph[name] = {other for other in graph[name] if not name.startswith(f"{other}.")}
    done: set[str] = set()

    def visit(name: str, path: tuple[str, ...]) -> None:
        assert name not in path, f"import cycle: {' -> '.join((*path, name))}"
        if name in done:
            return
        for other in sorted(graph[name]):
            visit(other, (*path, name))
        done.add(name)

    for name in sorted(graph):
        visit(name, ())


#: Most lines a module under ``harvester/`` may have (STYLE.md: "mostly 40–300 lines;
#: split a file that grows past that"), with a little room.
MAX_MODULE_LINES = 320


def oversized_modules(root: Path = PACKAGE, limit: int = MAX_MODULE_LINES) -> list[str]:
    found = []
    for path in sorted(root.rglob("*.py")):
        lines = len(path.read_text(encoding="utf-8").splitlines())
        if lines > limit:
            found.append(f"{path.relative_to(root.parent).as_posix()}: {lines} lines")
    return found


def test_no_module_is_over_the_line_limit():
    assert oversized_modules() == []


def test_the_size_check_sees_a_long_module(tmp_path):
    package = tmp_path / "harvester"
    (package / "apis").mkdir(parents=True)
    (package / "apis" / "long.py").write_text("x = 1\n" * 321, encoding="utf-8")
    (package / "short.py").write_text("x = 1\n" * 320, encoding="utf-8")
    assert oversized_modules(package) == ["harvester/apis/long.py: 321 lines"]


def test_every_provider_is_a_package_behind_one_import_path():
    """Callers import ``harvester.apis.<provider>``: the package re-exports the contract."""
    from harvester.apis import all_providers

    providers = all_providers()
    assert sorted(p.NAME for p in providers) == ["aliexpress", "aliyun", "pandapon", "vvtool"]
    for provider in providers:
        assert provider.__file__ is not None and provider.__file__.endswith("__init__.py")
        for name in ("NAME", "SOURCE", "AUTH_PARAMS", "sign", "check_response", "to_product"):
            assert hasattr(provider, name), f"{provider.__name__} lacks {name}"
        assert {n for n in provider.__all__ if not hasattr(provider, n)} == set()
