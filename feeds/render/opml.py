"""OPML 2.0 subscription list (http://opml.org/spec2.opml) of every feed with articles."""

from __future__ import annotations

import html
from email.utils import format_datetime

from lxml import etree

from feeds.pipeline.index import Feed, Site
from feeds.render import FEED_TYPES, Urls, preview
from feeds.render.preview import h


def opml(site: Site, urls: Urls, fmt: str = "atom", stylesheet: str | None = None) -> bytes:
    """One outline per non-empty feed, grouped in folders; ``type="rss"`` is OPML's word for any feed.

    With a ``stylesheet``, the list also reads as a page in a browser (:func:`_preview`)."""
    root = etree.Element("opml", version="2.0")
    head = etree.SubElement(root, "head")
    etree.SubElement(head, "title").text = site.meta.title
    etree.SubElement(head, "dateModified").text = format_datetime(site.updated, usegmt=True)
    body = etree.SubElement(root, "body")
    groups = [
        ("Everything", [site.feeds["all"]]),
        ("Countries", sorted(site.countries(with_articles=True), key=lambda f: f.name)),
        ("Topics", [f for f in site.topics() if f.articles]),
    ]
    groups = [(label, feeds) for label, feeds in groups if feeds]
    for label, feeds in groups:
        folder = etree.SubElement(body, "outline", text=label, title=label)
        for feed in feeds:
            etree.SubElement(
                folder,
                "outline",
                type="rss",
                text=feed.title,
                title=feed.title,
                xmlUrl=urls.feed(feed.key, fmt),
                htmlUrl=urls(feed.html_path),
                description=feed.description,
                language=site.meta.language,
            )
    if stylesheet:
        _preview(head, site, urls, fmt, groups)
        # escaped as an attribute (as in feeds.render.atom_rss), so no href can end the instruction
        root.addprevious(etree.PI("xml-stylesheet", f'type="text/css" href="{html.escape(stylesheet)}"'))
    return etree.tostring(root.getroottree(), encoding="UTF-8", xml_declaration=True, pretty_print=True)


def _preview(head: etree._Element, site: Site, urls: Urls, fmt: str, groups: list[tuple[str, list[Feed]]]) -> None:
    """The list as a page: how to import it, then each feed's name linked to its page, and its
    address. In ``head``, where readers look for nothing but OPML's own elements."""
    count = sum(len(feeds) for _, feeds in groups)
    what = "Atom" if fmt == "atom" else fmt.upper()
    div = preview.page(head, f"{site.meta.title}: every feed (OPML)")
    top = h(div, "header", class_="feed-head")
    h(top, "p", "OPML subscription list", class_="feed-kind")
    h(top, "h1", f"Import these {count} feed{'' if count == 1 else 's'}")
    h(top, "p", f"Every feed of {site.meta.title} that has articles, in one file.", class_="feed-description")
    box = h(top, "div", class_="feed-subscribe")
    intro = h(box, "p", "Most feed readers subscribe to all of them at once: look for ", class_="feed-intro")
    h(
        intro, "strong", "Import OPML"
    ).tail = " in your reader’s settings and give it this address (or this page, saved as a file):"
    preview.address(box, urls("/feeds.opml"), "OPML")
    preview.about(box)
    preview.links(box, [("All feeds as a web page", urls("/"))])
    main = h(div, "main", class_="feed-entries")
    for label, feeds in groups:
        h(main, "h2", label)
        items = h(main, "ul", class_="feeds")
        for feed in feeds:
            item = h(items, "li")
            name = feed.name if feed.kind != "all" else "All articles"
            h(item, "a", name, href=urls(feed.html_path), class_="feed-name").tail = " "
            articles = len(feed.articles)
            h(item, "span", f"{articles:,} article{'' if articles == 1 else 's'}", class_="feed-count").tail = " · "
            link = h(item, "a", what, href=urls.feed(feed.key, fmt), type=FEED_TYPES[fmt])
            h(link, "span", f" feed of {feed.name}", class_="vh")
            if feed.kind == "topic":  # a country's description is the site's, with the country's name
                h(item, "p", feed.description, class_="entry-summary")
    preview.script(div, urls("/static/copy.js"))
