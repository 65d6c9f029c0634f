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
import hashlib
import json
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
from .site import Site

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
    rendered: int = 0  # documents rendered; the others had the inputs of the last build's file
    changed_feeds: list[str] = field(default_factory=list)  # URL paths of subscription feeds rewritten
    warnings: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {
            "files": self.files,
            "written": self.written,
            "unchanged": self.unchanged,
            "removed": self.removed,
            "rendered": self.rendered,
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
    ``cache_dir`` keeps, between builds, the compiled tagging tables (:mod:`feeds.cache`) and the
    input digests of the files written (:class:`_Manifest`)."""
    try:
        loaded = load(data_dir, cache_dir=cache_dir, fork=True)
    except DataError as exc:
        raise BuildError("the data has errors; nothing was written", tuple(exc.diagnostics)) from exc
    if loaded.errors:
        raise BuildError("the data has errors; nothing was written", loaded.errors)
    # The loaded site lives as long as the build: keep the cycle collector from walking it again
    # each time rendering has made enough garbage.
    site = loaded.site
    del loaded  # the tagger and the parsed entries are not needed to write
    gc.freeze()
    try:
        return _write(site, out, base_url, options, precompress, progress, formats, feeds_only, cache_dir)
    finally:
        gc.unfreeze()


def _write(
    site: Site,
    out: Path,
    base_url: str,
    options: PublishOptions | None,
    precompress: bool,
    progress: Callable[[int, int], None] | None,
    formats: tuple[str, ...],
    feeds_only: bool,
    cache_dir: Path | None,
) -> BuildReport:
    publisher = Publisher(site, base_url, options)
    report = BuildReport(articles=len(site.articles))
    report.warnings = [str(d) for d in site.diagnostics]
    out = out.resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.build-", dir=out.parent))
    tree = _Tree(out, staging, report)
    compressor = _Compressor(tree) if precompress else None
    manifest = _Manifest(cache_dir, out) if cache_dir is not None else None
    try:
        paths = [p for p in publisher.paths() if _wanted(p, formats, feeds_only)]
        for number, url_path in enumerate(paths, start=1):
            found = publisher.resolve(url_path)
            if found is None or isinstance(found, Redirect):
                continue
            rel = output_path(url_path)
            digest = found.inputs().hex() if manifest is not None and found.inputs is not None else None
            if digest is not None and manifest.reuse(rel, digest, tree, precompress):
                if progress:
                    progress(number, len(paths))
                continue  # the same inputs as the file of the last build: linked, not rendered
            report.rendered += 1
            body = found.render()
            written = report.written
            tree.place(rel, body)
            if compressor and rel.endswith(_TEXT_SUFFIXES):
                if report.written == written and tree.link_siblings(rel):
                    pass  # unchanged body: its compressed files are reused, not recompressed
                else:
                    compressor.put(rel, body)
            if found.kind == "feed" and report.written > written:
                report.changed_feeds.append(url_path)
            if digest is not None and manifest is not None:
                manifest.record(rel, digest, tree)
            if progress:
                progress(number, len(paths))
        if not feeds_only:
            tree.place("404.html", publisher.not_found("There is no page here."))
        if compressor:
            compressor.finish()
        report.removed = tree.removed()
        os.chmod(staging, 0o755)
        _swap(staging, out)
        if manifest is not None:
            manifest.save()
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


class _Manifest:
    """What the last build into ``out`` wrote: for each file with a known input digest (feeds,
    archives, article pages), the digest and the file's size and mtime. A document whose digest
    is the same, over a file that is still as written, is linked without being rendered, so an
    unchanged rebuild costs links, not rendering. Kept in the cache directory (not in ``out``,
    which is published), with the digest of the code that renders: an upgrade renders everything.
    """

    def __init__(self, cache_dir: Path, out: Path) -> None:
        self.path = cache_dir / "builds" / (hashlib.sha256(str(out).encode()).hexdigest()[:24] + ".json")
        self.out = out
        self.code = _code_digest()
        self.files: dict[str, list] = {}
        self.previous: dict[str, list] = {}
        with contextlib.suppress(OSError, ValueError, TypeError, AttributeError):
            saved = json.loads(self.path.read_bytes())
            if saved.get("code") == self.code and isinstance(saved.get("files"), dict):
                self.previous = saved["files"]

    def reuse(self, rel: str, digest: str, tree: _Tree, precompress: bool) -> bool:
        entry = self.previous.get(rel)
        if not entry or entry[0] != digest:
            return False
        old = tree.old_path(rel)
        try:
            info = os.stat(old)
        except OSError:
            return False
        if [info.st_size, info.st_mtime_ns] != entry[1:]:
            return False  # changed since: rendered again
        compressed = precompress and rel.endswith(_TEXT_SUFFIXES)
        if compressed and not all(os.path.isfile(old + suffix) for _, suffix in PRECOMPRESSED):
            return False
        tree.link(rel)
        if compressed:
            tree.link_siblings(rel)
        self.files[rel] = entry
        return True

    def record(self, rel: str, digest: str, tree: _Tree) -> None:
        info = os.stat(tree.new_path(rel))
        self.files[rel] = [digest, info.st_size, info.st_mtime_ns]

    def save(self) -> None:
        """Written after the swap, atomically; a manifest that cannot be written only costs renders."""
        with contextlib.suppress(OSError):
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd, temporary = tempfile.mkstemp(prefix=".build-", dir=self.path.parent)
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as handle:
                    json.dump({"code": self.code, "out": str(self.out), "files": self.files}, handle)
                os.replace(temporary, self.path)
            except OSError:
                os.unlink(temporary)


def _code_digest() -> str:
    """The code, templates and assets that turn a document's inputs into bytes."""
    from importlib import metadata

    h = hashlib.sha256()
    package = Path(__file__).resolve().parent
    sources = [*package.glob("render/*.py"), *package.glob("templates/*"), *package.glob("static/*")]
    sources += [package / name for name in ("documents.py", "site.py", "model.py", "build.py")]
    for path in sorted(sources):
        h.update(path.name.encode() + b"\0" + path.read_bytes())
    for library in ("feedgen", "lxml", "Jinja2", "brotli"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            h.update(f"{library} {metadata.version(library)}".encode())
    return h.hexdigest()


class _Compressor:
    """Makes the .gz and .br files on a thread while the next documents are rendered: zlib and brotli
    release the interpreter lock for the whole of a call, so the two run on two cores. Files are
    written by the building thread, in order, a bounded number of documents behind."""

    def __init__(self, tree: _Tree) -> None:
        self.tree = tree
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
            self.tree.place(rel + suffix, data)


def _compressed(body: bytes) -> list[bytes]:
    return [compress(body, coding) for coding, _ in PRECOMPRESSED]


def _wanted(path: str, formats: tuple[str, ...], feeds_only: bool) -> bool:
    if path.startswith("/feeds/"):
        if feeds_only and path.startswith("/feeds/archive/"):
            return False
        return path.rsplit(".", 1)[-1] in formats
    return not feeds_only


class _Tree:
    """The new tree, written beside the previous one (``out``) by relative path. Paths are strings:
    on tens of thousands of files, pathlib costs more than the system calls."""

    def __init__(self, out: Path, staging: Path, report: BuildReport) -> None:
        self.old, self.new, self.report = str(out), str(staging), report
        self._dirs: set[str] = {""}  # directories made in the new tree
        self._files: set[str] = set()

    def old_path(self, rel: str) -> str:
        return os.path.join(self.old, rel)

    def new_path(self, rel: str) -> str:
        return os.path.join(self.new, rel)

    def _add(self, rel: str) -> str:
        folder = os.path.dirname(rel)
        if folder not in self._dirs:
            os.makedirs(os.path.join(self.new, folder), exist_ok=True)
            while folder and folder not in self._dirs:
                self._dirs.add(folder)
                folder = os.path.dirname(folder)
        self._files.add(rel)
        self.report.files += 1
        return os.path.join(self.new, rel)

    def place(self, rel: str, data: bytes) -> None:
        """Hard-link the previous file when its bytes are ``data``, else write ``data``."""
        old = os.path.join(self.old, rel)
        new = self._add(rel)
        try:
            if os.path.getsize(old) == len(data):
                with open(old, "rb") as handle:
                    same = handle.read() == data
                if same:
                    os.link(old, new)
                    self.report.unchanged += 1
                    return
        except OSError:
            pass
        with open(new, "wb") as handle:
            handle.write(data)
        self.report.written += 1

    def link(self, rel: str) -> None:
        """The previous file, known to be current."""
        os.link(os.path.join(self.old, rel), self._add(rel))
        self.report.unchanged += 1

    def link_siblings(self, rel: str) -> bool:
        """Hard-link the previous build's .gz and .br of an unchanged file; False if one is missing."""
        if not all(os.path.isfile(os.path.join(self.old, rel + suffix)) for _, suffix in PRECOMPRESSED):
            return False
        for _, suffix in PRECOMPRESSED:
            self.link(rel + suffix)
        return True

    def removed(self) -> int:
        """Files of the previous tree the new one does not have."""
        if not os.path.isdir(self.old):
            return 0
        count = 0
        for root, _dirs, names in os.walk(self.old):
            base = os.path.relpath(root, self.old)
            for name in names:
                if (name if base == "." else os.path.join(base, name)) not in self._files:
                    count += 1
        return count


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
