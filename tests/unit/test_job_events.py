"""Job events: the `progress` data clients parse, status snapshots, and what a full subscriber drops."""

from __future__ import annotations

import json

import msgspec

from app.db.models import MusicGeneration
from app.jobs.events import SUBSCRIBER_BUFFER, ClosingEvent, EventHub, ProgressEvent, StatusEvent
from app.jobs.progress import JobProgress

GENERATION_ID = "ab" * 16


def progress_data(event: ProgressEvent) -> str:
    """The event's data as the SSE stream writes it."""
    return json.dumps(msgspec.to_builtins(event), default=str)


def test_progress_data_keeps_its_fields_order_and_rounding() -> None:
    running = ProgressEvent.of(GENERATION_ID, JobProgress("generating", 3, 250, 0.0123456, 1.23456, 7.65432))
    assert progress_data(running) == (
        f'{{"generation_id": "{GENERATION_ID}", "phase": "generating", "step": 3, "total_steps": 250, '
        '"fraction": 0.0123, "elapsed_s": 1.235, "eta_s": 7.654, "queue_position": null}'
    )
    waiting = ProgressEvent.queued(GENERATION_ID, 2)
    assert json.loads(progress_data(waiting)) == {
        "generation_id": GENERATION_ID,
        "phase": "queued",
        "step": 0,
        "total_steps": 0,
        "fraction": 0.0,
        "elapsed_s": 0.0,
        "eta_s": None,
        "queue_position": 2,
    }


def test_a_status_event_keeps_the_row_as_it_was() -> None:
    row = MusicGeneration(id=1, generation_id=GENERATION_ID, prompt="piano", status="running")
    event = StatusEvent.of(row, queue_position=None)
    row.status, row.prompt = "succeeded", "changed"
    assert (event.row.status, event.row.prompt, event.terminal) == ("running", "piano", False)
    assert StatusEvent.of(row).terminal
    assert (event.kind, ProgressEvent.kind, ClosingEvent.kind) == ("status", "progress", "closing")


async def test_a_full_subscriber_loses_old_progress_never_a_status() -> None:
    hub = EventHub()
    row = MusicGeneration(id=1, generation_id=GENERATION_ID, prompt="piano", status="running")
    with hub.subscribe(GENERATION_ID) as events:
        hub.publish(StatusEvent.of(row))
        for step in range(SUBSCRIBER_BUFFER):
            hub.publish(ProgressEvent.of(GENERATION_ID, JobProgress("generating", step, 999, 0.0, 0.0, None)))
        hub.close_all()
        got = [events.get_nowait() for _ in range(events.qsize())]
    assert isinstance(got[0], StatusEvent)
    assert isinstance(got[-1], ClosingEvent)
    steps = [event.step for event in got if isinstance(event, ProgressEvent)]
    assert steps == list(range(2, SUBSCRIBER_BUFFER))  # the two oldest made room
    assert hub.subscribers(GENERATION_ID) == 0
