"""Nothing half-made is published or remembered: damaged listings, dates at the edge of the range,
ids that must not move, files that are not files (through `feeds check`, the service and the parser)."""

from __future__ import annotations

import json
import os
import re
import resource
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import feedparser
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from feeds.cli import main
from feeds.pipeline.ledger import LEDGER_NAME
from feeds.pipeline.load import HOLD, load
from feeds.pipeline.parse import Limits, parse_text, read_dir

from .conftest import ROOT

T0 = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


def _check(data: Path):
    return CliRunner().invoke(main, ["check", "--data-dir", str(data), "--cache-dir", "off"])


def _write(data: Path, text: str, name: str = "articles.txt") -> Path:
    data.mkdir(exist_ok=True)
    path = data / name
    path.write_text(text, "utf-8")
    return path


def _pairs(text: str) -> list[tuple[str, str]]:
    return [(e.title, e.summary) for e in parse_text(text, "x.txt").entries]


LISTING = [
    ("Peru: National Strike Called", "Unions call a national strike. Miners join."),
    ("France: Pension Reform Passes", "The government forces the vote."),
    ("Greece: General Strike", "Ports and trains stop."),
    ("Iran: Protests Continue", "Students march in Tehran."),
    ("Spain: Doctors Walk Out", "Health workers demand more staff."),
]


def _text(articles: list[tuple[str, str]]) -> str:
    return "".join(f"{t}\n\n{s}\n\n" for t, s in articles)


# -- one missing blank line does not shift the listing ----------------------------------------------


def test_two_titles_without_a_blank_line_or_summary_between_them(tmp_path: Path):
    lines = _text(LISTING).split("\n")
    # "France: ..." loses its summary and the blank lines around it: two title lines in a row
    assert lines[4:8] == ["France: Pension Reform Passes", "", "The government forces the vote.", ""]
    del lines[5:8]
    _write(tmp_path, "\n".join(lines))
    result = _check(tmp_path)
    assert result.exit_code == 0, result.output
    assert "articles.txt:5: warning: article 'France: Pension Reform Passes' has no summary" in result.stderr
    assert "articles.txt:6: warning: expected a blank line before 'Greece: General Strike'" in result.stderr
    got = [(e.title, e.summary) for e in read_dir(tmp_path).entries]
    assert got == [LISTING[0], (LISTING[1][0], ""), *LISTING[2:]]


def test_a_title_whose_summary_is_missing_does_not_take_the_next_title_as_its_summary():
    text = _text([LISTING[0]]) + "Lone Title\n\n" + _text(LISTING[1:])
    listing = parse_text(text, "x.txt")
    assert [(e.title, e.summary) for e in listing.entries] == [LISTING[0], ("Lone Title", ""), *LISTING[1:]]
    assert [str(d) for d in listing.diagnostics] == [
        "x.txt:5: warning: article 'Lone Title' has no summary; line 7 reads as the next title"
    ]


def test_a_summary_run_into_the_next_title():
    text = _text(LISTING).replace("Miners join.\n\n", "Miners join.\n", 1)
    listing = parse_text(text, "x.txt")
    assert [(e.title, e.summary) for e in listing.entries] == LISTING
    assert [str(d) for d in listing.diagnostics] == [
        "x.txt:4: warning: expected a blank line before 'France: Pension Reform Passes', read as a title"
    ]


def test_a_title_run_into_its_summary_is_still_one_article():
    text = _text(LISTING).replace("Passes\n\n", "Passes\n", 1)
    assert _pairs(text) == LISTING


# Listings as the format asks for them: titles do not end with a full stop, summaries are sentences.
_word = st.sampled_from(["strike", "Peru", "workers", "U.S.", "march", "Lima", "port", "vote", "Iran:", "—", "50%"])
_title = st.lists(_word, min_size=1, max_size=6).map(" ".join).map(lambda t: t.rstrip(".") or "Strike")
_title = st.tuples(_title, st.sampled_from(["", "!", "?", ":"])).map("".join)
_sentence = st.lists(_word, min_size=1, max_size=8).map(lambda ws: " ".join(ws).capitalize().rstrip(".") + ".")
_summary = st.lists(_sentence, min_size=1, max_size=3)  # the sentences, each on a line of its own or not
_article = st.tuples(_title, _summary, st.booleans(), st.booleans())


def _render(articles) -> list[str]:
    lines: list[str] = []
    for title, sentences, wrapped, with_meta in articles:
        lines.append(title)
        if with_meta:
            lines.append("@link: https://example.org/a")
        lines.append("")
        lines.extend(sentences if wrapped else [" ".join(sentences)])
        lines.append("")
    return lines


def _middle(a: list, b: list) -> tuple[list, list]:
    """What differs between two parses once their common beginning and end are set aside."""
    p = 0
    while p < min(len(a), len(b)) and a[p] == b[p]:
        p += 1
    q = 0
    while q < min(len(a), len(b)) - p and a[-1 - q] == b[-1 - q]:
        q += 1
    return a[p : len(a) - q], b[p : len(b) - q]


@given(st.lists(_article, min_size=1, max_size=8), st.data())
def test_one_removed_blank_line_changes_at_most_the_two_articles_around_it(articles, data):
    lines = _render(articles)
    original = [(e.title, e.summary) for e in parse_text("\n".join(lines)).entries]
    blanks = [n for n, line in enumerate(lines) if not line]
    cut = data.draw(st.sampled_from(blanks))
    damaged = parse_text("\n".join(lines[:cut] + lines[cut + 1 :]))
    before, after = _middle(original, [(e.title, e.summary) for e in damaged.entries])
    assert len(before) <= 2 and len(after) <= 2


def _defect(lines: list[str], data) -> tuple[str, str]:
    kind = data.draw(st.sampled_from(["blank line removed", "line removed", "line cut", "control", "truncated"]))
    n = data.draw(st.integers(0, len(lines) - 1))
    if kind == "blank line removed":
        n = data.draw(st.sampled_from([k for k, line in enumerate(lines) if not line]))
        lines = lines[:n] + lines[n + 1 :]
    elif kind == "line removed":
        lines = lines[:n] + lines[n + 1 :]
    elif kind == "line cut":
        spaces = [k for k, c in enumerate(lines[n]) if c == " "]
        if spaces:
            k = data.draw(st.sampled_from(spaces))
            lines = lines[:n] + [lines[n][:k], lines[n][k + 1 :]] + lines[n + 1 :]
    elif kind == "control":
        k = data.draw(st.integers(0, len(lines[n])))
        char = data.draw(st.sampled_from(["\x00", "\x1b", "\x0b", "\x7f", "\x85", "\ufffe"]))
        lines = lines[:n] + [lines[n][:k] + char + lines[n][k:]] + lines[n + 1 :]
    text = "\n".join(lines)
    if kind == "truncated":
        text = text[: data.draw(st.integers(0, len(text)))]
    return kind, text


@given(st.lists(_article, min_size=1, max_size=8), st.data())
def test_one_defect_is_reported_or_harmless_and_shifts_nothing_beyond_its_neighbours(articles, data):
    lines = _render(articles)
    original = [(e.title, e.summary) for e in parse_text("\n".join(lines)).entries]
    kind, text = _defect(lines, data)
    damaged = parse_text(text, "d.txt")  # never raises
    got = [(e.title, e.summary) for e in damaged.entries]
    assert all(title for title, _ in got)
    if kind == "truncated":
        if got:
            assert got[:-1] == original[: len(got) - 1], "only the article cut short may differ"
        else:
            assert [d.message for d in damaged.diagnostics] == ["no articles"]
        return
    before, after = _middle(original, got)
    assert len(before) <= 2 and len(after) <= 3, (before, after)
    # every article is published as it was, or published with its title, or something is reported
    titles = {title for title, _ in after}
    assert damaged.diagnostics or all(title in titles for title, _ in before), (before, after)


# -- empty files ------------------------------------------------------------------------------------


def test_an_empty_file_or_one_of_blank_lines_has_no_articles(tmp_path: Path):
    _write(tmp_path, "", "a.txt")
    _write(tmp_path, "\n  \n\t\n\u200b\n", "b.txt")
    result = _check(tmp_path)
    assert f"{tmp_path / 'a.txt'}: warning: no articles" in result.stderr
    assert f"{tmp_path / 'b.txt'}: warning: no articles" in result.stderr
    assert "0 articles, 0 errors, 2 warnings" in result.stdout


# -- dates at the edge of the range -----------------------------------------------------------------

EDGE = (
    "A\n@date: 9999-12-31T23:59:59-14:00\n\nOne.\n\n"
    "B\n@date: 0001-01-01T00:00:00+14:00\n\nTwo.\n\n"
    "C\n@date: 0001-01-01\n\nThree.\n\n"
    "D\n@date: 0001-01-01\n\nFour.\n\n"
    "E\n@date: 2023-03-17 09:30 IST\n\nFive.\n"
)


def test_dates_outside_the_range_and_unknown_zones_are_errors_naming_the_line(tmp_path: Path):
    _write(tmp_path, EDGE)
    result = _check(tmp_path)
    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit), result.exception  # not an OverflowError
    for line in (2, 7, 12, 17):
        assert re.search(rf"articles.txt:{line}: error: the date '.*' is out of range", result.stderr), line
    assert "articles.txt:22: error: unknown time zone 'IST'" in result.stderr


def test_the_service_starts_on_such_dates_and_says_degraded(tmp_path: Path):
    from feeds.serve.app import create_app

    _write(tmp_path, EDGE)
    client = create_app({"DATA_DIR": str(tmp_path), "RELOAD_INTERVAL": 0, "TESTING": True}).test_client()
    health = client.get("/healthz").get_json()
    assert health["status"] == "degraded"
    assert any("out of range" in e for e in health["errors"])
    for path in ("/feeds/all.atom", "/feeds/all.rss", "/feeds/all.json", "/"):
        assert client.get(path).status_code == 200


_FOUR_DIGITS = [
    re.compile(r"\b(\d+)-\d\d-\d\dT\d\d:\d\d"),  # RFC 3339
    re.compile(r"\b\d\d? (?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) (\d+) \d\d:"),  # RFC 822
]


def test_the_first_and_last_dates_accepted_are_written_with_four_digit_years_everywhere(tmp_path: Path):
    data = tmp_path / "data"
    _write(
        data,
        "Last\n@date: 9998-12-31T23:59:59Z\n\nOne.\n\n"
        "First\n@date: 1001-01-01\n\nTwo.\n\n"
        "Also first\n@date: 1001-01-01\n\nThree.\n\n"
        "Zoned\n@date: 1001-01-01T00:00:00+14:00\n\nFour.\n",
    )
    assert _check(data).exit_code == 1  # the last one is 1000-12-31 in UTC
    _write(data, (data / "articles.txt").read_text("utf-8").rsplit("\n\nZoned", 1)[0] + "\n")
    assert _check(data).exit_code == 0
    out = tmp_path / "out"
    built = CliRunner().invoke(main, ["build", str(out), "--base-url", "https://x.example", "--data-dir", str(data)])
    assert built.exit_code == 0, built.output
    years = []
    for path in out.rglob("*"):
        if path.is_file() and path.suffix in (".atom", ".rss", ".json", ".html", ".opml"):
            text = path.read_text("utf-8")
            for pattern in _FOUR_DIGITS:
                years += pattern.findall(text)
    assert years and all(len(year) == 4 for year in years), sorted(set(years))
    assert {"1000", "1001", "9998"} <= set(years)  # the second article of 1001-01-01 is a second earlier


# -- ids: a pinned id never takes over another article's; same titles keep theirs -----------------


def test_a_pinned_id_of_another_listed_article_is_an_error_and_changes_nothing(tmp_path: Path):
    _write(tmp_path, _text(LISTING[:2]))
    site = load(tmp_path, now=T0).site
    peru = site.articles[0]
    ledger = (tmp_path / LEDGER_NAME).read_bytes()
    _write(tmp_path, f"Chile: Copper Miners Strike\n@id: {peru.id}\n\nMines stop.\n\n" + _text(LISTING[:2]))
    result = _check(tmp_path)
    assert result.exit_code == 1
    assert f"articles.txt:1: error: @id {peru.id} is the id of another article, {peru.title!r}" in result.stderr
    loaded = load(tmp_path, now=T0 + timedelta(hours=1))
    assert loaded.errors
    assert (tmp_path / LEDGER_NAME).read_bytes() == ledger
    assert {a.title: a.id for a in loaded.site.articles}[peru.title] == peru.id


def test_a_pinned_id_of_an_article_that_was_rewritten_keeps_it(tmp_path: Path):
    _write(tmp_path, _text(LISTING[:2]))
    peru = load(tmp_path, now=T0).site.articles[0]
    _write(tmp_path, f"Peru: A Rewritten Story\n@id: {peru.id}\n\nAll new text.\n\n" + _text(LISTING[1:2]))
    article = load(tmp_path, now=T0 + timedelta(hours=1)).site.articles[0]
    assert (article.id, article.slug, article.published) == (peru.id, peru.slug, peru.published)


def test_articles_with_one_title_keep_their_ids_when_both_summaries_are_edited_after_a_reorder(tmp_path: Path):
    one = ("Strike", "Dockers in Rotterdam stop the port for higher wages.")
    two = ("Strike", "Teachers in Chicago walk out over class sizes.")
    _write(tmp_path, _text([one, LISTING[0], two]))
    before = {a.summary: a.id for a in load(tmp_path, now=T0).site.articles}
    edited_one = (one[0], one[1].replace("higher wages", "a wage rise of ten percent"))
    edited_two = (two[0], two[1].replace("class sizes", "class sizes and pay"))
    _write(tmp_path, _text([edited_two, LISTING[0], edited_one]))
    after = {a.summary: a.id for a in load(tmp_path, now=T0 + timedelta(hours=1)).site.articles}
    assert after[edited_one[1]] == before[one[1]]
    assert after[edited_two[1]] == before[two[1]]


# -- a file read while it is being saved -----------------------------------------------------------


def _dates(data: Path, now: datetime) -> dict[str, tuple[str, datetime, datetime]]:
    return {a.title: (a.id, a.published, a.updated) for a in load(data, now=now).site.articles}


def test_articles_cut_short_or_gone_for_a_moment_come_back_with_their_ids_and_dates(tmp_path: Path):
    _write(tmp_path, _text(LISTING))
    first = _dates(tmp_path, T0)
    full = _text(LISTING)
    half = full[: full.index("Ports and trains")] + "Ports an"  # Greece cut short, the rest not yet written
    _write(tmp_path, half)
    load(tmp_path, now=T0 + timedelta(seconds=5))
    _write(tmp_path, full[: full.index("France")] + "Fr")  # one more partial state
    load(tmp_path, now=T0 + timedelta(seconds=6))
    _write(tmp_path, full[: full.index("Ports and trains")] + "Ports and tr")  # Greece cut elsewhere
    load(tmp_path, now=T0 + timedelta(seconds=7))
    _write(tmp_path, full)
    back = _dates(tmp_path, T0 + timedelta(seconds=9))
    assert back == first
    # a real edit, kept past the moment, moves the updated date (and only that)
    _write(tmp_path, full.replace("Ports and trains stop.", "Ports, trains and buses stop."))
    load(tmp_path, now=T0 + timedelta(hours=1))
    _write(tmp_path, full)
    later = _dates(tmp_path, T0 + timedelta(hours=2))
    greece = "Greece: General Strike"
    assert later[greece][:2] == first[greece][:2] and later[greece][2] == T0 + timedelta(hours=2)


# -- metadata lines --------------------------------------------------------------------------------


def test_thousands_of_metadata_lines_are_an_error_naming_the_first_line_over_the_limit(tmp_path: Path):
    _write(tmp_path, "Peru: Strike\n" + "@countries: Peru\n" * 40_000 + "\nMiners stop work.\n")
    result = _check(tmp_path)
    assert result.exit_code == 1
    limit = Limits().max_meta_lines
    assert f"articles.txt:{limit + 2}: error: article 'Peru: Strike' has 40000 metadata lines" in result.stderr


def test_repeated_override_lines_add_up():
    (entry,) = parse_text("T\n@countries: Peru\n@countries: +Chile, -Spain\n@topics: strikes\n\nS.\n").entries
    assert entry.meta.countries.add == ("Peru", "Chile") and entry.meta.countries.remove == ("Spain",)
    assert entry.meta.topics.add == ("strikes",)


# -- files that are not files ----------------------------------------------------------------------


def _limited_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))


def _check_subprocess(data: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "feeds.cli", "check", "--data-dir", str(data), "--cache-dir", "off"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,  # a FIFO opened for reading without O_NONBLOCK waits for a writer for ever
        preexec_fn=_limited_memory,
    )


def test_fifos_devices_and_directories_are_reported_and_never_block(tmp_path: Path):
    data = tmp_path / "data"
    _write(data, _text(LISTING[:1]))
    os.mkfifo(tmp_path / "pipe")
    os.mkfifo(data / "fifo.txt")
    (data / "link-to-fifo.txt").symlink_to(tmp_path / "pipe")
    (data / "zero.txt").symlink_to("/dev/zero")
    (data / "folder.txt").mkdir()
    result = _check_subprocess(data)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr and "MemoryError" not in result.stderr
    for name, kind in [
        ("fifo.txt", "a FIFO"),
        ("link-to-fifo.txt", "a FIFO"),
        ("zero.txt", "a character device"),
        ("folder.txt", "a directory"),
    ]:
        assert f"{data / name}: error: not a regular file ({kind}); only regular files are read" in result.stderr
    assert "1 articles, 4 errors" in result.stdout


def test_the_size_limit_holds_for_what_is_read_not_what_stat_says(tmp_path: Path):
    assert os.stat("/proc/self/status").st_size == 0  # a regular file whose size stat() does not know
    (tmp_path / "status.txt").symlink_to("/proc/self/status")
    (problem,) = read_dir(tmp_path, limits=Limits(max_file_bytes=100)).diagnostics
    assert str(problem) == f"{tmp_path / 'status.txt'}: error: file is over 100 bytes; the limit is 100"


def test_json_check_counts_the_problems(tmp_path: Path):
    _write(tmp_path, "")
    result = CliRunner().invoke(main, ["check", "--json", "--data-dir", str(tmp_path), "--cache-dir", "off"])
    assert json.loads(result.stdout)["warnings"] == 1


def test_a_build_started_by_a_save_in_place_waits_for_the_whole_file(tmp_path: Path):
    """An editor saving in place truncates the file, then writes it: a build started in between (by a
    file watcher) publishes and records the whole file, not the empty or half-written one."""
    data = tmp_path / "data"
    text = "".join(f"Peru: Strike number {n}\n\nMiners in Lima stop for day {n}.\n\n" for n in range(40))
    listing = _write(data, text)
    with open(listing, "r+b") as handle:
        handle.truncate(0)  # the save has begun
        rest = text.encode()

        def finish() -> None:
            time.sleep(HOLD / 5)
            handle.write(rest[: len(rest) // 2])
            handle.flush()
            time.sleep(HOLD / 5)
            handle.write(rest[len(rest) // 2 :])
            handle.flush()

        writer = threading.Thread(target=finish)
        writer.start()
        out = tmp_path / "out"
        args = ["build", str(out), "--base-url", "https://example.org", "--data-dir", str(data), "--cache-dir", "off"]
        result = CliRunner().invoke(main, args)
        writer.join()
    assert result.exit_code == 0, result.output
    feed = feedparser.parse((out / "feeds/all.atom").read_bytes())
    assert len(feed.entries) == 40 and feed.entries[0].title == "Peru: Strike number 0"
    ledger = json.loads((data / LEDGER_NAME).read_text("utf-8"))
    assert sorted(record["title"] for record in ledger["articles"]) == sorted(
        f"Peru: Strike number {n}" for n in range(40)
    )
