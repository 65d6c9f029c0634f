"""Feed conformance rules, as the W3C Feed Validation Service applies them.

Each ``check_*`` function takes a document's bytes and returns every :class:`Problem` found,
errors and warnings alike; an empty list means the document conforms. The rules come from
the standards themselves:

* Atom 1.0: RFC 4287 (https://www.rfc-editor.org/rfc/rfc4287);
* RSS 2.0: https://www.rssboard.org/rss-specification and the RSS Best Practices Profile
  (https://www.rssboard.org/rss-profile);
* JSON Feed 1.1: https://www.jsonfeed.org/version/1.1/;
* OPML 2.0: http://opml.org/spec2.opml;

plus the warnings the validator adds on top of them: a missing or misplaced self link,
relative references, implausible or old-style dates, non-canonical ids, markup in
plain-text titles, scripts in HTML. Messages cite the section they come from.

This module holds no tests: ``test_conformance.py`` runs it on every served feed, and also
feeds it broken documents so that it cannot silently pass everything.
"""

from __future__ import annotations

import binascii
import codecs
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import parseaddr
from typing import Any
from urllib.parse import urlsplit

from lxml import etree

ATOM_NS = "http://www.w3.org/2005/Atom"
XHTML_NS = "http://www.w3.org/1999/xhtml"
XML_NS = "http://www.w3.org/XML/1998/namespace"
SY_NS = "http://purl.org/rss/1.0/modules/syndication/"
JSONFEED_VERSIONS = ("https://jsonfeed.org/version/1.1", "https://jsonfeed.org/version/1")


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


# ---------------------------------------------------------------------------------------
# Problems
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    level: str  # "error" or "warning"
    where: str  # "feed/entry[3]/id", "items[2].date_published"
    message: str

    def __str__(self) -> str:
        return f"{self.level}: {self.where}: {self.message}"


@dataclass
class Report:
    problems: list[Problem] = field(default_factory=list)

    def error(self, where: str, message: str) -> None:
        self.problems.append(Problem("error", where, message))

    def warning(self, where: str, message: str) -> None:
        self.problems.append(Problem("warning", where, message))


def format_problems(problems: Iterable[Problem]) -> str:
    return "\n".join(str(p) for p in problems)


def check(data: bytes, kind: str, *, location: str | None = None, content_type: str | None = None) -> list[Problem]:
    """Check a document of ``kind`` ("atom", "rss", "json" or "opml").

    ``location`` is the URL the document was fetched from (the self link must name it);
    ``content_type`` the Content-Type it was served with (its media type and charset are checked).
    """
    return CHECKERS[kind](data, location=location, content_type=content_type)


# ---------------------------------------------------------------------------------------
# Values: IRIs, dates, languages, e-mail, MIME types, HTML
# ---------------------------------------------------------------------------------------

_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:")
_IRI_FORBIDDEN = re.compile(r"[\x00-\x20<>\"{}|\\^`\x7f]")
_BAD_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
_PCHAR = r"(?:[A-Za-z0-9\-._~!$&'()*+,;=:@]|%[0-9A-Fa-f]{2})"
_DNS_LABEL = r"[a-z0-9](?:[a-z0-9\-]*[a-z0-9])?"
# RFC 4151 section 2.1; the validator also wants the authority in lower case.
_TAG_URI = re.compile(
    rf"^tag:(?:[a-z0-9\-._+]+@)?{_DNS_LABEL}(?:\.{_DNS_LABEL})*,(\d{{4}}(?:-\d{{2}}(?:-\d{{2}})?)?)"
    rf":(?:{_PCHAR}|[/?])*(?:#(?:{_PCHAR}|[/?])*)?$"
)
# RFC 8141 section 2.
_URN = re.compile(
    rf"^urn:[A-Za-z0-9][A-Za-z0-9\-]{{0,30}}[A-Za-z0-9]:{_PCHAR}(?:{_PCHAR}|/)*"
    rf"(?:\?\+(?:{_PCHAR}|[/?])*)?(?:\?=(?:{_PCHAR}|[/?])*)?(?:#(?:{_PCHAR}|[/?])*)?$"
)
_DEFAULT_PORTS = {"http": 80, "https": 443}


def iri_problem(value: str) -> str | None:
    """Why ``value`` is not an IRI reference (RFC 3987), or None."""
    if not value:
        return "is empty"
    if _IRI_FORBIDDEN.search(value):
        return 'contains white space, a control character or one of <>"{}|\\^`'
    if _BAD_PERCENT.search(value):
        return "has a % not followed by two hex digits"
    return None


def absolute_iri_problem(value: str) -> str | None:
    """Why ``value`` is not an absolute IRI; tag: and urn: are held to their own grammars."""
    problem = iri_problem(value)
    if problem:
        return problem
    if not _SCHEME.match(value):
        return "is a relative reference: it has no scheme"
    scheme = value.split(":", 1)[0].lower()
    if scheme in _DEFAULT_PORTS and not urlsplit(value).netloc:
        return "has no host"
    if scheme == "tag":
        match = _TAG_URI.match(value)
        if not match:
            return "is not a tag URI (RFC 4151 2.1: tag:authority,YYYY[-MM[-DD]]:specific)"
        if not _valid_partial_date(match.group(1)):
            return f"has an impossible date {match.group(1)} (RFC 4151 2.1)"
    if scheme == "urn" and not _URN.match(value):
        return "is not a URN (RFC 8141 2: urn:NID:NSS)"
    return None


def non_ascii_problem(value: str) -> str | None:
    """A URL (RFC 3986) is ASCII; an IRI's other characters must be percent-encoded (RFC 3987 3.1)."""
    if any(ord(c) > 127 for c in value):
        return "is an IRI, not a URL: its non-ASCII characters must be percent-encoded (RFC 3987 3.1)"
    return None


def http_url_problem(value: str) -> str | None:
    """Why ``value`` is not an absolute http(s) URL, or None."""
    problem = absolute_iri_problem(value)
    if problem:
        return problem
    if value.split(":", 1)[0].lower() not in _DEFAULT_PORTS:
        return "is not an http or https URL"
    return None


def noncanonical(value: str) -> str | None:
    """Why an http(s) id is not in canonical form (the validator's NonCanonicalURI), or None."""
    scheme, _, _ = value.partition(":")
    if scheme.lower() not in _DEFAULT_PORTS:
        return None
    parts = urlsplit(value)
    if scheme != scheme.lower():
        return "scheme should be lower case"
    host = parts.netloc.rpartition("@")[2]
    if host != host.lower():
        return "host should be lower case"
    try:
        port = parts.port
    except ValueError:
        return "port is not a number"
    if port == _DEFAULT_PORTS[scheme]:
        return "default port should be left out"
    if not parts.path:
        return "empty path should be written /"
    if re.search(r"%[0-9A-F]?[a-f]", value):
        return "percent-escapes should use upper-case hex digits"
    if re.search(r"/\.\.?(/|$)", parts.path):
        return "path should not contain . or .. segments"
    return None


def _valid_partial_date(text: str) -> bool:
    parts = [int(p) for p in text.split("-")] + [1, 1]
    try:
        datetime(parts[0], parts[1], parts[2])
    except ValueError:
        return False
    return True


def _now() -> datetime:
    return datetime.now(UTC)


def _plausible(moment: datetime) -> str | None:
    """The validator's ImplausibleDate: before 1970 or more than a day ahead."""
    if moment.year < 1970 or moment > _now() + timedelta(days=1):
        return "is implausible: before 1970 or in the future"
    return None


_RFC3339 = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d+)?(Z|([+-])(\d{2}):(\d{2}))$", re.IGNORECASE
)


def rfc3339_problems(value: str) -> list[tuple[str, str]]:
    """(level, message) pairs for an RFC 3339 date-time as Atom wants it (RFC 4287 3.3)."""
    match = _RFC3339.match(value)
    if not match:
        return [("error", f"{value!r} is not an RFC 3339 date-time with a time zone (RFC 4287 3.3)")]
    problems = []
    if "t" in value[10:11] or value.endswith("z"):
        problems.append(("error", f"{value!r}: T and Z must be upper case (RFC 4287 3.3)"))
    year, month, day, hour, minute, second = (int(g) for g in match.groups()[:6])
    offset_ok = match.group(8).upper() == "Z" or (int(match.group(10)) < 24 and int(match.group(11)) < 60)
    try:
        moment = datetime(year, month, day, hour, minute, min(second, 59), tzinfo=UTC)
    except ValueError:
        moment = None
    if moment is None or second > 60 or not offset_ok:
        return [*problems, ("error", f"{value!r} is not a real date and time (RFC 3339 5.7)")]
    if match.group(8).upper() != "Z":
        sign = 1 if match.group(9) == "+" else -1
        moment -= sign * timedelta(hours=int(match.group(10)), minutes=int(match.group(11)))
    implausible = _plausible(moment)
    if implausible:
        problems.append(("warning", f"{value!r} {implausible}"))
    return problems


_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_RFC822_LOOSE = re.compile(
    rf"^\s*(?:({'|'.join(_DAYS)})\s*,\s*)?(\d\d?)\s+({'|'.join(_MONTHS)})\s+(\d\d(?:\d\d)?)"
    r"\s+(\d\d):(\d\d)(?::(\d\d))?\s+([+-]\d{4}|[A-Z]{1,3})\s*$",
    re.IGNORECASE,
)
_RFC822_STRICT = re.compile(
    rf"^(?:({'|'.join(_DAYS)}), )?\d\d? ({'|'.join(_MONTHS)}) \d{{4}} \d\d:\d\d(?::\d\d)? ([+-]\d{{4}}|GMT)$"
)
# RFC 822 5.1 zone names and their offsets in hours; military letters are ambiguous in practice.
_ZONES = {"UT": 0, "GMT": 0, "Z": 0, "EST": -5, "EDT": -4, "CST": -6, "CDT": -5, "MST": -7, "MDT": -6}
_ZONES |= {"PST": -8, "PDT": -7}


def rfc822_problems(value: str) -> list[tuple[str, str]]:
    """(level, message) pairs for an RSS date: RFC 822 with a four-digit year (RSS 2.0, Profile)."""
    match = _RFC822_LOOSE.match(value)
    if not match:
        return [("error", f"{value!r} is not an RFC 822 date-time (RSS 2.0: 'Sat, 07 Sep 2002 09:42:31 GMT')")]
    weekday, day, month, year, hour, minute, second, zone = match.groups()
    problems: list[tuple[str, str]] = []
    if len(year) == 2:
        problems.append(("warning", f"{value!r}: use a four-digit year (RSS 2.0, RSS Profile)"))
    elif zone.isalpha() and zone.upper() != "GMT":
        problems.append(("warning", f"{value!r}: write the zone as GMT or a numeric offset, not {zone}"))
    elif not _RFC822_STRICT.match(value):
        problems.append(("warning", f"{value!r}: not in the canonical form 'Sat, 07 Sep 2002 09:42:31 GMT'"))
    if zone.isalpha() and zone.upper() not in _ZONES:
        return [*problems, ("error", f"{value!r}: unknown time zone {zone} (RFC 822 5.1)")]
    full_year = int(year) + (0 if len(year) == 4 else 1900 if int(year) >= 50 else 2000)
    month_number = [m.lower() for m in _MONTHS].index(month.lower()) + 1
    try:
        local = datetime(full_year, month_number, int(day), int(hour), int(minute), min(int(second or 0), 59))
    except ValueError:
        return [*problems, ("error", f"{value!r} is not a real date and time")]
    if int(second or 0) > 60 or (not zone.isalpha() and (int(zone[1:3]) > 23 or int(zone[3:]) > 59)):
        return [*problems, ("error", f"{value!r} is not a real date and time")]
    if weekday and _DAYS[local.weekday()].lower() != weekday.lower():
        problems.append(("error", f"{value!r}: {local:%d %b %Y} is a {_DAYS[local.weekday()]}, not a {weekday}"))
    if zone.isalpha():
        offset = timedelta(hours=_ZONES[zone.upper()])
    else:
        offset = (1 if zone[0] == "+" else -1) * timedelta(hours=int(zone[1:3]), minutes=int(zone[3:]))
    implausible = _plausible(local.replace(tzinfo=UTC) - offset)
    if implausible:
        problems.append(("warning", f"{value!r} {implausible}"))
    return problems


_LANGUAGE_TAG = re.compile(r"^[A-Za-z]{1,8}(?:-[A-Za-z0-9]{1,8})*$")


def language_problem(value: str) -> str | None:
    """Why ``value`` is not a language tag whose primary subtag is an ISO 639 code, or None."""
    if not _LANGUAGE_TAG.match(value):
        return f"{value!r} is not a language tag (RFC 3066)"
    primary = value.split("-")[0].lower()
    if primary in ("i", "x"):
        return None
    if len(primary) not in (2, 3):
        return f"{value!r} is not a language code: its first part must be an ISO 639 code"
    try:
        import pycountry
    except ImportError:  # pragma: no cover - pycountry is a dependency of the project
        return None
    key = "alpha_2" if len(primary) == 2 else "alpha_3"
    if pycountry.languages.get(**{key: primary}) is None:
        return f"{value!r} is not a language code: {primary} is not in ISO 639"
    return None


_ADDR_SPEC = re.compile(r"^[A-Za-z0-9_\-+.]+@(?:[A-Za-z0-9\-]+\.)+[A-Za-z]{2,}$")


def email_problem(value: str) -> str | None:
    """Why ``value`` holds no e-mail address ('jo@example.org (Jo)' and 'Jo <jo@example.org>' do)."""
    address = parseaddr(value)[1] or value
    if not _ADDR_SPEC.match(address):
        return f"{value!r} is not an e-mail address (RFC 2822 addr-spec)"
    return None


_MIME = re.compile(r"^[\w!#$&^.+\-]+/[\w!#$&^.+\-]+(?:\s*;\s*[\w.+\-]+=(?:\"[^\"]*\"|[\w.+\-]+))*$")

_HTML_TAGS = frozenset(
    _words(
        "a abbr acronym address b big blockquote br caption center cite code dd del dfn div dl dt em font "
        "h1 h2 h3 h4 h5 h6 hr i img ins kbd li ol p pre q s samp small span strike strong sub sup table "
        "tbody td th thead tr tt u ul var"
    )
)
_MARKUP = re.compile(r"</?([A-Za-z][A-Za-z0-9]*)\b[^<>]*>")
_ENTITY = re.compile(r"&#?\w+;")
_UNSAFE = re.compile(
    r"<\s*(script|object|embed|applet|iframe|frame|meta|link|style)\b|\son\w+\s*=|javascript:", re.IGNORECASE
)


def looks_like_html(text: str) -> bool:
    """The validator's ContainsHTML: an HTML tag, or an entity left over after XML decoding."""
    tags = (m.group(1).lower() for m in _MARKUP.finditer(text))
    return any(t in _HTML_TAGS for t in tags) or bool(_ENTITY.search(text))


def unsafe_html(text: str) -> str | None:
    match = _UNSAFE.search(text)
    return f"HTML contains {match.group(0).strip()!r}, which readers strip or block" if match else None


# ---------------------------------------------------------------------------------------
# XML: encoding, characters, well-formedness, media type
# ---------------------------------------------------------------------------------------

_XML_DECL = re.compile(rb"^<\?xml[^>]*?encoding\s*=\s*[\"']([A-Za-z][A-Za-z0-9._\-]*)[\"']")
_XML_INVALID = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_C1_CONTROLS = re.compile("[\x80-\x9f]")
_CHAR_REF = re.compile(r"&#(?:x([0-9A-Fa-f]+)|([0-9]+));")


def _xml_char_ok(code: int) -> bool:
    return code in (0x9, 0xA, 0xD) or 0x20 <= code <= 0xD7FF or 0xE000 <= code <= 0xFFFD or 0x10000 <= code <= 0x10FFFF


def _line(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def _same_encoding(a: str, b: str) -> bool:
    try:
        return codecs.lookup(a).name == codecs.lookup(b).name
    except LookupError:
        return a.lower() == b.lower()


def _media_type(report: Report, content_type: str | None, expected: tuple[str, ...]) -> str | None:
    """Check the served media type; return the charset parameter, if any."""
    if content_type is None:
        return None
    media, *params = (p.strip() for p in content_type.split(";"))
    if media.lower() not in expected:
        report.warning("HTTP", f"served as {media}; expected {expected[0]}")
    for param in params:
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset":
            return value.strip().strip('"')
    return None


def parse_xml(report: Report, data: bytes, charset: str | None = None) -> etree._Element | None:
    """The root element of a well-formed XML 1.0 document, or None after reporting why not."""
    declared = _XML_DECL.match(data)
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = "utf-16"
    else:
        encoding = declared.group(1).decode("ascii") if declared else "utf-8"
    if charset and not _same_encoding(charset, encoding):
        report.warning("HTTP", f"charset {charset} does not match the document's encoding {encoding}")
    try:
        text = data.decode(encoding)
    except (LookupError, UnicodeDecodeError) as exc:
        report.error("document", f"cannot be decoded as {encoding}: {exc}")
        return None
    for match in _XML_INVALID.finditer(text):
        report.error(f"line {_line(text, match.start())}", f"U+{ord(match.group()):04X} is not allowed in XML 1.0")
    for match in _C1_CONTROLS.finditer(text):
        report.warning(f"line {_line(text, match.start())}", f"C1 control U+{ord(match.group()):04X} (bad encoding?)")
    for match in _CHAR_REF.finditer(text):
        code = int(match.group(1), 16) if match.group(1) else int(match.group(2))
        if not _xml_char_ok(code):
            report.error(f"line {_line(text, match.start())}", f"{match.group()} refers to a character XML forbids")
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    try:
        return etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        report.error("document", f"not well-formed XML: {exc}")
        return None


def where(el: etree._Element) -> str:
    """A readable path: ``feed/entry[3]/link[2]``."""
    parts = []
    node: etree._Element | None = el
    while node is not None:
        name = etree.QName(node).localname
        parent = node.getparent()
        if parent is not None:
            same = [c for c in parent if c.tag == node.tag]
            if len(same) > 1:
                name += f"[{same.index(node) + 1}]"
        parts.append(name)
        node = parent
    return "/".join(reversed(parts))


def _elements(el: etree._Element) -> list[etree._Element]:
    return [c for c in el if isinstance(c.tag, str)]


def _report_pairs(report: Report, place: str, pairs: list[tuple[str, str]]) -> None:
    for level, message in pairs:
        getattr(report, level)(place, message)


def _cardinality(
    report: Report,
    parent: etree._Element,
    ns: str | None,
    exactly_one: Iterable[str],
    at_most_one: Iterable[str],
    rule: str,
) -> None:
    def count(name: str) -> int:
        return len(parent.findall(f"{{{ns}}}{name}" if ns else name))

    for name in exactly_one:
        n = count(name)
        if n != 1:
            report.error(where(parent), f"must contain exactly one {name}, has {n} ({rule})")
    for name in at_most_one:
        n = count(name)
        if n > 1:
            report.error(where(parent), f"must contain at most one {name}, has {n} ({rule})")


def _undefined(report: Report, parent: etree._Element, ns: str | None, known: Iterable[str]) -> None:
    """Elements of the format's own namespace that the format does not define."""
    known = set(known)
    for child in _elements(parent):
        qname = etree.QName(child)
        if qname.namespace == ns and qname.localname not in known:
            report.error(where(child), f"undefined element {qname.localname} in {where(parent)}")


def _unique(report: Report, values: list[tuple[str, str]], what: str) -> None:
    seen: dict[str, str] = {}
    for place, value in values:
        if value in seen:
            report.error(place, f"{what} {value!r} is also used by {seen[value]}")
        else:
            seen[value] = place


def _check_iri(report: Report, place: str, value: str | None, *, relative: str = "warning") -> None:
    """An IRI attribute or element value; a relative reference costs ``relative``."""
    if value is None:
        return
    problem = iri_problem(value)
    if problem:
        report.error(place, f"{value!r} {problem}")
    elif not _SCHEME.match(value):
        getattr(report, relative)(place, f"{value!r} is a relative reference; use an absolute URL")
    else:
        problem = absolute_iri_problem(value)
        if problem:
            report.error(place, f"{value!r} {problem}")


def _check_url(report: Report, place: str, value: str | None, rule: str, *, iri: bool = False) -> None:
    """An absolute http(s) URL; unless ``iri``, a URI proper (RFC 3986: ASCII only), as RSS and OPML want."""
    if value is None:
        return
    problem = http_url_problem(value.strip()) or (None if iri else non_ascii_problem(value))
    if problem:
        report.error(place, f"{value!r} {problem} ({rule})")


def _check_lang_attrs(report: Report, root: etree._Element) -> None:
    for el in root.iter():
        lang = el.get(f"{{{XML_NS}}}lang") if isinstance(el.tag, str) else None
        if lang:  # xml:lang="" is allowed and means "unknown"
            problem = language_problem(lang)
            if problem:
                report.error(where(el) + "/@xml:lang", problem)


def _xhtml_placement(report: Report, root: etree._Element, feed_level: etree._Element) -> None:
    """Where XHTML may appear, as the validator allows it: a browser-friendly xhtml:div (anything
    inside) or a robots xhtml:meta at feed/channel level, and XHTML inside Atom text and content
    or an RSS item's xhtml:body. Elsewhere an XHTML element is an UndefinedElement error."""
    text_holders = {_a(n) for n in ("title", "subtitle", "summary", "rights", "content")}
    for el in root.iter(f"{{{XHTML_NS}}}*"):
        parent = el.getparent()
        if etree.QName(parent).namespace == XHTML_NS or parent.tag in text_holders:
            continue  # inside an allowed XHTML block or an Atom text construct
        name = etree.QName(el).localname
        if parent is feed_level and name == "div":
            continue
        if parent is feed_level and name == "meta":
            if (el.get("name") or "").lower() != "robots":
                report.error(where(el), "only a robots xhtml:meta may stand here (validator: InvalidMetaName)")
            continue
        if parent.tag == "item" and name == "body":
            continue
        report.error(where(el), f"xhtml:{name} has no place in {where(parent)} (validator: UndefinedElement)")


# ---------------------------------------------------------------------------------------
# Atom 1.0 (RFC 4287)
# ---------------------------------------------------------------------------------------


def _a(name: str) -> str:
    return f"{{{ATOM_NS}}}{name}"


FEED_CHILDREN = _words("author category contributor generator icon id link logo rights subtitle title updated entry")
ENTRY_CHILDREN = _words("author category content contributor id link published rights source summary title updated")
# IANA link relations (https://www.iana.org/assignments/link-relations/) that feeds use.
REGISTERED_RELS = frozenset(
    _words(
        "alternate appendix archives author bookmark canonical chapter collection contents copyright current "
        "describedby edit edit-media enclosure first glossary help hub icon index last latest-version license "
        "next next-archive payment prev prev-archive previous related replies search section self service "
        "start stylesheet subsection up version-history via working-copy working-copy-of"
    )
)


def check_atom(data: bytes, *, location: str | None = None, content_type: str | None = None) -> list[Problem]:
    report = Report()
    charset = _media_type(report, content_type, ("application/atom+xml",))
    root = parse_xml(report, data, charset)
    if root is None:
        return report.problems
    if root.tag != _a("feed"):
        report.error(where(root), f"root must be feed in namespace {ATOM_NS}, not {root.tag} (RFC 4287 4.1.1)")
        return report.problems
    _check_lang_attrs(report, root)
    _xhtml_placement(report, root, feed_level=root)
    _atom_feed(report, root, location)
    entries = root.findall(_a("entry"))
    feed_has_author = root.find(_a("author")) is not None
    for entry in entries:
        _atom_entry(report, entry, feed_has_author)
    ids = [(where(e), (e.findtext(_a("id")) or "").strip()) for e in entries if e.find(_a("id")) is not None]
    _unique(report, ids, "entry id")
    _same_updated(report, entries)
    return report.problems


def _same_updated(report: Report, entries: list[etree._Element]) -> None:
    """The validator's DuplicateUpdated warning: dates "SHOULD be as accurate as possible" (RFC 4287
    3.3), so two entries stamped with the very same atom:updated look like a made-up date."""
    seen: dict[str, str] = {}
    for entry in entries:
        value = (entry.findtext(_a("updated")) or "").strip()
        if value in seen:
            report.warning(
                where(entry), f"atom:updated {value} is also that of {seen[value]} (validator: DuplicateUpdated)"
            )
        seen.setdefault(value, where(entry))


def _atom_feed(report: Report, feed: etree._Element, location: str | None) -> None:
    _undefined(report, feed, ATOM_NS, FEED_CHILDREN)
    _cardinality(
        report,
        feed,
        ATOM_NS,
        ("id", "title", "updated"),
        ("generator", "icon", "logo", "rights", "subtitle"),
        "RFC 4287 4.1.1",
    )
    seen_entry = False
    for child in _elements(feed):
        if child.tag == _a("entry"):
            seen_entry = True
        elif seen_entry and etree.QName(child).namespace == ATOM_NS:
            report.error(where(child), "feed metadata must come before the first entry (validator: MisplacedMetadata)")
    entries = feed.findall(_a("entry"))
    if feed.find(_a("author")) is None and any(not _entry_has_author(e) for e in entries):
        report.error(where(feed), "needs an author, since not every entry has one (RFC 4287 4.1.1)")
    _atom_common(report, feed)
    for name in ("icon", "logo"):
        for el in feed.findall(_a(name)):
            _check_iri(report, where(el), (el.text or "").strip())
    for generator in feed.findall(_a("generator")):
        _check_iri(report, where(generator) + "/@uri", generator.get("uri"))
        if not (generator.text or "").strip():
            report.warning(where(generator), "generator should not be blank")
    _atom_links(report, feed, is_feed=True, location=location)


def _entry_has_author(entry: etree._Element) -> bool:
    return entry.find(_a("author")) is not None or entry.find(f"{_a('source')}/{_a('author')}") is not None


def _atom_entry(report: Report, entry: etree._Element, feed_has_author: bool) -> None:
    _undefined(report, entry, ATOM_NS, ENTRY_CHILDREN)
    _cardinality(
        report,
        entry,
        ATOM_NS,
        ("id", "title", "updated"),
        ("content", "published", "rights", "source", "summary"),
        "RFC 4287 4.1.2",
    )
    if not feed_has_author and not _entry_has_author(entry):
        report.error(where(entry), "needs an author, since the feed has none (RFC 4287 4.1.2)")
    _atom_common(report, entry)
    for published in entry.findall(_a("published")):
        _report_pairs(report, where(published), rfc3339_problems((published.text or "").strip()))
    content = entry.find(_a("content"))
    has_summary = entry.find(_a("summary")) is not None
    if content is not None:
        _atom_content(report, content)
        ctype = content.get("type", "text").lower()
        binary = "/" in ctype and not (ctype.startswith("text/") or ctype.endswith(("/xml", "+xml")))
        if (content.get("src") is not None or binary) and not has_summary:
            report.error(where(entry), "content is not inline text, so a summary is required (RFC 4287 4.1.2)")
    else:
        rels = [link.get("rel", "alternate") for link in entry.findall(_a("link"))]
        if "alternate" not in rels:
            report.error(where(entry), "has no content, so it needs a rel=alternate link (RFC 4287 4.1.2)")
        if not has_summary:
            report.warning(where(entry), "has neither content nor summary (validator: MissingTextualContent)")
    _atom_links(report, entry, is_feed=False, location=None)
    for source in entry.findall(_a("source")):
        _atom_common(report, source)
        _atom_links(report, source, is_feed=False, location=None)


def _atom_common(report: Report, el: etree._Element) -> None:
    """What feed, entry and source share: id, dates, text constructs, people, categories."""
    for ident in el.findall(_a("id")):
        _atom_id(report, ident)
    for updated in el.findall(_a("updated")):
        _report_pairs(report, where(updated), rfc3339_problems((updated.text or "").strip()))
    for name in ("title", "subtitle", "rights", "summary"):
        for construct in el.findall(_a(name)):
            _text_construct(report, construct)
    for name in ("author", "contributor"):
        for person in el.findall(_a(name)):
            _person(report, person)
    for category in el.findall(_a("category")):
        if not category.get("term"):
            report.error(where(category), "category needs a non-empty term attribute (RFC 4287 4.2.2.1)")
        _check_iri(report, where(category) + "/@scheme", category.get("scheme"), relative="error")


def _atom_id(report: Report, el: etree._Element) -> None:
    value = el.text or ""
    place = where(el)
    if re.search(r"\s", value):
        report.error(place, f"{value!r}: an id must not contain white space (RFC 4287 4.2.6)")
        value = value.strip()
    problem = absolute_iri_problem(value)
    if problem:
        report.error(place, f"id {value!r} {problem} (RFC 4287 4.2.6: an absolute IRI)")
        return
    problem = noncanonical(value)
    if problem:
        report.warning(place, f"id {value!r} is not in canonical form: {problem} (validator: NonCanonicalURI)")


def _text_construct(report: Report, el: etree._Element) -> None:
    kind = el.get("type", "text")
    place = where(el)
    children = _elements(el)
    if kind in ("text", "html"):
        section = "3.1.1.1" if kind == "text" else "3.1.1.2"
        if children:
            report.error(place, f"type={kind} must contain no child elements (RFC 4287 {section})")
        text = el.text or ""
        if kind == "text" and looks_like_html(text):
            report.warning(
                place, "plain text that looks like HTML; declare type=html (validator: ContainsUndeclaredHTML)"
            )
        if kind == "html" and unsafe_html(text):
            report.warning(place, unsafe_html(text))
    elif kind == "xhtml":
        if len(children) != 1 or children[0].tag != f"{{{XHTML_NS}}}div":
            report.error(place, "type=xhtml must contain exactly one xhtml:div (RFC 4287 3.1.1.3)")
        elif (el.text or "").strip() or (children[0].tail or "").strip():
            report.error(place, "type=xhtml must hold nothing but its xhtml:div (RFC 4287 3.1.1.3)")
    else:
        report.error(place, f"type must be text, html or xhtml, not {kind!r} (RFC 4287 3.1.1)")


def _atom_content(report: Report, content: etree._Element) -> None:
    place = where(content)
    kind = content.get("type")
    src = content.get("src")
    if src is not None:
        _check_iri(report, place + "/@src", src)
        if _elements(content) or (content.text or "").strip():
            report.error(place, "content with src must be empty (RFC 4287 4.1.3.2)")
        if kind is None:
            report.warning(place, "content with src should say its type (RFC 4287 4.1.3.2)")
        elif kind in ("text", "html", "xhtml"):
            report.error(place, "content with src needs a MIME type, not text/html/xhtml (RFC 4287 4.1.3.1)")
        return
    if kind is None or kind in ("text", "html", "xhtml"):
        _text_construct(report, content)
    elif not _MIME.match(kind):
        report.error(place, f"type {kind!r} is neither text, html, xhtml nor a MIME type (RFC 4287 4.1.3.1)")
    elif kind.lower().startswith("text/") and _elements(content):
        report.error(place, "text/* content must contain no child elements (RFC 4287 4.1.3.3)")
    elif not kind.lower().endswith(("/xml", "+xml")) and not kind.lower().startswith("text/"):
        try:
            binascii.a2b_base64("".join((content.text or "").split()).encode("ascii"), strict_mode=True)
        except (binascii.Error, UnicodeEncodeError):
            report.error(place, f"{kind} content must be Base64 (RFC 4287 4.1.3.3)")


def _person(report: Report, person: etree._Element) -> None:
    _undefined(report, person, ATOM_NS, ("name", "uri", "email"))
    _cardinality(report, person, ATOM_NS, ("name",), ("uri", "email"), "RFC 4287 3.2")
    for name in person.findall(_a("name")):
        if not (name.text or "").strip():
            report.error(where(name), "a person's name must not be blank (RFC 4287 3.2.1)")
    for uri in person.findall(_a("uri")):
        _check_iri(report, where(uri), (uri.text or "").strip())
    for email in person.findall(_a("email")):
        problem = email_problem((email.text or "").strip())
        if problem or "(" in (email.text or "") or "<" in (email.text or ""):
            report.error(where(email), f"{email.text!r} must be a bare e-mail address (RFC 4287 3.2.3)")


def _atom_links(report: Report, parent: etree._Element, *, is_feed: bool, location: str | None) -> None:
    alternates: dict[tuple[str | None, str | None], str] = {}
    selves = []
    for link in parent.findall(_a("link")):
        place = where(link)
        href = link.get("href")
        rel = link.get("rel", "alternate")
        if href is None:
            report.error(place, "link needs an href (RFC 4287 4.2.7.1)")
        else:
            _check_iri(report, place + "/@href", href)
        if rel not in REGISTERED_RELS and not _SCHEME.match(rel):
            report.warning(place, f"rel={rel!r} is not a registered link relation (RFC 4287 4.2.7.2)")
        if link.get("type") is not None and not _MIME.match(link.get("type")):
            report.error(place, f"type {link.get('type')!r} is not a MIME media type (RFC 4287 4.2.7.3)")
        if link.get("hreflang") is not None and language_problem(link.get("hreflang")):
            report.error(place, f"hreflang: {language_problem(link.get('hreflang'))} (RFC 4287 4.2.7.4)")
        if link.get("length") is not None and not link.get("length").isdigit():
            report.error(place, f"length {link.get('length')!r} must be a non-negative integer (RFC 4287 4.2.7.6)")
        if (link.text or "").strip() or _elements(link):
            report.warning(place, "atom:link should be empty (validator: AtomLinkNotEmpty)")
        if rel == "alternate":
            key = (link.get("type"), link.get("hreflang"))
            if key in alternates:
                report.error(place, f"a second alternate link with type={key[0]} hreflang={key[1]} (RFC 4287 4.1.1)")
            alternates[key] = place
        if rel == "self":
            selves.append(link)
    if is_feed:
        _self_links(report, parent, selves, "application/atom+xml", location)


def _self_links(
    report: Report, parent: etree._Element, selves: list[etree._Element], media_type: str, location: str | None
) -> None:
    """The validator's MissingSelf / SelfDoesntMatchLocation rules, for Atom and for RSS."""
    if not selves:
        report.warning(where(parent), 'no atom:link rel="self" naming the feed\'s own URL (validator: MissingSelf)')
    if len(selves) > 1:
        report.error(where(selves[1]), 'more than one atom:link rel="self"')
    for link in selves:
        if link.get("type") != media_type:
            report.warning(where(link), f"self link type should be {media_type}, not {link.get('type')}")
        href = link.get("href")
        if href is not None:
            _check_url(report, where(link) + "/@href", href, "the self link is the feed's URL", iri=True)
            if location is not None and href != location:
                report.warning(where(link), f"self link {href} is not where the feed is: {location}")


# ---------------------------------------------------------------------------------------
# RSS 2.0 and the RSS Best Practices Profile
# ---------------------------------------------------------------------------------------

CHANNEL_CHILDREN = _words(
    "title link description language copyright managingEditor webMaster pubDate lastBuildDate category "
    "generator docs cloud ttl image rating textInput skipHours skipDays item"
)
CHANNEL_SINGLE = [c for c in CHANNEL_CHILDREN if c not in ("category", "item")]
ITEM_CHILDREN = _words("title link description author category comments enclosure guid pubDate source")
ITEM_SINGLE = ["title", "link", "description", "author", "comments", "guid", "pubDate", "source"]
UPDATE_PERIODS = ("hourly", "daily", "weekly", "monthly", "yearly")
RSS_PROFILE = "RSS Profile"


def check_rss(data: bytes, *, location: str | None = None, content_type: str | None = None) -> list[Problem]:
    report = Report()
    charset = _media_type(report, content_type, ("application/rss+xml", "application/xml", "text/xml"))
    root = parse_xml(report, data, charset)
    if root is None:
        return report.problems
    if root.tag != "rss":
        report.error(where(root), f"root must be rss (no namespace), not {root.tag} (RSS 2.0)")
        return report.problems
    if root.get("version") != "2.0":
        report.error(where(root), f'version must be "2.0", not {root.get("version")!r} (RSS 2.0)')
    _undefined(report, root, None, ("channel",))
    channels = root.findall("channel")
    if len(channels) != 1:
        report.error(where(root), f"must contain exactly one channel, has {len(channels)} (RSS 2.0)")
    if not channels:
        return report.problems
    channel = channels[0]
    _rss_channel(report, channel, location)
    items = channel.findall("item")
    for item in items:
        _rss_item(report, item)
    guids = [(where(g), (g.text or "").strip()) for item in items for g in item.findall("guid")[:1]]
    _unique(report, guids, "guid")
    _atom_in_rss(report, root, channel, location)
    _xhtml_placement(report, root, feed_level=channel)
    return report.problems


def _rss_channel(report: Report, channel: etree._Element, location: str | None) -> None:
    place = where(channel)
    _undefined(report, channel, None, CHANNEL_CHILDREN)
    _cardinality(report, channel, None, ("title", "link", "description"), CHANNEL_SINGLE, "RSS 2.0")
    title = channel.findtext("title")
    if title is not None:
        if not title.strip():
            report.warning(place + "/title", "channel title should not be blank")
        if looks_like_html(title):
            report.warning(place + "/title", "title contains HTML (validator: ContainsHTML)")
    description = channel.findtext("description")
    if description and looks_like_html(description):
        report.warning(place + "/description", "channel description contains HTML (validator: ContainsHTML)")
    for link in channel.findall("link"):
        _check_url(report, where(link), (link.text or "").strip(), f"{RSS_PROFILE}: channel link")
    for docs in channel.findall("docs"):
        _check_url(report, where(docs), (docs.text or "").strip(), "RSS 2.0: docs is a URL")
    _rss_common(report, channel)
    for name in ("managingEditor", "webMaster"):
        for el in channel.findall(name):
            problem = email_problem((el.text or "").strip())
            if problem:
                report.error(where(el), f"{problem} (RSS 2.0: {name} is an e-mail address)")
    for language in channel.findall("language"):
        problem = language_problem((language.text or "").strip())
        if problem:
            report.error(where(language), f"{problem} (RSS 2.0)")
    for ttl in channel.findall("ttl"):
        if not (ttl.text or "").strip().isdigit():
            report.error(where(ttl), f"ttl {ttl.text!r} must be a non-negative number of minutes (RSS 2.0)")
    for el in channel.findall("lastBuildDate"):
        _report_pairs(report, where(el), rfc822_problems((el.text or "").strip()))
    for image in channel.findall("image"):
        _cardinality(report, image, None, ("url", "title", "link"), ("width", "height", "description"), "RSS 2.0")
        _check_url(report, where(image) + "/url", image.findtext("url"), "RSS 2.0 image url")
        _check_url(report, where(image) + "/link", image.findtext("link"), "RSS 2.0 image link")
        for name, limit in (("width", 144), ("height", 400)):
            value = (image.findtext(name) or "1").strip()
            if not value.isdigit() or not 0 < int(value) <= limit:
                report.error(where(image) + "/" + name, f"{name} {value!r} must be 1..{limit} (RSS 2.0)")
    for cloud in channel.findall("cloud"):
        for attr in ("domain", "port", "path", "registerProcedure", "protocol"):
            if cloud.get(attr) is None:
                report.error(where(cloud), f"cloud needs a {attr} attribute (RSS 2.0)")
    for el in channel.findall(f"{{{SY_NS}}}updatePeriod"):
        if (el.text or "").strip() not in UPDATE_PERIODS:
            report.error(where(el), f"sy:updatePeriod {el.text!r} must be one of {', '.join(UPDATE_PERIODS)}")
    for el in channel.findall(f"{{{SY_NS}}}updateFrequency"):
        value = (el.text or "").strip()
        if not value.isdigit() or int(value) < 1:
            report.error(where(el), f"sy:updateFrequency {value!r} must be a positive integer")


def _rss_common(report: Report, el: etree._Element) -> None:
    """Elements channel and item share: pubDate and category."""
    for date in el.findall("pubDate"):
        _report_pairs(report, where(date), rfc822_problems((date.text or "").strip()))
    for category in el.findall("category"):
        if not (category.text or "").strip():
            report.warning(where(category), "category should not be blank")


def _rss_item(report: Report, item: etree._Element) -> None:
    place = where(item)
    _undefined(report, item, None, ITEM_CHILDREN)
    _cardinality(report, item, None, (), ITEM_SINGLE, "RSS 2.0")
    if item.find("title") is None and item.find("description") is None:
        report.error(place, "an item must contain a title or a description (RSS 2.0)")
    title = item.findtext("title")
    if title is not None and looks_like_html(title):
        report.warning(place + "/title", "title contains HTML (validator: ContainsHTML)")
    description = item.findtext("description")
    if description is not None and unsafe_html(description):
        report.warning(place + "/description", unsafe_html(description))
    for link in item.findall("link"):
        _check_url(report, where(link), (link.text or "").strip(), f"{RSS_PROFILE}: item link")
    for comments in item.findall("comments"):
        _check_url(report, where(comments), (comments.text or "").strip(), "RSS 2.0: comments is a URL")
    for author in item.findall("author"):
        problem = email_problem((author.text or "").strip())
        if problem:
            report.error(where(author), f"{problem} (RSS 2.0: author is an e-mail address)")
    _rss_common(report, item)
    guids = item.findall("guid")
    if not guids:
        report.warning(place, "an item should have a guid (RSS Profile; validator: MissingGuid)")
    for guid in guids:
        _rss_guid(report, guid)
    enclosures = item.findall("enclosure")
    if len(enclosures) > 1:
        report.warning(place, f"{RSS_PROFILE}: an item should not contain more than one enclosure")
    for enclosure in enclosures:
        for attr in ("url", "length", "type"):
            if enclosure.get(attr) is None:
                report.error(where(enclosure), f"enclosure needs a {attr} attribute (RSS 2.0)")
        _check_url(report, where(enclosure) + "/@url", enclosure.get("url"), "RSS 2.0 enclosure")
        if enclosure.get("length") is not None and not enclosure.get("length").isdigit():
            report.error(where(enclosure), "enclosure length must be a number of bytes (RSS 2.0)")
    for source in item.findall("source"):
        if source.get("url") is None:
            report.error(where(source), "source needs a url attribute (RSS 2.0)")
        _check_url(report, where(source) + "/@url", source.get("url"), "RSS 2.0 source")


def _rss_guid(report: Report, guid: etree._Element) -> None:
    place = where(guid)
    value = (guid.text or "").strip()
    permalink = guid.get("isPermaLink", "true")
    if permalink not in ("true", "false"):
        report.error(place, f'isPermaLink must be "true" or "false", not {permalink!r} (RSS 2.0)')
    if not value:
        report.error(place, "guid must not be blank")
    elif permalink != "false" and (http_url_problem(value) or non_ascii_problem(value)):
        report.error(place, f'guid {value!r} is not a URL, so it needs isPermaLink="false" (RSS 2.0)')


def _atom_in_rss(report: Report, root: etree._Element, channel: etree._Element, location: str | None) -> None:
    selves = []
    for el in root.iter(f"{{{ATOM_NS}}}*"):
        if el.tag != _a("link") or el.getparent() is not channel:
            report.error(
                where(el), f"Atom element {etree.QName(el).localname} has no place here: RSS takes atom:link in channel"
            )
            continue
        place = where(el)
        if el.get("href") is None:
            report.error(place, "atom:link needs an href")
        else:
            _check_url(report, place + "/@href", el.get("href"), f"{RSS_PROFILE}: atom:link", iri=True)
        rel = el.get("rel", "alternate")
        if rel not in REGISTERED_RELS and not _SCHEME.match(rel):
            report.warning(place, f"rel={rel!r} is not a registered link relation")
        if rel == "self":
            selves.append(el)
    _self_links(report, channel, selves, "application/rss+xml", location)


# ---------------------------------------------------------------------------------------
# JSON Feed 1.1
# ---------------------------------------------------------------------------------------

FEED_KEYS = _words(
    "version title home_page_url feed_url description user_comment next_url icon favicon authors author "
    "language expired hubs items"
)
ITEM_KEYS = _words(
    "id url external_url title content_html content_text summary image banner_image date_published "
    "date_modified authors author tags language attachments"
)
JSONFEED = "JSON Feed 1.1"


def check_json_feed(data: bytes, *, location: str | None = None, content_type: str | None = None) -> list[Problem]:
    report = Report()
    charset = _media_type(report, content_type, ("application/feed+json", "application/json"))
    if charset and not _same_encoding(charset, "utf-8"):
        report.error("HTTP", f"charset {charset}: a JSON feed is UTF-8 (RFC 8259 8.1)")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        report.error("document", f"not UTF-8: {exc} (RFC 8259 8.1)")
        return report.problems
    if text.startswith("\ufeff"):
        report.error("document", "starts with a byte order mark (RFC 8259 8.1)")
        text = text[1:]
    try:
        doc = json.loads(text)
    except ValueError as exc:
        report.error("document", f"not JSON: {exc}")
        return report.problems
    if not isinstance(doc, dict):
        report.error("document", f"the top level must be an object ({JSONFEED})")
        return report.problems
    _json_top(report, doc, location)
    items = doc.get("items")
    if not isinstance(items, list):
        report.error("items", f"items is required and must be an array ({JSONFEED})")
        return report.problems
    ids = []
    for n, item in enumerate(items):
        place = f"items[{n}]"
        if not isinstance(item, dict):
            report.error(place, f"an item must be an object ({JSONFEED})")
            continue
        _json_item(report, place, item, doc.get("version"))
        if isinstance(item.get("id"), str):
            ids.append((place, item["id"]))
    _unique(report, ids, "item id")
    return report.problems


def _json_typed(
    report: Report, place: str, obj: dict[str, Any], key: str, kind: type | tuple[type, ...], name: str
) -> None:
    if key in obj and not isinstance(obj[key], kind):
        report.error(f"{place}.{key}".lstrip("."), f"must be {name}, not {type(obj[key]).__name__} ({JSONFEED})")


def _json_url(report: Report, place: str, obj: dict[str, Any], key: str) -> None:
    value = obj.get(key)
    if value is None:
        return
    if not isinstance(value, str):
        report.error(f"{place}.{key}".lstrip("."), f"must be a string ({JSONFEED})")
        return
    _check_url(report, f"{place}.{key}".lstrip("."), value, f"{JSONFEED}: a full URL", iri=True)


def _json_extensions(report: Report, place: str, obj: dict[str, Any], known: Iterable[str]) -> None:
    for key in obj:
        if key not in known and not key.startswith("_"):
            report.warning(f"{place}.{key}".lstrip("."), f"unknown key; extensions must start with _ ({JSONFEED})")


def _json_top(report: Report, doc: dict[str, Any], location: str | None) -> None:
    version = doc.get("version")
    if version not in JSONFEED_VERSIONS:
        report.error("version", f"version must be {JSONFEED_VERSIONS[0]}, not {version!r} ({JSONFEED})")
    if not isinstance(doc.get("title"), str):
        report.error("title", f"title is required and must be a string ({JSONFEED})")
    elif not doc["title"].strip():
        report.warning("title", "title should not be blank")
    for key in ("home_page_url", "feed_url"):
        if key not in doc:
            report.warning(key, f"{key} is strongly recommended ({JSONFEED})")
    for key in ("home_page_url", "feed_url", "next_url", "icon", "favicon"):
        _json_url(report, "", doc, key)
    if location is not None and isinstance(doc.get("feed_url"), str) and doc["feed_url"] != location:
        report.warning("feed_url", f"feed_url {doc['feed_url']} is not where the feed is: {location}")
    for key in ("description", "user_comment", "language"):
        _json_typed(report, "", doc, key, str, "a string")
    if isinstance(doc.get("language"), str) and language_problem(doc["language"]):
        report.error("language", f"{language_problem(doc['language'])} ({JSONFEED}: RFC 5646)")
    _json_typed(report, "", doc, "expired", bool, "a boolean")
    _json_authors(report, "", doc, version)
    if "hubs" in doc:
        hubs = doc["hubs"]
        if not isinstance(hubs, list) or not all(
            isinstance(h, dict) and isinstance(h.get("type"), str) and isinstance(h.get("url"), str) for h in hubs
        ):
            report.error("hubs", f"hubs must be an array of objects with type and url ({JSONFEED})")
    _json_extensions(report, "", doc, FEED_KEYS)


def _json_authors(report: Report, place: str, obj: dict[str, Any], version: Any) -> None:
    if "author" in obj and version == JSONFEED_VERSIONS[0]:
        report.warning(f"{place}.author".lstrip("."), f"author is deprecated; use authors ({JSONFEED})")
    if "authors" not in obj:
        return
    authors = obj["authors"]
    where_ = f"{place}.authors".lstrip(".")
    if not isinstance(authors, list):
        report.error(where_, f"authors must be an array ({JSONFEED})")
        return
    for n, author in enumerate(authors):
        if not isinstance(author, dict):
            report.error(f"{where_}[{n}]", f"an author must be an object ({JSONFEED})")
            continue
        name = author.get("name")
        if not isinstance(name, str) or not name.strip():
            report.error(f"{where_}[{n}]", "an author needs a non-empty name")
        _json_url(report, f"{where_}[{n}]", author, "url")
        _json_url(report, f"{where_}[{n}]", author, "avatar")
        _json_extensions(report, f"{where_}[{n}]", author, ("name", "url", "avatar"))


def _json_item(report: Report, place: str, item: dict[str, Any], version: Any) -> None:
    ident = item.get("id")
    if not isinstance(ident, str):
        report.error(f"{place}.id", f"id is required and must be a string ({JSONFEED})")
    elif not ident.strip():
        report.error(f"{place}.id", "id must not be blank")
    if not isinstance(item.get("content_html"), str) and not isinstance(item.get("content_text"), str):
        report.error(place, f"an item needs content_html or content_text ({JSONFEED})")
    for key in ("title", "content_html", "content_text", "summary", "language"):
        _json_typed(report, place, item, key, str, "a string")
    if isinstance(item.get("content_html"), str) and unsafe_html(item["content_html"]):
        report.warning(f"{place}.content_html", unsafe_html(item["content_html"]))
    for key in ("url", "external_url", "image", "banner_image"):
        _json_url(report, place, item, key)
    for key in ("date_published", "date_modified"):
        value = item.get(key)
        if value is None:
            continue
        if not isinstance(value, str):
            report.error(f"{place}.{key}", f"must be an RFC 3339 string ({JSONFEED})")
            continue
        _report_pairs(report, f"{place}.{key}", rfc3339_problems(value))
    tags = item.get("tags")
    if tags is not None and (not isinstance(tags, list) or not all(isinstance(t, str) for t in tags)):
        report.error(f"{place}.tags", f"tags must be an array of strings ({JSONFEED})")
    _json_authors(report, place, item, version)
    for n, attachment in enumerate(item.get("attachments") or []):
        spot = f"{place}.attachments[{n}]"
        if not isinstance(attachment, dict) or "url" not in attachment or "mime_type" not in attachment:
            report.error(spot, f"an attachment needs url and mime_type ({JSONFEED})")
            continue
        _json_url(report, spot, attachment, "url")
    _json_extensions(report, place, item, ITEM_KEYS)


# ---------------------------------------------------------------------------------------
# OPML 2.0
# ---------------------------------------------------------------------------------------

HEAD_CHILDREN = _words(
    "title dateCreated dateModified ownerName ownerEmail ownerId docs expansionState vertScrollState "
    "windowTop windowLeft windowBottom windowRight"
)
OPML = "OPML 2.0"


def check_opml(data: bytes, *, location: str | None = None, content_type: str | None = None) -> list[Problem]:
    report = Report()
    charset = _media_type(report, content_type, ("text/x-opml", "application/xml", "text/xml"))
    root = parse_xml(report, data, charset)
    if root is None:
        return report.problems
    if root.tag != "opml":
        report.error(where(root), f"root must be opml, not {root.tag} ({OPML})")
        return report.problems
    if root.get("version") != "2.0":
        report.error(where(root), f'version must be "2.0", not {root.get("version")!r} ({OPML})')
    _undefined(report, root, None, ("head", "body"))
    _cardinality(report, root, None, ("head", "body"), (), OPML)
    for head in root.findall("head"):
        _opml_head(report, head)
    for body in root.findall("body"):
        if body.find("outline") is None:
            report.error(where(body), f"body must contain at least one outline ({OPML})")
        _undefined(report, body, None, ("outline",))
        for outline in body.iter("outline"):
            _opml_outline(report, outline)
    return report.problems


def _opml_head(report: Report, head: etree._Element) -> None:
    _undefined(report, head, None, HEAD_CHILDREN)
    _cardinality(report, head, None, (), HEAD_CHILDREN, OPML)
    for name in ("dateCreated", "dateModified"):
        for el in head.findall(name):
            _report_pairs(report, where(el), rfc822_problems((el.text or "").strip()))
    for el in head.findall("ownerEmail"):
        problem = email_problem((el.text or "").strip())
        if problem:
            report.error(where(el), f"{problem} ({OPML})")
    for name in ("ownerId", "docs"):
        for el in head.findall(name):
            _check_url(report, where(el), (el.text or "").strip(), OPML)
    for el in head.findall("expansionState"):
        if not re.fullmatch(r"\s*(\d+\s*(,\s*\d+\s*)*)?", el.text or ""):
            report.error(where(el), f"expansionState must be comma-separated line numbers ({OPML})")


def _opml_outline(report: Report, outline: etree._Element) -> None:
    place = where(outline)
    _undefined(report, outline, None, ("outline",))
    if outline.get("text") is None:
        report.error(place, f"every outline needs a text attribute ({OPML})")
    elif not outline.get("text").strip():
        report.warning(place, "text attribute should not be blank")
    kind = outline.get("type")
    if kind == "rss":
        if outline.get("xmlUrl") is None:
            report.error(place, f'type="rss" needs an xmlUrl ({OPML} subscription lists)')
        if outline.get("title") is None:
            report.warning(place, f"a subscription should have a title ({OPML}; validator: MissingTitleAttr)")
        if outline.get("version") not in (None, "RSS", "RSS1", "RSS2", "scriptingNews"):
            report.warning(place, f"version {outline.get('version')!r} is not RSS, RSS1, RSS2 or scriptingNews")
        if outline.get("language") not in (None, "unknown") and language_problem(outline.get("language")):
            report.error(place, f"language: {language_problem(outline.get('language'))}")
    elif outline.get("xmlUrl") is not None:
        report.warning(
            place, f'an outline with an xmlUrl should have type="rss" ({OPML}; validator: MissingOutlineType)'
        )
    if kind in ("link", "include") and outline.get("url") is None:
        report.warning(place, f'type="{kind}" needs a url attribute ({OPML})')
    for attr in ("xmlUrl", "htmlUrl", "url"):
        _check_url(report, f"{place}/@{attr}", outline.get(attr), OPML)
    for attr in ("isComment", "isBreakpoint"):
        if outline.get(attr) not in (None, "true", "false"):
            report.error(place, f'{attr} must be "true" or "false" ({OPML})')
    if outline.get("created") is not None:
        _report_pairs(report, place + "/@created", rfc822_problems(outline.get("created")))


CHECKERS: dict[str, Callable[..., list[Problem]]] = {
    "atom": check_atom,
    "rss": check_rss,
    "json": check_json_feed,
    "opml": check_opml,
}
