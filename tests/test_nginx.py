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
from feeds.loader import load
from feeds.site import Feed, Site

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
CSP = "default-src 'self'"
REFERRER = "strict-origin-when-cross-origin"


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
            assert response.headers["Vary"] == "Accept-Encoding"
            assert "Content-Security-Policy" not in response.headers
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
    assert response.headers["Vary"] == "Accept-Encoding"
    assert response.headers["ETag"] and response.headers["Last-Modified"]
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
        assert packed.headers["Vary"] == "Accept-Encoding"
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
