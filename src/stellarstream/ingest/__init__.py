"""Ingestion: store events once, project stream state, checkpoint; the live indexer."""
