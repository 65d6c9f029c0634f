"""The version being served, its rendered documents, and reloading when the data changes.

A version is immutable: a request takes the current :class:`Version` once and uses it to
the end, so a response is wholly the old data or wholly the new. Rendered bytes (and their
compressed variants) are cached per version, base URL and path in a bounded LRU, so an
unchanged feed is rendered once and compressed once.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import format_datetime
from pathlib import Path

from feeds.model import Diagnostic
from feeds.pipeline.ledger import LEDGER_NAME
from feeds.pipeline.load import DataError, Loaded, load
from feeds.render.compress import compress
from feeds.render.documents import Document, FeedQuery, Publisher, PublishOptions, Redirect
from feeds.serve.websub import changed_feeds, publish_in_background

log = logging.getLogger("feeds")


@dataclass
class Rendered:
    """One document's bytes with validators; compressed variants are made on first use."""

    body: bytes
    media_type: str
    last_modified: datetime
    kind: str
    etag: str = ""
    _variants: dict[str, tuple[bytes, str]] = field(default_factory=dict, repr=False)
    #: Responses made by :func:`feeds.serve.http.respond`, by the request's shape: pollers ask alike.
    responses: dict[tuple, tuple] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    last_modified_http: str = ""

    def __post_init__(self) -> None:
        self.etag = '"' + hashlib.sha256(self.body).hexdigest()[:32] + '"'
        self.last_modified_http = format_datetime(self.last_modified, usegmt=True)

    def variant(self, coding: str) -> tuple[bytes, str]:
        """Body and ETag for ``identity``, ``gzip`` or ``br``; each coding has its own ETag."""
        if coding == "identity":
            return self.body, self.etag
        made = self._variants.get(coding)
        if made is not None:
            return made
        with self._lock:
            if coding not in self._variants:
                self._variants[coding] = (compress(self.body, coding), f'{self.etag[:-1]}-{coding}"')
            return self._variants[coding]


@dataclass(frozen=True)
class Version:
    loaded: Loaded
    signature: tuple


class LRU:
    """A small thread-safe LRU map with a fixed number of entries."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._data: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key):
        with self._lock:
            value = self._data.get(key)
            if value is not None:
                self._data.move_to_end(key)
            return value

    def put(self, key, value) -> None:
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self.size:
                self._data.popitem(last=False)

    def __len__(self) -> int:
        return len(self._data)


def signature(data_dir: Path) -> tuple:
    """What changes when an editor touches the data: names, sizes and mtimes of its inputs (the ledger too:
    a replica with a read-only ledger gets new ids in a ledger shipped alone)."""
    try:
        entries = sorted(
            (p.name, st.st_size, st.st_mtime_ns)
            for p in data_dir.iterdir()
            if (p.suffix in (".txt", ".toml") or p.name == LEDGER_NAME) and not p.name.startswith(".")
            for st in [p.stat()]
        )
    except OSError as exc:
        return ("error", str(exc))
    return tuple(entries)


class Live:
    """The served version of one data directory; thread-safe."""

    def __init__(
        self,
        data_dir: Path,
        options: PublishOptions,
        *,
        reload_interval: float = 2.0,
        cache_size: int = 4096,
        base_url: str | None = None,
        cache_dir: Path | None = None,
        read_only_ledger: bool = False,
    ):
        self.data_dir = data_dir
        self.read_only_ledger = read_only_ledger
        self.cache_dir = cache_dir
        self.options = options
        self.base_url = base_url  # needed to name feed URLs to a WebSub hub
        self.hub_thread: threading.Thread | None = None
        self.reload_interval = reload_interval
        self.cache = LRU(cache_size)
        self.by_inputs = LRU(cache_size)  # the same Rendered, by a digest of its inputs
        self.publishers = LRU(16)
        self.renders = 0  # documents rendered, for tests and metrics
        self.problems: tuple[Diagnostic, ...] = ()
        self.reload_error: str | None = None
        self._reloading = threading.Lock()
        self._last_check = time.monotonic()
        sig = signature(data_dir)
        self.version = Version(load(data_dir, cache_dir=cache_dir, read_only_ledger=read_only_ledger), sig)
        self.problems = self.version.loaded.site.diagnostics
        for problem in self.problems:
            log.warning("%s", problem)

    # -- reloading -------------------------------------------------------------------

    def maybe_reload(self) -> None:
        """Check the data directory at most every ``reload_interval`` seconds; reload in the background."""
        if self.reload_interval <= 0 or time.monotonic() - self._last_check < self.reload_interval:
            return
        self._last_check = time.monotonic()
        if signature(self.data_dir) == self.version.signature or self._reloading.locked():
            return
        threading.Thread(target=self.reload, name="feeds-reload", daemon=True).start()

    def reload(self) -> bool:
        """Load the data again; keep serving the last good version when the new one has errors."""
        with self._reloading:
            sig = signature(self.data_dir)
            if sig == self.version.signature:
                return False
            try:
                loaded = load(self.data_dir, cache_dir=self.cache_dir, read_only_ledger=self.read_only_ledger)
                errors = loaded.errors
            except DataError as exc:
                loaded, errors = None, tuple(exc.diagnostics)
            if errors or loaded is None:
                self.problems = tuple(errors)
                self.reload_error = str(errors[0]) if errors else "cannot load the data"
                # Remember the bad signature so that it is not reloaded again until it changes.
                self.version = Version(self.version.loaded, sig)
                for problem in errors:
                    log.error("%s (still serving the previous version)", problem)
                return False
            previous = self.version.loaded.site
            self.version = Version(loaded, sig)
            self.problems = loaded.site.diagnostics
            self._notify_hub(previous, loaded.site)
            self.reload_error = None
            log.info("loaded %d articles, version %s", len(loaded.site.articles), loaded.site.version)
            return True

    def _notify_hub(self, old, new) -> None:
        if not (self.options.hub and self.base_url):
            return
        keys = changed_feeds(old, new, self.options.entry_limit)
        urls = [f"{self.base_url.rstrip('/')}/feeds/{key}.{fmt}" for key in keys for fmt in ("atom", "rss", "json")]
        self.hub_thread = publish_in_background(self.options.hub, urls)

    # -- serving ---------------------------------------------------------------------

    def publisher(self, base_url: str, version: Version | None = None) -> Publisher:
        version = version or self.version
        key = (version.loaded.site.version, base_url)
        publisher = self.publishers.get(key)
        if publisher is None:
            publisher = Publisher(version.loaded.site, base_url, self.options)
            self.publishers.put(key, publisher)
        return publisher

    def get(self, base_url: str, path: str, query: FeedQuery | None = None) -> Rendered | Redirect | None:
        version = self.version  # one version for the whole request
        key = (version.loaded.site.version, base_url, path, query)
        hit = self.cache.get(key)
        if hit is not None:
            return hit
        publisher = self.publisher(base_url, version)
        found = publisher.resolve(path) if query is None else publisher.filtered(path, query)
        if found is None or isinstance(found, Redirect):
            return found
        # A feed the new version of the data left as it was keeps its bytes (and so its ETag)
        # without being rendered again: an edit re-renders only the feeds it touched.
        inputs = found.inputs() if found.inputs is not None else None
        rendered = self.by_inputs.get(inputs) if inputs is not None else None
        if rendered is None:
            rendered = self.render(found)
            if inputs is not None:
                self.by_inputs.put(inputs, rendered)
        self.cache.put(key, rendered)
        return rendered

    def cached(self, base_url: str, path: str) -> Rendered | None:
        """The rendered document at ``path`` of the current version if it is in the cache."""
        hit = self.cache.get((self.version.loaded.site.version, base_url, path, None))
        return hit if isinstance(hit, Rendered) else None

    def render(self, document: Document) -> Rendered:
        self.renders += 1
        return Rendered(document.render(), document.media_type, document.last_modified, document.kind)
