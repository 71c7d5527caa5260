"""Tokens by name: what each token contract says of itself, cached, with operators' overrides."""
