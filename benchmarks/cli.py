"""`musicgenie bench` and `python -m benchmarks run`: the same Click command."""

from __future__ import annotations

import sys
from pathlib import Path

import click

DEFAULT_OUTPUT = Path(__file__).parent / "results"


def _split(values: tuple[str, ...]) -> list[str]:
    return [item for value in values for item in value.replace(",", " ").split()]


def spread(args: list[str], greedy: tuple[str, ...]) -> list[str]:
    """`--variants a b --quiet` -> `--variants a --variants b --quiet` for the `greedy` options."""
    out: list[str] = []
    current, has_value = None, False
    for arg in args:
        if arg.startswith("-"):
            name = arg.split("=", 1)[0]
            current, has_value = (name if name in greedy else None), "=" in arg
            out.append(arg)
        elif current is not None and has_value:
            out += [current, arg]
        else:
            out.append(arg)
            has_value = True
    return out


class _Command(click.Command):
    """Lets `--variants`, `--durations` and `--concurrency` take several values: `--concurrency 1 2 4`."""

    greedy = ("--variants", "--durations", "--concurrency")

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        return super().parse_args(ctx, spread(args, self.greedy))


@click.command("bench", cls=_Command)
@click.option("--model", default="small-random", show_default=True, help="Model preset or checkpoint.")
@click.option(
    "--variants",
    multiple=True,
    help="backend:precision pairs, e.g. --variants reference:float32 torch:int8 (or commas). "
    "Default: every backend x every precision the device supports, reference first.",
)
@click.option("--durations", multiple=True, default=("10",), show_default=True, help="Clip s: 5 10.")
@click.option(
    "--concurrency",
    multiple=True,
    help="Tracks generated at once per timed run (Engine.generate_many, shared decoder steps where the "
    "backend batches), e.g. --concurrency 1 2 4; 1 is always run. One row per variant, clip, N and "
    "repeat, its realtime factor the aggregate. Default: one streamed track per run.",
)
@click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda, cuda:N or mps.")
@click.option("--threads", type=click.IntRange(min=1), help="CPU threads for torch [default: 2 on CPU].")
@click.option("--repeats", type=click.IntRange(min=1), default=1, show_default=True, help="Timed runs each.")
@click.option("--warmup", type=click.FloatRange(min=0.1), default=0.5, show_default=True, help="Warm-up s.")
@click.option("--database-url", help="Where rows go [default: the service's DATABASE_URL].")
@click.option("--no-database", is_flag=True, help="Write the report only, no rows.")
@click.option(
    "--output-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=DEFAULT_OUTPUT,
    show_default=True,
    help="Where latest.md and the PNG plots go.",
)
@click.option("--cache-dir", help="MODEL_CACHE_DIR [default: the service's].")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def bench_command(
    model: str,
    variants: tuple[str, ...],
    durations: tuple[str, ...],
    concurrency: tuple[str, ...],
    device: str,
    threads: int | None,
    repeats: int,
    warmup: float,
    database_url: str | None,
    no_database: bool,
    output_dir: Path,
    cache_dir: str | None,
    quiet: bool,
) -> None:
    """Benchmark backends x precisions of a model on a device, reference included; record every run."""
    from app.settings import get_settings
    from benchmarks import report
    from benchmarks.runner import BenchOptions, run
    from benchmarks.variants import parse_concurrency, parse_durations, parse_variants

    try:
        pairs = parse_variants(variants) or None
        clips = parse_durations(_split(durations))
        levels = parse_concurrency(_split(concurrency))
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from exc
    settings = get_settings()
    options = BenchOptions(
        model=model,
        variants=pairs,
        durations=tuple(clips),
        device=device,
        threads=threads,
        repeats=repeats,
        warmup_s=warmup,
        cache_dir=cache_dir or str(settings.model_cache_dir),
        progress=not quiet,
        concurrency=tuple(levels),
    )
    if no_database:
        result = run(options)
    else:
        from benchmarks.store import BenchmarkStore

        with BenchmarkStore(database_url or settings.database_url) as store:
            store.migrate()
            result = run(options, store.record)
    written = report.write(result, output_dir)
    click.echo(report.markdown(result))
    rows = "" if no_database else f"{len(result.measurements)} row(s) recorded; "
    click.echo(f"{rows}wrote {', '.join(str(p) for p in written)}", err=True)
    if not result.measurements:
        sys.exit(1)


@click.group()
def main() -> None:
    """Music Genie benchmarks."""


main.add_command(bench_command, "run")
