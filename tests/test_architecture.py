"""The architecture's promises, checked: a core without HTTP, no shared state, one way in.

That the core never reads the system clock or sleeps is ruff's banned-api rule
(pyproject.toml), which `make test` runs.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from mock_server.settings import Settings
from mock_server.web.app import create_app

PACKAGE = Path(__file__).parents[1] / "mock_server"
CORE = PACKAGE / "core"
# What the core may import besides itself and the standard library: no HTTP, no shell.
CORE_THIRD_PARTY = {
    "yaml",
    "PIL",
    "av",
    "jsonschema",
    "jsonschema_rs",
    "orjson",
    "referencing",
    "redis",
    "hiredis",  # redis-py's C protocol library: the script pipe packs commands with it
}
NETWORK_STDLIB = {"http", "socket", "ssl", "wsgiref", "urllib.request", "xmlrpc"}
# State lives behind the service: nothing outside the core names a store.
STORES = "mock_server.core.stores"
STORE_CLASSES = {
    "mock_server.core.tasks.TaskStore",
    "mock_server.core.accounts.Accounts",
    "mock_server.core.limits.RequestWindow",
    "mock_server.core.limits.UnfinishedTasks",
    "mock_server.core.journal.Journal",
    "mock_server.core.scenarios.RuleBook",
}
SHELL = sorted(
    path
    for path in [*PACKAGE.rglob("*.py"), *(PACKAGE.parent / "contract_tests").rglob("*.py")]
    if CORE not in path.parents
)
MUTABLE_CALLS = {"dict", "list", "set", "deque", "defaultdict", "OrderedDict", "Counter"}
MUTABLE_NODES = (ast.Dict, ast.List, ast.Set, ast.DictComp, ast.ListComp, ast.SetComp)


def test_importing_the_core_loads_no_http_library() -> None:
    code = (
        "import sys, pkgutil, importlib, mock_server.core as core\n"
        "for m in pkgutil.iter_modules(core.__path__):\n"
        "    importlib.import_module('mock_server.core.' + m.name)\n"
        "print(sorted(n for n in ('flask', 'werkzeug', 'requests') if n in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


def imported_names(path: Path, source: str | None = None) -> list[str]:
    """Every module and every name `path` imports, as absolute dotted names."""
    package = path.relative_to(PACKAGE.parent).parts[:-1]
    text = path.read_text(encoding="utf-8") if source is None else source
    found: list[str] = []
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = list(package[: len(package) - node.level + 1]) if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            found += [module, *(f"{module}.{alias.name}" for alias in node.names)]
    return found


def names_a_store(name: str) -> bool:
    """Whether an imported name is a store (the package, a module in it, or a store class)."""
    return name == STORES or name.startswith(STORES + ".") or name in STORE_CLASSES


def outside_the_core(module: str) -> bool:
    """Whether the core may not import `module`: the shell, HTTP, or an unlisted library."""
    top = module.split(".")[0]
    if top == "mock_server":
        # The version is a constant the health view reports, not part of the shell.
        inside = module == "mock_server.core" or module.startswith("mock_server.core.")
        return not (inside or module.startswith("mock_server.version"))
    if top in sys.stdlib_module_names:
        return any(module == n or module.startswith(n + ".") for n in NETWORK_STDLIB)
    return top not in CORE_THIRD_PARTY


@pytest.mark.parametrize("path", sorted(CORE.rglob("*.py")), ids=lambda p: str(p.relative_to(CORE)))
def test_the_core_imports_neither_the_shell_nor_http(path: Path) -> None:
    assert [name for name in imported_names(path) if outside_the_core(name)] == []


def test_the_import_check_sees_relative_imports_of_the_shell() -> None:
    source = "from ..settings import Settings\nfrom . import clock\nimport flask\n"
    names = imported_names(CORE / "probe.py", source)
    assert [name for name in names if outside_the_core(name)] == [
        "mock_server.settings",
        "mock_server.settings.Settings",
        "flask",
    ]


@pytest.mark.parametrize("path", SHELL, ids=lambda p: str(p.relative_to(PACKAGE.parent)))
def test_nothing_outside_the_core_touches_a_store(path: Path) -> None:
    assert [name for name in imported_names(path) if names_a_store(name)] == []


def test_the_store_check_sees_a_store_imported_by_name() -> None:
    source = "from ..core.tasks import Task, TaskStore\nfrom ..core.stores import memory\n"
    names = imported_names(PACKAGE / "web" / "probe.py", source)
    assert [name for name in names if names_a_store(name)] == [
        "mock_server.core.tasks.TaskStore",
        "mock_server.core.stores",
        "mock_server.core.stores.memory",
    ]


def module_level_mutables(path: Path) -> list[str]:
    found = []
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        value = node.value if isinstance(node, (ast.Assign, ast.AnnAssign)) else None
        if value is None:
            continue
        called = (
            value.func.id
            if isinstance(value, ast.Call) and isinstance(value.func, ast.Name)
            else ""
        )
        if isinstance(value, MUTABLE_NODES) or called in MUTABLE_CALLS:
            found.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno}")
    return found


@pytest.mark.parametrize(
    "path", sorted(PACKAGE.rglob("*.py")), ids=lambda p: str(p.relative_to(PACKAGE))
)
def test_no_module_level_mutable_state(path: Path) -> None:
    assert module_level_mutables(path) == []


def test_two_apps_in_one_process_share_nothing() -> None:
    auth = {"Authorization": "Bearer shared-key"}
    body = {"input": {"mode": "gpt-image-1", "prompt": "x"}}
    one = create_app(Settings(seed=1)).test_client()
    two = create_app(Settings(seed=1)).test_client()
    task_id = one.post("/api/v1/generateTask/gpt-image-1", json=body, headers=auth).get_json()[
        "data"
    ]["taskId"]
    query = {"taskId": task_id}
    assert (
        one.get("/api/v1/statusTask/gpt-image-1", query_string=query, headers=auth).status_code
        == 200
    )
    assert (
        two.get("/api/v1/statusTask/gpt-image-1", query_string=query, headers=auth).status_code
        == 404
    )
    one.post("/__admin/clock/advance", json={"ms": 10_000})
    clocks = [c.get("/__admin/clock").get_json()["data"]["offsetMs"] for c in (one, two)]
    assert clocks[0] - clocks[1] >= 10_000


# -- the service is the only way in --------------------------------------------------

ROOT = PACKAGE.parent
# The service's parts: stores, rule book, clock, journal, key ring, callback dispatcher,
# and the status bytes (read through the typed views, never parsed back).
SERVICE_PARTS = {
    "tasks",
    "clock",
    "callbacks",
    "rules",
    "journal",
    "keys",
    "results",
    "models",
    "status_body",
}
SERVICE_NAMES = {"svc", "service", "_service"}
# Explicit exceptions, "path: attribute" (none needed today: keep it that way).
ALLOWED: set[str] = set()


def shell_modules() -> list[Path]:
    """Every module that must reach the service through its facade only."""
    shell = [p for p in PACKAGE.rglob("*.py") if PACKAGE / "core" not in p.parents]
    suite = sorted((ROOT / "contract_tests").rglob("*.py"))
    recording = sorted((ROOT / "recording").rglob("*.py"))
    return sorted(shell) + suite + recording


def is_service(node: ast.expr) -> bool:
    """`svc`, `service`, `self.service`, `self._service`, `service()` and the like."""
    if isinstance(node, ast.Call):
        node = node.func
    if isinstance(node, ast.Name):
        return node.id in SERVICE_NAMES
    return isinstance(node, ast.Attribute) and node.attr in SERVICE_NAMES


def reaches_inside(attr: str) -> bool:
    private = attr.startswith("_") and not attr.startswith("__")
    return attr in SERVICE_PARTS or private


def service_internals(source: str, name: str) -> list[str]:
    """`name:line: .attr` for every access to a service part in `source`."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not (isinstance(node, ast.Attribute) and is_service(node.value)):
            continue
        if reaches_inside(node.attr) and f"{name}: {node.attr}" not in ALLOWED:
            found.append((node.lineno, f"{name}:{node.lineno}: .{node.attr}"))
    return [text for _, text in sorted(found)]


def test_the_checker_finds_every_way_into_the_service() -> None:
    source = (
        "svc.tasks.get(x)\n"
        "service().clock.now_ms()\n"
        "self.service.callbacks.deliveries()\n"
        "self._service._accounts\n"
        "json.loads(service.status_body(task))\n"
        "svc.task_view(x); service().clock_view(); self.service.deliveries()\n"
        "handle.tasks(); apixo_mock.callbacks()\n"
    )
    assert service_internals(source, "m") == [
        "m:1: .tasks",
        "m:2: .clock",
        "m:3: .callbacks",
        "m:4: ._accounts",
        "m:5: .status_body",
    ]


@pytest.mark.parametrize("path", shell_modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_only_the_core_reaches_into_the_service(path: Path) -> None:
    name = str(path.relative_to(ROOT))
    assert service_internals(path.read_text(encoding="utf-8"), name) == []
