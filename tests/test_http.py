"""Archives (RFC 5005), filters and live reloading of the service."""

from __future__ import annotations

import time
from pathlib import Path

import feedparser
import pytest

PLACES = ["Peru", "France", "Greece", "Mexico", "Kenya", "Chile", "India", "Poland"]


@pytest.fixture(scope="module")
def big_client(tmp_path_factory):
    """1,000 distinct articles: twenty archive pages of fifty."""
    data = tmp_path_factory.mktemp("big")
    listing = "".join(
        f"{PLACES[n % len(PLACES)]}: Strike Number {n} Spreads\n\nWorkers in dispute {n} walked out for a week.\n\n"
        for n in range(1000)
    )
    (data / "articles.txt").write_text(listing, "utf-8")
    from feeds.serve.app import create_app

    app = create_app({"DATA_DIR": str(data), "ENTRY_LIMIT": 50, "RELOAD_INTERVAL": 0})
    return app.test_client()


def _path(url: str) -> str:
    return url.replace("http://localhost", "")


@pytest.mark.parametrize("fmt", ["atom", "rss"])
def test_prev_archive_chain_visits_every_article_exactly_once(big_client, fmt):
    seen: list[str] = []
    parsed = feedparser.parse(big_client.get(f"/feeds/all.{fmt}").data)
    assert parsed.bozo == 0 and len(parsed.entries) == 50
    pages = 0
    while True:
        seen += [e.id for e in parsed.entries]
        prev = [link.href for link in parsed.feed.get("links", []) if link.rel == "prev-archive"]
        if not prev:
            break
        response = big_client.get(_path(prev[0]))
        assert response.status_code == 200
        parsed = feedparser.parse(response.data)
        assert parsed.bozo == 0
        assert any(link.rel == "current" for link in parsed.feed.links)
        pages += 1
    assert len(seen) == 1000 and len(set(seen)) == 1000
    assert pages == 19


def test_full_archive_pages_are_immutable_and_cached_long(big_client):
    first = big_client.get("/feeds/archive/all/1.atom")
    assert first.status_code == 200
    assert first.headers["Cache-Control"] == "public, max-age=2592000"
    assert b"<fh:archive" in first.data or b"archive xmlns" in first.data
    assert big_client.get("/feeds/archive/all/0.atom").status_code == 404
    assert big_client.get("/feeds/archive/all/99.atom").status_code == 404


def test_json_feed_pages_with_next_url(big_client):
    doc = big_client.get("/feeds/all.json").get_json()
    ids = [i["id"] for i in doc["items"]]
    while "next_url" in doc:
        doc = big_client.get(_path(doc["next_url"])).get_json()
        ids += [i["id"] for i in doc["items"]]
    assert len(ids) == len(set(ids)) == 1000


def test_filters_select_exactly_the_matching_articles(client):
    all_entries = feedparser.parse(client.get("/feeds/all.atom").data).entries
    parsed = feedparser.parse(client.get("/feeds/all.atom?q=lockdown").data)
    expected = [e.id for e in all_entries if "lockdown" in (e.title + e.summary).lower()]
    assert [e.id for e in parsed.entries] == expected and expected
    parsed = feedparser.parse(client.get("/feeds/all.atom?limit=3").data)
    assert [e.id for e in parsed.entries] == [e.id for e in all_entries[:3]]
    parsed = feedparser.parse(client.get("/feeds/all.atom?exclude=peru").data)
    assert all("peru" not in (e.title + e.summary).lower() for e in parsed.entries) and parsed.entries
    assert len(parsed.entries) == len(all_entries) - 3
    parsed = feedparser.parse(client.get("/feeds/all.atom?country=fr,pe&topic=strikes").data)
    titles = [e.title for e in parsed.entries]
    assert titles and all(("France" in t or "Peru" in t) and "Strike" in t for t in titles)
    self_link = [link.href for link in parsed.feed.links if link.rel == "self"][0]
    assert self_link == "http://localhost/feeds/all.atom?country=fr,pe&topic=strikes"


@pytest.mark.parametrize(
    "query, message",
    [
        ("limit=0", "limit must be a whole number from 1 to 500"),
        ("limit=501", "limit must be a whole number from 1 to 500"),
        ("limit=abc", "limit must be a whole number"),
        ("country=atlantis", "unknown country 'atlantis'"),
        ("topic=gardening", "unknown topic 'gardening'"),
        ("q=", "q and exclude need at least one word"),
        ("limit=%C2%B2", "limit must be a whole number from 1 to 500"),  # superscript two
        ("limit=%D9%A3", "limit must be a whole number from 1 to 500"),  # Arabic-Indic three: int() reads it
    ],
)
def test_invalid_filters_answer_400_with_what_is_accepted(client, query, message):
    response = client.get(f"/feeds/all.atom?{query}")
    assert response.status_code == 400
    assert response.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert message in response.get_data(as_text=True)


def test_parameters_that_are_not_filters_are_ignored_as_a_static_host_ignores_them(client):
    """A shared link's tracking parameters or a reader's cache-buster reach the document itself:
    the same bytes and validators, ``rel=self`` the feed's own URL; a filter beside them applies."""
    feed = client.get("/feeds/all.atom")
    page = client.get("/")
    article = next(link.href for link in feedparser.parse(feed.data).entries[0].links if link.rel == "alternate")
    article_path = article.removeprefix("http://localhost")
    for query in ("utm_source=newsletter&utm_medium=email", "_=1733140000", "colour=red"):
        again = client.get(f"/feeds/all.atom?{query}")
        assert again.status_code == 200 and again.data == feed.data and again.headers["ETag"] == feed.headers["ETag"]
        assert client.get(f"/?{query}").data == page.data
        assert client.get(f"{article_path}?fbclid=IwAR0x").data == client.get(article_path).data
    narrowed = feedparser.parse(client.get("/feeds/all.atom?limit=1&utm_source=x").data)
    assert len(narrowed.entries) == 1
    assert [link.href for link in narrowed.feed.links if link.rel == "self"] == [
        "http://localhost/feeds/all.atom?limit=1"
    ]


def test_distinct_queries_and_hosts_stay_within_the_cache_bytes_and_keep_the_site_cached(data_dir: Path):
    from feeds.serve.app import create_app

    bound = 2 * 2**20
    client = create_app({"DATA_DIR": str(data_dir), "RELOAD_INTERVAL": 0, "CACHE_BYTES": bound}).test_client()
    own = {path: client.get(path).data for path in ("/", "/feeds/all.atom", "/feeds/countries/france.rss")}
    for n in range(300):
        assert client.get(f"/feeds/all.atom?limit=500&exclude=w{n}").status_code == 200
        assert client.get("/feeds/all.atom", headers={"Host": f"h{n}.example"}).status_code == 200
    health = client.get("/healthz").get_json()
    assert 0 < health["cache_bytes"] <= bound
    for path, body in own.items():  # the site's own documents were never evicted: no render
        assert client.get(path).data == body
    assert client.get("/healthz").get_json()["renders"] == health["renders"]


def test_live_data_changes_are_served_and_broken_edits_keep_the_last_good_version(data_dir: Path):
    from feeds.serve.app import create_app

    app = create_app({"DATA_DIR": str(data_dir), "RELOAD_INTERVAL": 0.2})
    client = app.test_client()
    first = client.get("/feeds/all.atom")
    listing = data_dir / "articles.txt"

    def wait_for(predicate, timeout=5.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            time.sleep(0.25)
            if predicate():
                return True
        return False

    (data_dir / "extra.txt").write_text("Brand New Article About Chile\n\nSantiago workers strike.\n", "utf-8")
    assert wait_for(lambda: b"Brand New Article" in client.get("/feeds/all.atom").data)
    changed = client.get("/feeds/all.atom", headers={"If-None-Match": first.headers["ETag"]})
    assert changed.status_code == 200 and changed.headers["ETag"] != first.headers["ETag"]
    good = client.get("/feeds/all.atom").data
    listing.write_text(listing.read_text("utf-8") + "\n\nBroken\n@nonsense: x\n\nText.\n", "utf-8")
    assert wait_for(lambda: client.get("/healthz").get_json()["status"] == "degraded")
    health = client.get("/healthz").get_json()
    assert any(f"{listing}:" in e and "@nonsense" in e for e in health["errors"])
    assert client.get("/feeds/all.atom").data == good
    (data_dir / "extra.txt").unlink()
    listing.write_text(listing.read_text("utf-8").split("\n\nBroken")[0], "utf-8")
    assert wait_for(lambda: b"Brand New Article" not in client.get("/feeds/all.atom").data)
    assert client.get("/healthz").get_json()["status"] == "ok"
