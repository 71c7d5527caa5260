"""Invoice links: shareable requests to be paid by a stream."""
