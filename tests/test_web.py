"""The HTTP service through Flask's test client: URLs, types, validators, errors."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import brotli
import feedparser
import pytest

from .conftest import SEED_TITLES

TYPES = {
    "atom": "application/atom+xml; charset=utf-8",
    "rss": "application/rss+xml; charset=utf-8",
    "json": "application/feed+json; charset=utf-8",
}


@pytest.mark.parametrize("fmt", ["atom", "rss"])
def test_overall_feed_has_every_article_newest_first(client, fmt):
    response = client.get(f"/feeds/all.{fmt}")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == TYPES[fmt]
    parsed = feedparser.parse(response.data)
    assert parsed.bozo == 0
    assert [e.title for e in parsed.entries] == SEED_TITLES
    for entry in parsed.entries:
        assert entry.id.startswith("tag:") and entry.link.startswith("http://localhost/articles/")
        assert entry.published_parsed is not None


def test_json_feed_required_fields(client):
    response = client.get("/feeds/all.json")
    assert response.headers["Content-Type"] == TYPES["json"]
    doc = json.loads(response.data)
    assert doc["version"] == "https://jsonfeed.org/version/1.1"
    assert doc["title"] and doc["feed_url"] == "http://localhost/feeds/all.json"
    assert [i["title"] for i in doc["items"]] == SEED_TITLES
    for item in doc["items"]:
        assert isinstance(item["id"], str) and item["content_text"]


def test_country_feeds_slugs_and_iso_redirects(client):
    parsed = feedparser.parse(client.get("/feeds/countries/france.atom").data)
    assert parsed.feed.title.endswith(": France")
    assert len(parsed.entries) == 3
    response = client.get("/feeds/countries/fr.rss")
    assert response.status_code == 301
    assert response.headers["Location"] == "http://localhost/feeds/countries/france.rss"
    assert client.get("/feeds/countries/FR.json").headers["Location"].endswith("/feeds/countries/france.json")
    assert client.get("/countries/pe").headers["Location"].endswith("/countries/peru")


def test_the_iso_code_redirect_keeps_the_query(client):
    """Readers keep a 301: the filtered feed must stay filtered."""
    response = client.get("/feeds/countries/fr.atom?topic=strikes&limit=1")
    assert response.status_code == 301
    location = response.headers["Location"]
    assert location == "http://localhost/feeds/countries/france.atom?limit=1&topic=strikes"
    entries = feedparser.parse(client.get(location.replace("http://localhost", "")).data).entries
    assert len(entries) == 1 and "strikes" in [t.term for t in entries[0].tags]


def test_a_country_without_articles_has_a_valid_empty_feed(client):
    for fmt in ("atom", "rss"):
        response = client.get(f"/feeds/countries/iceland.{fmt}")
        assert response.status_code == 200
        parsed = feedparser.parse(response.data)
        assert parsed.bozo == 0 and parsed.entries == []
    assert json.loads(client.get("/feeds/countries/iceland.json").data)["items"] == []


def test_unknown_feeds_answer_404_with_a_helpful_page(client):
    for path in ("/feeds/countries/atlantis.atom", "/feeds/topics/gardening.rss", "/feeds/all.xml", "/feeds/all"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert response.headers["Content-Type"] == "text/html; charset=utf-8"
        assert b"/feeds/all.atom" in response.data and b"Traceback" not in response.data


def test_index_opml_article_pages_and_health(client):
    index = client.get("/")
    assert index.headers["Content-Type"] == "text/html; charset=utf-8"
    assert b'rel="alternate" type="application/atom+xml"' in index.data
    for title in SEED_TITLES[:3]:
        assert title.replace("’", "’").encode() in index.data
    opml = client.get("/feeds.opml")
    assert opml.headers["Content-Type"] == "text/x-opml; charset=utf-8"
    assert b'xmlUrl="http://localhost/feeds/countries/france.atom"' in opml.data
    entry = feedparser.parse(client.get("/feeds/all.atom").data).entries[0]
    page = client.get(entry.link.replace("http://localhost", ""))
    assert page.status_code == 200 and entry.title.encode() in page.data
    health = client.get("/healthz").get_json()
    assert health["status"] == "ok" and health["articles"] == 12 and health["version"]


def test_conditional_get_and_compression(client):
    first = client.get("/feeds/all.atom")
    etag, modified = first.headers["ETag"], first.headers["Last-Modified"]
    assert first.headers["Cache-Control"] == "public, max-age=300"
    assert first.headers["Access-Control-Allow-Origin"] == "*"
    again = client.get("/feeds/all.atom", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.data == b"" and again.headers["ETag"] == etag
    by_date = client.get("/feeds/all.atom", headers={"If-Modified-Since": modified})
    assert by_date.status_code == 304
    wrong_tag = client.get("/feeds/all.atom", headers={"If-None-Match": '"nope"', "If-Modified-Since": modified})
    assert wrong_tag.status_code == 200  # If-None-Match wins
    gz = client.get("/feeds/all.atom", headers={"Accept-Encoding": "gzip"})
    assert gz.headers["Content-Encoding"] == "gzip" and "Accept-Encoding" in gz.headers["Vary"]
    assert gzip.decompress(gz.data) == first.data and gz.headers["ETag"] != etag
    # a 304 keeps what guides caches and leaves out what describes a body (RFC 9110 15.4.5)
    gz_again = client.get("/feeds/all.atom", headers={"Accept-Encoding": "gzip", "If-None-Match": gz.headers["ETag"]})
    assert gz_again.status_code == 304 and "Content-Encoding" not in gz_again.headers
    assert gz_again.headers["Vary"] == gz.headers["Vary"] and gz_again.headers["Cache-Control"] == "public, max-age=300"
    br = client.get("/feeds/all.atom", headers={"Accept-Encoding": "gzip;q=0.5, br"})
    assert br.headers["Content-Encoding"] == "br" and brotli.decompress(br.data) == first.data
    for old_name in ("x-gzip", "x-gzip, br;q=0.5"):  # RFC 9110 8.4.1.3
        legacy = client.get("/feeds/all.atom", headers={"Accept-Encoding": old_name})
        assert legacy.headers["Content-Encoding"] == "gzip" and gzip.decompress(legacy.data) == first.data
        assert legacy.headers["ETag"] == gz.headers["ETag"]
    none = client.get("/feeds/all.atom", headers={"Accept-Encoding": "gzip;q=0, br;q=0"})
    assert "Content-Encoding" not in none.headers and none.data == first.data
    head = client.head("/feeds/all.atom")
    assert head.data == b"" and head.headers["ETag"] == etag


def test_unchanged_feed_is_rendered_once(app, client):
    live = app.extensions["feeds"]
    client.get("/feeds/all.atom")
    count = live.renders
    for _ in range(5):
        client.get("/feeds/all.atom", headers={"Accept-Encoding": "gzip"})
        client.get("/feeds/all.atom")
    assert live.renders == count


def test_base_url_setting_makes_every_link_absolute_on_it(data_dir: Path):
    from feeds.serve.app import create_app

    app = create_app({"DATA_DIR": str(data_dir), "BASE_URL": "https://news.example.org/sub/", "RELOAD_INTERVAL": 0})
    parsed = feedparser.parse(app.test_client().get("/feeds/all.atom").data)
    assert parsed.feed.links[0].href.startswith("https://news.example.org/sub/")
    assert all(e.link.startswith("https://news.example.org/sub/articles/") for e in parsed.entries)


def test_metadata_reaches_every_format(data_dir: Path):
    from feeds.serve.app import create_app

    listing = data_dir / "articles.txt"
    listing.write_text(
        "Dockers Strike in Le Havre\n@author: José Martínez\n@link: https://exämple.org/grève?x=é\n"
        "@date: 2023-03-17 09:30 CET\n\nDockers struck.\n\n" + listing.read_text("utf-8"),
        "utf-8",
    )
    client = create_app({"DATA_DIR": str(data_dir), "RELOAD_INTERVAL": 0}).test_client()
    for fmt in ("atom", "rss"):
        entry = [e for e in feedparser.parse(client.get(f"/feeds/all.{fmt}").data).entries if "Havre" in e.title][0]
        assert entry.author == "José Martínez", fmt
        assert entry.link == "https://xn--exmple-cua.org/gr%C3%A8ve?x=%C3%A9"
        assert entry.published == ("2023-03-17T08:30:00+00:00" if fmt == "atom" else "Fri, 17 Mar 2023 08:30:00 +0000")
    item = [i for i in client.get("/feeds/all.json").get_json()["items"] if "Havre" in i["title"]][0]
    assert item["authors"] == [{"name": "José Martínez"}] and item["date_published"] == "2023-03-17T08:30:00Z"


def test_an_edit_re_renders_only_the_feeds_it_touches(app, client, data_dir: Path):
    """After a reload, a feed whose entries did not change keeps its bytes and ETag unrendered."""
    live = app.extensions["feeds"]
    paths = ["/feeds/countries/france.atom", "/feeds/countries/peru.atom", "/feeds/all.atom"]
    before = {path: client.get(path) for path in paths}
    listing = data_dir / "articles.txt"
    old = "repression no longer works to cow the masses."
    text = listing.read_text("utf-8")
    assert old in text
    listing.write_text(text.replace(old, old + " The strike spreads to the south.", 1), "utf-8")
    assert live.reload()
    count = live.renders
    after = {path: client.get(path) for path in paths}
    assert live.renders == count + 2, "France's feed was rendered again though no French article changed"
    france = "/feeds/countries/france.atom"
    assert after[france].data == before[france].data and after[france].headers["ETag"] == before[france].headers["ETag"]
    for path in paths[1:]:
        assert b"The strike spreads to the south." in after[path].data
        assert after[path].headers["ETag"] != before[path].headers["ETag"]


def test_documents_with_equal_input_digests_have_equal_bytes(data_dir: Path):
    """The digest that lets a feed skip re-rendering covers everything written, archives included."""
    from feeds.pipeline.load import load
    from feeds.render.documents import Publisher, PublishOptions

    options = PublishOptions(entry_limit=3)  # archive pages, and entries moving between them
    first = Publisher(load(data_dir).site, "https://news.example.org", options)
    listing = data_dir / "articles.txt"
    text = listing.read_text("utf-8")
    listing.write_text("Chile: Dockers Strike in Valparaíso\n\nPorts stop.\n\n" + text, "utf-8")
    second = Publisher(load(data_dir).site, "https://news.example.org", options)
    same = differ = 0
    for path in [p for p in second.paths() if p.startswith("/feeds/")]:
        old, new = first.resolve(path), second.resolve(path)
        if old is None:
            continue
        if old.inputs() == new.inputs():
            assert old.render() == new.render(), path
            same += 1
        else:
            differ += 1
    assert same > 100 and differ > 10


def test_the_site_version_changes_with_what_is_published_and_only_then(data_dir: Path):
    from feeds.pipeline.load import load

    def version() -> str:
        return load(data_dir, persist=False).site.version

    first = version()
    assert len(first) == 16 and version() == first
    listing = data_dir / "articles.txt"
    text = listing.read_text("utf-8")
    title = SEED_TITLES[0]
    edits = {
        "summary": text.replace(title + "\n\n", title + "\n\nA new first sentence. ", 1),
        "tags": text.replace(title + "\n", title + "\n@countries: +Iceland\n", 1),
    }
    for what, edited in edits.items():
        listing.write_text(edited, "utf-8")
        assert version() != first, what
    listing.write_text(text, "utf-8")
    assert version() == first


def test_a_feed_opened_in_a_browser_may_load_its_stylesheet_and_script_and_nothing_else(client):
    from urllib.parse import urlsplit

    from lxml import etree

    browser = {"Sec-Fetch-Dest": "document", "Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
    for path in ("/feeds/all.atom", "/feeds/topics/strikes.rss", "/feeds.opml"):
        page = client.get(path, headers=browser)
        assert page.headers["Content-Type"] == "application/xml; charset=utf-8"
        assert page.headers["Content-Security-Policy"] == "default-src 'none'; style-src 'self'; script-src 'self'"
        stylesheet = etree.fromstring(page.data).getprevious()
        assert stylesheet.target == "xml-stylesheet" and urlsplit(stylesheet.get("href")).netloc == "localhost"
        assert client.get(stylesheet.get("href")).status_code == 200
        scripts = [s.get("src") for s in etree.fromstring(page.data).iter("{http://www.w3.org/1999/xhtml}script")]
        assert [urlsplit(src).netloc for src in scripts] == ["localhost"]
        assert client.get(scripts[0]).headers["Content-Type"] == "text/javascript; charset=utf-8"
        again = client.get(path, headers={**browser, "If-None-Match": page.headers["ETag"]})
        assert (
            again.status_code == 304
            and again.headers["Content-Security-Policy"] == page.headers["Content-Security-Policy"]
        )
        assert "Content-Security-Policy" not in client.get(path).headers  # a reader gets the feed type
