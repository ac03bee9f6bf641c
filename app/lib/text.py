"""What every free text input must satisfy to be stored by both databases."""

from __future__ import annotations

# PostgreSQL's text cannot hold NUL, and SQLite's LIKE stops at it: refuse it in every text input.
NO_NUL = r"^[^\x00]*$"
# The same, and not blank (something besides white space).
TEXT = r"^[^\x00]*[^\s\x00][^\x00]*$"

# What a pattern asks, in words, for error messages (msgspec names only the regex).
PATTERN_MEANINGS: dict[str, str] = {
    NO_NUL: "must not hold a NUL character",
    TEXT: "must hold more than white space, and no NUL character",
}


def describe_pattern(pattern: str, meaning: str) -> None:
    """Register what another pattern asks, in words."""
    PATTERN_MEANINGS[pattern] = meaning
