"""The house's rules that import-linter's contracts (pyproject.toml, run by `make test`) do not state:
no module imports another that imports it back, and no module grows past 800 lines."""

from pathlib import Path

import grimp
import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "src" / "laihua"
MAX_LINES = 800


def import_cycles(graph) -> list[list[str]]:
    """Every group of modules that reach one another through imports (Tarjan's strongly connected parts)."""
    modules = sorted(graph.modules)
    edges = {module: sorted(graph.find_modules_directly_imported_by(module)) for module in modules}
    index, low, on_stack, stack, cycles, counter = {}, {}, set(), [], [], [0]

    def visit(start):
        # Iterative, so that a long chain of imports cannot reach Python's recursion limit.
        work = [(start, iter(edges[start]))]
        index[start] = low[start] = counter[0]
        counter[0] += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter[0]
                    counter[0] += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(edges[child])))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == node:
                        break
                if len(group) > 1:
                    cycles.append(sorted(group))

    for module in modules:
        if module not in index:
            visit(module)
    return cycles


@pytest.fixture(scope="module")
def graph():
    return grimp.build_graph("laihua", include_external_packages=False)


def test_no_module_imports_one_that_imports_it_back(graph):
    cycles = import_cycles(graph)
    assert not cycles, "import circles:\n" + "\n".join(" <-> ".join(group) for group in cycles)


def test_the_cycle_finder_finds_a_circle(graph):
    graph = grimp.ImportGraph()
    for module in ("pkg.a", "pkg.b", "pkg.c", "pkg.d"):
        graph.add_module(module)
    graph.add_import(importer="pkg.a", imported="pkg.b")
    graph.add_import(importer="pkg.b", imported="pkg.c")
    graph.add_import(importer="pkg.c", imported="pkg.a")
    graph.add_import(importer="pkg.c", imported="pkg.d")
    assert import_cycles(graph) == [["pkg.a", "pkg.b", "pkg.c"]]


def test_no_module_passes_800_lines():
    long = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if "migrations" in path.parts:
            continue
        lines = len(path.read_text(encoding="utf-8").splitlines())
        if lines > MAX_LINES:
            long.append(f"{path.relative_to(PACKAGE)}: {lines} lines")
    assert not long, f"modules over {MAX_LINES} lines (split them by concern):\n" + "\n".join(long)
