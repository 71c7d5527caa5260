from __future__ import annotations

from pydantic import BaseModel

__all__ = ["PreparedTransaction"]


class PreparedTransaction(BaseModel):
    """A simulated, ready-to-sign contract call, for a wallet to sign and submit.

    ``xdr`` is the unsigned transaction envelope (footprint, resource fee and authorizations
    from the simulation applied); ``sep7_uri`` is the same as a SEP-7 ``web+stellar:tx`` request.
    """

    function: str
    contract_id: str
    source: str
    """The account whose signature (and sequence number and fees) the transaction needs."""
    xdr: str
    sep7_uri: str
    network_passphrase: str
    tx_hash: str
    """The hash the signature will be over (hex)."""
    fee: int
    """Total fee in stroops: inclusion fee plus the simulated resource fee."""
    min_resource_fee: int
    simulated_return_xdr: str | None = None
    """What the call returns in simulation (base64 ``SCVal``): the new id for create_stream."""
    start_time: int | None = None
    """create_stream only: the start and end times put in the call."""
    end_time: int | None = None
