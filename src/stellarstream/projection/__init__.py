"""Projection: the write side of stream rows (the fold, row rebuilds, the totals and their lock)."""
