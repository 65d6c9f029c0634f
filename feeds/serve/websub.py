"""WebSub publishing: tell the hub which feed URLs changed.

The notification is the de facto PubSubHubbub 0.4 form, a POST of
``hub.mode=publish&hub.url=<feed URL>``. Failures are logged and retried with exponential
backoff in a background thread; serving never waits for the hub.
"""

from __future__ import annotations

import logging
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable

from feeds.pipeline.index import Site

log = logging.getLogger("feeds.serve.websub")


def changed_feeds(old: Site | None, new: Site, entry_limit: int) -> list[str]:
    """Keys of the feeds whose subscription document differs between two versions."""

    def fingerprint(site: Site, key: str) -> tuple:
        feed = site.feeds.get(key)
        if feed is None:
            return ()
        return (feed.title, tuple((a.id, a.updated, a.title, a.summary) for a in feed.articles[:entry_limit]))

    if old is None:
        return []
    if old.meta != new.meta:
        return list(new.feeds)
    return [key for key in new.feeds if fingerprint(old, key) != fingerprint(new, key)]


def publish(hub: str, urls: Iterable[str], *, attempts: int = 5, backoff: float = 1.0, timeout: float = 10.0) -> bool:
    """Send one publish notification per URL, retrying failures; True when all were accepted."""
    pending = list(urls)
    delay = backoff
    for attempt in range(1, attempts + 1):
        failed = []
        for url in pending:
            body = urllib.parse.urlencode({"hub.mode": "publish", "hub.url": url}).encode()
            request = urllib.request.Request(
                hub, data=body, headers={"Content-Type": "application/x-www-form-urlencoded"}, method="POST"
            )
            try:
                with urllib.request.urlopen(request, timeout=timeout) as response:
                    if response.status >= 300:
                        raise urllib.error.HTTPError(hub, response.status, "unexpected status", None, None)
            except (OSError, urllib.error.URLError) as exc:
                log.warning("WebSub hub %s refused %s (attempt %d/%d): %s", hub, url, attempt, attempts, exc)
                failed.append(url)
        if not failed:
            return True
        pending = failed
        if attempt < attempts:
            time.sleep(delay)
            delay *= 2
    log.error("WebSub: gave up notifying %s of %d feeds", hub, len(pending))
    return False


def publish_in_background(hub: str, urls: list[str]) -> threading.Thread | None:
    if not urls:
        return None
    thread = threading.Thread(target=publish, args=(hub, urls), name="feeds-websub", daemon=True)
    thread.start()
    return thread
