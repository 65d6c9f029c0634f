"""HTML pages from Jinja templates (autoescaped), shared by the service and the build."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache, lru_cache
from typing import TYPE_CHECKING
from urllib.parse import quote

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup, escape

from feeds.dates import rfc3339
from feeds.model import Article
from feeds.pipeline.index import Feed, Site, SiteMeta
from feeds.render import Urls, day, url_parts
from feeds.render.documents import SUBSCRIBE, asset
from feeds.render.preview import ABOUT

if TYPE_CHECKING:
    from feeds.render.documents import FeedQuery

#: code or slug -> (slug, name), by "countries" and "topics": :attr:`feeds.render.documents.Publisher.names`
Names = Mapping[str, Mapping[str, tuple[str, str]]]

#: Web readers that subscribe from a URL: name, and the URL with ``{path}`` (the feed URL as a path)
#: or ``{query}`` (as a query value). A few well-known ones; every reader takes the pasted address.
READERS = (
    ("Feedly", "https://feedly.com/i/subscription/feed/{path}"),
    ("Inoreader", "https://www.inoreader.com/feed/{path}"),
    ("NewsBlur", "https://www.newsblur.com/?url={query}"),
    ("The Old Reader", "https://theoldreader.com/feeds/subscribe?url={query}"),
)
FORMATS = (("atom", "Atom", "application/atom+xml"), ("rss", "RSS", "application/rss+xml"))
FORMATS += (("json", "JSON Feed", "application/feed+json"),)


@cache
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("feeds", "templates"),
        autoescape=select_autoescape(default=True),
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,  # package data: no stat of every template on every render
    )
    env.filters["iso"] = rfc3339  # a <time datetime> value: the moment in UTC
    env.filters["day"] = day
    env.filters["breakable"] = breakable
    env.filters["readers"] = readers
    env.filters["plural"] = _plural
    env.globals.update(about_feeds=ABOUT, asset=asset, date=date, formats=FORMATS, subscribe_path=SUBSCRIBE)
    return env


def date(value: datetime) -> Markup:
    """``<time datetime="2026-11-27T02:26:13Z">27 Nov 2026</time>`` (a function: a macro costs more per call)."""
    return Markup(f'<time datetime="{rfc3339(value)}">{day(value)}</time>')


def _plural(count: int, word: str) -> str:
    return f"{count:,} {word}{'' if count == 1 else 's'}"


def breakable(url: str) -> Markup:
    """A URL that lines may break after its slashes and before ``?`` and ``&``, never inside a word."""
    return Markup("<wbr>").join(url_parts(url))


def readers(url: str) -> list[tuple[str, str]]:
    """(name, subscribe URL) for each reader of :data:`READERS`."""
    path, query = quote(url, safe=":/"), quote(url, safe="")
    return [(name, pattern.format(path=path, query=query)) for name, pattern in READERS]


def tags(article: Article, names: Names, skip: str | None = None) -> list[tuple[str, str]]:
    """(page path, name) of an article's countries, then its topics, but the page ``skip``."""
    countries = [names["countries"][code] for code in article.countries]
    topics = [names["topics"][slug] for slug in article.topics]
    found = [(f"/countries/{s}", n) for s, n in countries] + [(f"/topics/{s}", n) for s, n in topics]
    return [tag for tag in found if tag[0] != skip]


def _by_count(feeds: Sequence[Feed]) -> list[Feed]:
    return sorted(feeds, key=lambda f: (-len(f.articles), f.name))


def _shorten(text: str, length: int) -> str:
    """At most ``length`` characters, cut between words with an ellipsis."""
    if len(text) <= length:
        return text
    return text[: length - 1].rsplit(" ", 1)[0].rstrip(" ,;:.") + "…"


def _render(name: str, **context: object) -> bytes:
    return environment().get_template(name).render(**context).encode("utf-8")


def _page(
    name: str,
    site: Site,
    urls: Urls,
    *,
    heading: str,
    description: str,
    path: str | None,
    discover: Sequence[Feed] = (),
    **context: object,
) -> bytes:
    """A page with what every page has: its title, description, canonical URL (None: the page is
    not at one address, as the 404) and the feeds browsers and readers discover from it."""
    meta = site.meta
    canonical = urls(path) if path is not None else None
    parts = _shared(meta, urls, canonical if path in ("/countries", "/topics") else None)
    discovered = Markup("").join(
        _discover(meta, urls, feed.key, feed.title) for feed in discover or [site.feeds["all"]]
    )
    return _render(
        name,
        meta=meta,
        site=site,
        urls=urls,
        heading=heading,
        title=heading if heading == meta.title else f"{heading} · {meta.title}",
        description=_shorten(description, 200),
        canonical=canonical,
        shared={**parts, "discover": discovered},
        tags=tags,
        **context,
    )


@lru_cache(maxsize=64)
def _shared(meta: SiteMeta, urls: Urls, current: str | None) -> dict[str, Markup]:
    """What every page has (``_shared.html``), for the page at ``current`` when it is in the nav."""
    shared = environment().get_template("_shared.html").make_module({"meta": meta, "urls": urls})
    return {
        "assets": Markup(shared.assets()),
        "script": Markup(shared.script()),
        "header": Markup(shared.header(current)),
        "footer": Markup(shared.footer()),
    }


@lru_cache(maxsize=1024)
def _discover(meta: SiteMeta, urls: Urls, key: str, title: str) -> Markup:
    """The links by which browsers and readers discover a feed from a page."""
    shared = environment().get_template("_shared.html").make_module({"meta": meta, "urls": urls})
    return Markup(shared.discover(_Named(key, title)))


# Made once per feed: most of an article page's escaping was its tags' links, the same on every
# page of the feed's articles.
@lru_cache(maxsize=1024)
def _more(urls: Urls, html_path: str, key: str, name: str) -> Markup:
    """An article page's line for one of its countries or topics: its page and its Atom feed."""
    page, feed = escape(urls(html_path)), escape(urls.feed(key, "atom"))
    return Markup(
        f'<li><a href="{page}">{escape(name)}</a> <a href="{feed}" class="feed" type="application/atom+xml">'
        f'feed<span class="vh"> of {escape(name)} (Atom)</span></a></li>\n'
    )


@dataclass(frozen=True)
class _Named:
    """What ``discover`` reads of a feed."""

    key: str
    title: str


def index_page(site: Site, urls: Urls, names: Names, latest: int = 20) -> bytes:
    countries = site.countries()
    topics = _by_count(site.topics())
    return _page(
        "index.html",
        site,
        urls,
        heading=site.meta.title,
        description=site.meta.description,
        path="/",
        names=names,
        all=site.feeds["all"],
        countries=[f for f in countries if f.articles],
        empty_countries=[f for f in countries if not f.articles],
        topics=[f for f in topics if f.articles],
        empty_topics=[f for f in topics if not f.articles],
        latest=site.articles[:latest],
        **_form(site),
    )


def feed_page(
    site: Site, feed: Feed, urls: Urls, names: Names, rich: int = 50, listed: int = 500, archive: str | None = None
) -> bytes:
    """A country's or topic's page: the newest ``rich`` articles (what the feed holds) with their
    summaries and tags, older ones by title up to ``listed`` articles in all, so that a long history
    keeps the page small, then a link to ``archive``, the archive page that goes on from there."""
    # The tables' descriptions are sentences of their own; the page adds its full stop.
    about = feed.description.rstrip(". ")
    context = {"feed": feed, "about": about, "names": names, "discover": [feed]}
    context |= {"recent": feed.articles[:rich], "older": feed.articles[rich:listed]}
    context |= {"archive": archive if len(feed.articles) > listed else None, "unlisted": len(feed.articles) - listed}
    return _page("feed.html", site, urls, heading=feed.name, description=about + ".", path=feed.html_path, **context)


def list_page(site: Site, kind: str, urls: Urls) -> bytes:
    """``/countries`` or ``/topics``: every feed of the kind, with its count."""
    feeds = site.countries() if kind == "country" else _by_count(site.topics())
    heading = "Countries" if kind == "country" else "Topics"
    path = "/countries" if kind == "country" else "/topics"
    with_articles = sum(1 for f in feeds if f.articles)
    description = f"Every {kind} has a feed: {len(feeds):,} {path[1:]}, {with_articles:,} with articles."
    return _page("list.html", site, urls, heading=heading, description=description, path=path, feeds=feeds, kind=kind)


def article_page(
    site: Site,
    article: Article,
    urls: Urls,
    countries: list[Feed],
    topics: list[Feed],
    newer: Article | None = None,
    older: Article | None = None,
) -> bytes:
    return _page(
        "article.html",
        site,
        urls,
        heading=article.title,
        description=article.summary,
        path=f"/articles/{article.slug}",
        discover=[site.feeds["all"], *countries, *topics],
        article=article,
        more=countries + topics,
        more_items=Markup("").join(_more(urls, feed.html_path, feed.key, feed.name) for feed in countries + topics),
        newer=newer,
        older=older,
    )


def subscribe_page(site: Site, urls: Urls, names: Names, query: FeedQuery, entries: Sequence[Article]) -> bytes:
    """What the filter form on the index leads to: the filtered feed's address and what it holds now."""
    canonical = query.canonical()
    return _page(
        "subscribe.html",
        site,
        urls,
        heading="Build your own feed",
        description=f"A feed of {site.meta.title} narrowed to countries, topics and words.",
        path=SUBSCRIBE + canonical,
        names=names,
        query=query,
        filtered=bool(canonical),
        address=urls.feed("all", "atom") + canonical,
        canonical_query=canonical,
        summary=describe(query, names),
        entries=entries,
        **_form(site, query),
    )


def _form(site: Site, query: FeedQuery | None = None) -> dict[str, object]:
    """The filter form's choices, and what ``query`` chose."""
    countries = tuple(query.countries) if query else ()
    return {
        "form_countries": [f for f in site.countries() if f.articles or f.code in countries],
        "form_topics": _by_count(site.topics()),
        "selected_countries": countries,
        "selected_topics": tuple(query.topics) if query else (),
        "selected_q": " ".join(query.q) if query else "",
        "selected_exclude": " ".join(query.exclude) if query else "",
    }


def describe(query: FeedQuery, names: Names) -> str:
    """``about France or Peru, on Strikes, with "pension", without "war"``."""
    parts = []
    if query.countries:
        parts.append("about " + " or ".join(names["countries"][c][1] for c in query.countries))
    if query.topics:
        parts.append("on " + " or ".join(names["topics"][t][1] for t in query.topics))
    if query.q:
        parts.append("with " + " and ".join(f"“{w}”" for w in query.q))
    if query.exclude:
        parts.append("without " + " or ".join(f"“{w}”" for w in query.exclude))
    if query.limit:
        parts.append(f"at most {query.limit} at a time")
    return ", ".join(parts)


def not_found_page(site: Site, urls: Urls, message: str) -> bytes:
    return _page("404.html", site, urls, heading="Not found", description=message, path=None, message=message)
