"""Upload a tree written by ``feeds build`` to S3-compatible object storage (``feeds publish``).

Each document goes up under its URL path (``/articles/x`` as ``PREFIX/articles/x``, ``/`` as
``PREFIX/index.html``), so a CDN or a bucket website answers the same URLs as the service, with the
service's Content-Type and Cache-Control: both come from the document's type
(:class:`~feeds.render.documents.Document`) through :func:`feeds.serve.http.respond`, the function that
makes the service's headers. ``404.html`` is meant as the bucket's error document.

- **Only what changed.** The bucket is listed once; an object whose ETag is the MD5 of the file (as S3
  makes it for a single-part upload) is left alone. Otherwise its metadata is read, and it is left
  alone too when its ``x-amz-meta-sha256`` is the file's SHA-256 and its headers are the ones wanted
  (ETags that are not an MD5: encrypted buckets, other stores). A change of headers alone, such as a
  new ``--max-age``, leaves ETags as they were: ``force`` uploads everything.
- **In an order that keeps every link good** (:data:`STEPS`): static files, then pages and archive
  pages, then the subscription feeds, then the index and the OPML that list them, each step finished
  before the next begins; objects the tree no longer has are deleted last. A reader polling during a
  publish gets the previous feed or the new one, and what either links to is there.
- **Interrupted, run it again.** Nothing is kept between runs but the bucket itself, and each PUT is
  atomic, so the next run uploads what is still missing or different.
- **Precompressed files are not uploaded.** An object store sends one representation per key
  whatever the request's Accept-Encoding, so a gzip object would reach clients that cannot read it;
  CDNs compress on the fly and negotiate. The ``.gz`` and ``.br`` files of ``--precompress`` are
  counted as skipped.

The client is `obstore <https://developmentseed.org/obstore/>`_ (``pip install 'feeds[s3]'``), with
the credentials and region of its standard environment variables (``AWS_ACCESS_KEY_ID``,
``AWS_SECRET_ACCESS_KEY``, ``AWS_SESSION_TOKEN``, ``AWS_REGION``, web identity, container and
instance credentials); ``AWS_ENDPOINT_URL`` or ``endpoint_url`` names another S3-compatible service.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from feeds.build.tree import PRECOMPRESSED, output_path
from feeds.pipeline.index import Site
from feeds.render.documents import HTML, Document, Publisher, PublishOptions
from feeds.serve.http import respond
from feeds.serve.live import Rendered

#: What goes up in each step, in order; each step is complete before the next one starts.
STEPS = ("static", "pages", "archives", "older archives", "feeds", "index")
#: The headers of ``404.html``: those of the service's own "not found" page (feeds.serve.app).
NOT_FOUND_HEADERS = (HTML, "no-cache")
#: Uploads in flight at once.
CONCURRENCY = 16
DIGEST_KEY = "sha256"  # x-amz-meta-sha256: the SHA-256 of the bytes, for stores whose ETag is no MD5
RETRY_TIMEOUT = timedelta(seconds=30)  # how long a failing request is retried (with backoff)
EXTRA_HINT = "pip install 'feeds[s3]'"


class PublishError(Exception):
    """The publish stopped; the message says why (running it again carries on)."""


@dataclass(frozen=True)
class Target:
    """``s3://BUCKET/PREFIX``: the prefix is empty or ends with ``/``."""

    bucket: str
    prefix: str

    @classmethod
    def parse(cls, url: str) -> Target:
        scheme, sep, rest = url.partition("://")
        bucket, _, prefix = rest.partition("/")
        if scheme != "s3" or not sep or not bucket:
            raise ValueError(f"{url!r} is not s3://BUCKET or s3://BUCKET/PREFIX")
        prefix = prefix.strip("/")
        if prefix and any(part in ("", ".", "..") for part in prefix.split("/")):
            raise ValueError(f"{url!r}: the prefix has an empty, '.' or '..' part")
        return cls(bucket, prefix + "/" if prefix else "")

    def __str__(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"


@dataclass(frozen=True)
class Item:
    """One object to publish: its key under the prefix, its file in OUT, its headers and its step."""

    key: str
    rel: str
    content_type: str
    cache_control: str
    step: int


@dataclass
class PublishReport:
    objects: int = 0
    uploaded: int = 0
    unchanged: int = 0
    deleted: int = 0
    skipped: int = 0  # precompressed files, not uploaded
    dry_run: bool = False

    def as_dict(self) -> dict[str, object]:
        return {
            "objects": self.objects,
            "uploaded": self.uploaded,
            "unchanged": self.unchanged,
            "deleted": self.deleted,
            "skipped": self.skipped,
            "dry_run": self.dry_run,
        }


def plan(out: str, files: Iterable[str], site: Site, options: PublishOptions) -> tuple[list[Item], int]:
    """The objects for ``files``, the relative paths of the tree ``out`` built from ``site`` with
    ``options``, in upload order, and how many precompressed files are skipped. A file that is no
    document of the site means the tree was built from other data or settings: PublishError."""
    files = set(files)
    publisher = Publisher(site, "", options)
    headers: dict[tuple[str, str], tuple[str, str]] = {}
    items: list[Item] = []
    for url_path in publisher.paths():
        rel = output_path(url_path)
        if rel not in files:
            continue  # not built (--formats, --feeds-only): any object there goes
        doc = publisher.resolve(url_path)
        if not isinstance(doc, Document):
            continue
        files.discard(rel)
        shape = (doc.media_type, doc.kind)
        if shape not in headers:
            headers[shape] = _service_headers(doc, options.max_age)
        key = "index.html" if url_path == "/" else url_path[1:]
        items.append(Item(key, rel, *headers[shape], _step(url_path, doc, publisher)))
    if "404.html" in files:
        files.discard("404.html")
        items.append(Item("404.html", "404.html", *NOT_FOUND_HEADERS, STEPS.index("pages")))
    built = {item.rel for item in items}
    suffixes = tuple(suffix for _, suffix in PRECOMPRESSED)
    skipped = {rel for rel in files if rel.endswith(suffixes) and rel.rpartition(".")[0] in built}
    strangers = sorted(files - skipped)
    if strangers:
        shown = ", ".join(strangers[:3]) + (f" and {len(strangers) - 3} more" if len(strangers) > 3 else "")
        raise PublishError(
            f"{out} has files that are no documents of this data and settings ({shown}): "
            "build it again with the same --data-dir, --entry-limit and --max-age"
        )
    items.sort(key=lambda item: item.step)
    return items, len(skipped)


def publish(
    out: str | os.PathLike,
    target: Target,
    site: Site,
    options: PublishOptions,
    *,
    endpoint_url: str | None = None,
    dry_run: bool = False,
    force: bool = False,
) -> PublishReport:
    """Bring ``target`` to the tree ``out``: upload what differs, step by step (:data:`STEPS`), then
    delete what the tree no longer has. ``dry_run`` counts the same without changing anything."""
    out = os.fspath(out)
    try:  # every file is listed and read through this descriptor: the same tree, even if a build swaps OUT
        fd = os.open(out, os.O_RDONLY | os.O_DIRECTORY)
    except OSError as exc:
        raise PublishError(f"{out}: {exc.strerror} (run feeds build first)") from None
    try:
        items, skipped = plan(out, _files(fd), site, options)
        store = _store(target, endpoint_url)
        return asyncio.run(_publish(store, target, fd, out, items, skipped, dry_run, force))
    finally:
        os.close(fd)


async def _publish(
    store: Any,
    target: Target,
    fd: int,
    out: str,
    items: list[Item],
    skipped: int,
    dry_run: bool,
    force: bool,
) -> PublishReport:
    obstore = _client()
    report = PublishReport(objects=len(items), skipped=skipped, dry_run=dry_run)
    existing = await _call(target, "list", _listing(obstore, store))
    limit = asyncio.Semaphore(CONCURRENCY)

    async def sync(item: Item) -> None:
        async with limit:
            body = _read(fd, out, item.rel)
            if not force and await _current(obstore, store, target, item, body, existing.get(item.key)):
                report.unchanged += 1
                return
            if not dry_run:
                attributes = {
                    "Content-Type": item.content_type,
                    "Cache-Control": item.cache_control,
                    DIGEST_KEY: hashlib.sha256(body).hexdigest(),
                }
                await _call(target, item.key, obstore.put_async(store, item.key, body, attributes=attributes))
            report.uploaded += 1

    for step in range(len(STEPS)):
        batch = [item for item in items if item.step == step]
        if batch:
            await _all(sync(item) for item in batch)
    wanted = {item.key for item in items}
    gone = sorted(key for key in existing if key not in wanted)
    if gone and not dry_run:
        for start in range(0, len(gone), 1000):  # DeleteObjects takes 1,000 keys at most
            await _call(target, "delete", obstore.delete_async(store, gone[start : start + 1000]))
    report.deleted = len(gone)
    return report


async def _all(jobs: Iterable) -> None:
    """Run ``jobs`` together; the first failure stops the publish once those in flight have ended."""
    tasks = [asyncio.ensure_future(job) for job in jobs]
    try:
        await asyncio.gather(*tasks)
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise


async def _current(obstore: Any, store: Any, target: Target, item: Item, body: bytes, etag: str | None) -> bool:
    """Whether the object already has ``body`` and the item's headers."""
    if etag is None:
        return False
    if etag.strip('"') == hashlib.md5(body, usedforsecurity=False).hexdigest():
        return True
    found = await _call(target, item.key, obstore.get_async(store, item.key, options={"head": True}))
    attributes = found.attributes
    return (
        attributes.get(DIGEST_KEY) == hashlib.sha256(body).hexdigest()
        and attributes.get("Content-Type") == item.content_type
        and attributes.get("Cache-Control") == item.cache_control
    )


async def _listing(obstore: Any, store: Any) -> dict[str, str]:
    """Every key under the prefix with its ETag."""
    found: dict[str, str] = {}
    async for chunk in obstore.list(store):
        for meta in chunk:
            found[meta["path"]] = meta["e_tag"] or ""
    return found


async def _call(target: Target, what: str, call: Any) -> Any:
    from obstore.exceptions import BaseError

    try:
        return await call
    except BaseError as exc:
        raise PublishError(f"{target}: {what}: {_first_line(exc)}") from exc


def _first_line(exc: Exception) -> str:
    text = str(exc).strip() or type(exc).__name__
    return " ".join(line.strip() for line in text.splitlines()[:3])


def _service_headers(doc: Document, max_age: int) -> tuple[str, str]:
    """Content-Type and Cache-Control of the service's response for ``doc`` (no Accept, no coding)."""
    rendered = Rendered(b"", doc.media_type, doc.last_modified, doc.kind)
    _, headers, _ = respond(rendered, {}, max_age)  # type: ignore[arg-type]  # a dict has .get
    found = dict(headers)
    return found["Content-Type"], found["Cache-Control"]


def _step(url_path: str, doc: Document, publisher: Publisher) -> int:
    """Which of :data:`STEPS` uploads ``doc``. An archive page links to the next newer one, so the
    newest archive pages (perhaps new) go up before the others (one of which now links to them)."""
    if doc.kind == "static":
        return STEPS.index("static")
    if url_path in ("/", "/feeds.opml"):
        return STEPS.index("index")
    if url_path.startswith("/feeds/archive/"):
        key, _, number = url_path[len("/feeds/archive/") :].rpartition(".")[0].rpartition("/")
        newest = int(number) == publisher.archive_count(publisher.site.feeds[key])
        return STEPS.index("archives" if newest else "older archives")
    if doc.kind == "feed":
        return STEPS.index("feeds")
    return STEPS.index("pages")


def _files(fd: int) -> Iterable[str]:
    """The relative paths of the files in the directory ``fd``."""
    for folder, _dirs, names, _fd in os.fwalk(".", dir_fd=fd):
        prefix = "" if folder == "." else folder[2:] + "/"
        yield from (prefix + name for name in names)


def _read(fd: int, out: str, rel: str) -> bytes:
    try:
        handle = os.open(rel, os.O_RDONLY, dir_fd=fd)
    except FileNotFoundError:
        raise PublishError(f"{out}/{rel} went away: was OUT built again meanwhile? Run publish again") from None
    with os.fdopen(handle, "rb") as file:
        return file.read()


def _client() -> Any:
    try:
        import obstore
    except ImportError:
        raise PublishError(f"feeds publish needs an S3 client library: {EXTRA_HINT}") from None
    return obstore


def _store(target: Target, endpoint_url: str | None) -> Any:
    """The bucket, configured from the client's standard environment variables, and ``endpoint_url``."""
    _client()
    from obstore.store import S3Store

    endpoint = endpoint_url or os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
    config: dict[str, Any] = {}
    if endpoint_url:
        config["endpoint"] = endpoint_url
    options = {"allow_http": True} if endpoint and endpoint.startswith("http://") else {}
    try:
        return S3Store(
            target.bucket,
            prefix=target.prefix.rstrip("/") or None,
            config=config,
            client_options=options,
            retry_config={"retry_timeout": RETRY_TIMEOUT},  # obstore's 3 minutes look like a hang
        )
    except Exception as exc:  # noqa: BLE001 - a configuration obstore refuses: its message says which
        raise PublishError(f"{target}: {_first_line(exc)}") from exc
