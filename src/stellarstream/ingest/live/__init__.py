"""The live indexer: follow the chain's tip, one committed batch at a time (one per contract)."""
