"""The OpenAPI document is true: schemathesis (every check) against the running service finds nothing.

No server errors, every status, body, media type and header documented, schema-valid input accepted,
invalid input refused, unsupported methods answered 405 with `Allow`. A fixed seed and example count keep
the run reproducible and within CI's time.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.integration.live import REPO, live_server

SEED = "20261202"
EXAMPLES = "10"


def schemathesis() -> list[str]:
    script = Path(sys.executable).parent / "schemathesis"
    return [str(script)] if script.exists() else [sys.executable, "-m", "schemathesis.cli"]


def test_schemathesis_finds_nothing(
    database_url: str, tmp_path: Path, model_cache_dir: Path, tiny_engine: object
) -> None:
    with live_server(
        tmp_path / "data",
        model_cache_dir,
        DATABASE_URL=database_url,
        RATE_LIMITS_ENABLED="false",
        QUEUE_MAX_SIZE="2",  # generations run meanwhile: a few, so that the run stays quick
    ) as server:
        run = subprocess.run(
            [
                *schemathesis(),
                "--config-file",
                str(REPO / "tests" / "schemathesis.toml"),
                "--no-color",
                "run",
                f"{server.base}/schema/openapi.json",
                "--checks",
                "all",
                "--max-examples",
                EXAMPLES,
                "--seed",
                SEED,
                "--request-timeout",
                "20",
                "--workers",
                "1",
            ],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=900,
        )
    assert run.returncode == 0, run.stdout[-20_000:] + run.stderr[-5_000:]
