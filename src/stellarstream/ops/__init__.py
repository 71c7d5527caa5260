"""Operations: logging setup, health monitor."""
