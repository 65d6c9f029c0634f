"""The site index: which feeds exist and which articles each one holds.

A :class:`Site` is one immutable version of the published data. Every feed of every
country (so that people can subscribe ahead) and every topic exists, empty or not.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from types import MappingProxyType

from feeds.model import Article, Diagnostic

EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class SiteMeta:
    """Site-wide facts from ``site.toml`` in the data directory."""

    title: str = "News"
    description: str = "Articles from the listing"
    language: str = "en"
    author: str = "Editors"
    tag_authority: str = "news.example.org"
    timezone: str = "UTC"
    base_url: str = ""  # where the built files are served from: `feeds build` without --base-url


@dataclass(frozen=True)
class Feed:
    """One subscription feed, in every format."""

    key: str  # "all", "countries/france", "topics/strikes": the URL path under /feeds/
    kind: str  # "all", "country" or "topic"
    slug: str
    name: str
    title: str
    description: str
    html_path: str
    id: str  # tag URI, stable whatever the host the feed is served from
    articles: tuple[Article, ...]  # newest first, the whole history
    code: str = ""  # ISO alpha-2 for countries

    @cached_property
    def updated(self) -> datetime:
        """Newest change among the feed's articles; a fixed date for an empty feed."""
        return max((a.updated for a in self.articles), default=EPOCH)

    @property
    def newest(self) -> datetime | None:
        return self.articles[0].published if self.articles else None


@dataclass(frozen=True)
class Site:
    meta: SiteMeta
    articles: tuple[Article, ...]  # newest first
    feeds: Mapping[str, Feed]
    articles_by_slug: Mapping[str, Article]
    diagnostics: tuple[Diagnostic, ...] = ()

    @cached_property
    def version(self) -> str:
        """A digest of what is published: the site's facts, every article with its tags, every feed.
        Made when first asked for (the service reports it); a build does not need it."""
        digest = hashlib.sha256(repr(self.meta).encode())
        # Fields joined by a control character, which the parser never lets into the data.
        for a in self.articles:
            fields = (a.id, a.slug, a.title, a.summary, a.published.isoformat(), a.updated.isoformat())
            rest = (a.link or "", a.author or "", ",".join(a.countries), ",".join(a.topics))
            digest.update(("\x1f".join(fields + rest) + "\x1e").encode("utf-8", "surrogatepass"))
        for key in self.feeds:
            digest.update(key.encode())
        return digest.hexdigest()[:16]

    @property
    def updated(self) -> datetime:
        return self.feeds["all"].updated

    def countries(self, *, with_articles: bool = False) -> list[Feed]:
        """Country feeds: those with articles first, by count then name."""
        feeds = [f for f in self.feeds.values() if f.kind == "country" and (f.articles or not with_articles)]
        return sorted(feeds, key=lambda f: (-len(f.articles), f.name))

    def topics(self) -> list[Feed]:
        return [f for f in self.feeds.values() if f.kind == "topic"]


def newest_first(articles: list[Article]) -> tuple[Article, ...]:
    """Sort by published date, newest first; ties keep listing order (the listing is newest first)."""
    return tuple(sorted(articles, key=lambda a: a.published, reverse=True))


def index(
    meta: SiteMeta,
    articles: list[Article],
    countries: Sequence[tuple[str, str, str]],
    topics: Sequence[tuple[str, str, str]],
    id_prefix: str,
    diagnostics: tuple[Diagnostic, ...] = (),
) -> Site:
    """Build the feeds. ``countries`` are (code, slug, name); ``topics`` (slug, name, description)."""
    ordered = newest_first(articles)
    by_country: dict[str, list[Article]] = {}
    by_topic: dict[str, list[Article]] = {}
    for article in ordered:
        for code in article.countries:
            by_country.setdefault(code, []).append(article)
        for slug in article.topics:
            by_topic.setdefault(slug, []).append(article)
    feeds: dict[str, Feed] = {
        "all": Feed(
            key="all",
            kind="all",
            slug="all",
            name=meta.title,
            title=meta.title,
            description=meta.description,
            html_path="/",
            id=f"{id_prefix}feed/all",
            articles=ordered,
        )
    }

    def tagged(kind: str, folder: str, slug: str, name: str, description: str, articles, code: str = "") -> Feed:
        key = f"{folder}/{slug}"
        return Feed(
            key=key,
            kind=kind,
            slug=slug,
            name=name,
            title=f"{meta.title}: {name}",
            description=description,
            html_path=f"/{key}",
            id=f"{id_prefix}feed/{key}",
            articles=tuple(articles),
            code=code,
        )

    for code, slug, name in countries:
        about = f"Articles about {name}"
        feeds[f"countries/{slug}"] = tagged("country", "countries", slug, name, about, by_country.get(code, ()), code)
    for slug, name, description in topics:
        about = description or f"Articles about {name.lower()}"
        feeds[f"topics/{slug}"] = tagged("topic", "topics", slug, name, about, by_topic.get(slug, ()))
    return Site(
        meta=meta,
        articles=ordered,
        feeds=MappingProxyType(feeds),
        articles_by_slug=MappingProxyType({a.slug: a for a in ordered}),
        diagnostics=diagnostics,
    )
