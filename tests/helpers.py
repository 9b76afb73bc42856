"""Helpers that only tests use: writing the files the library reads."""

from __future__ import annotations

import os

import numpy as np
from aeclust.idx import DTYPES, IdxError

# numpy dtype (native byte order) -> IDX type code
_CODES: dict[np.dtype, int] = {dt.newbyteorder("="): code for code, dt in DTYPES.items()}


def write_idx(path: str | os.PathLike, array: np.ndarray) -> None:
    """Write ``array`` as an IDX file (its dtype must be one IDX supports)."""
    array = np.asarray(array)
    native = array.dtype.newbyteorder("=")
    if native not in _CODES:
        raise IdxError(f"{path}: dtype {array.dtype} has no IDX type code")
    if not 1 <= array.ndim <= 255:
        raise IdxError(f"{path}: {array.ndim} dimensions (IDX allows 1..255)")
    code = _CODES[native]
    header = bytes([0, 0, code, array.ndim]) + np.asarray(array.shape, dtype=">u4").tobytes()
    with open(path, "wb") as f:
        f.write(header)
        f.write(np.ascontiguousarray(array, dtype=DTYPES[code]).tobytes())
