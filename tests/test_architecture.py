"""The package's import graph, read statically: no import cycles, and libraries stay free of the CLI and Prefect.

Every `import x` and `from x import y` of every module under pipeline/ counts, also those inside functions;
`from pipeline.cli import analyst` is an import of the submodule pipeline.cli.analyst when that is a module.
"""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import REPO

PACKAGE = REPO / "pipeline"
# Only these may import Prefect, prefect_dask or Dask's distributed; only the CLI may import the CLI.
ORCHESTRATORS = ("pipeline.cli", "pipeline.orchestration")
ENGINES = ("prefect", "prefect_dask", "distributed")


def _module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def _is_package(name: str) -> bool:
    return MODULES.get(name, Path()).name == "__init__.py"


def _absolute(module: str, node: ast.ImportFrom) -> str:
    """The module a `from ... import` names, with relative imports resolved against `module`."""
    if not node.level:
        return node.module or ""
    base = module.split(".") if _is_package(module) else module.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, *([node.module] if node.module else [])])


def imports_of(module: str) -> set[str]:
    """Every module `module` imports (pipeline modules resolved to the submodule when one is imported)."""
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"), filename=str(MODULES[module]))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            source = _absolute(module, node)
            for alias in node.names:  # `from package import submodule` imports the submodule
                found.add(f"{source}.{alias.name}" if f"{source}.{alias.name}" in MODULES else source)
    return found


def _within(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == prefix or name.startswith(prefix + ".") for prefix in prefixes)


def _graph() -> dict[str, set[str]]:
    """Module -> the pipeline modules it imports; a package's __init__ importing its own submodules is left out."""
    graph: dict[str, set[str]] = {}
    for module in MODULES:
        targets = {name for name in imports_of(module) if name in MODULES and name != module}
        if _is_package(module):
            targets = {name for name in targets if not name.startswith(module + ".")}
        graph[module] = targets
    return graph


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle path (first module repeated at the end) per strongly connected group of modules."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def connect(node: str) -> None:  # Tarjan's algorithm
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph[node]):
            if target not in index:
                connect(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            connect(node)
    return [_cycle_path(graph, group) for group in groups]


def _cycle_path(graph: dict[str, set[str]], group: list[str]) -> list[str]:
    """A path from the group's first module back to itself through the group (breadth-first: shortest)."""
    start, members = group[0], set(group)
    previous: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for target in sorted(graph[node] & members):
                if target == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(previous[path[-1]])
                    return [start, *reversed(path[:-1]), start] if len(path) > 1 else [start, start]
                if target not in previous:
                    previous[target] = node
                    following.append(target)
        frontier = following
    return group  # unreachable for a strongly connected group


def test_the_walk_sees_every_kind_of_import():
    assert {"pipeline.cli", "pipeline.cli.analyst", "pipeline.orchestration.ingest_flow"} <= set(MODULES)
    assert "pipeline.cli.app" in imports_of("pipeline.cli.__main__")
    assert {"pipeline.cli.analyst", "pipeline.cli.sync"} <= imports_of("pipeline.cli.app")
    assert "pipeline.cli" not in imports_of("pipeline.cli.app")  # it names submodules only
    # function-level imports count: the CLI imports its commands' libraries when a command runs
    assert "pipeline.analyst.query" in imports_of("pipeline.cli.analyst")
    assert "prefect" in imports_of("pipeline.orchestration.ingest_flow")
    assert find_cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c", "a"]]


def test_there_is_no_import_cycle_between_modules():
    cycles = find_cycles(_graph())
    assert not cycles, "import cycles:\n" + "\n".join(" -> ".join(cycle) for cycle in cycles)


def test_only_the_cli_and_orchestration_import_prefect_and_dask_and_only_the_cli_imports_the_cli():
    violations = []
    for module in MODULES:
        imported = imports_of(module)
        if not _within(module, ORCHESTRATORS):
            violations += [f"{module} imports {name}" for name in sorted(imported) if _within(name, ENGINES)]
        if not _within(module, ("pipeline.cli",)):
            violations += [f"{module} imports {name}" for name in sorted(imported) if _within(name, ("pipeline.cli",))]
    assert not violations, "\n".join(violations)
