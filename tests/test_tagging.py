"""The country and topic tagger through its public interface (feeds.tagging.compile, .match, .evaluate, the CLI)."""

from __future__ import annotations

import json
import math
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner

from feeds.cli import main
from feeds.tagging.compile import compile_tables
from feeds.tagging.evaluate import evaluate, format_report, labelled_articles
from feeds.tagging.match import Tagger, TaggingDataError

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "feeds" / "tagging" / "tables"
LABELLED = ROOT / "feeds" / "tagging" / "corpus" / "dev.toml"


@pytest.fixture(scope="module")
def tagger() -> Tagger:
    """The rules alone (the model's part is tested at the end)."""
    return compile_tables(DATA, model=False)


@pytest.fixture(scope="module")
def combined() -> Tagger:
    """Rules and model, as published."""
    return compile_tables(DATA)


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


def test_a_data_directory_extends_the_shipped_tables(tmp_path: Path) -> None:
    (tmp_path / "countries.toml").write_text('[FR]\ncities = ["Gotham"]\nnot_aliases = ["Lyon"]\n')
    (tmp_path / "topics.toml").write_text(
        '[covid]\ndrop = true\n\n[strikes]\nterms = ["downed spanners"]\n\n'
        '[farming]\nname = "Farming"\ndescription = "Farmers and the land."\nterms = ["farmer*", "harvest*"]\n'
    )
    (tmp_path / "tagging.toml").write_text('[stop_phrases]\nmine = ["Gotham City"]\n')
    tagger = compile_tables(tmp_path, DATA, model=False)  # the tables' part (the model knows no farming)
    slugs = [topic.slug for topic in tagger.topics]
    assert "covid" not in slugs and slugs[-1] == "farming" and "strikes" in slugs and len(slugs) == 15
    tags = tagger.tag("Gotham farmers downed spanners", "")
    assert tags.countries == ("FR",) and tags.topics == ("strikes", "farming")
    assert tagger.tag("Lockdown in Lyon", "").countries == ()  # an alias dropped, the rest kept
    assert tagger.tag("Paris: lockdown again", "").countries == ("FR",)
    assert tagger.tag("Gotham City", "").countries == ()
    sources = {e.value: e.source for e in tags.evidence}
    assert sources["FR"].startswith(f"{tmp_path.name}/countries.toml [FR] cities")
    assert sources["farming"].startswith(f"{tmp_path.name}/topics.toml [farming] terms")
    assert compile_tables(DATA).tag("Strikes in Paris", "").evidence[0].source.startswith("tables/")


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("topics.toml", '[farming]\nterms = ["farm"]\n', "[farming] is a new topic: it needs a name"),
        ("topics.toml", '[covid]\ndrop = "yes"\n', "[covid] drop must be true"),
        ("topics.toml", '[covid]\nterm = ["x"]\n', "[covid] unknown key(s): term"),
        ("tagging.toml", '[person_names]\nsurnames = "Smith"\n', "[person_names] surnames must be a list"),
        ("tagging.toml", "[topics]\nsummary_min = 0\n", "[topics] summary_min must be a positive integer"),
        ("tagging.toml", "[extras]\nx = 1\n", "unknown section [extras]"),
        ("tagging.toml", '[primary]\n"Gallic" = "XX"\n', "[primary] \"Gallic\": unknown code 'XX'"),
        ("countries.toml", '[FR]\ncapitals = ["Paris"]\n', "unknown field [FR] capitals"),
    ],
)
def test_a_bad_table_names_the_file_and_the_key(tmp_path: Path, name: str, text: str, message: str) -> None:
    (tmp_path / name).write_text(text)
    with pytest.raises(TaggingDataError) as error:
        compile_tables(tmp_path, DATA)
    assert error.value.path == str(tmp_path / name) and message in error.value.message


def test_malformed_toml_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "countries.toml").write_text('[FR]\ncities = ["Paris"\n')
    with pytest.raises(TaggingDataError) as error:
        compile_tables(tmp_path, DATA)
    assert error.value.path.endswith("countries.toml") and error.value.line is not None
    assert "invalid TOML" in str(error.value) and "Traceback" not in str(error.value)


def test_unknown_code_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "countries.toml").write_text('# comment\n\n[XX]\ncities = ["Nowhere"]\n')
    with pytest.raises(TaggingDataError) as error:
        compile_tables(tmp_path, DATA)
    assert error.value.line == 3 and "XX" in error.value.message


def test_shared_phrase_without_primary_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "countries.toml").write_text('[FR]\ncities = ["Lyon"]\n[BE]\ncities = ["Lyon"]\n')
    with pytest.raises(TaggingDataError, match="primary"):
        compile_tables(tmp_path, DATA)


# ---------------------------------------------------------------- evaluation


@pytest.mark.parametrize(("part", "size"), [("dev", 500), ("test", 300)])
def test_labelled_set_is_well_formed(tagger: Tagger, part: str, size: int) -> None:
    articles = tomllib.loads((LABELLED.parent / f"{part}.toml").read_text("utf-8"))["article"]
    assert len(articles) >= size
    slugs = {topic.slug for topic in tagger.topics}
    for article in articles:
        assert article["title"] and article["summary"]
        assert all(tagger.country(code) and tagger.country(code).code == code for code in article["countries"])
        assert set(article["topics"]) <= slugs
    assert sum(1 for article in articles if not article["countries"]) >= 5
    assert sum(1 for article in articles if not article["topics"]) >= 5


# What the rules and the model reach (README "Countries and topics"). The test part is only measured;
# issue 20 asks for countries 0.99 and topics 0.88 on it: topics reach it (0.893), countries not yet (0.969).
THRESHOLDS = {"dev": (0.97, 0.92), "test": (0.96, 0.88)}


@pytest.mark.parametrize("part", ["dev", "test"])
def test_evaluation_meets_thresholds(combined: Tagger, part: str) -> None:
    report = evaluate(combined, labelled_articles(part))
    text = format_report(report, misses=False)
    countries_f1, topics_f1 = THRESHOLDS[part]
    assert report.countries.f1 >= countries_f1, text
    assert report.topics.f1 >= topics_f1, text
    assert "Per topic:" in text and "strikes" in text


# ---------------------------------------------------------------- the topic model and the CLI


def _model(
    tmp_path: Path,
    weights: dict[str, float],
    *,
    threshold: float = 0.5,
    veto: float | None = None,
    weak: float | None = None,
) -> Path:
    """A hand-made model.json in a data directory: one topic, climate, learned from the words given."""
    document = {
        "format": "feeds topic model",
        "version": 1,
        "trained": {"examples": 3, "folds": 5, "cv_f1": {"rules": 0.5, "model": 0.5, "combined": 0.6}},
        "features": {"pairs": False, "title_words": False, "min_df": 2},
        "combine": {"rule": "union", "veto": veto, "weak": weak},
        "idf": {word: 1.0 for word in [*weights, "the"]},
        "topics": {"climate": {"intercept": -3.0, "threshold": threshold, "weights": weights}},
    }
    path = tmp_path / "model.json"
    path.write_text(json.dumps(document), "utf-8")
    return path


def test_the_model_adds_a_topic_the_rules_missed(tmp_path: Path) -> None:
    _model(tmp_path, {"iceberg": 8.0})
    tagger = compile_tables(tmp_path, DATA)
    assert tagger.tag("Peru: the iceberg is gone", "").topics == ("climate",)
    assert tagger.tag("Peru: the village is gone", "").topics == ()
    # sigmoid(-3 + 8 / sqrt(2)), with unit-length idf weights over "the" and "iceberg"
    assert tagger.model_scores("the iceberg", "")["climate"] == pytest.approx(1 / (1 + math.exp(3 - 8 / math.sqrt(2))))


def test_the_model_can_veto_a_rule_topic(tmp_path: Path) -> None:
    _model(tmp_path, {"iceberg": 8.0}, veto=0.2)
    assert compile_tables(tmp_path, DATA, model=False).tag("Climate crisis deepens", "").topics == ("climate",)
    assert compile_tables(tmp_path, DATA).tag("Climate crisis deepens", "").topics == ()  # p = 0.05 < 0.2
    assert compile_tables(tmp_path, DATA).tag("Climate crisis: the iceberg melts", "").topics == ("climate",)


def test_the_model_needs_less_where_the_rules_found_some_evidence(tmp_path: Path) -> None:
    _model(tmp_path, {"iceberg": 5.0}, threshold=0.9, weak=0.5)  # p = sigmoid(-3 + 5 / sqrt(2)) = 0.63
    tagger = compile_tables(tmp_path, DATA)
    assert tagger.tag("Peru: the iceberg is gone", "").topics == ()
    # one "storm" in a summary is too little for the rules alone, enough with the model's 0.63
    assert compile_tables(tmp_path, DATA, model=False).tag("Peru: the iceberg is gone", "A storm came.").topics == ()
    assert tagger.tag("Peru: the iceberg is gone", "A storm came.").topics == ("climate",)


def test_the_shipped_model_adds_the_topics_past_their_thresholds(tagger: Tagger, combined: Tagger) -> None:
    model = combined.model
    assert model is not None
    thresholds = dict(zip(model.slugs, model.thresholds, strict=True))
    for article in labelled_articles("dev"):
        title, summary = article["title"], article["summary"]
        rules = tagger.tag(title, summary)
        weak = {slug for slug, _ in rules.weak}
        scores = combined.model_scores(title, summary)
        added = {
            slug
            for slug, p in scores.items()
            if p >= thresholds[slug] or (model.weak is not None and slug in weak and p >= model.weak)
        }
        assert set(combined.tag(title, summary).topics) == set(rules.topics) | added, title


@pytest.mark.parametrize(
    ("name", "text"),
    [
        *((name, text) for name in ("model.json", "countries_model.json") for text in ("not json", '{"format": 1}')),
        ("model.json", '{"format": "feeds topic model", "version": 99}'),
        ("countries_model.json", '{"format": "feeds country model", "version": 9}'),
        ("countries_model.json", '{"weights": 1}'),
    ],
)
def test_a_bad_model_file_names_the_file(tmp_path: Path, name: str, text: str) -> None:
    (tmp_path / name).write_text(text, "utf-8")
    with pytest.raises(TaggingDataError) as error:
        compile_tables(tmp_path, DATA)
    assert error.value.path == str(tmp_path / name)


def test_the_shipped_model_is_readable_and_versioned() -> None:
    document = json.loads((DATA / "model.json").read_text("utf-8"))
    assert document["format"] == "feeds topic model" and document["version"] == 1
    assert document["trained"]["examples"] >= 500 and set(document["trained"]["cv_f1"]) == {
        "rules",
        "model",
        "combined",
    }
    assert set(document["topics"]) <= {topic.slug for topic in compile_tables(DATA).topics}


def test_explain_shows_the_rule_with_its_file_and_the_model(data_dir: Path) -> None:
    _model(data_dir, {"pension": 8.0})
    result = CliRunner().invoke(main, ["explain", "--data-dir", str(data_dir), "Struggle Must Advance"])
    assert result.exit_code == 0, result.output
    assert "rule: matched 'France' in the title: pycountry name" in result.output
    assert "tables/topics.toml [pensions]" in result.output
    assert "model: 0." in result.output and f"({data_dir.name}/model.json; adds a topic at 0.50)" in result.output


def test_evaluate_scores_each_part(data_dir: Path) -> None:
    for part, count in (("dev", len(labelled_articles("dev"))), ("test", len(labelled_articles("test")))):
        result = CliRunner().invoke(main, ["evaluate", "--data-dir", str(data_dir), "--part", part, "--no-misses"])
        assert result.exit_code == 0, result.output
        assert f"Part: {part}" in result.output and f"Labelled articles: {count}" in result.output
        assert "Per topic:" in result.output and "cross-validated" in result.output
        assert "Misses" not in result.output
    both = CliRunner().invoke(main, ["evaluate", "--data-dir", str(data_dir), "--part", "all", "--no-misses"])
    assert f"Labelled articles: {len(labelled_articles('all'))}" in both.output


def test_train_learns_from_the_corpus_and_the_editors_corrections(data_dir: Path) -> None:
    pytest.importorskip("sklearn")
    listing = data_dir / "articles.txt"
    listing.write_text(
        "Farmers block the ring road\n@topics: +protests\n\nTractors closed the city.\n\n" + listing.read_text("utf-8"),
        "utf-8",
    )
    result = CliRunner().invoke(main, ["train", "--data-dir", str(data_dir), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["from_listing"] == 1 and summary["examples"] == len(labelled_articles("dev")) + 1
    assert 0 < summary["cv_f1"]["model"] <= 1 and summary["cv_f1"]["combined"] >= summary["cv_f1"]["rules"]
    written = json.loads((data_dir / "model.json").read_text("utf-8"))
    assert written["trained"] == {key: value for key, value in summary.items() if key not in ("out", "countries")}
    countries = summary["countries"]
    assert countries["examples"] == len(labelled_articles("dev")) and countries["out"] == str(
        data_dir / "countries_model.json"
    )
    assert countries["cv"]["combined"]["f1"] >= countries["cv"]["rules"]["f1"]
    assert json.loads((data_dir / "countries_model.json").read_text("utf-8"))["trained"] == {
        key: value for key, value in countries.items() if key != "out"
    }
    assert compile_tables(data_dir, DATA).country_model is not None
    assert compile_tables(data_dir, DATA).model is not None


# ---------------------------------------------------------------- passing mentions


@pytest.mark.parametrize(
    ("title", "summary", "expected"),
    [
        ("Kenya: Nairobi nurses strike", "Unlike in Uganda, the nurses won a raise.", ("KE",)),
        ("Niger: fuel runs short", "The government says the border closure with Benin has cut supplies.", ("NE",)),
        ("Cobalt miners strike", "Workers at a Chinese-owned mine near Kolwezi walked out.", ("CD",)),
        ("Vietnam's exports surge", "Factories rushed shipments before new US tariffs took effect.", ("VN",)),
        ("Jordan: protest dispersed", "Police in Amman beat protesters outside the Israeli embassy.", ("JO",)),
        ("Climate talks stall", "Delegates said the Paris agreement targets are out of reach.", ()),
        ("Vatican pension cuts", "The American-born pope approved the cuts.", ("VA",)),
        ("Vatican pension cuts", "The pope, born in Chicago, approved the cuts.", ("VA",)),
        ("Layoffs at the plant", "South Korean tech giant Samsung cut 3,000 jobs in Vietnam.", ("VN",)),
        ("Layoffs in the oil fields", "US oil major Chevron will lay off staff in Kazakhstan.", ("KZ",)),
        ("Niger: troops repel attack", "The base lies near the border with Mali and Burkina Faso.", ("NE",)),
        ("Mongolia's coal exports slump", "Shipments fell as exports to China dried up.", ("MN",)),
        ("Chile: pension rally", "Thousands gathered in Santiago's Plaza Italia.", ("CL",)),
        ("Skopje: an anti-Bulgarian line", "The government refused the change.", ("MK",)),
        ("Italy's spread narrows", "The gap with German ten-year bond yields fell.", ("IT",)),
        ("Canada: Carney wins", "The Liberals campaigned against Trump's tariffs.", ("CA",)),
        ("Athletes win medals", "Eritrean runners won at the world championships in Tokyo.", ("ER",)),
        ("Algeria jails a novelist", "The case has strained ties with Paris.", ("DZ",)),
        ("Niger expels a French uranium firm", "The junta revoked the licence.", ("NE",)),
        ("Lisbon rents soar", "Digital nomads from Berlin push up rents.", ("PT",)),
        # an article between the passing words and the name, a list whose first item is no country
        ("Ghana's cocoa exports slump", "Exports to the United States fell by half.", ("GH",)),
        ("Cobalt miners in Katanga strike", "The cobalt is sold in Europe and the United States.", ("CD",)),
        # rankings, the targets of a protest abroad, a market, a ship's operator
        ("India overtakes Britain to become the fifth-largest economy", "", ("IN",)),
        ("Congo: protests in Kinshasa", "Crowds attacked the embassies of France and Belgium.", ("CD",)),
        ("Mexico's peso strengthens", "Firms move production closer to the US market.", ("MX",)),
        ("Yemen: Houthis seize a ship", "The vessel is British-owned and Japanese-operated.", ("YE",)),
        # a town of another country's region, and its other mentions in the article
        ("Tornado tears through Paris, Texas", "Two people died.", ("US",)),
        ("Picket line holds at Peru chemical plant", "The local in Peru, Illinois, is on strike.", ("US",)),
        ("Lebanon, Beirut and Paris, France", "", ("LB", "FR")),  # a city, a region of the same country
        ("Mauritania deports migrants", "Police rounded up migrants from Mali in Nouakchott.", ("MR",)),
        ("ECB holds rates", "The central bank kept rates at its meeting in Frankfurt.", ()),
        ("Food prices fall, FAO says", "The index published in Rome by the FAO fell 1.6%.", ()),
        ("Geneva warns of a measles resurgence", "The World Health Organization urged catch-up campaigns.", ()),
        ("Soybeans slide on a record crop", "Chicago soybean futures fell to a five-year low.", ()),
        ("Mozambique: dockers down tools", "Ships bound for Zimbabwe and Malawi queued offshore.", ("MZ",)),
        ("Zambia: miners demand back pay", "They rallied against the mine's Emirati owner.", ("ZM",)),
    ],
)
def test_passing_mentions_do_not_tag(tagger: Tagger, title: str, summary: str, expected: tuple[str, ...]) -> None:
    assert countries(tagger, title, summary) == expected


@pytest.mark.parametrize(
    ("title", "code"),
    [
        ("Bank of Canada cuts to 2.25%", "CA"),
        ("Bank of Korea holds rates", "KR"),
        ("Bank of Israel holds at 4.5%", "IL"),
        ("Bank of England cuts in a split vote", "GB"),
        ("Bank of Japan raises rates", "JP"),
    ],
)
def test_a_topic_phrase_keeps_the_country_it_names(tagger: Tagger, title: str, code: str) -> None:
    tags = tagger.tag(title, "The governor cited weak data.")
    assert tags.countries == (code,) and "economy" in tags.topics


@pytest.mark.parametrize(
    ("title", "summary", "expected"),
    [
        # people abroad, in the summary: their country only when no other is named
        ("Qatar's migrant workers still unpaid", "Kenyan and Nepali workers say they are owed pay.", ("QA",)),
        ("Migrant workers still unpaid", "Kenyan and Nepali workers say they are owed pay.", ("KE", "NP")),
        ("North Korean workers in Russian shipyards", "", ("KP", "RU")),  # in the title they are the story
        # employers: the country only when no other is named, in an article with a topic
        ("Toyota union secures largest raise in decades", "Workers won the pay rise after a strike vote.", ("JP",)),
        ("Thailand: strike at the Toyota plant", "Workers at Toyota walked out.", ("TH",)),
        ("Glencore writes down coal assets", "The miner took a $2.4bn impairment.", ()),
        # a dateline: where the story was filed, its place only when no other country is named
        ("Teachers unpaid for months", "NAIROBI, Nov 20 — Teachers across Uganda have had no salary.", ("UG",)),
        ("Oil slips as OPEC+ adds barrels", "SINGAPORE, Nov 30 — Brent crude fell below $62.", ("SG",)),
        (
            "Union warns of strike at coal mine",
            "BOGOTA, Nov 25 — The union at the Glencore-run mine may strike.",
            ("CO",),
        ),
        # a list of demonyms before the people abroad
        (
            "Saudi Arabia: builders unpaid",
            "Workers, Bangladeshi, Nepali, Indian and Kenyan nationals, went unpaid.",
            ("SA",),
        ),
        (
            "Cambodia raids a scam compound",
            "Among those held were Chinese, Indonesian and three American nationals.",
            ("KH",),
        ),
        ("Talks in Beijing", "Chinese, Russian and Iranian officials met in Beijing.", ("CN", "RU", "IR")),
        # a place named for a war or a policy: the story's place only alone
        ("Israel's central bank cuts rates", "The economy adjusted to the costs of the Gaza war.", ("IL",)),
        ("Live: Ukraine war day 1000", "Sirens sounded overnight.", ("UA",)),
    ],
)
def test_mentions_that_count_only_alone(tagger: Tagger, title: str, summary: str, expected: tuple[str, ...]) -> None:
    assert countries(tagger, title, summary) == expected


def test_a_given_name_with_accents_is_not_a_demonym(tagger: Tagger) -> None:
    assert countries(tagger, "Colombia's fiscal rule suspended", "Finance Minister Germán Ávila said.") == ("CO",)
    assert countries(tagger, "German workers strike", "") == ("DE",)
    assert countries(tagger, "GERMAN WORKERS STRIKE", "") == ("DE",)


def test_a_leaders_surname_alone_is_the_person(tagger: Tagger) -> None:
    summary = "Prime Minister Luís Montenegro's coalition came first. Montenegro said he would govern alone."
    assert countries(tagger, "Portugal votes", summary) == ("PT",)
    assert countries(tagger, "Montenegro votes", "Voters in Podgorica went to the polls.") == ("ME",)


def test_a_namesakes_name_alone_is_the_person(tagger: Tagger) -> None:
    assert countries(tagger, "Michael Jordan's jersey sells for a record", "The shirt worn by Jordan sold.") == ()
    assert countries(tagger, "Jordan: protests in Amman", "Jordan said it would not yield.") == ("JO",)


def _country_model(data_dir: Path, weights: dict[str, float], threshold: float = 0.5) -> None:
    """A hand-made countries_model.json: probability sigmoid(2 + the weights of the features present)."""
    document = {
        "format": "feeds country model",
        "version": 1,
        "trained": {"examples": 3, "folds": 5},
        "combine": {"rule": "rules, less what the model scores below threshold", "threshold": threshold},
        "intercept": 2.0,
        "weights": weights,
    }
    (data_dir / "countries_model.json").write_text(json.dumps(document), "utf-8")


def test_the_country_model_drops_a_candidate_of_the_rules(tmp_path: Path) -> None:
    title, summary = "Ghana: dockers strike", "Dockers in Tema walked out, as workers in Togo did last year."
    assert countries(compile_tables(tmp_path, DATA, model=False), title, summary) == ("GH", "TG")
    _country_model(tmp_path, {"only:summary": -5.0})  # sigmoid(2 - 5) = 0.05
    tagger = compile_tables(tmp_path, DATA)
    assert countries(tagger, title, summary) == ("GH",)
    assert tagger.country_scores(title, summary)["TG"] == pytest.approx(1 / (1 + math.exp(3)))
    # a country alone in the title is never asked about; one named only in the summary is
    assert countries(tagger, "Ghana: dockers strike", "") == ("GH",)
    assert countries(tagger, "Dockers strike", "Dockers in Tema walked out across Ghana.") == ()


def test_explain_shows_the_country_models_part(data_dir: Path) -> None:
    listing = data_dir / "articles.txt"
    text = "Ghana: dockers strike\n\nDockers in Tema walked out, as workers in Togo did last year.\n\n"
    listing.write_text(text + listing.read_text("utf-8"), "utf-8")
    _country_model(data_dir, {"only:summary": -5.0})
    result = CliRunner().invoke(main, ["explain", "--data-dir", str(data_dir), "dockers strike"])
    assert result.exit_code == 0, result.output
    assert f"country model: 0.05, dropped ({data_dir.name}/countries_model.json)" in result.output
    assert f"country model: 0.88, kept ({data_dir.name}/countries_model.json)" in result.output


def test_a_name_that_folds_to_a_word_needs_its_accents(tagger: Tagger) -> None:
    assert countries(tagger, "Store Workers Walk Out", "") == ()
    assert countries(tagger, "Støre Wins a Second Term", "") == ("NO",)
    assert countries(tagger, "Class of 1996 Reunion Draws Hundreds", "") == ()
    assert countries(tagger, "REUNION TOUR SELLS OUT", "") == ()
    assert countries(tagger, "Cyclone Nears Réunion", "The island braced for the storm.") == ("RE",)


@pytest.mark.parametrize(
    ("title", "summary", "expected"),
    [
        ("TUC calls a day of action", "Unions marched in London.", ("GB",)),
        ("NSW teachers strike over pay", "Public school teachers walked out across the state.", ("AU",)),
        ("SAMWU shuts Tshwane depots", "Municipal workers want their increases.", ("ZA",)),
        ("Kryvyi Rih steelworkers go unpaid", "The plant owes three months of wages.", ("UA",)),
        ("TUC joins the general strike", "The NLC and TUC shut down Abuja.", ("NG",)),
        ("Live: De Wever's 'Arizona' budget agreed", "Belgium's coalition parties reached a deal.", ("BE",)),
        ("Arizona miners vote on contract", "Steelworkers at the Morenci mine began voting.", ("US",)),
        ("Trump Pardons Turkey Named Gobble", "The White House ceremony before Thanksgiving.", ("US",)),
        ("Turkey: strike at the Bursa plant", "Workers at the Renault factory walked out.", ("TR",)),
        ("Live: Polling stations open in Cabo Verde", "Voters on Santiago and São Vicente choose.", ("CV",)),
        ("Pension protest in Santiago", "Marchers filled the streets.", ("CL",)),
        ("Steelworkers at Hamilton's Stelco mill vote", "USW Local 1005 members voted.", ("CA",)),
        ("Steelworkers vote at US Steel", "USW members in Pittsburgh voted.", ("US",)),
        ("Suriname elects a president", "Parliament chose the NDP candidate.", ("SR",)),
        ("Portugal: Lisbon rents double as Montenegro scraps controls", "", ("PT",)),
        ("Portugal: general strike", "The CGTP and the UGT called it.", ("PT",)),
        ("UGT calls a general strike", "Unions marched in Madrid.", ("ES",)),
        ("Lebanon: roads blocked", "Protesters filled squares from Tripoli to Tyre.", ("LB",)),
        ("Clashes in Tripoli", "Militias fought overnight.", ("LY",)),
        # the river has an article, the country none
        ("Along the Niger, Mali's boatmen watch the river shrink", "", ("ML",)),
        ("Niger: oil spills", "Spills in the Niger Delta spread.", ("NE", "NG")),
    ],
)
def test_a_name_shared_by_several_countries_is_read_from_the_text(
    tagger: Tagger, title: str, summary: str, expected: tuple[str, ...]
) -> None:
    assert countries(tagger, title, summary) == expected


def test_a_contextual_name_is_explained_the_same_in_every_process(data_dir: Path) -> None:
    """Which context word is quoted does not hang on the process's string hashing."""
    import os
    import subprocess
    import sys

    listing = data_dir / "articles.txt"
    text = "Georgia: Tbilisi protest\n\nMarchers in Batumi and Kutaisi rejected the Kremlin's law.\n\n"
    listing.write_text(text + listing.read_text("utf-8"), "utf-8")
    outputs = set()
    for seed in ("1", "2", "3"):
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "feeds.cli",
                "explain",
                "--data-dir",
                str(data_dir),
                "--cache-dir",
                "off",
                "Tbilisi",
            ],
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONHASHSEED": seed},
            check=True,
        )
        outputs.add(result.stdout)
    (output,) = outputs
    assert '(context "batumi")' in output
