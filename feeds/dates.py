"""Dates as the standards write them: RFC 3339 (Atom, JSON Feed, HTML ``<time>``) with four-digit years."""

from __future__ import annotations

from datetime import UTC, datetime


def rfc3339(value: datetime) -> str:
    """The moment in UTC, ``2023-03-17T08:30:00Z``; years below 1000 keep four digits."""
    v = value.astimezone(UTC)
    return f"{v.year:04d}-{v.month:02d}-{v.day:02d}T{v.hour:02d}:{v.minute:02d}:{v.second:02d}Z"
