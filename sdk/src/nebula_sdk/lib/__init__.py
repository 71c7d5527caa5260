"""Hand-written helpers for on-chain calls (kept apart from the HTTP resources)."""
