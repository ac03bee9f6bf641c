"""The job layer never runs back up into the HTTP layer; controllers reach jobs through the runtime."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
JOB_MODULES = sorted((ROOT / "app" / "jobs").rglob("*.py"))
CONTROLLER_MODULES = sorted((ROOT / "app" / "domain").glob("*/controllers.py"))
HTTP_MODULES = ("schemas", "controllers", "requests")  # per slice: app.domain.<slice>.<module>


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(source: str, package: str) -> set[str]:
    """Every module the source imports, made absolute (`from a import b` counts as a and as a.b)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):  # walk: imports inside functions and TYPE_CHECKING too
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: up level - 1 packages from this one
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def imports_of(path: Path) -> set[str]:
    name = module_name(path)
    return imported_modules(path.read_text(), name if path.name == "__init__.py" else name.rpartition(".")[0])


def is_http_module(module: str) -> bool:
    parts = module.split(".")
    return len(parts) >= 4 and parts[:2] == ["app", "domain"] and parts[3] in HTTP_MODULES


def test_the_modules_are_found() -> None:
    assert any(path.name == "worker.py" for path in JOB_MODULES)
    assert any(path.parent.name == "generations" for path in CONTROLLER_MODULES)


@pytest.mark.parametrize("path", JOB_MODULES, ids=lambda path: path.name)
def test_jobs_do_not_import_http_schemas_or_controllers(path: Path) -> None:
    http = sorted(module for module in imports_of(path) if is_http_module(module))
    assert not http, f"{module_name(path)} imports the HTTP layer: {', '.join(http)}"


@pytest.mark.parametrize("path", CONTROLLER_MODULES, ids=lambda path: path.parent.name)
def test_controllers_reach_jobs_through_the_runtime(path: Path) -> None:
    assert "app.jobs.worker" not in imports_of(path), f"{module_name(path)} imports the worker"


@pytest.mark.parametrize(
    "source",
    [
        "from app.domain.generations.schemas import Generation",
        "from app.domain.generations import schemas",
        "import app.domain.stats.controllers",
        "from ..domain.generations.schemas import Generation",
        "from ..domain.generations import controllers",
        "def late():\n    from app.domain.system.requests import Body",
    ],
)
def test_the_check_sees_every_form_of_import(source: str) -> None:
    assert any(is_http_module(module) for module in imported_modules(source, "app.jobs"))


def test_the_check_lets_services_and_the_job_layer_through() -> None:
    source = "from app.domain.generations.services import GenerationService\nfrom .events import EventHub"
    assert not any(is_http_module(module) for module in imported_modules(source, "app.jobs"))
