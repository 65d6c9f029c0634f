"""Every published feed against the feed standards, as the W3C Feed Validation Service reads them.

The feeds come from the site's own list of documents (:meth:`feeds.render.documents.Publisher.paths`
of the publisher behind the app): every feed document that has entries (subscription feeds
and RFC 5005 archive pages) and a fixed sample of the empty country feeds, each in Atom, RSS
and JSON Feed. Each document must draw no error and no warning from :mod:`tests.feedcheck`,
parse cleanly in feedparser, carry the right Content-Type, list its entries newest first, and
agree with its two sibling formats entry by entry.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime

import feedparser
import pytest
from lxml import etree

from . import feedcheck
from .feedcheck import ATOM_NS

BASE = "http://localhost"  # what the Flask test client sends as Host
FORMATS = ("atom", "rss", "json")
CONTENT_TYPES = {
    "atom": "application/atom+xml; charset=utf-8",
    "rss": "application/rss+xml; charset=utf-8",
    "json": "application/feed+json; charset=utf-8",
    "opml": "text/x-opml; charset=utf-8",
}
EMPTY_SAMPLE = 6


@dataclass(frozen=True)
class Served:
    stem: str  # "/feeds/all", "/feeds/archive/all/1": the path without its format
    fmt: str
    path: str  # with the query, if any
    content_type: str
    body: bytes

    @property
    def url(self) -> str:
        return BASE + self.path


@dataclass(frozen=True)
class Entry:
    id: str
    title: str
    link: str
    published: datetime


def publisher(app):
    return app.extensions["feeds"].publisher(BASE)


def expected_ids(app, stem: str) -> list[str]:
    """The ids the site means to publish at ``stem``, newest first."""
    pub = publisher(app)
    rest = stem[len("/feeds/") :]
    if rest.startswith("archive/"):
        key, _, number = rest[len("archive/") :].rpartition("/")
        return [a.id for a in pub.archive_entries(pub.site.feeds[key], int(number))]
    return [a.id for a in pub.feed_page(pub.site.feeds[rest], "atom").entries]


def feed_stems(app) -> list[str]:
    """Every feed document with entries, then a fixed sample of empty country feeds."""
    stems = [p.rpartition(".")[0] for p in publisher(app).paths() if p.startswith("/feeds/") and p.endswith(".atom")]
    full = [s for s in stems if expected_ids(app, s)]
    empty = sorted(s for s in stems if s.startswith("/feeds/countries/") and not expected_ids(app, s))
    return full + random.Random(4287).sample(empty, min(EMPTY_SAMPLE, len(empty)))


def fetch(client, stem: str, fmt: str, query: str = "") -> Served:
    path = f"{stem}.{fmt}{query}"
    response = client.get(path)
    assert response.status_code == 200, f"{path}: HTTP {response.status_code}"
    return Served(stem, fmt, path, response.headers["Content-Type"], response.data)


@pytest.fixture
def served(app, client) -> dict[tuple[str, str], Served]:
    """Every sampled feed in every format, as the service sends it."""
    return {(stem, fmt): fetch(client, stem, fmt) for stem in feed_stems(app) for fmt in FORMATS}


def entries(doc: Served) -> list[Entry]:
    """The entries of a document, read straight from its markup, in document order."""
    if doc.fmt == "json":
        items = json.loads(doc.body)["items"]
        return [
            Entry(i["id"], i["title"], i["url"], datetime.fromisoformat(i["date_published"].replace("Z", "+00:00")))
            for i in items
        ]
    root = etree.fromstring(doc.body)
    if doc.fmt == "atom":
        a = f"{{{ATOM_NS}}}"
        return [
            Entry(
                e.findtext(f"{a}id"),
                e.findtext(f"{a}title"),
                e.find(f"{a}link").get("href"),
                datetime.fromisoformat(e.findtext(f"{a}published").replace("Z", "+00:00")),
            )
            for e in root.iter(f"{a}entry")
        ]
    return [
        Entry(i.findtext("guid"), i.findtext("title"), i.findtext("link"), parsedate_to_datetime(i.findtext("pubDate")))
        for i in root.iter("item")
    ]


def problems_of(doc: Served) -> str:
    """Every problem feedcheck finds in a served document, one a line."""
    return feedcheck.format_problems(
        feedcheck.check(doc.body, doc.fmt, location=doc.url, content_type=doc.content_type)
    )


def disagreements(docs: dict[str, Served], expected: list[str]) -> list[str]:
    """How the three formats of one feed differ from the site's ids, from newest first, or from each other."""
    found = []
    listed = {fmt: entries(doc) for fmt, doc in docs.items()}
    for fmt, items in listed.items():
        if [e.id for e in items] != expected:
            found.append(f"{fmt}: ids or their order differ from the site's")
        dates = [e.published for e in items]
        if dates != sorted(dates, reverse=True):
            found.append(f"{fmt}: entries are not newest first")
    if not listed["atom"] == listed["rss"] == listed["json"]:
        found.append("the formats disagree on ids, titles, links or dates")
    return found


# -- the sample itself -------------------------------------------------------------------


def test_sample_covers_every_feed_with_articles_and_some_empty_ones(app):
    site = publisher(app).site
    stems = feed_stems(app)
    assert "/feeds/all" in stems
    assert any(s.startswith("/feeds/countries/") and expected_ids(app, s) for s in stems)
    assert any(s.startswith("/feeds/topics/") and expected_ids(app, s) for s in stems)
    assert sum(not expected_ids(app, s) for s in stems) == EMPTY_SAMPLE
    assert {f"/feeds/{k}" for k, f in site.feeds.items() if f.articles} <= set(stems)


# -- conformance -------------------------------------------------------------------------


def test_every_feed_draws_no_error_and_no_warning(served, subtests):
    for doc in served.values():
        with subtests.test(path=doc.path):
            assert not problems_of(doc), f"{doc.path}:\n{problems_of(doc)}"


def test_opml_conforms_and_lists_exactly_the_feeds_with_articles(app, client):
    response = client.get("/feeds.opml")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == CONTENT_TYPES["opml"]
    problems = feedcheck.check(response.data, "opml", content_type=response.headers["Content-Type"])
    assert not problems, feedcheck.format_problems(problems)
    listed = [o.get("xmlUrl") for o in etree.fromstring(response.data).iter("outline") if o.get("type") == "rss"]
    site = publisher(app).site
    expected = {f"{BASE}/feeds/{key}.atom" for key, feed in site.feeds.items() if feed.articles}
    assert len(listed) == len(set(listed)), "a feed is listed twice"
    assert set(listed) == expected


def test_every_feed_has_its_exact_content_type(served):
    wrong = {doc.path: doc.content_type for doc in served.values() if doc.content_type != CONTENT_TYPES[doc.fmt]}
    assert not wrong


def test_feedparser_reads_every_feed_cleanly_with_complete_entries(app, served, subtests):
    for (stem, fmt), doc in served.items():
        if fmt == "json":
            continue  # feedparser 6.0 does not read JSON Feed; see the JSON test below
        with subtests.test(path=doc.path):
            parsed = feedparser.parse(doc.body)
            assert parsed.bozo == 0, f"{doc.path}: {parsed.get('bozo_exception')!r}"
            assert parsed.version == ("atom10" if fmt == "atom" else "rss20")
            assert len(parsed.entries) == len(expected_ids(app, stem))
            for n, entry in enumerate(parsed.entries):
                missing = [f for f in ("title", "link", "id") if not entry.get(f)]
                if not (entry.get("published_parsed") or entry.get("updated_parsed")):
                    missing.append("date")
                assert not missing, f"{doc.path} entry {n}: no {', '.join(missing)}"


def test_every_json_item_has_title_url_id_and_date(served):
    for (_, fmt), doc in served.items():
        if fmt != "json":
            continue
        for n, item in enumerate(json.loads(doc.body)["items"]):
            missing = [k for k in ("title", "url", "id", "date_published") if not item.get(k)]
            assert not missing, f"{doc.path} item {n}: no {', '.join(missing)}"


# -- the three formats of a feed ---------------------------------------------------------


def test_entries_are_newest_first_and_the_same_in_every_format(app, served, subtests):
    for stem in dict.fromkeys(s for s, _ in served):
        with subtests.test(feed=stem):
            docs = {fmt: served[stem, fmt] for fmt in FORMATS}
            assert not disagreements(docs, expected_ids(app, stem))


def test_a_feed_never_repeats_an_id(served):
    for doc in served.values():
        ids = [e.id for e in entries(doc)]
        assert len(ids) == len(set(ids)), doc.path


# -- archive pages and filtered feeds ----------------------------------------------------


def test_archive_pages_and_filtered_feeds_conform_too(data_dir, subtests):
    """A short entry limit splits the feeds into RFC 5005 archive pages; queries narrow a feed."""
    from feeds.serve.app import create_app

    app = create_app({"DATA_DIR": str(data_dir), "TESTING": True, "RELOAD_INTERVAL": 0, "ENTRY_LIMIT": 3})
    client = app.test_client()
    stems = [s for s in feed_stems(app) if expected_ids(app, s)]
    assert any(s.startswith("/feeds/archive/") for s in stems), "expected archive pages with a limit of 3"
    for stem in stems:
        with subtests.test(feed=stem):
            docs = {fmt: fetch(client, stem, fmt) for fmt in FORMATS}
            for doc in docs.values():
                assert not problems_of(doc), f"{doc.path}:\n{problems_of(doc)}"
            assert not disagreements(docs, expected_ids(app, stem))
    for query in ("?country=fr", "?limit=2&q=strike", "?topic=strikes"):
        for fmt in FORMATS:
            with subtests.test(path=f"/feeds/all.{fmt}{query}"):
                doc = fetch(client, "/feeds/all", fmt, query)
                assert entries(doc), f"{doc.path} selects nothing"
                assert not problems_of(doc), f"{doc.path}:\n{problems_of(doc)}"


# -- what editors write ------------------------------------------------------------------
#
# The shipped listing has no metadata lines. These tests add articles with every kind of
# ``@`` line, or edit the listing, and hold the feeds to the same rules.

METADATA = """\
France: Dockers Strike in Le Havre
@date: 2023-03-17 09:30 CET
@link: https://example.org/le-havre?from=feeds&lang=en
@author: Jane Doe

Dockers in Le Havre struck against the pension reform; R&D staff joined them.

Spain: Nurses Protest in Madrid
@date: 16 March 2023 18:00 UTC
@id: tag:example.org,2023:nurses
@author: José Martínez

Nurses protested in Madrid for better pay and staffing.

"""


def app_with(data_dir, prefix: str = ""):
    """The app on ``data_dir`` after ``prefix`` is written at the top of the listing."""
    from feeds.serve.app import create_app

    listing = data_dir / "articles.txt"
    listing.write_text(prefix + listing.read_text("utf-8"), "utf-8")
    return create_app({"DATA_DIR": str(data_dir), "TESTING": True, "RELOAD_INTERVAL": 0})


def all_problems(app, fmts: tuple[str, ...] = FORMATS) -> dict[str, str]:
    """feedcheck's findings on every feed document with entries, by path."""
    client = app.test_client()
    found = {}
    for stem in feed_stems(app):
        for fmt in fmts:
            doc = fetch(client, stem, fmt)
            if problems_of(doc):
                found[doc.path] = problems_of(doc)
    return found


def test_feeds_conform_with_every_kind_of_metadata(data_dir):
    app = app_with(data_dir, METADATA)
    assert not [str(d) for d in app.extensions["feeds"].problems if d.is_error]
    assert not all_problems(app)
    client = app.test_client()
    atom = client.get("/feeds/countries/france.atom").data.decode()
    assert "<name>Jane Doe</name>" in atom
    # RSS names an author in dc:creator, declared on the root of every feed with such an entry
    for path in ("/feeds/countries/france.rss", "/feeds/all.rss"):
        parsed = feedparser.parse(client.get(path).data)
        assert not parsed.bozo, (path, parsed.bozo_exception)
        assert "Jane Doe" in [e.get("author") for e in parsed.entries], path
    assert 'href="https://example.org/le-havre?from=feeds&amp;lang=en"' in atom
    spain = json.loads(client.get("/feeds/countries/spain.json").data)
    nurses = next(i for i in spain["items"] if i["id"] == "tag:example.org,2023:nurses")
    assert nurses["authors"] == [{"name": "José Martínez"}]
    assert nurses["date_published"] == "2023-03-16T18:00:00Z"


def test_atom_and_rss_documents_are_exactly_what_lxml_writes_for_their_tree(data_dir):
    """What the feedgen extension adds (``feeds/render/atom_rss.py``) is part of the tree feedgen
    writes: each document is byte for byte the pretty-printed serialisation of its own tree."""
    app = app_with(data_dir, METADATA)
    client = app.test_client()
    parser = etree.XMLParser(remove_blank_text=True)
    checked = 0
    for stem in feed_stems(app):
        for fmt in ("atom", "rss"):
            body = client.get(f"{stem}.{fmt}").data
            tree = etree.fromstring(body, parser).getroottree()
            again = etree.tostring(tree, pretty_print=True, xml_declaration=True, encoding="UTF-8")
            assert body == again, f"{stem}.{fmt}"
            checked += 1
    assert checked > 20


@pytest.mark.parametrize("href", ['https://example.org/a"b.css', "https://example.org/x?>y&z<w.css"])
def test_a_stylesheet_address_with_quotes_or_pi_ends_stays_inside_its_attribute(app, href):
    import dataclasses
    import html

    from feeds.render.atom_rss import atom, rss

    site_publisher = publisher(app)
    page = site_publisher.feed_page(site_publisher.site.feeds["all"], "atom")
    for fmt, render in (("atom", atom), ("rss", rss)):
        body = render(dataclasses.replace(page, fmt=fmt, stylesheet=href), site_publisher.names)
        root = etree.fromstring(body)
        (pi,) = [node for node in root.itersiblings(preceding=True) if isinstance(node, etree._ProcessingInstruction)]
        assert pi.target == "xml-stylesheet" and pi.get("type") == "text/css"
        assert html.unescape(pi.get("href")) == href
        parsed = feedparser.parse(body)
        assert not parsed.bozo and len(parsed.entries) == len(page.entries)


def test_a_link_with_accents_reaches_rss_as_a_url(data_dir):
    listing = "France: Strike at the Port\n@link: https://example.org/grève/le-havre\n\nDockers struck.\n\n"
    app = app_with(data_dir, listing)
    assert not all_problems(app, ("rss",))


def test_articles_dated_the_same_day_get_distinct_updated_dates(data_dir):
    listing = (
        "France: Dockers Strike\n@date: 2023-03-17\n\nDockers struck.\n\n"
        "France: Rail Workers Strike\n@date: 2023-03-17\n\nRail workers struck.\n\n"
    )
    app = app_with(data_dir, listing)
    assert not all_problems(app, ("atom",))


def test_two_articles_edited_at_once_keep_distinct_updated_dates(data_dir):
    app = app_with(data_dir)
    assert not all_problems(app, ("atom",))
    listing = data_dir / "articles.txt"
    paragraphs = listing.read_text("utf-8").split("\n\n")
    paragraphs[1] += " (corrected)"
    paragraphs[3] += " (corrected)"
    listing.write_text("\n\n".join(paragraphs), "utf-8")
    assert app.extensions["feeds"].reload(), "the edited listing was not loaded"
    assert not all_problems(app, ("atom",))


# -- the checker itself ------------------------------------------------------------------

VALID = {
    "atom": """<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="en">
  <id>tag:news.example.org,2023-03-20:feed/all</id>
  <title>News</title>
  <updated>2023-03-20T12:00:00Z</updated>
  <author><name>Editors</name></author>
  <link href="https://news.example.org/feeds/all.atom" rel="self" type="application/atom+xml"/>
  <link href="https://news.example.org/" rel="alternate" type="text/html"/>
  <entry>
    <id>tag:news.example.org,2023-03-20:article/one</id>
    <title>One</title>
    <updated>2023-03-20T12:00:00Z</updated>
    <published>2023-03-20T12:00:00Z</published>
    <link href="https://news.example.org/articles/one"/>
    <summary>First</summary>
  </entry>
  <entry>
    <id>tag:news.example.org,2023-03-19:article/two</id>
    <title>Two</title>
    <updated>2023-03-19T12:00:00+01:00</updated>
    <link href="https://news.example.org/articles/two"/>
    <summary>Second</summary>
  </entry>
  <div xmlns="http://www.w3.org/1999/xhtml"><p>A feed: <a href="https://news.example.org/">subscribe</a></p></div>
</feed>
""",
    "rss": """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom">
  <channel>
    <title>News</title>
    <link>https://news.example.org/</link>
    <description>All the news</description>
    <atom:link href="https://news.example.org/feeds/all.rss" rel="self" type="application/rss+xml"/>
    <language>en</language>
    <ttl>5</ttl>
    <lastBuildDate>Mon, 20 Mar 2023 12:00:00 GMT</lastBuildDate>
    <h:div xmlns:h="http://www.w3.org/1999/xhtml"><h:p>A feed</h:p></h:div>
    <item>
      <title>One</title>
      <link>https://news.example.org/articles/one</link>
      <guid isPermaLink="false">tag:news.example.org,2023-03-20:article/one</guid>
      <pubDate>Mon, 20 Mar 2023 12:00:00 +0000</pubDate>
    </item>
    <item>
      <title>Two</title>
      <link>https://news.example.org/articles/two</link>
      <guid>https://news.example.org/articles/two</guid>
      <pubDate>Sun, 19 Mar 2023 12:00:00 GMT</pubDate>
    </item>
  </channel>
</rss>
""",
    "json": """{
 "version": "https://jsonfeed.org/version/1.1",
 "title": "News",
 "home_page_url": "https://news.example.org/",
 "feed_url": "https://news.example.org/feeds/all.json",
 "authors": [{"name": "Editors"}],
 "items": [
  {"id": "tag:news.example.org,2023-03-20:article/one", "url": "https://news.example.org/articles/one",
   "title": "One", "content_text": "First", "date_published": "2023-03-20T12:00:00Z", "tags": ["France"]},
  {"id": "tag:news.example.org,2023-03-19:article/two", "url": "https://news.example.org/articles/two",
   "title": "Two", "content_text": "Second", "date_published": "2023-03-19T12:00:00Z"}
 ]
}
""",
    "opml": """<?xml version="1.0" encoding="UTF-8"?>
<opml version="2.0">
  <head><title>News</title><dateModified>Mon, 20 Mar 2023 12:00:00 GMT</dateModified></head>
  <body>
    <outline text="Everything" title="Everything">
      <outline type="rss" text="News" title="News" xmlUrl="https://news.example.org/feeds/all.atom"/>
    </outline>
  </body>
</opml>
""",
}

# (kind, text to replace, replacement, level of the expected problem, fragment of its message)
BROKEN = [
    ("atom", "<id>tag:news.example.org,2023-03-20:article/one</id>", "", "error", "exactly one id"),
    ("atom", "<id>tag:news.example.org,2023-03-20:feed/all</id>", "", "error", "exactly one id"),
    ("atom", "2023-03-19:article/two</id>", "2023-03-20:article/one</id>", "error", "also used by"),
    ("atom", "<id>tag:news.example.org,2023-03-20:feed/all", "<id>feed/all", "error", "relative reference"),
    (
        "atom",
        "<id>tag:news.example.org,2023-03-20:feed",
        "<id>tag:News.example.org,2023-03-20:feed",
        "error",
        "tag URI",
    ),
    ("atom", "<id>tag:news.example.org,2023-03-20:feed/all", "<id>http://News.example.org:80", "warning", "canonical"),
    ("atom", "<updated>2023-03-20T12:00:00Z</updated>\n  <author>", "<author>", "error", "exactly one updated"),
    ("atom", "<updated>2023-03-20T12:00:00Z</updated>", "<updated>2023-03-20 12:00:00</updated>", "error", "RFC 3339"),
    ("atom", "<published>2023-03-20T12:00:00Z", "<published>2023-03-20t12:00:00z", "error", "upper case"),
    ("atom", "<published>2023-03-20T12:00:00Z", "<published>2023-02-30T12:00:00Z", "error", "not a real date"),
    ("atom", "<published>2023-03-20T12:00:00Z", "<published>2999-01-01T00:00:00Z", "warning", "implausible"),
    ("atom", "<updated>2023-03-19T12:00:00+01:00", "<updated>2023-03-20T12:00:00Z", "warning", "DuplicateUpdated"),
    ("atom", 'href="https://news.example.org/articles/one"', 'href="/articles/one"', "warning", "relative reference"),
    ("atom", 'rel="self" type="application/atom+xml"', 'rel="related" type="application/atom+xml"', "warning", "self"),
    ("atom", 'rel="self" type="application/atom+xml"', 'rel="self" type="text/xml"', "warning", "self link type"),
    ("atom", "<author><name>Editors</name></author>", "", "error", "needs an author"),
    ("atom", "<name>Editors</name>", "<name> </name>", "error", "name must not be blank"),
    ("atom", "<title>One</title>", "<title>One</title><title>Uno</title>", "error", "exactly one title"),
    ("atom", "<title>One</title>", "<title><b>One</b></title>", "error", "no child elements"),
    ("atom", "<title>One</title>", "<title>&lt;b&gt;One&lt;/b&gt;</title>", "warning", "looks like HTML"),
    ("atom", '<link href="https://news.example.org/articles/one"/>', "", "error", "rel=alternate link"),
    (
        "atom",
        'type="text/html"/>',
        'type="text/html"/><link href="https://x.example/" type="text/html"/>',
        "error",
        "second alternate",
    ),
    (
        "atom",
        "<summary>First</summary>",
        '<summary>First</summary><category scheme="https://x.example/"/>',
        "error",
        "term",
    ),
    (
        "atom",
        "<title>News</title>",
        "<title>News</title><subtitle>a</subtitle><subtitle>b</subtitle>",
        "error",
        "subtitle",
    ),
    (
        "atom",
        '<feed xmlns="http://www.w3.org/2005/Atom"',
        '<feed xmlns="http://purl.org/atom/ns#"',
        "error",
        "namespace",
    ),
    (
        "atom",
        "</div>\n</feed>",
        "</div>\n<link href='https://x.example/' rel='related'/></feed>",
        "error",
        "before the first",
    ),
    ("atom", "<title>News</title>", "<title>News\x01</title>", "error", "not allowed in XML"),
    ("atom", "<title>News</title>", "<title>News &#1;</title>", "error", "forbids"),
    ("atom", "</feed>", "", "error", "well-formed"),
    (
        "atom",
        "<summary>First</summary>",
        '<summary>First</summary><p xmlns="http://www.w3.org/1999/xhtml"/>',
        "error",
        "xhtml:p",
    ),
    ("rss", "</guid>\n      <pubDate>Sun", "</guid><guid>x</guid>\n      <pubDate>Sun", "error", "at most one guid"),
    (
        "rss",
        "<guid>https://news.example.org/articles/two</guid>",
        '<guid isPermaLink="false">tag:news.example.org,2023-03-20:article/one</guid>',
        "error",
        "also used by",
    ),
    ("rss", '<guid isPermaLink="false">', "<guid>", "error", 'isPermaLink="false"'),
    ("rss", "<guid>https://news.example.org/articles/two</guid>", "", "warning", "should have a guid"),
    ("rss", "<pubDate>Mon, 20 Mar 2023 12:00:00 +0000", "<pubDate>Monday, 20 March 2023 12:00", "error", "RFC 822"),
    ("rss", "<pubDate>Mon, 20 Mar 2023 12:00:00 +0000", "<pubDate>Mo, 20 Mär 2023 12:00:00 +0000", "error", "RFC 822"),
    ("rss", "<pubDate>Mon, 20 Mar 2023", "<pubDate>Tue, 20 Mar 2023", "error", "is a Mon"),
    (
        "rss",
        "<pubDate>Mon, 20 Mar 2023 12:00:00 +0000",
        "<pubDate>Mon, 20 Mar 23 12:00:00 +0000",
        "warning",
        "four-digit",
    ),
    ("rss", "<pubDate>Mon, 20 Mar 2023 12:00:00 +0000", "<pubDate>Mon, 20 Mar 2023 12:00:00 EST", "warning", "GMT"),
    ("rss", "<pubDate>Mon, 20 Mar 2023 12:00:00 +0000", "<pubDate>Mon, 20 Mar 2023 12:00:00 CET", "error", "zone"),
    ("rss", "<link>https://news.example.org/articles/one</link>", "<link>/articles/one</link>", "error", "relative"),
    ("rss", "<link>https://news.example.org/</link>", "<link>ftp://news.example.org/</link>", "error", "http"),
    (
        "rss",
        "<link>https://news.example.org/articles/one</link>",
        "<link>https://news.example.org/grève</link>",
        "error",
        "IRI",
    ),
    (
        "rss",
        "<title>One</title>\n      <link>https://news.example.org/articles/one</link>",
        "",
        "error",
        "title or a description",
    ),
    ("rss", "<title>One</title>", "<title>&lt;b&gt;One&lt;/b&gt;</title>", "warning", "contains HTML"),
    ("rss", "<description>All the news</description>", "", "error", "exactly one description"),
    (
        "rss",
        '<atom:link href="https://news.example.org/feeds/all.rss" rel="self" type="application/rss+xml"/>',
        "",
        "warning",
        "self",
    ),
    (
        "rss",
        'rel="self" type="application/rss+xml"',
        'rel="self" type="application/atom+xml"',
        "warning",
        "self link type",
    ),
    ("rss", "<title>Two</title>", "<title>Two</title><atom:id>tag:x,2023:y</atom:id>", "error", "no place"),
    ("rss", "<ttl>5</ttl>", "<ttl>-5</ttl>", "error", "ttl"),
    ("rss", "<language>en</language>", "<language>english</language>", "error", "language"),
    ("rss", "<title>Two</title>", "<title>Two</title><author>Jo</author>", "error", "e-mail"),
    (
        "rss",
        "<title>Two</title>",
        '<title>Two</title><enclosure url="https://x.example/a.mp3" length="1" type="audio/mpeg"/>'
        '<enclosure url="https://x.example/b.mp3" length="1" type="audio/mpeg"/>',
        "warning",
        "enclosure",
    ),
    ("rss", '<rss version="2.0"', '<rss version="0.91"', "error", "version"),
    ("rss", "<ttl>5</ttl>", '<ttl>5</ttl><h:p xmlns:h="http://www.w3.org/1999/xhtml">Hi</h:p>', "error", "xhtml:p"),
    ("rss", "<language>en</language>", "<language>en</language><pubDate>x</pubDate>", "error", "RFC 822"),
    ("json", '"id": "tag:news.example.org,2023-03-20:article/one", ', "", "error", "id is required"),
    (
        "json",
        '"id": "tag:news.example.org,2023-03-19:article/two"',
        '"id": "tag:news.example.org,2023-03-20:article/one"',
        "error",
        "also used by",
    ),
    ("json", '"id": "tag:news.example.org,2023-03-20:article/one"', '"id": 1', "error", "must be a string"),
    ("json", '"content_text": "First", ', "", "error", "content_html or content_text"),
    ("json", '"date_published": "2023-03-20T12:00:00Z"', '"date_published": "20 March 2023"', "error", "RFC 3339"),
    ("json", '"tags": ["France"]', '"tags": "France"', "error", "tags"),
    (
        "json",
        '"feed_url": "https://news.example.org/feeds/all.json"',
        '"feed_url": "/feeds/all.json"',
        "error",
        "relative",
    ),
    ("json", '"version": "https://jsonfeed.org/version/1.1"', '"version": "1.1"', "error", "version"),
    ("json", '"authors": [{"name": "Editors"}]', '"authors": [{"url": "https://x.example/"}]', "error", "name"),
    ("json", '"title": "Two"', '"title": "Two", "date_publish": "2023-03-19T12:00:00Z"', "warning", "unknown key"),
    ("json", '"title": "News",', '"title": "News",,', "error", "not JSON"),
    ("opml", 'text="News" ', "", "error", "text attribute"),
    ("opml", 'xmlUrl="https://news.example.org/feeds/all.atom"', "", "error", "xmlUrl"),
    ("opml", 'type="rss" ', "", "warning", 'type="rss"'),
    ("opml", 'xmlUrl="https://news.example.org/feeds/all.atom"', 'xmlUrl="feeds/all.atom"', "error", "relative"),
    ("opml", '<opml version="2.0">', '<opml version="3.0">', "error", "version"),
    ("opml", "<dateModified>Mon, 20 Mar 2023", "<dateModified>2023-03-20", "error", "RFC 822"),
    ("opml", "<head>", "<head><title>Again</title>", "error", "at most one title"),
]


@pytest.mark.parametrize("kind", list(VALID))
def test_checker_passes_a_valid_document(kind):
    problems = feedcheck.check(VALID[kind].encode("utf-8"), kind)
    assert not problems, feedcheck.format_problems(problems)


@pytest.mark.parametrize(
    ("kind", "old", "new", "level", "fragment"), BROKEN, ids=[f"{c[0]}-{n}-{c[4]}" for n, c in enumerate(BROKEN)]
)
def test_checker_catches_a_broken_document(kind, old, new, level, fragment):
    assert old in VALID[kind], "the case no longer matches the valid document"
    document = VALID[kind].replace(old, new, 1).encode("utf-8")
    problems = feedcheck.check(document, kind)
    assert any(p.level == level and fragment in p.message for p in problems), feedcheck.format_problems(problems)


def test_checker_catches_defects_planted_in_served_feeds(client):
    """The same rules on the real documents: remove an id, repeat a guid, relativise a link."""
    a = f"{{{ATOM_NS}}}"
    atom = etree.fromstring(client.get("/feeds/all.atom").data)
    entry = atom.find(f"{a}entry")
    entry.remove(entry.find(f"{a}id"))
    entry.find(f"{a}link").set("href", "/articles/relative")
    problems = feedcheck.check(etree.tostring(atom, xml_declaration=True, encoding="UTF-8"), "atom")
    assert any("exactly one id" in p.message for p in problems), feedcheck.format_problems(problems)
    assert any("relative reference" in p.message for p in problems), feedcheck.format_problems(problems)

    rss = etree.fromstring(client.get("/feeds/all.rss").data)
    items = rss.findall("channel/item")
    assert len(items) >= 2
    items[1].find("guid").text = items[0].find("guid").text
    items[1].find("pubDate").text = "Mon, 32 Mar 2023 12:00:00 +0000"
    problems = feedcheck.check(etree.tostring(rss, xml_declaration=True, encoding="UTF-8"), "rss")
    assert any("also used by" in p.message for p in problems), feedcheck.format_problems(problems)
    assert any("not a real date" in p.message for p in problems), feedcheck.format_problems(problems)

    doc = json.loads(client.get("/feeds/all.json").data)
    del doc["items"][0]["id"]
    problems = feedcheck.check(json.dumps(doc).encode(), "json")
    assert any("id is required" in p.message for p in problems), feedcheck.format_problems(problems)
