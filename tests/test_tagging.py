"""Tests of the country and topic tagger through its public interface (feeds.tagging.tag, feeds.tagging.evaluate)."""

from __future__ import annotations

import time
import tomllib
from pathlib import Path

import pytest

from feeds.tagging.evaluate import evaluate, format_report
from feeds.tagging.tag import Tagger, TaggingDataError

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "feeds" / "tagging" / "tables"
LABELLED = ROOT / "feeds" / "tagging" / "corpus" / "dev.toml"


@pytest.fixture(scope="module")
def tagger() -> Tagger:
    return Tagger.load(DATA)


def countries(tagger: Tagger, title: str, summary: str = "") -> tuple[str, ...]:
    return tagger.tag(title, summary).countries


def topics(tagger: Tagger, title: str, summary: str = "") -> tuple[str, ...]:
    return tagger.tag(title, summary).topics


# ---------------------------------------------------------------- the seed listing


def seed_articles() -> list[tuple[str, str]]:
    blocks = (ROOT / "data" / "articles.txt").read_text("utf-8").strip().split("\n\n")
    return list(zip(blocks[0::2], blocks[1::2], strict=True))


SEED_EXPECTED = [
    ("FR", {"pensions"}),
    ("FR", {"pensions"}),
    ("ES", {"healthcare", "protests"}),
    ("PE", {"strikes", "coups", "protests"}),
    ("FR", {"pensions", "strikes", "protests"}),
    ("PE", {"coups", "repression"}),
    ("IR", {"strikes", "youth", "protests"}),
    ("PE", {"strikes", "coups", "repression"}),
    ("CN", {"covid"}),
    ("MX", {"protests"}),
    ("CN", {"covid", "protests"}),
    ("GR", {"strikes"}),
]


@pytest.mark.parametrize("number", range(len(SEED_EXPECTED)))
def test_seed_articles(tagger: Tagger, number: int) -> None:
    title, summary = seed_articles()[number]
    code, expected_topics = SEED_EXPECTED[number]
    tags = tagger.tag(title, summary)
    assert tags.countries == (code,), title
    assert expected_topics <= set(tags.topics), (title, tags.topics)


def test_seed_repression_only_where_it_is_the_subject(tagger: Tagger) -> None:
    tagged = [tagger.tag(title, summary) for title, summary in seed_articles()]
    assert [n for n, tags in enumerate(tagged) if "repression" in tags.topics] == [5, 7]


def test_seed_has_no_topic_noise(tagger: Tagger) -> None:
    # "a striking example" in the Greek summary, "flooded" Madrid: no climate, no extra topics
    tagged = [tagger.tag(title, summary) for title, summary in seed_articles()]
    assert tagged[11].topics == ("strikes",)
    assert "climate" not in tagged[2].topics
    assert tagged[0].topics == ("pensions",)


def test_company_names_do_not_tag(tagger: Tagger) -> None:
    title, summary = seed_articles()[10]  # Foxconn (Taiwanese) in Zhengzhou
    assert "TW" not in tagger.tag(title, summary).countries


# ---------------------------------------------------------------- rule: longest match wins


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("South Sudan: famine spreads", ("SS",)),
        ("Sudan: the generals' war", ("SD",)),
        ("Riots in Papua New Guinea", ("PG",)),
        ("Equatorial Guinea oil wealth", ("GQ",)),
        ("Guinea-Bissau coup attempt", ("GW",)),
        ("Strike in Guinea Bissau", ("GW",)),
        ("Guinea: junta bans protests", ("GN",)),
        ("Dominican Republic deports Haitians", ("DO", "HT")),
        ("Hurricane hits Dominica", ("DM",)),
        ("Nigeria: fuel strike", ("NG",)),
        ("Niger: junta expels troops", ("NE",)),
        ("The Nigerian unions and the Nigerien junta", ("NG", "NE")),
        ("New Zealand nurses strike", ("NZ",)),
        ("Northern Ireland health workers walk out", ("GB",)),
        ("Ireland: housing emergency", ("IE",)),
        ("American Samoa and Samoa", ("AS", "WS")),
    ],
)
def test_longest_match_wins(tagger: Tagger, text: str, expected: tuple[str, ...]) -> None:
    assert countries(tagger, text) == expected


# ---------------------------------------------------------------- rule: case matters


@pytest.mark.parametrize(
    "text",
    [
        "A new exhibition of porcelain and fine china",
        "Families pay more for a turkey this year",
        "A chad left hanging on the ballot paper",
        "Sign up and join us today",
    ],
)
def test_lower_case_common_words_are_not_countries(tagger: Tagger, text: str) -> None:
    assert countries(tagger, text) == ()


def test_capitalised_names_and_all_caps_headlines_match(tagger: Tagger) -> None:
    assert countries(tagger, "China: Regime Relents") == ("CN",)
    assert countries(tagger, "Turkey and Chad sign a deal") == ("TR", "TD")
    assert countries(tagger, "GREECE: TEMPI RAIL CRASH SPARKS GENERAL STRIKE") == ("GR",)


def test_abbreviations_are_case_exact(tagger: Tagger) -> None:
    assert countries(tagger, "US strikes spread") == ("US",)
    assert countries(tagger, "Protests in the U.S. grow") == ("US",)
    assert countries(tagger, "UK rail workers win") == ("GB",)
    assert countries(tagger, "Let us build the party", "Write to us.") == ()
    assert countries(tagger, "Uk and Us") == ()


def test_ambiguous_abbreviation_ignored_in_all_caps_field(tagger: Tagger) -> None:
    tags = tagger.tag("JOIN US TO BUILD THE REVOLUTIONARY PARTY", "")
    assert tags.countries == ()
    assert any(e.text == "US" and not e.accepted and "all_caps" in e.source for e in tags.evidence)


# ---------------------------------------------------------------- rule: person names, US states


@pytest.mark.parametrize(
    ("title", "summary", "not_expected"),
    [
        ("Jordan Peterson and the Cult of Self-Help", "", "JO"),
        ("Chad Smith tour hit by walkout", "", "TD"),
        ("The basketball legend", "Michael Jordan earns more than the workers.", "JO"),
        ("Concert cancelled", "The drummer Chad Smith said the crew had not been paid.", "TD"),
        ("Warehouse workers in Atlanta, Georgia vote to unionize", "", "GE"),
        ("Georgia voters purged", "Republican officials and the governor dismissed the complaints.", "GE"),
        ("Georgia's governor signs anti-union bill", "The Republican governor in Atlanta signed it.", "GE"),
    ],
)
def test_person_names_and_us_states_are_not_the_country(
    tagger: Tagger, title: str, summary: str, not_expected: str
) -> None:
    assert not_expected not in countries(tagger, title, summary)


def test_person_rule_keeps_the_country_in_headlines(tagger: Tagger) -> None:
    assert countries(tagger, "Jordan Teachers’ Syndicate Leaders Arrested") == ("JO",)
    assert countries(tagger, "Chad: Junta Leader Claims Victory") == ("TD",)
    assert countries(tagger, "Protests in Jordan spread to Amman") == ("JO",)


def test_person_rule_evidence_explains_the_rejection(tagger: Tagger) -> None:
    tags = tagger.tag("Jordan Peterson and the Cult of Self-Help", "")
    rejected = [e for e in tags.evidence if e.kind == "country" and not e.accepted]
    assert rejected and rejected[0].text.startswith("Jordan")


def test_georgia_the_country_with_georgian_context_or_none(tagger: Tagger) -> None:
    assert countries(tagger, "Georgia: Tbilisi protesters defy the foreign agents law") == ("GE",)
    assert countries(tagger, "Georgia: opposition boycotts the new parliament") == ("GE",)
    assert countries(tagger, "Georgian Dream cracks down") == ("GE",)


def test_georgia_in_us_context_is_the_united_states(tagger: Tagger) -> None:
    tags = tagger.tag("Georgia voters face purge", "Republican officials in the state removed voters.")
    assert tags.countries == ("US",)


# ---------------------------------------------------------------- rule: American and the continent


@pytest.mark.parametrize(
    "text",
    [
        "The Latin American left at a crossroads",
        "South American trade unions meet",
        "Central American migrants walk north",
        "North American free trade",
        "Native American water protectors",
        "The Latin America of the 1970s",
    ],
)
def test_continental_american_is_not_the_united_states(tagger: Tagger, text: str) -> None:
    assert "US" not in countries(tagger, text)


def test_american_and_america_are_the_united_states(tagger: Tagger) -> None:
    assert countries(tagger, "American workers strike") == ("US",)
    assert countries(tagger, "The fight for a workers' party in America") == ("US",)


# ---------------------------------------------------------------- rule: the two Congos


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("DRC: miners buried", ("CD",)),
        ("DR Congo: M23 seizes Goma", ("CD",)),
        ("Democratic Republic of Congo elections", ("CD",)),
        ("The Democratic Republic of the Congo", ("CD",)),
        ("Kinshasa public servants walk out", ("CD",)),
        ("Republic of the Congo votes", ("CG",)),
        ("Congo-Brazzaville: Sassou extends his rule", ("CG",)),
        ("Brazzaville teachers strike", ("CG",)),
        ("Cobalt miners in Congo", ("CD",)),
        ("Congo: the president in Brazzaville", ("CG",)),
    ],
)
def test_the_two_congos(tagger: Tagger, text: str, expected: tuple[str, ...]) -> None:
    assert countries(tagger, text) == expected


# ---------------------------------------------------------------- rule: shared demonyms, cities, stop phrases


def test_shared_demonym_goes_to_its_primary(tagger: Tagger) -> None:
    assert countries(tagger, "The French government is weak") == ("FR",)
    assert countries(tagger, "Strike in French Guiana") == ("GF",)
    assert countries(tagger, "French Polynesia") == ("PF",)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Teachers strike in New Mexico and New Jersey", ("US",)),
        ("Mexico City metro workers", ("MX",)),
        ("Mexico: Sheinbaum wins", ("MX",)),
        ("Jersey finance workers", ("JE",)),
        ("New South Wales nurses defy wage cap", ("AU",)),
        ("Wales: miners remembered", ("GB",)),
    ],
)
def test_places_inside_names(tagger: Tagger, text: str, expected: tuple[str, ...]) -> None:
    assert countries(tagger, text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Treated like guinea pigs",
        "Treated Like Guinea Pigs: Gig Workers Fight Back",
        "The price of Turkish delight",
        "French fries and poverty pay",
        "Greek yogurt prices rise",
        "Cyclones in the Indian Ocean",
        "Tankers seized in the Persian Gulf",
    ],
)
def test_stop_phrases(tagger: Tagger, text: str) -> None:
    assert countries(tagger, text) == ()


def test_stop_phrase_is_recorded_as_rejected_evidence(tagger: Tagger) -> None:
    tags = tagger.tag("French fries and poverty pay", "")
    assert [(e.text, e.accepted) for e in tags.evidence if e.kind == "country"] == [("French fries", False)]


def test_capital_standing_for_an_institution(tagger: Tagger) -> None:
    assert countries(tagger, "Brussels demands austerity from Rome", "The European Commission...") == ("IT",)
    assert countries(tagger, "Brussels: Belgian unions march") == ("BE",)
    assert countries(tagger, "Duterte flown to The Hague", "An ICC warrant was served.") == ("PH",)
    assert countries(tagger, "Dutch farmers block roads near The Hague") == ("NL",)


def test_acronym_shared_by_several_countries_reads_context(tagger: Tagger) -> None:
    assert countries(tagger, "CGT calls a general strike", "Macron's reform...") == ("FR",)
    assert countries(tagger, "CGT calls a general strike", "Milei's austerity...") == ("AR",)


# ---------------------------------------------------------------- rule: folding


def test_diacritics_and_apostrophes_are_folded(tagger: Tagger) -> None:
    assert countries(tagger, "Macron’s pension sabotage") == ("FR",)
    assert countries(tagger, "Macron's pension sabotage") == ("FR",)
    assert countries(tagger, "Erdogan jails the mayor") == ("TR",)
    assert countries(tagger, "Erdoğan jails the mayor") == ("TR",)
    assert countries(tagger, "Senate in Bogota") == ("CO",)
    assert countries(tagger, "Senate in Bogotá") == ("CO",)
    assert countries(tagger, "Côte d’Ivoire cocoa farmers") == ("CI",)
    assert countries(tagger, "Türkiye raises the minimum wage") == ("TR",)
    assert countries(tagger, "Cote d'Ivoire") == ("CI",)


def test_decomposed_accents_match(tagger: Tagger) -> None:
    assert countries(tagger, "Senate in Bogota\u0301") == ("CO",)


# ---------------------------------------------------------------- leaders, cities, parties, order


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("AMLO's march", ("MX",)),
        ("Lula and Bolsonaro", ("BR",)),
        ("Milei's chainsaw", ("AR",)),
        ("Xi Jinping tightens control", ("CN",)),
        ("The Kremlin escalates", ("RU",)),
        ("Downing Street plans new laws", ("GB",)),
        ("Tories crushed", ("GB",)),
        ("Syriza and PASOK", ("GR",)),
        ("BJP loses majority", ("IN",)),
        ("Zelenskyy meets Trump", ("UA", "US")),
        ("Paraguay's president Santiago Peña", ("PY",)),
        ("Francesca Albanese sanctioned", ()),
        ("Strikes in Tbilisi and Yerevan", ("GE", "AM")),
    ],
)
def test_leaders_cities_parties(tagger: Tagger, text: str, expected: tuple[str, ...]) -> None:
    assert countries(tagger, text) == expected


def test_countries_in_order_of_first_mention_title_first(tagger: Tagger) -> None:
    tags = tagger.tag("Sudan: two generals", "Refugees fled to Chad and Egypt, as Khartoum burned.")
    assert tags.countries == ("SD", "TD", "EG")


def test_no_country(tagger: Tagger) -> None:
    assert countries(tagger, "The coming world recession", "Falling profits and mounting debt.") == ()


# ---------------------------------------------------------------- topics


def test_title_match_suffices(tagger: Tagger) -> None:
    assert topics(tagger, "Teachers strike again") == ("strikes",)


def test_summary_needs_stronger_evidence(tagger: Tagger) -> None:
    assert "strikes" not in topics(tagger, "Rally in the capital", "It was a striking example of unity.")
    assert "protests" not in topics(tagger, "The regime relents", "Recent protests forced a change.")
    assert "protests" in topics(tagger, "The regime relents", "Protests grew as a rally was called.")
    assert "strikes" in topics(tagger, "Workers win", "They went on strike for a month.")


def test_weak_topic_evidence_is_reported_as_rejected(tagger: Tagger) -> None:
    tags = tagger.tag("The regime relents", "Recent protests forced a change.")
    found = [e for e in tags.evidence if e.kind == "topic" and e.value == "protests"]
    assert found and not found[0].accepted and "weight" in found[0].source


def test_military_strikes_are_war_not_labour_strikes(tagger: Tagger) -> None:
    result = topics(tagger, "Air strikes on the southern suburbs", "Israeli strikes kill hundreds.")
    assert "war" in result and "strikes" not in result


def test_month_is_not_a_march(tagger: Tagger) -> None:
    assert "protests" not in topics(tagger, "Strike on March 8", "")
    assert "protests" not in topics(tagger, "A vote", "The law passed on March 16. In March, a vote.")
    assert "protests" in topics(tagger, "AMLO’s March on 27N", "")


def test_topics_in_taxonomy_order(tagger: Tagger) -> None:
    order = [topic.slug for topic in tagger.topics]
    result = topics(tagger, "Youth lockdown protests and a general strike", "")
    assert list(result) == sorted(result, key=order.index)


def test_taxonomy(tagger: Tagger) -> None:
    slugs = [topic.slug for topic in tagger.topics]
    for slug in [
        "strikes",
        "protests",
        "pensions",
        "healthcare",
        "wages",
        "elections",
        "coups",
        "repression",
    ]:
        assert slug in slugs
    for slug in ["covid", "youth", "war", "housing", "climate", "women", "economy"]:
        assert slug in slugs
    assert all(topic.name and topic.description for topic in tagger.topics)
    assert tagger.topic("strikes") is tagger.topic("Strikes")
    assert tagger.topic("COVID-19") is tagger.topic("covid")
    assert tagger.topic("astrology") is None


# ---------------------------------------------------------------- evidence and lookups


def test_evidence_points_at_text_and_data(tagger: Tagger) -> None:
    tags = tagger.tag("National Strike against Macron’s Pension Sabotage in France", "")
    macron = next(e for e in tags.evidence if e.value == "FR" and e.text.startswith("Macron"))
    assert macron.text == "Macron" and macron.field == "title" and macron.accepted
    assert "countries.toml [FR] leaders" in macron.source
    strike = next(e for e in tags.evidence if e.value == "strikes")
    assert strike.text == "National Strike" and "topics.toml" in strike.source


def test_evidence_text_is_as_in_the_article(tagger: Tagger) -> None:
    tags = tagger.tag("Strike in Guinea-Bissau and Côte d’Ivoire", "")
    assert [e.text for e in tags.evidence if e.kind == "country"] == ["Guinea-Bissau", "Côte d’Ivoire"]


@pytest.mark.parametrize("query", ["fr", "FR", "france", "France", "FRA", " France "])
def test_country_lookup(tagger: Tagger, query: str) -> None:
    country = tagger.country(query)
    assert country is not None and (country.code, country.name, country.slug) == ("FR", "France", "france")


def test_country_lookup_names_and_aliases(tagger: Tagger) -> None:
    assert tagger.country("Türkiye").code == "TR"  # type: ignore[union-attr]
    assert tagger.country("turkey").code == "TR"  # type: ignore[union-attr]
    assert tagger.country("united-kingdom").code == "GB"  # type: ignore[union-attr]
    assert tagger.country("UK").code == "GB"  # type: ignore[union-attr]
    assert tagger.country("south-korea").code == "KR"  # type: ignore[union-attr]
    assert tagger.country("Atlantis") is None
    assert tagger.country("") is None


def test_country_catalogue(tagger: Tagger) -> None:
    assert len(tagger.countries) == 249
    names = [country.name for country in tagger.countries]
    assert names == sorted(names, key=lambda name: tagger.country(name).slug)  # type: ignore[union-attr]
    slugs = {country.code: country.slug for country in tagger.countries}
    assert slugs["GB"] == "united-kingdom" and slugs["US"] == "united-states" and slugs["KR"] == "south-korea"
    assert slugs["RU"] == "russia" and slugs["IR"] == "iran" and slugs["CD"] == "dr-congo"
    assert len(set(slugs.values())) == 249
    assert all("," not in country.name and "(" not in country.name for country in tagger.countries)


# ---------------------------------------------------------------- loading and errors


def test_load_falls_back_to_shipped_files(tmp_path: Path) -> None:
    (tmp_path / "topics.toml").write_text('[strikes]\nname = "Strikes"\ndescription = "d"\nterms = ["strike*"]\n')
    tagger = Tagger.load(tmp_path, fallback_dir=DATA)
    assert [topic.slug for topic in tagger.topics] == ["strikes"]
    assert tagger.tag("France: strikers win", "").countries == ("FR",)


def test_malformed_toml_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "countries.toml").write_text('[FR]\ncities = ["Paris"\n')
    with pytest.raises(TaggingDataError) as error:
        Tagger.load(tmp_path, fallback_dir=DATA)
    assert error.value.path.endswith("countries.toml") and error.value.line is not None
    assert "invalid TOML" in str(error.value) and "Traceback" not in str(error.value)


def test_unknown_code_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "countries.toml").write_text('# comment\n\n[XX]\ncities = ["Nowhere"]\n')
    with pytest.raises(TaggingDataError) as error:
        Tagger.load(tmp_path, fallback_dir=DATA)
    assert error.value.line == 3 and "XX" in error.value.message


def test_shared_phrase_without_primary_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "countries.toml").write_text('[FR]\ncities = ["Lyon"]\n[BE]\ncities = ["Lyon"]\n')
    with pytest.raises(TaggingDataError, match="primary"):
        Tagger.load(tmp_path, fallback_dir=DATA)


def test_load_is_fast() -> None:
    started = time.process_time()
    Tagger.load(DATA)
    assert time.process_time() - started < 2.0


# ---------------------------------------------------------------- evaluation


def test_labelled_set_is_well_formed(tagger: Tagger) -> None:
    articles = tomllib.loads(LABELLED.read_text("utf-8"))["article"]
    assert len(articles) >= 100
    slugs = {topic.slug for topic in tagger.topics}
    for article in articles:
        assert article["title"] and article["summary"]
        assert all(tagger.country(code) and tagger.country(code).code == code for code in article["countries"])
        assert set(article["topics"]) <= slugs
    assert sum(1 for article in articles if not article["countries"]) >= 5
    assert sum(1 for article in articles if len(article["countries"]) >= 3) >= 5


def test_evaluation_meets_thresholds(tagger: Tagger) -> None:
    report = evaluate(tagger, LABELLED)
    text = format_report(report)
    assert report.countries.f1 >= 0.97, text
    assert report.topics.f1 >= 0.85, text
    assert "precision" in text and "countries" in text


def test_tagging_speed_smoke(tagger: Tagger) -> None:
    articles = seed_articles() * 200
    started = time.process_time()
    for title, summary in articles:
        tagger.tag(title, summary)
    per_article = (time.process_time() - started) / len(articles)
    assert per_article < 0.001  # generous: the benchmark target is ~40 µs (see the README of the tagger)
