"""HTTP Range (RFC 9110 §14) for one byte range, as audio players ask for."""

from __future__ import annotations

import re

_RANGE = re.compile(r"^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$", re.IGNORECASE)


class RangeNotSatisfiable(Exception):
    """The range lies outside the file (answer 416)."""


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """(first, last) byte, inclusive; None to send the whole file (no header, several ranges, or junk)."""
    if not header:
        return None
    match = _RANGE.match(header)
    if match is None:  # several ranges or another unit: a full answer is allowed
        return None
    first_text, last_text = match.groups()
    if not first_text and not last_text:
        return None
    if not first_text:  # suffix: the last N bytes
        length = int(last_text)
        if length == 0 or size == 0:
            raise RangeNotSatisfiable
        return max(0, size - length), size - 1
    first = int(first_text)
    last = int(last_text) if last_text else size - 1
    if first >= size or last < first:
        raise RangeNotSatisfiable
    return first, min(last, size - 1)


def read_range(path: str, first: int, last: int) -> bytes:
    with open(path, "rb") as handle:
        handle.seek(first)
        return handle.read(last - first + 1)
