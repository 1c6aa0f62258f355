"""Vectorised draws and labels in numpy: categorical draws from a CDF, zero-padded ids, random UUIDs."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    IntArray = npt.NDArray[np.int64]
    FloatArray = npt.NDArray[np.float64]


def cumulative(probabilities: list[float]) -> FloatArray:
    import numpy as np

    cdf = np.cumsum(probabilities)
    cdf[-1] = 1.0
    return cdf


def draw(rng: np.random.Generator, cdf: FloatArray, size: int) -> IntArray:
    """Indices drawn with the probabilities `cdf` accumulates."""
    import numpy as np

    return np.searchsorted(cdf, rng.random(size), side="right").astype(np.int64)


def labels(prefix: str, values: IntArray, width: int) -> npt.NDArray[np.str_]:
    """`prefix` + zero-padded decimal `values`, built as bytes in numpy (no Python loop)."""
    import numpy as np

    digits = (values[:, None] // 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)) % 10
    text = np.empty((len(values), len(prefix) + width), dtype=np.uint8)
    text[:, : len(prefix)] = np.frombuffer(prefix.encode(), dtype=np.uint8)
    text[:, len(prefix) :] = digits + ord("0")
    return text.view(f"S{text.shape[1]}").ravel().astype(f"U{text.shape[1]}")


_HEX = b"0123456789abcdef"
_UUID_DASHES = (8, 13, 18, 23)


def uuid4_strings(rng: np.random.Generator, size: int) -> npt.NDArray[np.str_]:
    """Random (version 4) UUIDs, formatted in numpy."""
    import numpy as np

    raw = np.frombuffer(rng.bytes(16 * size), dtype=np.uint8).reshape(size, 16).copy()
    raw[:, 6] = (raw[:, 6] & 0x0F) | 0x40
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80
    hexdigits = np.frombuffer(_HEX, dtype=np.uint8)
    nibbles = np.empty((size, 32), dtype=np.uint8)
    nibbles[:, 0::2] = hexdigits[raw >> 4]
    nibbles[:, 1::2] = hexdigits[raw & 0x0F]
    text = np.full((size, 36), ord("-"), dtype=np.uint8)
    text[:, np.setdiff1d(np.arange(36), _UUID_DASHES)] = nibbles
    return text.view("S36").ravel().astype("U36")


def codes_of(names: list[str], universe: tuple[str, ...]) -> IntArray:
    import numpy as np

    return np.array([universe.index(name) for name in names], dtype=np.int64)
