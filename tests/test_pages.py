"""The human-facing side without a browser: HTML pages, and feeds as a browser receives them."""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import itertools
import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from importlib import resources
from urllib.parse import parse_qsl, urlencode, urlsplit

import brotli
import feedparser
import html5lib
import pytest

from feeds.render.atom_rss import atom, rss
from feeds.render.documents import STATIC, Publisher
from feeds.serve.app import create_app
from feeds.serve.http import is_browser_navigation

from . import feedcheck

HTML = "text/html; charset=utf-8"
XML = "application/xml; charset=utf-8"
TYPES = {
    "atom": "application/atom+xml; charset=utf-8",
    "rss": "application/rss+xml; charset=utf-8",
    "opml": "text/x-opml; charset=utf-8",
}
XHTML = "http://www.w3.org/1999/xhtml"
EMPTY_COUNTRIES = ("iceland", "uruguay", "mongolia")
IMMUTABLE = "public, max-age=31536000, immutable"
# What browsers send when a person opens a URL, and what feed readers send.
CHROME = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8"
FIREFOX = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
SIMPLEPIE = (
    "application/atom+xml, application/rss+xml, application/rdf+xml;q=0.9, application/xml;q=0.8, "
    "text/xml;q=0.8, text/html;q=0.7, unknown/unknown;q=0.1, application/unknown;q=0.1, */*;q=0.1"
)
READER = "application/rss+xml, application/atom+xml, application/xml;q=0.9, */*;q=0.8"
FILTERED = "/subscribe?country=france&topic=pensions&q=&exclude="


def _site(app):
    return app.extensions["feeds"].version.loaded.site


def html_paths(app) -> list[str]:
    """Every HTML page of the shipped data, a few empty feeds' pages, the lists, the form's page and a 404."""
    site = _site(app)
    paths = ["/", "/countries", "/topics", "/subscribe", FILTERED]
    paths += [f.html_path for f in site.feeds.values() if f.kind != "all" and f.articles]
    paths += [f"/countries/{slug}" for slug in EMPTY_COUNTRIES]
    paths += [f.html_path for f in site.topics() if not f.articles][:3]
    paths += [f"/articles/{a.slug}" for a in site.articles]
    return paths + ["/no/such/page"]


def parse_html(data: bytes):
    parser = html5lib.HTMLParser(tree=html5lib.getTreeBuilder("etree", ET), namespaceHTMLElements=False)
    document = parser.parse(data)
    return document, [f"line {line} col {col}: {code} {info}" for (line, col), code, info in parser.errors]


def page(client, path: str):
    response = client.get(path)
    assert response.status_code == 200, path
    return parse_html(response.data)[0]


def text(element) -> str:
    return " ".join("".join(element.itertext()).split())


def meta(document, key: str) -> list[str]:
    """The content of every ``<meta>`` whose name or property is ``key``."""
    return [m.get("content") for m in document.iter("meta") if key in (m.get("name"), m.get("property"))]


def by_class(document, tag: str, name: str) -> list:
    return [e for e in document.iter(tag) if name in (e.get("class") or "").split()]


def test_the_data_has_what_the_page_tests_need(app):
    site = _site(app)
    assert len(site.articles) >= 10
    assert all(not site.feeds[f"countries/{slug}"].articles for slug in EMPTY_COUNTRIES)
    assert any(f.kind == "country" and f.articles for f in site.feeds.values())
    assert any(f.kind == "topic" and not f.articles for f in site.feeds.values())
    assert site.feeds["topics/strikes"].description.endswith(".")  # the TOML's own full stop


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


def test_every_page_names_its_canonical_url_and_a_share_card(app, client, subtests):
    site = _site(app)
    for path in html_paths(app):
        with subtests.test(path=path):
            document, _ = parse_html(client.get(path).data)
            canonical = [link.get("href") for link in document.iter("link") if link.get("rel") == "canonical"]
            h1 = text(document.find(".//h1"))
            if path == "/no/such/page":
                assert canonical == [] and meta(document, "og:url") == []  # an error is at no address
            else:
                query = dict(parse_qsl(urlsplit(path).query))
                expected = "http://localhost" + urlsplit(path).path
                if any(query.values()):  # the form's page names the feed's canonical query
                    expected += "?country=fr&topic=pensions"
                assert canonical == [expected]
                assert meta(document, "og:url") == [expected]
            assert meta(document, "og:title") == meta(document, "twitter:title") == [h1]
            assert meta(document, "og:site_name") == [site.meta.title]
            assert meta(document, "twitter:card") == ["summary"]
            description = meta(document, "og:description")
            assert len(description) == 1 and description[0] and len(description[0]) <= 200
            assert description == meta(document, "twitter:description") == meta(document, "description")
            assert meta(document, "og:type") == ["article" if path.startswith("/articles/") else "website"]
            if path.startswith("/articles/"):
                article = site.articles_by_slug[path[len("/articles/") :]]
                published = article.published.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
                assert meta(document, "article:published_time") == [published]


def test_pages_obey_their_content_security_policy(app, client, subtests):
    """default-src 'self': no inline script, no style element or attribute, nothing external."""
    for path in html_paths(app):
        with subtests.test(path=path):
            response = client.get(path)
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
    external: set[str] = set()
    for path in html_paths(app):
        document, _ = parse_html(client.get(path).data)
        for element in document.iter():
            href = element.get("href") or element.get("src") or element.get("data-url") or element.get("action")
            if not href:
                continue
            if element.get("rel") == "external":
                external.add(urlsplit(href).netloc)
                continue
            if href.startswith("#"):
                assert document.find(f".//*[@id='{href[1:]}']") is not None, (path, href)
                continue
            parts = urlsplit(href)
            assert parts.scheme == "http" and parts.netloc == "localhost", (path, href)
            if parts.fragment:
                target, _ = parse_html(client.get(parts.path).data)
                assert target.find(f".//*[@id='{parts.fragment}']") is not None, (path, href)
            target = parts.path + (f"?{parts.query}" if parts.query else "")
            if target not in checked:
                checked[target] = client.get(target).status_code
            assert checked[target] == 200, (path, href)
    assert {"/favicon.ico", "/countries", "/topics", "/subscribe", "/feeds.opml"} <= set(checked)
    assert [p for p in checked if p.startswith("/static/")] == [
        p for p in checked if re.fullmatch(r"/static/(style|copy)\.[0-9a-f]{8}\.(css|js)", p)
    ]
    assert len([p for p in checked if p.startswith("/static/")]) == 2
    assert external == {"feedly.com", "www.inoreader.com", "www.newsblur.com", "theoldreader.com"}


def _subscribe_control(document, url: str):
    """The one control that subscribes to ``url`` (an Atom feed): its address box and copy button."""
    boxes = [c for c in by_class(document, "code", "url") if text(c) == url]
    assert len(boxes) == 1, [text(c) for c in by_class(document, "code", "url")]
    # the address breaks after its slashes (and before ? and &), never inside a word
    markup = ET.tostring(boxes[0], encoding="unicode")
    pieces = [re.sub(r"<[^>]+>", "", p) for p in markup.split("<wbr />")]
    assert len(pieces) >= 3
    assert all(p.endswith("/") or after.startswith(("?", "&")) for p, after in itertools.pairwise(pieces))
    buttons = [b for b in by_class(document, "button", "copy") if b.get("data-url") == url]
    assert len(buttons) == 1 and text(buttons[0]) == "Copy Atom URL"
    assert buttons[0].get("type") == "button" and "hidden" in buttons[0].attrib  # shown by copy.js
    return boxes[0], buttons[0]


def _links(document) -> dict[str, str]:
    return {text(a): a.get("href") for a in document.iter("a") if a.get("href")}


def test_the_index_has_one_call_to_subscribe_to_everything(app, client):
    document = page(client, "/")
    _subscribe_control(document, "http://localhost/feeds/all.atom")
    assert len(by_class(document, "button", "copy")) == 1  # one per page, not one per feed
    hero = by_class(document, "section", "hero")[0]
    assert text(hero.find("h2")) == "Subscribe to everything"
    links = _links(hero)
    assert links["Atom feed of World Labour News"] == "http://localhost/feeds/all.atom"
    assert links["RSS feed of World Labour News"] == "http://localhost/feeds/all.rss"
    assert links["JSON Feed of World Labour News"] == "http://localhost/feeds/all.json"
    quoted = "http%3A%2F%2Flocalhost%2Ffeeds%2Fall.atom"
    assert links["Feedly"] == "https://feedly.com/i/subscription/feed/http://localhost/feeds/all.atom"
    assert links["Inoreader"] == "https://www.inoreader.com/feed/http://localhost/feeds/all.atom"
    assert links["NewsBlur"] == f"https://www.newsblur.com/?url={quoted}"
    assert links["The Old Reader"] == f"https://theoldreader.com/feeds/subscribe?url={quoted}"
    assert links["All feeds as OPML, for importing into a reader"] == "http://localhost/feeds.opml"
    headings = [text(h) for h in document.iter("h2")]
    assert headings == ["Subscribe to everything", "Countries", "Topics", "Build your own feed", "Latest articles"]


def test_opml_is_not_in_the_navigation_of_any_page(app, client, subtests):
    for path in html_paths(app):
        with subtests.test(path=path):
            document, _ = parse_html(client.get(path).data)
            nav = document.find(".//header/nav")
            assert [text(a) for a in nav.iter("a")] == ["Countries", "Topics", "Latest"]
            assert all("opml" not in (a.get("href") or "") for a in document.find(".//header").iter("a"))


def _table(document, section: str) -> list[tuple[str, str, int]]:
    """(name, href, count) of each row of a section's table of feeds."""
    table = document.find(f".//h2[@id='{section}']/..//table") if section else document.find(".//table")
    rows = []
    for row in table.find("tbody").iter("tr"):
        a = row.find("th/a")
        rows.append((a.text, a.get("href"), int(row.find("td").text)))
    return rows


def test_the_index_sorts_countries_and_topics_by_count_and_folds_the_empty_ones(app, client):
    site = _site(app)
    document = page(client, "/")
    for section, feeds in (("countries", site.countries()), ("topics", site.topics())):
        rows = _table(document, section)
        with_articles = sorted((f for f in feeds if f.articles), key=lambda f: (-len(f.articles), f.name))
        assert rows == [(f.name, f"http://localhost{f.html_path}", len(f.articles)) for f in with_articles]
        assert [count for _, _, count in rows] == sorted((c for _, _, c in rows), reverse=True)
        details = document.find(f".//h2[@id='{section}']/../details")
        empty = {f"http://localhost{f.html_path}" for f in feeds if not f.articles}
        assert empty and text(details.find("summary")) == f"Show the other {len(empty)} {section}"
        folded = {a.get("href") for a in details.iter("a")} - {f"http://localhost/{section}"}
        assert folded == empty
    # the Articles heading sits over its numbers: the same cell class, right-aligned by the stylesheet
    heads = document.find(".//table/thead/tr").findall("th")
    expected = [("Country", None), ("Articles", "count"), ("Newest", "newest")]
    assert [(text(h), h.get("class")) for h in heads] == expected
    css = client.get(urlsplit(document.find(".//link[@rel='stylesheet']").get("href")).path).data.decode()
    assert re.search(r"table\.feeds \.count \{[^}]*text-align: right", css)
    assert "overflow-wrap: anywhere" not in css


def test_the_index_has_few_tab_stops_before_the_latest_articles(client):
    document = page(client, "/")
    folded = {id(e) for details in document.iter("details") for e in details.iter() if e.tag != "summary"}
    stops = 0
    for element in document.find("body").iter():
        if element.get("id") == "latest":
            break
        if id(element) in folded or "hidden" in element.attrib:
            continue  # a closed <details> shows only its summary
        stops += element.tag in ("button", "select", "input", "summary") or (
            element.tag == "a" and "href" in element.attrib
        )
    assert stops < 50, stops  # it was about 110: 22 rows of Atom, RSS, JSON and a copy button


def _form_url(document, choices: dict[str, str]) -> str:
    """The URL a browser makes when the filter form is sent: every field, the empty ones too."""
    form = document.find(".//form")
    assert form.get("method") == "get"
    fields = {}
    for element in form.iter():
        if element.tag in ("input", "select") and element.get("name"):
            fields[element.get("name")] = choices.get(element.get("name"), element.get("value") or "")
    assert sorted(fields) == ["country", "exclude", "q", "topic"]
    return urlsplit(form.get("action")).path + "?" + urlencode(fields)


def test_the_filter_form_gives_the_address_of_a_feed_that_serves_the_filtered_articles(app, client):
    site = _site(app)
    document = page(client, "/")
    options = {o.get("value") for o in document.find(".//select[@name='country']").iter("option")}
    assert {"", "france", "peru"} <= options
    url = _form_url(document, {"country": "france", "topic": "pensions", "exclude": "Article"})
    assert url.startswith("/subscribe?")
    result = page(client, url)
    address = "http://localhost/feeds/all.atom?country=fr&exclude=article&topic=pensions"
    _subscribe_control(result, address)
    links = _links(result)
    assert links["Open the filtered feed"] == address
    assert links["RSS feed of these articles"] == address.replace(".atom", ".rss")
    assert "Articles about France, on Pensions, without “article”" in text(result.find(".//main"))
    # the form on the result page keeps the choices
    assert result.find(".//select[@name='country']/option[@selected]").get("value") == "france"
    assert result.find(".//input[@name='exclude']").get("value") == "article"
    parsed = feedparser.parse(client.get(address[len("http://localhost") :]).data)
    expected = [
        a
        for a in site.articles
        if "FR" in a.countries and "pensions" in a.topics and "article" not in (a.title + a.summary).lower()
    ]
    assert expected and [e.title for e in parsed.entries] == [a.title for a in expected]
    listed = [a.get("href") for a in result.findall(".//ol/li/a")]
    assert listed == [f"http://localhost/articles/{a.slug}" for a in expected]


def test_the_form_page_alone_and_with_bad_values(client):
    empty = page(client, "/subscribe?country=&topic=&q=&exclude=")
    assert by_class(empty, "code", "url") == [] and empty.find(".//form") is not None
    assert page(client, "/subscribe").find(".//form") is not None
    bad = client.get("/subscribe?country=atlantis")
    assert bad.status_code == 400 and b"unknown country 'atlantis'" in bad.data
    # the feeds themselves still refuse empty values
    assert client.get("/feeds/all.atom?q=").status_code == 400


def _articles(document) -> list:
    return document.find(".//ol[@class='articles']").findall("li")


def test_lists_show_summaries_and_tags_that_link_their_pages(app, client, subtests):
    site = _site(app)
    names = Publisher(site, "http://localhost").names
    lists = {"/": (site.articles[:20], None)}
    lists |= {f.html_path: (f.articles, f.html_path) for f in site.feeds.values() if f.kind != "all" and f.articles}
    for path, (articles, own) in lists.items():
        with subtests.test(path=path):
            items = _articles(page(client, path))
            assert [li.find("h3/a").get("href") for li in items] == [
                f"http://localhost/articles/{a.slug}" for a in articles
            ]
            for li, article in zip(items, articles, strict=True):
                assert text(li.find("h3")) == article.title
                assert text(by_class(li, "p", "summary")[0]) == article.summary  # short enough to be whole
                tags = [(f"/countries/{names['countries'][c][0]}", names["countries"][c][1]) for c in article.countries]
                tags += [(f"/topics/{t}", names["topics"][t][1]) for t in article.topics]
                shown = [(a.get("href"), a.text) for a in by_class(li, "a", "tag")]
                assert shown == [(f"http://localhost{p}", n) for p, n in tags if p != own]


def test_a_long_feed_page_gives_summaries_to_what_the_feed_holds_and_titles_to_the_rest(data_dir):
    app = create_app({"DATA_DIR": str(data_dir), "TESTING": True, "RELOAD_INTERVAL": 0, "ENTRY_LIMIT": 3})
    feed = _site(app).feeds["topics/protests"]
    assert len(feed.articles) > 3
    document = page(app.test_client(), feed.html_path)
    rich = _articles(document)
    assert [text(li.find("h3")) for li in rich] == [a.title for a in feed.articles[:3]]
    assert all(by_class(li, "p", "summary") for li in rich)
    assert document.find(".//h3[@id='older']") is not None
    older = document.find(".//ol[@class='articles compact']")
    assert [a.get("href") for a in older.findall("li/a")] == [
        f"http://localhost/articles/{a.slug}" for a in feed.articles[3:]
    ]
    summaries = {a.summary for a in feed.articles[3:]}
    assert not summaries & {text(p) for p in document.iter("p")}


def test_feed_pages_have_one_subscribe_control_and_a_plain_description(app, client, subtests):
    site = _site(app)
    for path in html_paths(app):
        feed = site.feeds.get(path[1:])
        if feed is None:
            continue
        with subtests.test(path=path):
            document = page(client, path)
            _subscribe_control(document, f"http://localhost/feeds/{feed.key}.atom")
            hrefs = [a.get("href") for a in document.iter("a")]
            for fmt in ("atom", "rss", "json"):
                assert f"http://localhost/feeds/{feed.key}.{fmt}" in hrefs
            lead = text(by_class(document, "p", "lead")[0])
            assert lead.startswith(feed.description.rstrip(".") + ". ") and ".." not in lead
            if not feed.articles:
                assert "No articles yet" in text(document.find(".//main"))


def test_article_pages_link_more_from_their_tags_and_their_neighbours(app, client, subtests):
    site = _site(app)
    for n, article in enumerate(site.articles):
        with subtests.test(article=article.slug):
            document = page(client, f"/articles/{article.slug}")
            hrefs = [a.get("href") for a in document.iter("a")]
            alternates = [link.get("href") for link in document.iter("link") if link.get("rel") == "alternate"]
            assert text(document.find(".//h1")) == article.title
            assert article.summary in text(document.find(".//main"))
            if article.link:
                assert article.link in hrefs
            feeds = [site.feeds[k] for k in site.feeds if site.feeds[k].code in article.countries]
            feeds += [site.feeds[f"topics/{t}"] for t in article.topics]
            more = document.find(".//h2[@id='more']")
            assert text(more) == "More from " + " / ".join(f.name for f in feeds)
            for feed in feeds:
                assert f"http://localhost{feed.html_path}" in hrefs
                assert f"http://localhost/feeds/{feed.key}.atom" in hrefs
            # the site-wide feed first, then the article's countries' and topics' feeds
            assert alternates[:3] == [f"http://localhost/feeds/all.{fmt}" for fmt in ("atom", "rss", "json")]
            for feed in feeds:
                for fmt in ("atom", "rss", "json"):
                    assert f"http://localhost/feeds/{feed.key}.{fmt}" in alternates
            rels = {a.get("rel"): a.get("href") for a in document.iter("a") if a.get("rel") in ("prev", "next")}
            expected = {}
            if n + 1 < len(site.articles):
                expected["prev"] = f"http://localhost/articles/{site.articles[n + 1].slug}"
            if n > 0:
                expected["next"] = f"http://localhost/articles/{site.articles[n - 1].slug}"
            assert rels == expected


def test_countries_and_topics_pages_list_every_feed_with_its_count(app, client):
    site = _site(app)
    for path, feeds in (("/countries", site.countries()), ("/topics", site.topics())):
        document = page(client, path)
        rows = _table(document, None)
        assert document.find(".//header/nav/a[@aria-current='page']").get("href") == "http://localhost" + path
        ordered = sorted(feeds, key=lambda f: (-len(f.articles), f.name))
        assert rows == [(f.name, f"http://localhost{f.html_path}", len(f.articles)) for f in ordered]
    assert len(site.countries()) > 200


@pytest.mark.parametrize(
    ("path", "location"),
    [
        ("/countries/france/", "/countries/france"),
        ("/topics/strikes/", "/topics/strikes"),
        ("/countries/", "/countries"),
        ("/topics/", "/topics"),
        ("/countries/fr/", "/countries/france"),
        ("/subscribe/", "/subscribe"),
    ],
)
def test_trailing_slashes_redirect(client, path, location):
    response = client.get(path)
    assert response.status_code == 301
    assert response.headers["Location"] == "http://localhost" + location
    assert client.get(location).status_code == 200


def test_trailing_slashes_of_articles_redirect_and_of_nothing_answer_404(app, client):
    slug = _site(app).articles[0].slug
    response = client.get(f"/articles/{slug}/")
    assert response.status_code == 301 and response.headers["Location"] == f"http://localhost/articles/{slug}"
    for path in ("/no/such/page/", "/feeds/", "/articles/"):
        assert client.get(path).status_code == 404, path


def test_the_404_page_links_its_examples_and_is_compressed(client):
    plain = client.get("/no/such/page")
    assert plain.status_code == 404 and plain.headers["Content-Type"] == HTML
    document, _ = parse_html(plain.data)
    examples = [a.get("href") for a in document.iter("a") if a.find("code") is not None]
    assert examples == [
        "http://localhost/feeds/all.atom",
        "http://localhost/feeds/countries/france.rss",
        "http://localhost/feeds/topics/strikes.json",
    ]
    assert [text(a.find("code")) for a in document.iter("a") if a.find("code") is not None] == examples
    assert "There is no page at /no/such/page." in text(document.find(".//main"))
    for coding, decode in (("gzip", gzip.decompress), ("br", brotli.decompress)):
        packed = client.get("/no/such/page", headers={"Accept-Encoding": coding})
        assert packed.status_code == 404 and packed.headers["Content-Encoding"] == coding
        assert packed.headers["Vary"] == "Accept-Encoding"
        assert decode(packed.data) == plain.data and len(packed.data) < len(plain.data) / 2
    assert "Content-Encoding" not in client.get("/no/such/page", headers={"Accept-Encoding": "gzip;q=0"}).headers


def test_pages_load_static_files_by_content_hashed_names_cached_for_a_year(client):
    document = page(client, "/")
    loaded = [link.get("href") for link in document.iter("link") if link.get("rel") == "stylesheet"]
    loaded += [script.get("src") for script in document.iter("script")]
    assert len(loaded) == 2
    for url in loaded:
        path = urlsplit(url).path
        name, digest, ext = re.fullmatch(r"/static/(\w+)\.([0-9a-f]{8})\.(css|js)", path).groups()
        source = resources.files("feeds").joinpath(f"static/{name}.{ext}").read_bytes()
        assert digest == hashlib.sha256(source).hexdigest()[:8]
        response = client.get(path)
        assert response.status_code == 200 and response.data == source
        assert response.headers["Cache-Control"] == IMMUTABLE
        assert response.headers["Content-Type"] == STATIC[f"/static/{name}.{ext}"]
        # the plain name keeps working, for pages cached before the names carried a hash
        old = client.get(f"/static/{name}.{ext}")
        assert old.status_code == 200 and old.data == source
        assert old.headers["Cache-Control"] == "public, max-age=300"
    assert client.get("/static/style.00000000.css").status_code == 404
    feed_css = client.get("/static/feed.css")  # named by the feeds themselves: not hashed
    assert feed_css.status_code == 200 and feed_css.headers["Cache-Control"] == "public, max-age=300"


def test_the_build_writes_the_hashed_static_files_and_the_new_pages(tmp_path, data_dir):
    from click.testing import CliRunner

    from feeds.cli import main

    out = tmp_path / "out"
    result = CliRunner().invoke(
        main, ["build", str(out), "--base-url", "https://news.example.org", "--data-dir", str(data_dir), "-q"]
    )
    assert result.exit_code == 0, result.output
    document = parse_html((out / "index.html").read_bytes())[0]
    for url in [document.find(".//link[@rel='stylesheet']").get("href"), document.find(".//script").get("src")]:
        name = urlsplit(url).path.lstrip("/")
        plain = re.sub(r"\.[0-9a-f]{8}\.", ".", name)
        assert (
            (out / name).read_bytes()
            == (out / plain).read_bytes()
            == resources.files("feeds").joinpath(plain).read_bytes()
        )
    assert (out / "static/feed.css").is_file()
    for name in ("countries/index.html", "topics/index.html"):
        assert parse_html((out / name).read_bytes())[0].find(".//table") is not None


def test_index_weighs_under_50_kb_with_everything_it_loads(client):
    index = client.get("/")
    document, _ = parse_html(index.data)
    loaded = [link.get("href") for link in document.iter("link") if link.get("rel") in ("stylesheet", "icon")]
    loaded += [script.get("src") for script in document.iter("script")]
    assert len(loaded) == 3
    total = len(index.data) + sum(len(client.get(urlsplit(url).path).data) for url in loaded)
    assert total < 50_000, total
    packed = len(client.get("/", headers={"Accept-Encoding": "gzip"}).data)
    assert packed < 10_000, packed  # over the wire


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


@pytest.mark.parametrize("path", [*FEED_PATHS, "/feeds.opml"])
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
    for path in ("/feeds/all.json", "/", "/static/feed.css"):
        plain = client.get(path)
        browser = client.get(path, headers={"Sec-Fetch-Dest": "document", "Accept": CHROME})
        assert browser.headers["Content-Type"] == plain.headers["Content-Type"] != XML
        assert browser.headers["Vary"] == "Accept-Encoding"
        assert browser.headers["ETag"] == plain.headers["ETag"]


def _feed_document(data: bytes):
    from lxml import etree

    return etree.fromstring(data)


def _xhtml(element, tag: str, cls: str | None = None) -> list:
    return [e for e in element.iter(f"{{{XHTML}}}{tag}") if cls is None or e.get("class") == cls]


def _stylesheets(root) -> list[tuple[str, str]]:
    from lxml import etree

    nodes = root.itersiblings(preceding=True)
    return [(n.target, n.text) for n in nodes if isinstance(n, etree._ProcessingInstruction)]


@pytest.mark.parametrize("path", FEED_PATHS)
def test_feeds_carry_a_css_stylesheet_and_a_page_with_the_address_and_every_entry(client, path):
    """What a browser shows: the tab's title, the address with its copy button, what a feed is,
    the HTML page, and each entry's title linked to its page, its date as a person writes it,
    its summary and its tags, each linked to its page."""
    fmt = path.rsplit(".", 1)[1]
    data = client.get(path).data
    root = _feed_document(data)
    assert _stylesheets(root) == [("xml-stylesheet", 'type="text/css" href="http://localhost/static/feed.css"')]
    parsed = feedparser.parse(data)
    html_page = next(link.href for link in parsed.feed.links if link.get("type") == "text/html")
    previews = root.findall(f"{{{XHTML}}}div") if fmt == "atom" else root.find("channel").findall(f"{{{XHTML}}}div")
    assert len(previews) == 1
    preview = previews[0]
    kind = "Atom" if fmt == "atom" else "RSS"
    assert [t.text for t in _xhtml(preview, "title")] == [f"{parsed.feed.title} ({kind} feed)"]
    assert [text(h1) for h1 in _xhtml(preview, "h1")] == [parsed.feed.title]
    assert [text(c) for c in _xhtml(preview, "code")] == [f"http://localhost{path}"]
    code = _xhtml(preview, "code")[0]
    assert [w.tail for w in _xhtml(code, "wbr")][-1] == path.rsplit("/", 1)[1]  # breaks only after slashes
    (button,) = _xhtml(preview, "button")
    assert (button.text, button.get("data-url"), button.get("hidden")) == (
        f"Copy {kind} URL",
        f"http://localhost{path}",
        "hidden",
    )
    assert [s.get("src") for s in _xhtml(preview, "script")] == ["http://localhost/static/copy.js"]
    assert any(text(p).startswith("What is a feed? An address that a feed reader") for p in _xhtml(preview, "p"))
    assert html_page in [a.get("href") for a in _xhtml(preview, "a")]
    assert html_page == "http://localhost" + ("/" if "/all." in path else path[len("/feeds") :].rsplit(".", 1)[0])
    items = [li for ol in _xhtml(preview, "ol", "entries") for li in ol.findall(f"{{{XHTML}}}li")]
    assert len(items) == len(parsed.entries)
    if not items:
        assert [text(p) for p in _xhtml(preview, "p", "feed-empty")] == [
            "No articles yet: subscribe now and new ones will reach you."
        ]
    for item, entry in zip(items, parsed.entries, strict=True):
        (title,) = _xhtml(item, "a")[:1]
        assert (title.text, title.get("href")) == (entry.title, entry.link)  # the article's page here
        (date,) = _xhtml(item, "time")
        published = datetime(*entry.published_parsed[:6], tzinfo=UTC)
        assert date.text == f"{published.day} {published:%b} {published.year}"
        assert date.get("datetime") == published.strftime("%Y-%m-%dT%H:%M:%SZ")
        assert [text(p) for p in _xhtml(item, "p", "entry-summary")] == [entry.summary]
        tags = [(a.text, a.get("href")) for ul in _xhtml(item, "ul", "entry-tags") for a in _xhtml(ul, "a")]
        # Atom names a category by its slug (term) and label; RSS by its name and domain
        expected = entry.get("tags", [])
        assert [name for name, _ in tags] == [t.label or t.term for t in expected]
        assert all(href.startswith(t.scheme) for (_, href), t in zip(tags, expected, strict=True))
        if fmt == "atom":
            assert [href for _, href in tags] == [t.scheme + t.term for t in expected]
    css = client.get("/static/feed.css")
    assert css.status_code == 200 and css.headers["Content-Type"] == "text/css; charset=utf-8"
    assert b"@namespace h url(" in css.data and b"channel" in css.data


def test_the_opml_list_reads_as_a_page_that_links_every_feed(client):
    data = client.get("/feeds.opml").data
    root = _feed_document(data)
    assert _stylesheets(root) == [("xml-stylesheet", 'type="text/css" href="http://localhost/static/feed.css"')]
    outlines = [o for o in root.iter("outline") if o.get("xmlUrl")]
    (preview,) = root.find("head").findall(f"{{{XHTML}}}div")
    assert [text(h1) for h1 in _xhtml(preview, "h1")] == [f"Import these {len(outlines)} feeds"]
    assert [text(c) for c in _xhtml(preview, "code")] == ["http://localhost/feeds.opml"]
    assert [b.text for b in _xhtml(preview, "button")] == ["Copy OPML URL"]
    links = {a.get("href") for a in _xhtml(preview, "a")}
    for outline in outlines:
        assert {outline.get("htmlUrl"), outline.get("xmlUrl")} <= links
    assert len(_xhtml(preview, "li")) == len(outlines)


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


def _without_preview(data: bytes) -> bytes:
    """The document's root element with the XHTML taken out, without the whitespace between elements."""
    from lxml import etree

    root = etree.fromstring(data, etree.XMLParser(remove_blank_text=True))
    for div in [e for e in root.iter(f"{{{XHTML}}}div") if etree.QName(e.getparent()).namespace != XHTML]:
        div.getparent().remove(div)
    return etree.tostring(root)


def _outlines(data: bytes) -> dict:
    """What a reader importing an OPML list takes from it: the head's fields and every outline."""
    from lxml import etree

    root = etree.fromstring(data)
    head = {child.tag: child.text for child in root.find("head") if isinstance(child.tag, str) and "}" not in child.tag}
    return {"head": head, "outlines": [dict(o.attrib) for o in root.find("body").iter("outline")]}


def test_the_stylesheet_and_preview_change_nothing_readers_read(data_dir, subtests):
    """Atom, RSS and OPML, with and without what a browser shows: feedparser reads the same
    titles, ids, links, dates and entries, an OPML import the same outlines, and the documents are
    the same once the preview is taken out. Subscription feeds, empty ones, archive pages and
    filtered feeds."""
    from feeds.render.opml import opml

    app = create_app({"DATA_DIR": str(data_dir), "TESTING": True, "RELOAD_INTERVAL": 0, "ENTRY_LIMIT": 3})
    site = _site(app)
    publisher = Publisher(site, "http://localhost", app.extensions["feeds"].options)
    keys = ["all"] + [f.key for f in site.feeds.values() if f.articles and f.kind != "all"]
    keys += [f"countries/{slug}" for slug in EMPTY_COUNTRIES]
    query = publisher.query({"country": "fr,pe", "q": "strike"})
    for key in keys:
        feed = site.feeds[key]
        for fmt, render in (("atom", atom), ("rss", rss)):
            current = publisher.feed_page(feed, fmt)
            pages = [current, publisher.filtered_page(feed, fmt, query)]
            if publisher.archive_count(feed):
                url = f"http://localhost/feeds/archive/{key}/1.{fmt}"
                links = (("current", current.self_url),)
                entries = publisher.archive_entries(feed, 1)
                pages.append(dataclasses.replace(current, entries=entries, self_url=url, links=links, archive=True))
            for page in pages:
                with subtests.test(feed=key, fmt=fmt, url=page.self_url):
                    assert page.stylesheet == "http://localhost/static/feed.css"
                    styled = render(page, publisher.names)
                    plain = render(dataclasses.replace(page, stylesheet=None), publisher.names)
                    assert b"xml-stylesheet" in styled and b"xml-stylesheet" not in plain
                    assert XHTML.encode() in styled and XHTML.encode() not in plain
                    assert _parsed(styled) == _parsed(plain)
                    assert _parsed(styled)["bozo"] == 0 and len(_parsed(styled)["entries"]) == len(page.entries)
                    assert _without_preview(styled) == _without_preview(plain)
                    assert not feedcheck.check(styled, fmt, location=page.self_url)
    with subtests.test(feed="opml"):
        styled = opml(site, publisher.urls, stylesheet="http://localhost/static/feed.css")
        plain = opml(site, publisher.urls)
        assert styled == publisher.resolve("/feeds.opml").render()
        assert b"xml-stylesheet" in styled and XHTML.encode() in styled and XHTML.encode() not in plain
        assert _outlines(styled) == _outlines(plain) and len(_outlines(plain)["outlines"]) > 10
        assert _without_preview(styled) == _without_preview(plain)
        assert not feedcheck.check(styled, "opml", location="http://localhost/feeds.opml")


def test_archive_pages_are_styled_and_point_to_the_subscription_feed(data_dir):
    app = create_app({"DATA_DIR": str(data_dir), "TESTING": True, "RELOAD_INTERVAL": 0, "ENTRY_LIMIT": 5})
    client = app.test_client()
    for fmt in ("atom", "rss"):
        response = client.get(f"/feeds/archive/all/1.{fmt}", headers={"Sec-Fetch-Dest": "document"})
        assert response.status_code == 200 and response.headers["Content-Type"] == XML
        root = _feed_document(response.data)
        codes = [text(c) for c in root.iter(f"{{{XHTML}}}code")]
        assert codes == [f"http://localhost/feeds/all.{fmt}"]
        # its entries by linked title and date
        parsed = feedparser.parse(response.data)
        (entries,) = _xhtml(root, "ol", "entries brief")
        items = [(a.text, a.get("href")) for a in _xhtml(entries, "a")]
        assert items == [(e.title, e.link) for e in parsed.entries] and len(items) == 5
        assert len(_xhtml(entries, "time")) == 5 and not _xhtml(entries, "p")
        assert b'<?xml-stylesheet type="text/css" href="http://localhost/static/feed.css"?>' in response.data
        problems = feedcheck.check(response.data, fmt, location=f"http://localhost/feeds/archive/all/1.{fmt}")
        assert not problems, feedcheck.format_problems(problems)


def test_the_static_build_writes_the_feed_stylesheet(app):
    publisher = Publisher(_site(app), "https://news.example.org")
    assert "/static/feed.css" in list(publisher.paths())
    assert publisher.resolve("/static/feed.css").render().startswith(b"/*")


def test_a_json_feed_opened_in_a_browser_reads_one_field_a_line(client):
    """Browsers show JSON as text: indented, a field a line, rather than one line of minified JSON."""
    import json

    body = client.get("/feeds/countries/france.json").data
    doc = json.loads(body)
    assert body.decode() == json.dumps(doc, ensure_ascii=False, indent=2) + "\n"
    lines = body.decode().splitlines()
    assert lines[:2] == ["{", '  "version": "https://jsonfeed.org/version/1.1",']
    for item in doc["items"]:
        assert f'      "title": {json.dumps(item["title"], ensure_ascii=False)},' in lines


def test_a_filtered_feed_says_so_in_a_browser(client):
    """Its tab, its kind and a line naming its filters, with a link to the whole feed."""
    data = client.get("/feeds/all.rss?country=fr,pe&q=Strike&limit=5", headers={"Sec-Fetch-Dest": "document"}).data
    (preview,) = _feed_document(data).find("channel").findall(f"{{{XHTML}}}div")
    assert [t.text for t in _xhtml(preview, "title")] == ["World Labour News (filtered RSS feed)"]
    (line,) = _xhtml(preview, "p", "feed-filter")
    assert text(line) == (
        "Only its articles from the countries fr,pe; at most 5; with all of the words strike. The whole feed"
    )
    assert [a.get("href") for a in _xhtml(line, "a")] == ["http://localhost/feeds/all.rss"]
    nothing = _feed_document(client.get("/feeds/all.atom?q=zzzz").data)
    assert [text(p) for p in _xhtml(nothing, "p", "feed-empty")] == [
        "No articles match yet: subscribe now and new ones will reach you."
    ]
    plain = _feed_document(client.get("/feeds/all.atom").data)
    assert _xhtml(plain, "p", "feed-filter") == []


def _long_topic(data_dir, count: int) -> None:
    """The shipped data with ``count`` more articles, all about strikes, the newest first."""
    listing = data_dir / "articles.txt"
    more = "".join(
        f"Strike {n} at the plant\n@topics: strikes\n\nWorkers walked out, day {n}.\n\n" for n in range(count, 0, -1)
    )
    listing.write_text(more + listing.read_text("utf-8"), "utf-8")


def test_a_feed_page_lists_ten_feeds_worth_of_articles_and_links_the_archive_for_the_rest(data_dir):
    """A topic of a large site has tens of thousands of articles: its page stays small, and the
    rest are a link away, in the archive page that holds the newest article not listed."""
    _long_topic(data_dir, 40)
    app = create_app({"DATA_DIR": str(data_dir), "TESTING": True, "RELOAD_INTERVAL": 0, "ENTRY_LIMIT": 3})
    client = app.test_client()
    feed = _site(app).feeds["topics/strikes"]
    assert len(feed.articles) > 30
    document = page(client, feed.html_path)
    assert [text(li.find("h3")) for li in _articles(document)] == [a.title for a in feed.articles[:3]]
    older = document.find(".//ol[@class='articles compact']")
    assert [a.get("href") for a in older.findall("li/a")] == [
        f"http://localhost/articles/{a.slug}" for a in feed.articles[3:30]
    ]
    (more,) = by_class(document, "p", "more-older")
    assert text(more) == f"{len(feed.articles) - 30} older articles, in the feed’s archive"
    archive = more.find("a").get("href")
    parsed = feedparser.parse(client.get(archive).data)
    assert parsed.feed.title == feed.title and not parsed.bozo
    assert f"http://localhost/articles/{feed.articles[30].slug}" in [e.link for e in parsed.entries]
    # a page that lists every article has no such link
    short = page(client, _site(app).feeds["topics/protests"].html_path)
    assert not by_class(short, "p", "more-older")


@pytest.mark.parametrize("fmt", ["atom", "rss"])
def test_a_person_goes_through_the_archive_by_the_previews_newer_and_older_links(data_dir, fmt):
    """From the newest archive page to the oldest by "Older articles", and back to the feed by
    "Newer articles": every article of the feed once, in the feed's order."""
    _long_topic(data_dir, 20)
    app = create_app({"DATA_DIR": str(data_dir), "TESTING": True, "RELOAD_INTERVAL": 0, "ENTRY_LIMIT": 3})
    client = app.test_client()
    feed = _site(app).feeds["topics/strikes"]
    current = f"http://localhost/feeds/topics/strikes.{fmt}"
    parsed = feedparser.parse(client.get(current).data)
    seen = [e.link for e in parsed.entries]
    url = next(link.href for link in parsed.feed.links if link.rel == "prev-archive")
    visited = []
    while url:
        visited.append(url)
        root = _feed_document(client.get(url).data)
        links = {a.text: a.get("href") for p in _xhtml(root, "p", "feed-links") for a in _xhtml(p, "a")}
        assert links["Newer articles"] == (visited[-2] if len(visited) > 1 else current)
        seen += [a.get("href") for ol in _xhtml(root, "ol", "entries brief") for a in _xhtml(ol, "a")]
        url = links.get("Older articles")
    assert visited[-1] == f"http://localhost/feeds/archive/topics/strikes/1.{fmt}"
    assert seen == [f"http://localhost/articles/{a.slug}" for a in feed.articles]
