"""``feeds publish`` against a real S3 API server on loopback: moto's standalone server, started here
on a free port and stopped by its PID. PUTs and DELETEs are counted in the server's request log."""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import feedparser
import pytest
from click.testing import CliRunner

from feeds.cli import main
from feeds.serve.app import create_app

from .conftest import ROOT, free_port

pytestmark = pytest.mark.system

BASE = "https://news.example.org"
BUCKET = "site"
CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "",
    "AWS_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "us-east-1",
}


def require_modules(*names: str) -> None:
    """Skip (or fail under FEEDS_REQUIRE_SYSTEM_TESTS=1) where a module is missing."""
    missing = [name for name in names if importlib.util.find_spec(name) is None]
    if missing:
        reason = f"{', '.join(missing)} not installed (pip install -e '.[test]')"
        if os.environ.get("FEEDS_REQUIRE_SYSTEM_TESTS") == "1":
            pytest.fail(reason + " and FEEDS_REQUIRE_SYSTEM_TESTS=1")
        pytest.skip(reason)


class S3Server:
    """moto's S3 API server in a process of its own; its request log tells what was sent."""

    def __init__(self, folder: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = folder / "moto.log"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=self.log.open("wb"),
            stderr=subprocess.STDOUT,
            env={**os.environ, **CREDENTIALS},
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(self.url + "/moto-api/", timeout=2).read()
                break
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError("moto did not start:\n" + self.log.read_text()) from None
                time.sleep(0.1)
        import boto3

        self.client = boto3.client("s3", endpoint_url=self.url, **_boto_credentials())

    def stop(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def mark(self) -> int:
        """Where the request log ends now: :meth:`requests` counts from there."""
        return self.log.stat().st_size

    def requests(self, since: int, method: str) -> list[str]:
        """The keys of ``method`` requests on objects of the bucket since ``since``."""
        with self.log.open("rb") as handle:
            handle.seek(since)
            text = handle.read().decode("utf-8", "replace")
        return re.findall(rf'"{method} /{BUCKET}/([^ ?]+)[^ ]* HTTP', text)

    def objects(self, prefix: str = "") -> dict[str, str]:
        """Key (without ``prefix``) -> ETag of every object under ``prefix``."""
        found = {}
        for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix):
            for item in page.get("Contents", []):
                found[item["Key"][len(prefix) :]] = item["ETag"]
        return found

    def get(self, key: str) -> dict:
        return self.client.get_object(Bucket=BUCKET, Key=key)


def _boto_credentials() -> dict[str, str]:
    return {
        "aws_access_key_id": CREDENTIALS["AWS_ACCESS_KEY_ID"],
        "aws_secret_access_key": CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        "region_name": CREDENTIALS["AWS_REGION"],
    }


@pytest.fixture(scope="module")
def moto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    require_modules("moto", "boto3", "obstore", "flask_cors")
    server = S3Server(tmp_path_factory.mktemp("moto"))
    yield server
    server.stop()


@pytest.fixture
def s3(moto: S3Server) -> Iterator[S3Server]:
    """An empty bucket on the server."""
    moto.client.create_bucket(Bucket=BUCKET)
    yield moto
    keys = list(moto.objects())
    for start in range(0, len(keys), 1000):
        moto.client.delete_objects(Bucket=BUCKET, Delete={"Objects": [{"Key": k} for k in keys[start : start + 1000]]})
    moto.client.delete_bucket(Bucket=BUCKET)


def build(data_dir: Path, out: Path, *extra: str) -> None:
    result = CliRunner().invoke(main, ["build", str(out), "--base-url", BASE, "--data-dir", str(data_dir), *extra])
    assert result.exit_code == 0, result.output


def publish(s3: S3Server, data_dir: Path, out: Path, target: str, *extra: str) -> dict:
    args = ["publish", str(out), target, "--endpoint-url", s3.url, "--data-dir", str(data_dir), "--json", *extra]
    result = CliRunner(env=CREDENTIALS).invoke(main, args)
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def tree(out: Path) -> dict[str, bytes]:
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


def key_of(rel: str) -> str:
    """The object key of a file of the tree: its URL path (a page's ``dir/index.html`` as ``dir``)."""
    if rel in ("index.html", "404.html"):
        return rel
    return rel.removesuffix("/index.html")


def edit_first_summary(data_dir: Path) -> None:
    listing = data_dir / "articles.txt"
    blocks = listing.read_text("utf-8").split("\n\n")
    blocks[1] = blocks[1].rstrip() + " An added sentence."
    listing.write_text("\n\n".join(blocks), "utf-8")


def test_every_object_is_the_service_response_and_only_changes_are_uploaded(
    s3: S3Server, data_dir: Path, tmp_path: Path
):
    out = tmp_path / "out"
    build(data_dir, out)
    first = tree(out)
    mark = s3.mark()
    summary = publish(s3, data_dir, out, f"s3://{BUCKET}/news")
    assert summary["uploaded"] == summary["objects"] == len(first) and summary["unchanged"] == 0
    assert sorted(s3.requests(mark, "PUT")) == sorted(f"news/{key_of(rel)}" for rel in first)

    client = create_app({"DATA_DIR": str(data_dir), "BASE_URL": BASE, "RELOAD_INTERVAL": 0}).test_client()
    assert set(s3.objects("news/")) == {key_of(rel) for rel in first}
    for rel in first:
        key = key_of(rel)
        stored = s3.get("news/" + key)
        if key == "404.html":
            served = client.get("/no/such/page")
            assert served.status_code == 404
        else:
            served = client.get("/" if key == "index.html" else "/" + key)
            assert served.status_code == 200, key
            assert stored["Body"].read() == served.data, key
        assert stored["ContentType"] == served.headers["Content-Type"], key
        assert stored["CacheControl"] == served.headers["Cache-Control"], key
    assert s3.get("news/feeds/all.atom")["CacheControl"] == "public, max-age=300"

    mark = s3.mark()
    again = publish(s3, data_dir, out, f"s3://{BUCKET}/news")
    assert again["uploaded"] == 0 and again["unchanged"] == len(first) and again["deleted"] == 0
    assert s3.requests(mark, "PUT") == []

    edit_first_summary(data_dir)
    build(data_dir, out)
    second = tree(out)
    changed = sorted(f"news/{key_of(rel)}" for rel in second if first.get(rel) != second[rel])
    assert "news/feeds/all.atom" in changed and len(changed) < len(second) / 2
    mark = s3.mark()
    summary = publish(s3, data_dir, out, f"s3://{BUCKET}/news")
    assert sorted(s3.requests(mark, "PUT")) == changed
    assert summary["uploaded"] == len(changed) and summary["unchanged"] == len(second) - len(changed)
    client = create_app({"DATA_DIR": str(data_dir), "BASE_URL": BASE, "RELOAD_INTERVAL": 0}).test_client()
    assert s3.get("news/feeds/all.atom")["Body"].read() == client.get("/feeds/all.atom").data


def test_removed_documents_are_deleted_and_a_dry_run_changes_nothing(s3: S3Server, data_dir: Path, tmp_path: Path):
    out = tmp_path / "out"
    build(data_dir, out)
    publish(s3, data_dir, out, f"s3://{BUCKET}/")
    s3.client.put_object(Bucket=BUCKET, Key="left/over.txt", Body=b"from an older site")
    listing = data_dir / "articles.txt"
    blocks = listing.read_text("utf-8").rstrip("\n").split("\n\n")
    listing.write_text("\n\n".join(blocks[:-2]) + "\n", "utf-8")  # the last article goes
    edit_first_summary(data_dir)
    build(data_dir, out)
    before, mark = s3.objects(), s3.mark()

    dry = publish(s3, data_dir, out, f"s3://{BUCKET}", "--dry-run")
    assert dry["dry_run"] and dry["uploaded"] > 0 and dry["deleted"] == 2  # the article page, left/over.txt
    assert s3.objects() == before
    assert s3.requests(mark, "PUT") == [] and "DELETE" not in s3.log.read_text()[mark:]

    done = publish(s3, data_dir, out, f"s3://{BUCKET}")
    assert (done["uploaded"], done["deleted"]) == (dry["uploaded"], dry["deleted"])
    assert set(s3.objects()) == {key_of(rel) for rel in tree(out)}
    gone = set(before) - set(s3.objects())
    assert "left/over.txt" in gone and any(key.startswith("articles/") for key in gone)


def test_an_interrupted_publish_links_to_nothing_missing_and_converges(s3: S3Server, data_dir: Path, tmp_path: Path):
    listing = data_dir / "articles.txt"
    blocks = listing.read_text("utf-8").rstrip("\n").split("\n\n")
    pairs = list(zip(blocks[::2], blocks[1::2], strict=True))
    many = [f"{title} (part {n})\n\n{summary}" for n in range(3) for title, summary in pairs]
    listing.write_text("\n\n".join(many) + "\n", "utf-8")
    out = tmp_path / "out"
    build(data_dir, out, "--entry-limit", "10")
    files = tree(out)
    args = ["publish", str(out), f"s3://{BUCKET}/p", "--endpoint-url", s3.url, "--data-dir", str(data_dir)]
    proc = subprocess.Popen(
        [sys.executable, "-m", "feeds.cli", *args, "--entry-limit", "10"],
        env={**os.environ, **CREDENTIALS},
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 120
    try:
        while not any(key.startswith("feeds/") and "/archive/" not in key for key in s3.objects("p/")):
            assert proc.poll() is None, proc.stderr.read().decode()
            assert time.monotonic() < deadline, "no feed was uploaded in time"
            time.sleep(0.1)
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    present = s3.objects("p/")
    assert 0 < len(present) < len(files)

    # Whatever a reader gets now links only to objects that are there.
    checked = 0
    for key in present:
        if not key.startswith("feeds/") or not key.endswith((".atom", ".rss")):
            continue
        parsed = feedparser.parse(s3.get("p/" + key)["Body"].read())
        # An archive page and its subscription feed link to each other: on a feed's first publish, the
        # archive's "current" link waits for the feed. The home page lists the feeds, so it comes after.
        links = [link.href for link in parsed.feed.get("links", []) if link.get("rel") != "current"]
        links += [link.href for entry in parsed.entries for link in entry.get("links", [])]
        for href in links:
            if href.startswith(BASE + "/") and href != BASE + "/":
                assert href[len(BASE) + 1 :] in present, f"{key} links to missing {href}"
        checked += 1
    assert checked

    summary = publish(s3, data_dir, out, f"s3://{BUCKET}/p", "--entry-limit", "10")
    assert summary["uploaded"] + summary["unchanged"] == len(files)
    assert summary["unchanged"] >= len(present)  # each PUT is whole or not there
    # A single-part upload's ETag is the MD5 of its bytes.
    assert s3.objects("p/") == {key_of(rel): f'"{hashlib.md5(body).hexdigest()}"' for rel, body in files.items()}
    assert publish(s3, data_dir, out, f"s3://{BUCKET}/p", "--entry-limit", "10")["uploaded"] == 0


def test_precompressed_files_stay_home_and_changed_headers_or_other_etags_are_handled(
    s3: S3Server, data_dir: Path, tmp_path: Path
):
    out = tmp_path / "out"
    build(data_dir, out, "--precompress")
    files = tree(out)
    compressed = [rel for rel in files if rel.endswith((".gz", ".br"))]
    assert compressed
    summary = publish(s3, data_dir, out, f"s3://{BUCKET}")
    assert summary["skipped"] == len(compressed) and summary["objects"] == len(files) - len(compressed)
    assert not any(key.endswith((".gz", ".br")) for key in s3.objects())

    # An object uploaded in parts has an ETag that is no MD5: the SHA-256 in its metadata decides.
    atom = files["feeds/all.atom"]
    for key, cache_control in (("feeds/all.atom", "public, max-age=300"), ("feeds/all.rss", "max-age=1")):
        body = files[key]
        upload = s3.client.create_multipart_upload(
            Bucket=BUCKET,
            Key=key,
            ContentType=s3.get(key)["ContentType"],
            CacheControl=cache_control,
            Metadata={"sha256": hashlib.sha256(body).hexdigest()},
        )
        part = s3.client.upload_part(Bucket=BUCKET, Key=key, UploadId=upload["UploadId"], PartNumber=1, Body=body)
        s3.client.complete_multipart_upload(
            Bucket=BUCKET,
            Key=key,
            UploadId=upload["UploadId"],
            MultipartUpload={"Parts": [{"ETag": part["ETag"], "PartNumber": 1}]},
        )
        assert s3.objects()[key].endswith('-1"')
    mark = s3.mark()
    summary = publish(s3, data_dir, out, f"s3://{BUCKET}")
    assert s3.requests(mark, "PUT") == ["feeds/all.rss"]  # its Cache-Control was not the service's
    assert s3.get("feeds/all.atom")["Body"].read() == atom

    mark = s3.mark()
    forced = publish(s3, data_dir, out, f"s3://{BUCKET}", "--force", "--max-age", "600")
    assert forced["uploaded"] == forced["objects"] and len(s3.requests(mark, "PUT")) == forced["objects"]
    assert s3.get("feeds/all.atom")["CacheControl"] == "public, max-age=600"


def test_a_tree_of_other_data_or_a_bad_target_is_refused(s3: S3Server, data_dir: Path, tmp_path: Path):
    out = tmp_path / "out"
    build(data_dir, out)
    (out / "stray.html").write_text("not built")
    args = ["publish", str(out), f"s3://{BUCKET}", "--endpoint-url", s3.url, "--data-dir", str(data_dir)]
    result = CliRunner(env=CREDENTIALS).invoke(main, args)
    assert result.exit_code == 1 and "stray.html" in result.output and "build it again" in result.output
    assert s3.objects() == {}
    for target in ("http://example.org/x", "s3://", f"s3://{BUCKET}/a//b"):
        result = CliRunner(env=CREDENTIALS).invoke(main, ["publish", str(out), target, "--data-dir", str(data_dir)])
        assert result.exit_code == 2 and "Invalid value for TARGET" in result.output, target
    (out / "stray.html").unlink()
    result = CliRunner(env=CREDENTIALS).invoke(main, [*args[:2], "s3://no-such-bucket", *args[3:]])
    assert result.exit_code == 1 and "no-such-bucket" in result.output and "Traceback" not in result.output


def test_without_the_client_library_the_message_names_the_extra(data_dir: Path, tmp_path: Path):
    out = tmp_path / "out"
    build(data_dir, out)
    code = "import sys; sys.modules['obstore'] = None; from feeds.cli import main; main()"
    args = ["publish", str(out), "s3://bucket/p", "--data-dir", str(data_dir)]
    done = subprocess.run([sys.executable, "-c", code, *args], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert "pip install 'feeds[s3]'" in done.stderr and "Traceback" not in done.stderr
