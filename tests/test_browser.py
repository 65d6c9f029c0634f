"""The site in a real browser: Debian's Chromium, driven by Playwright, against the production server.

Needs ``apt-get install chromium`` and ``pip install playwright`` (no ``playwright install``:
the system Chromium is used), and for the accessibility checks axe-core from npm
(``npm install --prefix .ci/node axe-core@4``, which ``.ci/run`` does; ``FEEDS_AXE`` names another
``axe.min.js``). Screenshots of every page at desktop and phone widths go to ``tests/screenshots/``
(``make screenshots``).
"""

from __future__ import annotations

import os
import shutil
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import feedparser
import pytest

from .conftest import SHIPPED, Server, require_program

pytestmark = pytest.mark.system

SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"
AXE = Path(os.environ.get("FEEDS_AXE") or SHIPPED.parent / ".ci/node/node_modules/axe-core/axe.min.js")
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
    pages = set(page.eval_on_selector_all("main a", "els => els.map(e => e.href)"))
    for html in set(feeds.values()) - {live.url + "/"}:
        assert html in pages, html  # every feed's page, and there its address
    for fmt in ("atom", "rss", "json"):
        assert page.locator(f"a[href='{live.url}/feeds/all.{fmt}']").count() == 1
    opml = page.get_by_role("link", name="All feeds as OPML, for importing into a reader")
    assert opml.get_attribute("href") == live.url + "/feeds.opml"
    assert page.get_by_role("button", name="Copy Atom URL").is_visible()
    assert page.locator("header a[href$='.opml']").count() == 0
    first = page.locator("#countries ~ table tbody th a").first
    name = first.inner_text()
    first.click()
    page.wait_for_load_state("load")
    assert page.url.startswith(live.url + "/countries/")
    assert page.locator("h1").inner_text() == name
    assert page.title().startswith(name)
    watched.check()


def _day(when) -> str:
    return f"{when.tm_mday} {time.strftime('%b', when)} {when.tm_year}"


def tab_title(context, page) -> str:
    """The title Chromium shows on the page's tab (for an XML document: its first XHTML ``title``)."""
    return context.new_cdp_session(page).send("Target.getTargetInfo")["targetInfo"]["title"]


def test_feeds_opened_in_the_browser_are_readable_pages(live, context):
    slug = "france"
    for fmt, kind in (("atom", "Atom"), ("rss", "RSS")):
        url = f"{live.url}/feeds/countries/{slug}.{fmt}"
        parsed = feedparser.parse(fetch(url))
        assert parsed.entries
        watched = Watched(context)
        response = watched.goto(url)
        assert response.headers["content-type"] == "application/xml; charset=utf-8"
        assert tab_title(context, watched.page) == f"{parsed.feed.title} ({kind} feed)"
        text = watched.text()
        assert NO_STYLE not in text
        assert parsed.feed.title in text
        assert "What is a feed?" in text
        for entry in parsed.entries:
            assert entry.title in text and _day(entry.published_parsed) in text  # as a person writes a date
            assert entry.published not in text  # not as the feed writes it
        # the address to subscribe to, as text, with its copy button beside it
        address = watched.page.locator("code.feed-url")
        assert address.evaluate("e => e.textContent") == url
        button = watched.page.get_by_role("button", name=f"Copy {kind} URL")
        assert button.is_visible()
        button.click()
        assert watched.page.evaluate("navigator.clipboard.readText()") == url
        assert watched.page.get_by_role("status").inner_text() == f"Copied {url}"
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
    assert page.get_by_role("status").inner_text().startswith("Copied")
    assert button.inner_text() == "Copied"
    watched.goto(live.url + "/")
    watched.page.get_by_role("button", name="Copy Atom URL").click()
    assert watched.page.evaluate("navigator.clipboard.readText()") == f"{live.url}/feeds/all.atom"
    watched.check()


def test_pages_work_without_javascript(live, browser):
    context = browser.new_context(viewport=DESKTOP, java_script_enabled=False)
    try:
        watched = Watched(context)
        watched.goto(live.url + "/")
        assert watched.page.locator("button.copy").first.is_hidden()
        assert watched.page.locator("table.feeds tbody tr").count() >= 2
        for path in ("/feeds/countries/france.atom", "/feeds.opml"):  # the previews read the same, less the button
            watched.goto(live.url + path)
            assert watched.page.locator("button.copy").is_hidden()
            assert watched.page.locator("code.feed-url").is_visible()
            assert watched.page.locator("main a[href]").count() >= 6
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
        "countries": "/countries",
        "topics": "/topics",
        "subscribe": "/subscribe?country=peru&topic=&q=strike&exclude=",
        "not-found": "/no/such/page",
        "feed-atom": "/feeds/countries/france.atom",
        "feed-rss": "/feeds/countries/france.rss",
        "feed-all-atom": "/feeds/all.atom",
        "feed-empty-rss": "/feeds/countries/iceland.rss",
        "feed-filtered-rss": "/feeds/all.rss?country=fr,pe&q=strike",
        "feed-opml": "/feeds.opml",
        "feed-json": "/feeds/countries/france.json",
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
                    if name != "feed-json":  # Chromium's own text view, on a canvas this check cannot see
                        assert watched.page.evaluate(CONTRAST) == []
                    assert NO_STYLE not in watched.text()
            watched.check()
        finally:
            context.close()


def _axe() -> Path:
    if not AXE.is_file():
        reason = f"axe-core is not installed ({AXE}; npm install --prefix .ci/node axe-core@4)"
        if os.environ.get("FEEDS_REQUIRE_SYSTEM_TESTS") == "1":
            pytest.fail(reason + " and FEEDS_REQUIRE_SYSTEM_TESTS=1")
        pytest.skip(reason)
    return AXE


AXE_RUN = """async () => {
  const result = await axe.run(document, { resultTypes: ["violations"] });
  return result.violations.map((v) => `${v.id} (${v.impact}): ${v.help}: ` +
    v.nodes.map((n) => n.target.join(" ")).slice(0, 5).join(", "));
}"""


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_axe_finds_no_violations_on_any_kind_of_page(live, browser, scheme, subtests):
    axe = _axe()
    pages = {k: v for k, v in _pages(live).items() if k != "feed-json"}  # Chromium's own text view
    assert {"index", "country", "topic", "article", "countries", "topics", "not-found"} <= set(pages)
    assert {"feed-atom", "feed-rss", "feed-opml", "feed-empty-rss"} <= set(pages)
    source = axe.read_text("utf-8")
    for size, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        # axe is injected as an inline script, which the pages' CSP forbids; the pages' own files keep to it
        context = browser.new_context(viewport=viewport, color_scheme=scheme, bypass_csp=True)
        try:
            watched = Watched(context, missing=(live.url + pages["not-found"],))
            for name, path in pages.items():
                with subtests.test(page=name, size=size, scheme=scheme):
                    watched.goto(live.url + path)
                    # folded lists are checked open too
                    watched.page.evaluate("document.querySelectorAll('details').forEach(d => d.open = true)")
                    if name.startswith("feed-"):
                        watched.page.evaluate(source + "\n;0")
                    else:
                        watched.page.add_script_tag(path=str(axe))
                    assert watched.page.evaluate(AXE_RUN) == []
                    if name == "feed-atom":  # axe does check an XML document: a link without a name fails
                        watched.page.evaluate(UNNAMED_LINK)
                        assert any(v.startswith("link-name") for v in watched.page.evaluate(AXE_RUN))
            watched.check()
        finally:
            context.close()


UNNAMED_LINK = """() => {
  const a = document.createElementNS("http://www.w3.org/1999/xhtml", "a");
  a.setAttribute("href", "/");
  document.querySelector("h1").append(a);
}"""


def _feed_titles(url: str) -> list[str]:
    return [e.title for e in feedparser.parse(fetch(url)).entries]


@pytest.mark.parametrize("javascript", [True, False])
def test_the_filter_form_builds_the_url_of_a_feed_that_serves_the_filtered_articles(live, browser, javascript):
    context = browser.new_context(viewport=PHONE, java_script_enabled=javascript)
    try:
        watched = Watched(context)
        watched.goto(live.url + "/")
        page = watched.page
        page.get_by_label("Country", exact=True).select_option(label="Peru")
        page.get_by_label("Topic", exact=True).select_option(label="Strikes")
        page.get_by_label("Without any of the words").fill("Usurper")
        page.get_by_role("button", name="Show the feed address").click()
        page.wait_for_load_state("load")
        assert page.url.startswith(live.url + "/subscribe?")
        address = page.locator("main code.url").inner_text().replace("\n", "")
        assert address == f"{live.url}/feeds/all.atom?country=pe&exclude=usurper&topic=strikes"
        expected = [t for t in _feed_titles(live.url + "/feeds/topics/strikes.atom") if "Peru" in t]
        titles = _feed_titles(address)
        assert titles and titles == [t for t in expected if "usurper" not in t.lower()]
        assert len(titles) < len(expected)  # the words took some out
        assert page.locator("main ol.articles li a").all_inner_texts() == titles
        link = page.get_by_role("link", name="Open the filtered feed")
        assert link.get_attribute("href") == address
        assert page.get_by_label("Country", exact=True).input_value() == "peru"  # the form keeps the choice
        watched.check()
    finally:
        context.close()


def _tab_through(page, limit: int = 400) -> list[dict]:
    """Every element Tab reaches, in order, from the top of the page until focus leaves it."""
    if page.evaluate("!!document.body"):
        page.locator("body").focus()  # an XML document has none: Tab starts from its top
    reached = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        found = page.evaluate(
            """() => { const e = document.activeElement;
              if (!e || e === document.body || e === document.documentElement) return null;
              const box = e.getBoundingClientRect();
              return { tag: e.tagName, href: e.href || null, text: e.innerText.trim(),
                       visible: box.width > 0 && box.height > 0 }; }"""
        )
        if found is None or (reached and found == reached[0]):
            break
        reached.append(found)
    return reached


def test_every_page_link_can_be_reached_by_keyboard(live, context, subtests):
    article = feedparser.parse(fetch(live.url + "/feeds/all.atom")).entries[1].link
    for path in ("/", "/countries/france", article, "/countries", "/no/such/page"):
        url = path if path.startswith("http") else live.url + path
        with subtests.test(path=path):
            watched = Watched(context, missing=(live.url + "/no/such/page",))
            watched.goto(url)
            page = watched.page
            links = page.eval_on_selector_all(
                "a[href]:not(details:not([open]) a)",
                "els => els.filter(e => e.getClientRects().length).map(e => e.href)",
            )
            reached = _tab_through(page)
            assert reached[0]["text"] == "Skip to content"
            assert all(r["visible"] for r in reached), [r for r in reached if not r["visible"]]
            hrefs = [r["href"] for r in reached if r["href"]]
            assert sorted(set(links) - set(hrefs)) == []
            if path == "/":
                latest = next(n for n, r in enumerate(reached) if r["href"] and "/articles/" in r["href"])
                assert latest < 50, latest  # was about 110 before the first article
                assert {"Copy Atom URL", "Show the feed address"} <= {r["text"] for r in reached}
            if path == article:  # the second newest has both neighbours
                around = page.eval_on_selector_all("a[rel=prev], a[rel=next]", "els => els.map(e => e.href)")
                assert len(around) == 2 and set(around) <= set(hrefs)
            watched.page.close()


def test_the_articles_heading_is_aligned_with_its_numbers(live, browser):
    for viewport in (DESKTOP, PHONE):
        context = browser.new_context(viewport=viewport)
        try:
            page = context.new_page()
            for path in ("/", "/countries"):
                page.goto(live.url + path)
                edges = page.evaluate(
                    """() => [...document.querySelectorAll('table.feeds')].map((t) => {
                      const right = (e) => { const r = document.createRange(); r.selectNodeContents(e);
                                             return Math.round(r.getBoundingClientRect().right); };
                      return [right(t.querySelector('thead .count')),
                              ...[...t.querySelectorAll('tbody .count')].map(right)]; })"""
                )
                assert edges
                for table in edges:
                    assert len(set(table)) == 1, (path, viewport, table)
        finally:
            context.close()


@pytest.mark.parametrize(
    "path, box",
    [
        ("/countries/south-georgia-and-the-south-sandwich-islands", "main code.url"),
        ("/feeds/countries/south-georgia-and-the-south-sandwich-islands.atom", "code.feed-url"),
        ("/feeds/countries/south-georgia-and-the-south-sandwich-islands.rss", "code.feed-url"),
    ],
)
def test_the_feed_address_breaks_at_slashes_on_a_phone(live, browser, path, box):
    """On a page and in the previews: between the parts of the address, never inside a word."""
    context = browser.new_context(viewport=PHONE, is_mobile=True)
    try:
        page = context.new_page()
        page.goto(live.url + path)
        box = page.locator(box)
        lines = box.evaluate(
            """(e) => { const lines = new Map(); const walker = document.createTreeWalker(e, NodeFilter.SHOW_TEXT);
              for (let n; (n = walker.nextNode());) for (let i = 0; i < n.length; i++) {
                const r = document.createRange(); r.setStart(n, i); r.setEnd(n, i + 1);
                const top = Math.round(r.getBoundingClientRect().top);
                lines.set(top, (lines.get(top) || '') + n.data[i]); }
              return [...lines.values()]; }"""
        )
        assert len(lines) >= 2, lines
        fmt = "rss" if path.endswith(".rss") else "atom"
        assert "".join(lines) == f"{live.url}/feeds/countries/south-georgia-and-the-south-sandwich-islands.{fmt}"
        for line in lines[:-1]:
            assert line.endswith(("/", "-")), lines  # between the parts of the address, never inside a word
        width = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        assert width[0] <= width[1]
    finally:
        context.close()


@pytest.mark.parametrize(
    "path, button",
    [
        ("/feeds/countries/france.atom", "Copy Atom URL"),
        ("/feeds/topics/strikes.rss", "Copy RSS URL"),
        ("/feeds.opml", "Copy OPML URL"),
    ],
)
def test_preview_links_are_reached_by_keyboard_and_lead_to_their_pages(live, context, path, button):
    """Every link of a preview is a Tab stop, in document order, and answers 200: each entry's
    title leads to its article's page, each feed of the OPML list to its page and its feed; Enter
    on one opens it."""
    from lxml import etree

    url = live.url + path
    data = fetch(url)
    if path.endswith(".opml"):
        outlines = [o for o in etree.fromstring(data).iter("outline") if o.get("xmlUrl")]
        targets = [href for o in outlines for href in (o.get("htmlUrl"), o.get("xmlUrl"))]
    else:
        entries = feedparser.parse(data).entries
        targets = [e.link for e in entries]
        titles = [e.title for e in entries]
    assert len(targets) >= 3
    watched = Watched(context)
    watched.goto(url)
    page = watched.page
    links = page.eval_on_selector_all("a[href]", "els => els.filter(e => e.getClientRects().length).map(e => e.href)")
    reached = _tab_through(page)
    assert len(reached) > len(targets)
    assert all(r["visible"] for r in reached), [r for r in reached if not r["visible"]]
    hrefs = [r["href"] for r in reached if r["href"]]
    assert hrefs == links  # every link, in document order
    assert [r["text"] for r in reached if r["tag"].lower() == "button"] == [button]  # tagName: lower case in XML
    places = [hrefs.index(target) for target in targets]
    assert places == sorted(places), "in the order of the document's entries"
    if not path.endswith(".opml"):  # each entry's title is the link to its page
        assert [r["text"] for r in reached if r["href"] in targets] == titles
    for href in sorted(set(hrefs)):
        with urllib.request.urlopen(href, timeout=10) as response:
            assert response.status == 200, href
    # Tab to the last entry's link and press Enter: its page opens
    watched.goto(url)
    for _ in range(next(n for n, r in enumerate(reached) if r["href"] == targets[-1]) + 1):
        page.keyboard.press("Tab")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.url == targets[-1]
    watched.check()
