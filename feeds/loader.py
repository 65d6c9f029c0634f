"""Load one version of the site: parse -> identify -> tag -> index.

This is the only place where the pipeline's steps meet; each step stays testable alone.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, fields, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .identity import identify
from .model import Article, Diagnostic, Entry, Location, Severity
from .parse import Limits, read_dir
from .site import Site, SiteMeta, index
from .tag import Tagger, TaggingDataError

#: The data shipped with the project; tagging tables missing from another data directory come from here.
SHIPPED_DATA = Path(__file__).resolve().parent.parent / "data"


class DataError(Exception):
    """The data cannot be loaded at all; ``diagnostics`` says where and why."""

    def __init__(self, diagnostics: list[Diagnostic]) -> None:
        super().__init__("\n".join(str(d) for d in diagnostics))
        self.diagnostics = diagnostics


@dataclass(frozen=True)
class Loaded:
    site: Site
    tagger: Tagger
    entries: tuple[Entry, ...]

    @property
    def errors(self) -> tuple[Diagnostic, ...]:
        return tuple(d for d in self.site.diagnostics if d.is_error)


def read_meta(data_dir: Path) -> tuple[SiteMeta, list[Diagnostic]]:
    """``site.toml`` from the data directory, else the shipped one, else defaults."""
    for path in (data_dir / "site.toml", SHIPPED_DATA / "site.toml"):
        if not path.is_file():
            continue
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
    return SiteMeta(), []


def load_tagger(data_dir: Path) -> Tagger:
    return Tagger.load(data_dir, fallback_dir=SHIPPED_DATA)


def load(
    data_dir: Path,
    *,
    now: datetime | None = None,
    persist: bool = True,
    limits: Limits | None = None,
    tagger: Tagger | None = None,
) -> Loaded:
    """Read and publish the data in ``data_dir``.

    Problems in articles are reported in ``site.diagnostics``; the ledger of ids is only
    written when the listing has no errors, so a half-typed edit never mints ids.
    Raises :class:`DataError` only when nothing sensible can be published (tagging tables unreadable).
    """
    now = now or datetime.now(UTC)
    meta, problems = read_meta(data_dir)
    try:
        zone = ZoneInfo(meta.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        problems.append(
            Diagnostic(Location(str(data_dir / "site.toml")), Severity.ERROR, f"unknown timezone {meta.timezone!r}")
        )
        zone = ZoneInfo("UTC")
    try:
        tagger = tagger or load_tagger(data_dir)
    except TaggingDataError as exc:
        raise DataError([Diagnostic(Location(str(exc.path), exc.line or 0), Severity.ERROR, exc.message)]) from exc
    listing = read_dir(data_dir, limits=limits, default_tz=zone)
    problems.extend(listing.diagnostics)
    clean = not any(p.is_error for p in problems)
    assigned, id_problems = identify(listing.entries, data_dir, meta.tag_authority, now, persist=persist and clean)
    problems.extend(id_problems)
    articles = _distinct_dates(
        [
            _article(entry, record, tagger, problems, now)
            for entry, record in zip(listing.entries, assigned.records, strict=True)
        ]
    )
    id_prefix = f"tag:{assigned.ledger.authority},{assigned.ledger.created}:"
    site = index(
        meta,
        articles,
        [(c.code, c.slug, c.name) for c in tagger.countries],
        [(t.slug, t.name, t.description) for t in tagger.topics],
        id_prefix,
        tuple(problems),
    )
    return Loaded(site=site, tagger=tagger, entries=listing.entries)


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


def _article(entry: Entry, record, tagger: Tagger, problems: list[Diagnostic], now: datetime) -> Article:
    tags = tagger.tag(entry.title, entry.summary)
    countries = list(tags.countries)
    topics = list(tags.topics)
    for raw in entry.meta.countries.add + entry.meta.countries.remove:
        if tagger.country(raw) is None:
            problems.append(Diagnostic(entry.location, Severity.ERROR, f"unknown country {raw!r} in @countries"))
    for raw in entry.meta.topics.add + entry.meta.topics.remove:
        if tagger.topic(raw) is None:
            known = ", ".join(t.slug for t in tagger.topics)
            problems.append(
                Diagnostic(entry.location, Severity.ERROR, f"unknown topic {raw!r} in @topics; known: {known}")
            )
    removed = {c.code for c in map(tagger.country, entry.meta.countries.remove) if c}
    added = [c.code for c in map(tagger.country, entry.meta.countries.add) if c]
    countries = [c for c in dict.fromkeys(countries + added) if c not in removed]
    removed_t = {t.slug for t in map(tagger.topic, entry.meta.topics.remove) if t}
    added_t = {t.slug for t in map(tagger.topic, entry.meta.topics.add) if t}
    wanted = (set(topics) | added_t) - removed_t
    topics = [t.slug for t in tagger.topics if t.slug in wanted]
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
        countries=tuple(countries),
        topics=tuple(topics),
    )
