"""``feeds build``: the same bytes as the service, deterministic, atomic, incremental."""

from __future__ import annotations

import json
import os
from pathlib import Path

import feedparser
import pytest
from click.testing import CliRunner

from feeds.cli import main
from feeds.serve.app import create_app

from .test_conformance import METADATA

BASE = "https://news.example.org"


def build(data_dir: Path, out: Path, *extra: str):
    return CliRunner().invoke(main, ["build", str(out), "--base-url", BASE, "--data-dir", str(data_dir), *extra])


def tree(out: Path) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


def test_every_feed_file_is_byte_identical_to_the_service(data_dir: Path, tmp_path: Path):
    out = tmp_path / "out"
    result = build(data_dir, out)
    assert result.exit_code == 0, result.output
    client = create_app({"DATA_DIR": str(data_dir), "BASE_URL": BASE, "RELOAD_INTERVAL": 0}).test_client()
    files = tree(out)
    feeds = [name for name in files if name.startswith("feeds/")]
    assert "feeds/all.atom" in feeds and "feeds/countries/iceland.rss" in feeds
    for name in feeds + ["feeds.opml", "index.html"]:
        path = "/" if name == "index.html" else "/" + name
        assert client.get(path).data == files[name], name
    assert feedparser.parse(files["feeds/all.rss"]).entries[0].link.startswith(BASE + "/articles/")
    slug = feedparser.parse(files["feeds/all.atom"]).entries[0].link.rsplit("/", 1)[1]
    assert f"articles/{slug}/index.html" in files


def test_two_builds_are_identical_and_unchanged_files_keep_their_mtime(data_dir: Path, tmp_path: Path):
    out = tmp_path / "out"
    assert build(data_dir, out).exit_code == 0
    first = tree(out)
    past = 1_000_000_000
    os.utime(out / "feeds/all.atom", (past, past))
    result = build(data_dir, out, "--json")
    summary = json.loads(result.output)
    assert tree(out) == first
    assert summary["written"] == 0 and summary["unchanged"] == summary["files"] and summary["removed"] == 0
    assert (out / "feeds/all.atom").stat().st_mtime == past


@pytest.mark.parametrize("exchange", [True, False], ids=["renameat2", "two renames"])
def test_changed_and_removed_files(data_dir: Path, tmp_path: Path, monkeypatch, exchange):
    from feeds.build import tree as building

    if not exchange:  # a kernel or file system without RENAME_EXCHANGE: the fallback
        monkeypatch.setattr(building, "_RENAME_EXCHANGE", 1 << 30)
    out = tmp_path / "out"
    build(data_dir, out)
    stale = out / "old.html"
    stale.write_text("left over", "utf-8")
    (out / "gone" / "deeper").mkdir(parents=True)
    (out / "gone" / "deeper" / "index.html").write_text("left over too", "utf-8")
    listing = data_dir / "articles.txt"
    listing.write_text(listing.read_text("utf-8").replace("Regime Relents", "Regime Relents Again"), "utf-8")
    summary = json.loads(build(data_dir, out, "--json").output)
    assert summary["written"] > 0 and summary["removed"] == 2 and not stale.exists()
    assert not (out / "gone").exists()
    assert b"Regime Relents Again" in (out / "feeds/all.atom").read_bytes()
    assert sorted(os.listdir(tmp_path)) == ["data", "out"]  # the previous tree is gone


@pytest.mark.parametrize("writer", [False, True])
def test_bad_data_leaves_the_previous_output_untouched(data_dir: Path, tmp_path: Path, monkeypatch, writer):
    out = tmp_path / "out"
    build(data_dir, out)
    before = tree(out)
    (data_dir / "zz.txt").write_text("Broken\n@when: yesterday\n\nText.\n", "utf-8")
    writers = _writer(monkeypatch, writer)
    result = build(data_dir, out)
    assert result.exit_code != 0 and bool(writers) == writer
    assert f"{data_dir / 'zz.txt'}:2: error: unknown metadata key @when" in result.output
    assert tree(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "out"]  # no staging left behind
    _waited_for(writers)


def _waited_for(pids: list[int]) -> None:
    """Each of these forked processes has ended and been waited for (none is left running)."""
    for pid in pids:
        with pytest.raises(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)


def test_precompress_writes_gz_and_br(data_dir: Path, tmp_path: Path):
    import gzip

    import brotli

    out = tmp_path / "out"
    assert build(data_dir, out, "--precompress").exit_code == 0
    body = (out / "feeds/all.atom").read_bytes()
    assert gzip.decompress((out / "feeds/all.atom.gz").read_bytes()) == body
    assert brotli.decompress((out / "feeds/all.atom.br").read_bytes()) == body


def test_precompressed_files_of_unchanged_documents_are_kept(data_dir: Path, tmp_path: Path):
    out = tmp_path / "out"
    assert build(data_dir, out, "--precompress").exit_code == 0
    past = 1_000_000_000
    for name in ("feeds/all.atom.gz", "feeds/all.atom.br"):
        os.utime(out / name, (past, past))
    summary = json.loads(build(data_dir, out, "--precompress", "--json").output)
    assert summary["written"] == 0 and summary["unchanged"] == summary["files"]
    assert (out / "feeds/all.atom.gz").stat().st_mtime == past
    assert (out / "feeds/all.atom.br").stat().st_mtime == past


def test_a_rebuild_renders_only_what_changed_and_matches_a_clean_build(data_dir: Path, tmp_path: Path):
    out = tmp_path / "out"
    first = json.loads(build(data_dir, out, "--json").output)
    again = json.loads(build(data_dir, out, "--json").output)
    feeds_and_articles = sum(1 for name in tree(out) if name.startswith(("feeds/", "articles/")))
    assert first["rendered"] > feeds_and_articles
    assert again["rendered"] < first["rendered"] - feeds_and_articles + 1, "unchanged feeds were rendered"
    assert again["written"] == 0
    listing = data_dir / "articles.txt"
    old = "repression no longer works to cow the masses."
    listing.write_text(listing.read_text("utf-8").replace(old, old + " Miners join.", 1), "utf-8")
    edited = json.loads(build(data_dir, out, "--json").output)
    assert again["rendered"] < edited["rendered"] < first["rendered"] // 2
    clean = tmp_path / "clean"
    result = CliRunner().invoke(
        main, ["build", str(clean), "--base-url", BASE, "--data-dir", str(data_dir), "--cache-dir", "off"]
    )
    assert result.exit_code == 0, result.output
    assert tree(out) == tree(clean)


def test_a_build_into_an_empty_directory_reads_the_entries_the_last_one_made(data_dir: Path, tmp_path: Path):
    out, cache = tmp_path / "out", str(tmp_path / "cache")

    def fresh_build() -> dict:
        if out.exists():  # as a CI job finds it: the output gone, the cache directory restored
            out.rename(tmp_path / f"gone-{len(list(tmp_path.iterdir()))}")
        result = build(data_dir, out, "--json", "--cache-dir", cache)
        assert result.exit_code == 0, result.output
        return json.loads(result.output)

    first = fresh_build()
    with_items = [n for n, body in tree(out).items() if n.startswith("feeds/") and b"<entry>" in body]
    assert first["entries_made"] >= 12 * 2 and with_items
    assert fresh_build()["entries_made"] == 0
    # one summary edited: its Atom entry and its RSS item are made again, and nothing else
    listing = data_dir / "articles.txt"
    old = "repression no longer works to cow the masses."
    listing.write_text(listing.read_text("utf-8").replace(old, old + " Miners join.", 1), "utf-8")
    assert fresh_build()["entries_made"] == 2
    clean = tmp_path / "clean"
    assert build(data_dir, clean, "--cache-dir", "off").exit_code == 0
    assert tree(out) == tree(clean)
    # a damaged cache file only costs the time to make the entries again
    for kept in (tmp_path / "cache" / "builds").glob("*.entries"):
        kept.write_bytes(kept.read_bytes()[:-40])
    assert fresh_build()["entries_made"] == first["entries_made"]
    assert tree(out) == tree(clean)
    # entries link to the base URL: another one makes them again
    out.rename(tmp_path / "gone-last")
    moved = json.loads(build(data_dir, out, "--json", "--cache-dir", cache, "--base-url", BASE + "/news").output)
    assert moved["entries_made"] == first["entries_made"]


def test_kept_entries_made_by_other_code_are_not_used(data_dir: Path, tmp_path: Path, monkeypatch):
    from feeds.build import tree as building

    out, cache = tmp_path / "out", str(tmp_path / "cache")
    first = json.loads(build(data_dir, out, "--json", "--cache-dir", cache).output)
    out.rename(tmp_path / "gone")
    monkeypatch.setattr(building, "_code_digest", lambda: "another version")
    again = json.loads(build(data_dir, out, "--json", "--cache-dir", cache).output)
    assert again["entries_made"] == first["entries_made"] > 0


def test_a_file_changed_by_hand_is_written_again(data_dir: Path, tmp_path: Path):
    out = tmp_path / "out"
    assert build(data_dir, out).exit_code == 0
    good = (out / "feeds/countries/peru.atom").read_bytes()
    (out / "feeds/countries/peru.atom").write_bytes(b"<feed/>")
    summary = json.loads(build(data_dir, out, "--json").output)
    assert (out / "feeds/countries/peru.atom").read_bytes() == good
    assert summary["written"] == 1


def _two_cores(monkeypatch) -> None:
    """Let the shipped data (fewer articles than a worker needs) be built with a forked worker."""
    from feeds.build import tree as building
    from feeds.tagging import batch

    monkeypatch.setattr(batch, "PARALLEL_MIN", 1)
    monkeypatch.setattr(building, "SHARE_MIN", 1)
    monkeypatch.setattr(batch.threading, "active_count", lambda: 1)
    monkeypatch.setattr(batch.os, "sched_getaffinity", lambda _pid: {0, 1}, raising=False)


@pytest.mark.parametrize("worker", ["works", "fails"])
def test_a_build_shared_with_a_worker_equals_one_made_alone(data_dir: Path, tmp_path: Path, monkeypatch, worker):
    alone = tmp_path / "alone"
    first = json.loads(build(data_dir, alone, "--json", "--precompress", "--cache-dir", "off").output)
    _two_cores(monkeypatch)
    from feeds.build import tree as building
    from feeds.tagging import batch

    shares: list[int] = []
    real_in_two = batch.in_two

    def in_two(mine, theirs):
        shares.append(1)
        return real_in_two(mine, theirs)

    monkeypatch.setattr(batch, "in_two", in_two)
    if worker == "fails":

        def broken(job, paths):  # the worker dies halfway, after writing some files
            building._Job.run(job, paths[: len(paths) // 2], None, building._Sink(job.tree, None, job.precompress))
            raise RuntimeError("worker lost")

        monkeypatch.setattr(building, "_worker", broken)
    shared, cache = tmp_path / "shared", str(tmp_path / "cache")
    result = build(data_dir, shared, "--json", "--precompress", "--cache-dir", cache)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert shares, "no worker was forked"
    assert tree(shared) == tree(alone)
    for count in ("files", "written", "rendered"):
        assert summary[count] == first[count], count
    again = json.loads(
        build(data_dir, shared, "--json", "--precompress", "--cache-dir", str(tmp_path / "cache")).output
    )
    assert again["written"] == 0 and again["rendered"] < first["rendered"] // 2, "the worker's manifest was lost"


def _writer(monkeypatch, used: bool) -> list[int]:
    """Have files written by a forked process (``used``) or by the building one; the writers' ids."""
    from feeds.build import tree as building
    from feeds.tagging import batch

    monkeypatch.setattr(batch.threading, "active_count", lambda: 1)
    monkeypatch.setattr(batch.os, "sched_getaffinity", lambda _pid: {0, 1}, raising=False)
    if not used:
        monkeypatch.setattr(building._Writer, "start", classmethod(lambda cls: None))
    pids: list[int] = []
    real = building._Writer.__init__

    def init(self) -> None:
        real(self)
        pids.append(self._pid)

    monkeypatch.setattr(building._Writer, "__init__", init)
    return pids


@pytest.mark.parametrize("precompress", [False, True])
def test_files_written_by_a_writing_process_equal_files_written_in_place(
    data_dir: Path, tmp_path: Path, monkeypatch, precompress
):
    from feeds.build.tree import build as build_site

    def run(out: Path):
        return build_site(data_dir, out, BASE, precompress=precompress, cache_dir=tmp_path / "cache")

    reports, trees, rerendered = {}, {}, {}
    for used in (False, True):
        with monkeypatch.context() as patch:
            writers = _writer(patch, used)
            out = tmp_path / f"out-{used}"
            reports[used], trees[used] = run(out), tree(out)
            assert bool(writers) == used
            _waited_for(writers)
            # what the writer counted and recorded came back: a rebuild links every file and renders
            # only the documents whose inputs are not digested (index, pages of countries and topics)
            again = run(out)
            assert again.written == 0 and again.unchanged == again.files
            rerendered[used] = again.rendered
    assert trees[True] == trees[False]
    assert reports[True].files == len(trees[True])
    assert reports[True].changed_feeds and reports[True].changed_feeds == reports[False].changed_feeds
    assert reports[True].as_dict() == reports[False].as_dict()
    assert rerendered[True] == rerendered[False] < reports[True].rendered // 2


@pytest.mark.parametrize("handed", ["every RSS feed", "as the writer waits"])
def test_rss_feeds_put_together_by_the_writer_equal_feeds_rendered_here(
    data_dir: Path, tmp_path: Path, monkeypatch, handed
):
    from feeds.build import tree as building
    from feeds.build.tree import build as build_site

    listing = data_dir / "articles.txt"
    listing.write_text(METADATA + listing.read_text("utf-8"), "utf-8")  # every field an entry shows
    trees, reports = {}, {}
    assembled: list[str] = []  # what the writer put together
    real_send = building._Writer._send

    def send(self, command):
        if command[0] == "assemble":
            assembled.append(command[1])
        real_send(self, command)

    for used in (False, True):
        with monkeypatch.context() as patch:
            writers = _writer(patch, used)
            patch.setattr(building._Writer, "_send", send)
            if handed == "every RSS feed":
                patch.setattr(building._Writer, "_handed", lambda self, fmt: fmt == "rss")
            out = tmp_path / f"out-{used}"
            reports[used] = build_site(data_dir, out, BASE, cache_dir=tmp_path / f"cache-{used}")
            trees[used] = tree(out)
            # the entries the writer made came back and were kept: the next build makes none
            out.rename(tmp_path / f"gone-{used}")
            assert build_site(data_dir, out, BASE, cache_dir=tmp_path / f"cache-{used}").entries_made == 0
            assert tree(out) == trees[used]
            _waited_for(writers)
        if used and handed == "every RSS feed":
            with_items = [
                name
                for name, body in trees[used].items()
                if name.endswith(".rss") and not name.startswith("feeds/archive/") and b"<item>" in body
            ]
            assert sorted(assembled) == sorted(with_items) and len(with_items) > 10
        assert all(rel.endswith(".rss") for rel in assembled)
    assert trees[True] == trees[False]
    assert reports[True].as_dict() == reports[False].as_dict()
    assert reports[True].changed_feeds == reports[False].changed_feeds
    france = feedparser.parse(trees[True]["feeds/countries/france.rss"])
    havre = next(e for e in france.entries if "Le Havre" in e.title)
    assert havre.author == "Jane Doe" and havre.link == "https://example.org/le-havre?from=feeds&lang=en"
    assert havre.published == "Fri, 17 Mar 2023 08:30:00 +0000"


@pytest.mark.parametrize("failure", ["no space", "killed"])
def test_a_writing_process_that_fails_leaves_the_previous_output(data_dir: Path, tmp_path: Path, monkeypatch, failure):
    import errno

    from feeds.build import tree as building

    out = tmp_path / "out"
    assert build(data_dir, out).exit_code == 0
    before = tree(out)
    listing = data_dir / "articles.txt"
    listing.write_text(listing.read_text("utf-8").replace("Regime", "Government"), "utf-8")
    writers = _writer(monkeypatch, True)
    if failure == "no space":
        real_place = building._Tree.place

        def place(self, rel: str, data: bytes) -> None:
            if self.report.files > 20:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), self.new_path(rel))
            real_place(self, rel, data)

        monkeypatch.setattr(building._Tree, "place", place)
    else:
        monkeypatch.setattr(building, "_serve", lambda *args: os._exit(9))
    result = build(data_dir, out)
    assert writers and result.exit_code == 1
    expected = "No space left on device" if failure == "no space" else "ended unexpectedly"
    assert "cannot write the output" in result.output and expected in result.output, result.output
    assert "Traceback" not in result.output
    assert tree(out) == before
    assert sorted(os.listdir(tmp_path)) == ["data", "out"]
    _waited_for(writers)


def test_an_interrupted_build_stops_its_writer_before_removing_what_it_wrote(
    data_dir: Path, tmp_path: Path, monkeypatch
):
    import time

    from feeds.build import tree as building

    out = tmp_path / "out"
    assert build(data_dir, out).exit_code == 0
    before = tree(out)
    writers = _writer(monkeypatch, True)
    real_place = building._Tree.place

    def slow_place(self, rel: str, data: bytes) -> None:  # the writer (a fork of this process) lags
        time.sleep(0.01)
        real_place(self, rel, data)

    monkeypatch.setattr(building._Tree, "place", slow_place)
    real_run = building._Job.run

    def interrupted(self, paths, progress, sink) -> None:
        real_run(self, paths[:60], progress, sink)
        raise KeyboardInterrupt

    monkeypatch.setattr(building._Job, "run", interrupted)
    alive_at_removal: list[int] = []
    real_rmtree = building.shutil.rmtree

    def rmtree(path, *args, **kwargs) -> None:
        for pid in writers:
            try:
                os.kill(pid, 0)  # no error: the writer still runs (or is not yet waited for)
                alive_at_removal.append(pid)
            except ProcessLookupError:
                pass
        real_rmtree(path, *args, **kwargs)

    monkeypatch.setattr(building.shutil, "rmtree", rmtree)
    with pytest.raises(KeyboardInterrupt):
        building.build(data_dir, out, BASE)
    assert writers and not alive_at_removal, "the staging tree was removed while the writer could still write"
    _waited_for(writers)
    assert sorted(os.listdir(tmp_path)) == ["data", "out"]
    assert tree(out) == before
