"""Atom 1.0 and RSS 2.0 through feedgen's public API.

feedgen stamps the feed and every entry with the current time unless told otherwise,
prepends entries unless asked to append, writes its own version into ``<generator>`` and
switches the process locale while formatting RSS dates. Every date here comes from the data,
the generator is fixed, entries are appended, and rendering holds a lock.

What feedgen does not write itself is written by one feedgen extension (:class:`_FeedExtension`,
registered with ``register_extension``): RFC 5005 archive links and ``fh:archive``, the WebSub
hub, ``sy:updatePeriod``/``updateFrequency`` in RSS, the XHTML page for browsers, the
``xml-stylesheet`` processing instruction, and in RSS the ``dc:creator`` of an entry's author
(:class:`_EntryExtension`).

An article is in several feeds (all, its countries, its topics) and their archives, with the
same entry in each: its entry is made and serialized once per format (with the indentation it has
in a document) and its bytes are written into every document that shows it. feedgen writes a
document's entries after everything else, so a document is feedgen's output without entries with
the entries' bytes before its closing tags.
"""

from __future__ import annotations

import html
import threading
from copy import deepcopy
from datetime import datetime
from functools import lru_cache
from urllib.parse import parse_qsl, urlsplit

from feedgen.entry import FeedEntry
from feedgen.ext.base import BaseEntryExtension, BaseExtension
from feedgen.feed import FeedGenerator
from lxml import etree

from feeds.dates import rfc3339
from feeds.model import Article
from feeds.render import FEED_TYPES, FeedPage, day, preview
from feeds.render.preview import h

_LOCK = threading.Lock()
GENERATOR = "feeds"
_HISTORY_NS = "http://purl.org/syndication/history/1.0"
_ATOM_NS = "http://www.w3.org/2005/Atom"
_DC_NS = "http://purl.org/dc/elements/1.1/"
_SY_NS = "http://purl.org/rss/1.0/modules/syndication/"
_EXTENSION = "feeds"  # the name both extensions are registered under

#: How a filtered feed's preview reads each parameter of its query (README, "Filters").
_FILTERS = {
    "country": "from the countries",
    "topic": "about the topics",
    "q": "with all of the words",
    "exclude": "with none of the words",
    "limit": "at most",
}
#: Categories of an entry as (term, label, scheme).
Categories = tuple[tuple[str, str, str], ...]


class _FeedExtension(BaseExtension):
    """The feed-level additions; ``page`` is set before the document is written."""

    page: FeedPage
    names: dict[str, dict[str, str]]  # of countries and topics, for the preview's tags

    def extend_ns(self) -> dict[str, str]:
        page, ns = self.page, {}
        if page.archive:
            ns["fh"] = _HISTORY_NS
        if page.fmt == "rss":
            ns["sy"] = _SY_NS
            if any(article.author for article in page.entries):
                ns["dc"] = _DC_NS
        return ns

    def extend_atom(self, feed: etree._Element) -> etree._Element:
        # feedgen declares the Atom namespace as a plain ``xmlns`` attribute, so in memory its
        # elements have no namespace; what is added here is named the same way and lands in the
        # Atom namespace when the document is read.
        _links(feed, self.page, "link")
        _preview(feed, self.page, self.names)
        _stylesheet(feed, self.page)
        return feed

    def extend_rss(self, feed: etree._Element) -> etree._Element:
        page = self.page
        channel = feed.find("channel")
        _links(channel, page, f"{{{_ATOM_NS}}}link")
        period, frequency = _update_period(page.ttl_minutes)
        etree.SubElement(channel, f"{{{_SY_NS}}}updatePeriod").text = period
        etree.SubElement(channel, f"{{{_SY_NS}}}updateFrequency").text = str(frequency)
        _preview(channel, page, self.names)
        _stylesheet(feed, page)
        return feed


class _EntryExtension(BaseEntryExtension):
    """feedgen writes an RSS ``<author>`` only with an e-mail address; a name goes in dc:creator."""

    creator: str | None = None

    def extend_rss(self, entry: etree._Element) -> etree._Element:
        if self.creator:
            etree.SubElement(entry, f"{{{_DC_NS}}}creator").text = self.creator
        return entry


def _generator(page: FeedPage) -> FeedGenerator:
    meta, feed = page.meta, page.feed
    fg = FeedGenerator()
    fg.register_extension(_EXTENSION, _FeedExtension, _EntryExtension)
    getattr(fg, _EXTENSION).page = page
    fg.id(feed.id)
    fg.title(feed.title)
    fg.subtitle(feed.description)  # and the RSS description: feedgen sets both from either
    fg.language(meta.language)
    fg.author({"name": meta.author})
    fg.generator(GENERATOR)
    fg.docs("https://www.rssboard.org/rss-specification")
    fg.link(href=page.self_url, rel="self", type=FEED_TYPES[page.fmt])
    # feedgen uses the last link as the RSS <link>, so the HTML page goes last.
    fg.link(href=page.html_url, rel="alternate", type="text/html")
    fg.updated(page.updated)
    fg.ttl(page.ttl_minutes)
    return fg


def _categories(page: FeedPage, names: dict[str, dict[str, str]], article: Article) -> Categories:
    countries, topics = page.urls("/countries/"), page.urls("/topics/")
    return tuple((*names["countries"][code], countries) for code in article.countries) + tuple(
        (*names["topics"][topic], topics) for topic in article.topics
    )


# A page's Atom and RSS documents come one after the other (Publisher.paths): a small cache makes
# each article's feedgen entry once for both formats.
@lru_cache(maxsize=256)
def _entry(article: Article, link: str, categories: Categories) -> FeedEntry:
    """One article as a feedgen entry, for every Atom and RSS document that shows it; not changed
    after it is made (feedgen only reads it to write either format)."""
    fe = FeedEntry()
    fe.register_extension(_EXTENSION, _EntryExtension)
    getattr(fe, _EXTENSION).creator = article.author
    fe.id(article.id)
    fe.title(article.title)
    fe.link(href=link, rel="alternate", type="text/html")
    fe.summary(article.summary or article.title)
    fe.published(article.published)  # and the RSS pubDate: feedgen sets both from either
    fe.updated(article.updated)
    if article.author:
        fe.author({"name": article.author})
    if categories:
        fe.category([{"term": term, "label": label, "scheme": scheme} for term, label, scheme in categories])
    return fe


#: Bytes of entries by (format, article id), for the documents of one site on one base URL.
Made = dict[tuple[str, str], bytes]
# Where a document's entries go, by format: before its closing tags, and the wrapper that gives
# entries serialized apart the indentation they have in a document (its lines but the wrapper's).
_CLOSE = {"atom": b"</feed>\n", "rss": b"  </channel>\n</rss>\n"}
_WRAP = {"atom": 1, "rss": 2}
#: The line each entry starts with, at its depth in a document: feedgen writes no attributes on it.
_START = {"atom": b"  <entry>\n", "rss": b"    <item>\n"}


def _entries_bytes(fmt: str, entries: list[FeedEntry]) -> list[bytes]:
    """The entries as a document holds them: made by feedgen, serialized by lxml at their depth,
    all in one call (a call per entry took twice as long), then cut where each starts (a start tag
    in an entry's text is escaped, so each of those lines begins an entry)."""
    if fmt == "atom":
        root = parent = etree.Element("feed")
        parent.extend(entry.atom_entry() for entry in entries)
    else:
        root = etree.Element("rss", nsmap={"dc": _DC_NS})  # as the document declares dc:creator
        parent = etree.SubElement(root, "channel")
        parent.extend(entry.rss_entry() for entry in entries)
    text = etree.tostring(root, pretty_print=True, encoding="UTF-8")
    depth, start = _WRAP[fmt], _START[fmt]
    lines = text.split(b"\n")
    pieces = (b"\n".join(lines[depth : -depth - 1]) + b"\n").split(start)
    if pieces[0] or len(pieces) != len(entries) + 1:
        raise AssertionError(f"lxml's {fmt} entries are not laid out as expected")
    return [start + piece for piece in pieces[1:]]


def _document(fmt: str, page: FeedPage, names: dict[str, dict[str, str]], made: Made | None) -> bytes:
    fg = _generator(page)
    getattr(fg, _EXTENSION).names = names
    body = fg.atom_str(pretty=True) if fmt == "atom" else fg.rss_str(pretty=True)
    close = _CLOSE[fmt]
    if not body.endswith(close):
        raise AssertionError(f"feedgen's {fmt} document does not end as expected")
    made = {} if made is None else made
    parts = [body[: -len(close)]]
    new: list[tuple[int, Article]] = []  # entries not made for an earlier document, by place in parts
    for article in page.entries:
        entry = made.get((fmt, article.id))
        if entry is None:
            new.append((len(parts), article))
        parts.append(entry)
    if new:
        entries = [_entry(a, page.urls.link(a), _categories(page, names, a)) for _, a in new]
        for (place, article), entry in zip(new, _entries_bytes(fmt, entries), strict=True):
            parts[place] = made[fmt, article.id] = entry
    parts.append(close)
    return b"".join(parts)


def atom(page: FeedPage, names: dict[str, dict[str, str]], made: Made | None = None) -> bytes:
    """``made``: entries already made for this site and base URL, to which new ones are added."""
    with _LOCK:
        return _document("atom", page, names, made)


def rss(page: FeedPage, names: dict[str, dict[str, str]], made: Made | None = None) -> bytes:
    """``made``: entries already made for this site and base URL, to which new ones are added."""
    with _LOCK:
        return _document("rss", page, names, made)


def _stylesheet(root: etree._Element, page: FeedPage) -> None:
    """The ``xml-stylesheet`` instruction, before the root element: browsers render the feed
    through ``feed.css``. Its value is escaped as an attribute (``"``, ``<``, ``>``, ``&``), so no
    href can end the instruction early."""
    if page.stylesheet:
        root.addprevious(etree.PI("xml-stylesheet", f'type="text/css" href="{html.escape(page.stylesheet)}"'))


def _links(parent: etree._Element, page: FeedPage, tag: str) -> None:
    """RFC 5005 archive links and the WebSub hub, which feedgen's RSS writer leaves out."""
    extra = list(page.links) + ([("hub", page.hub)] if page.hub else [])
    for rel, href in extra:
        attrs = {"rel": rel, "href": href}
        if rel != "hub":
            attrs["type"] = FEED_TYPES[page.fmt]
        etree.SubElement(parent, tag, attrs)
    if page.archive:
        etree.SubElement(parent, f"{{{_HISTORY_NS}}}archive")


def _preview(parent: etree._Element, page: FeedPage, names: dict[str, dict[str, str]]) -> None:
    """What a person who opens the feed in a browser reads (:mod:`feeds.render.preview`): the
    feed's title, the address to subscribe to with a copy button, a line on what a feed is, links
    to the feed's HTML page, then every entry with its title linked to the article's page, its
    date, summary and tags, each linked to its page. Only with a stylesheet, which hides the rest."""
    if not page.stylesheet:
        return
    what = "Atom" if page.fmt == "atom" else "RSS"
    feed = page.feed
    filters = tuple(parse_qsl(urlsplit(page.self_url).query))  # a filtered feed names its query in its own URL
    kind = f"{what} archive page" if page.archive else f"filtered {what} feed" if filters else f"{what} feed"
    empty = None
    if not page.entries:
        empty = "No articles match yet" if filters else "No articles yet"
        empty += ": subscribe now and new ones will reach you."
    # Everything but the entries is the same in every archive page of a feed and format: made once
    # and copied (a copy costs a tenth of making its thirty elements).
    frame = _frame(
        feed.title,
        feed.description,
        kind,
        what,
        filters,
        page.urls.feed(feed.key, page.fmt) if filters else None,
        dict(page.links).get("current", page.self_url),
        page.html_url,
        page.urls("/") if feed.kind != "all" else None,
        page.urls("/static/copy.js"),
        empty,
    )
    div = deepcopy(frame)
    parent.append(div)
    if page.archive:  # a person goes through the archive as a reader does (RFC 5005's links)
        pages = dict(page.links)
        steps = [("Newer articles", pages.get("next-archive", pages["current"]))]
        if "prev-archive" in pages:
            steps.append(("Older articles", pages["prev-archive"]))
        preview.links(div.find(_BOX), steps)  # a line of their own, after the frame's links
    if not page.entries:
        return
    main = div.find(_MAIN)
    if page.archive:
        # Archive pages are for readers catching up (RFC 5005), rarely opened by a person, and a
        # large site has thousands: each entry is its linked title and date (the complete site of
        # 10,000 articles renders in half the time it takes with every summary and tag).
        # The list is parsed from one string (lxml's parser is C) and moved into the page, where its
        # XHTML namespace is the div's: lxml drops the list's own declaration of it.
        items = "".join(
            _brief(article.title, page.urls.article(article), article.published) for article in page.entries
        )
        main.append(etree.fromstring(f'<ol xmlns="{preview.XHTML}" class="entries brief">{items}</ol>'))
    else:
        entries = h(main, "ol", class_="entries")
        for article in page.entries:
            categories = _categories(page, names, article)
            # a copy: the made item stays whole for the next document that shows the article
            entries.append(deepcopy(_entry_item(article, page.urls.article(article), categories)))


_MAIN = f"{{{preview.XHTML}}}main"
_BOX = f".//{{{preview.XHTML}}}div[@class='feed-subscribe']"


# A feed's subscription document and archive pages in both formats, for every feed of a large site
# (530 feeds at 10,000 articles): the frames of all of them, a few kilobytes each, stay cached.
@lru_cache(maxsize=2048)
def _frame(
    title: str,
    description: str,
    kind: str,
    what: str,
    filters: tuple[tuple[str, str], ...],
    whole_url: str | None,
    address: str,
    html_url: str,
    all_url: str | None,
    script_url: str,
    empty: str | None,
) -> etree._Element:
    """The preview's ``div`` without its entries, which go in its ``main``:
    the title, how to subscribe, links, and ``empty`` in place of entries when it has none."""
    div = preview.page(etree.Element("feed"), f"{title} ({kind})")
    head = h(div, "header", class_="feed-head")
    h(head, "p", kind[0].upper() + kind[1:], class_="feed-kind")
    h(head, "h1", title)
    h(head, "p", description, class_="feed-description")
    if filters:
        named = "; ".join(f"{_FILTERS[key]} {value}" for key, value in filters)
        line = h(head, "p", f"Only its articles {named}. ", class_="feed-filter")
        h(line, "a", "The whole feed", href=whole_url)
    box = h(head, "div", class_="feed-subscribe")
    intro = h(box, "p", "This is a web feed, for feed readers. ", class_="feed-intro")
    if kind.endswith("archive page"):
        h(intro, "strong", "An archive page").tail = " of it: subscribe to the feed itself at this address:"
    else:
        h(intro, "strong", "Subscribe").tail = " by pasting this address into your feed reader:"
    preview.address(box, address, what)
    preview.about(box)
    others = [("Read it as a web page", html_url)]
    if all_url:
        others.append(("All feeds", all_url))
    preview.links(box, others)
    main = h(div, "main", class_="feed-entries")
    if empty:
        h(main, "p", empty, class_="feed-empty")
    preview.script(div, script_url)
    return div


@lru_cache(maxsize=1024)
def _brief(title: str, page_url: str, published: datetime) -> str:
    """An archive page's item as XML: the title linked to the article's page, then its date."""
    when = f'<time datetime="{rfc3339(published)}">{day(published)}</time>'
    return f'<li><a href="{html.escape(page_url)}">{html.escape(title, quote=False)}</a> · {when}</li>'


# Made once per article and copied into each document: copying is a sixth of the cost of making.
# A page's Atom and RSS documents come one after the other (Publisher.paths): a small cache serves
# both, where 4,096 items of lxml's held 12 MB through a complete build.
@lru_cache(maxsize=256)
def _entry_item(article: Article, page_url: str, categories: Categories) -> etree._Element:
    """One entry as a person reads it: its title linked to its page, date, summary and tags."""
    item = etree.Element(f"{{{preview.XHTML}}}li")
    h(h(item, "h2"), "a", article.title, href=page_url)
    preview.when(h(item, "p", class_="entry-date"), article.published)
    if article.summary:
        h(item, "p", article.summary, class_="entry-summary")
    if categories:
        tags = h(item, "ul", class_="entry-tags", **{"aria-label": "Tags"})
        for term, label, scheme in categories:
            h(h(tags, "li"), "a", label, href=scheme + term)
    return item


def _update_period(minutes: int) -> tuple[str, int]:
    """``sy:updatePeriod``/``updateFrequency`` equivalent to a polling interval."""
    if minutes <= 60:
        return "hourly", max(1, 60 // max(1, minutes))
    return "daily", max(1, 1440 // minutes)
