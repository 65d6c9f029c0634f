"""Compiled tagging tables, and the tags found with them, kept between runs.

Compiling the gazetteer and the rules from the TOML tables, the model and pycountry takes a few tenths of
a second, more than parsing ten thousand articles; the result depends on nothing but those files,
the tagger's code and pycountry's version. So it is pickled once into the cache directory (by
default ``$XDG_CACHE_HOME/feeds``) under a digest of all of them, and read back by later runs: an
edited table or an upgrade gives a new digest and a fresh compile. The cache is only an
accelerator: a file that is missing, unreadable, not the user's own or not a tagger is ignored and
rebuilt, and a cache directory that cannot be written is skipped silently.

Tagging is the costliest step of a load, and an article's tags depend on nothing but its title,
its summary and the tables; the tags of each data directory's articles are kept the same way
(:class:`Tables`), so a load tags only the articles that are new or edited.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import pickle
import sys
import time
from collections.abc import Sequence
from importlib import util
from pathlib import Path

from feeds import slug
from feeds.files import digest_files, read_trusted, write_atomic
from feeds.model import Entry
from feeds.tagging import compile, countries_model, gazetteer, match, model
from feeds.tagging.compile import compile_tables, sources
from feeds.tagging.match import Tagger

Found = tuple[tuple[str, ...], tuple[str, ...]]  # (countries, topics)


def default_dir() -> Path:
    """``$XDG_CACHE_HOME/feeds``, else ``~/.cache/feeds``."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "feeds"


def _digest(paths: list[Path]) -> str:
    """The tables (and the model), the code that compiles and keeps them, Python's and pycountry's versions."""
    code = [Path(m.__file__) for m in (compile, match, model, countries_model, gazetteer, slug, sys.modules[__name__])]
    spec = util.find_spec("pycountry")  # its country list, without importing it
    if spec is not None and spec.origin:
        iso = Path(spec.origin).with_name("databases") / "iso3166-1.json"
        if iso.is_file():
            code.append(iso)
    return digest_files([*code, *paths], sys.version)[:32]


def tag_all(tagger: Tagger, entries: Sequence[Entry]) -> list[Found]:
    """The (countries, topics) of every entry, in order."""
    # Articles share a few combinations of tags: one tuple for each keeps the result small.
    shared: dict[Found, Found] = {}
    out = []
    for entry in entries:
        tags = tagger.tag(entry.title, entry.summary)
        found = (tags.countries, tags.topics)
        out.append(shared.setdefault(found, found))
    return out


Catalog = tuple[tuple[tuple[str, str, str], ...], tuple[tuple[str, str, str], ...]]


def article_key(title: str, summary: str) -> bytes:
    """What the tags of an article depend on, besides the tables: its title and summary."""
    text = f"{title}\n{summary}".encode("utf-8", "surrogatepass")
    return hashlib.blake2b(text, digest_size=16).digest()


class Tables:
    """The tagging tables of a data directory, and what was found with them before.

    The tagger is read from the cache (or compiled) only when first asked for. With a cache
    directory, the tags found for each article are kept too, per data directory, under the tables'
    digest: a later load tags only the articles it has not seen (a listing grows a few articles at
    a time), and one that has seen them all never reads the tagger. Tags kept under other tables
    are never used: an edited table or an upgrade tags everything again.
    """

    def __init__(self, data_dir: Path, shipped_dir: Path, cache_dir: Path | None, tagger: Tagger | None = None) -> None:
        self.data_dir, self.shipped_dir, self.cache_dir = Path(data_dir), Path(shipped_dir), cache_dir
        self._tagger = tagger
        self.key: str | None = None  # None: nothing is read from or written to the cache
        if cache_dir is not None:
            with contextlib.suppress(OSError):  # an unreadable table is reported when the tagger is compiled
                self.key = _digest(sources(data_dir, shipped_dir))
        self._catalog: Catalog | None = None

    @property
    def tagger(self) -> Tagger:
        """The compiled tables; raises TaggingDataError where they are malformed."""
        if self._tagger is None:
            self._tagger = self._read_tagger()
        return self._tagger

    @property
    def catalog(self) -> Catalog:
        """(code, slug, name) of every country and (slug, name, description) of every topic."""
        if self._catalog is None:
            tagger = self.tagger
            self._catalog = (
                tuple((c.code, c.slug, c.name) for c in tagger.countries),
                tuple((t.slug, t.name, t.description) for t in tagger.topics),
            )
        return self._catalog

    def _read_tagger(self) -> Tagger:
        if self.key is None or self.cache_dir is None:
            return compile_tables(self.data_dir, self.shipped_dir)
        target = Path(self.cache_dir) / f"tagger-{self.key}.pickle"
        cached = _read(target)
        if isinstance(cached, Tagger):
            return cached
        tagger = compile_tables(self.data_dir, self.shipped_dir)
        _store(target, tagger, "tagger-")
        return tagger

    def _tags_path(self) -> Path | None:
        if self.key is None or self.cache_dir is None:
            return None
        place = hashlib.sha256(str(self.data_dir.resolve()).encode("utf-8", "surrogatepass")).hexdigest()[:24]
        return Path(self.cache_dir) / f"tags-{place}.pickle"

    def known(self) -> dict[bytes, Found]:
        """The tags found for articles (by :func:`article_key`) with these tables, by earlier loads."""
        path = self._tags_path()
        saved = _read(path) if path is not None else None
        if not (isinstance(saved, dict) and saved.get("key") == self.key):
            return {}
        found, catalog = saved.get("tags"), saved.get("catalog")
        if not (isinstance(found, dict) and _is_catalog(catalog)):
            return {}
        # Articles share a few combinations of tags, one object each: checking those is checking all.
        if not all(map(_is_found, {id(value): value for value in found.values()}.values())):
            return {}
        self._catalog = catalog
        return found

    def remember(self, found: dict[bytes, Found]) -> None:
        """Keep ``found`` (the articles of this load) for the next load; the cache only speeds loads up,
        so a file that cannot be written is skipped."""
        path = self._tags_path()
        if path is not None:
            _store(path, {"key": self.key, "catalog": self.catalog, "tags": found}, "tags-")


def _strings(value: object) -> bool:
    return type(value) is tuple and all(type(item) is str for item in value)


def _is_found(value: object) -> bool:
    return type(value) is tuple and len(value) == 2 and _strings(value[0]) and _strings(value[1])


def _is_catalog(value: object) -> bool:
    return (
        type(value) is tuple
        and len(value) == 2
        and all(type(part) is tuple and all(_strings(row) and len(row) == 3 for row in part) for part in value)
    )


def _read(path: Path) -> object:
    """The object pickled in ``path``, or None: a missing, untrusted or damaged file is as good as none."""
    data = read_trusted(path)
    if data is None:
        return None
    try:
        return pickle.loads(data)
    except Exception:  # a damaged cache file is rebuilt, whatever is wrong with it
        return None


def _store(target: Path, value: object, prefix: str) -> None:
    try:
        target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        write_atomic(target, pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL), mode=0o600, durable=False)
    except OSError:
        return
    # Tables edited long ago, or data directories gone, left files nobody reads: one compile or one
    # tagging costs less than keeping them all.
    for old in target.parent.glob(f"{prefix}*.pickle"):
        with contextlib.suppress(OSError):
            if old != target and time.time() - old.stat().st_mtime > _MAX_AGE:
                old.unlink()


_MAX_AGE = 30 * 86400
