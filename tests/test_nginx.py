"""Static hosting: ``feeds build --precompress`` served by nginx with deploy/nginx.conf.

The system tests install deploy/nginx.conf as a user does (only ``listen`` and ``root``
changed) and ask it what test_web.py asks the service: every feed parses with the same
entries, content types carry the charset, gzip, 304s, the ISO-code 301s, pages without a
trailing slash, the 404 page, and Newsboat stores every item.
"""

from __future__ import annotations

import gzip
import http.client
import json
import os
import re
import shutil
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import Message
from pathlib import Path
from urllib.parse import urljoin

import feedparser
import pytest
from click.testing import CliRunner

from feeds.cli import main
from feeds.pipeline.index import Feed, Site
from feeds.pipeline.load import load
from feeds.serve.http import BROWSER_XML, BROWSER_XML_CSP, is_browser_navigation

from .conftest import ROOT, SHIPPED, free_port, require_program

DEPLOY = ROOT / "deploy"
FORMATS = ("atom", "rss", "json")
TYPES = {
    "atom": "application/atom+xml; charset=utf-8",
    "rss": "application/rss+xml; charset=utf-8",
    "json": "application/feed+json; charset=utf-8",
    "opml": "text/x-opml; charset=utf-8",
    "html": "text/html; charset=utf-8",
    "css": "text/css; charset=utf-8",
    "js": "text/javascript; charset=utf-8",
}
MAX_AGE = "public, max-age=300"
# Atom and RSS are negotiated (a browser navigation gets application/xml): one Vary header.
NEGOTIATED_VARY = "Accept, Sec-Fetch-Dest, Accept-Encoding"
CSP = "default-src 'self'"
REFERRER = "strict-origin-when-cross-origin"
HUB = "https://hub.example.net/"  # put into deploy/nginx.conf's Link header as a user does


def test_country_redirects_conf_is_the_output_of_feeds_nginx_map():
    result = CliRunner().invoke(main, ["nginx-map", "--data-dir", str(SHIPPED)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert (DEPLOY / "country-redirects.conf").read_text("utf-8") == result.stdout, (
        "deploy/country-redirects.conf is stale: feeds nginx-map > deploy/country-redirects.conf"
    )


def test_nginx_map_sends_every_code_where_the_service_does(tmp_path: Path):
    shutil.copytree(SHIPPED, tmp_path / "data", ignore=shutil.ignore_patterns("*.lock"))
    site = load(tmp_path / "data", persist=False).site
    text = CliRunner().invoke(main, ["nginx-map", "--data-dir", str(tmp_path / "data")]).stdout
    entries = dict(re.findall(r"^    ([a-z]{2}) ([a-z0-9-]+);$", text, re.M))
    expected = {f.code.lower(): f.slug for f in site.feeds.values() if f.kind == "country"}
    assert entries == expected and len(entries) == 249
    assert "map $feeds_country_code $feeds_country_slug {" in text


# -- nginx serving a build -------------------------------------------------------------------


@dataclass
class Response:
    status: int
    headers: Message
    body: bytes


@dataclass
class Nginx:
    url: str
    port: int
    out: Path
    site: Site
    tmp: Path

    def get(self, path: str, headers: dict[str, str] | None = None, method: str = "GET") -> Response:
        """One request, as sent: no redirect following, no decompression."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            conn.request(method, path, headers=headers or {})
            response = conn.getresponse()
            return Response(response.status, response.headers, response.read())
        finally:
            conn.close()

    def file(self, name: str) -> bytes:
        return (self.out / name).read_bytes()


def _substitute(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, f"deploy/nginx.conf must contain {old!r} exactly once"
    return text.replace(old, new)


@pytest.fixture(scope="module")
def nginx(tmp_path_factory) -> Iterator[Nginx]:
    program = require_program("nginx")
    tmp = tmp_path_factory.mktemp("nginx")
    data = tmp / "data"
    shutil.copytree(SHIPPED, data, ignore=shutil.ignore_patterns("*.lock"))
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    out = tmp / "public"
    result = CliRunner().invoke(
        main, ["build", str(out), "--base-url", url, "--precompress", "-q", "--data-dir", str(data)]
    )
    assert result.exit_code == 0, result.output
    site = load(data, persist=False).site

    # The user's layout: deploy/nginx.conf and country-redirects.conf in <conf dir>/feeds/,
    # included inside http { } of the main configuration.
    conf = tmp / "conf"
    (conf / "feeds").mkdir(parents=True)
    shutil.copy(DEPLOY / "country-redirects.conf", conf / "feeds")
    server = (DEPLOY / "nginx.conf").read_text("utf-8")
    server = _substitute(server, "listen 80;", f"listen 127.0.0.1:{port};")
    server = _substitute(server, "root /srv/feeds/public;", f'root "{out}";')
    server = _substitute(server, "<https://hub.example.org/>", f"<{HUB}>")
    server = _substitute(server, "<https://news.example.org$feeds_topic>", f"<{url}$feeds_topic>")
    (conf / "feeds" / "nginx.conf").write_text(server, "utf-8")
    (tmp / "temp").mkdir()
    kinds = ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    temp = "\n".join(f'    {kind}_temp_path "{tmp}/temp/{kind}";' for kind in kinds)
    # Under root the workers would run as nobody, who cannot read pytest's private tmp dirs.
    user = "user root;\n" if os.geteuid() == 0 else ""
    (conf / "nginx.conf").write_text(
        f"""{user}daemon off;
worker_processes 1;
pid "{tmp}/nginx.pid";
error_log "{tmp}/error.log" notice;
events {{
    worker_connections 256;
}}
http {{
    access_log "{tmp}/access.log";
{temp}
    sendfile on;
    # Debian's nginx.conf turns on gzip: the precompressed files must still be what is sent.
    gzip on;
    include feeds/nginx.conf;
}}
""",
        "utf-8",
    )
    command = [program, "-p", f"{conf}/", "-c", str(conf / "nginx.conf"), "-e", str(tmp / "error.log")]
    check = subprocess.run([*command, "-t"], capture_output=True, text=True)
    assert check.returncode == 0 and "[warn]" not in check.stderr, check.stderr
    log = tmp / "nginx.out"
    proc = subprocess.Popen(command, stdout=log.open("wb"), stderr=subprocess.STDOUT)
    running = Nginx(url, port, out, site, tmp)
    deadline = time.monotonic() + 15
    while True:
        try:
            running.get("/")
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                errors = (tmp / "error.log").read_text() if (tmp / "error.log").exists() else ""
                raise RuntimeError(f"nginx did not start:\n{log.read_text()}\n{errors}") from None
            time.sleep(0.05)
    yield running
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _feeds(site: Site) -> list[Feed]:
    """all, every non-empty country and topic, and a spread of empty country feeds."""
    full = [f for f in site.feeds.values() if f.articles]
    empty = [f for f in site.countries() if not f.articles]
    return full + empty[::40] + [site.feeds["countries/iceland"]]


def _entries(parsed) -> list[tuple[str, str, str]]:
    return [(e.id, e.title, e.link) for e in parsed.entries]


@pytest.mark.system
def test_every_feed_is_served_as_built_and_parses_with_the_same_entries(nginx: Nginx):
    feeds = _feeds(nginx.site)
    keys = {f.key for f in feeds}
    assert {"all", "countries/france", "countries/peru", "topics/strikes", "countries/iceland"} <= keys
    for feed in feeds:
        expected = [a.id for a in feed.articles[:50]]
        for fmt in FORMATS:
            path = f"/feeds/{feed.key}.{fmt}"
            response = nginx.get(path)
            assert response.status == 200, path
            assert response.headers["Content-Type"] == TYPES[fmt], path
            assert response.body == nginx.file(path[1:]), path
            assert response.headers["Cache-Control"] == MAX_AGE
            assert response.headers["Access-Control-Allow-Origin"] == "*"
            assert response.headers["X-Content-Type-Options"] == "nosniff"
            vary = "Accept-Encoding" if fmt == "json" else NEGOTIATED_VARY
            assert response.headers.get_all("Vary") == [vary], path
            assert "Content-Security-Policy" not in response.headers
            assert response.headers.get_all("Link") == [f'<{HUB}>; rel="hub", <{nginx.url}{path}>; rel="self"']
            if fmt == "json":  # feedparser 6 reads no JSON Feed
                doc = json.loads(response.body)
                assert doc["version"] == "https://jsonfeed.org/version/1.1" and doc["title"], path
                assert doc["feed_url"] == nginx.url + path
                assert [item["id"] for item in doc["items"]] == expected, path
                continue
            # as a feed reader fetches it (feedparser asks for gzip and checks the type)
            parsed = feedparser.parse(nginx.url + path)
            assert parsed.status == 200 and parsed.headers["content-encoding"] == "gzip", path
            assert parsed.bozo == 0, (path, parsed.get("bozo_exception"))
            assert [e.id for e in parsed.entries] == expected, path
            assert _entries(parsed) == _entries(feedparser.parse(nginx.file(path[1:]))), path


@pytest.mark.system
@pytest.mark.parametrize(
    "path, kind",
    [
        ("/", "html"),
        ("/countries/france", "html"),
        ("/topics/strikes", "html"),
        ("/countries/iceland", "html"),
        ("/feeds.opml", "opml"),
        ("/static/style.css", "css"),
        ("/static/copy.js", "js"),
    ],
)
def test_content_types_and_headers_match_the_service(nginx: Nginx, path: str, kind: str):
    response = nginx.get(path)
    assert response.status == 200
    assert response.headers["Content-Type"] == TYPES[kind]
    name = "index.html" if path == "/" else path[1:] + ("/index.html" if kind == "html" else "")
    assert response.body == nginx.file(name)
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    vary = NEGOTIATED_VARY if kind == "opml" else "Accept-Encoding"  # OPML is negotiated as feeds are
    assert response.headers.get_all("Vary") == [vary]
    assert response.headers["ETag"] and response.headers["Last-Modified"]
    assert "Link" not in response.headers  # only subscription feeds name a hub
    if kind == "html":
        assert response.headers["Content-Security-Policy"] == CSP
        assert response.headers["Referrer-Policy"] == REFERRER
        assert "Access-Control-Allow-Origin" not in response.headers
    else:
        assert "Content-Security-Policy" not in response.headers
    if kind == "opml":
        assert response.headers["Access-Control-Allow-Origin"] == "*"
    if kind in ("css", "js"):
        assert response.headers["Cache-Control"] == "public, max-age=86400"
    else:
        assert response.headers["Cache-Control"] == MAX_AGE


@pytest.mark.system
def test_gzip_sends_the_precompressed_bytes(nginx: Nginx):
    for path, name in [("/feeds/all.atom", "feeds/all.atom"), ("/", "index.html"), ("/feeds.opml", "feeds.opml")]:
        plain = nginx.get(path)
        assert "Content-Encoding" not in plain.headers and plain.body == nginx.file(name)
        packed = nginx.get(path, {"Accept-Encoding": "gzip, deflate, br"})
        assert packed.status == 200 and packed.headers["Content-Encoding"] == "gzip", path
        assert packed.body == nginx.file(name + ".gz"), path
        assert gzip.decompress(packed.body) == plain.body
        vary = NEGOTIATED_VARY if path.endswith((".atom", ".opml")) else "Accept-Encoding"
        assert packed.headers.get_all("Vary") == plain.headers.get_all("Vary") == [vary], path
        assert packed.headers["Content-Type"] == plain.headers["Content-Type"]
        assert packed.headers["ETag"] != plain.headers["ETag"]
    refused = nginx.get("/feeds/all.atom", {"Accept-Encoding": "gzip;q=0"})
    assert "Content-Encoding" not in refused.headers and refused.body == nginx.file("feeds/all.atom")
    for hidden in ("/feeds/all.atom.gz", "/feeds/all.atom.br", "/index.html.gz"):
        assert nginx.get(hidden).status == 404, hidden


@pytest.mark.system
def test_conditional_requests_answer_304(nginx: Nginx):
    first = nginx.get("/feeds/all.atom")
    etag, modified = first.headers["ETag"], first.headers["Last-Modified"]
    again = nginx.get("/feeds/all.atom", {"If-None-Match": etag})
    assert again.status == 304 and again.body == b"" and again.headers["ETag"] == etag
    by_date = nginx.get("/feeds/all.atom", {"If-Modified-Since": modified})
    assert by_date.status == 304 and by_date.body == b""
    wrong_tag = nginx.get("/feeds/all.atom", {"If-None-Match": '"nope"', "If-Modified-Since": modified})
    assert wrong_tag.status == 200  # If-None-Match wins
    packed = nginx.get("/feeds/all.atom", {"Accept-Encoding": "gzip"})
    assert (
        nginx.get("/feeds/all.atom", {"Accept-Encoding": "gzip", "If-None-Match": packed.headers["ETag"]}).status == 304
    )
    page = nginx.get("/countries/france")
    assert nginx.get("/countries/france", {"If-None-Match": page.headers["ETag"]}).status == 304
    head = nginx.get("/feeds/all.atom", method="HEAD")
    assert head.status == 200 and head.body == b"" and head.headers["ETag"] == etag


# -- Atom and RSS opened in a browser: application/xml (feeds/respond.py) --------------------

FIREFOX_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
READER_ACCEPT = "application/atom+xml, application/rss+xml, text/html;q=0.5"
BROWSER = {"Sec-Fetch-Dest": "document", "Accept": FIREFOX_ACCEPT}
READER = {"Accept": READER_ACCEPT}
# (request headers, whether the service's rule calls it a browser navigation)
NAVIGATIONS = [
    pytest.param({"Sec-Fetch-Dest": "document"}, True, id="sec-fetch-dest"),
    pytest.param({"Sec-Fetch-Dest": " Document "}, True, id="sec-fetch-dest-case"),
    pytest.param({"Accept": FIREFOX_ACCEPT}, True, id="browser-accept"),
    pytest.param({"Accept": "TEXT/HTML"}, True, id="accept-case"),
    pytest.param(BROWSER, True, id="browser"),
    pytest.param({"Sec-Fetch-Dest": "document", "Accept": READER_ACCEPT}, True, id="dest-wins"),
    pytest.param({}, False, id="no-accept"),
    pytest.param(READER, False, id="reader-accept"),
    pytest.param({"Accept": "text/html, Application/RSS+XML"}, False, id="reader-accept-case"),
    pytest.param({"Accept": "*/*"}, False, id="any"),
    pytest.param({"Accept": "application/xml"}, False, id="xml"),
    pytest.param({"Sec-Fetch-Dest": "empty", "Accept": "*/*"}, False, id="fetch"),
    pytest.param({"Sec-Fetch-Dest": "documents"}, False, id="not-document"),
]


def _negotiated_headers(response: Response, path: str, browser: bool = False) -> None:
    assert response.headers.get_all("Vary") == [NEGOTIATED_VARY], path
    assert response.headers["Cache-Control"] == MAX_AGE, path
    assert response.headers["Access-Control-Allow-Origin"] == "*", path
    assert response.headers["X-Content-Type-Options"] == "nosniff", path
    # the service's policy for a feed a browser renders (its stylesheet and nothing else), else none
    assert response.headers["Content-Security-Policy"] == (BROWSER_XML_CSP if browser else None), path


@pytest.mark.system
@pytest.mark.parametrize("headers, browser", NAVIGATIONS)
def test_browser_navigations_get_atom_and_rss_as_application_xml(nginx: Nginx, headers, browser: bool):
    assert is_browser_navigation(headers) is browser  # the rule deploy/nginx.conf mirrors
    for path in ("/feeds/all.atom", "/feeds/all.rss", "/feeds/countries/france.rss", "/feeds/topics/strikes.atom"):
        plain = nginx.get(path)
        response = nginx.get(path, headers)
        assert response.status == 200, path
        assert response.headers["Content-Type"] == (BROWSER_XML if browser else TYPES[path.rsplit(".", 1)[1]])
        assert response.body == plain.body == nginx.file(path[1:]), path
        assert "Content-Encoding" not in response.headers
        _negotiated_headers(response, path, browser)
        assert response.headers["Last-Modified"] == plain.headers["Last-Modified"]
        assert response.headers.get_all("Link") == [f'<{HUB}>; rel="hub", <{nginx.url}{path}>; rel="self"'], path
        # Two representations never share a strong ETag: the application/xml one has none.
        assert response.headers["ETag"] == (None if browser else plain.headers["ETag"]), path


@pytest.mark.system
@pytest.mark.parametrize("headers", [BROWSER, READER, {}], ids=["browser", "reader", "no-accept"])
def test_negotiated_feeds_send_the_precompressed_bytes(nginx: Nginx, headers: dict[str, str]):
    for path in ("/feeds/all.atom", "/feeds/all.rss"):
        kind = BROWSER_XML if headers is BROWSER else TYPES[path.rsplit(".", 1)[1]]
        packed = nginx.get(path, {**headers, "Accept-Encoding": "gzip, deflate, br"})
        assert packed.status == 200 and packed.headers["Content-Encoding"] == "gzip", path
        assert packed.headers["Content-Type"] == kind, path
        assert packed.body == nginx.file(path[1:] + ".gz"), path
        assert gzip.decompress(packed.body) == nginx.file(path[1:])
        _negotiated_headers(packed, path, headers is BROWSER)
        refused = nginx.get(path, {**headers, "Accept-Encoding": "gzip;q=0"})
        assert "Content-Encoding" not in refused.headers and refused.body == nginx.file(path[1:])
        assert refused.headers["Content-Type"] == kind
        _negotiated_headers(refused, path, headers is BROWSER)


@pytest.mark.system
def test_negotiated_feeds_answer_conditional_requests(nginx: Nginx):
    for path in ("/feeds/all.atom", "/feeds/all.rss"):
        feed = nginx.get(path, READER)
        etag, modified = feed.headers["ETag"], feed.headers["Last-Modified"]
        for headers in (READER, {}):
            again = nginx.get(path, {**headers, "If-None-Match": etag})
            assert again.status == 304 and again.body == b"" and again.headers["ETag"] == etag, path
            _negotiated_headers(again, path)
        by_date = nginx.get(path, {**BROWSER, "If-Modified-Since": modified})
        assert by_date.status == 304 and by_date.body == b"", path
        assert "ETag" not in by_date.headers and by_date.headers["Last-Modified"] == modified
        _negotiated_headers(by_date, path, browser=True)
        packed = nginx.get(path, {**BROWSER, "Accept-Encoding": "gzip", "If-Modified-Since": modified})
        assert packed.status == 304 and packed.body == b"", path
        # The feed type's ETag never selects it for a browser (If-None-Match wins over the date).
        for extra in ({}, {"If-Modified-Since": modified}):
            other = nginx.get(path, {**BROWSER, "If-None-Match": etag, **extra})
            assert other.status == 200 and other.headers["Content-Type"] == BROWSER_XML, path
            assert other.body == nginx.file(path[1:])
        head = nginx.get(path, BROWSER, method="HEAD")
        assert head.status == 200 and head.body == b"" and head.headers["Content-Type"] == BROWSER_XML
        assert head.headers["Content-Length"] == str(len(nginx.file(path[1:])))


@pytest.mark.system
def test_json_feed_is_not_negotiated(nginx: Nginx):
    for headers in (BROWSER, READER, {}):
        response = nginx.get("/feeds/all.json", headers)
        assert response.status == 200 and response.headers["Content-Type"] == TYPES["json"]
        assert response.headers.get_all("Vary") == ["Accept-Encoding"]
        assert response.headers["ETag"]


@pytest.mark.system
@pytest.mark.parametrize("headers, browser", NAVIGATIONS)
def test_browser_navigations_get_the_opml_list_as_application_xml(nginx: Nginx, headers, browser: bool):
    path = "/feeds.opml"
    response = nginx.get(path, headers)
    assert response.status == 200
    assert response.headers["Content-Type"] == (BROWSER_XML if browser else TYPES["opml"])
    assert response.body == nginx.file(path[1:])
    _negotiated_headers(response, path, browser)
    assert "Link" not in response.headers
    assert bool(response.headers["ETag"]) is not browser


@pytest.mark.system
def test_browser_navigations_keep_redirects_and_the_404_page(nginx: Nginx):
    redirect = nginx.get("/feeds/countries/FR.atom", BROWSER)
    assert redirect.status == 301 and redirect.headers["Location"] == "/feeds/countries/france.atom"
    for path in ("/feeds/topics/gardening.rss", "/feeds/countries/atlantis.atom", "/feeds/all.atom.gz"):
        missing = nginx.get(path, BROWSER)
        assert missing.status == 404 and missing.body == nginx.file("404.html"), path
        assert missing.headers["Content-Type"] == TYPES["html"] and missing.headers["Cache-Control"] == "no-cache"
    # The internal location that serves the application/xml variant has no URL of its own.
    for headers in (BROWSER, {}):
        hidden = nginx.get("/feeds-as-xml/feeds/all.atom", headers)
        assert hidden.status == 404 and hidden.body == nginx.file("404.html")


@pytest.mark.system
@pytest.mark.parametrize(
    "path, target",
    [
        ("/feeds/countries/FR.atom", "/feeds/countries/france.atom"),
        ("/feeds/countries/fr.rss", "/feeds/countries/france.rss"),
        ("/feeds/countries/Pe.json", "/feeds/countries/peru.json"),
        ("/countries/pe", "/countries/peru"),
        ("/countries/GB", "/countries/united-kingdom"),
    ],
)
def test_iso_codes_answer_301_to_the_slug_url(nginx: Nginx, path: str, target: str):
    response = nginx.get(path)
    assert response.status == 301
    assert urljoin(nginx.url + path, response.headers["Location"]) == nginx.url + target
    assert response.headers["Cache-Control"] == MAX_AGE
    assert nginx.get(target).status == 200


@pytest.mark.system
def test_article_pages_answer_without_a_trailing_slash(nginx: Nginx):
    for article in nginx.site.articles:
        response = nginx.get(f"/articles/{article.slug}")
        assert response.status == 200, article.slug
        assert response.headers["Content-Type"] == TYPES["html"]
        assert response.body == nginx.file(f"articles/{article.slug}/index.html")
        assert article.title.encode() in response.body
        assert response.headers["Content-Security-Policy"] == CSP


@pytest.mark.system
@pytest.mark.parametrize(
    "path",
    [
        "/no/such/page",
        "/articles/no-such-article",
        "/feeds/countries/atlantis.atom",
        "/feeds/countries/xx.atom",
        "/countries/xx",
        "/feeds/topics/gardening.rss",
        "/feeds/all.xml",
        "/feeds/all",
        "/feeds/",
        "/404.html",
    ],
)
def test_unknown_paths_answer_404_with_the_404_page(nginx: Nginx, path: str):
    response = nginx.get(path)
    assert response.status == 404
    assert response.headers["Content-Type"] == TYPES["html"]
    assert response.body == nginx.file("404.html")
    assert b"/feeds/all.atom" in response.body
    assert response.headers["Cache-Control"] == "no-cache"
    assert response.headers["Content-Security-Policy"] == CSP


@pytest.mark.system
def test_newsboat_stores_every_item_of_every_feed(nginx: Nginx):
    newsboat = require_program("newsboat")
    feeds = [f for f in nginx.site.feeds.values() if f.articles]
    expected = {
        f"{nginx.url}/feeds/{f.key}.{fmt}": {a.id for a in f.articles[:50]} for f in feeds for fmt in FORMATS[:2]
    }
    # Newsboat keys items on their guid across its whole cache: an article in two feeds is
    # stored for one of them only (newsboat/newsboat#898), so each feed gets its own cache.
    runs = []
    for number, url in enumerate(expected):
        home = nginx.tmp / "newsboat" / str(number)
        home.mkdir(parents=True)
        (home / "urls").write_text(url + "\n", "utf-8")
        (home / "config").write_text("download-retries 2\n", "utf-8")
        proc = subprocess.Popen(
            [newsboat, "-x", "reload", "-u", "urls", "-c", "cache.db", "-C", "config"],
            cwd=home,
            env={**os.environ, "HOME": str(home), "LANG": "C.UTF-8"},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        runs.append((url, home, proc))
    try:
        for url, home, proc in runs:
            output, _ = proc.communicate(timeout=120)
            assert proc.returncode == 0, (url, output)
            with sqlite3.connect(home / "cache.db") as db:
                rows = db.execute("SELECT feedurl, guid FROM rss_item").fetchall()
            assert {feed for feed, _ in rows} == {url}
            assert len(rows) == len(expected[url]), url
            assert {guid for _, guid in rows} == expected[url], url
    finally:
        for _, _, proc in runs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
