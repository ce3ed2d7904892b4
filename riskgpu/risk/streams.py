"""Per-position random streams: a position's Monte Carlo numbers depend only on its id and the seed."""

from __future__ import annotations

import hashlib

#: The top bit of every position stream is set, so a position never shares a stream with the fixed uses
#: (pricing 0, scenarios 1, inner paths 2, QMC 3, LSM 4).
POSITION_BIT = 0x80000000


def position_stream(position_id: str) -> int:
    """The Philox stream (uint32) of a position: BLAKE2b-32 of its UTF-8 id with the top bit set.

    Independent of the row order and of the rest of the book; ``rg.price(..., stream=position_stream(id))``
    reproduces the position's price.
    """
    if not isinstance(position_id, str) or not position_id:
        raise ValueError(f"position_id must be a non-empty string, got {position_id!r}")
    digest = hashlib.blake2b(position_id.encode("utf-8"), digest_size=4, person=b"riskgpu-position").digest()
    return int.from_bytes(digest, "little") | POSITION_BIT
