"""Compile the tagging tables into a :class:`~feeds.tagging.match.Tagger`.

The tables ship in ``feeds/tagging/tables/``. A data directory may hold its own ``countries.toml``,
``topics.toml`` or ``tagging.toml``: each one is read after the shipped one and extends it.

* countries.toml: per country code, ``name`` replaces the shipped display name, every phrase list is
  added to the shipped one, ``not_aliases`` drops phrases (pycountry's or the shipped tables').
  A phrase that an earlier file gave to another country now names this one.
* topics.toml: per topic slug, ``name`` and ``description`` replace the shipped ones, ``terms``,
  ``strong`` and ``hints`` are added; a new slug is a new topic (name and description needed);
  ``drop = true`` removes a shipped topic.
* tagging.toml: per section, lists are added, numbers replaced, ``[[contextual]]`` blocks appended.
* model.json (the learned topic model, :mod:`feeds.tagging.model`) and countries_model.json (the learned
  country model, :mod:`feeds.tagging.countries_model`) replace the shipped ones whole.

Every file is validated section by section before it is merged: a bad value is a
:class:`TaggingDataError` naming the file, the line and the key.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from feeds.slug import fold, slugify
from feeds.tagging.countries_model import CountryModel
from feeds.tagging.gazetteer import Gazetteer, TaggingDataError, line_of, read_toml, string_list
from feeds.tagging.match import (
    BARRIER,
    Contextual,
    CountryRule,
    Entry,
    Reading,
    Settings,
    Tagger,
    Topic,
    TopicRule,
    splitter,
)
from feeds.tagging.model import TopicModel

_WORDS = re.compile(r"[a-z0-9]+")


def tokens(phrase: str) -> list[str]:
    return _WORDS.findall(fold(phrase).lower())


#: The tables shipped with the package.
TABLES = Path(__file__).resolve().parent / "tables"
#: The table files, in the order they are read.
FILES = ("tagging.toml", "countries.toml", "topics.toml")
MODEL = "model.json"
COUNTRY_MODEL = "countries_model.json"

#: topics.toml fields: (name, weight in the summary, whether a title hit accepts the topic alone)
_TOPIC_FIELDS = (("terms", 1, True), ("strong", 2, True), ("hints", 1, False))
_TOPIC_KEYS = frozenset(("name", "description", "drop", *(name for name, _, _ in _TOPIC_FIELDS)))
_EMPTY = Entry()


def sources(data_dir: Path, shipped_dir: Path = TABLES) -> list[Path]:
    """Every file the tagger of ``data_dir`` is compiled from: the shipped tables, then the data
    directory's own, then the model (the data directory's, else the shipped one)."""
    paths = []
    same = Path(data_dir).resolve() == Path(shipped_dir).resolve()
    for name in FILES:
        paths += [path for path in _layers(name, data_dir, shipped_dir, same)]
    for name in (MODEL, COUNTRY_MODEL):
        model = Path(data_dir) / name
        if not model.is_file():
            model = Path(shipped_dir) / name
        if model.is_file():
            paths.append(model)
    return paths


def _layers(name: str, data_dir: Path, shipped_dir: Path, same: bool) -> list[Path]:
    own = Path(data_dir) / name
    return [Path(shipped_dir) / name] + ([own] if own.is_file() and not same else [])


def compile_tables(data_dir: Path, shipped_dir: Path = TABLES, *, model: bool = True) -> Tagger:
    """The tagger of ``data_dir``: the shipped tables extended by the data directory's own, and the topic
    model (without ``model``, the rules alone). Raises :class:`TaggingDataError` on malformed data."""
    same = Path(data_dir).resolve() == Path(shipped_dir).resolve()
    rules = Rules.read(_layers("tagging.toml", data_dir, shipped_dir, same))
    gazetteer = Gazetteer.load(_layers("countries.toml", data_dir, shipped_dir, same), rules.primary)
    builder = _Builder(rules.fold, rules.words("fold.keep_accents"))
    topics = builder.add_topics(_layers("topics.toml", data_dir, shipped_dir, same))
    builder.add_countries(gazetteer, rules)
    builder.add_topic_rules(rules)
    found = {path.name: path for path in sources(data_dir, shipped_dir) if path.name in (MODEL, COUNTRY_MODEL)}
    learned = TopicModel.read(found[MODEL], {topic.slug for topic in topics}) if MODEL in found and model else None
    countries = CountryModel.read(found[COUNTRY_MODEL]) if COUNTRY_MODEL in found and model else None
    gazetteer.aliases = ()  # compiled into the entries: the tagger keeps only the name lookups
    return Tagger(gazetteer, topics, builder.entries, rules.settings(), learned, countries)


# ---------------------------------------------------------------- tagging.toml


@dataclass
class Rules:
    """The sections of every tagging.toml, validated and merged (lists added, numbers replaced)."""

    fold: dict[str, str] = field(default_factory=dict)
    primary: dict[str, str] = field(default_factory=dict)
    primary_from: dict[str, Path] = field(default_factory=dict)
    lists: dict[str, list[str]] = field(default_factory=dict)  # "section.key" -> words
    contextual: list[tuple[Path, int, dict[str, Any]]] = field(default_factory=list)
    stop_phrases: list[tuple[Path, str, str]] = field(default_factory=list)  # (file, group, phrase)
    topic_stops: list[tuple[Path, str]] = field(default_factory=list)
    summary_min: int = 2

    @classmethod
    def read(cls, paths: list[Path]) -> Rules:
        rules = cls()
        for path in paths:
            rules._add(path, read_toml(path))
        return rules

    def _add(self, path: Path, data: dict[str, Any]) -> None:
        known = {"fold", "primary", "person_names", "contextual", "all_caps", "stop_phrases", "topics", "passing"}
        for name in data:
            if name not in known:
                raise TaggingDataError(path, _line(path, name), f"unknown section [{name}]")
        self.lists.setdefault("fold.keep_accents", []).extend(
            _words(path, _table(path, data, "fold"), "fold", "keep_accents")
        )
        letters = _table(path, _table(path, data, "fold"), "letters", "fold")
        if not all(isinstance(v, str) and len(k) == 1 and len(v) == 1 for k, v in letters.items()):
            raise TaggingDataError(path, _line(path, "letters"), "[fold] letters must map one letter to one")
        self.fold.update(letters)
        primary = _table(path, data, "primary")
        for phrase, code in primary.items():
            if not isinstance(code, str):
                raise TaggingDataError(path, _line(path, phrase), f'[primary] "{phrase}" must name a country code')
        self.primary.update(primary)
        self.primary_from.update(dict.fromkeys(primary, path))
        for section, keys in (
            ("person_names", ("aliases", "given_names", "surnames", "common_words")),
            ("all_caps", ("ambiguous_abbreviations",)),
            ("topics", ("month_words", "month_markers")),
            ("passing", ("before", "after", "hyphenated", "abroad", "alone", "companies")),
        ):
            table = _table(path, data, section)
            for key in keys:
                self.lists.setdefault(f"{section}.{key}", []).extend(_words(path, table, section, key))
        self._add_contextual(path, data.get("contextual", []))
        for group, phrases in _table(path, data, "stop_phrases").items():
            self.stop_phrases += [(path, group, p) for p in _words(path, {group: phrases}, "stop_phrases", group)]
        topics = _table(path, data, "topics")
        self.topic_stops += [(path, phrase) for phrase in _words(path, topics, "topics", "stop_phrases")]
        if "summary_min" in topics:
            value = topics["summary_min"]
            if type(value) is not int or value < 1:
                raise TaggingDataError(
                    path, _line(path, "summary_min"), "[topics] summary_min must be a positive integer"
                )
            self.summary_min = value

    def _add_contextual(self, path: Path, blocks: object) -> None:
        if not isinstance(blocks, list):
            raise TaggingDataError(path, _line(path, "contextual"), "[[contextual]] must be an array of tables")
        for number, block in enumerate(blocks, 1):
            where = f"[[contextual]] #{number}"
            if not isinstance(block, dict) or not isinstance(block.get("readings", []), list):
                raise TaggingDataError(path, None, f"{where} must be a table with a readings list")
            unknown = set(block) - {"aliases", "default", "readings"}
            if unknown:
                raise TaggingDataError(path, None, f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
            if not all(isinstance(reading, dict) for reading in block.get("readings", [])):
                raise TaggingDataError(path, None, f"{where}: each reading is {{ code = ..., context = [...] }}")
            self.contextual.append((path, number, block))

    def words(self, key: str) -> frozenset[str]:
        return frozenset(fold(word).lower() for word in self.lists.get(key, []))

    def settings(self) -> Settings:
        return Settings(
            fold=dict(self.fold),
            given_names=self.words("person_names.given_names"),
            surnames=self.words("person_names.surnames"),
            known_words=self.words("person_names.common_words"),
            month_markers=self.words("topics.month_markers"),
            summary_min=self.summary_min,
            passing_before=frozenset(" ".join(tokens(phrase)) for phrase in self.lists.get("passing.before", [])),
            passing_after=frozenset(" ".join(tokens(phrase)) for phrase in self.lists.get("passing.after", [])),
            passing_hyphenated=self.words("passing.hyphenated"),
            passing_abroad=self.words("passing.abroad"),
            passing_companies=self.words("passing.companies"),
            passing_alone=frozenset(" ".join(tokens(phrase)) for phrase in self.lists.get("passing.alone", [])),
        )


def _line(path: Path, key: str) -> int | None:
    return line_of(path, rf"^\s*\[*\s*\"?{re.escape(key)}\"?\s*(\]|=)")


def _table(path: Path, data: dict[str, Any], name: str, section: str = "") -> dict[str, Any]:
    value = data.get(name, {})
    if not isinstance(value, dict):
        where = f"[{section}] {name}" if section else f"[{name}]"
        raise TaggingDataError(path, _line(path, name), f"{where} must be a table")
    return value


def _words(path: Path, table: dict[str, Any], section: str, key: str) -> list[str]:
    return string_list(path, table.get(key, []), f"[{section}] {key}", rf"^\s*\"?{re.escape(key)}\"?\s*=")


# ---------------------------------------------------------------- compiling


class _Builder:
    """Compiles the tables into the tagger's lookup dict: folded lower-case phrase -> :class:`Entry`."""

    def __init__(self, fold_letters: dict[str, str], keep_accents: frozenset[str] = frozenset()) -> None:
        self.keep_accents = keep_accents
        self.entries: dict[str, Entry] = {}
        self._split = splitter(fold_letters)

    def key(self, phrase: str) -> tuple[str, list]:
        words = self._split(phrase)
        return " ".join(word[0] for word in words), words

    def checked_key(self, path: Path, phrase: str, where: str) -> tuple[str, list]:
        key, words = self.key(phrase)
        if not words or any(word is BARRIER or not word[0] for word in words):
            message = f'{where}: "{phrase}" has punctuation that breaks phrases'
            raise TaggingDataError(path, line_of(path, re.escape(phrase)), message)
        return key, words

    # ---------------------------------------------------------------- countries

    def add_country(self, path: Path | None, phrase: str, rule: CountryRule, exact_all: bool = False) -> None:
        if path is None:
            key, words = self.key(phrase)
            if any(not word[0] for word in words):
                return  # a pycountry name that cannot appear as one phrase
        else:
            key, words = self.checked_key(path, phrase, "phrase")
        rule = replace(rule, checks=_case_checks(words, exact_all, fold(phrase).lower() in self.keep_accents))
        self.entries[key] = replace(self.entries.get(key, _EMPTY), country=rule)

    def add_countries(self, gazetteer: Gazetteer, rules: Rules) -> None:
        """The gazetteer's aliases with the rules that apply to them, then the country stop phrases."""
        codes = set(gazetteer.by_code)
        for phrase, code in rules.primary.items():
            if code not in codes:
                path = rules.primary_from[phrase]
                raise TaggingDataError(path, _line(path, phrase), f'[primary] "{phrase}": unknown code {code!r}')
        contextual = self._contextual(rules, codes)
        persons = rules.words("person_names.aliases")
        caps = rules.words("all_caps.ambiguous_abbreviations")
        used = set()
        for alias in sorted(gazetteer.aliases, key=lambda alias: alias.field != "name"):
            key = self.key(alias.text)[0]
            low = fold(alias.text).lower()
            used.add(key)
            rule = CountryRule(
                alias.code,
                (),
                alias.source,
                person=low in persons,
                caps_ambiguous=low in caps,
                contextual=contextual.get(key, (None, None))[1],
                surname=key.rsplit(" ", 1)[-1] if alias.field == "leaders" and " " in key else "",
                demonym=alias.field == "demonyms",
                fallback=alias.field == "employers",
                kind=alias.field,
            )
            self.add_country(alias.path, alias.text, rule, exact_all=alias.field == "abbreviations")
        for key, (alias, context) in contextual.items():  # contextual aliases not listed anywhere else
            if key not in used:
                rule = CountryRule(context.default, (), context.source, contextual=context, kind="contextual")
                self.add_country(None, alias, rule)
        for path, group, phrase in rules.stop_phrases:
            source = f'{_name(path)} [stop_phrases] {group}: "{phrase}"'
            self.add_country(path, phrase, CountryRule("", (), source))

    def _contextual(self, rules: Rules, codes: set[str]) -> dict[str, tuple[str, Contextual]]:
        out: dict[str, tuple[str, Contextual]] = {}
        for path, number, block in rules.contextual:
            where = f"[[contextual]] #{number}"

            def code(value: object, where: str = where, path: Path = path) -> str:
                if value == "" or value in codes:
                    return str(value)
                raise TaggingDataError(path, line_of(path, re.escape(str(value))), f"{where}: unknown code {value!r}")

            readings = []
            for reading in block.get("readings", []):
                context = [self.key(item)[0] for item in _words(path, reading, where, "context")]
                readings.append(
                    Reading(
                        code(reading.get("code")),
                        frozenset(item for item in context if " " not in item),
                        tuple(f" {item} " for item in context if " " in item),
                    )
                )
            default = code(block.get("default", ""))
            for alias in _words(path, block, where, "aliases"):
                source = f'{_name(path)} [[contextual]]: "{alias}"'
                out[self.key(alias)[0]] = (alias, Contextual(default, tuple(readings), source))
        return out

    # ---------------------------------------------------------------- topics

    def add_topics(self, paths: list[Path]) -> tuple[Topic, ...]:
        """The topics of every topics.toml, merged per slug, and their terms."""
        specs: dict[str, dict[str, Any]] = {}
        terms: dict[str, list[tuple[Path, str, str]]] = {}  # slug -> (file, field, term)
        for path in paths:
            for slug, spec in read_toml(path).items():
                _check_topic(path, slug, spec, slug in specs)
                if spec.get("drop"):
                    specs.pop(slug, None)
                    terms.pop(slug, None)
                    continue
                merged = specs.setdefault(slug, {})
                merged.update({key: spec[key] for key in ("name", "description") if key in spec})
                for name, _, _ in _TOPIC_FIELDS:
                    where = f"[{slug}] {name}"
                    found = string_list(path, spec.get(name, []), where, rf"^\s*\[\s*\"?{re.escape(slug)}\"?\s*\]")
                    terms.setdefault(slug, []).extend((path, name, term) for term in found)
        if not specs:
            raise TaggingDataError(paths[-1], None, "no topics defined")
        weights = {name: (weight, title) for name, weight, title in _TOPIC_FIELDS}
        for slug, found in terms.items():
            for path, name, term in found:
                weight, title_accepts = weights[name]
                source = f'{_name(path)} [{slug}] {name}: "{term}"'
                self.add_term(path, term, TopicRule(slug, weight, title_accepts, source))
        return tuple(Topic(slug, spec["name"], spec["description"]) for slug, spec in specs.items())

    def add_term(self, path: Path, term: str, rule: TopicRule) -> None:
        for variant in _variants(term):
            key, _ = self.checked_key(path, variant, f"term {term!r}")
            entry = self.entries.get(key, _EMPTY)
            self.entries[key] = replace(entry, topics=_with_rule(entry.topics, rule))

    def add_topic_rules(self, rules: Rules) -> None:
        """Month words (a date is not the noun) and topic stop phrases."""
        months = rules.words("topics.month_words")
        for key, entry in list(self.entries.items()):
            if key.split(" ")[0] in months:
                self.entries[key] = replace(entry, topics=tuple(replace(t, month=True) for t in entry.topics))
        for path, phrase in rules.topic_stops:
            self.add_term(path, phrase, TopicRule("", 0, False, f'{_name(path)} [topics] stop_phrases: "{phrase}"'))


def _check_topic(path: Path, slug: str, spec: object, known: bool) -> None:
    header = line_of(path, rf"^\s*\[\s*\"?{re.escape(slug)}\"?\s*\]")
    if not isinstance(spec, dict) or slug != slugify(slug):
        raise TaggingDataError(path, header, f"[{slug}] must be a table named by a slug (a-z, 0-9, -)")
    unknown = set(spec) - _TOPIC_KEYS
    if unknown:
        raise TaggingDataError(path, header, f"[{slug}] unknown key(s): {', '.join(sorted(unknown))}")
    if "drop" in spec and spec["drop"] is not True:
        raise TaggingDataError(path, header, f"[{slug}] drop must be true (or left out)")
    for key in ("name", "description"):
        if key in spec and not (isinstance(spec[key], str) and spec[key].strip()):
            raise TaggingDataError(path, header, f"[{slug}] {key} must be a non-empty string")
        if not known and key not in spec and not spec.get("drop"):
            raise TaggingDataError(path, header, f"[{slug}] is a new topic: it needs a {key}")


def _variants(term: str) -> list[str]:
    """Every spelling of a topic term: each ``word*`` expanded to its inflections."""
    variants = [""]
    for raw in term.split():
        forms = inflections(raw[:-1]) if raw.endswith("*") else [raw]
        variants = [f"{prefix} {form}".strip() for prefix in variants for form in forms]
    return variants


def _with_rule(topics: tuple[TopicRule, ...], rule: TopicRule) -> tuple[TopicRule, ...]:
    """The topic rules of one phrase after adding ``rule``: a stop phrase replaces them all; of two rules
    for the same topic the stronger stays."""
    if not rule.slug:
        return (rule,)
    same = [old for old in topics if old.slug == rule.slug]
    if not same:
        return (*topics, rule)
    if (same[0].weight, same[0].title_accepts) < (rule.weight, rule.title_accepts):
        return tuple(rule if old.slug == rule.slug else old for old in topics)
    return topics


def _case_checks(words: list, exact_all: bool, accents: bool = False) -> tuple[tuple[int, int, str], ...]:
    """Per word of a phrase, how it must appear (see match._case_ok): with its accents (``accents``, for a
    word with any), exact (an acronym, or an abbreviation), or capitalised, as written in the data."""
    checks = []
    for offset, word in enumerate(words):
        text = word[1]
        acronym = sum(map(str.isalpha, text)) >= 2 and text.isupper()
        if accents and not word[2].isascii():
            checks.append((offset, 2, word[2]))
        elif accents:  # an unaccented word that an accented one folds to: "German", not "Germán"
            checks.append((offset, 3, text))
        elif exact_all or acronym:
            checks.append((offset, 1, text))
        elif text[:1].isupper():
            checks.append((offset, 0, text))
    return tuple(checks)


def _name(path: Path) -> str:
    """A table file as ``explain`` names it: its folder and name."""
    return f"{path.parent.name}/{path.name}"


def inflections(stem: str) -> list[str]:
    """Regular English forms for a ``word*`` topic term: strike -> strikes, striking, striker, strikers."""
    forms = {stem, stem + "s"}
    if stem.endswith("e"):
        forms.update((stem + "d", stem[:-1] + "ing", stem + "r", stem + "rs"))
    elif len(stem) > 2 and stem.endswith("y") and stem[-2] not in "aeiou":
        forms.discard(stem + "s")
        forms.update((stem[:-1] + "ies", stem[:-1] + "ied", stem + "ing"))
    else:
        if stem.endswith(("s", "x", "z", "ch", "sh")):
            forms.add(stem + "es")
        bases = [stem]
        if len(stem) >= 3 and stem[-1] not in "aeiouwxy" and stem[-2] in "aeiou" and stem[-3] not in "aeiou":
            bases.append(stem + stem[-1])  # ban -> banned, banning
        forms.update(base + suffix for base in bases for suffix in ("ed", "ing", "er", "ers", "or", "ors"))
    return sorted(forms)
