"""The data types that flow through the pipeline.

``parse`` turns listing text into :class:`Entry` values, ``identity`` gives each an id and
dates, ``tag`` finds its countries and topics, and the result is an :class:`Article`.
All of them are immutable so that one loaded version can be shared by every request.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum


class Severity(StrEnum):
    WARNING = "warning"
    ERROR = "error"


@dataclass(frozen=True, order=True, slots=True)
class Location:
    """A place in a data file; ``line`` is 1-based, 0 when the whole file is meant."""

    path: str
    line: int = 0

    def __str__(self) -> str:
        return f"{self.path}:{self.line}" if self.line else self.path


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """A problem found in the data, printed as ``file:line: severity: message``."""

    location: Location
    severity: Severity
    message: str

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR

    def __str__(self) -> str:
        return f"{self.location}: {self.severity.value}: {self.message}"


@dataclass(frozen=True, slots=True)
class Overrides:
    """Explicit tags typed by an editor: they win over the tagger."""

    add: tuple[str, ...] = ()
    remove: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Meta:
    """Optional ``@key: value`` lines under an article's title."""

    date: datetime | None = None
    link: str | None = None
    author: str | None = None
    id: str | None = None
    countries: Overrides = field(default_factory=Overrides)
    topics: Overrides = field(default_factory=Overrides)


@dataclass(frozen=True, slots=True)
class Entry:
    """One article as written in the listing, before identity and tagging."""

    title: str
    summary: str
    location: Location
    meta: Meta = field(default_factory=Meta)


@dataclass(frozen=True, slots=True)
class Article:
    """A published article: identity, dates and tags resolved."""

    id: str
    slug: str
    title: str
    summary: str
    published: datetime
    updated: datetime
    location: Location
    link: str | None = None
    author: str | None = None
    countries: tuple[str, ...] = ()
    topics: tuple[str, ...] = ()

    def __hash__(self) -> int:
        # Articles key the caches of rendered entries: their id alone is much cheaper to hash than
        # every field, and equal articles have equal ids.
        return hash(self.id)


#: The dates an article may carry, in UTC. Every format writes them with a four-digit year, with a
#: year to spare on each side for what is done to them: spacing articles of one date one second apart
#: (at most a million seconds, 12 days), showing them in the site's time zone (at most 14 hours off).
FIRST_DATE = datetime(1001, 1, 1, tzinfo=UTC)
LAST_DATE = datetime(9998, 12, 31, 23, 59, 59, tzinfo=UTC)
