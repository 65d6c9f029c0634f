"""Read the plain-text listing.

The format is a title line, a blank line, a one-paragraph summary, a blank line, repeated.
A summary may be soft-wrapped over several lines; they are joined with single spaces.
Optional metadata goes on ``@key: value`` lines directly under the title (or in a paragraph
of such lines between the title and the summary)::

    France: The Struggle Must Advance!
    @date: 2023-03-17 09:30 CET
    @link: https://example.org/france-struggle
    @countries: +Belgium, -Spain

    Almost two months into the movement ...

The first line of a title paragraph is always the title, so a title that contains a colon,
or even starts with ``@``, is never read as metadata. An ``@`` line with an unknown key is
an error rather than being taken for text.

Titles do not end with a full stop and summaries are sentences: where a blank line or a summary is
missing, what follows decides whether a line is a title or a summary (see ``_parse``), so that one
defect changes at most the articles on either side of it.
"""

from __future__ import annotations

import codecs
import contextlib
import os
import re
import stat
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

from feeds.model import FIRST_DATE, LAST_DATE, Diagnostic, Entry, Location, Meta, Overrides, Severity

META_LINE = re.compile(r"^@([A-Za-z][A-Za-z_-]*)\s*:\s*(.*)$")
# Code points feeds and pages cannot carry: C0 controls but tab/newline (XML 1.0 forbids them),
# lone surrogates, DEL and C1 controls and the noncharacters (XML discourages them, HTML rejects them).
# Three patterns, the cheap ones first: one class with astral members is ten times slower.
_BMP_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufdd0-\ufdef\ufffe\uffff]")
_ASTRAL = re.compile("[\U00010000-\U0010ffff]")
_ASTRAL_INVALID = re.compile(
    "[" + "".join(f"{chr(plane * 0x10000 + 0xFFFE)}{chr(plane * 0x10000 + 0xFFFF)}" for plane in range(1, 17)) + "]"
)
_ASCII_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_META_KEYS = {
    "date": "date",
    "published": "date",
    "link": "link",
    "url": "link",
    "author": "author",
    "id": "id",
    "countries": "countries",
    "country": "countries",
    "topics": "topics",
    "topic": "topics",
}

# Zone abbreviations dateutil does not know on its own. Abbreviations are ambiguous
# in general (IST, CST); these are the ones news datelines use with one meaning.
_ZONES: dict[str, int | tzinfo] = {
    "UTC": 0,
    "GMT": 0,
    "Z": 0,
    "WET": 0,
    "WEST": 3600,
    "BST": 3600,
    "CET": 3600,
    "CEST": 7200,
    "EET": 7200,
    "EEST": 10800,
    "MSK": 10800,
    "EST": -5 * 3600,
    "EDT": -4 * 3600,
    "CST": -6 * 3600,
    "CDT": -5 * 3600,
    "MST": -7 * 3600,
    "MDT": -6 * 3600,
    "PST": -8 * 3600,
    "PDT": -7 * 3600,
    "JST": 9 * 3600,
}


@dataclass(frozen=True)
class Limits:
    """Bounds on input size; exceeding one is an error naming the file and line."""

    max_file_bytes: int = 64 * 1024 * 1024  # about 250,000 articles of this size in one file
    max_title_chars: int = 500
    max_summary_chars: int = 20_000
    max_articles: int = 1_000_000
    max_meta_lines: int = 100  # @ lines of one article


@dataclass(frozen=True)
class Listing:
    """Entries of one or more files in reading order, with what was wrong with them."""

    entries: tuple[Entry, ...]
    diagnostics: tuple[Diagnostic, ...]

    @property
    def errors(self) -> tuple[Diagnostic, ...]:
        return tuple(d for d in self.diagnostics if d.is_error)


class _Reporter:
    def __init__(self, path: str) -> None:
        self.path = path
        self.items: list[Diagnostic] = []

    def warn(self, line: int, message: str) -> None:
        self.items.append(Diagnostic(Location(self.path, line), Severity.WARNING, message))

    def error(self, line: int, message: str) -> None:
        self.items.append(Diagnostic(Location(self.path, line), Severity.ERROR, message))


def decode(data: bytes, path: str) -> tuple[str, list[Diagnostic]]:
    """UTF-8 with or without BOM; invalid bytes are reported with their offset and replaced. UTF-16
    with its byte-order mark (what Windows editors call "Unicode") is read, with a warning."""
    problems: list[Diagnostic] = []
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            text, severity, message = data.decode("utf-16"), Severity.WARNING, "read as UTF-16; save it as UTF-8"
        except UnicodeDecodeError as exc:
            text, severity = data.decode("utf-16", errors="replace"), Severity.ERROR
            message = f"invalid UTF-16 at byte offset {exc.start}: the file must be saved as UTF-8"
        return text, [Diagnostic(Location(path, 1), severity, message)]
    try:
        return data.decode("utf-8"), problems
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        problems.append(
            Diagnostic(
                Location(path, line),
                Severity.ERROR,
                f"invalid UTF-8 at byte offset {exc.start}: the file must be saved as UTF-8",
            )
        )
        return data.decode("utf-8", errors="replace"), problems


# UTF-8 bytes that begin what _strip_invalid removes: C0 controls but tab and newline, DEL; C1 controls
# (C2 80-9F); noncharacters U+FDD0-FDEF and U+FFFE/FFFF (EF B7 90-AF, EF BF BE/BF); astral characters (F0-F4),
# whose noncharacters need the slow check. Surrogates cannot be in valid UTF-8.
_CONTROL_BYTES = bytes([*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F])
_SUSPECT_BYTES = re.compile(rb"\xc2[\x80-\x9f]|\xef\xb7[\x90-\xaf]|\xef\xbf[\xbe\xbf]")


def _clean_bytes(data: bytes) -> bool:
    """Whether UTF-8 ``data`` surely holds nothing to strip, found by byte searches that run at memory speed
    (a regular expression over the decoded text costs ten times more)."""
    if len(data.translate(None, _CONTROL_BYTES)) != len(data):
        return False
    if any(lead in data for lead in (b"\xf0", b"\xf1", b"\xf2", b"\xf3", b"\xf4")):
        return False
    return not ((b"\xc2" in data or b"\xef" in data) and _SUSPECT_BYTES.search(data))


def _strip_invalid(text: str, report: _Reporter) -> str:
    """Remove what feeds cannot carry, one warning per line affected."""
    if text.isascii():
        patterns = [_ASCII_INVALID]
    else:
        patterns = [_BMP_INVALID] + ([_ASTRAL_INVALID] if _ASTRAL.search(text) else [])
    for pattern in patterns:
        if pattern.search(text):
            lines = sorted({text.count("\n", 0, m.start()) + 1 for m in pattern.finditer(text)})
            for line in lines:
                report.warn(line, "removed control or non-character code points that feeds cannot carry")
            text = pattern.sub("", text)
    return text


def parse_text(text: str, path: str = "<text>", *, limits: Limits | None = None, default_tz: tzinfo = UTC) -> Listing:
    """Parse one listing; never raises on bad input, reports it instead."""
    return _parse(text, path, limits or Limits(), default_tz, checked=False)


def _parse(text: str, path: str, limits: Limits, default_tz: tzinfo, *, checked: bool) -> Listing:
    """``checked``: the caller has seen that ``text`` holds nothing :func:`_strip_invalid` removes."""
    report = _Reporter(path)
    if text.startswith("\ufeff"):
        text = text[1:]
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not checked:
        text = _strip_invalid(text, report)
    paragraphs = _paragraphs(text)
    del text
    entries: list[Entry] = []
    # Paragraphs read ahead to decide what one is, or put back: a line taken for the next title.
    ahead: deque[tuple[int, list[str]]] = deque()

    def peek(k: int) -> tuple[int, list[str]] | None:
        while len(ahead) <= k:
            item = next(paragraphs, None)
            if item is None:
                return None
            ahead.append(item)
        return ahead[k]

    while (item := ahead.popleft() if ahead else next(paragraphs, None)) is not None:
        start, block = item
        title = _clean(block[0])
        meta_lines: list[tuple[int, str]] = []
        rest: list[str] = []
        for offset in range(1, len(block)):
            raw = block[offset]
            if not rest and META_LINE.match(raw.strip()):
                meta_lines.append((start + offset, raw.strip()))
            else:
                rest.append(raw)
        summary_line = start + 1 + len(meta_lines)
        if block[0].lstrip().startswith("@") and _reads_as_meta(block[0].strip(), bool(meta_lines), default_tz):
            report.warn(start, f"the title {title!r} reads as a metadata line: is the title line missing?")
        if rest and _title_like(rest) and (len(rest) > 1 or _sentences(peek(0))):
            # Two titles with no blank line and no summary between them: the second one is the title
            # of the paragraph that follows, which reads as a summary.
            report.warn(start, f"article {title!r} has no summary")
            report.warn(summary_line, f"expected a blank line before {_clean(rest[0])!r}, read as the next title")
            ahead.appendleft((summary_line, rest))
            rest = []
        elif rest:
            report.warn(summary_line, "expected a blank line between the title and the summary")
        else:
            # A paragraph of @ lines between title and summary also belongs to the title.
            while (item := ahead.popleft() if ahead else next(paragraphs, None)) is not None and _all_meta(item[1]):
                meta_lines.extend((item[0] + k, r.strip()) for k, r in enumerate(item[1]))
            if item is None:
                report.warn(start, f"article {title!r} has no summary")
            elif (item[1][0][-1:] != "." or item[1][0].endswith("..")) and _title_like(item[1]) and _sentences(peek(0)):
                # A title, not a summary: the paragraph after it is the summary (titles do not end
                # with a full stop, summaries are sentences).
                report.warn(start, f"article {title!r} has no summary; line {item[0]} reads as the next title")
                ahead.appendleft(item)
            else:
                summary_line, rest = item
                k = _title_at_end(rest) if len(rest) > 1 else 0
                if k and (k < len(rest) - 1 or _sentences(peek(0))):
                    # No blank line between this summary and the next title.
                    report.warn(summary_line + k, f"expected a blank line before {_clean(rest[k])!r}, read as a title")
                    ahead.appendleft((summary_line + k, rest[k:]))
                    rest = rest[:k]
        summary = _clean(rest[0] if len(rest) == 1 else " ".join(rest))
        if len(title) > limits.max_title_chars:
            report.error(start, f"title is {len(title)} characters long; the limit is {limits.max_title_chars}")
            title = title[: limits.max_title_chars]
        if len(summary) > limits.max_summary_chars:
            report.error(
                summary_line,
                f"summary is {len(summary)} characters long; the limit is {limits.max_summary_chars}",
            )
            summary = summary[: limits.max_summary_chars]
        if len(meta_lines) > limits.max_meta_lines:
            report.error(
                meta_lines[limits.max_meta_lines][0],
                f"article {title!r} has {len(meta_lines)} metadata lines; the limit is {limits.max_meta_lines}",
            )
            del meta_lines[limits.max_meta_lines :]
        meta = _parse_meta(meta_lines, report, default_tz) if meta_lines else _NO_META
        entries.append(Entry(title, summary, Location(path, start), meta))
    if not entries:
        report.warn(0, "no articles")
    return Listing(tuple(entries), tuple(report.items))


def _clean(text: str) -> str:
    """Collapse every run of white space (zero-width space included) to one space."""
    if not text.isascii() and "\u200b" in text:
        text = text.replace("\u200b", " ")
    return " ".join(text.split())


def _all_meta(lines: list[str]) -> bool:
    return lines[0].lstrip().startswith("@") and all(META_LINE.match(r.strip()) for r in lines)


_CLOSERS = "\"'”’»)]*_"


def _full_stop(line: str) -> bool:
    """Whether ``line`` ends a sentence with a full stop (an ellipsis does not count)."""
    if line.endswith("."):  # most summaries
        return not line.endswith("..")
    end = line.rstrip().rstrip(_CLOSERS)
    return end.endswith(".") and not end.endswith("..")


def _title_like(lines: list[str]) -> bool:
    """A title paragraph: one line that does not end with a full stop, then only @ lines."""
    first = lines[0].strip()
    return not _full_stop(first) and not META_LINE.match(first) and all(META_LINE.match(r.strip()) for r in lines[1:])


def _sentences(item: tuple[int, list[str]] | None) -> bool:
    """A paragraph that reads as a summary: it ends with a full stop and holds no @ lines."""
    if item is None:
        return False
    lines = item[1]
    return _full_stop(lines[-1]) and not any(META_LINE.match(r.strip()) for r in lines)


def _reads_as_meta(line: str, more: bool, default_tz: tzinfo) -> bool:
    """Whether a title is really a metadata line (its title line lost): a known key with a value it accepts,
    or with more @ lines under it. "@date: the movie" stays a title without a word."""
    match = META_LINE.match(line)
    if match is None or (key := _META_KEYS.get(match.group(1).lower())) is None:
        return False
    value = match.group(2).strip()
    if more or key in ("link", "id"):
        return more or bool(re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:\S+$", value))
    return key == "date" and read_date(value, default_tz)[0] is not None


def _title_at_end(lines: list[str]) -> int:
    """Where a title begins at the end of a summary paragraph (a line after a full stop that does not end
    with one, followed by nothing but @ lines); 0 when there is none."""
    k = len(lines) - 1
    while k > 0 and META_LINE.match(lines[k].strip()):
        k -= 1
    if k > 0 and _full_stop(lines[k - 1]) and _title_like(lines[k:]):
        return k
    return 0


def _blank(line: str) -> bool:
    # str.strip knows every Unicode space but the zero-width one
    return not line.strip() or (not line.isascii() and not line.replace("\u200b", "").strip())


def _pieces(text: str) -> Iterator[str]:
    """``text.split("\\n\\n")`` one piece at a time: the pieces never all exist at once."""
    start = 0
    while (end := text.find("\n\n", start)) >= 0:
        yield text[start:end]
        start = end + 2
    yield text[start:]


def _paragraphs(text: str) -> Iterator[tuple[int, list[str]]]:
    """Runs of non-blank lines as (number of the first line, lines).

    Most paragraphs are one line between blank lines, so the text is cut at every empty line
    first and only pieces of several lines are looked at line by line.
    """
    line = 1
    for piece in _pieces(text):
        if "\n" not in piece:
            if not _blank(piece):
                yield line, [piece]
            line += 2
            continue
        current: list[str] = []
        first = line
        for number, row in enumerate(piece.split("\n"), start=line):
            if not _blank(row):
                if not current:
                    first = number
                current.append(row)
            elif current:
                yield first, current
                current = []
        if current:
            yield first, current
        line += piece.count("\n") + 2


_NO_META = Meta()


def _parse_meta(lines: list[tuple[int, str]], report: _Reporter, default_tz: tzinfo) -> Meta:
    meta = Meta()
    # Tag overrides are gathered in lists and made into tuples once: linear in the number of lines.
    overrides: dict[str, tuple[list[str], list[str]]] = {"countries": ([], []), "topics": ([], [])}
    for number, line in lines:
        match = META_LINE.match(line)
        assert match is not None
        key, value = match.group(1).lower(), match.group(2).strip()
        field_name = _META_KEYS.get(key)
        if field_name is None:
            known = ", ".join(sorted({f"@{k}" for k in _META_KEYS.values()}))
            report.error(number, f"unknown metadata key @{key}; known keys: {known}")
            continue
        if not value:
            report.error(number, f"@{key} has no value")
            continue
        if field_name == "date":
            date, problem = read_date(value, default_tz)
            if date is None:
                report.error(number, problem)
            else:
                meta = replace(meta, date=date)
        elif field_name == "link":
            parts = urlsplit(value)
            if parts.scheme not in ("http", "https") or not parts.netloc or any(c.isspace() for c in value):
                report.error(number, f"@link must be an absolute http(s) URL, not {value!r}")
            else:
                meta = replace(meta, link=iri_to_uri(value))
        elif field_name == "author":
            meta = replace(meta, author=_clean(value))
        elif field_name == "id":
            if not re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:\S+$", value):
                report.error(
                    number,
                    f"@id must be an absolute URI such as tag:example.org,2023:article-1, not {value!r}",
                )
            else:
                meta = replace(meta, id=value)
        else:
            _overrides(value, *overrides[field_name])
    for name, (add, remove) in overrides.items():
        if add or remove:
            meta = replace(meta, **{name: Overrides(tuple(add), tuple(remove))})
    return meta


def iri_to_uri(value: str) -> str:
    """Percent-encode what a URL cannot hold (RFC 3987 3.1), IDNA-encode the host: feeds need URLs."""
    parts = urlsplit(value)
    host = parts.hostname or ""
    with contextlib.suppress(UnicodeError):  # left as it is; the check above saw a host
        host = host.encode("idna").decode("ascii")
    netloc = host
    if parts.port:
        netloc += f":{parts.port}"
    if parts.username:
        userinfo = quote(parts.username, safe="") + (":" + quote(parts.password, safe="") if parts.password else "")
        netloc = f"{userinfo}@{netloc}"
    safe = "/:@!$&'()*+,;=%~-._?#[]"
    return urlunsplit(
        (
            parts.scheme,
            netloc,
            quote(parts.path, safe=safe),
            quote(parts.query, safe=safe),
            quote(parts.fragment, safe=safe),
        )
    )


def _overrides(value: str, add: list[str], remove: list[str]) -> None:
    for item in (part.strip() for part in value.split(",")):
        if item.startswith("-"):
            if name := item[1:].strip():
                remove.append(name)
        elif name := item.lstrip("+").strip():
            add.append(name)


_DATE_HELP = "write it like 2023-03-17 or 17 March 2023 09:30 CET"


def read_date(value: str, default_tz: tzinfo = UTC) -> tuple[datetime | None, str]:
    """Read a date the way people write them, in UTC; a date without a zone is in ``default_tz``.
    Returns the date, or None and what is wrong with ``value``."""
    from dateutil import parser as dateparser  # only listings with @date lines pay for the import

    unknown: list[str] = []

    def zone(name: str | None, offset: int | None) -> int | tzinfo | None:
        if offset is not None:
            return offset
        if name is None:
            return None
        if name.upper() in _ZONES:
            return _ZONES[name.upper()]
        unknown.append(name)
        return None

    try:
        parsed = dateparser.parse(value, tzinfos=zone, dayfirst=False)
        if unknown:
            known = ", ".join(sorted(_ZONES))
            return None, (
                f"unknown time zone {unknown[0]!r} in the date {value!r}; write an offset such as +05:30 "
                f"or one of {known}"
            )
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=default_tz)
        parsed = parsed.astimezone(UTC)
    except (ValueError, OverflowError, dateparser.ParserError):
        parsed = None  # the zone's offset takes the moment past year 1 or 9999
        if not unknown:
            try:
                dateparser.parse(value, tzinfos=zone, dayfirst=False)
            except (ValueError, OverflowError, dateparser.ParserError):
                return None, f"cannot read the date {value!r}; {_DATE_HELP}"
    if parsed is None or not FIRST_DATE <= parsed <= LAST_DATE:
        return None, (
            f"the date {value!r} is out of range: dates must lie between {FIRST_DATE.year} and {LAST_DATE.year} (UTC)"
        )
    return parsed, ""


def parse_date(value: str, default_tz: tzinfo = UTC) -> datetime | None:
    """:func:`read_date`'s date, None when ``value`` is not a date this project accepts."""
    return read_date(value, default_tz)[0]


def read_dir(data_dir: Path, *, limits: Limits | None = None, default_tz: tzinfo = UTC) -> Listing:
    """Read every ``*.txt`` file of ``data_dir`` in name order as one listing."""
    limits = limits or Limits()
    entries: list[Entry] = []
    problems: list[Diagnostic] = []
    try:
        # Whatever is named *.txt: a broken symlink, a FIFO or a directory is reported, not skipped.
        files = sorted(p for p in data_dir.iterdir() if p.suffix == ".txt")
    except OSError as exc:
        problems.append(
            Diagnostic(Location(str(data_dir)), Severity.ERROR, f"cannot read the data directory: {exc.strerror}")
        )
        return Listing((), tuple(problems))
    for path in files:
        name = str(path)
        data, problem = _read_file(path, limits.max_file_bytes)
        if data is None:
            problems.append(Diagnostic(Location(name), Severity.ERROR, problem))
            continue
        checked = _clean_bytes(data)
        text, decode_problems = decode(data, name)
        del data
        problems.extend(decode_problems)
        listing = _parse(text, name, limits, default_tz, checked=checked and not decode_problems)
        entries.extend(listing.entries)
        problems.extend(listing.diagnostics)
    if len(entries) > limits.max_articles:
        problems.append(
            Diagnostic(
                Location(str(data_dir)),
                Severity.ERROR,
                f"{len(entries)} articles; the limit is {limits.max_articles}",
            )
        )
    return Listing(tuple(entries), tuple(problems))


_KINDS = {
    stat.S_IFDIR: "a directory",
    stat.S_IFIFO: "a FIFO",
    stat.S_IFSOCK: "a socket",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
}


def _read_file(path: Path, limit: int) -> tuple[bytes | None, str]:
    """The bytes of a regular file of at most ``limit`` bytes, or None and why not.

    Opened without blocking (a FIFO would wait for a writer for good) and checked once open, so a
    symlink swapped between a check and the open changes nothing; the limit holds for what is read,
    whatever stat() says (a file still growing, or one of /proc)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        return None, f"cannot read the file: {exc.strerror}"
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            kind = _KINDS.get(stat.S_IFMT(info.st_mode), "not a file")
            return None, f"not a regular file ({kind}); only regular files are read"
        if info.st_size > limit:
            return None, f"file is {info.st_size} bytes; the limit is {limit}"
        # One read of the size stat() gives for a regular file; more only when there is more.
        chunks, size, want = [], 0, info.st_size + 1 if info.st_size else 1 << 16
        while size <= limit and (chunk := os.read(fd, min(limit + 1 - size, want))):
            chunks.append(chunk)
            size += len(chunk)
            want = 1 << 16
    except OSError as exc:
        return None, f"cannot read the file: {exc.strerror}"
    finally:
        os.close(fd)
    if size > limit:
        return None, f"file is over {limit} bytes; the limit is {limit}"
    return b"".join(chunks), ""
