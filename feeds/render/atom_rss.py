"""Atom 1.0 and RSS 2.0 through feedgen.

feedgen stamps the feed and every entry with the current time unless told otherwise,
prepends entries, writes its own version into ``<generator>`` and switches the process
locale while formatting RSS dates. Every date here comes from the data, the generator is
fixed, and rendering holds a lock.

An article is in several feeds (all, its countries, its topics) and their archives, and its
entry is the same in each. feedgen makes each entry's elements once per format, they are
serialised once, and a feed document is feedgen's feed elements with those bytes put in
before its closing tags: the same bytes as feedgen writing the whole tree. :class:`Parts`
is a document in those pieces, so that another process can put it together (``feeds build``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from feedgen.entry import FeedEntry
from feedgen.feed import FeedGenerator
from lxml import etree

from feeds.model import Article, Location
from feeds.render import FEED_TYPES, FeedPage

_LOCK = threading.Lock()
GENERATOR = "feeds"
_HISTORY_NS = "http://purl.org/syndication/history/1.0"
_ATOM_NS = "http://www.w3.org/2005/Atom"
_DC_NS = "http://purl.org/dc/elements/1.1/"
_SY_NS = "http://purl.org/rss/1.0/modules/syndication/"
_XHTML_NS = "http://www.w3.org/1999/xhtml"
_CLOSING = {"atom": b"</feed>\n", "rss": b"  </channel>\n</rss>\n"}

#: What an entry is made of: the article, the URL it links to, and its categories as
#: (term, label, scheme).
EntryKey = tuple[Article, str, tuple[tuple[str, str, str], ...]]


@dataclass(frozen=True)
class Parts:
    """A feed document in pieces: feedgen's document up to where the entries go, what each entry
    is made of, and the closing tags."""

    fmt: str
    head: bytes
    entries: tuple[EntryKey, ...]
    closing: bytes

    def join(self, made: Callable[[str, EntryKey], bytes] | None = None) -> bytes:
        """The document's bytes, each entry from ``made`` (by default, :func:`entry`)."""
        made = made or entry
        return b"".join((self.head, *(made(self.fmt, key) for key in self.entries), self.closing))


def entry(fmt: str, key: EntryKey, *, cached: bool = True) -> bytes:
    """One entry of an ``fmt`` document, serialised as it is inside the document; remembered for
    the next document unless not ``cached`` (a caller that keeps entries itself)."""
    serialised = _SERIALISED[fmt]
    with _LOCK:
        return serialised(*key) if cached else serialised.__wrapped__(*key)


def portable(key: EntryKey) -> tuple:
    """``key`` as plain values that pickle fast, for another process to rebuild with :func:`restored`:
    all of the article but its place in the listing, which no entry shows."""
    a, link, categories = key
    fields = (a.id, a.slug, a.title, a.summary, a.published, a.updated, a.link, a.author, a.countries, a.topics)
    return fields, link, categories


def restored(values: tuple) -> EntryKey:
    """The key that :func:`portable` made ``values`` of; its entries are the same bytes."""
    (id_, slug, title, summary, published, updated, link, author, countries, topics), target, categories = values
    article = Article(id_, slug, title, summary, published, updated, _ELSEWHERE, link, author, countries, topics)
    return article, target, categories


_ELSEWHERE = Location("")


def _generator(page: FeedPage) -> FeedGenerator:
    """The feed's own elements, without entries (:func:`_entries` makes those)."""
    meta, feed = page.meta, page.feed
    fg = FeedGenerator()
    fg.id(feed.id)
    fg.title(feed.title)
    fg.subtitle(feed.description)
    fg.description(feed.description)
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


def _entries(page: FeedPage, names: dict[str, dict[str, str]]) -> tuple[EntryKey, ...]:
    """What each of the page's entries is made of."""
    countries, topics = page.urls("/countries/"), page.urls("/topics/")
    out = []
    for article in page.entries:
        categories = tuple((*names["countries"][code], countries) for code in article.countries) + tuple(
            (*names["topics"][topic], topics) for topic in article.topics
        )
        out.append((article, page.urls.link(article), categories))
    return tuple(out)


@lru_cache(maxsize=256)
def _entry(article: Article, link: str, categories: tuple[tuple[str, str, str], ...]) -> FeedEntry:
    """One article as a feedgen entry, for its Atom and its RSS document (rendered one after the other)."""
    fe = FeedEntry()
    fe.id(article.id)
    fe.title(article.title)
    fe.link(href=link, rel="alternate", type="text/html")
    fe.summary(article.summary or article.title)
    fe.published(article.published)
    fe.updated(article.updated)
    fe.pubDate(article.published)
    if article.author:
        fe.author({"name": article.author})
    if categories:
        fe.category([{"term": term, "label": label, "scheme": scheme} for term, label, scheme in categories])
    return fe


# Bounded: a feeds-only build of 10,000 articles serialises about 2,500 entries per format
# (1.4 KB each); a complete build goes through every article, feed by feed.
@lru_cache(maxsize=4096)
def _atom_entry(article: Article, link: str, categories: tuple[tuple[str, str, str], ...]) -> bytes:
    outer, _ = _placed(_entry(article, link, categories).atom_entry(), 1)
    return _cut(outer, 1)


@lru_cache(maxsize=4096)
def _rss_item(article: Article, link: str, categories: tuple[tuple[str, str, str], ...]) -> bytes:
    outer, item = _placed(_entry(article, link, categories).rss_entry(), 2)
    # feedgen writes an RSS <author> only with an e-mail address; a name goes in dc:creator.
    if article.author:
        etree.SubElement(item, f"{{{_DC_NS}}}creator").text = article.author
    return _cut(outer, 2)


_SERIALISED = {"atom": _atom_entry, "rss": _rss_item}


def _placed(element: etree._Element, depth: int) -> tuple[etree._Element, etree._Element]:
    """``element`` ``depth`` levels down in wrappers that declare what a feed's root declares."""
    outer = etree.Element("w", nsmap={"dc": _DC_NS})
    parent = outer
    for _ in range(depth - 1):
        parent = etree.SubElement(parent, "w")
    parent.append(element)
    return outer, element


def _cut(outer: etree._Element, depth: int) -> bytes:
    """The element in ``outer``'s wrappers, serialised as it is inside a pretty-printed feed."""
    text = etree.tostring(outer, pretty_print=True, encoding="UTF-8")
    start = 0  # after the wrappers' opening lines
    for _ in range(depth):
        start = text.index(b"\n", start) + 1
    end = len(text)  # before their closing lines
    for _ in range(depth):
        end = text.rindex(b"\n", 0, end - 1) + 1
    return text[start:end]


def _parts(root: etree._Element, page: FeedPage, names: dict[str, dict[str, str]]) -> Parts:
    """The document: ``root`` written by lxml, the page's entries to go in before its closing tags."""
    # The entries are not in the tree: the namespace of an RSS dc:creator is kept by name.
    keep = ["dc"] if page.fmt == "rss" and any(article.author for article in page.entries) else None
    etree.cleanup_namespaces(root, top_nsmap={"sy": _SY_NS, "fh": _HISTORY_NS, "dc": _DC_NS}, keep_ns_prefixes=keep)
    if page.stylesheet:
        # feedgen has no API for processing instructions; they go before the root element.
        root.addprevious(etree.PI("xml-stylesheet", f'type="text/css" href="{page.stylesheet}"'))
    head = etree.tostring(root.getroottree(), pretty_print=True, xml_declaration=True, encoding="UTF-8")
    closing = _CLOSING[page.fmt]
    if not head.endswith(closing):
        raise ValueError(f"feedgen's {page.fmt} document does not end in {closing!r}")
    return Parts(page.fmt, head[: -len(closing)], _entries(page, names), closing)


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


def _banner(parent: etree._Element, page: FeedPage) -> None:
    """What a person who opens the feed in a browser reads above the entries.

    Only with a stylesheet: browsers render the feed through ``feed.css`` (README, "Feeds in
    a browser"), and CSS cannot make a link clickable, so the address to subscribe to and a
    link to the feed's HTML page travel in a small XHTML ``div``: foreign markup (RFC 4287
    section 6; a namespaced channel element in RSS 2.0) that feed readers ignore.
    """
    if not page.stylesheet:
        return

    def h(tag: str, parent: etree._Element, text: str | None = None, **attrs: str) -> etree._Element:
        element = etree.SubElement(parent, f"{{{_XHTML_NS}}}{tag}", attrs)
        element.text = text
        return element

    subscribe = dict(page.links).get("current", page.self_url)
    # XHTML as the default namespace of the banner: unprefixed, as in Atom's type="xhtml".
    div = etree.SubElement(parent, f"{{{_XHTML_NS}}}div", {"class": "feed-banner"}, nsmap={None: _XHTML_NS})
    h("meta", div, name="viewport", content="width=device-width, initial-scale=1")
    intro = h("p", div, "This is a web feed, for feed readers. ")
    if page.archive:
        h("strong", intro, "An archive page").tail = " of it: subscribe to the feed itself at this address:"
    else:
        h("strong", intro, "Subscribe").tail = " by pasting this address into your feed reader:"
    h("code", h("p", div, **{"class": "feed-url"}), subscribe)
    links = h("p", div, **{"class": "feed-links"})
    h("a", links, "Read it as a web page", href=page.html_url)
    if page.feed.kind != "all":
        links[-1].tail = " · "
        h("a", links, "All feeds", href=page.urls("/"))
    if not page.entries:
        h("p", div, "No articles yet: subscribe now and new ones will reach you.", **{"class": "feed-empty"})


def atom(page: FeedPage, names: dict[str, dict[str, str]]) -> bytes:
    return atom_parts(page, names).join()


def rss(page: FeedPage, names: dict[str, dict[str, str]]) -> bytes:
    return rss_parts(page, names).join()


def atom_parts(page: FeedPage, names: dict[str, dict[str, str]]) -> Parts:
    with _LOCK:
        root, _ = _generator(page)._create_atom()
    # feedgen declares the Atom namespace as a plain ``xmlns`` attribute, so in memory its elements
    # have no namespace; what is added here is named the same way and lands in the Atom namespace
    # when the document is read.
    _links(root, page, "link")
    _banner(root, page)
    return _parts(root, page, names)


def rss_parts(page: FeedPage, names: dict[str, dict[str, str]]) -> Parts:
    with _LOCK:
        root, _ = _generator(page)._create_rss()
    channel = root.find("channel")
    _links(channel, page, f"{{{_ATOM_NS}}}link")
    period, frequency = _update_period(page.ttl_minutes)
    etree.SubElement(channel, f"{{{_SY_NS}}}updatePeriod").text = period
    etree.SubElement(channel, f"{{{_SY_NS}}}updateFrequency").text = str(frequency)
    _banner(channel, page)
    return _parts(root, page, names)


def _update_period(minutes: int) -> tuple[str, int]:
    """``sy:updatePeriod``/``updateFrequency`` equivalent to a polling interval."""
    if minutes <= 60:
        return "hourly", max(1, 60 // max(1, minutes))
    return "daily", max(1, 1440 // minutes)
