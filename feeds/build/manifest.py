"""The input-digest manifest of ``feeds build``: what the last build into an OUT wrote.

For each file written, the manifest records the digest of its document's inputs (when the document
has one: feeds, archives, article pages), the sha256 of the file's bytes and, as the build left it in
OUT, the file's stat fingerprint (size, mtime, ctime, inode). A rebuild whose document has the same
input digest keeps the previous file instead of rendering it, so an unchanged rebuild costs digests
and ``lstat`` calls, not rendering.

Any write to a file, a chmod or chown, or a replacement changes its ctime or inode, and ctime cannot
be set back by a user: a file whose fingerprint is the recorded one holds the bytes this build
recorded, without reading them.

The manifest also records the build's stamp (:func:`stamp`): a digest of every file of the data
directory, the settings and the whole package. A build whose stamp is the recorded one, into an OUT
that holds exactly the recorded files with their recorded fingerprints, would write the same tree:
it is skipped before the data is loaded (:meth:`Manifest.kept`).

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
import sys
from functools import cache
from importlib import metadata
from pathlib import Path

from feeds.files import digest_files, is_trusted, read_trusted, write_atomic
from feeds.pipeline.ledger import LEDGER_NAME

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
        #: The stamp of the build that wrote ``previous`` and what its report said (articles, warnings).
        self.previous_stamp: str | None = None
        self.previous_summary: dict[str, object] = {}
        self.stamp: str | None = None
        self.summary: dict[str, object] = {}
        if not os.path.isdir(out):
            return  # nothing of the last build is left to keep
        with contextlib.suppress(ValueError, TypeError, AttributeError):
            saved = json.loads(read_trusted(self.path) or b"{}")
            if saved.get("code") == self.code and isinstance(saved.get("files"), dict):
                self.previous = {
                    rel: (inputs, sha, tuple(stat) if isinstance(stat, list) and len(stat) == 4 else None)
                    for rel, (inputs, sha, stat) in saved["files"].items()
                    if isinstance(inputs, str | None) and isinstance(sha, str)
                }
                if isinstance(saved.get("stamp"), str) and isinstance(saved.get("summary"), dict):
                    self.previous_stamp, self.previous_summary = saved["stamp"], saved["summary"]

    def kept(self, stamp: str) -> bool:
        """Whether the last build had ``stamp`` and OUT holds exactly the files it recorded, each
        trusted and with its recorded fingerprint: then a build with ``stamp`` would leave OUT as it is."""
        if stamp != self.previous_stamp or not self.previous:
            return False
        seen = 0
        pending = [("", str(self.out))]
        while pending:
            prefix, folder = pending.pop()
            try:
                with os.scandir(folder) as found:
                    for entry in found:
                        if entry.is_dir(follow_symlinks=False):
                            pending.append((prefix + entry.name + "/", entry.path))
                            continue
                        record = self.previous.get(prefix + entry.name)
                        info = entry.stat(follow_symlinks=False)
                        if record is None or record[2] != fingerprint(info) or not is_trusted(info):
                            return False
                        seen += 1
            except OSError:
                return False
        return seen == len(self.previous)

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
        if self.files == self.previous and (self.stamp, self.summary) == (self.previous_stamp, self.previous_summary):
            return  # as saved
        with contextlib.suppress(OSError):
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            saved = {"code": self.code, "out": str(self.out), "files": self.files}
            if self.stamp is not None:
                saved |= {"stamp": self.stamp, "summary": self.summary}
            data = json.dumps(saved)
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


def stamp(data_dir: Path, *settings: object) -> tuple[str, str]:
    """Digests of what a build reads, without the ledger and with it: every file of ``data_dir`` (the
    listing, ``site.toml``, the data's own tables; the ledger, which the load may write, apart),
    ``settings``, and every file of the package (code, shipped tables, templates, static files) with
    Python's and the libraries' versions. Each file is read once."""
    h = hashlib.sha256(repr(settings).encode("utf-8", "surrogatepass") + b"\0" + _package_digest().encode())
    try:
        names = sorted(entry.name for entry in os.scandir(data_dir) if entry.is_file(follow_symlinks=False))
    except OSError:
        names = []
    ledger = b""
    for name in names:
        with contextlib.suppress(OSError):
            part = name.encode("utf-8", "surrogatepass") + b"\0" + (data_dir / name).read_bytes() + b"\0"
            if name == LEDGER_NAME:
                ledger = part
            else:
                h.update(part)
    data = h.hexdigest()
    h.update(ledger)
    return data, h.hexdigest()


@cache
def _package_digest() -> str:
    package = Path(__file__).resolve().parents[1]
    sources = sorted(path for path in package.rglob("*") if path.is_file() and "__pycache__" not in path.parts)
    # What the load reads besides the data: pycountry's countries, the time zones, Python itself.
    versions = [sys.version]
    for library in ("pycountry", "tzdata"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            versions.append(f"{library} {metadata.version(library)}")
    names = (str(path.relative_to(package)) for path in sources)
    return digest_files(sources, *names, *versions, code_digest())
