"""Baseline: the reference backend on ``small-random`` (musicgen-small's architecture).

    python -m benchmarks.baseline [musicgenie bench options]

is ``musicgenie bench --variants reference:float32 reference:bfloat16 --durations 5 10`` (2 threads on
CPU): the figures every faster backend is compared with. Rows go to the database like any bench run.
"""

from __future__ import annotations

import sys

from benchmarks.cli import bench_command

BASELINE = ["--variants", "reference:float32", "reference:bfloat16", "--durations", "5", "10"]


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    bench_command.main(args=[*BASELINE, *args], prog_name="python -m benchmarks.baseline")


if __name__ == "__main__":
    main()
