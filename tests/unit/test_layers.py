"""The layers, read from the source: app/ uses only `inference`'s public API (what its `__all__` exports)
and never imports benchmarks/; inference/ imports neither. The `musicgenie` command composes app/ and
benchmarks/ outside both (musicgenie.py)."""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def imports(path: Path) -> Iterator[tuple[int, str, tuple[str, ...]]]:
    """(line, module, names) of each absolute import in a file, lazy ones in functions included."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name, ()
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.lineno, node.module, tuple(alias.name for alias in node.names)


def public_api(package: Path) -> set[str]:
    """The names a package's `__init__.py` lists in `__all__`."""
    tree = ast.parse((package / "__init__.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "__all__" for t in node.targets):
            return set(ast.literal_eval(node.value))
    raise AssertionError(f"{package}/__init__.py has no __all__")


def top_level(module: str) -> str:
    return module.split(".", 1)[0]


def sources(root: Path, layer: str) -> list[Path]:
    files = sorted((root / layer).rglob("*.py"))
    assert files, f"no Python files under {layer}/"
    return files


def violations(layer: str, allowed: dict[str, set[str] | None], root: Path = REPO) -> list[str]:
    """Imports in `root/layer` of the packages in `allowed` beyond what it allows each: None, nothing at all;
    a set, only `from package import <name in the set>` (no submodule, no `import package`)."""
    found = []
    for path in sources(root, layer):
        where = path.relative_to(root).as_posix()
        for line, module, names in imports(path):
            package = top_level(module)
            if package not in allowed:
                continue
            public = allowed[package]
            if public is None:
                found.append(f"{where}:{line} imports {module}")
            elif module != package or not names:
                found.append(f"{where}:{line} imports {module}: use `from {package} import ...`")
            else:
                found += [
                    f"{where}:{line} imports {package}.{name}, which {package}/__init__.py does not export"
                    for name in names
                    if name not in public
                ]
    return found


def test_app_uses_only_the_public_api_of_inference_and_never_benchmarks() -> None:
    found = violations("app", {"inference": public_api(REPO / "inference"), "benchmarks": None})
    assert not found, "\n".join(found)


def test_inference_imports_neither_app_nor_benchmarks() -> None:
    found = violations("inference", {"app": None, "benchmarks": None})
    assert not found, "\n".join(found)


@pytest.mark.parametrize(
    ("source", "caught"),
    [
        ("from inference.audio import FORMATS\n", "imports inference.audio"),
        ("def f():\n    from inference.device import device_name\n", "imports inference.device"),
        ("import inference.tuning\n", "imports inference.tuning"),
        ("import inference\n", "use `from inference import ...`"),
        ("from inference import tuning\n", "does not export"),
        ("from benchmarks.cli import bench_command\n", "imports benchmarks.cli"),
        ("import benchmarks\n", "imports benchmarks"),
    ],
)
def test_the_check_catches_a_reach_past_the_public_api(tmp_path: Path, source: str, caught: str) -> None:
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "bad.py").write_text(source)
    (tmp_path / "app" / "fine.py").write_text(
        "from inference import Engine\nfrom app.domain.benchmarks import services\nfrom . import bad\n"
    )
    found = violations("app", {"inference": {"Engine"}, "benchmarks": None}, root=tmp_path)
    assert len(found) == 1
    assert found[0].startswith("app/bad.py:")
    assert caught in found[0]


def test_the_musicgenie_command_is_the_service_cli_plus_bench(tmp_path: Path) -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    assert project["project"]["scripts"]["musicgenie"] == "musicgenie:main"
    assert "musicgenie" in project["tool"]["setuptools"]["py-modules"]  # packaged beside app/, benchmarks/
    # As the console script runs it; in tmp_path, where the app's ./data goes.
    proc = subprocess.run(
        [sys.executable, "-c", "import musicgenie; musicgenie.main()", "--help"],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    commands = set(re.findall(r"^\W*([a-z]+)  ", proc.stdout, re.MULTILINE))
    assert {"bench", "database", "run"} <= commands, proc.stdout
