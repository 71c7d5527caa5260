"""Historical sync: fill ledger ranges from RPC, Horizon or a data lake, resumably."""
