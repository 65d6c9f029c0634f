"""Compiled tagging tables kept between runs (feeds.tagging.cache), through load_tagger and the CLI."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import pytest
from click.testing import CliRunner

from feeds.cli import main
from feeds.pipeline.load import SHIPPED_TABLES as TABLES
from feeds.pipeline.load import load, load_tagger
from feeds.tagging.match import Tagger

TEXT = ("Macron faces a general strike", "Unions in Paris and Lyon walked out against the pension reform.")


def _pickles(cache: Path) -> list[Path]:
    return sorted(cache.glob("tagger-*.pickle"))


def _stamp(path: Path) -> tuple[int, int]:
    info = path.stat()
    return info.st_ino, info.st_mtime_ns


def test_the_second_load_reads_the_tables_compiled_by_the_first(data_dir: Path, tmp_path: Path):
    cache = tmp_path / "cache"
    first = load_tagger(data_dir, cache)
    (pickled,) = _pickles(cache)
    assert oct(cache.stat().st_mode & 0o777) == "0o700"
    before = _stamp(pickled)
    second = load_tagger(data_dir, cache)
    assert _pickles(cache) == [pickled] and _stamp(pickled) == before  # read back, not compiled and written again
    assert second.tag(*TEXT).countries == first.tag(*TEXT).countries == ("FR",)
    assert second.tag(*TEXT).topics == first.tag(*TEXT).topics


def test_an_edited_table_is_compiled_again(data_dir: Path, tmp_path: Path):
    cache = tmp_path / "cache"
    assert load_tagger(data_dir, cache).tag("Gotham rises", "").countries == ()
    countries = data_dir / "countries.toml"
    text = (TABLES / "countries.toml").read_text("utf-8")
    assert 'cities = ["Paris",' in text
    countries.write_text(text.replace('cities = ["Paris",', 'cities = ["Gotham", "Paris",', 1), "utf-8")
    assert load_tagger(data_dir, cache).tag("Gotham rises", "").countries == ("FR",)
    assert len(_pickles(cache)) == 2


@pytest.mark.parametrize("damage", ["garbage", "truncated", "writable by others"])
def test_a_bad_cache_file_is_ignored_and_replaced(data_dir: Path, tmp_path: Path, damage: str):
    cache = tmp_path / "cache"
    load_tagger(data_dir, cache)
    (target,) = _pickles(cache)
    if damage == "garbage":
        target.write_bytes(b"not a pickle")
    elif damage == "truncated":
        target.write_bytes(target.read_bytes()[:1000])
    else:
        os.chmod(target, 0o666)
    tagger = load_tagger(data_dir, cache)
    assert tagger.tag(*TEXT).countries == ("FR",)
    (again,) = _pickles(cache)
    assert again.stat().st_mode & 0o022 == 0 and again.stat().st_size > 100_000


def test_an_unwritable_cache_directory_is_skipped(data_dir: Path, tmp_path: Path):
    blocked = tmp_path / "file-not-dir"
    blocked.write_text("", "utf-8")
    assert load_tagger(data_dir, blocked / "cache").tag(*TEXT).countries == ("FR",)


def test_the_cli_uses_the_cache_directory_and_off_turns_it_off(data_dir: Path, tmp_path: Path):
    cache = tmp_path / "cache"
    result = CliRunner().invoke(main, ["check", "--data-dir", str(data_dir), "--cache-dir", str(cache)])
    assert result.exit_code == 0, result.output
    assert len(_pickles(cache)) == 1
    off = tmp_path / "off"
    result = CliRunner(env={"FEEDS_CACHE_DIR": "off", "XDG_CACHE_HOME": str(off)}).invoke(
        main, ["check", "--data-dir", str(data_dir)]
    )
    assert result.exit_code == 0, result.output
    assert not off.exists()


def _tags_of(site) -> dict[str, tuple[tuple[str, ...], tuple[str, ...]]]:
    return {a.title: (a.countries, a.topics) for a in site.articles}


def _listing(data_dir: Path) -> Path:
    (listing,) = [p for p in data_dir.glob("*.txt")]
    return listing


def _counting(data_dir: Path) -> Tagger:
    """The tagger of ``data_dir``, noting the title of every article it tags."""
    real = load_tagger(data_dir)

    class Counting(Tagger):
        def __init__(self) -> None:
            self.__dict__.update(real.__dict__)
            self.tagged: list[str] = []

        def tag(self, title: str, summary: str):
            self.tagged.append(title)
            return super().tag(title, summary)

    return Counting()


def test_a_second_load_tags_only_the_articles_it_has_not_seen(data_dir: Path, tmp_path: Path):
    cache = tmp_path / "cache"
    first = load(data_dir, cache_dir=cache).site
    assert len(list(cache.glob("tags-*.pickle"))) == 1
    listing = _listing(data_dir)
    listing.write_text(
        "Macron names a new prime minister\n\nThe Elysee announced it on Monday.\n\n" + listing.read_text("utf-8"),
        "utf-8",
    )
    tagger = _counting(data_dir)
    second = load(data_dir, cache_dir=cache, tagger=tagger).site
    assert tagger.tagged == ["Macron names a new prime minister"]
    assert _tags_of(second)["Macron names a new prime minister"][0] == ("FR",)
    assert {t: v for t, v in _tags_of(second).items() if t in _tags_of(first)} == _tags_of(first)
    # Everything seen: the tables are not even read (no compiled tagger is needed, none is written).
    for pickled in _pickles(cache):
        pickled.unlink()
    assert _tags_of(load(data_dir, cache_dir=cache).site) == _tags_of(second)
    assert _pickles(cache) == []


def test_tags_kept_under_other_tables_are_not_used(data_dir: Path, tmp_path: Path):
    cache = tmp_path / "cache"
    listing = _listing(data_dir)
    listing.write_text("Gotham rises\n\nThe city votes.\n\n" + listing.read_text("utf-8"), "utf-8")
    assert _tags_of(load(data_dir, cache_dir=cache).site)["Gotham rises"][0] == ()
    countries = data_dir / "countries.toml"
    text = (TABLES / "countries.toml").read_text("utf-8")
    countries.write_text(text.replace('cities = ["Paris",', 'cities = ["Gotham", "Paris",', 1), "utf-8")
    assert _tags_of(load(data_dir, cache_dir=cache).site)["Gotham rises"][0] == ("FR",)


def test_an_editors_override_applies_to_kept_tags(data_dir: Path, tmp_path: Path):
    cache = tmp_path / "cache"
    listing = _listing(data_dir)
    body = listing.read_text("utf-8")
    listing.write_text("Greek general strike\n\nWorkers in Athens walked out.\n\n" + body, "utf-8")
    assert _tags_of(load(data_dir, cache_dir=cache).site)["Greek general strike"][0] == ("GR",)
    listing.write_text("Greek general strike\n@countries: +Peru\n\nWorkers in Athens walked out.\n\n" + body, "utf-8")
    assert _tags_of(load(data_dir, cache_dir=cache).site)["Greek general strike"][0] == ("GR", "PE")


@pytest.mark.parametrize("damage", ["garbage", "another shape", "writable by others"])
def test_a_bad_tags_file_is_ignored(data_dir: Path, tmp_path: Path, damage: str):
    cache = tmp_path / "cache"
    expected = _tags_of(load(data_dir, cache_dir=cache).site)
    (target,) = cache.glob("tags-*.pickle")
    if damage == "garbage":
        target.write_bytes(b"not a pickle")
    elif damage == "another shape":
        saved = pickle.loads(target.read_bytes())
        saved["tags"] = {key: "??" for key in saved["tags"]}
        target.write_bytes(pickle.dumps(saved))
    else:
        os.chmod(target, 0o666)
    assert _tags_of(load(data_dir, cache_dir=cache).site) == expected


def test_a_new_model_file_is_compiled_again(data_dir: Path, tmp_path: Path):
    cache = tmp_path / "cache"
    assert load_tagger(data_dir, cache).model is not None
    shipped = (TABLES / "model.json").read_text("utf-8")
    (data_dir / "model.json").write_text(
        shipped.replace('"version": 1', '"version": 1, "note": "retrained"', 1), "utf-8"
    )
    assert load_tagger(data_dir, cache).model.path == data_dir / "model.json"
    assert len(_pickles(cache)) == 2
