"""The listing parser, through feeds.pipeline.parse's public functions."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from feeds.pipeline.parse import decode, parse_text, read_dir

from .conftest import SEED_TITLES, SHIPPED

SEED = (SHIPPED / "articles.txt").read_text("utf-8")


def test_seed_parses_into_its_twelve_articles_exactly():
    listing = read_dir(SHIPPED)
    assert listing.diagnostics == ()
    assert [e.title for e in listing.entries] == SEED_TITLES
    assert len(listing.entries) == 12
    first = listing.entries[0]
    assert first.title == "The French Government Is Weak: Now Finish It Off!"
    assert first.summary.startswith("The French government’s use of Article 49.3")
    assert listing.entries[9].summary.startswith("1.2 million people flooded the streets of Mexico City")
    assert "Andrés Manuel López Obrador’s" in listing.entries[9].summary


def test_every_txt_file_is_read_in_name_order(tmp_path: Path):
    (tmp_path / "b.txt").write_text("Second\n\nTwo.\n", "utf-8")
    (tmp_path / "a.txt").write_text("First\n\nOne.\n", "utf-8")
    (tmp_path / "notes.md").write_text("Ignored\n\nNot a listing.\n", "utf-8")
    assert [e.title for e in read_dir(tmp_path).entries] == ["First", "Second"]


def test_bom_line_endings_trailing_spaces_missing_newline_and_soft_wraps():
    text = (
        "\ufeffTitle one  \r\n\r\nA summary that is\r\n   soft wrapped   \r\nover lines.\r\n\r\nTitle two\r\rSecond.  "
    )
    listing = parse_text(text, "x.txt")
    assert listing.diagnostics == ()
    assert [(e.title, e.summary) for e in listing.entries] == [
        ("Title one", "A summary that is soft wrapped over lines."),
        ("Title two", "Second."),
    ]


def test_seed_with_crlf_and_bom_gives_the_same_articles():
    variant = "\ufeff" + SEED.replace("\n", "\r\n")
    assert parse_text(variant).entries == parse_text(SEED).entries


def test_metadata_lines_under_the_title():
    text = (
        "France: The Struggle Must Advance!\n"
        "@date: March 17, 2023 09:30 CET\n"
        "@link: https://example.org/france\n"
        "@author: Jane Doe\n"
        "@countries: +Belgium, -Spain\n"
        "@topics: strikes, -war\n"
        "\n"
        "Summary.\n"
    )
    listing = parse_text(text, "m.txt")
    assert listing.diagnostics == ()
    (entry,) = listing.entries
    assert entry.title == "France: The Struggle Must Advance!"
    assert entry.meta.date == datetime(2023, 3, 17, 8, 30, tzinfo=UTC)
    assert entry.meta.link == "https://example.org/france"
    assert entry.meta.author == "Jane Doe"
    assert entry.meta.countries.add == ("Belgium",) and entry.meta.countries.remove == ("Spain",)
    assert entry.meta.topics.add == ("strikes",) and entry.meta.topics.remove == ("war",)


def test_metadata_paragraph_between_title_and_summary():
    listing = parse_text("Title\n\n@date: 2023-03-17\n\nSummary.\n")
    assert listing.diagnostics == ()
    assert listing.entries[0].summary == "Summary."
    assert listing.entries[0].meta.date == datetime(2023, 3, 17, tzinfo=UTC)


def test_date_formats():
    for text, expected in [
        ("17 March 2023", datetime(2023, 3, 17, tzinfo=UTC)),
        ("2023-03-17", datetime(2023, 3, 17, tzinfo=UTC)),
        ("March 17, 2023 09:30 CET", datetime(2023, 3, 17, 8, 30, tzinfo=UTC)),
        ("2023-03-17T09:30:00-05:00", datetime(2023, 3, 17, 14, 30, tzinfo=UTC)),
    ]:
        entry = parse_text(f"T\n@date: {text}\n\nS.\n").entries[0]
        assert entry.meta.date == expected, text
        assert entry.meta.date.tzinfo is not None


def test_a_title_with_a_colon_or_an_at_sign_is_never_metadata():
    listing = parse_text("@date: the movie\n\nSummary.\n")
    assert listing.diagnostics == ()
    assert listing.entries[0].title == "@date: the movie"
    assert listing.entries[0].meta.date is None


def test_bad_metadata_is_an_error_with_file_and_line():
    listing = parse_text("Title\n@dtae: 2023-01-01\n@link: not a url\n@date: someday soon\n\nS.\n", "data/x.txt")
    messages = [str(d) for d in listing.diagnostics]
    assert messages[0].startswith("data/x.txt:2: error: unknown metadata key @dtae")
    assert messages[1].startswith("data/x.txt:3: error: @link must be an absolute http(s) URL")
    assert messages[2].startswith("data/x.txt:4: error: cannot read the date")
    assert len(listing.entries) == 1  # the article itself is kept


def test_missing_blank_line_and_missing_summary_are_warnings_not_drops():
    listing = parse_text("Title one\nIts summary.\n\nTitle two\n", "w.txt")
    assert [(e.title, e.summary) for e in listing.entries] == [("Title one", "Its summary."), ("Title two", "")]
    assert [(d.location.line, d.severity.value) for d in listing.diagnostics] == [(2, "warning"), (4, "warning")]


def test_invalid_utf8_is_reported_with_its_byte_offset():
    text, problems = decode(b"Title\n\nCaf\xe9 au lait.\n", "bad.txt")
    assert str(problems[0]).startswith("bad.txt:3: error: invalid UTF-8 at byte offset 10")
    assert "Caf\ufffd" in text


def test_utf16_with_its_byte_order_mark_is_read_with_a_warning(tmp_path: Path):
    """What Windows editors save as "Unicode": the same articles as the UTF-8 file, and a warning."""
    for encoding in ("utf-16", "utf-16-be"):
        data = tmp_path / encoding
        data.mkdir()
        text = "\ufeff" + SEED.replace("\n", "\r\n") if encoding == "utf-16-be" else SEED
        (data / "articles.txt").write_bytes(text.encode(encoding))
        listing = read_dir(data)
        assert [(e.title, e.summary, e.location.line) for e in listing.entries] == [
            (e.title, e.summary, e.location.line) for e in read_dir(SHIPPED).entries
        ]
        assert [str(d) for d in listing.diagnostics] == [
            f"{data / 'articles.txt'}:1: warning: read as UTF-16; save it as UTF-8"
        ]
    text, problems = decode("Title\n\nSummary.\n".encode("utf-16")[:-1], "odd.txt")
    assert str(problems[0]).startswith("odd.txt:1: error: invalid UTF-16 at byte offset")
    assert text.startswith("Title\n\nSummary")


def test_control_characters_are_removed_with_a_warning():
    listing = parse_text("Ti\x00tle\x1b\n\nSum\ufffemary\x08.\n", "c.txt")
    assert listing.entries[0].title == "Title"
    assert listing.entries[0].summary == "Summary."
    assert all(d.severity.value == "warning" for d in listing.diagnostics)


_line = (
    st.text(
        alphabet=st.characters(blacklist_categories=("Cs", "Cc", "Cn", "Zl", "Zp"), blacklist_characters="\u0085"),
        min_size=1,
        max_size=60,
    )
    .map(lambda s: " ".join(s.replace("\u200b", " ").split()))  # as the parser cleans a line
    .filter(lambda s: s and not s.startswith("@") and not s.startswith("\ufeff"))
)


# Titles do not end with a full stop: the parser reads such a line, between two paragraphs that do,
# as a summary whose title is missing (test_integrity.py).
_title = _line.filter(lambda s: not s.rstrip("\"'”’»)]*_").endswith("."))


@given(st.lists(st.tuples(_title, _line), min_size=1, max_size=8), st.sampled_from(["\n", "\r\n", "\r"]))
def test_any_listing_round_trips(articles, newline):
    text = newline.join(f"{t}{newline}{newline}{s}{newline}" for t, s in articles)
    listing = parse_text(text)
    assert [(e.title, e.summary) for e in listing.entries] == articles


@given(st.binary(max_size=400))
def test_arbitrary_bytes_never_raise(data):
    text, _ = decode(data, "fuzz.txt")
    listing = parse_text(text, "fuzz.txt")
    for entry in listing.entries:
        assert entry.title
        assert "\x00" not in entry.title + entry.summary


def _reference(text: str) -> list[tuple[str, str, int]]:
    """The listing read line by line, the obvious way: (title, summary, line of the title)."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    paragraphs: list[tuple[int, list[str]]] = []
    for number, line in enumerate(lines, start=1):
        if line.replace("\u200b", " ").strip():
            if paragraphs and paragraphs[-1][0] + len(paragraphs[-1][1]) == number:
                paragraphs[-1][1].append(line)
            else:
                paragraphs.append((number, [line]))
    out, i = [], 0
    while i < len(paragraphs):
        start, block = paragraphs[i]
        rest = block[1:]
        i += 1
        if not rest and i < len(paragraphs):
            rest = paragraphs[i][1]
            i += 1
        out.append((" ".join(block[0].replace("\u200b", " ").split()), " ".join(" ".join(rest).split()), start))
    return out


@given(
    st.lists(
        st.sampled_from(["Peru", "Lima strike", "  indented", "tab\there", "\u200b", " ", "\t", "", "x\u200by", "é"]),
        max_size=30,
    ),
    st.sampled_from(["\n", "\r\n"]),
)
def test_paragraphs_and_line_numbers_match_a_line_by_line_reading(lines, newline):
    """Blank lines made of spaces, tabs or zero-width spaces, runs of them, wrapped paragraphs."""
    text = newline.join(lines)
    listing = parse_text(text, "p.txt")
    got = [(e.title, e.summary.replace("\u200b", " "), e.location.line) for e in listing.entries]
    expected = [(t, " ".join(s.replace("\u200b", " ").split()), n) for t, s, n in _reference(text)]
    assert got == expected
