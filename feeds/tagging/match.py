"""Find the countries and topics of an article in its title and summary.

How it works (one pass per field, no loop over countries or topics):

1. Tokenise. The field is split on white space; each white-space token is cut into words once and cached
   (diacritics folded with :func:`feeds.slug.fold` plus the extra letters of ``[fold]`` in tagging.toml,
   curly apostrophes unified). Hyphens and apostrophes join words ("Guinea-Bissau", "Côte d'Ivoire"), a
   possessive "'s" is dropped ("Macron’s" -> "Macron"), any other punctuation is a barrier no phrase crosses
   ("Peru: Lima" is never the phrase "Peru Lima"). Dotted abbreviations stay one word ("U.S.", "D.R.").
2. Look up. Every country phrase (gazetteer) and topic term (topics.toml) is a key of one dict, by its
   lower-cased folded words; every proper prefix of a multi-word key maps to the words that may follow it.
   Only white-space tokens holding a known first word are visited (the others are remembered as "cold");
   from there the following words are read only while they extend a known prefix, and the longest phrase
   that matches (and passes its case check) wins: "South Sudan" beats "Sudan", "Papua New Guinea" beats
   "Guinea", "Latin American" (a stop phrase) beats "American", "Mexico City" is a Mexican city and
   "New Mexico" a US state.
3. Case. A data word written with a capital must be capitalised in the text ("china", "turkey", "chad" are
   not countries), all-caps headlines pass (but an all-caps word of 2-3 letters is an acronym: "GAO" is not
   the city Gao); a data word written in capitals (acronym: "US", "ANC", "AMLO") and
   every entry of ``abbreviations`` must match exactly ("us" is not the US).
4. Rules from tagging.toml: ``stop_phrases`` (matched like countries, never tag: "French fries",
   "Guinea pig", "Indian Ocean"); ``person_names`` (an alias that is also a given name is a person when a
   known given name precedes it, "Michael Jordan", or when a capitalised unknown word follows it in a
   sentence-case text or a known surname follows it, "Jordan Peterson", "Chad Smith"); ``contextual`` (an
   alias read from the other words of the article: "Georgia" is the US state with US-politics context,
   the country otherwise; bare "Congo" is DR Congo unless Brazzaville context; "Brussels" with EU context is
   no country); ``all_caps`` (abbreviations that are also words, "US", do not count in an all-caps field);
   ``[primary]`` (a demonym shared by several codes goes to one: "French" is France).
5. Topics (rule documented at the top of topics.toml). A ``terms`` or ``strong`` entry of a topic in
   the TITLE accepts the topic; otherwise the hits add up (``terms`` and ``hints`` weigh 1, ``strong`` 2)
   and must reach ``summary_min`` (2, tagging.toml ``[topics]``). So one passing "strike" or "protests"
   in a summary does not make a strike or protest article, but "went on strike", two protest words, or
   "Strike" in the title do; a generic hint ("troops") never suffices alone. Topic ``stop_phrases``
   ("union election") and dates ("on March 16") do not count.

6. The topic model (:mod:`feeds.tagging.model`, where the tables have one) adds the topics it is
   confident of, from the same words.
7. The country model (:mod:`feeds.tagging.countries_model`, where the tables have one) drops a country
   the rules kept when it gives it a probability below its threshold. It is asked only about articles
   with more than one country or with a country not kept from the title; every mention the rules saw
   (kept, passing, or counted only alone) is recorded for it as the scan goes.

The tables are compiled by :mod:`feeds.tagging.compile`. Every match, kept or discarded, is recorded
as :class:`Evidence` with the data entry or rule behind it. Evidence text is the article text of the
matched words (a run of white space is shown as one space).
"""

from __future__ import annotations

import dataclasses
import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from itertools import accumulate, chain, compress

from feeds.slug import fold, slugify
from feeds.tagging.countries_model import CountryModel, Mention
from feeds.tagging.countries_model import features as country_features
from feeds.tagging.countries_model import key as feature_key
from feeds.tagging.countries_model import name as feature_name
from feeds.tagging.gazetteer import Country, Gazetteer, TaggingDataError
from feeds.tagging.model import TopicModel

__all__ = ["Country", "Evidence", "Settings", "Tagger", "TaggingDataError", "Tags", "Topic"]

_WORD_RE = re.compile(r"(?:[A-Za-z]\.){2,}|[^\W_]+")
_JOINERS = frozenset("-'")
_CACHE_LIMIT = 200_000

# A word: (lower-case folded, folded with case, original text, original separator after it).
# A barrier word (punctuation) is ("", "", "", "").
Word = tuple[str, str, str, str]
BARRIER: Word = ("", "", "", "")


@dataclass(frozen=True, slots=True)
class Settings:
    """The tagger's settings from tagging.toml (see its comments)."""

    fold: Mapping[str, str] = field(default_factory=dict)  # [fold] letters
    given_names: frozenset[str] = frozenset()  # [person_names], folded lower case
    surnames: frozenset[str] = frozenset()
    known_words: frozenset[str] = frozenset()  # [person_names] common_words
    month_markers: frozenset[str] = frozenset()  # [topics]
    summary_min: int = 2  # [topics]: the weight a topic needs from the summary
    passing_before: frozenset[str] = frozenset()  # [passing] before: folded lower-case phrases
    passing_after: frozenset[str] = frozenset()  # [passing] after: the word after the name
    passing_hyphenated: frozenset[str] = frozenset()  # [passing] hyphenated: words after "X-"
    passing_abroad: frozenset[str] = frozenset()  # [passing] abroad: people after a demonym
    passing_alone: frozenset[str] = frozenset()  # [passing] alone: the word after, counted only alone
    passing_companies: frozenset[str] = frozenset()  # [passing] companies: also one word after


@dataclass(frozen=True, slots=True)
class Evidence:
    """Why a tag was given (or, with ``accepted`` False, why a match was discarded)."""

    kind: str  # "country" or "topic"
    value: str  # alpha-2 code or topic slug ("" for a stop phrase)
    text: str  # the matched text as it appears in the article
    field: str  # "title" or "summary"
    source: str  # data entry or rule
    accepted: bool


@dataclass(frozen=True, slots=True)
class Tags:
    """The tags of one article."""

    countries: tuple[str, ...]  # alpha-2 codes, in order of first mention (title before summary)
    topics: tuple[str, ...]  # topic slugs in taxonomy order
    hits: tuple[tuple[str, str, str, str, str, bool], ...] = dataclasses.field(default=(), repr=False)
    weak: tuple[tuple[str, int], ...] = dataclasses.field(default=(), repr=False)  # (slug, weight) short
    minimum: int = dataclasses.field(default=0, repr=False)  # the weight a topic needs

    @property
    def evidence(self) -> tuple[Evidence, ...]:
        """Every match, kept or discarded, with the data entry or rule behind it (made when asked:
        publishing needs only the tags)."""
        weak = dict(self.weak)
        return tuple(
            Evidence(kind, value, text, field, f"{source} (weight {weak[value]} < {self.minimum})", False)
            if kind == "topic" and accepted and value in weak
            else Evidence(kind, value, text, field, source, accepted)
            for kind, value, text, field, source, accepted in self.hits
        )


@dataclass(frozen=True, slots=True)
class Topic:
    """A topic of the taxonomy (topics.toml)."""

    slug: str
    name: str
    description: str


@dataclass(frozen=True, slots=True)
class Reading:
    code: str  # "" = not a country
    context: frozenset[str]  # single lower-case words
    phrases: tuple[str, ...]  # " multi word " lower-case phrases


@dataclass(frozen=True, slots=True)
class Contextual:
    default: str
    readings: tuple[Reading, ...]
    source: str


@dataclass(frozen=True, slots=True)
class CountryRule:
    code: str  # "" for a stop phrase
    checks: tuple[tuple[int, int, str], ...]  # (word index, how, form): case checks (see _case_ok)
    source: str
    person: bool = False
    caps_ambiguous: bool = False
    contextual: Contextual | None = None
    surname: str = ""  # a leader's full name: the last word, which alone then means the person here
    demonym: bool = False
    fallback: bool = False  # an employer or a plant: the country only when the article names no other
    kind: str = ""  # the countries.toml field of the phrase ("name", "cities", "leaders"...), for the country model


@dataclass(frozen=True, slots=True)
class TopicRule:
    slug: str  # "" for a topic stop phrase
    weight: int  # weight of a hit in the summary
    title_accepts: bool  # a hit in the title accepts the topic on its own
    source: str
    month: bool = False


_Step = tuple[int, Word, "Entry | None", frozenset[str] | None, tuple[tuple[str, int, int, str], ...] | None]


@dataclass(frozen=True, slots=True)
class Entry:
    country: CountryRule | None = None
    topics: tuple[TopicRule, ...] = ()


class _FoldTable(dict[int, str]):
    """A lazily filled ``str.translate`` table that folds one character into one character."""

    def __init__(self, extra: dict[str, str]) -> None:
        super().__init__()
        self.extra = extra

    def __missing__(self, key: int) -> str:
        char = chr(key)
        folded = self.extra.get(char) or fold(char)
        value = folded if len(folded) == 1 else char
        self[key] = value
        return value


class Tagger:
    """Country and topic tagger built from the three data files."""

    def __init__(
        self,
        gazetteer: Gazetteer,
        topics: tuple[Topic, ...],
        entries: dict[str, Entry],
        settings: Settings,
        model: TopicModel | None = None,
        country_model: CountryModel | None = None,
    ) -> None:
        self._gazetteer = gazetteer
        self.countries: tuple[Country, ...] = gazetteer.countries
        self.topics: tuple[Topic, ...] = topics
        self._topic_by_key = {}
        for topic in topics:
            self._topic_by_key[topic.slug] = topic
            self._topic_by_key.setdefault(slugify(topic.name), topic)
        self._entries = entries
        self._first: frozenset[str] = frozenset(key.split(" ")[0] for key in entries)
        self.settings = settings
        self.model = model
        self.country_model = country_model
        self._fold = _FoldTable(dict(settings.fold))
        self._given_names = settings.given_names
        self._surnames = settings.surnames
        self._known_words = settings.known_words | self._first
        self._month_markers = settings.month_markers
        self._summary_min = settings.summary_min
        self._passing_before = settings.passing_before
        self._passing_after = settings.passing_after
        self._passing_hyphenated = settings.passing_hyphenated
        self._passing_abroad = settings.passing_abroad
        self._passing_alone = settings.passing_alone
        self._passing_companies = settings.passing_companies
        self._before_last = frozenset(phrase.rsplit(" ", 1)[-1] for phrase in settings.passing_before)
        # The words after a name that may make it passing (the word before is looked up in _before_last).
        self._passing_words = (
            frozenset(phrase.split(" ")[0] for phrase in settings.passing_after | settings.passing_alone)
            | settings.passing_companies
            | settings.passing_hyphenated
        )
        self._topic_order = {topic.slug: index for index, topic in enumerate(topics)}
        self._cache: dict[str, tuple[Word, ...]] = {}
        self._lows: dict[str, tuple[str, ...]] = {}  # the same tokens' lower-case words, for the model
        self._token_flags: dict[str, int] = {}  # white-space token: its passing-mention words (see _passing)
        # Per white-space token: (position in the token, word, entry of the word alone, words that may
        # follow it, plain topic hits) for each word that starts a phrase; () for a "cold" token, one
        # without any known first word (most tokens). Every split token has one.
        self._plans: dict[str, tuple[_Step, ...]] = {}
        # Per prefix phrase, the words that can follow it (the lookup stops at any other word).
        nexts: dict[str, set[str]] = {}
        for key in entries:
            words = key.split(" ")
            for size in range(1, len(words)):
                nexts.setdefault(" ".join(words[:size]), set()).add(words[size])
        self._nexts: dict[str, frozenset[str]] = {key: frozenset(value) for key, value in nexts.items()}
        # Entries that are plain topic terms (no country, no date rule): applied in line by _scan as
        # (slug, weight in a title, weight in a summary, source) without the general _match.
        self._simple: dict[str, tuple[tuple[str, int, int, str], ...]] = {
            key: tuple(
                (t.slug, self._summary_min if t.title_accepts else t.weight, t.weight, t.source) for t in entry.topics
            )
            for key, entry in entries.items()
            if entry.country is None and entry.topics and all(t.slug and not t.month for t in entry.topics)
        }

    # ------------------------------------------------------------------ lookups

    def country(self, code_or_slug_or_name: str) -> Country | None:
        """A country by alpha-2/alpha-3 code, slug, name or alias ("fr", "France", "Türkiye", "turkey")."""
        return self._gazetteer.lookup(code_or_slug_or_name)

    def topic(self, slug_or_name: str) -> Topic | None:
        """A topic by slug or display name."""
        return self._topic_by_key.get(slugify(slug_or_name))

    # ------------------------------------------------------------------ tagging

    def words(self, text: str) -> list[Word]:
        """The words of ``text`` (see the module docstring, step 1)."""
        return self._flatten(self._raw(text))

    def lows(self, text: str) -> list[str]:
        """The folded lower-case words of ``text``, as the topic model reads them."""
        return [word[0] for word in self.words(text) if word[0]]

    def model_scores(self, title: str, summary: str) -> dict[str, float]:
        """The topic model's probability of each topic for an article (empty without a model)."""
        return self.model.probabilities(self.lows(title), self.lows(summary)) if self.model else {}

    def _raw(self, text: str) -> list[str]:
        """White-space tokens of ``text`` (NFC-normalised, so that accents fold the same way)."""
        if not text.isascii() and not unicodedata.is_normalized("NFC", text):
            text = unicodedata.normalize("NFC", text)
        if len(self._cache) > _CACHE_LIMIT:
            self._cache.clear()
            self._lows.clear()
            self._plans.clear()
            self._token_flags.clear()
        return text.split()

    def _flatten(self, raws: list[str]) -> list[Word]:
        get = self._cache.get
        split = self._split
        return [word for raw in raws for word in (get(raw) or split(raw))]

    def _split(self, raw: str) -> tuple[Word, ...]:
        """Cut one white-space token into words (cached: the vocabulary of news is small)."""
        folded = raw.translate(self._fold)
        words: list[Word] = []
        position = 0
        for match in _WORD_RE.finditer(folded):
            start, end = match.span()
            gap = folded[position:start]
            text = folded[start:end]
            if gap and not _JOINERS.issuperset(gap):
                words.append(BARRIER)
            elif gap and words and words[-1] is not BARRIER:
                low, previous, orig, _ = words[-1]
                if gap == "'" and text in ("s", "S"):  # possessive: "Macron's" -> "Macron"
                    words[-1] = (low, previous, orig, raw[position:end] + " ")
                    position = end
                    continue
                words[-1] = (low, previous, orig, raw[position:start])
            words.append((text.lower(), text, raw[start:end], " "))
            position = end
        rest = folded[position:]
        if not words or (rest and not _JOINERS.issuperset(rest)):
            words.append(BARRIER)
        elif rest and words[-1] is not BARRIER:
            low, text, orig, _ = words[-1]
            words[-1] = (low, text, orig, raw[position:] + " ")
        result = tuple(words)
        self._cache[raw] = result
        self._lows[raw] = tuple(word[0] for word in result if word[0])
        first, entries, nexts, simple = self._first, self._entries, self._nexts, self._simple
        plan = tuple(
            (k, word, entries.get(word[0]), nexts.get(word[0]), simple.get(word[0]))
            for k, word in enumerate(result)
            if word[0] in first
        )  # (position in the token, word, entry of the word alone, words that may follow it, plain topic hits)
        self._plans[raw] = plan
        return result

    def _steps(self, raws: list[str]) -> list[tuple[_Step, ...]]:
        """The plan of each token of a field (see ``_plans``), every token split and cached now: the rules
        then read any token of the article from the cache with no check."""
        plans = self._plans
        try:
            return list(map(plans.__getitem__, raws))  # a token seen before: nearly all of them
        except KeyError:
            for raw in raws:
                if raw not in plans:
                    self._split(raw)
            return list(map(plans.__getitem__, raws))

    def tag(self, title: str, summary: str) -> Tags:
        """Countries and topics of one article, with the evidence."""
        tags, article = self._tag(title, summary)
        model = self.country_model
        if model is not None and tags.countries and _asks_model(tags.countries, article.mentions):
            found = country_features(self._mentions(article))
            kept = tuple(code for code in tags.countries if model.keeps(found[code]))
            if kept != tags.countries:
                return Tags(kept, tags.topics, tags.hits, tags.weak, tags.minimum)
        return tags

    def country_candidates(self, title: str, summary: str) -> tuple[tuple[str, ...], bool, dict[str, list[str]]]:
        """The countries the rules find in an article, whether the country model is asked about them, and
        the model's features of every country mentioned (kept by the rules or not)."""
        tags, article = self._tag(title, summary)
        features = country_features(self._mentions(article))
        found = {code: sorted(map(feature_name, names)) for code, names in features.items()}
        return tags.countries, bool(tags.countries) and _asks_model(tags.countries, article.mentions), found

    def country_scores(self, title: str, summary: str) -> dict[str, float]:
        """The country model's probability of each country the rules found, where it is asked (empty
        otherwise, and without a model)."""
        if self.country_model is None:
            return {}
        countries, asked, found = self.country_candidates(title, summary)
        if not asked:
            return {}
        return {code: self.country_model.probability(map(feature_key, found[code])) for code in countries}

    def _mentions(self, article: _Article) -> list[Mention]:
        """The mentions of countries with the words next to each, read from the cached tokens around it
        (no word list of the field is needed)."""
        get = self._cache.get
        split = self._split
        out: list[Mention] = []
        for code, part, (j, k), size, kind, verdict in article.mentions:
            raws = article.title if part == "title" else article.summary
            words = get(raws[j]) or split(raws[j])
            position = j + k  # tokens before it, and words before it in its token
            if k:
                before = words[k - 1][0] or "<b>"  # "<b>": a barrier, punctuation
            elif j:
                before = (get(raws[j - 1]) or split(raws[j - 1]))[-1][0] or "<b>"
            else:
                before = "<s>"
            last = k + size - 1  # the mention's last word, in this token or one after
            while last >= len(words):
                last -= len(words)
                j += 1
                words = get(raws[j]) or split(raws[j])
            if last + 1 < len(words):
                after = words[last + 1][0] or "<b>"
            elif j + 1 < len(raws):
                after = (get(raws[j + 1]) or split(raws[j + 1]))[0][0] or "<b>"
            else:
                after = "<e>"
            out.append((code, part, position, before, after, words[last][3], kind, verdict))
        return out

    def _tag(self, title: str, summary: str) -> tuple[Tags, _Article]:
        """The rules' tags and the article's state."""
        article = _Article(self, self._raw(title), self._raw(summary))
        # both fields split before either is read (the cache is emptied only by _raw, above)
        title_steps, summary_steps = self._steps(article.title), self._steps(article.summary)
        countries: list[str] = []
        weights: dict[str, int] = {}
        hits: list[tuple[str, str, str, str, str, bool]] = []  # Evidence fields
        self._scan("title", article.title, title_steps, article, countries, weights, hits)
        self._scan("summary", article.summary, summary_steps, article, countries, weights, hits)
        minimum = self._summary_min
        topics = [slug for slug, weight in weights.items() if weight >= minimum]
        weak = () if len(topics) == len(weights) else tuple((t, w) for t, w in weights.items() if w < minimum)
        if self.model is not None:
            # every token was split (and its words kept) by the scans above
            get = self._lows.__getitem__
            head = chain.from_iterable(map(get, article.title))
            topics = self.model.combine(topics, head, chain.from_iterable(map(get, article.summary)), weak)
        if len(topics) > 1:
            topics.sort(key=self._topic_order.__getitem__)
        if article.qualified and countries:  # "Peru Plant Strike ... in Peru, Illinois": the title's Peru too
            hits = self._unqualify(article, countries, hits)
        if article.abroad and not countries:  # people abroad, employers: the story's place if none other
            # people abroad and datelines before employers, and an employer only in a story about its
            # workers (one with a topic): not Samsung's profits
            alone = [code for code, employer in article.abroad if not employer]
            countries.extend(alone or (code for code, employer in article.abroad if topics))
        unique = tuple(dict.fromkeys(countries)) if len(countries) > 1 else tuple(countries)
        return Tags(unique, tuple(topics), tuple(hits), weak, minimum), article

    @staticmethod
    def _unqualify(
        article: _Article, countries: list[str], hits: list[tuple[str, str, str, str, str, bool]]
    ) -> list[tuple[str, str, str, str, str, bool]]:
        """Drop the mentions, read before the comma that told, of a name found to be a town elsewhere."""
        hits = [
            (kind, code, text, field, _QUALIFIED_RULE, False)
            if kept and kind == "country" and (code, text.lower()) in article.qualified
            else (kind, code, text, field, source, kept)
            for kind, code, text, field, source, kept in hits
        ]
        still = {hit[1] for hit in hits if hit[5] and hit[0] == "country"}
        gone = set(countries) - still
        if gone:
            countries[:] = [code for code in countries if code not in gone]
            article.mentions[:] = [
                (code, *rest, "passing" if code in gone and not verdict else verdict)
                for code, *rest, verdict in article.mentions
            ]
        return hits

    def _scan(
        self,
        field: str,
        raws: list[str],
        steps: list[tuple[_Step, ...]],
        article: _Article,
        countries: list[str],
        weights: dict[str, int],
        hits: list[tuple[str, str, str, str, str, bool]],
    ) -> None:
        """Longest-match lookup over the words of one field (see the module docstring).

        Only white-space tokens that hold a known first word are visited (``steps``, their cached "plans"
        of candidate words, from :meth:`_steps`); the words after them are read from the token cache only
        while they can still extend a known phrase.
        """
        cache = self._cache  # holds every token of the article (see _tag)
        count = len(raws)
        skip_j = skip_k = 0  # words before (token skip_j, word skip_k) belong to an earlier match
        for j in compress(range(count), steps):  # the tokens with a plan (in C: most have none)
            for k, word, entry, following_words, simple in steps[j]:
                if j < skip_j or (j == skip_j and k < skip_k):
                    continue
                if following_words is not None:
                    # The word starts longer phrases, but the next word mostly goes on with none of them
                    # ("the", "in", "of" start most steps): that is told before any list is made.
                    current = cache[raws[j]]
                    at_j, at_k = (j, k + 1) if k + 1 < len(current) else (j + 1, 0)
                    if at_j < count:
                        if not at_k:
                            current = cache[raws[at_j]]
                        following = current[at_k]
                        if following[0] in following_words:  # a barrier's "" never is
                            skip = self._longest(
                                field,
                                raws,
                                (j, k),
                                entry,
                                simple,
                                (at_j, at_k, current),
                                article,
                                countries,
                                weights,
                                hits,
                            )
                            if skip is not None:
                                skip_j, skip_k = skip
                            continue
                    if entry is None:
                        continue
                # the word alone
                if simple is not None:
                    _plain(simple, word[2], field, weights, hits)
                elif self._match(entry, [word], 1, field, (j, k), article, countries, weights, hits):
                    skip_j, skip_k = j, k + 1

    def _longest(
        self,
        field: str,
        raws: list[str],
        at: tuple[int, int],
        entry: Entry | None,
        simple: tuple[tuple[str, int, int, str], ...] | None,
        ahead: tuple[int, int, tuple[Word, ...]],
        article: _Article,
        countries: list[str],
        weights: dict[str, int],
        hits: list[tuple[str, str, str, str, str, bool]],
    ) -> tuple[int, int] | None:
        """Apply the longest phrase that matches from the word at ``at`` (token, word in it), whose next
        word, at ``ahead`` (token, word in it, the token's words), extends a known phrase; the new start
        of the scan after it (None: as it was)."""
        cache = self._cache
        nexts = self._nexts.get
        entries_get = self._entries.get
        count = len(raws)
        j, k = at
        at_j, at_k, current = ahead
        word = cache[raws[j]][k]
        found = [(1, entry, j, k)] if entry is not None else []
        seq = [word]
        key = word[0]
        following = current[at_k]
        while True:  # read on while a longer phrase may match
            key = key + " " + following[0]
            seq.append(following)
            longer = entries_get(key)
            if longer is not None:
                found.append((len(seq), longer, at_j, at_k))
            following_words = nexts(key)
            if following_words is None:
                break
            at_k += 1
            if at_k >= len(current):
                at_j += 1
                if at_j >= count:
                    break
                current = cache[raws[at_j]]
                at_k = 0
            following = current[at_k]
            if following[0] not in following_words:  # a barrier's "" never is
                break
        for size, phrase, end_j, end_k in reversed(found):
            if size == 1 and simple is not None:
                _plain(simple, word[2], field, weights, hits)
                return None
            if self._match(phrase, seq, size, field, at, article, countries, weights, hits):
                return end_j, end_k + 1
        return None

    def _match(
        self,
        entry: Entry,
        seq: list[Word],
        size: int,
        field: str,
        at: tuple[int, int],
        article: _Article,
        countries: list[str],
        weights: dict[str, int],
        hits: list[tuple[str, str, str, str, str, bool]],
    ) -> bool:
        """Apply one phrase found at ``at`` (its ``size`` words are ``seq[:size]``); False if it does not
        match here (case) so that a shorter phrase may."""
        rule = entry.country
        is_country = rule is not None and (not rule.checks or _case_ok(seq, rule.checks))
        if not is_country and not entry.topics:
            return False
        text = seq[0][2] if size == 1 else _text(seq, size)
        if is_country:
            self._country(rule, field, at, size, text, article, countries, hits)  # type: ignore[arg-type]
        for topic in entry.topics:
            if not topic.slug or (topic.month and self._is_date(field, at, article)):
                source = topic.source if not topic.slug else _DATE_RULE
                hits.append(("topic", topic.slug, text, field, source, False))
                continue
            weight = self._summary_min if topic.title_accepts and field == "title" else topic.weight
            weights[topic.slug] = weights.get(topic.slug, 0) + weight
            hits.append(("topic", topic.slug, text, field, topic.source, True))
        return True

    def _country(
        self,
        rule: CountryRule,
        field: str,
        at: tuple[int, int],
        size: int,
        text: str,
        article: _Article,
        countries: list[str],
        hits: list[tuple[str, str, str, str, str, bool]],
    ) -> None:
        code = rule.code
        source = rule.source
        if not code:
            if _NAMESAKES in source:  # "Michael Jordan ... Jordan said": the name alone is the person
                article.people.add(text.rsplit(" ", 1)[-1].lower())
            hits.append(("country", "", text, field, source, False))
            return
        if rule.caps_ambiguous and article.all_caps(field):
            hits.append(("country", code, text, field, _CAPS_RULE, False))
            return
        if rule.person and self._is_person(field, at, size, article):
            article.people.add(text.lower())
            hits.append(("country", code, text, field, _PERSON_RULE, False))
            return
        if size == 1 and article.people and text.lower() in article.people:
            hits.append(("country", code, text, field, _SURNAME_RULE, False))
            return
        if rule.fallback:
            article.mentions.append((code, field, at, size, rule.kind, "alone"))
            article.abroad.append((code, True))
            hits.append(("country", code, text, field, f"{source} (only if no other country, and a topic)", False))
            return
        passing = self._passing(field, at, size, article, rule.demonym)
        if passing and passing[0] != "+":
            article.passing_end = (field, article.locate(field, at)[1] + size)
        if passing and passing[0] == "+":  # "Kenyan workers", "the Gaza war": only if no other country
            article.mentions.append((code, field, at, size, rule.kind, "alone"))
            article.abroad.append((code, False))
            hits.append(("country", code, text, field, f'{_PASSING_RULE}: "{passing[1:]}" (unless alone)', False))
            return
        if passing:
            article.mentions.append((code, field, at, size, rule.kind, "passing"))
            hits.append(("country", code, text, field, f'{_PASSING_RULE}: "{passing}"', False))
            return
        if rule.contextual is not None:
            code, why = article.resolve(rule.contextual)
            source = f"{source}; {why}"
            if not code:
                hits.append(("country", rule.code, text, field, source, False))
                return
        if at == (0, 0) and field == "summary" and rule.kind in ("cities", "contextual") and text.isupper():
            # a dateline ("NAIROBI, Nov 20 —"): where the story was filed, its place only if no other
            article.mentions.append((code, field, at, size, rule.kind, "alone"))
            article.abroad.append((code, False))
            hits.append(("country", code, text, field, _DATELINE_RULE, False))
            return
        if (article.qualified and (code, text.lower()) in article.qualified) or self._qualifier(
            field, at, size, article, code
        ):
            article.qualified.add((code, text.lower()))
            article.mentions.append((code, field, at, size, rule.kind, "passing"))
            hits.append(("country", code, text, field, _QUALIFIED_RULE, False))
            return
        if rule.surname:
            article.people.add(rule.surname)
        article.mentions.append((code, field, at, size, rule.kind, ""))
        countries.append(code)
        hits.append(("country", code, text, field, source, True))

    def _passing(self, field: str, at: tuple[int, int], size: int, article: _Article, demonym: bool = False) -> str:
        """The words next to a country's name that make it a passing mention ("border with", "-owned"),
        or "" (or "+" and the words of a mention that counts only alone: ``abroad``, ``alone``)."""
        # First a look at the cached tokens next to the name (their flags are cached per token: 1, a word
        # after a name that may make it passing; 2, people abroad) and at the word before it, so that most
        # mentions need no word list.
        raws = article.title if field == "title" else article.summary
        flags = 0
        get = self._token_flags.get
        near = at[0] + size + 3
        for raw in raws[at[0] : near]:
            flag = get(raw)
            if flag is None:
                flag = self._flag(raw)
            flags |= flag
        if demonym and field == "summary" and not flags & 2:  # people at the end of a list of demonyms
            for raw in raws[near : near + 3]:
                flag = get(raw)
                flags |= (self._flag(raw) if flag is None else flag) & 2
        abroad = demonym and field == "summary" and flags & 2  # in the title, people are the story
        if not flags & 1 and not abroad and article.passing_end[0] != field:
            previous = self._word_before(raws, at, 1)
            if previous == "the":
                previous = self._word_before(raws, at, 2)
            if previous not in self._before_last and previous != "and" and previous != "or":
                return ""  # no word nearby that may make a passing mention: most mentions
        words, index = article.locate(field, at)
        after = index + size
        if after < len(words):
            following = words[after][0]
            if abroad:
                # "Kenyan workers", "Kenyan and Nepali workers", "Chinese migrant workers"
                ahead = [word[0] for word in words[after : after + 3]]
                if ahead[0] in self._passing_abroad or (
                    len(ahead) > 1 and ahead[1] in self._passing_abroad and ahead[0] != "and"
                ):
                    return "+" + " ".join(ahead[:2])
                if ahead[0] in ("and", "or") and len(ahead) == 3 and ahead[2] in self._passing_abroad:
                    return "+" + " ".join(ahead)
                listed = self._listed_abroad(words, after)
                if listed:
                    return "+" + listed
            if words[after - 1][3] == "-" and following in self._passing_hyphenated:
                return "-" + following
            if words[after - 1][3][-1:] == " ":  # also "Trump's tariffs"
                second = words[after + 1][0] if after + 1 < len(words) else ""
                pair = following + " " + second if second else following
                for phrase in (following, pair):
                    if phrase in self._passing_after:
                        return phrase
                    if phrase in self._passing_alone:
                        return "+" + phrase
                if second in self._passing_companies:  # one word between: "a French uranium firm"
                    return pair
        # "exports to the United States", "the border with the DRC": an article between does not count
        end = index - 1 if index and words[index - 1][0] == "the" else index
        if not end:
            return ""
        last = words[end - 1][0]
        if not last and article.passing_end == (field, end - 1) and at[1] == 0 and end == index:
            raws = article.title if field == "title" else article.summary
            if at[0] and raws[at[0] - 1][-1] == ",":
                return ","  # "the embassies of Rwanda, France and Belgium"
        if last == "and" or last == "or":
            if article.passing_end == (field, end - 1):
                return "and"  # the next of a list: "the border with Mali and Burkina Faso"
            # a list whose first item is no country: "sold in Europe and the United States"
            first = end - 1
            while first > 0 and end - first <= 3 and words[first - 1][1][:1].isupper():
                first -= 1
            if first == end - 1:
                return ""
            end = first - 1 if first and words[first - 1][0] == "the" else first
            if not end:
                return ""
            last = words[end - 1][0]
        if last not in self._before_last:
            return ""
        before = self._passing_before
        for length in (1, 2, 3):
            if end - length < 0:
                break
            phrase = " ".join(word[0] for word in words[end - length : end])
            if phrase in before:
                return phrase
        return ""

    def _qualifier(self, field: str, at: tuple[int, int], size: int, article: _Article, code: str) -> bool:
        """Whether the name is followed by a comma and a region of another country: "Paris, Texas",
        "Lebanon, New Hampshire" name a town of that other country."""
        raws = article.title if field == "title" else article.summary
        if size == 1 and raws[at[0]][-1] != ",":
            return False  # most mentions: one word, with no comma right after it
        get = self._cache.get
        j, last = at[0], at[1] + size - 1
        words = get(raws[j]) or self._split(raws[j])
        while last >= len(words):
            last -= len(words)
            j += 1
            words = get(raws[j]) or self._split(raws[j])
        if raws[j][-1] != "," or last + 2 != len(words) or j + 1 >= len(raws):
            return False
        ahead: list[Word] = []
        for raw in raws[j + 1 : j + 4]:
            for word in get(raw) or self._split(raw):
                if not word[0] or len(ahead) == 3:
                    break
                ahead.append(word)
            if raw[-1] in ",.;:" or len(ahead) == 3:
                break
        for length in range(len(ahead), 0, -1):
            entry = self._entries.get(" ".join(word[0] for word in ahead[:length]))
            rule = entry.country if entry is not None else None
            if rule is not None and rule.kind == "regions" and rule.code and rule.code != code:
                return not rule.checks or _case_ok(ahead[:length], rule.checks)
        return False

    def _flag(self, raw: str) -> int:
        """A token's flags for :meth:`_passing` (cached): 1, a word after a name that may make it
        passing; 2, people abroad."""
        lows = self._low_words(raw)
        flag = (not self._passing_words.isdisjoint(lows)) | 2 * (not self._passing_abroad.isdisjoint(lows))
        self._token_flags[raw] = flag
        return flag

    def _listed_abroad(self, words: list[Word], after: int) -> str:
        """The people abroad at the end of a list of demonyms ("Bangladeshi, Nepali, Indian and Kenyan
        nationals", "Chinese, Indonesian and three American nationals"), or ""."""
        entries = self._entries
        previous = words[after - 1]
        for n, word in enumerate(words[after : after + 9]):
            low = word[0]
            if low in self._passing_abroad and word[1][:1].islower():
                return " ".join(w[2] or "," for w in words[after : after + n + 1]) if n else ""
            if not previous[0]:  # after a comma: only another demonym goes on with the list
                entry = entries.get(low)
                if entry is None or entry.country is None or not entry.country.demonym:
                    return ""
            elif low and low not in _BETWEEN and not low.isdigit() and not word[1][:1].isupper():
                return ""  # a word that is no demonym, count or conjunction ends the list
            previous = word
        return ""

    def _word_before(self, raws: list[str], at: tuple[int, int], back: int) -> str:
        """The lower-case word ``back`` words before (token, word-in-token) ``at``, "" for none or a barrier."""
        j, k = at
        k -= back
        while k < 0:
            j -= 1
            if j < 0:
                return ""
            k += len(self._cache.get(raws[j]) or self._split(raws[j]))
        return (self._cache.get(raws[j]) or self._split(raws[j]))[k][0]

    def _low_words(self, raw: str) -> tuple[str, ...]:
        """The lower-case words of one white-space token (split now if the scan has not reached it)."""
        found = self._lows.get(raw)
        if found is None:
            self._split(raw)
            found = self._lows[raw]
        return found

    def _is_person(self, field: str, at: tuple[int, int], size: int, article: _Article) -> bool:
        words, index = article.locate(field, at)
        previous = words[index - 1] if index else BARRIER
        if previous[0] in self._given_names and previous[1][:1].isupper():
            return True
        after = index + size
        following = words[after] if after < len(words) else BARRIER
        name = following[1]
        if not name[:1].isupper() or name.isupper() or following[0] in self._known_words:
            return False
        return following[0] in self._surnames or not article.title_case(field)

    def _is_date(self, field: str, at: tuple[int, int], article: _Article) -> bool:
        words, index = article.locate(field, at)
        if not words[index][1][:1].isupper():
            return False
        previous = words[index - 1][0] if index else ""
        following = words[index + 1][0] if index + 1 < len(words) else ""
        if previous[:1].isdigit() or following[:1].isdigit() or previous in self._month_markers:
            return True
        return field == "summary" and index > 0


class _Article:
    """Per-article state shared by the rules; the word lists are built only when a rule asks."""

    __slots__ = (
        "tagger",
        "title",
        "summary",
        "_words",
        "_lows",
        "_joined",
        "_title_case",
        "people",
        "abroad",
        "passing_end",
        "mentions",
        "qualified",
    )

    def __init__(self, tagger: Tagger, title: list[str], summary: list[str]) -> None:
        self.tagger = tagger
        self.title = title  # white-space tokens
        self.summary = summary
        self._words: dict[str, tuple[list[Word], list[int]]] | None = None  # built on demand
        self._lows: frozenset[str] | None = None
        self._joined = ""
        self._title_case: dict[str, bool] | None = None
        self.people: set[str] = set()  # surnames of the leaders named in full so far ("montenegro")
        self.passing_end: tuple[str, int] = ("", -1)  # (field, the word after) of the last passing mention
        # people abroad ("Kenyan workers") and employers (True), kept only if alone: (code, employer)
        self.abroad: list[tuple[str, bool]] = []
        # Every mention of a country, kept or passing, for the country model: (code, field, at, size, kind,
        # verdict: "" kept, "passing", or "alone" for a mention that counts only when no other country is named)
        self.mentions: list[tuple[str, str, tuple[int, int], int, str, str]] = []
        self.qualified: set[tuple[str, str]] = set()  # (code, lower-case name) of a town elsewhere: "Paris, Texas"

    def words(self, field: str) -> tuple[list[Word], list[int]]:
        """The words of a field and, per white-space token, the index of its first word."""
        if self._words is None:
            self._words = {}
        if field not in self._words:
            # every token was split by Tagger._tag: joined in C, with one more start (the end) than tokens
            tokens = list(map(self.tagger._cache.__getitem__, self.title if field == "title" else self.summary))
            words: list[Word] = list(chain.from_iterable(tokens))
            self._words[field] = (words, list(accumulate(map(len, tokens), initial=0)))
        return self._words[field]

    def locate(self, field: str, at: tuple[int, int]) -> tuple[list[Word], int]:
        """The words of a field and the index of the word at (token, word-in-token)."""
        words, starts = self.words(field)
        return words, starts[at[0]] + at[1]

    def all_caps(self, field: str) -> bool:
        letters = "".join(word[1] for word in self.words(field)[0])
        return letters.isupper() and sum(map(str.isalpha, letters)) > 8

    def title_case(self, field: str) -> bool:
        """Whether most long words of the field are capitalised (a headline style)."""
        if self._title_case is None:
            self._title_case = {}
        if field not in self._title_case:
            long_words = [word[1] for word in self.words(field)[0] if len(word[1]) > 3]
            capitalised = sum(1 for word in long_words if word[:1].isupper())
            self._title_case[field] = bool(long_words) and capitalised >= 0.6 * len(long_words)
        return self._title_case[field]

    def resolve(self, rule: Contextual) -> tuple[str, str]:
        """The code a contextual alias stands for here, and why."""
        if self._lows is None:
            lows = [word[0] for field in ("title", "summary") for word in self.words(field)[0]]
            self._lows = frozenset(lows)
            self._joined = " " + " ".join(lows) + " "
        for reading in rule.readings:
            # the first context word in alphabetical order: the same explanation in every process
            hit = min(reading.context & self._lows, default=None) or next(
                (phrase for phrase in reading.phrases if phrase in self._joined), None
            )
            if hit:
                return (
                    reading.code,
                    f'{rule.source}: {reading.code or "no country"} (context "{hit.strip()}")',
                )
        return rule.default, f"{rule.source}: {rule.default or 'no country'} (default)"


def _plain(
    simple: tuple[tuple[str, int, int, str], ...],
    text: str,
    field: str,
    weights: dict[str, int],
    hits: list[tuple[str, str, str, str, str, bool]],
) -> None:
    """The hits of a plain topic term (:attr:`Tagger._simple`), the commonest hit: added without the
    general :meth:`Tagger._match`."""
    in_title = field == "title"
    for slug, title_weight, summary_weight, source in simple:
        weights[slug] = weights.get(slug, 0) + (title_weight if in_title else summary_weight)
        hits.append(("topic", slug, text, field, source, True))


def _asks_model(countries: tuple[str, ...], mentions: list[tuple[str, str, tuple[int, int], int, str, str]]) -> bool:
    """Whether the country model is asked: more than one country, or one not kept from the title."""
    if len(countries) > 1:
        return True
    code = countries[0]
    return not any(m[0] == code and m[1] == "title" and not m[5] for m in mentions)


def _case_ok(words: list[Word], checks: tuple[tuple[int, int, str], ...]) -> bool:
    """Per check (word, how, form): 2, the word as written, accents included ("Støre" is not "Store");
    1, exact (an acronym); 0, capitalised, but a short all-caps word ("GAO", "RIF") is an acronym, not a
    shouted name ("Gao", "Rif"); 3, as 0 and without accents ("German", not "Germán")."""
    for offset, how, form in checks:
        if how == 2:
            if words[offset][2] != form:
                return False
            continue
        if how == 3 and not words[offset][2].isascii():
            return False
        text = words[offset][1]
        if how == 1:
            if text != form:
                return False
        elif not text[:1].isupper() or (1 < len(text) <= 3 and text.isupper() and not form.isupper()):
            return False
    return True


def _text(words: list[Word], size: int) -> str:
    return "".join([word[2] + word[3] for word in words[: size - 1]]) + words[size - 1][2]


def splitter(fold_letters: Mapping[str, str]) -> Callable[[str], list[Word]]:
    """The word splitter of a tagger with these fold letters (to compile phrases as text is read)."""
    return Tagger(Gazetteer((), ()), (), {}, Settings(fold=fold_letters)).words


_NAMESAKES = "[stop_phrases] people_namesakes"
_DATE_RULE = "tagging.toml [topics] month_words: a date, not the noun"
_CAPS_RULE = "tagging.toml [all_caps]: an abbreviation that is also a word, in an all-caps field"
_PASSING_RULE = "tagging.toml [passing]: a passing mention"
# Words that may stand between the demonyms of a list and the people: "and three American nationals".
_BETWEEN = frozenset(
    ("and", "or", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "dozens", "hundreds")
)
_DATELINE_RULE = "a dateline: the place the story was filed from, counted only if no other country is named"
_QUALIFIED_RULE = 'a town of the region named after the comma ("Paris, Texas"), not the country'
_SURNAME_RULE = "a leader named in full before: the surname alone is the person"
_PERSON_RULE = "tagging.toml [person_names]: a person's name, not the country"
