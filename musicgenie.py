"""`musicgenie`: the service's CLI (app/__main__.py) with `musicgenie bench` (benchmarks/cli.py) added.

The one place that puts the two together: app/ never imports benchmarks/, and benchmarks/ uses app/
only as a client of its database.
"""

from __future__ import annotations

from app.__main__ import main as service_cli
from benchmarks.cli import bench_command


def main(argv: list[str] | None = None) -> None:
    """Run `musicgenie run`, `musicgenie database ...` and the rest of the service's CLI, plus
    `musicgenie bench` (see benchmarks/README.md)."""
    service_cli(argv, commands=[bench_command])


if __name__ == "__main__":
    main()
