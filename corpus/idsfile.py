"""The token-id array file: a 32-byte header, then little-endian int32 ids, memory-mapped on read.

Header: magic ``W2VGIDS\\0`` (8 bytes), format version (uint32), bytes per id (uint32), number of ids
(uint64), reserved (uint64). The size check on open catches a truncated file.
"""

from __future__ import annotations

import hashlib
import os
import struct
from pathlib import Path

import numpy as np

from base.errors import InputError

MAGIC = b"W2VGIDS\0"
IDS_FORMAT_VERSION = 1
HEADER = struct.Struct("<8sIIQQ")  # magic, version, itemsize, count, reserved
DTYPE = np.dtype("<i4")


class IdsWriter:
    """Append int32 id chunks to an open binary file; :meth:`close` fills in the header's count."""

    def __init__(self, handle) -> None:
        self.handle = handle
        self.count = 0
        self.sha256 = hashlib.sha256()  # of the id bytes, for the corpus content hash
        handle.write(HEADER.pack(MAGIC, IDS_FORMAT_VERSION, DTYPE.itemsize, 0, 0))

    def write(self, ids: np.ndarray) -> None:
        ids = np.ascontiguousarray(ids, dtype=DTYPE)
        data = ids.tobytes()
        self.handle.write(data)
        self.sha256.update(data)
        self.count += ids.size

    def close(self) -> None:
        self.handle.seek(0)
        self.handle.write(HEADER.pack(MAGIC, IDS_FORMAT_VERSION, DTYPE.itemsize, self.count, 0))
        self.handle.seek(0, os.SEEK_END)


def open_ids(path: str | os.PathLike) -> np.memmap:
    """Memory-map an ids file read-only, after checking its header and size."""
    path = Path(path)
    try:
        size = path.stat().st_size
        with open(path, "rb") as handle:
            raw = handle.read(HEADER.size)
    except FileNotFoundError:
        raise InputError(f"token-id file not found: {path}") from None
    if len(raw) < HEADER.size:
        raise InputError(f"{path}: truncated token-id file (no header)")
    magic, version, itemsize, count, _ = HEADER.unpack(raw)
    if magic != MAGIC:
        raise InputError(f"{path}: not a w2v-gpt token-id file")
    if version != IDS_FORMAT_VERSION or itemsize != DTYPE.itemsize:
        raise InputError(f"{path}: token-id format {version} (itemsize {itemsize}) is not supported")
    if size != HEADER.size + count * DTYPE.itemsize:
        raise InputError(f"{path}: truncated or padded token-id file ({size} bytes for {count} ids)")
    if count == 0:
        return np.zeros(0, dtype=DTYPE)
    return np.memmap(path, dtype=DTYPE, mode="r", offset=HEADER.size, shape=(count,))
