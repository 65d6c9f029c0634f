"""The version being served, its rendered documents, and reloading when the data changes.

A version is immutable: a request takes the current :class:`Version` once and uses it to
the end, so a response is wholly the old data or wholly the new. Rendered bytes (and their
compressed variants) are cached per version, base URL and path in an LRU bounded in bytes, so
an unchanged feed is rendered once and compressed once.
"""

from __future__ import annotations

import hashlib
import logging
import os
import stat
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from operator import attrgetter
from pathlib import Path

from werkzeug.http import http_date, quote_etag

from feeds.model import Diagnostic, Location, Severity
from feeds.pipeline.load import Changed, DataError, Loaded, load, signature
from feeds.pipeline.parse import Limits
from feeds.render.compress import compress
from feeds.render.documents import Document, FeedQuery, Publisher, PublishOptions, Redirect
from feeds.serve.websub import Notifier, feed_digests, websub_dir

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
        self.etag = quote_etag(hashlib.sha256(self.body).hexdigest()[:32])
        self.last_modified_http = http_date(self.last_modified)

    @property
    def charge(self) -> int:
        """Bytes it is counted for in the cache: the body, as much again for its compressed
        variants (made later, each smaller than the body), and the headers of a few shapes."""
        return 2 * len(self.body) + 8192

    def variant(self, coding: str) -> tuple[bytes, str]:
        """Body and ETag for ``identity``, ``gzip`` or ``br``; each coding has its own ETag."""
        if coding == "identity":
            return self.body, self.etag
        made = self._variants.get(coding)
        if made is not None:
            return made
        with self._lock:
            if coding not in self._variants:
                self._variants[coding] = (compress(self.body, coding), quote_etag(f"{self.etag[1:-1]}-{coding}"))
            return self._variants[coding]


@dataclass(frozen=True)
class Version:
    loaded: Loaded
    signature: tuple  # of the data files when loaded: :func:`signature`
    digest: str  # of their bytes: :func:`content_digest`


class LRU:
    """A thread-safe LRU map holding values whose weights add up to at most ``limit``."""

    def __init__(self, limit: int, weigh: Callable[[object], int] = lambda _value: 1) -> None:
        self.limit = limit
        self.weight = 0
        self._weigh = weigh
        self._data: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key):
        with self._lock:
            found = self._data.get(key)
            if found is None:
                return None
            self._data.move_to_end(key)
            return found[0]

    def put(self, key, value) -> None:
        weight = self._weigh(value)
        with self._lock:
            old = self._data.pop(key, None)
            if old is not None:
                self.weight -= old[1]
            if weight > self.limit:  # would evict everything, and still not fit
                return
            self._data[key] = (value, weight)
            self.weight += weight
            while self.weight > self.limit:
                self.weight -= self._data.popitem(last=False)[1][1]

    def __len__(self) -> int:
        return len(self._data)


def content_digest(data_dir: Path, sig: tuple) -> str:
    """A digest of the bytes of the regular files named in ``sig``; other kinds are not opened."""
    h = hashlib.sha256()
    limit = Limits().max_file_bytes + 1  # past the limit the parser refuses the file anyway
    for name, kind, *_ in sig:
        h.update(f"{name}\0{kind}\0".encode())
        if kind != stat.S_IFREG:
            continue
        try:
            fd = os.open(data_dir / name, os.O_RDONLY | os.O_NONBLOCK)
        except OSError as exc:
            h.update(f"error {exc.errno}".encode())
            continue
        with os.fdopen(fd, "rb") as handle:
            if stat.S_ISREG(os.fstat(handle.fileno()).st_mode):  # replaced by something else since the stat
                h.update(handle.read(limit))
        h.update(b"\0")
    return h.hexdigest()


class Live:
    """The served version of one data directory; thread-safe.

    Every ``reload_interval`` seconds a timer thread (:meth:`start`) checks the data directory,
    whether requests come or not. A changed version is loaded only once its files have held still:
    the same names, sizes, mtimes and content digest on two checks in a row, so a file an editor is
    still saving in place is never loaded, never mints ids and never records edits.
    """

    def __init__(
        self,
        data_dir: Path,
        options: PublishOptions,
        *,
        reload_interval: float = 2.0,
        cache_bytes: int = 256 * 2**20,
        base_url: str | None = None,
        cache_dir: Path | None = None,
        read_only_ledger: bool = False,
    ):
        self.data_dir = data_dir
        self.read_only_ledger = read_only_ledger
        self.cache_dir = cache_dir
        self.options = options
        self.base_url = base_url  # needed to name feed URLs to a WebSub hub
        self.reload_interval = reload_interval
        # Filtered feeds, and documents for another Host than the site's own (the configured base
        # URL, else the first Host asked for), share an eighth: they are as many as clients care
        # to ask for, and never evict the site's own documents.
        self.own_base = base_url
        self.cache = LRU(cache_bytes - cache_bytes // 8, attrgetter("charge"))
        self.other_cache = LRU(cache_bytes // 8, attrgetter("charge"))
        # The same Rendered, by a digest of its inputs, for as long as a cache above holds it.
        self.by_inputs: weakref.WeakValueDictionary[bytes, Rendered] = weakref.WeakValueDictionary()
        self.publishers = LRU(16)
        self.renders = 0  # documents rendered, for tests and metrics
        self.reload_error: str | None = None
        self._problems: tuple[Diagnostic, ...] = ()
        self._check_problem: Diagnostic | None = None  # an exception in the last check
        self._reloading = threading.Lock()
        self._candidate: tuple[tuple, str] | None = None  # a changed state seen once, loaded when seen again
        self._stop = threading.Event()
        self._timer: threading.Thread | None = None
        sig = signature(data_dir)
        digest = content_digest(data_dir, sig)  # before the load: a change made during it is seen as one
        self.version = Version(load(data_dir, cache_dir=cache_dir, read_only_ledger=read_only_ledger), sig, digest)
        self._problems = self.version.loaded.site.diagnostics
        for problem in self._problems:
            log.warning("%s", problem)
        self.notifier: Notifier | None = None
        if options.hub and base_url:
            directory = websub_dir(cache_dir or data_dir, data_dir)
            try:
                self.notifier = Notifier(options.hub, base_url, directory)
                self._announce()
            except OSError as exc:  # the feeds are served all the same; the hub is not told of changes
                log.error("WebSub: cannot use %s (%s): the hub will not be notified", directory, exc)
                self.notifier = None

    @property
    def problems(self) -> tuple[Diagnostic, ...]:
        """Problems of the data (of the refused version, when one was refused) and of the last check."""
        return self._problems + ((self._check_problem,) if self._check_problem else ())

    # -- reloading -------------------------------------------------------------------

    def start(self) -> None:
        """Check the data directory every ``reload_interval`` seconds in a thread of this process."""
        if self.reload_interval > 0 and self._timer is None:
            self._timer = threading.Thread(target=self._watch, name="feeds-reload", daemon=True)
            self._timer.start()

    def close(self) -> None:
        """Stop the timer and the WebSub notifier (tests; a server's workers just exit)."""
        self._stop.set()
        if self._timer is not None:
            self._timer.join(10)
        if self.notifier is not None:
            self.notifier.close()

    def _watch(self) -> None:
        while not self._stop.wait(self.reload_interval):
            self.tick()

    def tick(self) -> None:
        """One check; never raises: an exception is logged and reported by /healthz until a check passes."""
        try:
            self.check()
            if self.notifier is not None and not self.notifier.holding:
                self._announce()  # the worker that notified may have gone: take over
            self._check_problem = None
        except Exception as exc:
            log.exception("checking %s for changes failed", self.data_dir)
            self._check_problem = Diagnostic(
                Location(str(self.data_dir)), Severity.ERROR, f"checking for changed data failed: {exc!r}"
            )

    def check(self) -> bool:
        """Load the data when it changed and has held still since the previous check; True when loaded."""
        sig = signature(self.data_dir)
        if sig == self.version.signature:
            self._candidate = None
            return False
        state = (sig, content_digest(self.data_dir, sig))
        if state[1] == self.version.digest:  # touched, or saved with the same bytes
            self.version = replace(self.version, signature=sig)
            self._candidate = None
            return False
        if state != self._candidate:
            self._candidate = state  # changed, or still changing: look again at the next check
            return False
        self._candidate = None
        return self._load(state)

    def reload(self) -> bool:
        """Load the data now if it changed, without waiting for it to hold still (tests, explicit reloads)."""
        sig = signature(self.data_dir)
        return self._load((sig, content_digest(self.data_dir, sig)))

    def _load(self, state: tuple[tuple, str]) -> bool:
        """Load the data again; keep serving the last good version when the new one has errors."""
        sig, digest = state
        with self._reloading:
            if sig == self.version.signature or digest == self.version.digest:
                self.version = replace(self.version, signature=sig)
                return False
            try:
                loaded = load(
                    self.data_dir,
                    cache_dir=self.cache_dir,
                    read_only_ledger=self.read_only_ledger,
                    unchanged=lambda: signature(self.data_dir) == sig,  # not saved again since it held still
                )
                errors = loaded.errors
            except Changed:
                log.info("%s changed while it was read: it is read again once it holds still", self.data_dir)
                self._candidate = None
                return False
            except DataError as exc:
                loaded, errors = None, tuple(exc.diagnostics)
            except Exception as exc:  # a bug in the pipeline must not stop the checks
                log.exception("loading %s failed", self.data_dir)
                loaded, errors = None, (Diagnostic(Location(str(self.data_dir)), Severity.ERROR, f"{exc!r}"),)
            if errors or loaded is None:
                self._problems = tuple(errors)
                self.reload_error = str(errors[0]) if errors else "cannot load the data"
                # Remember the bad state so that it is not loaded again until it changes.
                self.version = Version(self.version.loaded, sig, digest)
                for problem in errors:
                    log.error("%s (still serving the previous version)", problem)
                return False
            self.version = Version(loaded, sig, digest)
            self._problems = loaded.site.diagnostics
            self.reload_error = None
            log.info("loaded %d articles, version %s", len(loaded.site.articles), loaded.site.version)
        self._announce()
        return True

    def _announce(self) -> None:
        """Tell the other workers which version this one serves; the notifier also learns its feeds' digests."""
        if self.notifier is None:
            return
        version = self.version
        self.notifier.serving(version.loaded.site.version)
        if self.notifier.acquire():
            publisher = self.publisher(self.notifier.base_url, version)
            self.notifier.changed(version.loaded.site.version, feed_digests(publisher))

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
        if self.own_base is None:
            self.own_base = base_url
        cache = self.cache if query is None and base_url == self.own_base else self.other_cache
        hit = cache.get(key)
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
                self.by_inputs[inputs] = rendered
        cache.put(key, rendered)
        return rendered

    def cached(self, base_url: str, path: str) -> Rendered | None:
        """The document at ``path``, if the site's own host has it rendered in this version already."""
        if base_url != self.own_base:
            return None
        return self.cache.get((self.version.loaded.site.version, base_url, path, None))

    @property
    def cache_bytes(self) -> int:
        """What the rendered documents in the caches are counted for (:attr:`Rendered.charge`)."""
        return self.cache.weight + self.other_cache.weight

    def render(self, document: Document) -> Rendered:
        self.renders += 1
        return Rendered(document.render(), document.media_type, document.last_modified, document.kind)
