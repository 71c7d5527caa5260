"""Authentication: SEP-10 challenges and the JWTs they are exchanged for."""
