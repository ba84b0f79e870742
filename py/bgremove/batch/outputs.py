"""Results on disk: each written whole or not at all, and recognised as whole on a re-run."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

from .. import formats
from ..errors import BgRemoveError


def write_atomically(target: Path, data: bytes) -> None:
    """Write beside the target, flush it to disk, then rename: a run killed at any moment leaves the
    old file or the new one, never half of one (a rename within a folder is atomic)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, part = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(part, target)
    except BaseException:
        Path(part).unlink(missing_ok=True)
        raise


def is_complete(target: Path) -> bool:
    """Whether a result from an earlier run can stand: it exists and is a whole image file (results
    are written atomically, but the folder may hold a file that something else cut short)."""
    try:
        size = target.stat().st_size
        with target.open("rb") as file:
            head = file.read(formats.HEADER_BYTES)
            file.seek(max(size - formats.TAIL_BYTES, 0))
            tail = file.read()
        fmt = formats.sniff(head)
        formats.check_complete(fmt, head, tail, size)
    except (OSError, BgRemoveError):
        return False
    return fmt != "jpeg" or tail.rstrip(b"\0").endswith(b"\xff\xd9")  # ours have nothing after the end mark
