"""The ``feeds`` command line, run as a user runs it."""

from __future__ import annotations

import json
from pathlib import Path

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
    assert result.exit_code == 1 and "no such data directory" in result.output


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
