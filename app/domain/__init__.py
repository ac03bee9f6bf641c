"""The API, one folder per area: controllers (HTTP), services (database work), schemas (msgspec)."""
