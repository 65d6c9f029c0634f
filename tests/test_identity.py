"""Ids and dates: minted once, kept across restarts, edits and reorders."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from feeds.pipeline.ledger import LEDGER_NAME
from feeds.pipeline.load import load

from .conftest import SHIPPED

T0 = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


def _listing(path: Path, articles: list[tuple[str, str]]) -> None:
    path.write_text("".join(f"{t}\n\n{s}\n\n" for t, s in articles), "utf-8")


def _ids(data: Path, now: datetime) -> dict[str, tuple[str, datetime, datetime]]:
    site = load(data, now=now).site
    return {a.title: (a.id, a.published, a.updated) for a in site.articles}


def test_shipped_data_has_a_committed_ledger_that_needs_no_change(data_dir: Path):
    before = (SHIPPED / LEDGER_NAME).read_bytes()
    site = load(data_dir, now=datetime.now(UTC)).site
    assert (data_dir / LEDGER_NAME).read_bytes() == before, "the shipped ledger must already cover the shipped data"
    recorded = {r["id"] for r in json.loads(before)["articles"]}
    assert {a.id for a in site.articles} == recorded
    assert all(a.id.startswith("tag:") for a in site.articles)


def test_ids_and_dates_survive_restarts(tmp_path: Path):
    _listing(tmp_path / "a.txt", [("First title", "One."), ("Second title", "Two.")])
    first = _ids(tmp_path, T0)
    assert _ids(tmp_path, T0 + timedelta(days=3)) == first


def test_new_articles_are_stamped_in_listing_order_and_never_at_render_time(tmp_path: Path):
    _listing(tmp_path / "a.txt", [("Newest", "One."), ("Older", "Two."), ("Oldest", "Three.")])
    ids = _ids(tmp_path, T0)
    assert ids["Newest"][1] == T0
    assert ids["Newest"][1] > ids["Older"][1] > ids["Oldest"][1]
    site = load(tmp_path, now=T0 + timedelta(hours=5)).site
    assert [a.title for a in site.articles] == ["Newest", "Older", "Oldest"]
    assert site.feeds["all"].updated == T0


def test_editing_a_summary_or_fixing_a_title_typo_keeps_the_id(tmp_path: Path):
    _listing(tmp_path / "a.txt", [("Massive strike in Grece", "Workers walked out."), ("Other", "Text.")])
    before = _ids(tmp_path, T0)
    _listing(tmp_path / "a.txt", [("Massive strike in Grece", "Workers walked out again."), ("Other", "Text.")])
    after_summary = _ids(tmp_path, T0 + timedelta(hours=1))
    assert after_summary["Massive strike in Grece"][0] == before["Massive strike in Grece"][0]
    assert after_summary["Massive strike in Grece"][2] == T0 + timedelta(hours=1)  # updated moves
    assert after_summary["Massive strike in Grece"][1] == before["Massive strike in Grece"][1]  # published stays
    _listing(tmp_path / "a.txt", [("Massive strike in Greece", "Workers walked out again!"), ("Other", "Text.")])
    after_title = _ids(tmp_path, T0 + timedelta(hours=2))
    assert after_title["Massive strike in Greece"][0] == before["Massive strike in Grece"][0]
    assert after_title["Other"] == before["Other"]


def test_adding_removing_and_reordering_other_articles_keeps_ids(tmp_path: Path):
    _listing(tmp_path / "a.txt", [("A", "a."), ("B", "b."), ("C", "c.")])
    before = _ids(tmp_path, T0)
    _listing(tmp_path / "a.txt", [("New", "n."), ("C", "c."), ("A", "a.")])
    after = _ids(tmp_path, T0 + timedelta(days=1))
    assert after["A"] == before["A"] and after["C"] == before["C"]
    assert after["New"][0] not in {v[0] for v in before.values()}
    _listing(tmp_path / "a.txt", [("New", "n."), ("B", "b."), ("C", "c."), ("A", "a.")])
    again = _ids(tmp_path, T0 + timedelta(days=2))
    assert again["B"] == before["B"]  # a removed article that comes back keeps its id


def test_a_fresh_copy_publishes_the_same_ids(tmp_path: Path):
    _listing(tmp_path / "a.txt", [("A", "a."), ("B", "b.")])
    original = _ids(tmp_path, T0)
    clone = tmp_path.parent / "clone"
    shutil.copytree(tmp_path, clone)
    assert _ids(clone, T0 + timedelta(days=30)) == original


def test_explicit_id_and_date_win(tmp_path: Path):
    (tmp_path / "a.txt").write_text("A\n@id: tag:example.org,2020:a\n@date: 2020-02-02\n\nText.\n", "utf-8")
    (article,) = load(tmp_path, now=T0).site.articles
    assert article.id == "tag:example.org,2020:a"
    assert article.published == datetime(2020, 2, 2, tzinfo=UTC)


def test_a_listing_with_errors_mints_nothing(tmp_path: Path):
    (tmp_path / "a.txt").write_text("A\n@bogus: 1\n\nText.\n", "utf-8")
    loaded = load(tmp_path, now=T0)
    assert loaded.errors
    assert not (tmp_path / LEDGER_NAME).exists()


def test_ledger_write_is_atomic_and_read_only_dirs_still_publish(tmp_path: Path):
    _listing(tmp_path / "a.txt", [("A", "a.")])
    load(tmp_path, now=T0)
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    json.loads((tmp_path / LEDGER_NAME).read_text("utf-8"))
    site = load(tmp_path, now=T0, persist=False).site
    assert site.articles[0].published == T0


def test_a_ledger_laid_out_by_hand_is_still_read(tmp_path: Path):
    _listing(tmp_path / "a.txt", [("Peru strike", "Miners stop work."), ("Greek strike", "Ports close.")])
    before = _ids(tmp_path, T0)
    ledger = tmp_path / LEDGER_NAME
    ledger.write_text(json.dumps(json.loads(ledger.read_text("utf-8")), indent=4), "utf-8")
    hand_made = ledger.read_bytes()
    assert _ids(tmp_path, T0 + timedelta(days=3)) == before
    assert ledger.read_bytes() == hand_made, "nothing changed, so the ledger is left as it was laid out"


def test_a_damaged_ledger_is_an_error_naming_it_and_is_never_overwritten(tmp_path: Path):
    _listing(tmp_path / "a.txt", [("Peru strike", "Miners stop work."), ("Greek strike", "Ports close.")])
    _ids(tmp_path, T0)
    ledger = tmp_path / LEDGER_NAME
    damaged = ledger.read_bytes()[:-40]
    ledger.write_bytes(damaged)
    site = load(tmp_path, now=T0).site
    errors = [d for d in site.diagnostics if d.is_error]
    assert errors and errors[0].location.path == str(ledger) and "damaged" in errors[0].message
    assert ledger.read_bytes() == damaged


@pytest.mark.parametrize(
    "damage",
    [
        lambda line: line[: len(line) // 2] + b"}",  # cut short
        lambda line: line.replace(b'"slug": ', b'"slug" '),  # not JSON
        lambda line: line.replace(b"Peru", b"\xff\xfe"),  # not UTF-8
        lambda line: line[:-1] + b"} {}",  # something after the record
    ],
)
def test_a_damaged_record_line_is_an_error_naming_the_line(tmp_path: Path, damage):
    _listing(tmp_path / "a.txt", [("Peru strike", "Miners stop work."), ("Greek strike", "Ports close.")])
    _ids(tmp_path, T0)
    ledger = tmp_path / LEDGER_NAME
    lines = ledger.read_bytes().split(b"\n")
    assert lines[1].startswith(b'  {"id"') and b"Peru" in lines[1] and lines[1].endswith(b",")
    lines[1] = damage(lines[1][:-1]) + b","
    ledger.write_bytes(b"\n".join(lines))
    errors = [d for d in load(tmp_path, now=T0).site.diagnostics if d.is_error]
    assert errors and errors[0].location.path == str(ledger) and "damaged" in errors[0].message
    assert errors[0].location.line == 2
