"""OPML 2.0 subscription list (http://opml.org/spec2.opml) of every feed with articles."""

from __future__ import annotations

from email.utils import format_datetime
from xml.etree import ElementTree as ET

from feeds.pipeline.index import Site
from feeds.render import Urls


def opml(site: Site, urls: Urls, fmt: str = "atom") -> bytes:
    """One outline per non-empty feed, grouped in folders; ``type="rss"`` is OPML's word for any feed."""
    root = ET.Element("opml", version="2.0")
    head = ET.SubElement(root, "head")
    ET.SubElement(head, "title").text = site.meta.title
    ET.SubElement(head, "dateModified").text = format_datetime(site.updated, usegmt=True)
    body = ET.SubElement(root, "body")
    groups = [
        ("Everything", [site.feeds["all"]]),
        ("Countries", sorted(site.countries(with_articles=True), key=lambda f: f.name)),
        ("Topics", [f for f in site.topics() if f.articles]),
    ]
    for label, feeds in groups:
        if not feeds:
            continue
        folder = ET.SubElement(body, "outline", text=label, title=label)
        for feed in feeds:
            ET.SubElement(
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
    ET.indent(root)
    return (
        b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="utf-8", xml_declaration=False) + b"\n"
    )
