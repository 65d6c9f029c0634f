"""Permanent ids and first-seen dates, kept in a ledger beside the data.

Feed readers key every item on its id and show a changed id as a new article, so an id is
minted once, the first time an article is seen, and kept in ``ledger.json`` in the data
directory. The id is a tag URI (RFC 4151): ``tag:AUTHORITY,DATE:article/SLUG`` where DATE is
the day it was minted and SLUG comes from the title at that moment. It is never recomputed:
later runs find each article's record by matching, in this order,

1. an explicit ``@id:`` line;
2. the same title and summary;
3. the same title (the summary was edited);
4. the same summary (the title was edited);
5. a title or summary that is nearly the same (a typo was fixed in both).

A record also keeps the first-seen time, used as the published date of an article without
``@date``, and the time of the last edit, used as its updated date. New articles found in
one run are stamped one second apart in listing order (the listing is newest first), so
date order and listing order agree. The ledger is rewritten atomically under a lock, only
when something changed; commit it with the data so that every clone publishes the same ids.
"""

from __future__ import annotations

import contextlib
import difflib
import fcntl
import functools
import hashlib
import json
import os
import re
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from feeds.files import write_atomic
from feeds.model import FIRST_DATE, LAST_DATE, Diagnostic, Entry, Location, Severity
from feeds.slug import fold, slugify

LEDGER_NAME = "ledger.json"
FORMAT = 1
# Pairs compared for near-duplicates are capped so that a wholesale rewrite stays linear.
_FUZZY_PAIR_LIMIT = 200_000
_FUZZY_THRESHOLD = 0.8
#: An edit taken back within this time leaves no trace: the article gets back its updated date. A file
#: saved in place is read half-written now and then; its articles come back whole a moment later.
TAKEN_BACK_WITHIN = timedelta(minutes=10)


@dataclass(frozen=True, slots=True)
class Before:
    """An article as it was before its last edit: an edit taken back soon after is undone, dates and all."""

    title: str
    summary_sha: str
    updated: datetime


@dataclass(frozen=True, slots=True)
class Record:
    """What the ledger keeps of one article."""

    id: str
    slug: str
    title: str
    summary_sha: str
    first_seen: datetime
    updated: datetime
    before: Before | None = None
    #: A sketch of the summary (:func:`_sketch`), kept for articles whose title another article has:
    #: when both summaries are edited, the nearest one says which record is whose.
    words: str = ""

    def to_json(self) -> dict[str, Any]:
        obj: dict[str, Any] = {
            "id": self.id,
            "slug": self.slug,
            "title": self.title,
            "summary_sha": self.summary_sha,
            "first_seen": _iso(self.first_seen),
            "updated": _iso(self.updated),
        }
        if self.before is not None:
            b = self.before
            obj["before"] = {"title": b.title, "summary_sha": b.summary_sha, "updated": _iso(b.updated)}
        if self.words:
            obj["words"] = self.words
        return obj

    @classmethod
    def from_json(cls, obj: dict[str, Any], dates: dict[str, datetime] | None = None) -> Record:
        """``dates`` shares one datetime among the records stamped alike (most of a ledger)."""
        dates = {} if dates is None else dates
        before = obj.get("before")
        return cls(
            id=obj["id"],
            slug=obj["slug"],
            title=obj["title"],
            summary_sha=obj["summary_sha"],
            first_seen=_date(obj["first_seen"], dates),
            updated=_date(obj["updated"], dates),
            before=None
            if before is None
            else Before(before["title"], before["summary_sha"], _date(before["updated"], dates)),
            words=obj.get("words", ""),
        )


def _date(text: str, dates: dict[str, datetime]) -> datetime:
    value = dates.get(text)
    if value is None:
        value = dates[text] = datetime.fromisoformat(text)
        if value.tzinfo is None or not FIRST_DATE <= value <= LAST_DATE:
            raise ValueError(f"the date {text!r} is not a UTC date between {FIRST_DATE.year} and {LAST_DATE.year}")
    return value


@dataclass(frozen=True)
class Ledger:
    authority: str
    created: str
    records: tuple[Record, ...]

    def to_bytes(self) -> bytes:
        # One record per line: readable diffs in version control, and the fast C encoder. The lines
        # are joined as bytes: joining str of mixed widths costs a third of the encoding again.
        head = json.dumps({"format": FORMAT, "authority": self.authority, "created": self.created})[:-1]
        lines = [b"  " + _ENCODE(r.to_json()).encode() for r in self.records]
        return b'%s, "articles": [\n%s\n]}\n' % (head.encode(), b",\n".join(lines))


@dataclass(frozen=True)
class Assigned:
    """The outcome of :func:`assign`: one record per entry, in entry order."""

    records: tuple[Record, ...]
    ledger: Ledger
    changed: bool
    diagnostics: tuple[Diagnostic, ...]
    #: Entries (by position) given a record minted in this run.
    minted: tuple[int, ...] = ()


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def _key(title: str) -> str:
    return " ".join(fold(title).lower().split())


def load_ledger(path: Path, authority: str, today: str) -> tuple[Ledger, list[Diagnostic]]:
    """Read a ledger, or start an empty one when the file does not exist."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return Ledger(authority, today, ()), []
    except OSError as exc:
        return Ledger(authority, today, ()), [
            Diagnostic(Location(str(path)), Severity.ERROR, f"cannot read the id ledger: {exc.strerror}")
        ]
    try:
        return _read_lines(raw) or _read_document(raw), []
    except (ValueError, KeyError, TypeError) as exc:
        line = getattr(exc, "lineno", 0)
        message = f"the id ledger is damaged ({exc}); restore it from version control"
        return Ledger(authority, today, ()), [Diagnostic(Location(str(path), line), Severity.ERROR, message)]


def _read_document(raw: bytes) -> Ledger:
    doc = json.loads(raw)
    if doc.get("format") != FORMAT:
        raise ValueError(f"unknown ledger format {doc.get('format')!r}")
    dates: dict[str, datetime] = {}
    records = tuple(Record.from_json(r, dates) for r in doc["articles"])
    return Ledger(doc["authority"], doc["created"], records)


def _read_lines(raw: bytes) -> Ledger | None:
    """The ledger as :meth:`Ledger.to_bytes` writes it, one record per line, read a line at a time:
    never the whole document as dicts at once (a third of the load's peak memory). None when the
    file is laid out otherwise (edited by hand), to be read as one JSON document."""
    end = raw.find(b"\n")
    head = raw[:end]
    if not head.endswith(b', "articles": ['):
        return None
    try:
        doc = json.loads(head + b"]}")
    except ValueError:
        return None
    if doc.get("format") != FORMAT or raw[-3:] != b"]}\n":
        return None
    dates: dict[str, datetime] = {}
    records = []
    start, stop = end + 1, len(raw) - 3
    scan = _DECODER.scan_once  # one object from a position: json.loads's checks, per line, cost more
    while start < stop:
        end = raw.find(b"\n", start, stop)
        end = stop if end < 0 else end
        line = raw[start:end].strip().removesuffix(b",")
        start = end + 1
        if not line:
            continue
        if not line.startswith(b"{") or not line.endswith(b"}"):
            return None
        try:
            text = line.decode("utf-8")
            obj, length = scan(text, 0)
            if length != len(text) or not isinstance(obj, dict):
                raise ValueError("not one JSON object")
            records.append(Record.from_json(obj, dates))
        except (StopIteration, ValueError, KeyError, TypeError) as exc:
            reason = {StopIteration: "not JSON", KeyError: f"no {exc}"}.get(type(exc), str(exc))
            raise _DamagedLine(f"record {len(records) + 1}: {reason}", raw.count(b"\n", 0, start - 1) + 1) from None
    return Ledger(doc["authority"], doc["created"], tuple(records))


_DECODER = json.JSONDecoder()
_ENCODE = json.JSONEncoder(ensure_ascii=False).encode  # json.dumps makes an encoder per call


class _DamagedLine(ValueError):
    def __init__(self, message: str, lineno: int) -> None:
        super().__init__(message)
        self.lineno = lineno


def assign(entries: tuple[Entry, ...], ledger: Ledger, now: datetime, *, record: bool = True) -> Assigned:
    """Find or mint the record of every entry; pure, so it can be tested without files.

    ``record=False`` finds records but changes none: new entries get records minted for this run only
    (listed in ``minted``), edited ones keep their recorded dates, and the ledger is returned as it was.
    """
    now = now.astimezone(UTC).replace(microsecond=0)
    problems: list[Diagnostic] = []
    records = list(ledger.records)
    by_id = {r.id: i for i, r in enumerate(records)}
    used_slugs = {r.slug for r in records}
    taken: set[int] = set()
    result: list[int | None] = [None] * len(entries)
    shas = [_sha(e.summary) for e in entries]

    # 1. explicit ids
    pinned = [n for n, entry in enumerate(entries) if entry.meta.id is not None]
    minted = []
    if pinned:
        minted = _match_pinned(entries, pinned, records, by_id, used_slugs, shas, now, taken, result, problems)

    # 2. the same title and summary, as written: nearly every article of every run but the first; then
    # the same as an article was before an edit made a moment ago (a file read while being saved)
    same: dict[tuple[str, str], list[int]] = defaultdict(list)
    for i, r in enumerate(records):
        if i not in taken:
            same[(r.title, r.summary_sha)].append(i)
    for i, r in enumerate(records):
        if i not in taken and r.before is not None and _recent(r, now):
            same[(r.before.title, r.before.summary_sha)].append(i)
    for n, entry in enumerate(entries):
        if result[n] is None:
            for i in same.get((entry.title, shas[n]), ()):
                if i not in taken:
                    taken.add(i)
                    result[n] = i
                    break
    left = [n for n in range(len(entries)) if result[n] is None]
    if left:
        _match_changed(entries, left, records, shas, taken, result)

    # mint the rest, one second apart in listing order
    fresh = 0
    for n, entry in enumerate(entries):
        if result[n] is None:
            seen = now - timedelta(seconds=fresh)
            fresh += 1
            slug = _unique_slug(entry.title, used_slugs)
            tag_id = f"tag:{ledger.authority},{seen:%Y-%m-%d}:article/{slug}"
            while tag_id in by_id:  # the same slug minted on the same day by another record
                slug = _unique_slug(slug + "-x", used_slugs)
                tag_id = f"tag:{ledger.authority},{seen:%Y-%m-%d}:article/{slug}"
            records.append(Record(tag_id, slug, entry.title, shas[n], seen, seen))
            i = by_id[tag_id] = len(records) - 1
            taken.add(i)
            result[n] = i
            minted.append(n)
    if not record:
        chosen = tuple(records[i] for i in result if i is not None)
        return Assigned(chosen, ledger, False, tuple(problems), tuple(sorted(minted)))

    # record edits, also one second apart in listing order: distinct updated dates keep readers'
    # ordering stable (and the Atom validator quiet about duplicate atom:updated values)
    changed = len(records) != len(ledger.records)
    edits = 0
    for n, entry in enumerate(entries):
        i = result[n]
        assert i is not None
        r = records[i]
        if r.title != entry.title or r.summary_sha != shas[n]:
            b = r.before
            if b is not None and (b.title, b.summary_sha) == (entry.title, shas[n]) and _recent(r, now):
                records[i] = replace(r, title=b.title, summary_sha=b.summary_sha, updated=b.updated, before=None)
            else:
                stamp = max(now - timedelta(seconds=edits), r.first_seen)
                edits += 1
                # edits in a row (a file saved in place, read at several lengths) keep the state before the first
                before = r.before if _recent(r, now) else Before(r.title, r.summary_sha, r.updated)
                records[i] = replace(r, title=entry.title, summary_sha=shas[n], updated=stamp, before=before)
            changed = True
    # articles that share a title keep a sketch of their summaries, to tell them apart after an edit
    titles = Counter(entry.title for entry in entries)
    if len(titles) < len(entries):
        old = ledger.records
        for n, entry in enumerate(entries):
            i = result[n]
            assert i is not None
            r = records[i]
            edited = i >= len(old) or old[i].summary_sha != r.summary_sha
            # made when a second article takes the title, then again only when the summary changes
            wanted = edited if r.words else titles[entry.title] > 1
            if wanted and r.words != (words := _sketch(entry.summary)):
                records[i] = replace(r, words=words)
                changed = True
    chosen = tuple(records[i] for i in result if i is not None)
    ledger = Ledger(ledger.authority, ledger.created, tuple(records))
    return Assigned(chosen, ledger, changed, tuple(problems), tuple(sorted(minted)))


def _recent(r: Record, now: datetime) -> bool:
    """Whether the last edit of ``r`` is recent enough to be taken back without a trace."""
    return r.before is not None and now - r.updated <= TAKEN_BACK_WITHIN


def _match_pinned(
    entries: tuple[Entry, ...],
    pinned: list[int],
    records: list[Record],
    by_id: dict[str, int],
    used_slugs: set[str],
    shas: list[str],
    now: datetime,
    taken: set[int],
    result: list[int | None],
    problems: list[Diagnostic],
) -> list[int]:
    """Step 1: an ``@id`` line takes the record of that id, or makes one (the entries returned); never
    the record of another article still listed, as written or edited since."""
    others = [n for n, e in enumerate(entries) if e.meta.id is None]
    other_titles = {entries[n].title for n in others}
    other_shas = {shas[n] for n in others} - {_sha("")}
    made = []
    for n in pinned:
        entry = entries[n]
        assert entry.meta.id is not None
        i = by_id.get(entry.meta.id)
        if i is not None and i in taken:
            problems.append(Diagnostic(entry.location, Severity.ERROR, f"@id {entry.meta.id} is used by two articles"))
            continue
        if i is not None:
            r = records[i]
            own = r.title == entry.title or r.summary_sha == shas[n]
            if not own and (r.title in other_titles or r.summary_sha in other_shas):
                # A pinned id must not take over the id, date and slug of an article still listed.
                message = f"@id {entry.meta.id} is the id of another article, {r.title!r}; give this one its own id"
                problems.append(Diagnostic(entry.location, Severity.ERROR, message))
                continue
        if i is None:
            records.append(Record(entry.meta.id, _unique_slug(entry.title, used_slugs), entry.title, shas[n], now, now))
            i = by_id[entry.meta.id] = len(records) - 1
            made.append(n)
        taken.add(i)
        result[n] = i
    return made


def _sketch(text: str) -> str:
    """The 16 smallest 32-bit hashes of the summary's words: similar summaries share most of them."""
    words = set(re.findall(r"\w+", fold(text).lower()))
    return "".join(sorted({_word_hash(w) for w in words})[:16])


@functools.lru_cache(maxsize=65536)  # summaries share most of their words
def _word_hash(word: str) -> str:
    return hashlib.blake2b(word.encode(), digest_size=4).hexdigest()


def _likeness(a: str, b: str) -> float:
    """How alike two sketches are: the share of hashes they have in common."""
    if not a or not b:
        return 0.0
    x, y = {a[k : k + 8] for k in range(0, len(a), 8)}, {b[k : k + 8] for k in range(0, len(b), 8)}
    return len(x & y) / len(x | y)


def _match_changed(
    entries: tuple[Entry, ...],
    left: list[int],
    records: list[Record],
    shas: list[str],
    taken: set[int],
    result: list[int | None],
) -> None:
    """Steps 2-5 for the entries ``left`` unmatched so far: retyped, edited or reworded articles."""
    by_title: dict[str, list[int]] = defaultdict(list)
    by_sha: dict[str, list[int]] = defaultdict(list)
    for i, r in enumerate(records):
        if i not in taken:
            by_title[_key(r.title)].append(i)
            by_sha[r.summary_sha].append(i)

    def claim(candidates: list[int], n: int, accept) -> bool:
        for i in candidates:
            if i not in taken and accept(records[i]):
                taken.add(i)
                result[n] = i
                return True
        return False

    keys = {n: _key(entries[n].title) for n in left}
    # 2. the same title up to case, accents and spaces, and the same summary
    for n in left:
        if result[n] is None:
            claim(by_title.get(keys[n], []), n, lambda r, s=shas[n]: r.summary_sha == s)
    # 3. the same title, the summary edited; where several articles have that title, the nearest
    # summary wins, then listing order
    waiting: dict[str, list[int]] = defaultdict(list)
    for n in left:
        if result[n] is None and keys[n] in by_title:
            waiting[keys[n]].append(n)
    for key, ns in waiting.items():
        candidates = [i for i in by_title[key] if i not in taken]
        if len(candidates) > 1 and len(ns) * len(candidates) <= _FUZZY_PAIR_LIMIT:
            pairs = []
            for k, n in enumerate(ns):
                sketch = _sketch(entries[n].summary)
                pairs.extend((-_likeness(sketch, records[i].words), k, c, n, i) for c, i in enumerate(candidates))
            for *_, n, i in sorted(pairs):
                if result[n] is None and i not in taken:
                    taken.add(i)
                    result[n] = i
        else:
            for n in ns:
                claim(candidates, n, lambda r: True)
    # 4. the same summary, the title edited
    for n in left:
        if result[n] is None and entries[n].summary:
            claim(by_sha.get(shas[n], []), n, lambda r: True)

    # 5. near matches among what is left on both sides
    left_new = [n for n in left if result[n] is None]
    left_old = [i for i in range(len(records)) if i not in taken]
    if left_new and left_old and len(left_new) * len(left_old) <= _FUZZY_PAIR_LIMIT:
        scored = []
        for n in left_new:
            matcher = difflib.SequenceMatcher(None, "", keys[n], autojunk=False)
            for i in left_old:
                matcher.set_seq1(_key(records[i].title))
                if matcher.real_quick_ratio() >= _FUZZY_THRESHOLD and matcher.quick_ratio() >= _FUZZY_THRESHOLD:
                    score = matcher.ratio()
                    if score >= _FUZZY_THRESHOLD:
                        scored.append((-score, n, i))
        for _, n, i in sorted(scored):
            if result[n] is None and i not in taken:
                taken.add(i)
                result[n] = i


def _unique_slug(title: str, used: set[str]) -> str:
    """A slug no record has, remembered in ``used``."""
    base = slugify(title) or "article"
    slug, n = base, 2
    while slug in used:
        slug, n = f"{base}-{n}", n + 1
    used.add(slug)
    return slug


@contextlib.contextmanager
def locked(data_dir: Path) -> Iterator[bool]:
    """Hold the ledger lock; yields False when the directory cannot be written."""
    try:
        fd = os.open(data_dir / (LEDGER_NAME + ".lock"), os.O_RDWR | os.O_CREAT, 0o644)
    except OSError:
        yield False
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield True
    finally:
        os.close(fd)


def identify(
    entries: tuple[Entry, ...],
    data_dir: Path,
    authority: str,
    now: datetime,
    *,
    persist: bool = True,
    record: bool = True,
) -> tuple[Assigned, list[Diagnostic]]:
    """Load the ledger, assign records, and save the ledger when it changed and ``persist``.

    ``record=False`` (a replica reading a ledger written elsewhere) never writes and changes no record:
    see :func:`assign`.
    """
    path = data_dir / LEDGER_NAME
    today = f"{now.astimezone(UTC):%Y-%m-%d}"
    persist = persist and record
    with locked(data_dir) if persist else contextlib.nullcontext(False) as writable:
        ledger, problems = load_ledger(path, authority, today)
        if any(p.is_error for p in problems):
            persist = False  # never overwrite a ledger we could not read
        assigned = assign(entries, ledger, now, record=record)
        problems.extend(assigned.diagnostics)
        if assigned.changed and persist and not any(p.is_error for p in assigned.diagnostics):
            try:
                if not writable:
                    raise PermissionError(13, "the data directory is not writable")
                write_atomic(path, assigned.ledger.to_bytes())
            except OSError as exc:
                problems.append(
                    Diagnostic(
                        Location(str(path)),
                        Severity.WARNING,
                        f"cannot save the id ledger ({exc.strerror}): ids and dates of new articles will not be kept",
                    )
                )
    return assigned, problems
