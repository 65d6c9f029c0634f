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
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass, replace
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

from dateutil import parser as dateparser

from .model import Diagnostic, Entry, Location, Meta, Overrides, Severity

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
    """UTF-8 with or without BOM; invalid bytes are reported with their offset and replaced."""
    problems: list[Diagnostic] = []
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
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


def _clean(text: str, report: _Reporter, line: int) -> str:
    """Collapse every run of white space (zero-width space included) to one space."""
    return " ".join(text.replace("\u200b", " ").split())


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
    limits = limits or Limits()
    report = _Reporter(path)
    if text.startswith("\ufeff"):
        text = text[1:]
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = _strip_invalid(text, report).split("\n")
    paragraphs = _paragraphs(lines)
    entries: list[Entry] = []
    i = 0
    while i < len(paragraphs):
        start, block = paragraphs[i]
        i += 1
        title = _clean(block[0], report, start)
        meta_lines: list[tuple[int, str]] = []
        rest: list[str] = []
        for offset, raw in enumerate(block[1:], start=1):
            if not rest and META_LINE.match(raw.strip()):
                meta_lines.append((start + offset, raw.strip()))
            else:
                rest.append(raw)
        summary_line = start + 1 + len(meta_lines)
        if rest:
            report.warn(summary_line, "expected a blank line between the title and the summary")
        else:
            # A paragraph of @ lines between title and summary also belongs to the title.
            while i < len(paragraphs) and all(META_LINE.match(r.strip()) for r in paragraphs[i][1]):
                meta_lines.extend((paragraphs[i][0] + k, r.strip()) for k, r in enumerate(paragraphs[i][1]))
                i += 1
            if i < len(paragraphs):
                summary_line, rest = paragraphs[i]
                i += 1
            else:
                report.warn(start, f"article {title!r} has no summary")
        summary = _clean(" ".join(rest), report, summary_line)
        if len(title) > limits.max_title_chars:
            report.error(start, f"title is {len(title)} characters long; the limit is {limits.max_title_chars}")
            title = title[: limits.max_title_chars]
        if len(summary) > limits.max_summary_chars:
            report.error(
                summary_line,
                f"summary is {len(summary)} characters long; the limit is {limits.max_summary_chars}",
            )
            summary = summary[: limits.max_summary_chars]
        meta = _parse_meta(meta_lines, report, default_tz)
        entries.append(Entry(title=title, summary=summary, location=Location(path, start), meta=meta))
    return Listing(tuple(entries), tuple(report.items))


def _paragraphs(lines: list[str]) -> list[tuple[int, list[str]]]:
    """Group non-blank lines into (first line number, lines) runs."""
    out: list[tuple[int, list[str]]] = []
    current: list[str] = []
    first = 0
    for number, line in enumerate(lines, start=1):
        # str.strip knows every Unicode space but the zero-width one
        if line.strip() and (line.isascii() or line.replace("\u200b", "").strip()):
            if not current:
                first = number
            current.append(line)
        elif current:
            out.append((first, current))
            current = []
    if current:
        out.append((first, current))
    return out


_NO_META = Meta()


def _parse_meta(lines: list[tuple[int, str]], report: _Reporter, default_tz: tzinfo) -> Meta:
    if not lines:
        return _NO_META
    meta = Meta()
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
            date = parse_date(value, default_tz)
            if date is None:
                report.error(
                    number,
                    f"cannot read the date {value!r}; write it like 2023-03-17 or 17 March 2023 09:30 CET",
                )
            else:
                meta = replace(meta, date=date)
        elif field_name == "link":
            parts = urlsplit(value)
            if parts.scheme not in ("http", "https") or not parts.netloc or any(c.isspace() for c in value):
                report.error(number, f"@link must be an absolute http(s) URL, not {value!r}")
            else:
                meta = replace(meta, link=iri_to_uri(value))
        elif field_name == "author":
            meta = replace(meta, author=_clean(value, report, number))
        elif field_name == "id":
            if not re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:\S+$", value):
                report.error(
                    number,
                    f"@id must be an absolute URI such as tag:example.org,2023:article-1, not {value!r}",
                )
            else:
                meta = replace(meta, id=value)
        else:
            meta = replace(meta, **{field_name: _overrides(value, getattr(meta, field_name))})
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


def _overrides(value: str, current: Overrides) -> Overrides:
    add, remove = list(current.add), list(current.remove)
    for item in (part.strip() for part in value.split(",")):
        if item.startswith("-"):
            remove.append(item[1:].strip())
        elif item:
            add.append(item.lstrip("+").strip())
    return Overrides(tuple(a for a in add if a), tuple(r for r in remove if r))


def parse_date(value: str, default_tz: tzinfo = UTC) -> datetime | None:
    """Read a date the way people write them; a date without a zone is in ``default_tz``."""
    try:
        parsed = dateparser.parse(value, tzinfos=_ZONES, dayfirst=False)
    except (ValueError, OverflowError, dateparser.ParserError):
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=default_tz)
    return parsed.astimezone(UTC)


def read_dir(data_dir: Path, *, limits: Limits | None = None, default_tz: tzinfo = UTC) -> Listing:
    """Read every ``*.txt`` file of ``data_dir`` in name order as one listing."""
    limits = limits or Limits()
    entries: list[Entry] = []
    problems: list[Diagnostic] = []
    try:
        # A broken symlink is an unreadable file, reported, not a silently missing one.
        files = sorted(p for p in data_dir.iterdir() if p.suffix == ".txt" and (p.is_file() or p.is_symlink()))
    except OSError as exc:
        problems.append(
            Diagnostic(Location(str(data_dir)), Severity.ERROR, f"cannot read the data directory: {exc.strerror}")
        )
        return Listing((), tuple(problems))
    for path in files:
        name = str(path)
        try:
            size = path.stat().st_size
            if size > limits.max_file_bytes:
                problems.append(
                    Diagnostic(
                        Location(name),
                        Severity.ERROR,
                        f"file is {size} bytes; the limit is {limits.max_file_bytes}",
                    )
                )
                continue
            data = path.read_bytes()
        except OSError as exc:
            problems.append(Diagnostic(Location(name), Severity.ERROR, f"cannot read the file: {exc.strerror}"))
            continue
        text, decode_problems = decode(data, name)
        problems.extend(decode_problems)
        listing = parse_text(text, name, limits=limits, default_tz=default_tz)
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
