"""A real feed reader subscribes to every feed with articles and keeps every item.

newsboat runs without a terminal (``-x reload`` fetches every URL of its ``urls`` file and
exits) against the production server, with its own configuration and cache in a private
directory. Its SQLite cache then has to hold, for every Atom and RSS feed, exactly the
items the server publishes in it, under the feed's own ids.

newsboat keys a stored item on its guid alone: an item that a second feed of the same run
also carries moves to that feed (https://github.com/newsboat/newsboat/issues/898). Our
feeds overlap by design (an article is in the overall feed, its countries' and its topics'
feeds, in Atom and in RSS), so the feeds are split into groups without a shared id and each
group is read by its own newsboat run, with its own cache.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import urllib.request
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest
from lxml import etree

from .conftest import require_program
from .feedcheck import ATOM_NS

pytestmark = pytest.mark.system

# Nothing interactive and nothing opened: no browser, no notifications, no automatic reloads.
CONFIG = """\
auto-reload no
reload-threads 4
download-timeout 30
download-retries 2
max-items 0
keep-articles-days 0
cleanup-on-quit yes
confirm-exit no
notify-always no
browser "false"
user-agent "feeds-system-test (newsboat)"
"""
RUN_TIMEOUT = 180


@dataclass(frozen=True)
class Published:
    url: str
    title: str
    ids: list[str]


def get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=30) as response:
        assert response.status == 200, url
        return response.read()


def published(url: str) -> Published:
    """A feed as the server publishes it: its title and the id of every entry, in order."""
    root = etree.fromstring(get(url))
    if root.tag == f"{{{ATOM_NS}}}feed":
        a = f"{{{ATOM_NS}}}"
        return Published(url, root.findtext(f"{a}title"), [e.findtext(f"{a}id") for e in root.iter(f"{a}entry")])
    channel = root.find("channel")
    return Published(url, channel.findtext("title"), [i.findtext("guid") for i in channel.iter("item")])


def subscriptions(server_url: str) -> list[str]:
    """Every Atom feed listed in the OPML (the feeds with articles) and the RSS twin of each."""
    opml = etree.fromstring(get(server_url + "/feeds.opml"))
    atom = [o.get("xmlUrl") for o in opml.iter("outline") if o.get("type") == "rss"]
    assert atom and all(u.endswith(".atom") for u in atom), atom
    assert server_url + "/feeds/all.atom" in atom
    return atom + [u.removesuffix(".atom") + ".rss" for u in atom]


def disjoint_groups(feeds: list[Published]) -> list[list[Published]]:
    """Split the feeds (greedily, in order) into groups in which no two feeds share an id."""
    groups: list[tuple[list[Published], set[str]]] = []
    for feed in feeds:
        for members, ids in groups:
            if ids.isdisjoint(feed.ids):
                members.append(feed)
                ids.update(feed.ids)
                break
        else:
            groups.append(([feed], set(feed.ids)))
    return [members for members, _ in groups]


def run_newsboat(newsboat: str, home: Path, urls: list[str]) -> tuple[dict[str, str], dict[str, list[str]], str]:
    """Reload ``urls`` in a private newsboat; return its stored feed titles, item guids by feed, and log."""
    home.mkdir(parents=True)
    (home / "urls").write_text("".join(u + "\n" for u in urls), "utf-8")
    (home / "config").write_text(CONFIG, "utf-8")
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_DATA_HOME": str(home / ".local" / "share"),
        "LANG": "C.UTF-8",
        "TERM": "dumb",
    }
    command = [newsboat, "-u", "urls", "-c", "cache.db", "-C", "config", "-l", "4", "-d", "newsboat.log"]
    done = subprocess.run(
        [*command, "-x", "reload"],
        cwd=home,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=RUN_TIMEOUT,
    )
    log = (home / "newsboat.log").read_text("utf-8", "replace") if (home / "newsboat.log").exists() else ""
    report = f"exit {done.returncode}\nstdout: {done.stdout!r}\nstderr: {done.stderr!r}\nlog:\n{log[-4000:]}"
    assert done.returncode == 0, report
    with sqlite3.connect(home / "cache.db") as db:
        titles = dict(db.execute("SELECT rssurl, title FROM rss_feed"))
        items: dict[str, list[str]] = {}
        for feedurl, guid in db.execute("SELECT feedurl, guid FROM rss_item ORDER BY id"):
            items.setdefault(feedurl, []).append(guid)
    return titles, items, report


def test_newsboat_stores_every_item_of_every_feed(server, tmp_path):
    newsboat = require_program("newsboat")
    feeds = [published(url) for url in subscriptions(server.url)]
    assert all(feed.ids for feed in feeds), [f.url for f in feeds if not f.ids]
    groups = disjoint_groups(feeds)
    assert len(groups) < len(feeds), "the feeds should share newsboat runs"

    for n, group in enumerate(groups):
        titles, items, report = run_newsboat(newsboat, tmp_path / f"newsboat-{n}", [f.url for f in group])
        for feed in group:
            assert feed.url in titles, f"newsboat did not load {feed.url}\n{report}"
            assert titles[feed.url] == feed.title
            stored = items.get(feed.url, [])
            assert len(stored) == len(feed.ids), f"{feed.url}: newsboat stored {len(stored)} of {len(feed.ids)} items"
            assert Counter(stored) == Counter(feed.ids), f"{feed.url}: stored guids differ from the feed's ids"
        assert set(items) <= {f.url for f in group}, "items were stored under a URL that was not subscribed"


def test_newsboat_imports_every_feed_of_the_opml_list(server, tmp_path):
    """The list as served, with the page a browser shows in its head: every feed, in its folder."""
    newsboat = require_program("newsboat")
    data = get(server.url + "/feeds.opml")
    assert b"<?xml-stylesheet" in data and b"http://www.w3.org/1999/xhtml" in data
    (tmp_path / "feeds.opml").write_bytes(data)
    (tmp_path / "config").write_text(CONFIG, "utf-8")
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path), "LANG": "C.UTF-8", "TERM": "dumb"}
    done = subprocess.run(
        [newsboat, "-u", "urls", "-c", "cache.db", "-C", "config", "-i", "feeds.opml"],
        cwd=tmp_path,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=RUN_TIMEOUT,
    )
    assert done.returncode == 0, (done.stdout, done.stderr)
    root = etree.fromstring(data)
    expected = [
        f'{o.get("xmlUrl")} "{folder.get("text")}"' for folder in root.find("body") for o in folder if o.get("xmlUrl")
    ]
    assert len(expected) > 10
    assert (tmp_path / "urls").read_text("utf-8").splitlines() == expected
