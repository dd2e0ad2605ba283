"""The event contract: reading schemas per type and the packed, versioned frame that carries them."""

from ioc.contract.frame import (
    MAX_READINGS,
    SCHEMA_VERSION,
    ContractError,
    Frame,
    KnownSensors,
    Reason,
    Rejection,
    TextMemo,
    decode,
    encode,
    single,
    validate,
)
from ioc.contract.parsing import check, parse
from ioc.contract.schemas import POLLUTANTS, SCHEMAS, Field, Schema

__all__ = [
    "MAX_READINGS",
    "POLLUTANTS",
    "SCHEMAS",
    "SCHEMA_VERSION",
    "ContractError",
    "Field",
    "Frame",
    "KnownSensors",
    "Reason",
    "Rejection",
    "Schema",
    "TextMemo",
    "check",
    "decode",
    "encode",
    "parse",
    "single",
    "validate",
]
