"""The service under its production server on loopback, as aggregators meet it."""

from __future__ import annotations

import gzip
import time
import urllib.error
import urllib.request
from pathlib import Path

import brotli
import feedparser
import pytest

from .conftest import Server


def fetch(url: str, headers: dict[str, str] | None = None, method: str = "GET"):
    request = urllib.request.Request(url, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, exc.read()


ROUTES = [
    "/",
    "/feeds/all.atom",
    "/feeds/all.rss",
    "/feeds/all.json",
    "/feeds/countries/peru.atom",
    "/feeds/topics/strikes.rss",
    "/feeds.opml",
    "/countries/peru",
    "/topics/strikes",
    "/static/style.css",
]


def test_conditional_requests_replayed_answer_304_until_the_data_changes(server: Server, data_dir: Path):
    status, headers, body = fetch(server.url + "/feeds/all.atom")
    assert status == 200 and headers["ETag"] and headers["Last-Modified"]
    for validators in (
        {"If-None-Match": headers["ETag"]},
        {"If-Modified-Since": headers["Last-Modified"]},
        {"If-None-Match": headers["ETag"], "If-Modified-Since": headers["Last-Modified"]},
    ):
        again = fetch(server.url + "/feeds/all.atom", validators)
        assert again[0] == 304 and again[2] == b"" and again[1]["ETag"] == headers["ETag"]
    listing = data_dir / "articles.txt"
    listing.write_text(
        "Chile: Copper Miners Strike\n\nMiners in Chile struck.\n\n" + listing.read_text("utf-8"), "utf-8"
    )
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        changed = fetch(server.url + "/feeds/all.atom", {"If-None-Match": headers["ETag"]})
        if changed[0] == 200:
            break
        time.sleep(0.2)
    assert changed[0] == 200 and changed[1]["ETag"] != headers["ETag"]
    assert feedparser.parse(changed[2]).entries[0].title == "Chile: Copper Miners Strike"


@pytest.mark.parametrize("path", ROUTES + ["/articles/" + "x" * 3, "/healthz"])
def test_head_gives_the_get_headers_without_a_body(server: Server, path: str):
    get = fetch(server.url + path)
    head = fetch(server.url + path, method="HEAD")
    assert head[0] == get[0] and head[2] == b""
    for key in ("Content-Type", "ETag", "Last-Modified", "Cache-Control", "Vary"):
        assert head[1].get(key) == get[1].get(key), (path, key)


@pytest.mark.parametrize("path", ROUTES)
def test_compressed_bodies_decode_to_the_identity_body(server: Server, path: str):
    plain = fetch(server.url + path, {"Accept-Encoding": "identity"})
    gz = fetch(server.url + path, {"Accept-Encoding": "gzip"})
    br = fetch(server.url + path, {"Accept-Encoding": "br, gzip;q=0.8"})
    assert gz[1]["Content-Encoding"] == "gzip" and gzip.decompress(gz[2]) == plain[2]
    assert br[1]["Content-Encoding"] == "br" and brotli.decompress(br[2]) == plain[2]
    assert len({plain[1]["ETag"], gz[1]["ETag"], br[1]["ETag"]}) == 3
    assert "Accept-Encoding" in plain[1]["Vary"]


@pytest.mark.parametrize(
    "path, expected",
    [
        ("/articles/..%2F..%2Fpyproject.toml", 404),
        ("/articles/%2e%2e/%2e%2e/pyproject.toml", 404),
        ("/static/../../pyproject.toml", 404),
        ("/static/..%2f..%2fwsgi.py", 404),
        ("/feeds/countries/%2e%2e%2fall.atom", 404),
        ("/articles/" + "a" * 600, 400),
        ("/articles/a%00b", 400),
    ],
)
def test_hostile_paths_never_reach_a_file(server: Server, path: str, expected: int):
    status, headers, body = fetch(server.url + path)
    assert status == expected, path
    assert b"[project]" not in body and b"create_app" not in body and b"Traceback" not in body


def test_a_polling_reader_is_answered_304_in_the_access_log(data_dir: Path):
    """feedparser polls as aggregators do: the second fetch sends the validators it got."""
    server = Server(data_dir)
    feeds = ["/feeds/all.atom", "/feeds/all.rss", "/feeds/countries/peru.atom", "/feeds/topics/strikes.rss"]
    try:
        for path in feeds:
            first = feedparser.parse(server.url + path)
            assert first.status == 200 and first.entries
            second = feedparser.parse(server.url + path, etag=first.etag, modified=first.modified)
            assert second.status == 304 and not second.entries
    finally:
        server.stop()
    log = server.log.read_text("utf-8", errors="replace")
    for path in feeds:
        lines = [line for line in log.splitlines() if f'"GET {path} ' in line]
        assert [line.split('" ')[1][:3] for line in lines] == ["200", "304"], lines


def test_newsboat_reloads_are_answered_304_once_it_has_validators(tmp_path: Path, data_dir: Path):
    """Newsboat 2.21 records ETag and Last-Modified from its second fetch of a feed (on the first,
    the feed's row does not exist yet when it stores them) and sends them from the third on."""
    import sqlite3
    import subprocess

    from .conftest import require_program

    newsboat = require_program("newsboat")
    server = Server(data_dir)
    feeds = ["/feeds/all.atom", "/feeds/all.rss", "/feeds/countries/peru.atom", "/feeds/topics/strikes.rss"]
    try:
        (tmp_path / "urls").write_text("".join(server.url + f + "\n" for f in feeds), "utf-8")
        (tmp_path / "config").write_text("auto-reload no\nbrowser false\n", "utf-8")
        cmd = [newsboat, "-x", "reload", "-u", "urls", "-c", "cache.db", "-C", "config"]
        for _ in range(3):
            subprocess.run(
                cmd,
                cwd=tmp_path,
                env={"HOME": str(tmp_path)},
                stdin=subprocess.DEVNULL,
                capture_output=True,
                timeout=120,
            )
        with sqlite3.connect(tmp_path / "cache.db") as db:
            validators = db.execute("SELECT rssurl, etag, lastmodified FROM rss_feed").fetchall()
        assert len(validators) == len(feeds) and all(etag and modified for _, etag, modified in validators)
    finally:
        server.stop()
    log = server.log.read_text("utf-8", errors="replace")
    for path in feeds:
        codes = [line.split('" ')[1][:3] for line in log.splitlines() if f'"GET {path} ' in line]
        assert codes == ["200", "200", "304"], (path, codes)


def _raw(server: Server, request: bytes) -> bytes:
    """The whole answer to ``request`` sent as it is (urllib would refuse to send some of these)."""
    import socket

    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(request)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return answer


def test_invalid_and_repeated_host_headers_answer_400_under_the_server(server: Server):
    for host in (b"a?>", b"x:abc", b'a" type="text/xsl" x="'):
        answer = _raw(server, b"GET /feeds/all.atom HTTP/1.1\r\nHost: " + host + b"\r\nConnection: close\r\n\r\n")
        assert answer.startswith(b"HTTP/1.1 400 "), (host, answer[:200])
        assert b"xml-stylesheet" not in answer
    twice = b"GET /feeds/all.atom HTTP/1.1\r\nHost: a.example\r\nHost: b.example\r\nConnection: close\r\n\r\n"
    assert _raw(server, twice).startswith(b"HTTP/1.1 400 ")
    good = _raw(server, b"GET /feeds/all.atom HTTP/1.1\r\nHost: a.example:81\r\nConnection: close\r\n\r\n")
    assert good.startswith(b"HTTP/1.1 200 ") and b'href="http://a.example:81/static/feed.css"' in good
    old = _raw(server, b"GET /feeds/all.atom HTTP/1.0\r\n\r\n")  # HTTP/1.0 may leave Host out
    assert old.startswith(b"HTTP/1.1 200 ") or old.startswith(b"HTTP/1.0 200 ")
    assert b"warning" not in server.log.read_bytes()  # on loopback, no warning about the Host


def test_serving_beyond_loopback_without_a_base_url_warns_about_the_host(data_dir: Path, tmp_path: Path):
    import os
    import signal
    import subprocess
    import sys

    from .conftest import ROOT, free_port

    port = free_port()
    log = tmp_path / "serve.log"
    env = {**os.environ, "FEEDS_DATA_DIR": str(data_dir), "FEEDS_WORKERS": "1"}
    env.pop("FEEDS_BASE_URL", None)
    cmd = [sys.executable, "-m", "feeds.cli", "serve", "--host", "0.0.0.0", "--port", str(port)]
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT, start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        while not (_listening(port) and fetch(f"http://127.0.0.1:{port}/healthz")[0] == 200):
            assert proc.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    text = log.read_text("utf-8")
    assert "warning:" in text and "--base-url" in text and "Host" in text and "cache" in text


def _listening(port: int) -> bool:
    import socket

    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0
