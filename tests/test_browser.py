"""The site in a real browser: Debian's Chromium, driven by Playwright, against the production server.

Needs ``apt-get install chromium`` and ``pip install playwright`` (no ``playwright install``:
the system Chromium is used). Screenshots of every page at desktop and phone widths go to
``tests/screenshots/``.
"""

from __future__ import annotations

import os
import shutil
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import feedparser
import pytest

from .conftest import SHIPPED, Server, require_program

pytestmark = pytest.mark.system

SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
NO_STYLE = "This XML file does not appear to have any style information"
RENDERED_TEXT = """() => {
  const selection = getSelection();
  selection.selectAllChildren(document.documentElement);
  const text = selection.toString();
  selection.removeAllRanges();
  return text;
}"""


def _playwright():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        reason = "Playwright is not installed (pip install playwright)"
        if os.environ.get("FEEDS_REQUIRE_SYSTEM_TESTS") == "1":
            pytest.fail(reason + " and FEEDS_REQUIRE_SYSTEM_TESTS=1")
        pytest.skip(reason)
    return sync_playwright


@pytest.fixture(scope="module")
def browser():
    executable = require_program("chromium")
    with _playwright()() as playwright:
        chromium = playwright.chromium.launch(executable_path=executable, args=ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def live(tmp_path_factory) -> Iterator[Server]:
    """The production server on a private copy of the shipped data, shared by this module's tests."""
    data = tmp_path_factory.mktemp("browser") / "data"
    shutil.copytree(SHIPPED, data, ignore=shutil.ignore_patterns("*.lock"))
    server = Server(data)
    yield server
    server.stop()


def fetch(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.read()


class Watched:
    """A page whose console errors, page errors and failed requests are collected."""

    def __init__(self, context, missing: tuple[str, ...] = ()) -> None:
        self.page = context.new_page()
        self.problems: list[str] = []
        self.missing = missing  # URLs expected to answer 404 (the not-found page itself)
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda e: self.problems.append(f"page error: {e}"))
        self.page.on("requestfailed", lambda r: self.problems.append(f"failed: {r.url} {r.failure}"))
        self.page.on("response", self._response)

    def _console(self, message) -> None:
        if message.type == "error" and message.location.get("url") not in self.missing:
            self.problems.append(f"console: {message.text} ({message.location.get('url')})")

    def _response(self, response) -> None:
        if response.status >= 400 and not (response.status == 404 and response.url in self.missing):
            self.problems.append(f"HTTP {response.status}: {response.url}")

    def goto(self, url: str):
        response = self.page.goto(url, wait_until="load")
        assert response is not None
        return response

    def text(self) -> str:
        """The rendered text (what a selection of everything copies); innerText exists only in HTML."""
        return self.page.evaluate(RENDERED_TEXT)

    def screenshot(self, path: Path) -> None:
        """The whole page. Playwright's full_page hangs on XML documents, so the viewport grows."""
        viewport = self.page.viewport_size
        height = self.page.evaluate("document.documentElement.scrollHeight")
        self.page.set_viewport_size({"width": viewport["width"], "height": max(height, viewport["height"])})
        try:
            self.page.screenshot(path=path)
        finally:
            self.page.set_viewport_size(viewport)

    def check(self) -> None:
        assert not self.problems, "\n".join(self.problems)


@pytest.fixture
def context(browser):
    context = browser.new_context(viewport=DESKTOP, permissions=["clipboard-read", "clipboard-write"])
    yield context
    context.close()


def site_feeds(live: Server) -> dict:
    """Feeds with articles, read from the OPML (every non-empty feed) and the overall feed."""
    from lxml import etree

    opml = etree.fromstring(fetch(live.url + "/feeds.opml"))
    return {o.get("xmlUrl"): o.get("htmlUrl") for o in opml.iter("outline") if o.get("xmlUrl")}


def test_the_index_lists_every_feed_and_leads_to_a_country(live, context):
    watched = Watched(context)
    watched.goto(live.url + "/")
    page = watched.page
    feeds = site_feeds(live)
    assert feeds
    atom_links = set(page.eval_on_selector_all("a[type='application/atom+xml']", "els => els.map(e => e.href)"))
    for url in feeds:
        assert url.replace(".rss", ".atom").replace(".json", ".atom") in atom_links, url
    for key in ("all", "topics/strikes"):
        for fmt in ("atom", "rss", "json"):
            assert page.locator(f"a[href='{live.url}/feeds/{key}.{fmt}']").count() >= 1
    assert page.get_by_role("link", name="Subscribe to everything").get_attribute("href").endswith("/feeds.opml")
    assert page.get_by_role("button", name="Copy URL").first.is_visible()
    first = page.locator("#countries ~ table tbody th a").first
    name = first.inner_text()
    first.click()
    page.wait_for_load_state("load")
    assert page.url.startswith(live.url + "/countries/")
    assert page.locator("h1").inner_text() == name
    assert page.title().startswith(name)
    watched.check()


def test_feeds_opened_in_the_browser_are_readable_pages(live, context):
    slug = "france"
    for fmt in ("atom", "rss"):
        url = f"{live.url}/feeds/countries/{slug}.{fmt}"
        parsed = feedparser.parse(fetch(url))
        assert parsed.entries
        watched = Watched(context)
        response = watched.goto(url)
        assert response.headers["content-type"] == "application/xml; charset=utf-8"
        text = watched.text()
        assert NO_STYLE not in text
        assert parsed.feed.title in text
        for entry in parsed.entries:
            assert entry.title in text and entry.published in text  # the date as written in the feed
        assert url in text  # the address to subscribe to, as text
        # the link to the HTML page is a real, working link
        link = watched.page.get_by_role("link", name="Read it as a web page")
        assert link.get_attribute("href") == f"{live.url}/countries/{slug}"
        link.click()
        watched.page.wait_for_load_state("load")
        assert watched.page.url == f"{live.url}/countries/{slug}"
        assert watched.page.locator("h1").inner_text() == "France"
        watched.check()


def test_every_feed_of_the_site_renders_in_the_browser(live, context, subtests):
    watched = Watched(context)
    for url in site_feeds(live):
        if url.endswith(".json"):
            continue
        with subtests.test(url=url):
            parsed = feedparser.parse(fetch(url))
            watched.goto(url)
            text = watched.text()
            assert NO_STYLE not in text
            assert [e.title for e in parsed.entries if e.title not in text] == []
    watched.goto(live.url + "/feeds/countries/iceland.atom")
    assert "No articles yet" in watched.text()
    watched.check()


def test_an_article_page_links_its_tags(live, context):
    articles = feedparser.parse(fetch(live.url + "/feeds/all.atom")).entries
    entry = next(e for e in articles if len(e.get("tags", [])) >= 2)
    watched = Watched(context)
    watched.goto(entry.link)
    page = watched.page
    assert page.locator("h1").inner_text() == entry.title
    tags = page.locator("nav ul.tags li a:not(.feed)")
    names = tags.all_inner_texts()
    assert sorted(names) == sorted(t.label for t in entry.tags)
    feed_links = page.locator("nav ul.tags li a.feed")
    assert feed_links.count() == len(names)
    for href in feed_links.evaluate_all("els => els.map(e => e.href)"):
        assert urllib.request.urlopen(href, timeout=10).status == 200
    response_urls = []
    page.on("response", lambda r: response_urls.append((r.url, r.status)))
    tags.first.click()
    page.wait_for_load_state("load")
    assert (page.url, 200) in response_urls
    assert page.locator("h1").inner_text() == names[0]
    assert page.url.startswith((live.url + "/countries/", live.url + "/topics/"))
    watched.check()


def test_the_copy_button_puts_the_feed_url_on_the_clipboard(live, context):
    watched = Watched(context)
    watched.goto(live.url + "/countries/france")
    page = watched.page
    button = page.locator("button.copy").first
    assert button.is_visible()
    button.click()
    assert page.evaluate("navigator.clipboard.readText()") == f"{live.url}/feeds/countries/france.atom"
    assert button.inner_text().startswith("Copied")
    assert page.get_by_role("status").inner_text().startswith("Copied")
    watched.goto(live.url + "/")
    row = watched.page.locator("tr", has=watched.page.get_by_role("link", name="Strikes", exact=True))
    row.get_by_role("button").click()
    assert watched.page.evaluate("navigator.clipboard.readText()") == f"{live.url}/feeds/topics/strikes.atom"
    watched.check()


def test_pages_work_without_javascript(live, browser):
    context = browser.new_context(viewport=DESKTOP, java_script_enabled=False)
    try:
        watched = Watched(context)
        watched.goto(live.url + "/")
        assert watched.page.locator("button.copy").first.is_hidden()
        assert watched.page.locator("table.feeds tbody tr").count() >= 2
        watched.check()
    finally:
        context.close()


CONTRAST = """() => {
  const parse = (c) => c.match(/[\\d.]+/g).map(Number);
  const lum = ([r, g, b]) => {
    const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const background = (el) => {
    for (; el; el = el.parentElement) {
      const c = parse(getComputedStyle(el).backgroundColor);
      if (c.length < 4 || c[3] > 0) return c;
    }
    return [255, 255, 255];
  };
  const low = [];
  const walker = document.createTreeWalker(document.documentElement, NodeFilter.SHOW_TEXT);
  for (let node; (node = walker.nextNode());) {
    const el = node.parentElement;
    if (!node.textContent.trim() || !el || !el.getClientRects().length) continue;
    const fg = lum(parse(getComputedStyle(el).color)), bg = lum(background(el));
    const ratio = (Math.max(fg, bg) + 0.05) / (Math.min(fg, bg) + 0.05);
    if (ratio < 4.5) low.push(`${el.tagName}: ${node.textContent.trim().slice(0, 40)} ${ratio.toFixed(2)}`);
  }
  return low;
}"""


def _pages(live: Server) -> dict[str, str]:
    article = feedparser.parse(fetch(live.url + "/feeds/all.atom")).entries[0].link
    return {
        "index": "/",
        "country": "/countries/france",
        "topic": "/topics/strikes",
        "empty-country": "/countries/iceland",
        "article": article[len(live.url) :],
        "not-found": "/no/such/page",
        "feed-atom": "/feeds/countries/france.atom",
        "feed-rss": "/feeds/countries/france.rss",
        "feed-all-atom": "/feeds/all.atom",
        "feed-empty-rss": "/feeds/countries/iceland.rss",
    }


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_screenshots_fit_phones_and_keep_contrast(live, browser, scheme, subtests):
    """Every kind of page at desktop and phone widths: no sideways scrolling, contrast 4.5:1."""
    SCREENSHOTS.mkdir(exist_ok=True)
    for size, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        mobile = size == "phone"
        context = browser.new_context(viewport=viewport, is_mobile=mobile, has_touch=mobile, color_scheme=scheme)
        try:
            pages = _pages(live)
            watched = Watched(context, missing=(live.url + pages["not-found"],))
            for name, path in pages.items():
                with subtests.test(page=name, size=size, scheme=scheme):
                    response = watched.goto(live.url + path)
                    assert response.status == (404 if name == "not-found" else 200)
                    suffix = "" if scheme == "light" else "-dark"
                    watched.screenshot(SCREENSHOTS / f"{name}-{size}{suffix}.png")
                    width = watched.page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
                    assert width[0] <= width[1], f"{name} scrolls sideways at {size} width: {width}"
                    assert watched.page.evaluate(CONTRAST) == []
                    assert NO_STYLE not in watched.text()
            watched.check()
        finally:
            context.close()
