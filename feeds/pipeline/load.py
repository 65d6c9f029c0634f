"""Load one version of the site: parse -> identify -> tag -> index.

This is the only place where the pipeline's steps meet; each step stays testable alone.
"""

from __future__ import annotations

import contextlib
import gc
import os
import stat
import time
import tomllib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from feeds.model import Article, Diagnostic, Entry, Location, Severity
from feeds.pipeline.index import Site, SiteMeta, index
from feeds.pipeline.ledger import LEDGER_NAME, identify
from feeds.pipeline.parse import Limits, read_dir
from feeds.tagging.cache import Found, Tables, article_key, tag_all
from feeds.tagging.match import Tagger, TaggingDataError

#: The tagging tables shipped inside the package; a data directory's own tables win over them.
SHIPPED_TABLES = Path(__file__).resolve().parents[1] / "tagging" / "tables"


class DataError(Exception):
    """The data cannot be loaded at all; ``diagnostics`` says where and why."""

    def __init__(self, diagnostics: list[Diagnostic]) -> None:
        super().__init__("\n".join(str(d) for d in diagnostics))
        self.diagnostics = diagnostics


class Changed(Exception):
    """The data changed while it was read (a file saved during the load): nothing was recorded."""


@dataclass(frozen=True)
class Loaded:
    site: Site
    tables: Tables
    entries: tuple[Entry, ...]
    #: Seconds spent in each step: "parse", "tables" (reading the tagging tables and the tags kept from
    #: earlier loads), "ids", "tag" and "index" (making the articles and the feeds); ``make bench``
    #: prints them.
    timings: Mapping[str, float] = field(default_factory=dict)
    #: Ids minted by this load, with their entries (recorded in the ledger unless it is read-only).
    minted: tuple[tuple[str, Entry], ...] = ()
    #: Entries held back because the ledger is read-only and has no record of them: they wait for
    #: ``feeds ids`` to mint their ids.
    waiting: tuple[Entry, ...] = ()

    @property
    def tagger(self) -> Tagger:
        return self.tables.tagger

    @property
    def errors(self) -> tuple[Diagnostic, ...]:
        return tuple(d for d in self.site.diagnostics if d.is_error)


def read_meta(data_dir: Path) -> tuple[SiteMeta, list[Diagnostic]]:
    """``site.toml`` from the data directory; :class:`SiteMeta`'s defaults for what it leaves out."""
    path = data_dir / "site.toml"
    if not path.is_file():
        return SiteMeta(), []
    try:
        raw = tomllib.loads(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        return SiteMeta(), [Diagnostic(Location(str(path)), Severity.ERROR, f"cannot read site settings: {exc}")]
    known = {f.name for f in fields(SiteMeta)}
    unknown = sorted(set(raw) - known)
    problems = [
        Diagnostic(
            Location(str(path)),
            Severity.WARNING,
            f"unknown setting {key!r}; known: {', '.join(sorted(known))}",
        )
        for key in unknown
    ]
    values = {k: str(v) for k, v in raw.items() if k in known}
    return SiteMeta(**values), problems


def load_tagger(data_dir: Path, cache_dir: Path | None = None) -> Tagger:
    """The tagger of ``data_dir``; with ``cache_dir``, compiled tables are reused between runs (feeds.tagging.cache)."""
    return Tables(data_dir, SHIPPED_TABLES, cache_dir).tagger


def load(
    data_dir: Path,
    *,
    now: datetime | None = None,
    persist: bool = True,
    limits: Limits | None = None,
    tagger: Tagger | None = None,
    cache_dir: Path | None = None,
    read_only_ledger: bool = False,
    unchanged: Callable[[], bool] | None = None,
) -> Loaded:
    """Read and publish the data in ``data_dir``.

    Problems in articles are reported in ``site.diagnostics``; the ledger of ids is only
    written when the listing has no errors, so a half-typed edit never mints ids.
    ``read_only_ledger`` (replicas that must agree): the ledger is never written; an article it has no
    record of is held back (``waiting``), and an edit keeps the dates recorded until ``feeds ids`` runs.
    Raises :class:`DataError` only when nothing sensible can be published (tagging tables unreadable).
    ``unchanged`` (the service, which loads a version once it has held still): asked once the files are
    read, before the ledger is written; False raises :class:`Changed`, so that a file saved again between
    the check and the read is neither published nor recorded.
    """
    with _without_cycle_collection():
        try:
            tables = Tables(data_dir, SHIPPED_TABLES, cache_dir, tagger)
            return _load(data_dir, now, persist, limits, tables, read_only_ledger, unchanged)
        except TaggingDataError as exc:
            location = Location(str(exc.path), exc.line or 0)
            raise DataError([Diagnostic(location, Severity.ERROR, exc.message)]) from exc


#: Seconds a build's or a command's data must have held still before it is read: an editor saving a
#: file in place truncates it first, and a build started by the save (a file watcher's) would read it
#: empty or half-written, publish that and record it. (The service watches: feeds.serve.live.Live.)
HOLD = 0.1
_PATIENCE = 30.0  # seconds such a load waits for data that keeps changing


def load_still(data_dir: Path, *, persist: bool = True, cache_dir: Path | None = None) -> Loaded:
    """:func:`load` once the data holds still, and again if a file is saved while it is read;
    :class:`Changed` when it is still changing after half a minute."""
    deadline = time.monotonic() + _PATIENCE
    while True:
        sig = _held_still(data_dir, deadline)
        try:
            return load(
                data_dir, persist=persist, cache_dir=cache_dir, unchanged=lambda held=sig: signature(data_dir) == held
            )
        except Changed:
            if time.monotonic() > deadline:
                raise


def _held_still(data_dir: Path, deadline: float) -> tuple:
    """The data's :func:`signature` once no file (but the ledger, which loads write whole) has changed
    for :data:`HOLD` seconds: after the newest file's mtime plus HOLD, or for HOLD when that is
    further off (a clock ahead of this one)."""
    hold = int(HOLD * 1e9)
    sig = signature(data_dir)
    while True:
        newest = max((entry[3] for entry in sig if len(entry) == 4 and entry[0] != LEDGER_NAME), default=0)
        wait = newest + hold - time.time_ns()
        if wait <= 0:
            return sig
        if time.monotonic() > deadline:
            raise Changed(str(data_dir))
        time.sleep(min(wait, hold) / 1e9)
        again = signature(data_dir)
        if again == sig:
            return sig
        sig = again


def signature(data_dir: Path) -> tuple:
    """What changes when an editor touches the data: names, kinds, sizes and mtimes of its inputs (the
    ledger too: a replica with a read-only ledger gets new ids in a ledger shipped alone).

    ``stat`` only: nothing is opened here, so a FIFO or a device among the files cannot block a check.
    """
    try:
        names = sorted(
            p.name
            for p in data_dir.iterdir()
            if (p.suffix in (".txt", ".toml") or p.name == LEDGER_NAME) and not p.name.startswith(".")
        )
    except OSError as exc:
        return (("error", str(exc)),)
    entries = []
    for name in names:
        try:
            st = os.stat(data_dir / name)
        except OSError as exc:  # a broken symlink, or a file removed since the listing
            entries.append((name, "error", exc.errno or 0, 0))
            continue
        entries.append((name, stat.S_IFMT(st.st_mode), st.st_size, st.st_mtime_ns))
    return tuple(entries)


@contextlib.contextmanager
def _without_cycle_collection() -> Iterator[None]:
    """The pipeline makes acyclic data (frozen dataclasses, tuples, strings), freed by reference counting;
    the cycle collector would only walk the growing heap again and again, a fifth of the load's time."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _load(
    data_dir: Path,
    now: datetime | None,
    persist: bool,
    limits: Limits | None,
    tables: Tables,
    read_only_ledger: bool = False,
    unchanged: Callable[[], bool] | None = None,
) -> Loaded:
    timings: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(step: str) -> None:
        nonlocal clock
        timings[step] = time.perf_counter() - clock
        clock = time.perf_counter()

    now = now or datetime.now(UTC)
    meta, problems = read_meta(data_dir)
    try:
        zone = ZoneInfo(meta.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        problems.append(
            Diagnostic(Location(str(data_dir / "site.toml")), Severity.ERROR, f"unknown timezone {meta.timezone!r}")
        )
        zone = ZoneInfo("UTC")
    listing = read_dir(data_dir, limits=limits, default_tz=zone)
    if unchanged is not None and not unchanged():
        raise Changed(str(data_dir))
    problems.extend(listing.diagnostics)
    lap("parse")
    known = tables.known()
    overridden = [entry for entry in listing.entries if _overrides(entry)]
    if len(known) < len(listing.entries) or overridden:
        tables.tagger  # noqa: B018  (read, or compiled, here: its time is the tables', not the tagging's)
    for entry in overridden:  # before the ledger: a listing with errors mints nothing
        problems.extend(_unknown_overrides(entry, tables.tagger))
    lap("tables")
    clean = not any(p.is_error for p in problems)
    assigned, id_problems = identify(
        listing.entries, data_dir, meta.tag_authority, now, persist=persist and clean, record=not read_only_ledger
    )
    problems.extend(id_problems)
    entries, records = listing.entries, assigned.records
    minted = tuple((records[n].id, entries[n]) for n in assigned.minted)
    waiting: tuple[Entry, ...] = ()
    if read_only_ledger and minted:
        held = set(assigned.minted)
        waiting = tuple(entries[n] for n in assigned.minted)
        entries = tuple(e for n, e in enumerate(entries) if n not in held)
        records = tuple(r for n, r in enumerate(records) if n not in held)
    lap("ids")
    found = _tags(tables, known, entries)
    del known
    lap("tag")
    articles = _distinct_dates(
        [
            _article(entry, record, countries, topics, tables, problems, now)
            for entry, record, (countries, topics) in zip(entries, records, found, strict=True)
        ]
    )
    del found
    id_prefix = f"tag:{assigned.ledger.authority},{assigned.ledger.created}:"
    countries, topics = tables.catalog
    site = index(meta, articles, countries, topics, id_prefix, tuple(problems))
    lap("index")
    return Loaded(site=site, tables=tables, entries=entries, timings=timings, minted=minted, waiting=waiting)


def _tags(tables: Tables, known: dict[bytes, Found], entries: tuple[Entry, ...]) -> list[Found]:
    """What the tagger finds in each entry: kept from an earlier load where the article is the same,
    tagged now where it is new or edited."""
    if tables.key is None:
        return tag_all(tables.tagger, entries)
    keys = [article_key(entry.title, entry.summary) for entry in entries]
    found: list[Found | None] = [known.get(key) for key in keys]
    missing = [n for n, tags in enumerate(found) if tags is None]
    if not missing and len(known) <= 2 * len(keys):
        return found  # type: ignore[return-value]  # every one was known
    for n, tags in zip(missing, tag_all(tables.tagger, [entries[n] for n in missing]), strict=True):
        found[n] = tags
    tables.remember(dict(zip(keys, found, strict=True)))  # type: ignore[arg-type]  # none is None now
    return found  # type: ignore[return-value]


def _overrides(entry: Entry) -> bool:
    countries, topics = entry.meta.countries, entry.meta.topics
    return bool(countries.add or countries.remove or topics.add or topics.remove)


def _distinct_dates(articles: list[Article]) -> list[Article]:
    """Articles given the same ``@date`` (often just a day) are spaced one second apart in listing
    order, the first (newest) keeping it, as new articles are: readers then sort them as listed."""
    seen: dict[datetime, int] = {}
    out = []
    for article in articles:
        shift = seen.get(article.published, 0)
        seen[article.published] = shift + 1
        if shift:
            published = article.published - timedelta(seconds=shift)
            updated = article.updated if article.updated > article.published else published
            article = replace(article, published=published, updated=updated)
        out.append(article)
    return out


def _article(
    entry: Entry,
    record,
    countries: tuple[str, ...],
    topics: tuple[str, ...],
    tables: Tables,
    problems: list[Diagnostic],
    now: datetime,
) -> Article:
    if _overrides(entry):
        countries, topics = _overridden(entry, countries, topics, tables.tagger)
    published = entry.meta.date or record.first_seen
    if published > now:
        problems.append(
            Diagnostic(
                entry.location,
                Severity.WARNING,
                "@date is in the future; feed readers will pin it to the top",
            )
        )
    updated = max(published, record.updated) if record.updated > record.first_seen else published
    return Article(
        id=record.id,
        slug=record.slug,
        title=entry.title,
        summary=entry.summary,
        published=published,
        updated=updated,
        location=entry.location,
        link=entry.meta.link,
        author=entry.meta.author,
        countries=countries,
        topics=topics,
    )


def _unknown_overrides(entry: Entry, tagger: Tagger) -> list[Diagnostic]:
    """Errors for the names in ``@countries`` and ``@topics`` that the tagger does not know."""
    problems = []
    for raw in entry.meta.countries.add + entry.meta.countries.remove:
        if tagger.country(raw) is None:
            problems.append(Diagnostic(entry.location, Severity.ERROR, f"unknown country {raw!r} in @countries"))
    for raw in entry.meta.topics.add + entry.meta.topics.remove:
        if tagger.topic(raw) is None:
            known = ", ".join(t.slug for t in tagger.topics)
            problems.append(
                Diagnostic(entry.location, Severity.ERROR, f"unknown topic {raw!r} in @topics; known: {known}")
            )
    return problems


def _overridden(
    entry: Entry, countries: tuple[str, ...], topics: tuple[str, ...], tagger: Tagger
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The tags after the editor's ``@countries`` and ``@topics`` lines (unknown names left out)."""
    removed = {c.code for c in map(tagger.country, entry.meta.countries.remove) if c}
    added = [c.code for c in map(tagger.country, entry.meta.countries.add) if c]
    kept_countries = [c for c in dict.fromkeys([*countries, *added]) if c not in removed]
    removed_t = {t.slug for t in map(tagger.topic, entry.meta.topics.remove) if t}
    added_t = {t.slug for t in map(tagger.topic, entry.meta.topics.add) if t}
    wanted = (set(topics) | added_t) - removed_t
    return tuple(kept_countries), tuple(t.slug for t in tagger.topics if t.slug in wanted)
