"""Compiled tagging tables kept between runs (feeds.cache), through load_tagger and the CLI."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from feeds.cli import main
from feeds.loader import load_tagger
from feeds.tag import Tagger

TEXT = ("Macron faces a general strike", "Unions in Paris and Lyon walked out against the pension reform.")


def _pickles(cache: Path) -> list[Path]:
    return sorted(cache.glob("tagger-*.pickle"))


def _no_compiling(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args, **kwargs):
        raise AssertionError("the tables were compiled instead of read from the cache")

    monkeypatch.setattr(Tagger, "load", classmethod(refuse))


def test_the_second_load_reads_the_tables_compiled_by_the_first(
    data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    cache = tmp_path / "cache"
    first = load_tagger(data_dir, cache)
    assert len(_pickles(cache)) == 1
    assert oct(cache.stat().st_mode & 0o777) == "0o700"
    _no_compiling(monkeypatch)
    second = load_tagger(data_dir, cache)
    assert second.tag(*TEXT).countries == first.tag(*TEXT).countries == ("FR",)
    assert second.tag(*TEXT).topics == first.tag(*TEXT).topics


def test_an_edited_table_is_compiled_again(data_dir: Path, tmp_path: Path):
    cache = tmp_path / "cache"
    assert load_tagger(data_dir, cache).tag("Gotham rises", "").countries == ()
    countries = data_dir / "countries.toml"
    text = countries.read_text("utf-8")
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
