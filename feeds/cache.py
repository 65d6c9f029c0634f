"""Compiled tagging tables kept between runs.

Compiling the gazetteer and the rules from the three TOML files and pycountry takes a few tenths of
a second, more than parsing ten thousand articles; the result depends on nothing but those files,
the tagger's code and pycountry's version. So it is pickled once into the cache directory (by
default ``$XDG_CACHE_HOME/feeds``) under a digest of all of them, and read back by later runs: an
edited table or an upgrade gives a new digest and a fresh compile. The cache is only an
accelerator: a file that is missing, unreadable, not the user's own or not a tagger is ignored and
rebuilt, and a cache directory that cannot be written is skipped silently.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import pickle
import stat
import sys
import tempfile
import time
from importlib import util
from pathlib import Path

from . import gazetteer, slug, tag
from .tag import Tagger


def default_dir() -> Path:
    """``$XDG_CACHE_HOME/feeds``, else ``~/.cache/feeds``."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "feeds"


def _digest(paths: dict[str, Path]) -> str:
    h = hashlib.sha256()
    h.update(sys.version.encode())
    spec = util.find_spec("pycountry")  # its country list, without importing it
    if spec is not None and spec.origin:
        with contextlib.suppress(OSError):
            h.update(Path(spec.origin).with_name("databases").joinpath("iso3166-1.json").read_bytes())
    for module in (tag, gazetteer, slug):  # the code that compiles and reads the tables
        h.update(Path(module.__file__).read_bytes())
    for name, path in paths.items():
        h.update(name.encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()[:32]


def _trusted(path: Path) -> bool:
    """Only a file of this user that nobody else may write is unpickled."""
    try:
        info = path.stat()
    except OSError:
        return False
    return info.st_uid == os.getuid() and not info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)


def load_tagger(data_dir: Path, fallback_dir: Path, cache_dir: Path | None) -> Tagger:
    """The tagger of ``data_dir`` (tables missing there from ``fallback_dir``), from the cache when it can."""
    paths = Tagger.sources(data_dir, fallback_dir)
    if cache_dir is None:
        return Tagger.load(data_dir, fallback_dir)
    try:
        key = _digest(paths)
    except OSError:
        return Tagger.load(data_dir, fallback_dir)  # Tagger.load reports the unreadable file
    target = Path(cache_dir) / f"tagger-{key}.pickle"
    if _trusted(target):
        try:
            with target.open("rb") as handle:
                cached = pickle.load(handle)
            if isinstance(cached, Tagger):
                return cached
        except Exception:  # a damaged cache file is rebuilt, whatever is wrong with it
            pass
    tagger = Tagger.load(data_dir, fallback_dir)
    _store(target, tagger)
    return tagger


def _store(target: Path, tagger: Tagger) -> None:
    try:
        target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(prefix=".tagger-", dir=target.parent)
    except OSError:
        return
    try:
        with os.fdopen(fd, "wb") as handle:
            pickle.dump(tagger, handle, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(temporary, target)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        return
    # Tables edited long ago left files nobody reads; one compile costs less than keeping them all.
    for old in target.parent.glob("tagger-*.pickle"):
        with contextlib.suppress(OSError):
            if old != target and time.time() - old.stat().st_mtime > _MAX_AGE:
                old.unlink()


_MAX_AGE = 30 * 86400
