from __future__ import annotations

from .._models import BaseModel
from .contract_sync import ContractSync

__all__ = ["SyncStatus"]


class SyncStatus(BaseModel):
    contracts: list[ContractSync]
