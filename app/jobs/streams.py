"""The audio of running jobs as it is made: one growing MP3 per job, read from the start by any listener.

The worker opens a stream when a job starts, appends the encoder's bytes as the engine hands out audio
(from the engine's thread, through the event loop) and closes it when the job ends; a listener gets
every byte from the first, then waits for more until the stream closes. Once the job's record is
final the stream is dropped: a listener who comes later gets the stored file.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

STREAM_MEDIA_TYPE = "audio/mpeg"
STREAM_FORMAT = "mp3"


class AudioStream:
    """One job's encoded audio so far; :meth:`read` follows it from the first byte to the end."""

    def __init__(self) -> None:
        self.data = bytearray()
        self.closed = False
        self._grown = asyncio.Event()

    def append(self, data: bytes) -> None:
        if data and not self.closed:
            self.data += data
            self._wake()

    def close(self) -> None:
        """No more bytes will come (the job ended, however it ended)."""
        self.closed = True
        self._wake()

    async def read(self) -> AsyncIterator[bytes]:
        """Every byte from the first, as it comes, until the stream closes."""
        offset = 0
        while True:
            if offset < len(self.data):
                chunk = bytes(self.data[offset:])
                offset += len(chunk)
                yield chunk
            elif self.closed:
                return
            else:
                await self._grown.wait()

    def _wake(self) -> None:
        grown, self._grown = self._grown, asyncio.Event()
        grown.set()


class AudioStreams:
    """The streams of the jobs running now (one at a time per worker, a few while they finish)."""

    def __init__(self) -> None:
        self._streams: dict[str, AudioStream] = {}

    def open(self, generation_id: str) -> AudioStream:
        stream = self._streams[generation_id] = AudioStream()
        return stream

    def get(self, generation_id: str) -> AudioStream | None:
        return self._streams.get(generation_id)

    def drop(self, generation_id: str) -> None:
        """Close and forget the stream (its listeners still read what it holds)."""
        stream = self._streams.pop(generation_id, None)
        if stream is not None:
            stream.close()

    def close_all(self) -> None:
        """Shutdown: every listener's stream ends with what it has."""
        for stream in self._streams.values():
            stream.close()
