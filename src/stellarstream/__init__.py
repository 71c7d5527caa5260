"""StellarStream: the off-chain half of token payment streaming on Stellar."""

__version__ = "0.1.0"
