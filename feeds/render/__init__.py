"""Renderers: turn one document of the site into bytes.

Every renderer is a pure function of a :class:`FeedPage` (or the site) and returns bytes;
the web layer and the offline build call the same functions, so both serve the same bytes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from feeds.model import Article
from feeds.pipeline.index import Feed, SiteMeta


@dataclass(frozen=True)
class Urls:
    """Absolute URLs on one base (``https://example.org`` or ``https://example.org/news``)."""

    base: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "base", self.base.rstrip("/"))

    def __call__(self, path: str) -> str:
        return self.base + path

    def feed(self, key: str, fmt: str) -> str:
        return f"{self.base}/feeds/{key}.{fmt}"

    def article(self, article: Article) -> str:
        return f"{self.base}/articles/{article.slug}"

    def link(self, article: Article) -> str:
        """Where an entry points: the original article when known, else its page here."""
        return article.link or self.article(article)


@dataclass(frozen=True)
class FeedPage:
    """One feed document: which entries it holds and how it links to the rest."""

    meta: SiteMeta
    feed: Feed
    entries: tuple[Article, ...]
    fmt: str
    urls: Urls
    self_url: str
    updated: datetime
    ttl_minutes: int = 5
    hub: str | None = None
    # RFC 5005 links as (rel, href), e.g. ("prev-archive", url), ("current", url)
    links: tuple[tuple[str, str], ...] = ()
    archive: bool = False
    stylesheet: str | None = None

    @property
    def html_url(self) -> str:
        return self.urls(self.feed.html_path)


_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def day(value: datetime) -> str:
    """The date in the zone it was written in, ``17 Mar 2023``, whatever the process locale."""
    return f"{value.day} {_MONTHS[value.month - 1]} {value.year}"


def url_parts(url: str) -> list[str]:
    """A URL cut where a line may break: after its slashes, before ``?`` and ``&``, never inside a
    word (``https://`` stays whole). Pages join the parts with ``<wbr>``, feed previews too."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        scheme, rest = "", url
    parts = re.split(r"(?<=/)|(?=[?&])", rest)
    parts[0] = scheme + sep + parts[0]
    return [part for part in parts if part]


FEED_TYPES = {
    "atom": "application/atom+xml",
    "rss": "application/rss+xml",
    "json": "application/feed+json",
}
