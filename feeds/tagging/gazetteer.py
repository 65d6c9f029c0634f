"""The country catalogue and its alias table.

Every ISO 3166-1 country (all 249 of pycountry) becomes a :class:`Country` with a common English display
name and a URL slug. The alias table lists every phrase that names a country in running text, each with the
place it came from (for ``explain``):

* pycountry's ``name``, ``common_name`` and ``official_name`` when they read like running text (no inverted
  "Korea, Republic of" forms; a parenthesised part is dropped: "Holy See (Vatican City State)" -> "Holy See");
  alpha-2/alpha-3 codes are never aliases;
* ``countries.toml``: per alpha-2 code, ``name`` (display name), ``aliases``, ``abbreviations``,
  ``demonyms``, ``cities``, ``regions``, ``leaders``, ``parties`` and ``not_aliases`` (pycountry-derived
  phrases to drop).

A phrase listed for two countries in countries.toml is an error unless ``tagging.toml`` names its primary
country in ``[primary]`` (e.g. ``"Dutch" = "NL"``); a countries.toml entry silently wins over a pycountry name
(e.g. "Congo", pycountry's name for CG, is resolved by the contextual rule in tagging.toml).
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from feeds.slug import fold, slugify

#: The countries.toml fields that hold phrases, in the order they are reported.
PHRASE_FIELDS: tuple[str, ...] = (
    "aliases",
    "abbreviations",
    "demonyms",
    "cities",
    "regions",
    "leaders",
    "parties",
    "employers",
)
_KNOWN_FIELDS = frozenset((*PHRASE_FIELDS, "name", "not_aliases"))
_PARENTHESIS = re.compile(r"\s*\([^)]*\)")


class TaggingDataError(Exception):
    """A data file of the tagger is malformed: ``path:line: message`` (line may be unknown)."""

    def __init__(self, path: Path | str, line: int | None, message: str) -> None:
        self.path = str(path)
        self.line = line
        self.message = message
        where = f"{self.path}:{line}" if line else self.path
        super().__init__(f"{where}: {message}")


@dataclass(frozen=True, slots=True)
class Country:
    """An ISO 3166-1 country as shown on the site."""

    code: str  # ISO 3166-1 alpha-2, upper case
    name: str  # display name, common English
    slug: str  # slugify(name)


@dataclass(frozen=True, slots=True)
class Alias:
    """One phrase that names a country in running text."""

    text: str  # as written in the data ("Macron", "U.S.")
    code: str  # alpha-2
    field: str  # "name" (pycountry) or a countries.toml field
    source: str  # human-readable origin, for explain
    path: Path | None = None  # the countries.toml it came from (None: pycountry)


def read_toml(path: Path) -> dict[str, Any]:
    """Parse a TOML file, turning syntax errors into :class:`TaggingDataError` with the line number."""
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        found = re.search(r"at line (\d+)", str(exc))
        line = int(found.group(1)) if found else None
        if line is None and "end of document" in str(exc):
            line = len(path.read_bytes().splitlines()) or 1
        message = re.sub(r"\s*\((at line \d+, column \d+|at end of document)\)", "", str(exc))
        raise TaggingDataError(path, line, f"invalid TOML: {message}") from None
    except OSError as exc:
        raise TaggingDataError(path, None, f"cannot read: {exc.strerror or exc}") from None


def line_of(path: Path, pattern: str) -> int | None:
    """1-based number of the first line of ``path`` matching the regex ``pattern`` (None when absent)."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return None
    compiled = re.compile(pattern)
    return next((number for number, line in enumerate(lines, 1) if compiled.search(line)), None)


def string_list(path: Path, value: object, where: str, pattern: str) -> list[str]:
    """Check that ``value`` is a list of non-empty strings (``pattern`` finds its line for the error)."""
    if not isinstance(value, list) or not all(isinstance(item, str) and item.strip() for item in value):
        raise TaggingDataError(path, line_of(path, pattern), f"{where} must be a list of non-empty strings")
    return [item.strip() for item in value]


def _running_text_names(record: Any) -> list[str]:
    """pycountry names that can appear in running text."""
    names = []
    for attr in ("name", "common_name", "official_name"):
        value = getattr(record, attr, None)
        if not value or "," in value:
            continue
        value = _PARENTHESIS.sub("", value).strip()
        if value.startswith("the "):
            value = value[4:]
        if value and value not in names:
            names.append(value)
    return names


class Gazetteer:
    """Countries plus every phrase that names them."""

    def __init__(self, countries: tuple[Country, ...], aliases: tuple[Alias, ...]) -> None:
        self.countries = countries
        self.aliases = aliases
        self.by_code: dict[str, Country] = {country.code: country for country in countries}
        self._lookup: dict[str, str] = {}
        import pycountry  # here, not at the top: a tagger loaded from the cache never needs it

        for record in pycountry.countries:
            for key in (record.alpha_2, record.alpha_3):
                self._lookup.setdefault(key.lower(), record.alpha_2)
        for country in countries:
            self._lookup.setdefault(country.slug, country.code)
        for alias in aliases:
            if alias.field in ("name", "aliases", "abbreviations"):
                self._lookup.setdefault(slugify(alias.text), alias.code)

    def lookup(self, text: str) -> Country | None:
        """A country by alpha-2/alpha-3 code, slug, name or alias, in any case and with or without accents."""
        key = text.strip()
        code = self._lookup.get(key.lower()) or self._lookup.get(slugify(key))
        return self.by_code.get(code) if code else None

    @classmethod
    def load(cls, paths: list[Path], primary: dict[str, str] | None = None) -> Gazetteer:
        """Build the catalogue from pycountry and ``paths`` (the shipped countries.toml, then a data
        directory's own, which extends it).

        ``primary`` maps a phrase listed under several countries of one file to the one it names (from
        tagging.toml); a later file may give an earlier file's phrase to another country.
        """
        import pycountry

        iso = {record.alpha_2: record for record in pycountry.countries}
        primary = {fold(key).lower(): value for key, value in (primary or {}).items()}
        display: dict[str, str] = {}
        excluded: dict[str, set[str]] = {}
        claimed: dict[str, Alias] = {}  # folded lower-case phrase -> alias from countries.toml
        for path in paths:
            mine: dict[str, Alias] = {}
            for code, entry in read_toml(path).items():
                phrases = _check_entry(path, code, entry, iso)
                if "name" in entry:
                    display[code] = entry["name"].strip()
                for item in phrases.pop("not_aliases", []):
                    excluded.setdefault(code, set()).add(fold(item).lower())
                for field, items in phrases.items():
                    for phrase in items:
                        alias = Alias(
                            phrase, code, field, f'{path.parent.name}/{path.name} [{code}] {field}: "{phrase}"', path
                        )
                        _claim(mine, alias, primary, path)
            claimed.update(mine)
        claimed = {key: alias for key, alias in claimed.items() if key not in excluded.get(alias.code, ())}
        countries: list[Country] = []
        for code, record in iso.items():
            names = _running_text_names(record)
            name = display.get(code) or getattr(record, "common_name", None) or names[0]
            countries.append(Country(code, name, slugify(name)))
            for text in [name, *names]:
                key = fold(text).lower()
                if key in claimed or key in excluded.get(code, ()):
                    continue
                claimed[key] = Alias(text, code, "name", "pycountry name" if text in names else "display name")
        aliases = sorted(claimed.values(), key=lambda alias: (alias.code, alias.field, alias.text))
        countries.sort(key=lambda country: fold(country.name).lower())
        return cls(tuple(countries), tuple(aliases))


def _check_entry(path: Path, code: str, entry: object, iso: dict[str, Any]) -> dict[str, list[str]]:
    """The phrase lists of one ``[CODE]`` table, validated."""
    header = rf"^\s*\[\s*\"?{re.escape(code)}\"?\s*\]"
    if code not in iso:
        message = f"unknown country code [{code}] (not an ISO 3166-1 alpha-2 code)"
        raise TaggingDataError(path, line_of(path, header), message)
    if not isinstance(entry, dict):
        raise TaggingDataError(path, line_of(path, header), f"[{code}] must be a table")
    phrases = {}
    for field, value in entry.items():
        where = f"[{code}] {field}"
        if field not in _KNOWN_FIELDS:
            known = ", ".join(sorted(_KNOWN_FIELDS))
            raise TaggingDataError(path, line_of(path, header), f"unknown field {where} (known: {known})")
        if field == "name":
            if not isinstance(value, str) or not value.strip():
                raise TaggingDataError(path, line_of(path, header), f"{where} must be a non-empty string")
            continue
        phrases[field] = string_list(path, value, where, header)
    return phrases


def _claim(claimed: dict[str, Alias], alias: Alias, primary: dict[str, str], path: Path) -> None:
    """Give a phrase of one file to its country: a phrase listed for two countries needs a primary."""
    key = fold(alias.text).lower()
    previous = claimed.get(key)
    if previous is not None and previous.code != alias.code:
        chosen = primary.get(key)
        if chosen not in (alias.code, previous.code):
            header = rf"^\s*\[\s*\"?{re.escape(alias.code)}\"?\s*\]"
            raise TaggingDataError(
                path,
                line_of(path, header),
                f'"{alias.text}" is listed for both {previous.code} and {alias.code}; '
                f"name its primary country in [primary] of tagging.toml",
            )
        if chosen == previous.code:
            return
    if previous is None or previous.code != alias.code or (previous.text.isupper() and not alias.text.isupper()):
        claimed[key] = alias  # a mixed-case spelling matches more than an all-caps one
