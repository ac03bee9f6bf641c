"""The SAQ queue of QUEUE=saq: one PostgreSQL queue shared by API processes and workers (litestar-saq's
config builds it), and the SAQ job of a generation.

The `music_generations` row stays the source of truth; a SAQ job only carries its id. SAQ claims jobs
with `FOR UPDATE SKIP LOCKED`, wakes workers with NOTIFY, and sweeps a job whose heartbeat stops (a
killed worker): it is retried, and the next worker to take it settles the interrupted row.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from litestar_saq import QueueConfig, SAQConfig
from saq import Job
from saq.queue import Queue
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.jobs.relay import asyncpg_dsn
from app.settings import Settings

QUEUE_NAME = "musicgenie"
TASK = "generate"
# A swept job is retried as long as it is interrupted; the worker that takes it decides what happens
# (run again or fail, per REQUEUE_INTERRUPTED; see `MAX_INTERRUPTIONS` in app.jobs.saq_worker).
RETRIES = 1000


def saq_config(settings: Settings, *, pool_size: int = 4) -> SAQConfig:
    """litestar-saq's configuration of the one queue, on DATABASE_URL."""
    return SAQConfig(
        queue_configs=[
            QueueConfig(
                dsn=asyncpg_dsn(settings.database_url),
                name=QUEUE_NAME,
                broker_options={"min_size": 1, "max_size": pool_size, "manage_pool_lifecycle": True},
                tasks=[],
            )
        ],
    )


def make_queue(settings: Settings, *, pool_size: int = 4) -> Queue:
    """The SAQ queue (not yet connected)."""
    return saq_config(settings, pool_size=pool_size).get_queues().get(QUEUE_NAME)


def generation_job(generation_id: str, settings: Settings) -> Job:
    """The SAQ job that runs a generation: keyed by its id (enqueued once), no time limit, a heartbeat."""
    return Job(
        function=TASK,
        kwargs={"generation_id": generation_id},
        key=generation_id,
        timeout=0,
        heartbeat=max(1, round(settings.worker_heartbeat_s)),  # the worker that takes it sets its own
        retries=RETRIES,
        ttl=600,
    )


async def live_workers(session: AsyncSession) -> list[dict[str, Any]]:
    """The workers whose stats have not expired: each one's description, newest heartbeat first."""
    try:
        rows = (
            await session.execute(
                text(
                    "SELECT worker_id, metadata FROM saq_stats "
                    "WHERE queue_key = :queue AND expire_at >= EXTRACT(EPOCH FROM NOW())"
                ),
                {"queue": QUEUE_NAME},
            )
        ).all()
    except Exception:  # no worker ever started: SAQ has not made its tables yet
        await session.rollback()
        return []
    workers = []
    for worker_id, metadata in rows:
        info = json.loads(metadata) if isinstance(metadata, str | bytes) else dict(metadata or {})
        beat = info.pop("heartbeat_at", None)
        info["name"] = info.get("name") or worker_id
        info["last_heartbeat"] = datetime.fromtimestamp(beat, UTC) if beat else None
        workers.append(info)
    return sorted(workers, key=lambda w: w["name"])
