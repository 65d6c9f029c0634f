"""The entries of Atom and RSS feeds, kept between builds in the cache directory.

Most of the time of writing feeds goes into their entries, and an article's entry stays the same
from one build to the next unless the article, its link, its countries or topics, or the code that
renders it change. ``feeds build`` therefore keeps the entries it wrote in one file, found by the
digest of those inputs, and the next build reads each one it needs instead of making it again: a
rebuild after new articles arrive makes only theirs.

The file holds the entries one after the other, then their index (fixed-size records: digest,
offset, length), then the digest of the rendering code (an upgrade makes every entry again) and
where the index starts. It holds only bytes and numbers: nothing in it is unpickled. There is one
for each output directory, like the build manifest; it is replaced atomically, only when the
entries of a build differ from those it holds.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import struct
import tempfile
from collections.abc import Callable
from pathlib import Path

from feeds.model import Article
from feeds.render import atom_rss as xmlfeeds
from feeds.render.atom_rss import EntryKey

_RECORD = struct.Struct("<16sQI")  # an entry's digest, offset and length
_TAIL = struct.Struct("<32sQ")  # the rendering code's digest, where the index starts


class EntryCache:
    """Entries by what they are made of: read from the last build's file, else made here."""

    def __init__(self, path: Path | None, code: str, article_digest: Callable[[Article], bytes]) -> None:
        self.path, self.code = path, code
        self._article_digest = article_digest
        self._index: dict[bytes, tuple[int, int]] = {}
        self._fd: int | None = None
        self._entries: dict[tuple[str, EntryKey], bytes] = {}  # this build's, by format and key
        self._digests: dict[tuple[str, EntryKey], bytes] = {}
        self._used: dict[bytes, bytes] = {}  # this build's, by digest
        self.made = 0  # entries made (not read)
        if path is not None:
            with contextlib.suppress(OSError, ValueError, struct.error):
                self._open(path)

    def _open(self, path: Path) -> None:
        fd = os.open(path, os.O_RDONLY)
        try:
            size = os.fstat(fd).st_size
            code, start = _TAIL.unpack(os.pread(fd, _TAIL.size, size - _TAIL.size))
            if code != self._code_digest() or start > size - _TAIL.size:
                raise ValueError("made by other code, or damaged")
            records = os.pread(fd, size - _TAIL.size - start, start)
            if len(records) % _RECORD.size:
                raise ValueError("damaged")
            index = {digest: (offset, length) for digest, offset, length in _RECORD.iter_unpack(records)}
            if any(offset + length > start for offset, length in index.values()):
                raise ValueError("damaged")
        except BaseException:
            os.close(fd)
            raise
        self._fd, self._index = fd, index

    def _code_digest(self) -> bytes:
        return hashlib.sha256(self.code.encode()).digest()

    def digest(self, fmt: str, key: EntryKey) -> bytes:
        """What the entry's bytes depend on (the rendering code aside: the file records its digest)."""
        found = self._digests.get((fmt, key))
        if found is None:
            article, link, categories = key
            inputs = repr((fmt, link, categories)).encode("utf-8", "surrogatepass")
            found = self._digests[(fmt, key)] = hashlib.sha256(self._article_digest(article) + inputs).digest()[:16]
        return found

    def known(self, fmt: str, key: EntryKey) -> bool:
        """Whether the entry is made already, here or by the last build."""
        return (fmt, key) in self._entries or self.digest(fmt, key) in self._index

    def get(self, fmt: str, key: EntryKey) -> bytes:
        """The entry, read or made once per build."""
        data = self._entries.get((fmt, key))
        if data is None:
            digest = self.digest(fmt, key)
            where = self._index.get(digest)
            if where is not None:
                data = os.pread(self._fd, where[1], where[0])
            if data is None or len(data) != where[1]:
                data = xmlfeeds.entry(fmt, key)  # also remembered there, for archive pages
                self.made += 1
            self._entries[(fmt, key)] = self._used[digest] = data
        return data

    def add(self, digest: bytes, data: bytes) -> None:
        """An entry made by another process (the writer, a worker), by its :meth:`digest`."""
        if digest not in self._used:
            self.made += 1
            self._used[digest] = data

    def made_here(self) -> dict[bytes, bytes]:
        """The entries made in this process, by digest (a worker sends them back)."""
        return {digest: data for digest, data in self._used.items() if digest not in self._index}

    def save(self) -> None:
        """Keep this build's entries for the next one, unless they are the last file's; a file that
        cannot be written only costs the next build the time to make them."""
        if self.path is None or (not self.made and self._used.keys() == self._index.keys()):
            return
        with contextlib.suppress(OSError):
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd, temporary = tempfile.mkstemp(prefix=".entries-", dir=self.path.parent)
            try:
                records, offset = [], 0
                with os.fdopen(fd, "wb") as handle:
                    for digest, data in self._used.items():
                        handle.write(data)
                        records.append(_RECORD.pack(digest, offset, len(data)))
                        offset += len(data)
                    handle.write(b"".join(records))
                    handle.write(_TAIL.pack(self._code_digest(), offset))
                os.replace(temporary, self.path)
            except OSError:
                with contextlib.suppress(OSError):
                    os.unlink(temporary)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
