"""Write every document of the site as files for static hosting.

The new tree is prepared in a staging directory beside ``OUT`` and swapped in at the end,
so a failed or interrupted build leaves ``OUT`` as it was. Files whose bytes are unchanged
are hard-linked from the previous tree rather than rewritten, so their mtime (and a static
host's Last-Modified and ETag) stays; files no longer produced disappear with the old tree.
"""

from __future__ import annotations

import collections
import concurrent.futures
import contextlib
import ctypes
import ctypes.util
import gc
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .compress import compress
from .documents import Publisher, PublishOptions, Redirect
from .loader import DataError, load
from .model import Diagnostic

PRECOMPRESSED = ("gzip", ".gz"), ("br", ".br")
_AHEAD = 64  # documents compressed ahead of their files: bounds the memory they hold
_TEXT_SUFFIXES = (".html", ".atom", ".rss", ".json", ".opml", ".css", ".js", ".xml")


class BuildError(Exception):
    """The build did not replace OUT; the message says why."""

    def __init__(self, message: str, diagnostics: tuple[Diagnostic, ...] = ()) -> None:
        super().__init__(message)
        self.diagnostics = diagnostics


@dataclass
class BuildReport:
    written: int = 0
    unchanged: int = 0
    removed: int = 0
    files: int = 0
    articles: int = 0
    changed_feeds: list[str] = field(default_factory=list)  # URL paths of subscription feeds rewritten
    warnings: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {
            "files": self.files,
            "written": self.written,
            "unchanged": self.unchanged,
            "removed": self.removed,
            "articles": self.articles,
            "warnings": self.warnings,
        }


def output_path(url_path: str) -> str:
    """Where a URL path lives in the tree: pages become ``dir/index.html``."""
    if url_path == "/":
        return "index.html"
    name = url_path.lstrip("/")
    if "." in name.rsplit("/", 1)[-1]:
        return name
    return f"{name}/index.html"


def build(
    data_dir: Path,
    out: Path,
    base_url: str,
    options: PublishOptions | None = None,
    *,
    precompress: bool = False,
    progress: Callable[[int, int], None] | None = None,
    formats: tuple[str, ...] = ("atom", "rss", "json"),
    feeds_only: bool = False,
    cache_dir: Path | None = None,
) -> BuildReport:
    """Build the tree; ``formats`` limits feed formats, ``feeds_only`` skips pages and archives;
    ``cache_dir`` keeps compiled tagging tables between builds (:mod:`feeds.cache`)."""
    try:
        loaded = load(data_dir, cache_dir=cache_dir)
    except DataError as exc:
        raise BuildError("the data has errors; nothing was written", tuple(exc.diagnostics)) from exc
    if loaded.errors:
        raise BuildError("the data has errors; nothing was written", loaded.errors)
    site = loaded.site
    # The loaded site lives until the process ends: keep the cycle collector from walking it again
    # each time rendering has made enough garbage.
    gc.freeze()
    publisher = Publisher(site, base_url, options)
    report = BuildReport(articles=len(site.articles))
    report.warnings = [str(d) for d in site.diagnostics]
    out = out.resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.build-", dir=out.parent))
    compressor = _Compressor(out, staging, report) if precompress else None
    try:
        paths = [p for p in publisher.paths() if _wanted(p, formats, feeds_only)]
        for number, url_path in enumerate(paths, start=1):
            found = publisher.resolve(url_path)
            if found is None or isinstance(found, Redirect):
                continue
            rel = output_path(url_path)
            body = found.render()
            written = report.written
            _place(out / rel, staging / rel, body, report)
            if compressor and rel.endswith(_TEXT_SUFFIXES):
                if report.written == written and _link_siblings(out / rel, staging / rel, report):
                    pass  # unchanged body: its compressed files are reused, not recompressed
                else:
                    compressor.put(rel, body)
            if found.kind == "feed" and report.written > written:
                report.changed_feeds.append(url_path)
            if progress:
                progress(number, len(paths))
        if not feeds_only:
            _place(out / "404.html", staging / "404.html", publisher.not_found("There is no page here."), report)
        if compressor:
            compressor.finish()
        report.removed = _count_removed(out, staging)
        os.chmod(staging, 0o755)
        _swap(staging, out)
    except BaseException as exc:
        if compressor:
            compressor.abandon()
        shutil.rmtree(staging, ignore_errors=True)
        if isinstance(exc, OSError):
            raise BuildError(
                f"cannot write the output: {exc.strerror or exc} ({exc.filename or out}); {out} is unchanged"
            ) from exc
        raise
    return report


class _Compressor:
    """Makes the .gz and .br files on a thread while the next documents are rendered: zlib and brotli
    release the interpreter lock for the whole of a call, so the two run on two cores. Files are
    written by the building thread, in order, a bounded number of documents behind."""

    def __init__(self, out: Path, staging: Path, report: BuildReport) -> None:
        self.out, self.staging, self.report = out, staging, report
        self._pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="feeds-compress")
        self._pending: collections.deque[tuple[str, concurrent.futures.Future[list[bytes]]]] = collections.deque()

    def put(self, rel: str, body: bytes) -> None:
        self._pending.append((rel, self._pool.submit(_compressed, body)))
        while self._pending and (len(self._pending) > _AHEAD or self._pending[0][1].done()):
            self._write_first()

    def finish(self) -> None:
        while self._pending:
            self._write_first()
        self._pool.shutdown()

    def abandon(self) -> None:
        self._pool.shutdown(cancel_futures=True)

    def _write_first(self) -> None:
        rel, future = self._pending.popleft()
        for (_, suffix), data in zip(PRECOMPRESSED, future.result(), strict=True):
            _place(self.out / (rel + suffix), self.staging / (rel + suffix), data, self.report)


def _compressed(body: bytes) -> list[bytes]:
    return [compress(body, coding) for coding, _ in PRECOMPRESSED]


def _wanted(path: str, formats: tuple[str, ...], feeds_only: bool) -> bool:
    if path.startswith("/feeds/"):
        if feeds_only and path.startswith("/feeds/archive/"):
            return False
        return path.rsplit(".", 1)[-1] in formats
    return not feeds_only


def _link_siblings(old: Path, new: Path, report: BuildReport) -> bool:
    """Hard-link the previous build's .gz and .br of an unchanged file; False if one is missing."""
    siblings = [(old.with_name(old.name + suffix), new.with_name(new.name + suffix)) for _, suffix in PRECOMPRESSED]
    if not all(src.is_file() for src, _ in siblings):
        return False
    for src, dst in siblings:
        os.link(src, dst)
        report.files += 1
        report.unchanged += 1
    return True


def _place(old: Path, new: Path, data: bytes, report: BuildReport) -> None:
    new.parent.mkdir(parents=True, exist_ok=True)
    report.files += 1
    try:
        if old.is_file() and old.stat().st_size == len(data) and old.read_bytes() == data:
            os.link(old, new)
            report.unchanged += 1
            return
    except OSError:
        pass
    with open(new, "wb") as handle:
        handle.write(data)
    report.written += 1


def _count_removed(out: Path, staging: Path) -> int:
    if not out.is_dir():
        return 0
    removed = 0
    for root, _dirs, names in os.walk(out):
        for name in names:
            rel = Path(root, name).relative_to(out)
            if not (staging / rel).exists():
                removed += 1
    return removed


_RENAME_EXCHANGE = 2


def _swap(staging: Path, out: Path) -> None:
    """Put ``staging`` in place of ``out`` in one step where the kernel allows it."""
    if not out.exists():
        os.rename(staging, out)
        return
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    renameat2 = getattr(libc, "renameat2", None)
    at_fdcwd = -100
    if (
        renameat2 is not None
        and renameat2(at_fdcwd, os.fsencode(staging), at_fdcwd, os.fsencode(out), _RENAME_EXCHANGE) == 0
    ):
        shutil.rmtree(staging, ignore_errors=True)  # now holds the previous tree
        return
    old = out.with_name(f".{out.name}.old-{os.getpid()}")
    os.rename(out, old)
    os.rename(staging, out)
    with contextlib.suppress(OSError):
        shutil.rmtree(old)
