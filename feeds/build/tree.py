"""Write every document of the site as files for static hosting.

The new tree is prepared in a staging directory beside ``OUT`` and swapped in at the end,
so a failed or interrupted build leaves ``OUT`` as it was. Files whose bytes are unchanged
are hard-linked from the previous tree rather than rewritten, so their mtime (and a static
host's Last-Modified and ETag) stays; files no longer produced disappear with the old tree.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import gc
import hashlib
import io
import json
import mmap
import os
import pickle
import select
import shutil
import signal
import struct
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from feeds.build.entrycache import EntryCache
from feeds.model import Diagnostic
from feeds.pipeline.index import Site
from feeds.pipeline.load import DataError, load
from feeds.render import atom_rss as xmlfeeds
from feeds.render.atom_rss import EntryKey, Parts
from feeds.render.compress import compress
from feeds.render.documents import Publisher, PublishOptions, Redirect
from feeds.tagging import batch

PRECOMPRESSED = ("gzip", ".gz"), ("br", ".br")
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
    entries_made: int = 0  # Atom and RSS entries made; the others were kept from the last build
    changed_feeds: list[str] = field(default_factory=list)  # URL paths of subscription feeds rewritten
    warnings: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {
            "files": self.files,
            "written": self.written,
            "unchanged": self.unchanged,
            "removed": self.removed,
            "rendered": self.rendered,
            "entries_made": self.entries_made,
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
    ``cache_dir`` keeps, between builds, the compiled tagging tables (:mod:`feeds.tagging.cache`) and the
    input digests of the files written (:class:`_Manifest`)."""
    # The writing process is forked now, while this process is small. Forked after the load, it
    # would share the loaded site's pages, and each page that rendering touches (reference counts)
    # would be copied: at 10,000 articles, the peak went from 50 to 65 MiB.
    writer = _Writer.start()
    try:
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
            return _write(site, out, base_url, options, precompress, progress, formats, feeds_only, cache_dir, writer)
        finally:
            gc.unfreeze()
    finally:
        if writer is not None:
            writer.abandon()  # nothing left to do once it has finished


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
    writer: _Writer | None,
) -> BuildReport:
    publisher = Publisher(site, base_url, options)
    report = BuildReport(articles=len(site.articles))
    report.warnings = [str(d) for d in site.diagnostics]
    out = out.resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.build-", dir=out.parent))
    tree = _Tree(out, staging, report)
    manifest = _Manifest(cache_dir, out) if cache_dir is not None else None
    entries = EntryCache(
        manifest.path.with_suffix(".entries") if manifest is not None else None,
        manifest.code if manifest is not None else "",
        publisher.article_digest,
    )
    try:
        if writer is not None:
            sink = writer.begin(tree, manifest, precompress, entries)
        else:
            sink = _Sink(tree, manifest, precompress, entries)
        paths = [p for p in publisher.paths() if _wanted(p, formats, feeds_only)]
        job = _Job(publisher, tree, manifest, precompress, entries)
        mine, theirs = _shares(paths, len(site.articles))
        changed: list[str] = []
        if theirs:
            done = _Progress(progress, len(paths), len(paths) / len(mine))
            _, result = batch.in_two(lambda: job.run(mine, done, sink), lambda: _worker(job, theirs))
            if isinstance(result, _Share):
                result.merge_into(tree, manifest)
                changed += result.changed
                for digest, data in result.entries.items():
                    entries.add(digest, data)
            else:  # the worker failed: its part is made here, over whatever it left
                tree.forget(theirs)
                job.run(theirs, None, sink)
        else:
            job.run(paths, _Progress(progress, len(paths), 1), sink)
        sink.finish()
        order = {path: n for n, path in enumerate(paths)}
        report.changed_feeds = sorted(changed + sink.changed, key=order.__getitem__)
        if not feeds_only:
            tree.place("404.html", publisher.not_found("There is no page here."))
        os.chmod(staging, 0o755)
        previous = _swap(staging, out)
    except BaseException as exc:
        entries.close()
        if writer is not None:
            writer.abandon()  # stopped before its files are removed, or it could write after
        shutil.rmtree(staging, ignore_errors=True)
        if isinstance(exc, OSError):
            raise BuildError(
                f"cannot write the output: {exc.strerror or exc} ({exc.filename or out}); {out} is unchanged"
            ) from exc
        raise
    report.removed = _clear(previous, tree.files()) if previous is not None else 0
    if manifest is not None:
        manifest.save()
    report.entries_made = entries.made
    entries.save()
    entries.close()
    return report


#: Below this many documents, a forked worker costs more than it saves.
SHARE_MIN = 200


def _shares(paths: list[str], articles: int) -> tuple[list[str], list[str]]:
    """The documents to make here and those for a forked worker (none when it would not pay). A feed's
    formats stay together: they are made from the same entries, made once.

    Each process writes to the objects it reads (reference counts), so every page of articles it
    touches is copied: a fifth more memory at ten thousand articles, for under a tenth less time.
    A worker therefore renders only where a forked worker tags (:data:`feeds.tagging.batch.PARALLEL_MIN`),
    where the time saved is seconds and the copied pages a small share of the whole.
    """
    if articles < batch.PARALLEL_MIN or not batch.can_fork(len(paths), SHARE_MIN):
        return paths, []
    groups: dict[str, list[str]] = {}
    for path in paths:
        groups.setdefault(path.rsplit(".", 1)[0] if path.startswith("/feeds/") else path, []).append(path)
    mine: list[str] = []
    theirs: list[str] = []
    for n, group in enumerate(groups.values()):
        (theirs if n % 2 else mine).extend(group)
    return mine, theirs


class _Progress:
    """Reports documents done as a share of all: with a worker, this process sees only its own part."""

    def __init__(self, report: Callable[[int, int], None] | None, total: int, scale: float) -> None:
        self.report, self.total, self.scale = report, total, scale

    def __call__(self, done: int) -> None:
        if self.report is not None:
            self.report(min(self.total, round(done * self.scale)), self.total)


@dataclass
class _Job:
    """Rendering documents into the tree, here or in a forked worker."""

    publisher: Publisher
    tree: _Tree
    manifest: _Manifest | None
    precompress: bool
    entries: EntryCache

    def run(self, paths: list[str], progress: _Progress | None, sink: _Sink) -> None:
        """Make ``paths``, handing each file to ``sink``."""
        manifest, precompress = self.manifest, self.precompress
        for number, url_path in enumerate(paths, start=1):
            if progress is not None:
                progress(number)
            found = self.publisher.resolve(url_path)
            if found is None or isinstance(found, Redirect):
                continue
            rel = output_path(url_path)
            digest = found.inputs().hex() if manifest is not None and found.inputs is not None else None
            if digest is not None and manifest.reuse(rel, digest, self.tree, precompress):
                sink.link(rel)  # the same inputs as the file of the last build: linked, not rendered
                continue
            self.tree.report.rendered += 1
            feed = url_path if found.kind == "feed" else None
            if found.parts is not None:
                sink.assemble(rel, found.parts(), feed, digest)
            else:
                sink.write(rel, found.render(), feed, digest)


@dataclass
class _Share:
    """What a forked worker made: its counts, its files and their manifest entries."""

    counts: dict[str, int]
    files: list[str]
    manifest: dict[str, list]
    changed: list[str]
    entries: dict = field(default_factory=dict)  # the entries made there, by digest (or by number)

    def merge_into(self, tree: _Tree, manifest: _Manifest | None) -> None:
        for name, count in self.counts.items():
            setattr(tree.report, name, getattr(tree.report, name) + count)
        tree.adopt(self.files)
        if manifest is not None:
            manifest.files.update(self.manifest)


def _worker(job: _Job, paths: list[str]) -> _Share:
    """Run in the forked worker: ``paths`` into the same staging tree, counted apart, and written
    here (this process and the one that forked it keep both cores busy)."""
    job.tree, job.manifest = _apart(job.tree, job.manifest)
    sink = _Sink(job.tree, job.manifest, job.precompress, job.entries)
    job.run(paths, None, sink)
    return _share(job.tree, job.manifest, sink.changed, job.entries.made_here())


def _apart(tree: _Tree, manifest: _Recorded | None) -> tuple[_Tree, _Recorded | None]:
    """In a forked process: the same staging tree and manifest, with nothing counted or recorded yet."""
    tree = _Tree(Path(tree.old), Path(tree.new), BuildReport())
    if manifest is not None:
        manifest.files = {}
    return tree, manifest


def _share(tree: _Tree, manifest: _Recorded | None, changed: list[str], entries: dict | None = None) -> _Share:
    counts = {name: getattr(tree.report, name) for name in ("written", "unchanged", "files", "rendered")}
    return _Share(counts, sorted(tree.files()), manifest.files if manifest else {}, changed, entries or {})


class _Recorded:
    """Manifest entries of the files written: each one's input digest, size and mtime."""

    def __init__(self) -> None:
        self.files: dict[str, list] = {}

    def record(self, rel: str, digest: str, tree: _Tree) -> None:
        info = os.stat(tree.new_path(rel))
        self.files[rel] = [digest, info.st_size, info.st_mtime_ns]


class _Manifest(_Recorded):
    """What the last build into ``out`` wrote: for each file with a known input digest (feeds,
    archives, article pages), the digest and the file's size and mtime. A document whose digest
    is the same, over a file that is still as written, is linked without being rendered, so an
    unchanged rebuild costs links, not rendering. Kept in the cache directory (not in ``out``,
    which is published), with the digest of the code that renders: an upgrade renders everything.
    """

    def __init__(self, cache_dir: Path, out: Path) -> None:
        super().__init__()
        self.path = cache_dir / "builds" / (hashlib.sha256(str(out).encode()).hexdigest()[:24] + ".json")
        self.out = out
        self.code = _code_digest()
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
        self.files[rel] = entry  # the caller links the file
        return True

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
    package = Path(__file__).resolve().parents[1]
    sources = [*package.glob("render/*.py"), *package.glob("templates/*"), *package.glob("static/*")]
    sources += [package / name for name in ("pipeline/index.py", "model.py", "build/tree.py")]
    for path in sorted(sources):
        h.update(path.name.encode() + b"\0" + path.read_bytes())
    for library in ("feedgen", "lxml", "Jinja2", "brotli"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            h.update(f"{library} {metadata.version(library)}".encode())
    return h.hexdigest()


class _Sink:
    """Places, compresses and links the files of the documents rendered, in order."""

    def __init__(
        self, tree: _Tree, manifest: _Recorded | None, precompress: bool, entries: EntryCache | None = None
    ) -> None:
        self.tree, self.manifest, self.precompress, self.entries = tree, manifest, precompress, entries
        self.changed: list[str] = []  # URL paths of the feeds whose files changed, in order

    def write(self, rel: str, body: bytes, feed: str | None, digest: str | None) -> None:
        """``body`` as ``rel``; ``feed`` is the URL path of a subscription feed, ``digest`` its inputs'."""
        tree, report = self.tree, self.tree.report
        written = report.written
        tree.place(rel, body)
        if self._compressed(rel) and not (report.written == written and tree.link_siblings(rel)):
            for (_, suffix), data in zip(PRECOMPRESSED, _compressed(body), strict=True):
                tree.place(rel + suffix, data)
        if feed is not None and report.written > written:
            self.changed.append(feed)
        if digest is not None and self.manifest is not None:
            self.manifest.record(rel, digest, tree)

    def assemble(self, rel: str, parts: Parts, feed: str | None, digest: str | None) -> None:
        """:meth:`write` for a document in :class:`~feeds.render.atom_rss.Parts`, its entries from ``entries``."""
        self.write(rel, parts.join(self.entries.get if self.entries is not None else xmlfeeds.entry), feed, digest)

    def link(self, rel: str) -> None:
        """The previous build's file (and compressed files), known to be current."""
        self.tree.link(rel)
        if self._compressed(rel):
            self.tree.link_siblings(rel)

    def finish(self) -> None:
        """Every file is in place (here, as soon as it is handed over)."""

    def abandon(self) -> None:
        """Stop writing: the caller removes what was written."""

    def _compressed(self, rel: str) -> bool:
        return self.precompress and rel.endswith(_TEXT_SUFFIXES)


class _Writer(_Sink):
    """A :class:`_Sink` in a forked process, fed through a pipe.

    Creating a file costs the kernel from a tenth of a millisecond to a millisecond (on a virtual
    disk), and with ``precompress`` each document is compressed twice. A process of its own does
    that on the second core while this one renders, and does not wait for this one's interpreter
    lock after each system call, as a thread does (at 10,000 articles, a build with a writing
    thread took a seventh longer). The pipe holds the renderer back when the writer falls behind,
    which bounds the memory of the documents in between. The writer is forked before the data is
    loaded and learns where to write from :meth:`begin`; it sends back what it counted and
    recorded, or the error that stopped it.

    Where creating files is fast, the writer waits for work much of the time, and it is given the
    entries of RSS feeds to make: the renderer sends such a feed as its head, its closing tags and
    the numbers of its entries, each entry the first time it is sent as its bytes when they are
    made already (here, or kept by the last build), else as what it is made of
    (:func:`~feeds.render.atom_rss.portable`). It does so only when the writer has waited since
    the last RSS feed, so the two share the work whatever the disk; the bytes are the same, made
    by the same functions, and the entries made there come back with the results, to be kept
    (:mod:`feeds.build.entrycache`).
    """

    @classmethod
    def start(cls) -> _Writer | None:
        """A writing process, where one can be forked (:func:`feeds.tagging.batch.can_fork`)."""
        if batch.can_fork(1, 1):
            with contextlib.suppress(OSError):
                return cls()
        return None

    def __init__(self) -> None:
        # How long the writer has waited for commands (ns), where both processes see it.
        self._waited = mmap.mmap(-1, _COUNTER.size)
        self._seen = 0  # how long it had waited when last looked at
        commands, sending = os.pipe()
        self._results: int | None
        self._results, results = os.pipe()
        try:
            self._pid: int | None = os.fork()
        except OSError:
            for fd in (commands, sending, self._results, results):
                os.close(fd)
            raise
        if self._pid == 0:
            status = 1
            try:
                os.close(sending)
                os.close(self._results)
                message = _serve(commands, self._waited)
                with os.fdopen(results, "wb") as pipe:
                    pickle.dump(message, pipe, protocol=pickle.HIGHEST_PROTOCOL)
                status = 0
            finally:
                os._exit(status)
        os.close(commands)
        os.close(results)
        self._pipe = os.fdopen(sending, "wb", buffering=1 << 16)

    def begin(self, tree: _Tree, manifest: _Recorded | None, precompress: bool, entries: EntryCache) -> _Writer:
        """Write into ``tree``, recording into ``manifest``; the files counted come back to ``tree``."""
        _Sink.__init__(self, tree, manifest, precompress, entries)
        self._sent: dict[tuple[str, EntryKey], int] = {}  # the entries the writer has, by number
        self._theirs: dict[int, tuple[str, EntryKey]] = {}  # those it makes, by number
        self._send(("begin", tree.old, tree.new, manifest is not None, precompress))
        return self

    def assemble(self, rel: str, parts: Parts, feed: str | None, digest: str | None) -> None:
        fmt, entries, sent = parts.fmt, self.entries, self._sent
        unknown = [key for key in parts.entries if not entries.known(fmt, key)]  # to be made
        if not unknown or (any((fmt, key) not in sent for key in unknown) and not self._handed(fmt)):
            self.write(rel, parts.join(entries.get), feed, digest)  # made (or read) here
            return
        new, refs = [], []
        for key in parts.entries:
            number = sent.get((fmt, key))
            if number is None:
                number = sent[(fmt, key)] = len(sent)
                if entries.known(fmt, key):
                    new.append(entries.get(fmt, key))
                else:
                    new.append(xmlfeeds.portable(key))
                    self._theirs[number] = (fmt, key)
            refs.append(number)
        self._send(("assemble", rel, parts.fmt, parts.head, parts.closing, refs, new, feed, digest))

    def _handed(self, fmt: str) -> bool:
        """Whether entries of ``fmt`` are to be made by the writer: RSS ones (the cheaper: the writer
        also writes), while it waits for work or has waited since this was last asked."""
        if fmt != "rss":
            return False
        waited, self._seen = self._seen, _COUNTER.unpack_from(self._waited)[0]
        return self._seen != waited or self._seen % 2 == 1

    def write(self, rel: str, body: bytes, feed: str | None, digest: str | None) -> None:
        self._send(("write", rel, body, feed, digest))

    def link(self, rel: str) -> None:
        self._send(("link", rel))

    def _send(self, command: tuple) -> None:
        try:
            pickle.dump(command, self._pipe, protocol=pickle.HIGHEST_PROTOCOL)
        except BrokenPipeError:  # the writer stopped: its own error says why
            self.finish()
            raise

    def finish(self) -> None:
        if self._pid is None:
            return
        with contextlib.suppress(BrokenPipeError):
            self._pipe.close()
        results, self._results = self._results, None
        with os.fdopen(results, "rb") as pipe:
            data = pipe.read()
        os.waitpid(self._pid, 0)
        self._pid = None
        try:
            outcome, value = pickle.loads(data)
        except Exception:
            raise OSError("the process writing the files ended unexpectedly") from None
        if outcome == "failed":
            raise value
        value.merge_into(self.tree, self.manifest)
        self.changed = value.changed
        for number, data in value.entries.items():
            self.entries.add(self.entries.digest(*self._theirs[number]), data)

    def abandon(self) -> None:
        if self._pid is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(self._pid, signal.SIGKILL)
        os.waitpid(self._pid, 0)
        self._pid = None
        with contextlib.suppress(OSError):
            self._pipe.close()
        if self._results is not None:
            os.close(self._results)


_COUNTER = struct.Struct("q")  # nanoseconds waited; odd while waiting


class _Pipe(io.RawIOBase):
    """The reading end of the command pipe, counting in ``waited`` the time spent waiting on it."""

    def __init__(self, fd: int, waited: mmap.mmap) -> None:
        self.fd, self.waited, self.total = fd, waited, 0

    def readable(self) -> bool:
        return True

    def fileno(self) -> int:
        return self.fd

    def readinto(self, buffer) -> int:
        if not select.select([self.fd], [], [], 0)[0]:
            _COUNTER.pack_into(self.waited, 0, self.total + 1)  # odd: waiting now
            started = time.perf_counter_ns()
            select.select([self.fd], [], [])
            self.total += (time.perf_counter_ns() - started + 1) // 2 * 2  # even: waited that long
            _COUNTER.pack_into(self.waited, 0, self.total)
        return os.readv(self.fd, [buffer])

    def close(self) -> None:
        if not self.closed:
            os.close(self.fd)
        super().close()


def _serve(commands: int, waited: mmap.mmap) -> tuple[str, object]:
    """Run in the writing process: the commands of the pipe, until it closes."""
    try:
        with io.BufferedReader(_Pipe(commands, waited), 1 << 16) as pipe:
            try:
                _, old, new, recorded, precompress = pickle.load(pipe)
            except EOFError:  # the build stopped before writing anything
                return "done", None
            tree = _Tree(Path(old), Path(new), BuildReport())
            manifest = _Recorded() if recorded else None
            sink = _Sink(tree, manifest, precompress)
            made: list[bytes] = []  # the entries, by number: each is in several feeds
            theirs: dict[int, bytes] = {}  # those made here, sent back

            while True:
                try:
                    command = pickle.load(pipe)
                except EOFError:
                    break
                if command[0] == "write":
                    sink.write(*command[1:])
                elif command[0] == "assemble":
                    _, rel, fmt, head, closing, refs, new, feed, digest = command
                    for values in new:
                        if not isinstance(values, bytes):  # made here
                            values = theirs[len(made)] = xmlfeeds.entry(fmt, xmlfeeds.restored(values), cached=False)
                        made.append(values)
                    body = b"".join((head, *(made[number] for number in refs), closing))
                    sink.write(rel, body, feed, digest)
                else:
                    sink.link(command[1])
        return "done", _share(tree, manifest, sink.changed, theirs)
    except OSError as exc:
        return "failed", exc
    except Exception as exc:  # noqa: BLE001 - sent back, raised in the building process
        return "failed", RuntimeError(f"writing the files failed: {exc!r}")


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
        self._had_old = os.path.isdir(self.old)  # a first build compares with nothing
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
            if self._had_old and os.path.getsize(old) == len(data):
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

    def files(self) -> set[str]:
        return self._files

    def adopt(self, rels: list[str]) -> None:
        """Files another process placed in the new tree."""
        self._files.update(rels)

    def forget(self, url_paths: list[str]) -> None:
        """Remove what a failed worker may have left of ``url_paths`` (and their compressed files)."""
        for url_path in url_paths:
            rel = output_path(url_path)
            for name in (rel, *(rel + suffix for _, suffix in PRECOMPRESSED)):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(os.path.join(self.new, name))


def _clear(previous: str, kept: set[str]) -> int:
    """Delete the previous tree, now swapped out, and count its files that the new tree does not
    have: one walk for both (on tens of thousands of files, each walk costs seconds)."""
    removed = 0

    def clear(folder: str, prefix: str) -> None:
        nonlocal removed
        try:
            with os.scandir(folder) as found:
                entries = list(found)
        except OSError:
            return
        for entry in entries:
            rel = prefix + entry.name
            if entry.is_dir(follow_symlinks=False):
                clear(entry.path, rel + "/")
                with contextlib.suppress(OSError):
                    os.rmdir(entry.path)
                continue
            if rel not in kept:
                removed += 1
            with contextlib.suppress(OSError):
                os.unlink(entry.path)

    clear(previous, "")
    with contextlib.suppress(OSError):
        os.rmdir(previous)
    return removed


_RENAME_EXCHANGE = 2


def _swap(staging: Path, out: Path) -> str | None:
    """Put ``staging`` in place of ``out`` in one step where the kernel allows it; where the
    previous tree is now (for :func:`_clear`), if there was one."""
    if not out.exists():
        os.rename(staging, out)
        return None
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    renameat2 = getattr(libc, "renameat2", None)
    at_fdcwd = -100
    if (
        renameat2 is not None
        and renameat2(at_fdcwd, os.fsencode(staging), at_fdcwd, os.fsencode(out), _RENAME_EXCHANGE) == 0
    ):
        return str(staging)  # now holds the previous tree
    old = out.with_name(f".{out.name}.old-{os.getpid()}")
    os.rename(out, old)
    os.rename(staging, out)
    return str(old)
