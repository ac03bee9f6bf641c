"""`python -m app`: the Litestar CLI with Music Genie's app preset, the service's own commands.

`run --host 127.0.0.1 --port 8000` serves the API; `database upgrade` migrates. The `musicgenie`
command (musicgenie.py, outside app/) is this CLI with `bench` from benchmarks/ added.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import click

APP_PATH = "app.asgi:create_app"


def worker_command() -> click.Command:
    """`musicgenie worker`: a generation worker of QUEUE=saq (app.jobs.saq_worker)."""
    import click

    @click.command(name="worker")
    def worker() -> None:
        """Run a generation worker (QUEUE=saq): its own MODEL/DEVICE/BACKEND/PRECISION, jobs from the
        PostgreSQL queue at DATABASE_URL; SIGTERM finishes or hands back its jobs within SHUTDOWN_GRACE_S."""
        import asyncio
        import logging

        from app.jobs.runtime import worker_name
        from app.jobs.saq_worker import WorkerHost
        from app.settings import get_settings

        settings = get_settings()
        if settings.queue != "saq":
            raise click.UsageError("a worker serves QUEUE=saq: set QUEUE=saq and a PostgreSQL DATABASE_URL")
        level = logging.DEBUG if settings.debug else logging.INFO
        logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        # The CLI built the app (and its logging) to find it: a worker logs SAQ's job lines too.
        for name in ("app", "saq"):
            logging.getLogger(name).setLevel(level)
        asyncio.run(WorkerHost(settings, worker_name(settings)).run())

    return worker


def _exit_on_invalid_settings() -> None:
    """Every command builds the app, which reads the settings: a bad one is said plainly, no traceback."""
    from pydantic import ValidationError

    from app.settings import get_settings

    try:
        get_settings()
    except ValidationError as exc:
        problems = [
            f"  {'.'.join(map(str, e['loc'])).upper() or 'settings'}: {e['msg']}" for e in exc.errors()
        ]
        sys.stderr.write("musicgenie: invalid settings (environment or .env):\n" + "\n".join(problems) + "\n")
        raise SystemExit(2) from None


def main(argv: list[str] | None = None, commands: Iterable[click.Command] = ()) -> None:
    """Run the Litestar CLI on `app.asgi:create_app` with `commands` added (migrations run without
    asking for confirmation)."""
    os.environ.setdefault("LITESTAR_APP", APP_PATH)
    _exit_on_invalid_settings()
    # uvicorn believes X-Forwarded-For from loopback unless told otherwise; the app believes it only
    # from TRUSTED_PROXIES (app/asgi.py), so the server must not rewrite the client address first.
    os.environ["FORWARDED_ALLOW_IPS"] = ""
    from litestar.cli.main import litestar_group

    for command in (worker_command(), *commands):
        litestar_group.add_command(command)
    litestar_group.main(
        args=argv if argv is not None else sys.argv[1:],
        prog_name="musicgenie",
        default_map={"database": {"upgrade": {"no_prompt": True}, "downgrade": {"no_prompt": True}}},
    )


if __name__ == "__main__":
    main()
