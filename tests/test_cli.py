"""The ``feeds`` command line, run as a user runs it."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import feedparser
import pytest
from click.testing import CliRunner

from feeds.cli import main

from .conftest import SEED_TITLES

EXPECTED_COUNTRIES = {
    "The French Government Is Weak: Now Finish It Off!": ["FR"],
    "France: The Struggle Must Advance!": ["FR"],
    "Spain: Hundreds of Thousands Hit Streets in Fight for Public Healthcare": ["ES"],
    "Peru: Massive March on Lima and National Strike Puts Dina Boluarte against the Ropes": ["PE"],
    "National Strike against Macron’s Pension Sabotage in France: Over a Million on the Streets!": ["FR"],
    "Peru: Mass Movement of Workers and Peasants Defy Capitalist Coup despite Brutal Repression": ["PE"],
    "Iran: Youth Uprising Continues and Strike Wave Begins": ["IR"],
    "Peru: Usurper Boluarte Declares State of Emergency to Crush December 15 National Strike": ["PE"],
    "China: Regime Relents on Lockdown in Face of Pressure from Below": ["CN"],
    "AMLO’s March on 27N: Huge Demonstration of the Mexican People’s Strength": ["MX"],
    "China: Anti-Lockdown Protests Light Powder Keg of Fury": ["CN"],
    "Massive Participation in Greek General Strike: For Escalation, Not with Words but with Deeds!": ["GR"],
}
EXPECTED_TOPICS = {
    "The French Government Is Weak: Now Finish It Off!": {"pensions"},
    "National Strike against Macron’s Pension Sabotage in France: Over a Million on the Streets!": {
        "pensions",
        "strikes",
    },
    "France: The Struggle Must Advance!": {"pensions"},
    "Spain: Hundreds of Thousands Hit Streets in Fight for Public Healthcare": {"healthcare"},
    "Peru: Massive March on Lima and National Strike Puts Dina Boluarte against the Ropes": {"strikes", "coups"},
    "Peru: Mass Movement of Workers and Peasants Defy Capitalist Coup despite Brutal Repression": {
        "coups",
        "repression",
    },
    "Peru: Usurper Boluarte Declares State of Emergency to Crush December 15 National Strike": {"strikes", "coups"},
    "Iran: Youth Uprising Continues and Strike Wave Begins": {"strikes", "youth"},
    "China: Regime Relents on Lockdown in Face of Pressure from Below": {"covid"},
    "China: Anti-Lockdown Protests Light Powder Keg of Fury": {"covid", "protests"},
    "Massive Participation in Greek General Strike: For Escalation, Not with Words but with Deeds!": {"strikes"},
}


def run(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_articles_json_on_the_shipped_data(data_dir: Path):
    result = run("articles", "--json", "--data-dir", str(data_dir))
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [r["title"] for r in rows] == SEED_TITLES
    for row in rows:
        assert row["countries"] == EXPECTED_COUNTRIES[row["title"]], row["title"]
        assert EXPECTED_TOPICS.get(row["title"], set()) <= set(row["topics"]), row["title"]
        assert set(row) == {"id", "title", "published", "link", "countries", "topics"}
        assert row["published"].endswith("Z")


def test_check_passes_on_shipped_data_and_reports_file_and_line(data_dir: Path, tmp_path: Path):
    result = run("check", "--data-dir", str(data_dir))
    assert result.exit_code == 0 and "12 articles, 0 errors" in result.output
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "news.txt").write_text("Fine\n\nText.\n\nBroken\n@date: not a date\n\nText.\n", "utf-8")
    result = run("check", "--data-dir", str(bad))
    assert result.exit_code == 1
    assert f"{bad / 'news.txt'}:6: error: cannot read the date" in result.output
    assert not (bad / "ledger.json").exists()  # check never writes


def test_unknown_override_is_an_error_and_known_ones_win(tmp_path: Path):
    (tmp_path / "a.txt").write_text(
        "Greek general strike\n@countries: +Peru, -Greece\n@topics: +war, -strikes\n\nWorkers in Athens.\n", "utf-8"
    )
    rows = json.loads(run("articles", "--json", "--data-dir", str(tmp_path)).stdout)
    assert rows[0]["countries"] == ["PE"]
    assert "war" in rows[0]["topics"] and "strikes" not in rows[0]["topics"]
    (tmp_path / "a.txt").write_text("Title\n@countries: Atlantis\n\nText.\n", "utf-8")
    result = run("check", "--data-dir", str(tmp_path))
    assert result.exit_code == 1 and "unknown country 'Atlantis'" in result.output


def test_missing_data_dir_is_a_clear_error(tmp_path: Path):
    result = CliRunner().invoke(main, ["check", "--data-dir", str(tmp_path / "nope")])
    assert result.exit_code != 0 and "no such data directory" in result.output


def test_explain_every_shipped_article(data_dir: Path):
    for title in SEED_TITLES:
        result = run("explain", "--data-dir", str(data_dir), title)
        assert result.exit_code == 0, result.output
        for code in EXPECTED_COUNTRIES[title]:
            assert f"({code}): yes" in result.output
        assert "matched" in result.output
    greek = run("explain", "--data-dir", str(data_dir), "Greek General Strike").output
    assert "'Greek'" in greek or "'Greece'" in greek


def test_serve_refuses_a_missing_data_dir(tmp_path: Path):
    result = CliRunner().invoke(main, ["serve", "--data-dir", str(tmp_path / "nope"), "--port", "1"])
    assert result.exit_code == 2 and "no such data directory" in result.output and "feeds init" in result.output


def test_check_json_gives_counts_and_the_time_of_each_step(data_dir: Path):
    result = run("check", "--json", "--data-dir", str(data_dir))
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert (report["articles"], report["errors"]) == (12, 0)
    assert set(report["seconds"]) == {"tables", "parse", "ids", "tag", "index"}
    assert all(0 <= seconds < 30 for seconds in report["seconds"].values())


def test_the_program_exits_with_the_command_status_and_all_of_its_output(data_dir: Path, tmp_path: Path):
    """``feeds`` leaves without tearing down what it loaded; output and status must survive that."""
    import subprocess
    import sys

    program = [sys.executable, "-m", "feeds.cli"]
    out = tmp_path / "out"
    built = subprocess.run(
        [*program, "build", str(out), "--base-url", "https://x.example", "--data-dir", str(data_dir), "--json"],
        capture_output=True,
        text=True,
    )
    assert built.returncode == 0, built.stderr
    summary = json.loads(built.stdout)  # complete: the buffer was flushed before leaving
    assert summary["files"] == sum(1 for p in out.rglob("*") if p.is_file())
    rows = subprocess.run([*program, "articles", "--json", "--data-dir", str(data_dir)], capture_output=True)
    assert rows.returncode == 0 and len(json.loads(rows.stdout)) == 12
    (data_dir / "more.txt").write_text("Broken\n@date: not a date\n\nText.\n", "utf-8")
    checked = subprocess.run([*program, "check", "--data-dir", str(data_dir)], capture_output=True, text=True)
    assert checked.returncode == 1 and "more.txt:2: error: cannot read the date" in checked.stdout + checked.stderr
    usage = subprocess.run([*program, "build"], capture_output=True, text=True)
    assert usage.returncode == 2 and "Missing argument" in usage.stderr


def test_init_makes_a_site_that_every_command_finds_in_its_directory(tmp_path: Path, monkeypatch):
    result = run("init", str(tmp_path / "site"))
    assert result.exit_code == 0, result.output
    site = tmp_path / "site"
    assert sorted(p.name for p in site.iterdir()) == [".gitignore", "articles.txt", "site.toml"]
    settings = tomllib.loads((site / "site.toml").read_text("utf-8"))
    assert {"title", "description", "language", "base_url", "tag_authority", "timezone"} <= set(settings)
    assert "ledger.json.lock" in (site / ".gitignore").read_text("utf-8").split()
    assert "ledger.json" not in (site / ".gitignore").read_text("utf-8").split()  # the ledger is committed
    monkeypatch.delenv("FEEDS_DATA_DIR", raising=False)
    monkeypatch.chdir(site)
    checked = run("check")
    assert checked.exit_code == 0 and "3 articles, 0 errors, 0 warnings" in checked.output
    rows = json.loads(run("articles", "--json").stdout)
    assert [r["countries"] for r in rows] == [["NL"], ["CL"], ["CA"]]
    assert all(r["id"].startswith("tag:news.example.org,") for r in rows)
    assert (site / "ledger.json").is_file()  # found here, written here
    monkeypatch.chdir(tmp_path)  # a site named data/ under the current directory
    (tmp_path / "site").rename(tmp_path / "data")
    assert "3 articles" in run("check").output


def test_a_named_data_dir_wins_and_needs_only_a_listing(tmp_path: Path, monkeypatch):
    run("init", str(tmp_path / "found"))
    named = tmp_path / "named"
    named.mkdir()
    (named / "news.txt").write_text("Greek general strike\n\nWorkers in Athens stopped work.\n", "utf-8")
    elsewhere = tmp_path / "env"
    elsewhere.mkdir()
    (elsewhere / "news.txt").write_text("One\n\nText.\n\nTwo\n\nText.\n", "utf-8")
    monkeypatch.chdir(tmp_path / "found")
    runner = CliRunner(env={"FEEDS_DATA_DIR": str(elsewhere)})
    assert "2 articles" in runner.invoke(main, ["check"]).output  # FEEDS_DATA_DIR before the current directory
    assert "1 articles" in runner.invoke(main, ["check", "--data-dir", str(named)]).output  # --data-dir first
    rows = json.loads(run("articles", "--json", "--data-dir", str(named)).stdout)
    assert rows[0]["countries"] == ["GR"] and rows[0]["id"].startswith("tag:news.example.org,")


def test_without_a_data_dir_every_command_says_to_run_init(tmp_path: Path, monkeypatch):
    monkeypatch.delenv("FEEDS_DATA_DIR", raising=False)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "notes.txt").write_text("A listing, but no site.toml beside it.\n", "utf-8")
    for args in (["check"], ["articles", "--json"], ["build", "out"], ["serve"], ["explain", "x"], ["nginx-map"]):
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 2, (args, result.output)
        assert "feeds init" in result.output and "Traceback" not in result.output, args
    assert not (tmp_path / "ledger.json").exists() and not (tmp_path / "out").exists()


def test_init_never_overwrites(tmp_path: Path):
    (tmp_path / "site.toml").write_text('title = "Mine"\n', "utf-8")
    result = run("init", str(tmp_path))
    assert result.exit_code == 1 and "site.toml" in result.output and "nothing written" in result.output
    assert (tmp_path / "site.toml").read_text("utf-8") == 'title = "Mine"\n'
    assert sorted(p.name for p in tmp_path.iterdir()) == ["site.toml"]


def test_build_takes_the_base_url_from_site_toml(tmp_path: Path):
    run("init", str(tmp_path / "site"))
    site = tmp_path / "site"
    toml = (site / "site.toml").read_text("utf-8")
    (site / "site.toml").write_text(toml.replace("https://news.example.org", "https://feeds.example.net"), "utf-8")
    result = run("build", str(tmp_path / "out"), "--data-dir", str(site))
    assert result.exit_code == 0, result.output
    parsed = feedparser.parse((tmp_path / "out" / "feeds" / "all.atom").read_bytes())
    assert parsed.feed.link.startswith("https://feeds.example.net/") and len(parsed.entries) == 3
    (site / "site.toml").write_text(toml.replace('base_url = "https://news.example.org"', ""), "utf-8")
    unset = CliRunner(env={"FEEDS_BASE_URL": None})
    result = unset.invoke(main, ["build", str(tmp_path / "out2"), "--data-dir", str(site)])
    assert result.exit_code == 2 and "--base-url" in result.output and "base_url" in result.output


def test_version_is_the_installed_one():
    from importlib.metadata import version

    result = run("--version")
    assert result.exit_code == 0 and result.output.split()[-1] == version("feeds")


def test_the_service_finds_its_data_dir_by_the_same_rule(tmp_path: Path, monkeypatch):
    from feeds.config import NoDataDir
    from feeds.serve.app import create_app

    monkeypatch.delenv("FEEDS_DATA_DIR", raising=False)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(NoDataDir, match="feeds init"):
        create_app({"RELOAD_INTERVAL": 0})
    run("init", str(tmp_path / "data"))
    response = create_app({"RELOAD_INTERVAL": 0}).test_client().get("/feeds/countries/netherlands.atom")
    assert response.status_code == 200
    assert feedparser.parse(response.data).entries[0].title.startswith("Dock Workers")
