"""Ingestion: store events once and record them in one transaction; the live loop, the backfill."""
