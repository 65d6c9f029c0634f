"""The XHTML a browser shows for an Atom, RSS or OPML document opened as a page.

Browsers render these documents through ``feed.css`` (README, "Feeds in a browser"), but CSS
cannot make a link clickable, give the tab a title or add a button, so what a person reads and
uses travels in one XHTML ``div`` at the top level of the document: foreign markup (RFC 4287
section 6; a namespaced channel element in RSS 2.0; a namespaced element in OPML 2.0) that feed
readers ignore and, in Atom and RSS, the one place outside entry content where the W3C Feed
Validator accepts XHTML. The document's own elements are hidden by the stylesheet, so the page
reads in document order: the title, how to subscribe, then each entry's linked title, date,
summary and tags.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from lxml import etree

from feeds.dates import rfc3339
from feeds.render import day, url_parts

XHTML = "http://www.w3.org/1999/xhtml"
#: What a feed is, for a person who has never used one; the pages say it too.
ABOUT = (
    "An address that a feed reader (an app such as Feedly, Inoreader, NetNewsWire or Newsboat) "
    "checks for you, showing each new article as it comes."
)


def h(parent: etree._Element, tag: str, text: str | None = None, **attrs: str) -> etree._Element:
    """An XHTML element appended to ``parent`` (``class_`` for ``class``)."""
    if "class_" in attrs:
        attrs["class"] = attrs.pop("class_")
    element = etree.SubElement(parent, f"{{{XHTML}}}{tag}", attrs)
    element.text = text
    return element


def page(parent: etree._Element, title: str) -> etree._Element:
    """The ``div`` that holds the page, appended to ``parent``, with the tab's title (Chromium shows
    the first XHTML ``title`` of any XML document) and the phone viewport. XHTML is its default
    namespace: unprefixed, as in Atom's type="xhtml"."""
    div = etree.SubElement(parent, f"{{{XHTML}}}div", {"class": "feed-preview"}, nsmap={None: XHTML})
    h(div, "title", title)
    h(div, "meta", name="viewport", content="width=device-width, initial-scale=1")
    return div


def address(parent: etree._Element, url: str, what: str) -> None:
    """The address in a box that lines break after its slashes, never inside a word, and a
    "Copy ``what`` URL" button beside it, shown by ``copy.js`` where the clipboard works."""
    box = h(parent, "p", class_="feed-address")
    code = h(box, "code", class_="feed-url")
    parts = url_parts(url)
    code.text = parts[0]
    for part in parts[1:]:
        h(code, "wbr").tail = part
    h(box, "button", f"Copy {what} URL", type="button", class_="copy", hidden="hidden", **{"data-url": url})


def about(parent: etree._Element) -> None:
    """A line for a person who has never used a feed."""
    line = h(parent, "p", class_="feed-about")
    h(line, "strong", "What is a feed?").tail = " " + ABOUT


def links(parent: etree._Element, pairs: Iterable[tuple[str, str]]) -> None:
    """A line of links, ``(text, href)``, separated by middle dots."""
    line = h(parent, "p", class_="feed-links")
    for n, (text, href) in enumerate(pairs):
        if n:
            line[-1].tail = " · "
        h(line, "a", text, href=href)


def when(parent: etree._Element, value: datetime) -> None:
    """``<time datetime="2026-11-27T02:26:13Z">27 Nov 2026</time>``, as the pages write dates."""
    h(parent, "time", day(value), datetime=rfc3339(value))


def script(parent: etree._Element, src: str) -> None:
    """``copy.js`` and the live region it reports a copy in (an XML document has no ``body`` to add one to)."""
    h(parent, "p", class_="copy-status", role="status")
    h(parent, "script", src=src)
