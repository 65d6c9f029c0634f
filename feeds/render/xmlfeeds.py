"""Atom 1.0 and RSS 2.0 through feedgen.

feedgen stamps the feed and every entry with the current time unless told otherwise,
prepends entries, writes its own version into ``<generator>`` and switches the process
locale while formatting RSS dates. Every date here comes from the data, entries are
appended in order, the generator is fixed, and rendering holds a lock.
"""

from __future__ import annotations

import threading
from functools import lru_cache

from feedgen.entry import FeedEntry
from feedgen.feed import FeedGenerator
from lxml import etree

from ..model import Article
from . import FEED_TYPES, FeedPage

_LOCK = threading.Lock()
GENERATOR = "feeds"
_HISTORY_NS = "http://purl.org/syndication/history/1.0"
_ATOM_NS = "http://www.w3.org/2005/Atom"
_DC_NS = "http://purl.org/dc/elements/1.1/"
_SY_NS = "http://purl.org/rss/1.0/modules/syndication/"
_XHTML_NS = "http://www.w3.org/1999/xhtml"


def _generator(page: FeedPage, names: dict[str, dict[str, str]]) -> FeedGenerator:
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
    countries, topics = page.urls("/countries/"), page.urls("/topics/")
    for article in page.entries:
        categories = tuple((*names["countries"][code], countries) for code in article.countries) + tuple(
            (*names["topics"][topic], topics) for topic in article.topics
        )
        fg.add_entry(_entry(article, page.urls.link(article), categories), order="append")
    return fg


@lru_cache(maxsize=256)
def _entry(article: Article, link: str, categories: tuple[tuple[str, str, str], ...]) -> FeedEntry:
    """One article as a feedgen entry, made once for its Atom and RSS documents and every feed it is in
    (feedgen only reads an entry when it writes a feed)."""
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


def _serialise(root: etree._Element, page: FeedPage) -> bytes:
    etree.cleanup_namespaces(root, top_nsmap={"sy": _SY_NS, "fh": _HISTORY_NS, "dc": _DC_NS})
    if page.stylesheet:
        # feedgen has no API for processing instructions; they go before the root element.
        root.addprevious(etree.PI("xml-stylesheet", f'type="text/css" href="{page.stylesheet}"'))
    return etree.tostring(root.getroottree(), pretty_print=True, xml_declaration=True, encoding="UTF-8")


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
    with _LOCK:
        root, _ = _generator(page, names)._create_atom()
    # feedgen declares the Atom namespace as a plain ``xmlns`` attribute, so in memory its elements
    # have no namespace; what is added here is named the same way and lands in the Atom namespace
    # when the document is read.

    def add() -> None:
        _links(root, page, "link")
        _banner(root, page)

    _before_first(root, root.find("entry"), add)
    return _serialise(root, page)


def _before_first(parent: etree._Element, first: etree._Element | None, add) -> None:
    """Run ``add`` (which appends children) and move what it added before ``first``:
    feed-level elements precede the entries."""
    tail = len(parent)
    add()
    if first is not None:
        for element in list(parent)[tail:]:
            first.addprevious(element)


def rss(page: FeedPage, names: dict[str, dict[str, str]]) -> bytes:
    with _LOCK:
        root, _ = _generator(page, names)._create_rss()
    channel = root.find("channel")

    # feedgen writes an RSS <author> only with an e-mail address; a name goes in dc:creator.
    for item, article in zip(channel.iterfind("item"), page.entries, strict=True):
        if article.author:
            etree.SubElement(item, f"{{{_DC_NS}}}creator").text = article.author

    def add() -> None:
        _links(channel, page, f"{{{_ATOM_NS}}}link")
        period, frequency = _update_period(page.ttl_minutes)
        etree.SubElement(channel, f"{{{_SY_NS}}}updatePeriod").text = period
        etree.SubElement(channel, f"{{{_SY_NS}}}updateFrequency").text = str(frequency)
        _banner(channel, page)

    _before_first(channel, channel.find("item"), add)
    return _serialise(root, page)


def _update_period(minutes: int) -> tuple[str, int]:
    """``sy:updatePeriod``/``updateFrequency`` equivalent to a polling interval."""
    if minutes <= 60:
        return "hourly", max(1, 60 // max(1, minutes))
    return "daily", max(1, 1440 // minutes)
