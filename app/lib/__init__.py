"""Cross-cutting pieces: errors, rate limits, audio storage, the admin guard."""
