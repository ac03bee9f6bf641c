"""What every free text input must satisfy to be stored by both databases."""

from __future__ import annotations

# PostgreSQL's text cannot hold NUL, and SQLite's LIKE stops at it: refuse it in every text input.
NO_NUL = r"^[^\x00]*$"
