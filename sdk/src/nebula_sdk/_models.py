"""The response model base: camelCase on the wire, snake_case in Python, unknown fields kept."""

from __future__ import annotations

from typing import Annotated

import pydantic
from pydantic import BeforeValidator, ConfigDict, PlainSerializer
from pydantic.alias_generators import to_camel

__all__ = ["Amount", "BaseModel"]


class BaseModel(pydantic.BaseModel):
    """Base of every response type.

    ``extra="allow"``: a field the server adds later is kept (``model.model_extra``) instead of
    breaking older SDKs. Field names are snake_case; the JSON is camelCase.
    """

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="allow",
        frozen=False,
        protected_namespaces=(),
    )

    def to_dict(self) -> dict[str, object]:
        """The JSON shape (camelCase keys, amounts as decimal strings)."""
        data: dict[str, object] = self.model_dump(mode="json", by_alias=True)
        return data


def _parse_amount(value: object) -> object:
    # Amounts are i128 base units as decimal strings on the wire: JSON numbers lose precision.
    if isinstance(value, str):
        text = value.strip()
        if text.lstrip("-").isdigit():
            return int(text)
        raise ValueError(f"amount {value!r} is not an integer string")
    if isinstance(value, bool):
        raise ValueError("an amount is not a bool")
    return value


Amount = Annotated[
    int,
    BeforeValidator(_parse_amount),
    PlainSerializer(str, return_type=str, when_used="json"),
]
"""Token base units: ``int`` in Python, a decimal string in JSON."""
