"""The human-facing side without a browser: HTML pages, and feeds as a browser receives them."""

from __future__ import annotations

import dataclasses
import xml.etree.ElementTree as ET
from datetime import UTC
from urllib.parse import urlsplit

import feedparser
import html5lib
import pytest

from feeds.render.atom_rss import atom, rss
from feeds.render.documents import Publisher
from feeds.serve.app import create_app
from feeds.serve.http import is_browser_navigation

from . import feedcheck

HTML = "text/html; charset=utf-8"
XML = "application/xml; charset=utf-8"
TYPES = {"atom": "application/atom+xml; charset=utf-8", "rss": "application/rss+xml; charset=utf-8"}
XHTML = "http://www.w3.org/1999/xhtml"
EMPTY_COUNTRIES = ("iceland", "uruguay", "mongolia")
# What browsers send when a person opens a URL, and what feed readers send.
CHROME = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8"
FIREFOX = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
SIMPLEPIE = (
    "application/atom+xml, application/rss+xml, application/rdf+xml;q=0.9, application/xml;q=0.8, "
    "text/xml;q=0.8, text/html;q=0.7, unknown/unknown;q=0.1, application/unknown;q=0.1, */*;q=0.1"
)
READER = "application/rss+xml, application/atom+xml, application/xml;q=0.9, */*;q=0.8"


def _site(app):
    return app.extensions["feeds"].version.loaded.site


def html_paths(app) -> list[str]:
    """Every HTML page of the shipped data, a few empty feeds' pages, and a 404."""
    site = _site(app)
    paths = ["/"]
    paths += [f.html_path for f in site.feeds.values() if f.kind != "all" and f.articles]
    paths += [f"/countries/{slug}" for slug in EMPTY_COUNTRIES]
    paths += [f.html_path for f in site.topics() if not f.articles][:3]
    paths += [f"/articles/{a.slug}" for a in site.articles]
    return paths + ["/no/such/page"]


def parse_html(data: bytes):
    parser = html5lib.HTMLParser(tree=html5lib.getTreeBuilder("etree", ET), namespaceHTMLElements=False)
    document = parser.parse(data)
    return document, [f"line {line} col {col}: {code} {info}" for (line, col), code, info in parser.errors]


def test_the_data_has_what_the_page_tests_need(app):
    site = _site(app)
    assert len(site.articles) >= 10
    assert all(not site.feeds[f"countries/{slug}"].articles for slug in EMPTY_COUNTRIES)
    assert any(f.kind == "country" and f.articles for f in site.feeds.values())


def test_every_page_is_valid_html_with_title_lang_and_viewport(app, client, subtests):
    for path in html_paths(app):
        with subtests.test(path=path):
            response = client.get(path)
            assert response.status_code == (404 if path == "/no/such/page" else 200)
            assert response.headers["Content-Type"] == HTML
            assert response.data.startswith(b"<!doctype html>")
            document, errors = parse_html(response.data)
            assert not errors, "\n".join(errors)
            assert document.get("lang") == "en"
            title = document.find("head/title")
            assert title is not None and title.text and title.text.strip()
            viewports = [m for m in document.iter("meta") if m.get("name") == "viewport"]
            assert [m.get("content") for m in viewports] == ["width=device-width, initial-scale=1"]
            assert document.find("head/meta[@charset]") is not None
            # landmarks and one top-level heading
            body = document.find("body")
            assert body.find("header") is not None and body.find("main") is not None
            assert body.find("footer") is not None
            assert len(list(body.iter("h1"))) == 1


def test_pages_obey_their_content_security_policy(app, client, subtests):
    """default-src 'self': no inline script, no style element or attribute, nothing external."""
    for path in html_paths(app):
        with subtests.test(path=path):
            response = client.get(path)
            if response.status_code == 200:
                assert response.headers["Content-Security-Policy"] == "default-src 'self'"
            document, _ = parse_html(response.data)
            assert not list(document.iter("style"))
            for script in document.iter("script"):
                assert script.get("src") and not (script.text or "").strip()
                assert urlsplit(script.get("src")).netloc == "localhost"
            for link in document.iter("link"):
                assert urlsplit(link.get("href")).netloc == "localhost", link.get("href")
            for element in document.iter():
                assert "style" not in element.attrib, element.tag
                assert not [a for a in element.attrib if a.lower().startswith("on")], element.tag


def test_every_link_on_every_page_works(app, client):
    checked: dict[str, int] = {}
    for path in html_paths(app):
        document, _ = parse_html(client.get(path).data)
        for element in document.iter():
            href = element.get("href") or element.get("src") or element.get("data-url")
            if not href or element.get("rel") == "external":
                continue
            if href.startswith("#"):
                assert document.find(f".//*[@id='{href[1:]}']") is not None, (path, href)
                continue
            parts = urlsplit(href)
            assert parts.scheme == "http" and parts.netloc == "localhost", (path, href)
            if parts.path not in checked:
                checked[parts.path] = client.get(parts.path).status_code
            assert checked[parts.path] == 200, (path, href)
    assert {"/static/style.css", "/static/copy.js", "/favicon.ico"} <= set(checked)


def test_index_lists_every_feed_with_its_formats_and_copy_button(app, client):
    site = _site(app)
    document, _ = parse_html(client.get("/").data)
    hrefs = [a.get("href") for a in document.iter("a")]
    copies = [b.get("data-url") for b in document.iter("button") if "copy" in b.get("class", "").split()]
    listed = [site.feeds["all"]] + site.countries(with_articles=True) + site.topics()
    for feed in listed:
        for fmt in ("atom", "rss", "json"):
            assert f"http://localhost/feeds/{feed.key}.{fmt}" in hrefs, feed.key
        assert f"http://localhost/feeds/{feed.key}.atom" in copies, feed.key
        if feed.kind != "all":
            assert f"http://localhost{feed.html_path}" in hrefs
    for button in document.iter("button"):
        assert button.get("type") == "button" and "hidden" in button.attrib  # shown by copy.js
    assert "http://localhost/feeds.opml" in hrefs
    links = [link for link in document.iter("link") if link.get("rel") == "alternate"]
    alternates = [(link.get("type"), link.get("href")) for link in links]
    assert alternates == [
        ("application/atom+xml", "http://localhost/feeds/all.atom"),
        ("application/rss+xml", "http://localhost/feeds/all.rss"),
        ("application/feed+json", "http://localhost/feeds/all.json"),
    ]
    rows = {row.find("th/a").text: row for row in document.iter("tr") if row.find("th/a") is not None}
    for feed in site.countries(with_articles=True):
        cells = rows[feed.name].findall("td")
        assert cells[0].text == str(len(feed.articles))
        assert cells[1].find("time").get("datetime") == feed.newest.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    headings = [h.text for h in document.iter("h2")]
    assert headings[:3] == ["Everything", "Countries", "Topics"]


def test_index_weighs_under_50_kb_with_everything_it_loads(client):
    page = client.get("/")
    document, _ = parse_html(page.data)
    loaded = [link.get("href") for link in document.iter("link") if link.get("rel") in ("stylesheet", "icon")]
    loaded += [script.get("src") for script in document.iter("script")]
    assert len(loaded) == 3
    total = len(page.data) + sum(len(client.get(urlsplit(url).path).data) for url in loaded)
    assert total < 50_000, total


def test_article_pages_link_their_tags_pages_and_feeds(app, client, subtests):
    site = _site(app)
    for article in site.articles:
        with subtests.test(article=article.slug):
            document, _ = parse_html(client.get(f"/articles/{article.slug}").data)
            hrefs = [a.get("href") for a in document.iter("a")]
            alternates = [link.get("href") for link in document.iter("link") if link.get("rel") == "alternate"]
            assert document.find(".//h1").text == article.title
            assert document.find(".//time").get("datetime")
            assert article.summary in "".join(document.find(".//main").itertext())
            if article.link:
                assert article.link in hrefs
            tags = [f"countries/{site.feeds[k].slug}" for k in site.feeds if site.feeds[k].code in article.countries]
            tags += [f"topics/{t}" for t in article.topics]
            for key in tags:
                assert f"http://localhost/{key}" in hrefs
                assert f"http://localhost/feeds/{key}.atom" in hrefs
                for fmt in ("atom", "rss", "json"):
                    assert f"http://localhost/feeds/{key}.{fmt}" in alternates


def test_feed_pages_list_their_articles_and_feeds(app, client, subtests):
    site = _site(app)
    for path in html_paths(app):
        feed = site.feeds.get(path[1:])
        if feed is None:
            continue
        with subtests.test(path=path):
            document, _ = parse_html(client.get(path).data)
            hrefs = [a.get("href") for a in document.iter("a")]
            assert [a.get("href") for a in document.findall(".//ol/li/a")] == [
                f"http://localhost/articles/{a.slug}" for a in feed.articles
            ]
            for fmt in ("atom", "rss", "json"):
                assert f"http://localhost/feeds/{feed.key}.{fmt}" in hrefs
            code = [c.text for c in document.iter("code")]
            assert f"http://localhost/feeds/{feed.key}.atom" in code  # the address, as text
            if not feed.articles:
                assert "No articles yet" in "".join(document.find(".//main").itertext())


# -- feeds in a browser ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "browser"),
    [
        ({"Sec-Fetch-Dest": "document", "Accept": CHROME}, True),  # Chromium, Firefox 90+, Safari 16.4+
        ({"Sec-Fetch-Dest": "document"}, True),
        ({"sec-fetch-dest": " Document "}, True),
        ({"Accept": FIREFOX}, True),  # older browsers: no Sec-Fetch-*
        ({"Accept": "TEXT/HTML"}, True),
        ({"Sec-Fetch-Dest": "iframe", "Accept": CHROME}, True),
        ({}, False),  # curl, most readers
        ({"Accept": "*/*"}, False),
        ({"Accept": READER}, False),
        ({"Accept": SIMPLEPIE}, False),  # FreshRSS and friends list text/html after the feed types
        ({"Accept": "application/atom+xml, text/html;q=0.5"}, False),
        ({"Sec-Fetch-Dest": "empty", "Accept": "*/*"}, False),  # fetch() from a page
        ({"Sec-Fetch-Dest": "empty", "Accept": "application/rss+xml, text/html"}, False),
    ],
)
def test_browser_navigation_rule(headers, browser):
    from werkzeug.datastructures import Headers

    assert is_browser_navigation(Headers(headers)) is browser


FEED_PATHS = ["/feeds/all.atom", "/feeds/all.rss", "/feeds/countries/france.atom", "/feeds/countries/iceland.rss"]


@pytest.mark.parametrize("path", FEED_PATHS)
def test_browsers_get_the_same_feed_bytes_as_application_xml(client, path):
    fmt = path.rsplit(".", 1)[1]
    reader = client.get(path)
    assert reader.headers["Content-Type"] == TYPES[fmt]
    browsers = ({"Sec-Fetch-Dest": "document"}, {"Accept": CHROME}, {"Sec-Fetch-Dest": "document", "Accept": CHROME})
    for headers in browsers:
        browser = client.get(path, headers=headers)
        assert browser.status_code == 200
        assert browser.headers["Content-Type"] == XML
        assert browser.data == reader.data
        assert browser.headers["ETag"] != reader.headers["ETag"]  # a strong ETag names one representation
        assert browser.headers["X-Content-Type-Options"] == "nosniff"
    for headers in ({"Accept": SIMPLEPIE}, {"Accept": "*/*"}, {"Sec-Fetch-Dest": "empty"}):
        assert client.get(path, headers=headers).headers["Content-Type"] == TYPES[fmt]
    for response in (reader, client.get(path, headers={"Accept": CHROME})):
        vary = [v.strip() for v in response.headers["Vary"].split(",")]
        assert sorted(vary) == ["Accept", "Accept-Encoding", "Sec-Fetch-Dest"]


def test_negotiated_feeds_revalidate_and_compress_per_representation(client):
    path, browser = "/feeds/all.atom", {"Sec-Fetch-Dest": "document", "Accept": CHROME}
    reader, page = client.get(path), client.get(path, headers=browser)
    again = client.get(path, headers={**browser, "If-None-Match": page.headers["ETag"]})
    assert again.status_code == 304 and again.headers["ETag"] == page.headers["ETag"]
    assert "Accept" in again.headers["Vary"]
    # a reader revalidating with the browser's tag gets the feed type back, in full
    other = client.get(path, headers={"If-None-Match": page.headers["ETag"]})
    assert other.status_code == 200 and other.headers["Content-Type"] == TYPES["atom"]
    assert client.get(path, headers={"If-None-Match": reader.headers["ETag"]}).status_code == 304
    packed = client.get(path, headers={**browser, "Accept-Encoding": "gzip"})
    assert packed.headers["Content-Encoding"] == "gzip" and packed.headers["Content-Type"] == XML
    assert len({reader.headers["ETag"], page.headers["ETag"], packed.headers["ETag"]}) == 3


def test_json_feeds_pages_and_files_are_not_negotiated(client):
    for path in ("/feeds/all.json", "/", "/static/feed.css", "/feeds.opml"):
        plain = client.get(path)
        browser = client.get(path, headers={"Sec-Fetch-Dest": "document", "Accept": CHROME})
        assert browser.headers["Content-Type"] == plain.headers["Content-Type"] != XML
        assert browser.headers["Vary"] == "Accept-Encoding"
        assert browser.headers["ETag"] == plain.headers["ETag"]


def _feed_document(data: bytes):
    from lxml import etree

    return etree.fromstring(data)


@pytest.mark.parametrize("path", FEED_PATHS)
def test_feeds_carry_a_css_stylesheet_and_a_banner_with_the_address_and_the_page(client, path):
    from lxml import etree

    fmt = path.rsplit(".", 1)[1]
    data = client.get(path).data
    root = _feed_document(data)
    pis = [node for node in root.itersiblings(preceding=True) if isinstance(node, etree._ProcessingInstruction)]
    assert [(pi.target, pi.text) for pi in pis] == [
        ("xml-stylesheet", 'type="text/css" href="http://localhost/static/feed.css"')
    ]
    parsed = feedparser.parse(data)
    html_page = next(link.href for link in parsed.feed.links if link.get("type") == "text/html")
    banners = root.findall(f"{{{XHTML}}}div") if fmt == "atom" else root.find("channel").findall(f"{{{XHTML}}}div")
    assert len(banners) == 1
    banner = banners[0]
    assert [c.text for c in banner.iter(f"{{{XHTML}}}code")] == [f"http://localhost{path}"]
    assert html_page in [a.get("href") for a in banner.iter(f"{{{XHTML}}}a")]
    assert html_page == "http://localhost" + ("/" if "/all." in path else path[len("/feeds") :].rsplit(".", 1)[0])
    css = client.get("/static/feed.css")
    assert css.status_code == 200 and css.headers["Content-Type"] == "text/css; charset=utf-8"
    assert b"@namespace atom url(" in css.data and b"channel" in css.data


def _parsed(data: bytes) -> dict:
    """What feed readers take from a feed, through feedparser."""
    parsed = feedparser.parse(data)
    feed = parsed.feed
    return {
        "bozo": parsed.bozo,
        "version": parsed.version,
        "feed": {
            key: feed.get(key)
            for key in ("title", "subtitle", "id", "link", "links", "updated", "language", "author", "generator")
        },
        "entries": [
            {
                key: entry.get(key)
                for key in ("id", "title", "link", "links", "summary", "published", "updated", "tags", "author")
            }
            for entry in parsed.entries
        ],
    }


def test_the_stylesheet_and_banner_change_nothing_feedparser_reads(app, subtests):
    site = _site(app)
    publisher = Publisher(site, "http://localhost", app.extensions["feeds"].options)
    keys = ["all"] + [f.key for f in site.feeds.values() if f.articles and f.kind != "all"]
    keys += [f"countries/{slug}" for slug in EMPTY_COUNTRIES]
    for key in keys:
        for fmt, render in (("atom", atom), ("rss", rss)):
            with subtests.test(feed=key, fmt=fmt):
                page = publisher.feed_page(site.feeds[key], fmt)
                assert page.stylesheet == "http://localhost/static/feed.css"
                styled = render(page, publisher.names)
                plain = render(dataclasses.replace(page, stylesheet=None), publisher.names)
                assert b"xml-stylesheet" in styled and b"xml-stylesheet" not in plain
                assert XHTML.encode() in styled and XHTML.encode() not in plain
                assert _parsed(styled) == _parsed(plain)
                assert _parsed(styled)["bozo"] == 0 and len(_parsed(styled)["entries"]) == len(page.entries)
                assert not feedcheck.check(styled, fmt, location=page.self_url)


def test_archive_pages_are_styled_and_point_to_the_subscription_feed(data_dir):
    app = create_app({"DATA_DIR": str(data_dir), "TESTING": True, "RELOAD_INTERVAL": 0, "ENTRY_LIMIT": 5})
    client = app.test_client()
    for fmt in ("atom", "rss"):
        response = client.get(f"/feeds/archive/all/1.{fmt}", headers={"Sec-Fetch-Dest": "document"})
        assert response.status_code == 200 and response.headers["Content-Type"] == XML
        root = _feed_document(response.data)
        codes = [c.text for c in root.iter(f"{{{XHTML}}}code")]
        assert codes == [f"http://localhost/feeds/all.{fmt}"]
        assert b'<?xml-stylesheet type="text/css" href="http://localhost/static/feed.css"?>' in response.data
        problems = feedcheck.check(response.data, fmt, location=f"http://localhost/feeds/archive/all/1.{fmt}")
        assert not problems, feedcheck.format_problems(problems)


def test_the_static_build_writes_the_feed_stylesheet(app):
    publisher = Publisher(_site(app), "https://news.example.org")
    assert "/static/feed.css" in list(publisher.paths())
    assert publisher.resolve("/static/feed.css").render().startswith(b"/*")
