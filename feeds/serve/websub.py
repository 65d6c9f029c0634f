"""WebSub publishing: tell the hub which feed URLs changed, once, from one worker.

A ping is a POST of ``hub.mode=publish`` with the feed URL as both ``hub.topic`` (what WebSub hubs
such as flask-websub and WebSubHub read) and ``hub.url`` (the PubSubHubbub 0.4 form of Google's and
Superfeedr's hubs), one request per URL.

The workers of a server each load the data on their own. Of the workers serving one data
directory, the one holding an flock on ``notifier.lock`` (in :func:`websub_dir`) is the notifier;
the others take over when it is gone. Every worker records the version it serves in a file of
``workers/`` that it keeps locked while it lives, and the notifier pings only once every live worker
serves the new version, so the hub's fetch gets the new bytes from whichever worker answers it.

What to announce comes from the documents' input digests (:meth:`Document.inputs`): a URL is
pinged when its digest differs from the one last announced, so every feed whose bytes changed is
named, metadata-only edits included. The announced digests are kept in ``state.json``: a ping that
failed is sent again after a restart, and a change made while the service was down is announced
when it starts. One thread sends the pings, one at a time, each bounded by a timeout; while the
hub is unreachable it tries again after 1, 2, 4... seconds, at most :data:`MAX_BACKOFF`. The
backlog is bounded by the number of feed URLs: a URL changed twice before its ping is pinged once.
A 4xx answer is logged with the hub's message and not retried until the feed changes again.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import itertools
import json
import logging
import os
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable
from pathlib import Path

from feeds.files import write_atomic
from feeds.render.documents import RENDERERS, Document, Publisher

log = logging.getLogger("feeds.serve.websub")

TIMEOUT = 10.0  # seconds for each blocking step of one ping
MAX_BACKOFF = 120.0  # seconds between tries while the hub is down
WORKERS_WAIT = 60.0  # seconds the notifier waits for the other workers to serve a new version
RETRYABLE_4XX = (408, 425, 429)
_instances = itertools.count()  # a process may serve one data directory twice (tests)


def websub_dir(base: Path, data_dir: Path) -> Path:
    """Where the workers serving ``data_dir`` coordinate their notifications (in the cache directory)."""
    key = hashlib.sha256(str(data_dir.resolve()).encode()).hexdigest()[:16]
    return base / f".websub-{key}"


def feed_digests(publisher: Publisher) -> dict[str, str]:
    """The input digest of every subscription feed, by URL: equal digests, equal bytes."""
    out = {}
    for key in publisher.site.feeds:
        for fmt in RENDERERS:
            path = f"/feeds/{key}.{fmt}"
            document = publisher.resolve(path)
            if isinstance(document, Document) and document.inputs is not None:
                out[publisher.urls(path)] = document.inputs().hex()[:32]
    return out


def ping(hub: str, url: str, timeout: float = TIMEOUT) -> tuple[str, str]:
    """One publish ping: ``("ok" | "refused" | "failed", what the hub answered)``."""
    body = urllib.parse.urlencode({"hub.mode": "publish", "hub.topic": url, "hub.url": url}).encode()
    request = urllib.request.Request(
        hub, data=body, headers={"Content-Type": "application/x-www-form-urlencoded"}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return "ok", f"{response.status}"
    except urllib.error.HTTPError as exc:
        answer = ""
        with contextlib.suppress(OSError):
            answer = exc.read(300).decode("utf-8", "replace").strip()
        refused = 400 <= exc.code < 500 and exc.code not in RETRYABLE_4XX
        return ("refused" if refused else "failed"), f"{exc.code} {answer or exc.reason}"
    except (OSError, ValueError) as exc:  # unreachable, timed out, or a malformed hub URL
        return "failed", str(exc)


def publish(
    hub: str, urls: Iterable[str], *, attempts: int = 5, backoff: float = 1.0, timeout: float = TIMEOUT
) -> bool:
    """Ping the hub for each URL now, retrying failures; True when all were accepted (``feeds build``)."""
    pending = list(urls)
    delay = backoff
    for attempt in range(1, attempts + 1):
        failed = []
        for url in pending:
            outcome, answer = ping(hub, url, timeout)
            if outcome == "refused":
                log.error("WebSub hub %s refused %s: %s", hub, url, answer)
                return False
            if outcome == "failed":
                log.warning("WebSub hub %s: %s (attempt %d/%d): %s", hub, url, attempt, attempts, answer)
                failed.append(url)
        if not failed:
            return True
        pending = failed
        if attempt < attempts:
            time.sleep(delay)
            delay *= 2
    log.error("WebSub: gave up notifying %s of %d feeds", hub, len(pending))
    return False


class Notifier:
    """This worker's part in announcing changes of one data directory to one hub."""

    def __init__(self, hub: str, base_url: str, directory: Path, *, workers_wait: float = WORKERS_WAIT) -> None:
        self.hub = hub
        self.base_url = base_url.rstrip("/")
        self.directory = directory
        self.workers_wait = workers_wait
        (directory / "workers").mkdir(parents=True, exist_ok=True)
        self._own = directory / "workers" / f"{os.getpid()}.{next(_instances)}"
        self._worker_fd = os.open(self._own, os.O_RDWR | os.O_CREAT, 0o644)
        fcntl.flock(self._worker_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        self._lock_fd: int | None = None
        self._cond = threading.Condition()
        self._version = ""
        self._digests: dict[str, str] = {}
        self._announced: dict[str, str] | None = None
        self._busy = False
        self._closed = False
        self._thread: threading.Thread | None = None

    @property
    def holding(self) -> bool:
        """Whether this worker is the one that notifies."""
        return self._lock_fd is not None

    def serving(self, version: str) -> None:
        """Record the version this worker now serves, for the notifier to wait on."""
        os.pwrite(self._worker_fd, version.encode().ljust(64), 0)

    def acquire(self) -> bool:
        """Become the notifier unless another live worker is; True when this worker is."""
        if self._lock_fd is not None:
            return True
        fd = os.open(self.directory / "notifier.lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._lock_fd = fd
        self._announced = self._read_state()
        self._thread = threading.Thread(target=self._run, name="feeds-websub", daemon=True)
        self._thread.start()
        return True

    def changed(self, version: str, digests: dict[str, str]) -> None:
        """The notifier's worker now serves ``version``, whose feeds have ``digests``."""
        with self._cond:
            self._version, self._digests = version, digests
            if self._announced is None:  # the first version seen with this hub and base URL: nothing to announce
                self._announced = dict(digests)
                self._save()
            self._cond.notify_all()

    def pending(self) -> dict[str, str]:
        """URLs whose bytes differ from the ones last announced, with their digests."""
        with self._cond:
            announced = self._announced or {}
            return {url: d for url, d in self._digests.items() if announced.get(url) != d}

    def wait_idle(self, timeout: float) -> bool:
        """Wait until nothing is left to announce (tests); False on timeout."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._busy and not self.pending(), timeout)

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(TIMEOUT + 1)
        for fd in (self._lock_fd, self._worker_fd):
            if fd is not None:
                os.close(fd)
        self._lock_fd = None
        with contextlib.suppress(OSError):
            self._own.unlink()

    # -- the thread that pings -----------------------------------------------------------

    def _run(self) -> None:
        backoff = 0.0
        while True:
            with self._cond:
                while not self._closed and not self.pending():
                    self._cond.wait()
                if self._closed:
                    return
                self._busy = True
            try:
                self._wait_for_workers()
                failed = self._send()
            except Exception:  # the thread must not die: log, and try again later
                log.exception("WebSub: notifying %s failed", self.hub)
                failed = True
            with self._cond:
                self._busy = False
                self._cond.notify_all()
                backoff = min(max(2 * backoff, 1.0), MAX_BACKOFF) if failed else 0.0
                if failed:  # a new change does not bring the hub back sooner
                    self._cond.wait_for(lambda: self._closed, backoff)

    def _send(self) -> bool:
        """Ping each pending URL once; True when the hub could not be reached (try again later)."""
        for url, digest in self.pending().items():
            outcome, answer = ping(self.hub, url)
            if outcome == "failed":
                log.warning("WebSub hub %s not reached for %s: %s; trying again later", self.hub, url, answer)
                return True
            if outcome == "refused":
                log.error("WebSub hub %s refused %s: %s; not sent again until the feed changes", self.hub, url, answer)
            else:
                log.info("WebSub: notified %s of %s", self.hub, url)
            with self._cond:
                assert self._announced is not None
                self._announced[url] = digest
                self._save()
        return False

    def _wait_for_workers(self) -> None:
        """Until every live worker serves the notifier's version, or ``workers_wait`` seconds."""
        deadline = time.monotonic() + self.workers_wait
        while True:
            others = self._others()
            if all(v == self._version for v in others):
                return
            if time.monotonic() > deadline or self._closed:
                late = sum(v != self._version for v in others)
                log.warning(
                    "WebSub: %d workers do not serve version %s yet; notifying all the same", late, self._version
                )
                return
            time.sleep(0.05)

    def _others(self) -> list[str]:
        """The versions served by the other live workers; the files of workers that are gone are removed."""
        versions = []
        for path in (self.directory / "workers").iterdir():
            if path == self._own:
                continue
            try:
                fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
            except OSError:
                continue
            try:
                fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:  # its worker holds it: alive
                versions.append(os.pread(fd, 64, 0).decode("ascii", "replace").strip())
            else:
                if time.time() - os.fstat(fd).st_mtime > 5:  # not one that a starting worker is about to lock
                    path.unlink(missing_ok=True)
            finally:
                os.close(fd)
        return versions

    # -- state ---------------------------------------------------------------------------

    def _state_path(self) -> Path:
        return self.directory / "state.json"

    def _read_state(self) -> dict[str, str] | None:
        try:
            state = json.loads(self._state_path().read_bytes())
        except (OSError, ValueError):
            return None
        if not isinstance(state, dict) or state.get("hub") != self.hub or state.get("base_url") != self.base_url:
            return None
        announced = state.get("announced")
        return dict(announced) if isinstance(announced, dict) else None

    def _save(self) -> None:
        state = {"hub": self.hub, "base_url": self.base_url, "version": self._version, "announced": self._announced}
        try:
            write_atomic(self._state_path(), json.dumps(state, sort_keys=True).encode(), durable=False)
        except OSError as exc:
            log.warning("WebSub: cannot save %s (%s): a restart may announce changes again", self._state_path(), exc)
