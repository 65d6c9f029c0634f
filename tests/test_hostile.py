"""Hostile text: whatever the listing holds, every feed is well-formed and reads back exactly."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

import feedparser
import html5lib
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from feeds.pipeline.load import load, load_tagger
from feeds.pipeline.parse import decode, parse_text
from feeds.render.documents import Publisher

from .conftest import SHIPPED

TAGGER = load_tagger(SHIPPED)
NOW = datetime(2026, 1, 1, tzinfo=UTC)
NASTY = ["<script>alert(1)</script>", "]]>", "&amp;", "&", '"quoted"', "'single'", "<b>bold</b>", "\x00", "\ufffe"]

_text = st.one_of(
    st.text(min_size=1, max_size=80),
    st.lists(st.sampled_from(NASTY + ["Peru", "strike", "Macron’s", "   ", "\u200b", "\ud800"]), min_size=1).map(
        " ".join
    ),
)


def _publish(tmp: Path, text: str) -> tuple[list, Publisher]:
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    (tmp / "a.txt").write_bytes(text.encode("utf-8", "surrogatepass"))
    site = load(tmp, now=NOW, tagger=TAGGER).site
    return list(site.articles), Publisher(site, "https://x.example")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(_text, _text), min_size=1, max_size=4))
def test_any_text_gives_well_formed_feeds_that_read_back_exactly(tmp_path_factory, articles):
    tmp = tmp_path_factory.mktemp("hostile")
    listing = "".join(f"{t}\n\n{s}\n\n" for t, s in articles)
    entries = parse_text(decode(listing.encode("utf-8", "surrogatepass"), "a.txt")[0]).entries
    published, publisher = _publish(tmp / "d", listing)
    assert len(published) == len(entries)  # nothing dropped silently
    expected = {a.id: (a.title, a.summary) for a in published}
    for fmt in ("atom", "rss", "json"):
        body = publisher.resolve(f"/feeds/all.{fmt}").render()
        if fmt == "json":
            items = json.loads(body)["items"]
            got = {i["id"]: (i["title"], i["summary"]) for i in items}
            assert got == expected
            continue
        root = etree.fromstring(body)  # well-formed XML 1.0, and the exact text inside
        if fmt == "atom":
            ns = {"a": "http://www.w3.org/2005/Atom"}
            got = {
                e.findtext("a:id", namespaces=ns): (
                    e.findtext("a:title", namespaces=ns),
                    e.findtext("a:summary", namespaces=ns),
                )
                for e in root.iterfind("a:entry", ns)
            }
            assert got == {k: (t, s or t) for k, (t, s) in expected.items()}
        else:
            got = {i.findtext("guid"): i.findtext("title") for i in root.iter("item")}
            assert got == {k: t for k, (t, _) in expected.items()}
        # feedparser (which "repairs" some mojibake-looking text on its own) must read it cleanly
        parsed = feedparser.parse(body)
        assert parsed.bozo == 0, parsed.get("bozo_exception")
        assert [e.id for e in parsed.entries] == [a.id for a in published]
    for article in published:
        page = publisher.resolve(f"/articles/{article.slug}").render()
        parser = html5lib.HTMLParser()
        parser.parse(page)
        assert b"<script>alert" not in page
        assert not parser.errors


def test_injection_is_shown_as_text_everywhere(tmp_path: Path):
    title = "<script>alert('x')</script> & ]]> \"Q\""
    published, publisher = _publish(tmp_path / "d", f"{title}\n\nSummary <b>not bold</b> & more ]]>.\n")
    (article,) = published
    for path in ("/", f"/articles/{article.slug}"):
        page = publisher.resolve(path).render().decode()
        assert "<script>alert" not in page
        assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; ]]&gt; &#34;Q&#34;" in page
    atom = feedparser.parse(publisher.resolve("/feeds/all.atom").render())
    assert atom.entries[0].title == title
    assert atom.entries[0].summary == "Summary <b>not bold</b> & more ]]>."
    rss = feedparser.parse(publisher.resolve("/feeds/all.rss").render())
    assert rss.entries[0].title == title


GOOD_HOSTS = ["news.example.org:8080", "127.0.0.1:8000", "[::1]:8000", "xn--exmple-cua.org", "app_1"]
BAD_HOSTS = ["a?>", "x:abc", 'a" type="text/xsl" x="', "a b", "a.example:123456", "a.example, b.example", "<x>", "a&b"]


def test_a_host_that_is_not_host_and_port_answers_400_before_reaching_a_renderer(client):
    """RFC 9110 7.2; the Host is written into every link and the xml-stylesheet line when no base URL is set."""
    for host in BAD_HOSTS:
        for path in ("/feeds/all.atom", "/", "/feeds/all.json?q=strike", "/no/such/page", "/healthz"):
            response = client.get(path, headers={"Host": host})
            assert response.status_code == 400, (host, path)
            assert response.headers["Content-Type"] == "text/plain; charset=utf-8"
            assert b"Host" in response.data
    # two Host lines (the test client joins them, as servers do)
    assert client.get("/", headers=[("Host", "a.example"), ("Host", "b.example")]).status_code == 400
    for host in GOOD_HOSTS:
        response = client.get("/feeds/all.atom", headers={"Host": host})
        assert response.status_code == 200, host
        assert f'href="http://{host}/static/feed.css"'.encode() in response.data
