"""Chain side: sources of contract events, decoding, and the contract's amount math."""
