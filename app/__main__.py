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


def main(argv: list[str] | None = None, commands: Iterable[click.Command] = ()) -> None:
    """Run the Litestar CLI on `app.asgi:create_app` with `commands` added (migrations run without
    asking for confirmation)."""
    os.environ.setdefault("LITESTAR_APP", APP_PATH)
    # uvicorn believes X-Forwarded-For from loopback unless told otherwise; the app believes it only
    # from TRUSTED_PROXIES (app/asgi.py), so the server must not rewrite the client address first.
    os.environ["FORWARDED_ALLOW_IPS"] = ""
    from litestar.cli.main import litestar_group

    for command in commands:
        litestar_group.add_command(command)
    litestar_group.main(
        args=argv if argv is not None else sys.argv[1:],
        prog_name="musicgenie",
        default_map={"database": {"upgrade": {"no_prompt": True}, "downgrade": {"no_prompt": True}}},
    )


if __name__ == "__main__":
    main()
