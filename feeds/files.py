"""Files the project writes and reads: atomic writes, trusted cache files, digests of code.

One helper for each job, shared by the ledger, the tagging cache and the build.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
import tempfile
from collections.abc import Iterable
from pathlib import Path


def write_atomic(path: Path, data: bytes, *, mode: int = 0o644, durable: bool = True) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the new one, never a part.

    ``durable`` syncs the data to disk before the rename (the ledger, which is a permanent record);
    caches, which can always be made again, skip it.
    """
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix="." + path.name + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            if durable:
                handle.flush()
                os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def is_trusted(info: os.stat_result) -> bool:
    """A regular file of this user that nobody else may write: safe to read back from a cache."""
    return stat.S_ISREG(info.st_mode) and info.st_uid == os.getuid() and not info.st_mode & 0o022


def read_trusted(path: Path) -> bytes | None:
    """The bytes of a cache file, or None when it is missing or not :func:`is_trusted`."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    with os.fdopen(fd, "rb") as handle:
        if not is_trusted(os.fstat(handle.fileno())):
            return None
        return handle.read()


def digest_files(paths: Iterable[Path], *extra: str) -> str:
    """A digest of the named files' names and bytes, in the order given, and of ``extra`` strings."""
    h = hashlib.sha256()
    for path in paths:
        h.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    for value in extra:
        h.update(value.encode() + b"\0")
    return h.hexdigest()
