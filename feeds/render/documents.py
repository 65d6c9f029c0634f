"""Every document the site publishes, addressed by URL path.

:class:`Publisher` is the single map from a path (``/feeds/countries/france.atom``) to what
is served there. The web layer resolves one path per request; the offline build walks
:meth:`Publisher.paths` and writes each document, so both publish the same bytes.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, fields
from datetime import datetime
from functools import cache
from importlib import resources
from urllib.parse import quote_plus

from feeds.model import Article
from feeds.pipeline.index import Feed, Site
from feeds.render import FEED_TYPES, FeedPage, Urls
from feeds.render.atom_rss import atom, rss
from feeds.render.jsonfeed import jsonfeed
from feeds.slug import fold

HTML = "text/html; charset=utf-8"
_ARTICLE_FIELDS = tuple(f.name for f in fields(Article) if f.name != "location")
# A feed document's own fields: its feed, entries, settings and base URL are digested apart, once.
_PAGE_FIELDS = tuple(f.name for f in fields(FeedPage) if f.name not in ("feed", "entries", "meta", "urls"))
RENDERERS = {"atom": atom, "rss": rss, "json": jsonfeed}
MAX_LIMIT = 500
LATEST = 20  # articles listed on the home page
STATIC = {
    "/static/style.css": "text/css; charset=utf-8",
    "/static/copy.js": "text/javascript; charset=utf-8",
    "/static/feed.css": "text/css; charset=utf-8",  # Atom and RSS in a browser
    "/favicon.ico": "image/x-icon",  # browsers ask for it, feeds opened in a browser too
}
#: Files the pages load by a content-hashed name (:func:`asset`), cached for a year; the plain names keep working.
ASSETS = ("style.css", "copy.js")
#: Pages listing every country or topic, by the kind of feed they list.
LISTS = {"/countries": "country", "/topics": "topic"}
SUBSCRIBE = "/subscribe"  # the filtered-feed builder: needs the query, so the service alone answers it


#: A country's or topic's page lists this many feeds' worth of its newest articles.
LISTED = 10


@dataclass(frozen=True)
class PublishOptions:
    entry_limit: int = 50
    max_age: int = 300
    hub: str | None = None


@dataclass(frozen=True)
class Document:
    path: str
    media_type: str
    last_modified: datetime
    render: Callable[[], bytes]
    kind: str = "page"  # "feed", "page", "opml", "static"
    #: Makes a digest of everything the bytes depend on, when that is known: two documents with the
    #: same digest have the same bytes, so one rendered for an earlier version of the data serves.
    inputs: Callable[[], bytes] | None = None


_FILTERS = frozenset(("limit", "q", "exclude", "country", "topic"))


@dataclass(frozen=True)
class FeedQuery:
    """Filters on a feed: all words of ``q``, none of ``exclude``, any of each tag list."""

    limit: int | None = None
    q: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    countries: tuple[str, ...] = ()  # ISO alpha-2
    topics: tuple[str, ...] = ()

    def canonical(self) -> str:
        parts = []
        if self.countries:
            parts.append("country=" + ",".join(c.lower() for c in self.countries))
        if self.exclude:
            parts.append("exclude=" + quote_plus(" ".join(self.exclude)))
        if self.limit is not None:
            parts.append(f"limit={self.limit}")
        if self.q:
            parts.append("q=" + quote_plus(" ".join(self.q)))
        if self.topics:
            parts.append("topic=" + ",".join(self.topics))
        return "?" + "&".join(parts) if parts else ""

    def select(self, articles, default_limit: int):
        limit = self.limit or default_limit
        count = 0
        for article in articles:
            if count >= limit:
                return
            if self.countries and not set(self.countries) & set(article.countries):
                continue
            if self.topics and not set(self.topics) & set(article.topics):
                continue
            if self.q or self.exclude:
                text = fold(f"{article.title} {article.summary}").lower()
                if not all(word in text for word in self.q) or any(word in text for word in self.exclude):
                    continue
            count += 1
            yield article


@dataclass(frozen=True)
class Redirect:
    location: str


class Entries(dict):
    """Entries by (format, article id), each dropped after its last use: an article is in one
    document of each feed that holds it (``uses``: the overall feed, its countries' and its
    topics'), its subscription feed or an archive page. A document shown again (a filtered feed,
    a page the service renders twice) makes the entry again. The service renders from several
    threads: a count and its entry change together, under a lock. ``limit`` bounds how many are
    kept (the oldest goes first): a long-lived service may be asked for the documents of one feed
    only, whose entries would otherwise wait for uses that never come; a build, which renders every
    document in the order of their entries, needs none."""

    def __init__(self, uses: Callable[[str], int], limit: int | None = None) -> None:
        super().__init__()
        self._uses = uses
        self._limit = limit
        self._left: dict[tuple[str, str], int] = {}
        self._lock = threading.Lock()

    def get(self, key: tuple[str, str], default: bytes | None = None) -> bytes | None:
        with self._lock:
            found = super().get(key, default)
            if found is not default:
                self._left[key] -= 1
                if not self._left[key]:
                    del self[key], self._left[key]
            return found

    def __setitem__(self, key: tuple[str, str], value: bytes) -> None:
        left = self._uses(key[1]) - 1  # this use is the first
        with self._lock:
            if left > 0 and key not in self:  # another thread may have made it meanwhile
                if self._limit is not None and len(self) >= self._limit:
                    oldest = next(iter(self))
                    del self[oldest], self._left[oldest]
                super().__setitem__(key, value)
                self._left[key] = left


class Publisher:
    """The documents of one site version on one base URL."""

    def __init__(
        self, site: Site, base_url: str, options: PublishOptions | None = None, keep_entries: int | None = 4096
    ) -> None:
        """``keep_entries``: how many entries made for one document are kept for the next (None: all
        until their last use, for a build)."""
        self.site = site
        self.urls = Urls(base_url)
        self.options = options or PublishOptions()
        feeds = site.feeds.values()
        self.names = {
            "countries": {f.code: (f.slug, f.name) for f in feeds if f.kind == "country"},
            "topics": {f.slug: (f.slug, f.name) for f in feeds if f.kind == "topic"},
        }
        self._codes = {f.code.lower(): f.slug for f in feeds if f.kind == "country"}
        self._names_digest: bytes | None = None
        # Digests of what many documents share, made once: each article by id (an article is in
        # several feeds and pages), each feed's own fields by key, the settings with the base URL.
        self._article_digests: dict[str, bytes] = {}
        self._feed_digests: dict[str, bytes] = {}
        self._base_digest = _digest(site.meta, self.urls)
        self._positions: dict[str, int] | None = None  # article id -> place on the site, for neighbours
        # Each article's entry in each format, made once and written into every feed that shows it.
        self._made = Entries(self._uses, keep_entries)

    # -- what exists -----------------------------------------------------------------

    def paths(self) -> Iterator[str]:
        """Every path, in a stable order."""
        yield "/"
        yield "/feeds.opml"
        yield from STATIC
        yield from map(asset, ASSETS)
        yield from LISTS
        # Feeds and archive pages by the mean place of their entries on the site, a page's formats
        # one after the other: an article's entries are then made for the first document that shows
        # them and dropped after the last (:class:`Entries`) within a few hundred documents, not held
        # from the overall feed to the last topic's (at 10,000 articles, an eighth of them at most).
        pages = []
        for key, feed in self.site.feeds.items():
            pages.append((self._mean_place(feed.articles[: self.options.entry_limit]), f"/feeds/{key}"))
            for number in range(1, self.archive_count(feed) + 1):
                place = self._mean_place(self.archive_entries(feed, number))
                pages.append((place, f"/feeds/archive/{key}/{number}"))
        for _, page in sorted(pages):
            for fmt in RENDERERS:
                yield f"{page}.{fmt}"
        for feed in self.site.feeds.values():
            if feed.kind != "all":
                yield feed.html_path
        for article in self.site.articles:
            yield f"/articles/{article.slug}"

    def _mean_place(self, articles: tuple[Article, ...]) -> float:
        positions = self._place_of()
        return sum(positions[a.id] for a in articles) / len(articles) if articles else 0.0

    def _place_of(self) -> dict[str, int]:
        """Article id -> place on the site, newest first."""
        if self._positions is None:
            self._positions = {a.id: n for n, a in enumerate(self.site.articles)}
        return self._positions

    def resolve(self, path: str) -> Document | Redirect | None:
        site = self.site
        if path == "/":
            render = lambda: _html().index_page(site, self.urls, self.names, LATEST)  # noqa: E731
            return Document(path, HTML, site.updated, render, "page", self._index_inputs)
        if path == "/feeds.opml":
            # its page in a browser counts each feed's articles
            feeds = [(self.feed_digest(f), len(f.articles)) for f in site.feeds.values() if f.articles]
            inputs = self._inputs_of(path, site.updated, feeds)
            return Document(path, "text/x-opml; charset=utf-8", site.updated, self._opml, "opml", inputs)
        if path in STATIC:
            inputs = self._inputs_of(path, site.updated)
            return Document(path, STATIC[path], site.updated, lambda: _static(path), "static", inputs)
        if path in _hashed():
            name = _hashed()[path]
            inputs = self._inputs_of(path, name, site.updated)
            return Document(path, STATIC[f"/static/{name}"], site.updated, lambda: _static(name), "asset", inputs)
        if path in LISTS:
            kind = LISTS[path]
            render = lambda: _html().list_page(site, kind, self.urls)  # noqa: E731
            counts = [(self.feed_digest(f), len(f.articles)) for f in site.feeds.values()]
            inputs = self._inputs_of(path, site.updated, counts)
            return Document(path, HTML, site.updated, render, "page", inputs)
        if path == SUBSCRIBE:
            return self._subscribe(FeedQuery())
        if path.endswith("/") and path.strip("/"):
            # /countries/france/ -> /countries/france, for whatever exists without the slash
            found = self.resolve(path.rstrip("/"))
            return Redirect(self.urls(path.rstrip("/"))) if isinstance(found, Document) else found
        if path.startswith("/feeds/"):
            return self._feed(path[len("/feeds/") :])
        if path.startswith("/articles/"):
            article = self.site.articles_by_slug.get(path[len("/articles/") :])
            if article is None:
                return None
            return Document(
                path, HTML, article.updated, lambda: self._article(article), "page", self._article_inputs(article)
            )
        for prefix in ("/countries/", "/topics/"):
            if path.startswith(prefix):
                feed = self.site.feeds.get(path[1:])
                if feed is None:
                    return self._code_redirect(path[len(prefix) :], "") if prefix == "/countries/" else None
                return self._feed_html(path, feed)
        return None

    def _feed_html(self, path: str, feed: Feed) -> Document:
        """A country's or topic's page: the feed's fields and the articles it lists, the newest
        ``entry_limit`` of them with their summaries, at most :data:`LISTED` feeds' worth in all
        (a topic of a large site has tens of thousands), and a link to the archive for the rest."""
        limit = self.options.entry_limit
        listed = LISTED * limit
        archive = None
        if len(feed.articles) > listed:
            # the archive page that holds the newest article not listed (pages count from the oldest)
            archive = self._archive_url(feed, (len(feed.articles) - 1 - listed) // limit + 1, "atom")
        articles = lambda: _joined(map(self.article_digest, feed.articles[:listed]))  # noqa: E731
        render = lambda: _html().feed_page(self.site, feed, self.urls, self.names, limit, listed, archive)  # noqa: E731
        inputs = self._inputs_of(path, self.feed_digest(feed), limit, len(feed.articles), articles)
        return Document(path, HTML, feed.updated, render, "page", inputs)

    def not_found(self, message: str) -> bytes:
        return _html().not_found_page(self.site, self.urls, message)

    # -- documents -----------------------------------------------------------------

    def _feed(self, name: str, query: FeedQuery | None = None) -> Document | Redirect | None:
        key, dot, fmt = name.rpartition(".")
        if not dot or fmt not in RENDERERS:
            return None
        if key.startswith("archive/") and query is None:
            return self._archive(key[len("archive/") :], fmt)
        feed = self.site.feeds.get(key)
        if feed is None:
            if key.startswith("countries/"):
                return self._code_redirect(key[len("countries/") :], f".{fmt}", feeds=True)
            return None
        page = self.feed_page(feed, fmt) if query is None else self.filtered_page(feed, fmt, query)
        return Document(
            f"/feeds/{name}",
            f"{FEED_TYPES[fmt]}; charset=utf-8",
            page.updated,
            lambda: RENDERERS[fmt](page, self.names, self._made),
            "feed",
            self._inputs(page),
        )

    def feed_page(self, feed: Feed, fmt: str) -> FeedPage:
        """The subscription document: the newest entries, linked to the newest archive page."""
        entries = feed.articles[: self.options.entry_limit]
        archives = self.archive_count(feed)
        links = (("prev-archive", self._archive_url(feed, archives, fmt)),) if archives else ()
        return self._page(feed, fmt, entries, self.urls.feed(feed.key, fmt), links)

    def filtered_page(self, feed: Feed, fmt: str, query: FeedQuery) -> FeedPage:
        entries = tuple(query.select(feed.articles, self.options.entry_limit))
        return self._page(feed, fmt, entries, self.urls.feed(feed.key, fmt) + query.canonical(), (), pinged=False)

    def _page(
        self, feed: Feed, fmt: str, entries, self_url: str, links, archive: bool = False, pinged: bool = True
    ) -> FeedPage:
        """``pinged``: a subscription feed, announced to the WebSub hub; only those advertise it."""
        return FeedPage(
            meta=self.site.meta,
            feed=feed,
            entries=entries,
            fmt=fmt,
            urls=self.urls,
            self_url=self_url,
            updated=max((a.updated for a in entries), default=feed.updated) if archive else feed.updated,
            ttl_minutes=max(1, self.options.max_age // 60),
            hub=self.options.hub if pinged and not archive else None,
            links=links,
            archive=archive,
            stylesheet=self.urls("/static/feed.css"),
        )

    # -- archives (RFC 5005) ---------------------------------------------------------
    #
    # The subscription feed holds the newest ``entry_limit`` articles; every older article is
    # in exactly one archive page. Pages are numbered from the oldest, ``entry_limit`` articles
    # each, so a full page never changes when new articles arrive; only the newest page fills up.

    def archive_count(self, feed: Feed) -> int:
        older = max(0, len(feed.articles) - self.options.entry_limit)
        return -(-older // self.options.entry_limit)

    def archive_entries(self, feed: Feed, number: int) -> tuple:
        limit = self.options.entry_limit
        total = len(feed.articles)
        # articles are newest first: page 1 is the oldest ``limit`` of them
        end = total - (number - 1) * limit
        start = max(end - limit, limit)
        return feed.articles[start:end]

    def _archive_url(self, feed: Feed, number: int, fmt: str) -> str:
        return self.urls(f"/feeds/archive/{feed.key}/{number}.{fmt}")

    def _archive(self, rest: str, fmt: str) -> Document | None:
        key, _, number_text = rest.rpartition("/")
        feed = self.site.feeds.get(key)
        if feed is None or not number_text.isdigit() or number_text.startswith("0"):
            return None
        number = int(number_text)
        if not 1 <= number <= self.archive_count(feed):
            return None
        links = [("current", self.urls.feed(feed.key, fmt))]
        if number > 1:
            links.append(("prev-archive", self._archive_url(feed, number - 1, fmt)))
        if number < self.archive_count(feed):
            links.append(("next-archive", self._archive_url(feed, number + 1, fmt)))
        entries = self.archive_entries(feed, number)
        page = self._page(feed, fmt, entries, self._archive_url(feed, number, fmt), tuple(links), archive=True)
        full = len(entries) == self.options.entry_limit
        return Document(
            f"/feeds/archive/{rest}.{fmt}",
            f"{FEED_TYPES[fmt]}; charset=utf-8",
            page.updated,
            lambda: RENDERERS[fmt](page, self.names, self._made),
            "archive" if full else "feed",
            self._inputs(page),
        )

    def _inputs(self, page: FeedPage) -> Callable[[], bytes]:
        """What a feed document's bytes depend on: the page but the feed's whole history (only its
        entries are written), the feed's own fields, and the names of countries and topics."""

        def digest() -> bytes:
            if self._names_digest is None:
                self._names_digest = hashlib.sha256(repr(sorted(self.names.items())).encode()).digest()
            rest = [getattr(page, name) for name in _PAGE_FIELDS]
            # An article's place in the listing is not written: inserting one above moves it, not its entry.
            entries = _joined(map(self.article_digest, page.entries))
            feed = self.feed_digest(page.feed)
            return _digest(page.fmt, feed, self._base_digest, rest, entries, self._names_digest)

        return digest

    def _inputs_of(self, path: str, *parts: object) -> Callable[[], bytes]:
        """What a document's bytes and Last-Modified depend on: ``parts`` (a callable part is called
        when the digest is made), the site's settings and the base URL."""

        def digest() -> bytes:
            made = [part() if callable(part) else part for part in parts]
            return _digest(path, self._base_digest, made)

        return digest

    def _index_inputs(self) -> bytes:
        """The home page: every feed's name, count and newest date, and the latest articles."""
        feeds = [(self.feed_digest(f), len(f.articles), f.newest) for f in self.site.feeds.values()]
        latest = _joined(map(self.article_digest, self.site.articles[:LATEST]))
        return self._inputs_of("/", self.site.updated, feeds, latest)()

    def article_digest(self, article: Article) -> bytes:
        """A digest of the article's fields (its place in the listing aside)."""
        digest = self._article_digests.get(article.id)
        if digest is None:
            digest = self._article_digests[article.id] = _digest(*(getattr(article, n) for n in _ARTICLE_FIELDS))
        return digest

    def feed_digest(self, feed: Feed) -> bytes:
        """A digest of a feed's own fields (not its articles)."""
        digest = self._feed_digests.get(feed.key)
        if digest is None:
            digest = self._feed_digests[feed.key] = _digest(_header(feed))
        return digest

    def _article_inputs(self, article: Article) -> Callable[[], bytes]:
        """What an article's page depends on: the article, the site, and its countries' and topics' feeds."""

        def digest() -> bytes:
            countries, topics = self._article_feeds(article)
            feeds = b"".join(map(self.feed_digest, countries + topics))
            around = [(a.slug, a.title) if a else None for a in self._neighbours(article)]
            return _digest(self._base_digest, self.article_digest(article), feeds, around)

        return digest

    def query(self, args: dict[str, str], path: str = "") -> FeedQuery:
        """Read filter parameters; ValueError with a message saying what is accepted. Parameters it
        does not know are ignored, as a static host ignores every query: a shared link's
        ``utm_source`` or ``fbclid``, a reader's cache-buster."""
        args = {key: value for key, value in args.items() if key in _FILTERS}
        if path == SUBSCRIBE:  # the form sends every field, the ones left empty too
            args = {key: value for key, value in args.items() if value.strip()}
        limit = None
        if "limit" in args:
            text = args["limit"]
            if not text.isdigit() or not 1 <= int(text) <= MAX_LIMIT:
                raise ValueError(f"limit must be a whole number from 1 to {MAX_LIMIT}, not {text!r}")
            limit = int(text)
        countries = []
        for raw in filter(None, (c.strip() for c in args.get("country", "").split(","))):
            code = self._country_code(raw)
            if code is None:
                raise ValueError(f"unknown country {raw!r}; use ISO codes or slugs, e.g. country=fr,peru")
            countries.append(code)
        topics = []
        for raw in filter(None, (t.strip().lower() for t in args.get("topic", "").split(","))):
            if raw not in self.names["topics"]:
                raise ValueError(f"unknown topic {raw!r}; accepted: {', '.join(self.names['topics'])}")
            topics.append(raw)
        if ("country" in args and not countries) or ("topic" in args and not topics):
            raise ValueError("country and topic need at least one value")
        words = {k: tuple(fold(args.get(k, "")).lower().split()) for k in ("q", "exclude")}
        if ("q" in args and not words["q"]) or ("exclude" in args and not words["exclude"]):
            raise ValueError("q and exclude need at least one word")
        return FeedQuery(limit, words["q"], words["exclude"], tuple(sorted(set(countries))), tuple(sorted(set(topics))))

    def _country_code(self, raw: str) -> str | None:
        if raw.lower() in self._codes:
            return raw.upper()
        feed = self.site.feeds.get(f"countries/{raw.lower()}")
        return feed.code if feed else None

    def filtered(self, path: str, query: FeedQuery) -> Document | Redirect | None:
        """A subscription feed narrowed by a query (``?country=fr&q=strike``), or the page that builds its URL."""
        if path == SUBSCRIBE:
            return self._subscribe(query)
        if not path.startswith("/feeds/") or path.startswith("/feeds/archive/"):
            return None
        return self._feed(path[len("/feeds/") :], query)

    def _code_redirect(self, code: str, suffix: str, feeds: bool = False) -> Redirect | None:
        """``/feeds/countries/fr.atom`` -> ``/feeds/countries/france.atom`` (ISO alpha-2, any case)."""
        slug = self._codes.get(code.lower())
        if slug is None:
            return None
        path = f"/feeds/countries/{slug}{suffix}" if feeds else f"/countries/{slug}"
        return Redirect(self.urls(path))

    def _opml(self) -> bytes:
        from feeds.render.opml import opml  # with email.utils: 10 ms that a build of feeds alone does without

        return opml(self.site, self.urls, stylesheet=self.urls("/static/feed.css"))

    def _subscribe(self, query: FeedQuery) -> Document:
        def page() -> bytes:
            entries = tuple(query.select(self.site.articles, self.options.entry_limit))
            return _html().subscribe_page(self.site, self.urls, self.names, query, entries)

        return Document(SUBSCRIBE + query.canonical(), HTML, self.site.updated, page)

    def _article(self, article) -> bytes:
        countries, topics = self._article_feeds(article)
        newer, older = self._neighbours(article)
        return _html().article_page(self.site, article, self.urls, countries, topics, newer, older)

    def _neighbours(self, article: Article) -> tuple[Article | None, Article | None]:
        """The articles listed just before (newer) and after (older) this one on the site."""
        n = self._place_of()[article.id]
        articles = self.site.articles
        return (articles[n - 1] if n > 0 else None), (articles[n + 1] if n + 1 < len(articles) else None)

    def _uses(self, article_id: str) -> int:
        """The subscription feeds or archive pages that show an article: the overall feed's, and its
        countries' and topics'."""
        article = self.site.articles[self._place_of()[article_id]]
        return 1 + len(article.countries) + len(article.topics)

    def _article_feeds(self, article: Article) -> tuple[list[Feed], list[Feed]]:
        countries = [self.site.feeds[f"countries/{self.names['countries'][c][0]}"] for c in article.countries]
        return countries, [self.site.feeds[f"topics/{t}"] for t in article.topics]


def _header(feed: Feed) -> list[object]:
    """A feed's own fields: not its articles, of which a document shows some, listed apart."""
    return [getattr(feed, f.name) for f in fields(feed) if f.name != "articles"]


def _digest(*parts: object) -> bytes:
    return hashlib.sha256(repr(parts).encode("utf-8", "surrogatepass")).digest()


def _joined(digests: Iterable[bytes]) -> bytes:
    """One digest of many, hashed as they are: the repr of kilobytes of them costs more."""
    return hashlib.sha256(b"".join(digests)).digest()


def _html():
    """The HTML renderers, imported on first use: Jinja is not needed to write feeds."""
    from feeds.render import html

    return html


def _static(path: str) -> bytes:
    """A file of ``feeds/static/``: ``/static/style.css``, or ``/favicon.ico`` at the root."""
    return resources.files("feeds").joinpath("static/" + path.rpartition("/")[2]).read_bytes()


@cache
def asset(name: str) -> str:
    """The path a page loads ``name`` by, ``/static/style.3f2a9c1b.css``: it changes with the bytes, so a
    browser can keep the file for a year and still never use an old one."""
    stem, _, ext = name.rpartition(".")
    return f"/static/{stem}.{hashlib.sha256(_static(name)).hexdigest()[:8]}.{ext}"


@cache
def _hashed() -> dict[str, str]:
    return {asset(name): name for name in ASSETS}
