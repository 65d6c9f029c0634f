"""Two Node.js feed parsers read every built feed as feedparser does.

rss-parser (Atom and RSS) and @extractus/feed-extractor (Atom, RSS and JSON Feed) are what many
JavaScript readers and aggregators build on. ``tests/node/read_feeds.mjs`` reads each feed file of a
static build with both, and every entry they find must have feedparser's id, title, link and date,
in the same order: the preview markup for browsers (stylesheet, banner) must change nothing for
them. The packages come from npm (``npm install --prefix .ci/node rss-parser@3
@extractus/feed-extractor@8``, which ``.ci/run`` does; ``FEEDS_NODE_MODULES`` names another
``node_modules``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import feedparser
import pytest

from .conftest import ROOT, require_program

pytestmark = pytest.mark.system

MODULES = Path(os.environ.get("FEEDS_NODE_MODULES") or ROOT / ".ci/node/node_modules")
SCRIPT = ROOT / "tests/node/read_feeds.mjs"
READERS = {
    "atom": ("rss-parser", "feed-extractor"),
    "rss": ("rss-parser", "feed-extractor"),
    "json": ("feed-extractor",),
}


def _modules() -> Path:
    missing = [name for name in ("rss-parser", "@extractus/feed-extractor") if not (MODULES / name).is_dir()]
    if missing:
        reason = f"{', '.join(missing)} not installed in {MODULES} (see this module's docstring)"
        if os.environ.get("FEEDS_REQUIRE_SYSTEM_TESTS") == "1":
            pytest.fail(reason + " and FEEDS_REQUIRE_SYSTEM_TESTS=1")
        pytest.skip(reason)
    return MODULES


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def test_node_parsers_read_every_feed_as_feedparser_does(data_dir: Path, tmp_path: Path, subtests) -> None:
    node = require_program("node")
    modules = _modules()
    out = tmp_path / "out"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "feeds",
            "build",
            str(out),
            "--data-dir",
            str(data_dir),
            "--base-url",
            "https://example.org",
        ],
        check=True,
        capture_output=True,
    )
    expected = {}
    for path in sorted((out / "feeds").rglob("*")):
        if path.suffix.lstrip(".") not in READERS:
            continue
        parsed = feedparser.parse(path.read_bytes())
        if parsed.entries:
            expected[str(path)] = parsed
    assert len(expected) >= 3 * 10, sorted(expected)  # the overall feed and the tag feeds with articles

    run = subprocess.run(
        [node, str(SCRIPT), *expected],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "FEEDS_NODE_MODULES": str(modules)},
    )
    read = json.loads(run.stdout)
    for path, parsed in expected.items():
        for reader in READERS[Path(path).suffix.lstrip(".")]:
            with subtests.test(feed=Path(path).relative_to(out).as_posix(), reader=reader):
                feed = read[path][reader]
                assert "error" not in feed, feed
                assert feed["title"] == parsed.feed.title
                want = [(e.id, e.title, e.link, datetime(*e.published_parsed[:6], tzinfo=UTC)) for e in parsed.entries]
                got = [(e["id"], e["title"], e["link"], _instant(e["date"])) for e in feed["entries"]]
                assert got == want
