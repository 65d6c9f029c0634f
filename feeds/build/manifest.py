"""The input-digest manifest of ``feeds build``: what the last build into an OUT wrote.

For each file written, the manifest records the digest of its document's inputs (when the document
has one: feeds, archives, article pages), the sha256 of the file's bytes and, as the build left it in
OUT, the file's stat fingerprint (size, mtime, ctime, inode). A rebuild whose document has the same
input digest keeps the previous file instead of rendering it, so an unchanged rebuild costs digests
and ``lstat`` calls, not rendering.

Any write to a file, a chmod or chown, or a replacement changes its ctime or inode, and ctime cannot
be set back by a user: a file whose fingerprint is the recorded one holds the bytes this build
recorded, without reading them.

The manifest lives in the cache directory (not in OUT, which is published), one for each OUT, read
only when it is a file of this user that nobody else may write (:func:`feeds.files.read_trusted`),
and with the digest of the code that renders: an upgrade renders everything. A previous file is
kept only when it is a trusted file with the recorded fingerprint (or, linked into a staging tree,
holds the recorded bytes); whatever fails that is rendered again.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from importlib import metadata
from pathlib import Path

from feeds.files import digest_files, read_trusted, write_atomic

#: (size, mtime_ns, ctime_ns, inode) of a file in OUT
Fingerprint = tuple[int, int, int, int]
#: (input digest or None, sha256 of the bytes, fingerprint or None) of one file
Record = tuple[str | None, str, Fingerprint | None]


def fingerprint(info: os.stat_result) -> Fingerprint:
    return (info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_ino)


class Manifest:
    """The last build's records (``previous``) and this build's (``files``), by path in OUT."""

    def __init__(self, cache_dir: Path, out: Path) -> None:
        self.path = cache_dir / "builds" / (hashlib.sha256(str(out).encode()).hexdigest()[:24] + ".json")
        self.out = out
        self.code = code_digest()
        self.previous: dict[str, Record] = {}
        self.files: dict[str, Record] = {}
        with contextlib.suppress(ValueError, TypeError, AttributeError):
            saved = json.loads(read_trusted(self.path) or b"{}")
            if saved.get("code") == self.code and isinstance(saved.get("files"), dict):
                self.previous = {
                    rel: (inputs, sha, tuple(stat) if isinstance(stat, list) and len(stat) == 4 else None)
                    for rel, (inputs, sha, stat) in saved["files"].items()
                    if isinstance(inputs, str | None) and isinstance(sha, str)
                }

    def has_fingerprints(self) -> bool:
        """Whether the last build recorded its files as it left them in OUT."""
        return any(record[2] is not None for record in self.previous.values())

    def unchanged(self, rels: list[str], inputs: str) -> dict[str, str] | None:
        """The recorded sha256 of each of ``rels`` when the last build wrote them all from the
        same ``inputs``; None when it did not."""
        found = {}
        for rel in rels:
            record = self.previous.get(rel)
            if record is None or record[0] != inputs:
                return None
            found[rel] = record[1]
        return found

    def sha256(self, rel: str) -> str | None:
        """The sha256 that the last build recorded for ``rel``."""
        record = self.previous.get(rel)
        return record[1] if record else None

    def fingerprint(self, rel: str) -> Fingerprint | None:
        """The fingerprint that the last build recorded for ``rel`` in OUT."""
        record = self.previous.get(rel)
        return record[2] if record else None

    def record(self, rel: str, inputs: str | None, sha256: str) -> None:
        self.files[rel] = (inputs, sha256, None)

    def settle(self, stats: dict[str, Fingerprint]) -> None:
        """The fingerprints of the files as they are in OUT after the build."""
        for rel, stat in stats.items():
            record = self.files.get(rel)
            if record is not None:
                self.files[rel] = (record[0], record[1], stat)

    def save(self) -> None:
        """Written after the swap; a manifest that cannot be written only costs renders."""
        if self.files == self.previous:
            return  # as saved
        with contextlib.suppress(OSError):
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            data = json.dumps({"code": self.code, "out": str(self.out), "files": self.files})
            write_atomic(self.path, data.encode(), mode=0o600, durable=False)


def code_digest() -> str:
    """The code, templates and assets that turn a document's inputs into bytes, and the libraries'
    versions."""
    package = Path(__file__).resolve().parents[1]
    sources = [*package.glob("render/*.py"), *package.glob("templates/*"), *package.glob("static/*")]
    sources += [package / name for name in ("pipeline/index.py", "model.py", "dates.py", "build/tree.py")]
    versions = []
    for library in ("feedgen", "lxml", "Jinja2", "brotli"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            versions.append(f"{library} {metadata.version(library)}")
    return digest_files(sorted(sources), *versions)
