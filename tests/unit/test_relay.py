"""What crosses processes with QUEUE=saq: job events and commands as NOTIFY payloads."""

from __future__ import annotations

import msgspec

from app.db.models import MusicGeneration
from app.jobs.events import ClosingEvent, ProgressEvent, StatusEvent
from app.jobs.progress import JobProgress
from app.jobs.relay import (
    NOTIFY_LIMIT,
    Command,
    Message,
    ProgressMessage,
    StatusChanged,
    asyncpg_dsn,
    encode_event,
)

decode = msgspec.json.Decoder(Message).decode


def test_a_progress_event_arrives_as_it_was_sent() -> None:
    event = ProgressEvent.of("g1", JobProgress("generating", 7, 250, 0.028, 1.5, 40.0))
    payload = encode_event(event)
    assert payload is not None
    assert len(payload) < NOTIFY_LIMIT
    assert decode(payload) == ProgressMessage(event)


def test_a_status_event_sends_only_the_id_the_row_is_read_again() -> None:
    row = MusicGeneration(generation_id="g2", prompt="x" * 5000, status="running")
    payload = encode_event(StatusEvent.of(row))
    assert payload is not None
    assert decode(payload) == StatusChanged("g2")
    assert b"xxxxx" not in payload  # however long the row, the message stays under NOTIFY's limit


def test_closing_stays_in_its_process() -> None:
    assert encode_event(ClosingEvent("g3")) is None


def test_commands_round_trip() -> None:
    for command in (Command("cancel", "g4"), Command("reload", options={"model": "tiny-random"})):
        assert decode(msgspec.json.encode(command)) == command


def test_the_dsn_drops_the_sqlalchemy_driver() -> None:
    assert asyncpg_dsn("postgresql+asyncpg://u@h:5432/db") == "postgresql://u@h:5432/db"
    assert asyncpg_dsn("postgresql://u@h/db") == "postgresql://u@h/db"
