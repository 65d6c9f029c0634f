"""Write every document of the site as files for static hosting: staging, placing, linking, swap.

A first build (into an empty OUT, or one this cache has no manifest of) prepares the whole tree in a
staging directory beside ``OUT`` and swaps it in at the end, so a failed or interrupted build leaves
``OUT`` as it was. A file whose bytes are unchanged is hard-linked from the previous tree rather
than rewritten, so its mtime (and a static host's Last-Modified and ETag) stays; files no longer
produced disappear with the old tree.

A rebuild into the OUT of the last build (:mod:`feeds.build.manifest`) changes only what changed:
a document whose inputs are those of the last build, and whose files in OUT still have the
fingerprints recorded then, is left alone without being rendered or read. Changed files are written
into a staging directory beside ``OUT`` and, once every document is done, each is renamed over its
old version in an order that never shows a link to a missing file: article pages, then archive
pages, then feeds and feed pages, then the home page and OPML; files no longer produced are deleted
last. A failure before that leaves OUT as it was; one during it leaves each file old or new.

Nothing from the previous tree is published unchecked: a file is kept only when it is a regular file
of this user that nobody else may write and holds the expected bytes (those just rendered, the
sha256 the manifest recorded, or the recorded fingerprint).

Rendering, and digesting what a document is made of, are CPU-bound and hold the interpreter lock,
so threads do not help them (a pool of four made a complete build slower than one thread, by their
contention for the lock): a build of many documents forks a second process
(:class:`~concurrent.futures.ProcessPoolExecutor`) that keeps or renders and places the pages and
the JSON feeds (:func:`_theirs`) while this one does the rest; the second process returns what it
kept and placed, and this one records it.

A build with nothing changed is not even loaded: :meth:`feeds.build.manifest.Manifest.kept`.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import dataclasses
import gc
import hashlib
import multiprocessing
import os
import shutil
import tempfile
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from feeds.build.manifest import Fingerprint, Manifest, fingerprint, stamp
from feeds.files import is_trusted
from feeds.model import Diagnostic
from feeds.pipeline.index import Site
from feeds.pipeline.load import Changed, DataError, load_still
from feeds.render.compress import compress
from feeds.render.documents import Document, Publisher, PublishOptions

PRECOMPRESSED = ("gzip", ".gz"), ("br", ".br")
_TEXT_SUFFIXES = (".html", ".atom", ".rss", ".json", ".opml", ".css", ".js", ".xml")
# A second process works when a build has at least this many documents: forking it costs about
# 20 ms, and the documents it takes are half the work only when they are many.
_SPLIT = 2000
_CHUNKS = 64  # the second process's paths in this many chunks, the last of which this one may take


def _theirs(path: str) -> bool:
    """What the second process renders: the pages (Jinja) and the JSON feeds, while this one renders
    the Atom and RSS documents. Each format's entries are made in one process (a feed split between
    the two would have its entries made twice), and at 10,000 articles each process has about half
    of the work."""
    return path.startswith(("/articles/", "/countries/", "/topics/")) or path.endswith(".json")


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
    ``cache_dir`` keeps, between builds, the compiled tagging tables (:mod:`feeds.tagging.cache`) and
    the manifest of the files written (:mod:`feeds.build.manifest`)."""
    out = out.resolve()
    manifest = Manifest(cache_dir, out) if cache_dir is not None else None
    settings = (base_url, options or PublishOptions(), precompress, formats, feeds_only)
    before = stamp(data_dir, *settings) if manifest is not None else None  # (the data, and the ledger)
    if manifest is not None and before is not None and manifest.kept(before[1]):
        # Nothing the build reads has changed since the last build into OUT, which is as it left it.
        summary = manifest.previous_summary
        files = len(manifest.previous)
        return BuildReport(
            unchanged=files, files=files, articles=int(summary["articles"]), warnings=list(summary["warnings"])
        )
    try:
        loaded = load_still(data_dir, cache_dir=cache_dir)
        # The data as loaded: the ledger as the load leaves it (it records what it minted or dated).
        recorded = stamp(data_dir, *settings) if manifest is not None else None
    except DataError as exc:
        raise BuildError("the data has errors; nothing was written", tuple(exc.diagnostics)) from exc
    except Changed as exc:
        raise BuildError(f"{exc} kept changing while it was read; nothing was written") from exc
    if loaded.errors:
        raise BuildError("the data has errors; nothing was written", loaded.errors)
    site = loaded.site
    del loaded  # the tagger and the parsed entries are not needed to write
    # A date still in the future is warned of until it passes: that build's report is not kept.
    timeless = not site.articles or max(a.published for a in site.articles) <= datetime.now(UTC)
    # The site lives as long as the build: keep the cycle collector from walking it again each
    # time rendering has made enough garbage.
    gc.freeze()
    try:
        report = _write(site, out, base_url, options, precompress, progress, formats, feeds_only, manifest)
    finally:
        gc.unfreeze()
    if manifest is not None:
        # Recorded only when the load changed nothing but the ledger, and nothing changed after it.
        unchanged = before is not None and recorded is not None and recorded[0] == before[0]
        manifest.stamp = recorded[1] if timeless and unchanged and stamp(data_dir, *settings) == recorded else None
        manifest.summary = {"articles": report.articles, "warnings": report.warnings}
        manifest.save()
    return report


def _write(
    site: Site,
    out: Path,
    base_url: str,
    options: PublishOptions | None,
    precompress: bool,
    progress: Callable[[int, int], None] | None,
    formats: tuple[str, ...],
    feeds_only: bool,
    manifest: Manifest | None,
) -> BuildReport:
    publisher = Publisher(site, base_url, options, keep_entries=None)
    report = BuildReport(articles=len(site.articles), warnings=[str(d) for d in site.diagnostics])
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.build-", dir=out.parent))
    # In place when the last build into OUT left a manifest with fingerprints; else a whole new tree.
    tree: Tree | InPlace
    if manifest is not None and manifest.has_fingerprints() and os.path.isdir(out):
        tree = InPlace(out, staging, manifest)
    else:
        tree = Tree(out, staging)

    def publish(url_path: str) -> Published | _Pending | None:
        """One document into the tree, kept, linked or rendered."""
        found = publisher.resolve(url_path)
        if not isinstance(found, Document):
            return None
        rel = output_path(url_path)
        rels = [rel, *(rel + suffix for _, suffix in PRECOMPRESSED)] if _compressed(rel, precompress) else [rel]
        inputs = found.inputs().hex() if manifest is not None and found.inputs is not None else None
        recorded = manifest.unchanged(rels, inputs) if inputs is not None else None
        if recorded is not None and tree.reuse(recorded):
            return Published(None, inputs, False, [(name, False, sha256) for name, sha256 in recorded.items()])
        feed = url_path if found.kind == "feed" else None
        body = found.render()
        if len(rels) > 1:
            # Placed and compressed by a thread (zlib and brotli release the interpreter lock)
            # while this one renders the next documents.
            placed = _compressor().submit(_place, tree, manifest, rel, body, True)
            return _Pending(feed, inputs, placed)
        return Published(feed, inputs, True, _place(tree, manifest, rel, body, False))

    paths = [p for p in publisher.paths() if _wanted(p, formats, feeds_only)]
    pool: ProcessPoolExecutor | None = None

    def published() -> Iterator[Published | None]:
        nonlocal pool
        theirs = [path for path in paths if _theirs(path)]
        if len(paths) < _SPLIT or not theirs:
            yield from _in_order(map(publish, paths))
            return
        # The child is a fork of this process: it has the site, the publisher and the tree as they
        # are, and runs ``publish`` on its paths (a function of this module runs it: a closure does
        # not pickle), in chunks. What it places it returns; this process adds it to the tree.
        global _PUBLISH
        _PUBLISH = publish
        pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("fork"))
        size = -(-len(theirs) // _CHUNKS)
        chunks = {
            pool.submit(_publish_all, theirs[n : n + size]): theirs[n : n + size] for n in range(0, len(theirs), size)
        }
        _PUBLISH = None
        yield from _in_order(map(publish, [path for path in paths if not _theirs(path)]))
        # Done with its own, this process takes the child's last chunks while the child has not
        # started them (a future not yet running can be cancelled), so both end together.
        for future in reversed(list(chunks)):
            if not future.cancel():
                break
            yield from _in_order(map(publish, chunks[future]))
        for future in chunks:
            if future.cancelled():
                continue
            for done in future.result():
                if done is not None:
                    tree.adopt(done)
                yield done

    try:
        try:
            for number, done in enumerate(published(), start=1):
                if progress is not None:
                    progress(number, len(paths))
                if not isinstance(done, Published):
                    continue
                report.rendered += done.rendered
                for rel, written, sha256 in done.files:
                    report.files += 1
                    report.written += written
                    report.unchanged += not written
                    if manifest is not None:
                        manifest.record(rel, done.inputs, sha256)
                if done.feed is not None and done.files[0][1]:
                    report.changed_feeds.append(done.feed)
        finally:
            # nothing writes into the staging tree after this
            if pool is not None:
                pool.shutdown(cancel_futures=True)
            _settle_compressor()
        if not feeds_only:
            written = _not_found(tree, manifest, publisher, site)
            report.files += 1
            report.written += written
            report.unchanged += not written
        if isinstance(tree, InPlace):
            report.removed = tree.commit()
            shutil.rmtree(staging, ignore_errors=True)
        else:
            os.chmod(staging, 0o755)
            previous = swap(staging, out)
    except BaseException as exc:
        shutil.rmtree(staging, ignore_errors=True)
        if isinstance(exc, OSError):
            state = "each file is either as it was or as built" if tree.committing else "is unchanged"
            raise BuildError(
                f"cannot write the output: {exc.strerror or exc} ({exc.filename or out}); {out} {state}"
            ) from exc
        raise
    if isinstance(tree, Tree) and previous is not None:
        report.removed = _prune(previous, tree.files, everything=True)
    if manifest is not None:
        manifest.settle(tree.fingerprints())
    return report


_PUBLISH: Callable[[str], Published | _Pending | None] | None = None  # what a forked child runs


def _publish_all(paths: list[str]) -> list[Published | None]:
    """In the child process: ``publish`` each of ``paths``."""
    assert _PUBLISH is not None
    try:
        return list(_in_order(map(_PUBLISH, paths)))
    finally:
        _settle_compressor()


@dataclass(frozen=True)
class _Pending:
    """A document rendered, whose files a compression thread is placing."""

    feed: str | None
    inputs: str | None
    files: Future[list[Placed]]


def _in_order(results: Iterable[Published | _Pending | None]) -> Iterator[Published | None]:
    """``results`` in their order, each pending one once placed; a few are left pending meanwhile,
    so that the compression threads have work while documents are rendered."""
    pending: deque[Published | _Pending | None] = deque()
    for result in results:
        pending.append(result)
        if len(pending) > _AHEAD:
            yield _placed(pending.popleft())
    while pending:
        yield _placed(pending.popleft())


def _placed(result: Published | _Pending | None) -> Published | None:
    if isinstance(result, _Pending):
        return Published(result.feed, result.inputs, True, result.files.result())
    return result


def _not_found(tree: Tree | InPlace, manifest: Manifest | None, publisher: Publisher, site: Site) -> bool:
    """The 404 page, kept when its inputs (the site's settings, the base URL and the overall feed's
    title) are the last build's: rendering it would load Jinja for one page. True if written."""
    message = "There is no page here."
    everything = dataclasses.replace(site.feeds["all"], articles=())
    parts = repr((message, site.meta, publisher.urls, everything)).encode("utf-8", "surrogatepass")
    inputs = hashlib.sha256(parts).hexdigest()
    recorded = manifest.unchanged(["404.html"], inputs) if manifest is not None else None
    if recorded is not None and tree.reuse(recorded):
        manifest.record("404.html", inputs, recorded["404.html"])
        return False
    body = publisher.not_found(message)
    if manifest is not None:
        manifest.record("404.html", inputs, hashlib.sha256(body).hexdigest())
    return tree.place("404.html", body)


def _compressed(rel: str, precompress: bool) -> bool:
    return precompress and rel.endswith(_TEXT_SUFFIXES)


#: One file placed: its path in the tree, whether it was written (not linked), the sha256 of its bytes.
Placed = tuple[str, bool, str]


@dataclass(frozen=True)
class Published:
    """What publishing one document did."""

    feed: str | None  # the URL path of a subscription feed rendered
    inputs: str | None  # the document's input digest
    rendered: bool
    files: list[Placed]


def _place(tree: Tree, manifest: Manifest | None, rel: str, body: bytes, precompress: bool) -> list[Placed]:
    """``body`` as ``rel``, and with ``precompress`` its .gz and .br."""
    sha256 = hashlib.sha256(body).hexdigest()
    done = [(rel, tree.place(rel, body), sha256)]
    if not precompress:
        return done
    siblings = [rel + suffix for _, suffix in PRECOMPRESSED]
    # The same bytes as the last build's file: its compressed files serve, if they are as recorded.
    if manifest is not None and not done[0][1] and manifest.sha256(rel) == sha256:
        recorded = {name: manifest.sha256(name) for name in siblings}
        if None not in recorded.values() and tree.reuse(recorded):
            return done + [(name, False, digest) for name, digest in recorded.items()]
    for name, (coding, _) in zip(siblings, PRECOMPRESSED, strict=True):
        data = compress(body, coding)
        done.append((name, tree.place(name, data), hashlib.sha256(data).hexdigest()))
    return done


_COMPRESSOR: tuple[int, ThreadPoolExecutor] | None = None
_AHEAD = 8  # documents rendered ahead of those still being compressed


def _compressor() -> ThreadPoolExecutor:
    """This process's compression threads (a forked child makes its own: threads are not forked)."""
    global _COMPRESSOR
    if _COMPRESSOR is None or _COMPRESSOR[0] != os.getpid():
        _COMPRESSOR = os.getpid(), ThreadPoolExecutor(max_workers=len(PRECOMPRESSED))
    return _COMPRESSOR[1]


def _settle_compressor() -> None:
    """Wait for the compression threads (of a build that failed: what they place is not published)."""
    global _COMPRESSOR
    if _COMPRESSOR is not None and _COMPRESSOR[0] == os.getpid():
        _COMPRESSOR[1].shutdown(wait=True, cancel_futures=True)
    _COMPRESSOR = None


def _wanted(path: str, formats: tuple[str, ...], feeds_only: bool) -> bool:
    if path.startswith("/feeds/"):
        if feeds_only and path.startswith("/feeds/archive/"):
            return False
        return path.rsplit(".", 1)[-1] in formats
    return not feeds_only


class Tree:
    """The new tree (``staging``), written beside the previous one (``out``) by relative path.
    Paths are strings: on tens of thousands of files, pathlib costs more than the system calls."""

    committing = False  # the swap is one step: OUT is old or new

    def __init__(self, out: Path, staging: Path) -> None:
        self.old, self.new = str(out), str(staging)
        self._had_old = os.path.isdir(self.old)  # a first build compares with nothing
        self._dirs: set[str] = {""}  # directories made in the new tree
        self.files: set[str] = set()

    def fingerprints(self) -> dict[str, Fingerprint]:
        """Each file's fingerprint in OUT, taken after the swap and the old tree's deletion (a hard
        link's count, and so its ctime, changes with both)."""
        found = {}
        for rel in self.files:
            with contextlib.suppress(OSError):
                found[rel] = fingerprint(os.lstat(os.path.join(self.old, rel)))
        return found

    def adopt(self, done: Published) -> None:
        """What another process placed in the new tree."""
        self.files.update(rel for rel, _, _ in done.files)

    def _add(self, rel: str) -> str:
        folder = os.path.dirname(rel)
        if folder not in self._dirs:
            os.makedirs(os.path.join(self.new, folder), exist_ok=True)
            while folder and folder not in self._dirs:
                self._dirs.add(folder)
                folder = os.path.dirname(folder)
        self.files.add(rel)
        return os.path.join(self.new, rel)

    def _link(self, rel: str, check: Callable[[bytes], bool]) -> bool:
        """Link the previous ``rel`` into the new tree and keep it if, there, it is trusted and
        ``check`` passes on its bytes. Checked after linking, so what is checked is what is published."""
        new = self._add(rel)
        try:
            os.link(os.path.join(self.old, rel), new)
        except OSError:
            return False
        try:
            fd = os.open(new, os.O_RDONLY | os.O_NOFOLLOW)
            with os.fdopen(fd, "rb") as handle:
                if is_trusted(os.fstat(handle.fileno())) and check(handle.read()):
                    return True
        except OSError:
            pass
        os.unlink(new)
        return False

    def place(self, rel: str, data: bytes) -> bool:
        """Hard-link the previous file when it holds ``data``, else write ``data``; True if written."""
        if self._had_old:
            with contextlib.suppress(OSError):
                if os.stat(os.path.join(self.old, rel)).st_size == len(data) and self._link(rel, data.__eq__):
                    return False
        # 0o644 whatever the umask: a group-writable file would not be trusted by the next build
        fd = os.open(self._add(rel), os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o644)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        return True

    def reuse(self, recorded: dict[str, str]) -> bool:
        """Link each previous file of ``recorded`` (path -> sha256) if it holds those bytes; if one
        does not, none is linked."""
        if not self._had_old:
            return False
        linked = []
        for rel, sha256 in recorded.items():
            if not self._link(rel, lambda data, sha256=sha256: hashlib.sha256(data).hexdigest() == sha256):
                for name in linked:
                    os.unlink(os.path.join(self.new, name))
                self.files.difference_update(recorded)
                return False
            linked.append(rel)
        return True


class InPlace:
    """Changes to OUT, written into ``staging`` and renamed over OUT's files by :meth:`commit`."""

    def __init__(self, out: Path, staging: Path, manifest: Manifest) -> None:
        self.old, self.new = str(out), str(staging)
        self.manifest = manifest
        self._dirs: set[str] = {""}  # directories made in the staging tree
        self.files: set[str] = set()
        self._kept: dict[str, Fingerprint] = {}
        self._pending: list[str] = []  # written into staging, to be renamed into OUT
        self.committing = False

    def _kept_as_is(self, rel: str) -> os.stat_result | None:
        """OUT's ``rel`` when it is a trusted regular file."""
        try:
            info = os.lstat(os.path.join(self.old, rel))
        except OSError:
            return None
        return info if is_trusted(info) else None

    def reuse(self, recorded: dict[str, str]) -> bool:
        """Keep OUT's files of ``recorded`` if each is trusted and has the fingerprint the last build
        recorded (so holds the bytes it recorded); if one does not, none is kept."""
        found = {}
        for rel in recorded:
            info = self._kept_as_is(rel)
            stamp = self.manifest.fingerprint(rel)
            if info is None or stamp is None or fingerprint(info) != stamp:
                return False
            found[rel] = stamp
        self._kept.update(found)
        self.files.update(found)
        return True

    def place(self, rel: str, data: bytes) -> bool:
        """Keep OUT's file when it holds ``data``, else write ``data`` into staging; True if written."""
        self.files.add(rel)
        info = self._kept_as_is(rel)
        if info is not None and info.st_size == len(data):
            with contextlib.suppress(OSError):
                fd = os.open(os.path.join(self.old, rel), os.O_RDONLY | os.O_NOFOLLOW)
                with os.fdopen(fd, "rb") as handle:
                    if is_trusted(os.fstat(handle.fileno())) and handle.read() == data:
                        self._kept[rel] = fingerprint(info)
                        return False
        folder = os.path.dirname(rel)
        if folder not in self._dirs:
            os.makedirs(os.path.join(self.new, folder), exist_ok=True)
            self._dirs.add(folder)
        fd = os.open(os.path.join(self.new, rel), os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o644)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        self._pending.append(rel)
        return True

    def adopt(self, done: Published) -> None:
        """What another process published: files kept in OUT, with the fingerprint recorded (kept
        unrendered) or as found (rendered to the same bytes), and files written into staging."""
        for rel, written, _ in done.files:
            self.files.add(rel)
            if written:
                self._pending.append(rel)
            elif not done.rendered:
                stamp = self.manifest.fingerprint(rel)
                assert stamp is not None  # kept by :meth:`reuse`, which checked it
                self._kept[rel] = stamp
            else:
                with contextlib.suppress(OSError):
                    self._kept[rel] = fingerprint(os.lstat(os.path.join(self.old, rel)))

    def commit(self) -> int:
        """Rename each written file over OUT's, linked pages first (:func:`_rank`), then delete OUT's
        files that this build did not produce; returns how many were deleted."""
        self.committing = True
        made: set[str] = {""}
        for rel in sorted(self._pending, key=_rank):
            folder = os.path.dirname(rel)
            if folder not in made:
                target = os.path.join(self.old, folder)
                if os.path.lexists(target) and not os.path.isdir(target):
                    os.unlink(target)  # a file where a directory must be
                os.makedirs(target, exist_ok=True)
                made.add(folder)
            target = os.path.join(self.old, rel)
            if os.path.isdir(target) and not os.path.islink(target):
                shutil.rmtree(target)  # a directory where a file must be
            os.rename(os.path.join(self.new, rel), target)
        return _prune(self.old, self.files)

    def fingerprints(self) -> dict[str, Fingerprint]:
        found = dict(self._kept)
        for rel in self._pending:
            with contextlib.suppress(OSError):
                found[rel] = fingerprint(os.lstat(os.path.join(self.old, rel)))
        return found


def _rank(rel: str) -> tuple[int, str]:
    """Where a file comes in the commit: what is linked to before what links to it."""
    if rel.startswith("articles/"):
        return 0, rel
    if rel.startswith("feeds/archive/"):
        return 1, rel
    if rel.startswith(("feeds/", "countries/", "topics/")):
        return 2, rel
    if rel.startswith(("index.html", "feeds.opml")):
        return 4, rel
    return 3, rel


def _prune(root: str, kept: set[str], *, everything: bool = False) -> int:
    """Delete the files under ``root`` that are not in ``kept`` (with ``everything``, all of them,
    and ``root`` itself), and directories left empty; return how many files not in ``kept`` there
    were. One walk for both: on tens of thousands of files each walk costs seconds."""
    removed = 0

    def prune(folder: str, prefix: str) -> bool:
        """True when ``folder`` is left empty."""
        nonlocal removed
        try:
            with os.scandir(folder) as found:
                entries = list(found)
        except OSError:
            return False
        left = len(entries)
        for entry in entries:
            rel = prefix + entry.name
            if entry.is_dir(follow_symlinks=False):
                if prune(entry.path, rel + "/"):
                    with contextlib.suppress(OSError):
                        os.rmdir(entry.path)
                        left -= 1
                continue
            stale = rel not in kept
            removed += stale
            if stale or everything:
                with contextlib.suppress(OSError):
                    os.unlink(entry.path)
                    left -= 1
        return left == 0

    if prune(root, "") and everything:
        with contextlib.suppress(OSError):
            os.rmdir(root)
    return removed


_RENAME_EXCHANGE = 2


def swap(staging: Path, out: Path, *, exchange: bool = True) -> str | None:
    """Put ``staging`` in place of ``out``: in one step with renameat2's RENAME_EXCHANGE where the
    kernel and file system allow it (and ``exchange``), else with two renames. Returns where the
    previous tree is now, if there was one."""
    if not out.exists():
        os.rename(staging, out)
        return None
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    renameat2 = getattr(libc, "renameat2", None)
    at_fdcwd = -100
    if (
        exchange
        and renameat2 is not None
        and renameat2(at_fdcwd, os.fsencode(staging), at_fdcwd, os.fsencode(out), _RENAME_EXCHANGE) == 0
    ):
        return str(staging)  # now holds the previous tree
    old = out.with_name(f".{out.name}.old-{os.getpid()}")
    os.rename(out, old)
    os.rename(staging, out)
    return str(old)
