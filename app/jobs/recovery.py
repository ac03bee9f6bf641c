"""What happens to a job whose process stopped while it ran: requeued or failed as `interrupted`."""

from __future__ import annotations

import logging

from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import FAILED, QUEUED, MusicGeneration, utcnow
from app.domain.generations.services import GenerationService
from app.domain.stats.services import UsageService
from app.jobs.progress import waiting

log = logging.getLogger("app.jobs")

INTERRUPTED_MESSAGE = "the service stopped while this job was running; submit it again"


async def settle_interrupted(
    session: AsyncSession, generation_id: str, *, requeue: bool, reason: str = INTERRUPTED_MESSAGE
) -> MusicGeneration | None:
    """Requeue the interrupted job (`requeue`, REQUEUE_INTERRUPTED) or fail it; its row afterwards."""
    service = GenerationService(session=session)
    if requeue:
        row = await service.set_fields(
            generation_id, status=QUEUED, started_at=None, worker=None, **waiting().row_fields()
        )
        log.warning("job %s was interrupted; requeued", generation_id)
        return row
    now = utcnow()
    row = await service.set_fields(
        generation_id,
        status=FAILED,
        error_type="interrupted",
        error_message=reason,
        finished_at=now,
        progress_eta_s=None,
    )
    await UsageService(session=session).record_finished(FAILED, 0.0, 0.0, now)
    log.warning("job %s was interrupted; marked failed", generation_id)
    return row
