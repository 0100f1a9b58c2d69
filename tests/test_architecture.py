"""The package layering of bot/: no import circles, nothing imports a package above it (see docs/architecture.md)."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

BOT = Path(__file__).resolve().parents[1] / "bot"

# Bottom to top. A package may import its own layer and those below; the shared edges are at the bottom.
LAYERS = [
    {"bot.clock", "bot.logs", "bot.config"},
    {"bot.store", "bot.classify"},
    {"bot.mail"},
    {"bot.outbox"},
    {"bot.sla"},
    {"bot.drafts"},
    {"bot.verify"},
    {"bot.tickets"},
    {"bot.intake"},
    {"bot.service"},
    {"bot.web"},
    {"bot.cli"},
]
LAYER_OF = {package: n for n, layer in enumerate(LAYERS) for package in layer}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(BOT.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in BOT.rglob("*.py") if "versions" not in p.parts}


def imports_of(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """Every bot module `path` imports, wherever the import stands (type-only and in functions too)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            for alias in node.names:
                found.add(f"{target}.{alias.name}" if f"{target}.{alias.name}" in known else target)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {target for target in found if target in known and target != name}


def graph() -> dict[str, set[str]]:
    known = modules()
    return {name: imports_of(name, path, known) for name, path in known.items()}


def top_package(module: str) -> str:
    return ".".join(module.split(".")[:2])


def test_ls_bot_shows_the_architecture():
    entries = sorted(p.name for p in BOT.iterdir() if p.name != "__pycache__")
    assert len(entries) <= 16, entries
    for entry in entries:
        if entry.endswith(".py") and entry != "__init__.py":
            assert f"bot.{entry[:-3]}" in LAYER_OF, f"{entry} is not a shared edge"
        elif entry != "__init__.py":
            assert f"bot.{entry}" in LAYER_OF, f"bot/{entry} has no layer in this test"
            assert (BOT / entry / "__init__.py").read_text(encoding="utf-8").startswith('"""'), \
                f"bot/{entry}/__init__.py says what the package owns"


def test_no_package_imports_one_above_it():
    upward = sorted(
        f"{module} -> {target}"
        for module, targets in graph().items() if module != "bot"
        for target in targets if top_package(target) != "bot"
        and LAYER_OF[top_package(target)] > LAYER_OF[top_package(module)])
    assert not upward, "imports from a lower layer to a higher one:\n" + "\n".join(upward)


def test_no_modules_import_each_other_in_a_circle():
    edges = graph()
    index, low, stack, on_stack, circles = {}, {}, [], set(), []

    def visit(node: str) -> None:  # Tarjan's strongly connected components
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in edges[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    assert not circles, f"modules importing each other in a circle: {circles}"


@pytest.mark.parametrize("module", sorted(modules()))
def test_every_module_opens_with_its_purpose(module):
    text = modules()[module].read_text(encoding="utf-8").lstrip()
    assert not text or text.startswith('"""'), f"{module} has no opening docstring"


def test_no_packages_import_each_other_in_a_circle():
    packages: dict[str, set[str]] = {}
    for module, targets in graph().items():
        if module != "bot":
            packages.setdefault(top_package(module), set()).update(
                top_package(t) for t in targets if t != "bot" and top_package(t) != top_package(module))
    for package, targets in packages.items():
        for target in targets:
            assert package not in packages.get(target, set()), f"{package} and {target} import each other"
