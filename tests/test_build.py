"""``feeds build``: the same bytes as the service, deterministic, atomic, incremental."""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
from pathlib import Path

import feedparser
import pytest
from click.testing import CliRunner

from feeds.build.tree import swap
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


def test_changed_and_removed_files(data_dir: Path, tmp_path: Path):
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


@pytest.mark.parametrize("exchange", [True, False], ids=["renameat2", "two renames"])
def test_the_swap_puts_the_new_tree_in_place_and_returns_the_old_one(tmp_path: Path, exchange: bool):
    out, staging = tmp_path / "out", tmp_path / "staging"
    assert swap(staging_with(staging, "new"), out, exchange=exchange) is None  # nothing to swap with
    assert (out / "index.html").read_text() == "new"
    previous = swap(staging_with(staging, "newer"), out, exchange=exchange)
    assert (out / "index.html").read_text() == "newer"
    assert previous is not None and (Path(previous) / "index.html").read_text() == "new"
    assert sorted(os.listdir(tmp_path)) == sorted(["out", Path(previous).name])


def staging_with(path: Path, text: str) -> Path:
    path.mkdir()
    (path / "index.html").write_text(text)
    return path


def test_bad_data_leaves_the_previous_output_untouched(data_dir: Path, tmp_path: Path):
    out = tmp_path / "out"
    build(data_dir, out)
    before = tree(out)
    (data_dir / "zz.txt").write_text("Broken\n@when: yesterday\n\nText.\n", "utf-8")
    result = build(data_dir, out)
    assert result.exit_code != 0
    assert f"{data_dir / 'zz.txt'}:2: error: unknown metadata key @when" in result.output
    assert tree(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "out"]  # no staging left behind


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


def test_a_file_changed_by_hand_is_written_again(data_dir: Path, tmp_path: Path):
    out = tmp_path / "out"
    assert build(data_dir, out).exit_code == 0
    good = (out / "feeds/countries/peru.atom").read_bytes()
    (out / "feeds/countries/peru.atom").write_bytes(b"<feed/>")
    summary = json.loads(build(data_dir, out, "--json").output)
    assert (out / "feeds/countries/peru.atom").read_bytes() == good
    assert summary["written"] == 1


def _cached_build(data_dir: Path, out: Path, cache: Path, *extra: str) -> dict:
    result = build(data_dir, out, "--json", "--cache-dir", str(cache), *extra)
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def _clean(data_dir: Path, tmp_path: Path, *extra: str) -> dict[str, bytes]:
    clean = tmp_path / "clean"
    assert build(data_dir, clean, "--cache-dir", "off", *extra).exit_code == 0
    return tree(clean)


def _same_size_and_mtime(path: Path, data: bytes) -> None:
    """Replace the bytes of ``path`` keeping its size and mtime: only a digest of the bytes tells."""
    info = path.stat()
    assert len(data) == info.st_size
    path.write_bytes(data)
    os.utime(path, ns=(info.st_atime_ns, info.st_mtime_ns))


@pytest.mark.parametrize("damage", ["same size and mtime", "group-writable", "foreign owner", "symlink"])
def test_a_previous_file_that_fails_the_checks_is_rendered_again(data_dir: Path, tmp_path: Path, damage: str):
    out, cache = tmp_path / "out", tmp_path / "cache"
    _cached_build(data_dir, out, cache, "--precompress")
    target = out / "feeds/countries/peru.atom"
    good = target.read_bytes()
    if damage == "same size and mtime":
        _same_size_and_mtime(target, good.replace(b"Peru", b"Evil"))
    elif damage == "group-writable":
        target.chmod(0o666)
    elif damage == "foreign owner":
        if os.getuid() != 0:
            pytest.skip("only root can give a file to another user")
        os.chown(target, 65534, 65534)
    else:
        elsewhere = tmp_path / "planted.atom"
        elsewhere.write_bytes(good)
        target.unlink()
        target.symlink_to(elsewhere)
    again = _cached_build(data_dir, out, cache, "--precompress")
    assert again["written"] >= 1
    assert not target.is_symlink() and target.read_bytes() == good
    assert target.stat().st_uid == os.getuid() and target.stat().st_mode & 0o777 == 0o644
    assert tree(out) == _clean(data_dir, tmp_path, "--precompress")


def test_a_compressed_file_changed_by_hand_is_made_again(data_dir: Path, tmp_path: Path):
    import gzip

    out, cache = tmp_path / "out", tmp_path / "cache"
    _cached_build(data_dir, out, cache, "--precompress")
    target = out / "feeds/all.atom.gz"
    body = (out / "feeds/all.atom").read_bytes()
    _same_size_and_mtime(target, bytes(reversed(target.read_bytes())))
    _cached_build(data_dir, out, cache, "--precompress")
    assert gzip.decompress(target.read_bytes()) == body


@pytest.mark.parametrize("tampering", ["digests swapped", "other code", "world-writable", "not JSON"])
def test_a_manifest_that_cannot_be_trusted_costs_renders_never_a_stale_file(
    data_dir: Path, tmp_path: Path, tampering: str
):
    from feeds.build.manifest import Manifest

    out, cache = tmp_path / "out", tmp_path / "cache"
    first = _cached_build(data_dir, out, cache)
    listing = data_dir / "articles.txt"
    listing.write_text(listing.read_text("utf-8").replace("Regime Relents", "Regime Relents Again"), "utf-8")
    manifest = Manifest(cache, out.resolve()).path
    saved = json.loads(manifest.read_bytes())
    if tampering == "digests swapped":
        # every input digest moved to another file: none is its own any more
        files = saved["files"]
        names = sorted(files)
        saved["files"] = {name: [files[names[n - 1]][0], *files[name][1:]] for n, name in enumerate(names)}
    elif tampering == "other code":
        saved["code"] = "another version"
    manifest.write_text("{" if tampering == "not JSON" else json.dumps(saved))
    if tampering == "world-writable":
        manifest.chmod(0o666)
    again = _cached_build(data_dir, out, cache)
    if tampering != "digests swapped":
        assert again["rendered"] == first["rendered"]
    assert tree(out) == _clean(data_dir, tmp_path)
    assert b"Regime Relents Again" in (out / "feeds/all.atom").read_bytes()


def test_a_build_into_an_empty_directory_renders_everything(data_dir: Path, tmp_path: Path):
    out, cache = tmp_path / "out", tmp_path / "cache"
    first = _cached_build(data_dir, out, cache)
    out.rename(tmp_path / "gone")  # as a CI job finds it: the output gone, the cache directory restored
    again = _cached_build(data_dir, out, cache)
    assert again["rendered"] == first["rendered"] and again["written"] == again["files"]
    assert tree(out) == tree(tmp_path / "gone")


def test_a_rebuild_links_every_file_and_names_only_the_feeds_that_changed(data_dir: Path, tmp_path: Path):
    from feeds.build.tree import build as build_site

    out, cache = tmp_path / "out", tmp_path / "cache"
    first = build_site(data_dir, out, BASE, cache_dir=cache)
    assert first.files == len(tree(out)) and "/feeds/all.atom" in first.changed_feeds
    again = build_site(data_dir, out, BASE, cache_dir=cache)
    assert again.written == 0 and again.unchanged == again.files and again.changed_feeds == []
    assert again.rendered == 0  # every document has an input digest
    listing = data_dir / "articles.txt"
    listing.write_text(listing.read_text("utf-8").replace("Regime Relents", "Regime Relents Again"), "utf-8")
    edited = build_site(data_dir, out, BASE, cache_dir=cache)
    assert "/feeds/all.atom" in edited.changed_feeds and "/feeds/all.rss" in edited.changed_feeds
    assert "/feeds/countries/peru.atom" not in edited.changed_feeds
    for path in edited.changed_feeds:
        assert b"Regime Relents Again" in (out / path.lstrip("/")).read_bytes(), path


def test_rss_entries_carry_the_author_link_and_date_as_feed_readers_read_them(data_dir: Path, tmp_path: Path):
    listing = data_dir / "articles.txt"
    listing.write_text(METADATA + listing.read_text("utf-8"), "utf-8")  # every field an entry shows
    out = tmp_path / "out"
    assert build(data_dir, out).exit_code == 0
    files = tree(out)
    for name in ("feeds/countries/france.rss", "feeds/countries/france.atom"):
        france = feedparser.parse(files[name])
        assert not france.bozo, france.get("bozo_exception")
        havre = next(e for e in france.entries if "Le Havre" in e.title)
        assert havre.author == "Jane Doe" and havre.link == "https://example.org/le-havre?from=feeds&lang=en"
        assert tuple(havre.published_parsed)[:6] == (2023, 3, 17, 8, 30, 0)


def _build_in_a_child(
    data_dir: Path, out: Path, file_size_limit: int, cache: Path | None = None
) -> subprocess.CompletedProcess:
    """``feeds build`` in a process that may not write a file larger than ``file_size_limit``: a
    write beyond it fails with EFBIG (the signal that would end the process is ignored), as on a
    full disk."""

    def limit() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (file_size_limit, file_size_limit))

    cmd = [sys.executable, "-m", "feeds.cli", "build", str(out), "--base-url", BASE]
    cmd += ["--data-dir", str(data_dir), "--cache-dir", str(cache) if cache else "off"]
    return subprocess.run(cmd, capture_output=True, text=True, preexec_fn=limit, timeout=120)


def test_a_write_that_fails_leaves_the_previous_output(data_dir: Path, tmp_path: Path):
    out = tmp_path / "out"
    assert build(data_dir, out).exit_code == 0
    before = tree(out)
    listing = data_dir / "articles.txt"
    listing.write_text(listing.read_text("utf-8").replace("Regime", "Government"), "utf-8")
    largest = max(len(body) for body in before.values())
    result = _build_in_a_child(data_dir, out, largest // 2)
    assert result.returncode == 1, result.stderr
    assert "cannot write the output" in result.stderr and "File too large" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    assert tree(out) == before
    assert sorted(os.listdir(tmp_path)) == ["data", "out"]


def test_an_interrupted_build_leaves_the_previous_output_and_no_staging(data_dir: Path, tmp_path: Path):
    from feeds.build.tree import build as build_site

    out = tmp_path / "out"
    assert build(data_dir, out).exit_code == 0
    before = tree(out)
    listing = data_dir / "articles.txt"
    listing.write_text(listing.read_text("utf-8").replace("Regime", "Government"), "utf-8")

    def interrupt(done: int, total: int) -> None:
        if done == total // 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        build_site(data_dir, out, BASE, precompress=True, progress=interrupt)
    assert sorted(os.listdir(tmp_path)) == ["data", "out"]
    assert tree(out) == before


@pytest.mark.parametrize("edit", ["summary edited", "article added", "site renamed"])
def test_pages_with_the_same_input_digest_have_the_same_bytes(data_dir: Path, edit: str):
    from feeds.pipeline.load import load
    from feeds.render.documents import Publisher

    first = Publisher(load(data_dir).site, BASE)
    listing = data_dir / "articles.txt"
    text = listing.read_text("utf-8")
    if edit == "summary edited":
        old = "repression no longer works to cow the masses."
        listing.write_text(text.replace(old, old + " Miners join.", 1), "utf-8")
    elif edit == "article added":
        listing.write_text("Chile: Dockers Strike in Valparaíso\n\nPorts stop.\n\n" + text, "utf-8")
    else:
        site = data_dir / "site.toml"
        site.write_text(site.read_text("utf-8").replace("title = ", 'title = "Renamed" #', 1), "utf-8")
    second = Publisher(load(data_dir).site, BASE)
    same, differ = [], []
    for path in [p for p in second.paths() if not p.startswith("/feeds/")]:
        old, new = first.resolve(path), second.resolve(path)
        if old is None:
            continue
        if old.inputs() == new.inputs():
            assert (old.render(), old.last_modified) == (new.render(), new.last_modified), path
            same.append(path)
        else:
            differ.append(path)
    if edit == "site renamed":
        assert not same
    else:
        assert len(same) > 100 and "/" in differ


def test_feeds_have_the_same_bytes_however_few_entries_are_kept(data_dir: Path):
    """The service keeps a bounded number of the entries made for one document; one made again
    after it was dropped has the same bytes."""
    from feeds.pipeline.load import load
    from feeds.render.documents import Publisher

    site = load(data_dir).site
    every, few = Publisher(site, BASE, keep_entries=None), Publisher(site, BASE, keep_entries=3)
    paths = [p for p in every.paths() if p.startswith("/feeds/") and p.endswith((".atom", ".rss", ".json"))]
    assert len(paths) > 30
    for path in paths + paths[::-1]:  # and again, out of order
        assert few.resolve(path).render() == every.resolve(path).render(), path


def test_files_written_under_a_permissive_umask_are_linked_by_the_next_build(data_dir: Path, tmp_path: Path):
    out, cache = tmp_path / "out", tmp_path / "cache"
    previous = os.umask(0o002)  # as for a user with a group of their own
    try:
        _cached_build(data_dir, out, cache)
        again = _cached_build(data_dir, out, cache)
    finally:
        os.umask(previous)
    assert again["written"] == 0 and again["unchanged"] == again["files"]


def _inodes(out: Path) -> dict[str, tuple[int, int, int]]:
    """Each file's inode, mtime and ctime: a rewrite, a rename or a new hard link changes one."""
    found = {}
    for path in out.rglob("*"):
        if path.is_file():
            info = path.stat()
            found[str(path.relative_to(out))] = (info.st_ino, info.st_mtime_ns, info.st_ctime_ns)
    return found


def test_a_rebuild_in_place_keeps_every_unchanged_file_as_it_is(data_dir: Path, tmp_path: Path):
    from feeds.build.tree import build as build_site

    out, cache = tmp_path / "out", tmp_path / "cache"
    build_site(data_dir, out, BASE, cache_dir=cache, precompress=True)
    before = _inodes(out)
    again = build_site(data_dir, out, BASE, cache_dir=cache, precompress=True)
    assert again.rendered == 0 and again.written == 0 and again.removed == 0
    assert _inodes(out) == before  # not rewritten, not even linked again
    listing = data_dir / "articles.txt"
    listing.write_text(listing.read_text("utf-8").replace("Regime Relents", "Regime Relents Again"), "utf-8")
    edited = build_site(data_dir, out, BASE, cache_dir=cache, precompress=True)
    after = _inodes(out)
    changed = {name for name in after if after[name] != before.get(name)}
    assert "feeds/all.atom" in changed and "feeds/all.atom.br" in changed and "index.html" in changed
    assert "feeds/countries/peru.atom" not in changed
    assert len(changed) == edited.written < len(after) // 4
    assert sorted(os.listdir(tmp_path)) == ["cache", "data", "out"]  # no staging left
    assert tree(out) == _clean(data_dir, tmp_path, "--precompress")


def test_an_interrupted_rebuild_in_place_leaves_every_file_as_it_was(data_dir: Path, tmp_path: Path):
    from feeds.build.tree import build as build_site

    out, cache = tmp_path / "out", tmp_path / "cache"
    build_site(data_dir, out, BASE, cache_dir=cache)
    before, stamps = tree(out), _inodes(out)
    listing = data_dir / "articles.txt"
    listing.write_text(listing.read_text("utf-8").replace("Regime", "Government"), "utf-8")

    def interrupt(done: int, total: int) -> None:
        if done == total - 1:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        build_site(data_dir, out, BASE, cache_dir=cache, progress=interrupt)
    assert tree(out) == before and _inodes(out) == stamps
    assert sorted(os.listdir(tmp_path)) == ["cache", "data", "out"]
    build_site(data_dir, out, BASE, cache_dir=cache)  # the next build completes what was left
    assert tree(out) == _clean(data_dir, tmp_path)


def test_a_rebuild_in_place_that_cannot_write_leaves_every_file_as_it_was(data_dir: Path, tmp_path: Path):
    out, cache = tmp_path / "out", tmp_path / "cache"
    _cached_build(data_dir, out, cache)
    before = tree(out)
    listing = data_dir / "articles.txt"
    listing.write_text(listing.read_text("utf-8").replace("Regime", "Government"), "utf-8")
    largest = max(len(body) for name, body in before.items() if name.startswith("feeds/"))
    result = _build_in_a_child(data_dir, out, largest // 2, cache)
    assert result.returncode == 1, result.stderr
    assert "cannot write the output" in result.stderr and "is unchanged" in result.stderr, result.stderr
    assert tree(out) == before
    assert sorted(os.listdir(tmp_path)) == ["cache", "data", "out"]


def test_a_rebuild_in_place_removes_what_is_no_longer_built_and_replaces_what_was_put_in_the_way(
    data_dir: Path, tmp_path: Path
):
    out, cache = tmp_path / "out", tmp_path / "cache"
    _cached_build(data_dir, out, cache)
    (out / "gone" / "deeper").mkdir(parents=True)
    (out / "gone" / "deeper" / "index.html").write_text("left over", "utf-8")
    (out / "feeds/all.json").unlink()
    (out / "feeds/all.json").mkdir()  # a directory where a feed must be
    (out / "feeds/all.json" / "x").write_text("in the way", "utf-8")
    summary = _cached_build(data_dir, out, cache)
    assert summary["removed"] == 1 and not (out / "gone").exists()
    assert tree(out) == _clean(data_dir, tmp_path)


def test_a_rebuild_with_another_entry_limit_matches_a_clean_build(data_dir: Path, tmp_path: Path):
    out, cache = tmp_path / "out", tmp_path / "cache"
    _cached_build(data_dir, out, cache, "--entry-limit", "2")
    again = _cached_build(data_dir, out, cache, "--entry-limit", "3")
    assert again["written"] > 0
    assert tree(out) == _clean(data_dir, tmp_path, "--entry-limit", "3")


def test_a_rebuild_with_nothing_changed_renders_nothing_and_keeps_every_file(data_dir: Path, tmp_path: Path):
    out, cache = tmp_path / "out", tmp_path / "cache"
    first = _cached_build(data_dir, out, cache, "--precompress")
    before = _inodes(out)
    again = _cached_build(data_dir, out, cache, "--precompress")
    assert again | {"seconds": 0} == first | {"seconds": 0, "written": 0, "unchanged": first["files"], "rendered": 0}
    assert _inodes(out) == before
    # a setting is part of what the build reads: another --max-age renders the feeds again
    other = _cached_build(data_dir, out, cache, "--precompress", "--max-age", "600")
    assert other["rendered"] > 0 and tree(out) == _clean(data_dir, tmp_path, "--precompress", "--max-age", "600")


def _large_site(tmp_path: Path) -> tuple[Path, str]:
    """A data directory of 2,000 articles, past the size at which a build forks, and its listing;
    article ``n`` is about ``countries[n % 5]``."""
    data = tmp_path / "data"
    data.mkdir()
    countries = ("France", "Peru", "Chile", "Kenya", "Nepal")
    listing = "".join(
        f"{countries[n % 5]}: Strike number {n} goes on\n\nWorkers in {countries[n % 5]} stop for day {n}.\n\n"
        for n in range(2000)
    )
    (data / "articles.txt").write_text(listing, "utf-8")
    return data, listing


def test_a_large_site_is_built_whole_and_kept_whole(tmp_path: Path):
    """Past 2,000 documents a second process renders the article pages: every one is in the tree,
    with the service's bytes, and recorded, so that the next build keeps each."""
    data, listing = _large_site(tmp_path)
    out, cache = tmp_path / "out", tmp_path / "cache"
    first = _cached_build(data, out, cache)
    files = tree(out)
    pages = sorted(name for name in files if name.startswith("articles/"))
    assert first["written"] == first["files"] == len(files) and len(pages) == 2000
    client = create_app({"DATA_DIR": str(data), "BASE_URL": BASE, "RELOAD_INTERVAL": 0}).test_client()
    for name in pages[::97] + ["feeds/all.atom", "index.html"]:
        path = "/" if name == "index.html" else "/" + name.removesuffix("/index.html")
        assert client.get(path).data == files[name], name
    again = _cached_build(data, out, cache)
    assert again["rendered"] == again["written"] == 0 and again["unchanged"] == len(files)


def test_a_large_site_rebuilt_in_place_matches_a_clean_build(tmp_path: Path):
    """Past 2,000 documents, a rebuild in place shares the work with a second process too: what it
    keeps, renders and writes there is recorded, so the tree is a clean build's and the next
    rebuild keeps every file."""
    data, listing = _large_site(tmp_path)
    out, cache = tmp_path / "out", tmp_path / "cache"
    first = _cached_build(data, out, cache)
    before = _inodes(out)
    (data / "articles.txt").write_text(listing.replace("stop for day 1000.", "stop for day 1000 again."), "utf-8")
    edited = _cached_build(data, out, cache)
    assert 0 < edited["rendered"] < 50 and edited["files"] == first["files"]
    assert tree(out) == _clean(data, tmp_path)
    page = "articles/france-strike-number-1000-goes-on/index.html"
    changed = {name for name, stat in _inodes(out).items() if before.get(name) != stat}
    assert page in changed and len(changed) == edited["written"] < 50
    # another base URL changes every document: rendered in place by both processes
    was = tree(out)
    everything = _cached_build(data, out, cache, "--base-url", "https://other.example.org")
    now = tree(out)
    assert now == _clean(data, tmp_path / "other", "--base-url", "https://other.example.org")
    assert everything["rendered"] == first["rendered"]
    assert everything["written"] == sum(was[name] != body for name, body in now.items()) > 3000
    again = _cached_build(data, out, cache, "--base-url", "https://other.example.org")
    assert again["written"] == 0 and again["unchanged"] == again["files"]
