"""Streams: the read side over the projection (lists, detail, stats, search, live)."""
