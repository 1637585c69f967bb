"""The shape of the code: which app may import which (README "How an event flows").

Read from the source with `ast`, every import counts: at module level and inside
functions alike (a lazy import is still a dependency, only a hidden one). Tests,
migrations and `if TYPE_CHECKING:` blocks are left out.

- No import circle spans two apps: apps depend on each other in layers, and what
  flows back up (a ticket was solved, so a survey is planned) is a domain event
  (helpdesk/events.py), not an import.
- The core (`helpdesk/`) imports no feature app; only its URL modules, where the site
  is composed, name them. The features give the core what it needs through
  helpdesk/contributions.py.
- Ticket services import none of their subscribers (notifications, feedback, ...).
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

from django.conf import settings

ROOT = Path(__file__).resolve().parent.parent
# Our apps: the installed ones that are folders of this checkout.
APPS = [app for app in settings.INSTALLED_APPS if (ROOT / app).is_dir()]
# Where the site is composed from its apps.
COMPOSITION = {"helpdesk.urls", "helpdesk.urls_api", "helpdesk.urls_sockets", "helpdesk.asgi"}


def _modules() -> dict[str, Path]:
    found = {}
    for app in APPS:
        for path in (ROOT / app).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            if "migrations" in parts:
                continue
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.AST):
    """Every imported dotted name, skipping `if TYPE_CHECKING:` blocks."""
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If) and _is_type_checking(node):
            stack.extend(node.orelse)
            continue
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            yield node.module
            yield from (f"{node.module}.{alias.name}" for alias in node.names)
        stack.extend(ast.iter_child_nodes(node))


def import_graph() -> dict[str, set[str]]:
    modules = _modules()
    graph = defaultdict(set)
    for name, path in modules.items():
        graph[name]  # every module is a node
        for imported in _imports(ast.parse(path.read_text(), str(path))):
            if imported in modules and imported != name:
                graph[name].add(imported)
    return graph


def _app(module: str) -> str:
    return module.split(".", 1)[0]


def strongly_connected(graph: dict[str, set[str]]) -> list[set[str]]:
    """Tarjan's algorithm, iteratively (the graph is a few hundred modules)."""
    index, low, on_stack, stack, found = {}, {}, set(), [], []
    counter = 0
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                found.append(component)
    return found


def test_no_import_circle_spans_two_apps():
    assert {"helpdesk", "tickets", "sla", "chat", "routing"} <= set(APPS)
    circles = [
        sorted(component)
        for component in strongly_connected(import_graph())
        if len({_app(module) for module in component}) > 1
    ]
    assert circles == []


def test_the_core_imports_no_feature_app_outside_where_the_site_is_composed():
    graph = import_graph()
    reaching_out = sorted(
        f"{module} -> {imported}"
        for module, imports in graph.items()
        if _app(module) == "helpdesk" and module not in COMPOSITION
        for imported in imports
        if _app(imported) != "helpdesk"
    )
    assert reaching_out == []


def test_ticket_services_import_none_of_their_subscribers():
    imports = import_graph()["tickets.services"]
    subscribers = {"tickets.notifications", "tickets.subscribers"}
    feature = {"feedback", "success"}
    assert sorted(m for m in imports if _app(m) in feature or m in subscribers) == []


def test_the_check_finds_a_circle_when_there_is_one():
    """The detector itself: a lazy import back would be reported."""
    graph = {"a.x": {"b.y"}, "b.y": {"a.z"}, "a.z": {"a.x"}, "c.w": set()}
    assert [sorted(c) for c in strongly_connected(graph) if len(c) > 1] == [["a.x", "a.z", "b.y"]]
