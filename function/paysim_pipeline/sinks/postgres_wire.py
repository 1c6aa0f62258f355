"""Wire types of the sink: numpy columns sent to PostgreSQL in binary format, no per-element Python work."""

from __future__ import annotations

import struct
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from psycopg.adapt import Dumper
from psycopg.pq import Format

if TYPE_CHECKING:
    import numpy.typing as npt
    import psycopg

    IntArray = npt.NDArray[np.int64]

INT8_OID, INT8_ARRAY_OID = 20, 1016
_ARRAY_HEADER = struct.Struct("!iiI")  # dimensions, has nulls, element type
_DIMENSION = struct.Struct("!ii")  # size, lower bound


class BigintArray:
    """A numpy column sent as a PostgreSQL bigint[] in binary format: no per-element Python work."""

    __slots__ = ("values",)

    def __init__(self, values: IntArray | Sequence[int]) -> None:
        self.values = np.asarray(values, dtype=np.int64)


class _BigintArrayDumper(Dumper):
    format = Format.BINARY
    oid = INT8_ARRAY_OID

    def dump(self, obj: BigintArray) -> bytes:
        count = len(obj.values)
        if not count:
            return _ARRAY_HEADER.pack(0, 0, INT8_OID)
        # One dimension, no nulls, then (length 8, big-endian value) per element.
        elements = np.empty(count, dtype=[("length", ">i4"), ("value", ">i8")])
        elements["length"] = 8
        elements["value"] = obj.values
        return _ARRAY_HEADER.pack(1, 0, INT8_OID) + _DIMENSION.pack(count, 1) + elements.tobytes()


def register_wire_types(connection: psycopg.Connection[tuple[Any, ...]]) -> None:
    """Teach the connection to send BigintArray columns."""
    connection.adapters.register_dumper(BigintArray, _BigintArrayDumper)
