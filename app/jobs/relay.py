"""Job events and commands between processes (QUEUE=saq), over PostgreSQL LISTEN/NOTIFY.

A worker process sends every event of its jobs on `EVENTS`: progress as its payload, a status change as
the id alone (the row is the source of truth: each API process reads it and tells its own followers).
API processes send commands on `CONTROL` (cancel a running job, reload the model); every worker hears
them and acts on the jobs it holds. One dedicated connection per process listens and sends, in order;
it reconnects after a lost connection (what was sent meanwhile is lost, as NOTIFY is; rows are not).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Literal

import asyncpg
import msgspec

from app.jobs.events import EventHub, JobEvent, ProgressEvent, StatusEvent
from app.jobs.streams import AudioStream, AudioStreams

log = logging.getLogger("app.jobs.relay")

EVENTS = "musicgenie_events"
CONTROL = "musicgenie_control"
RECONNECT_S = 1.0
NOTIFY_LIMIT = 7900  # PostgreSQL's payload limit is 8000 bytes
AUDIO_CHUNK = 5000  # bytes of audio per message: base64 and the envelope stay under NOTIFY_LIMIT


class StatusChanged(msgspec.Struct, frozen=True, tag="status"):
    """A job's row changed status: read it again."""

    generation_id: str


class ProgressMessage(msgspec.Struct, frozen=True, tag="progress"):
    event: ProgressEvent


class Command(msgspec.Struct, frozen=True, tag="command"):
    """What an API process asks of the workers: `cancel` a job, `reload` the model (with `options`; each
    worker answers a `ReloadReport` with the same `request_id`)."""

    action: Literal["cancel", "reload"]
    generation_id: str | None = None
    options: dict[str, str | None] | None = None
    request_id: str | None = None


class ReloadReport(msgspec.Struct, frozen=True, tag="reload_report"):
    """A worker's answer to a reload: done (`error` None), or failed and still serving its old model."""

    request_id: str
    worker: str
    error: str | None = None


class AudioChunk(msgspec.Struct, frozen=True, tag="audio"):
    """A piece of a running job's MP3 stream, in order from `seq` 0; `final`: the stream ends here."""

    generation_id: str
    seq: int
    data: bytes
    final: bool = False


Message = StatusChanged | ProgressMessage | Command | ReloadReport | AudioChunk
_decoder = msgspec.json.Decoder(Message)


def encode_event(event: JobEvent) -> bytes | None:
    """The message of an event (None for events that stay in their process: closing)."""
    if isinstance(event, StatusEvent):
        return msgspec.json.encode(StatusChanged(event.generation_id))
    if isinstance(event, ProgressEvent):
        return msgspec.json.encode(ProgressMessage(event))
    return None


def asyncpg_dsn(database_url: str) -> str:
    """A plain `postgresql://` DSN of an SQLAlchemy URL (`postgresql+asyncpg://`)."""
    scheme, _, rest = database_url.partition("://")
    return f"{scheme.split('+', 1)[0]}://{rest}"


Handler = Callable[[Message], Awaitable[None]]


class PgChannel:
    """One connection that listens on `channels` (each message to `handler`, in order) and sends."""

    def __init__(self, database_url: str, channels: tuple[str, ...], handler: Handler | None) -> None:
        self.dsn = asyncpg_dsn(database_url)
        self.channels = channels
        self.handler = handler
        self._inbox: asyncio.Queue[str] = asyncio.Queue()
        self._outbox: asyncio.Queue[tuple[str, str]] = asyncio.Queue()
        self._connection: asyncpg.Connection | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._connected = asyncio.Event()
        self._closing = False

    async def start(self) -> None:
        """Connect (raising if the database does not answer) and start listening and sending."""
        await self._connect()
        self._tasks = [
            asyncio.create_task(self._deliver(), name="relay-deliver"),
            asyncio.create_task(self._send(), name="relay-send"),
        ]

    async def close(self) -> None:
        """Send what is waiting (briefly), then stop."""
        self._closing = True
        if self._tasks:
            try:
                await asyncio.wait_for(self._outbox.join(), 2.0)
            except TimeoutError:
                log.warning("relay: %d message(s) not sent at shutdown", self._outbox.qsize())
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        if self._connection is not None:
            await self._connection.close()
            self._connection = None

    def send(self, channel: str, payload: bytes) -> None:
        """Queue a message; the sender sends them in order."""
        if len(payload) > NOTIFY_LIMIT:
            log.warning("relay: a %d-byte message is too long for NOTIFY; dropped", len(payload))
            return
        self._outbox.put_nowait((channel, payload.decode()))

    async def _connect(self) -> None:
        connection = await asyncpg.connect(self.dsn)
        for channel in self.channels:
            await connection.add_listener(channel, self._on_notify)
        connection.add_termination_listener(self._on_lost)
        self._connection = connection
        self._connected.set()

    def _on_notify(self, _connection: Any, _pid: int, _channel: str, payload: str) -> None:
        self._inbox.put_nowait(payload)

    def _on_lost(self, _connection: Any) -> None:
        if self._closing:
            return
        self._connected.clear()
        self._connection = None
        log.warning("relay: lost the database connection; reconnecting")
        self._tasks.append(asyncio.create_task(self._reconnect(), name="relay-reconnect"))

    async def _reconnect(self) -> None:
        while self._connection is None:
            try:
                await self._connect()
            except (OSError, asyncpg.PostgresError):
                await asyncio.sleep(RECONNECT_S)

    async def _deliver(self) -> None:
        while True:
            payload = await self._inbox.get()
            if self.handler is None:
                continue
            try:
                await self.handler(_decoder.decode(payload))
            except Exception:  # one bad message must not stop the relay
                log.exception("relay: message %r could not be handled", payload[:200])

    async def _send(self) -> None:
        while True:
            channel, payload = await self._outbox.get()
            while True:
                await self._connected.wait()
                connection = self._connection
                try:
                    assert connection is not None
                    await connection.execute("SELECT pg_notify($1, $2)", channel, payload)
                    self._outbox.task_done()
                    break
                except (OSError, AssertionError, asyncpg.PostgresError, asyncpg.InterfaceError):
                    log.debug("relay: send failed; retrying", exc_info=True)
                    await asyncio.sleep(RECONNECT_S)


class RelayHub(EventHub):
    """A worker process's hub: its own subscribers get every event, and so does every API process."""

    def __init__(self, channel: PgChannel) -> None:
        super().__init__()
        self.channel = channel

    def publish(self, event: JobEvent) -> None:
        super().publish(event)
        if (message := encode_event(event)) is not None:
            self.channel.send(EVENTS, message)


class RelayStream(AudioStream):
    """A worker's stream of a job: its bytes also go, in order, to every API process."""

    def __init__(self, generation_id: str, channel: PgChannel) -> None:
        super().__init__()
        self.generation_id = generation_id
        self.channel = channel
        self._seq = 0

    def append(self, data: bytes) -> None:
        if not data or self.closed:
            return
        super().append(data)
        for start in range(0, len(data), AUDIO_CHUNK):
            self._send(data[start : start + AUDIO_CHUNK], final=False)

    def close(self) -> None:
        if not self.closed:
            self._send(b"", final=True)
        super().close()

    def _send(self, data: bytes, *, final: bool) -> None:
        chunk = AudioChunk(self.generation_id, self._seq, data, final)
        self._seq += 1
        self.channel.send(EVENTS, msgspec.json.encode(chunk))


class RelayStreams(AudioStreams):
    """A worker process's streams, each relayed (see `RelayStream`)."""

    def __init__(self, channel: PgChannel) -> None:
        super().__init__()
        self.channel = channel

    def open(self, generation_id: str) -> AudioStream:
        stream = self._streams[generation_id] = RelayStream(generation_id, self.channel)
        return stream


def receive_chunk(streams: AudioStreams, chunk: AudioChunk) -> None:
    """An API process's copy of a worker's stream: opened by its first piece (a process that starts in
    the middle of a job serves the file once it is done), closed by its last."""
    stream = streams.get(chunk.generation_id)
    if stream is None:
        if chunk.seq != 0:
            return
        stream = streams.open(chunk.generation_id)
    stream.append(chunk.data)
    if chunk.final:
        streams.drop(chunk.generation_id)
