"""``make load``: a repeatable load run against the service under its production server.

Phase 1 starts ``python -m feeds.cli serve`` (granian, 2 workers) on a free loopback
port over a copy of the shipped data and runs

    wrk -t2 -c64 -d30s --latency -s load/feeds.lua URL -- urls.txt

over every feed with articles in Atom, RSS and JSON, the OPML and the index; a third of the
requests are conditional (If-None-Match with the ETag last seen for that URL). It must end
with zero socket errors and no status other than 2xx and 304.

Phase 2 does the same on a fresh copy with ``FEEDS_RELOAD_INTERVAL=0.5`` while a rewriter
thread rewrites ``articles.txt`` every second, alternating

* a valid version n (odd n): the shipped articles plus "Load version n", and
* an invalid version n (even n): the same plus an "INVALID n" article with an ``@bogus:``
  line, an error, so the service must refuse it and keep serving the previous version.

Most writes are atomic (a temporary file in the same directory, fsync, rename), as editors
and deploy tools do. Every LOAD_INPLACE_EVERY-th write (default 3: writes 3, 6, 9..., so
valid and invalid versions alike) is instead an in-place rewrite of the same file (open
with O_TRUNC, one write, close), as ``cat > file`` or an editor with backupcopy=yes does;
LOAD_INPLACE_EVERY=0 makes every write atomic. Meanwhile verifier threads fetch
/feeds/all.atom, .rss and .json in a loop over http.client and check that every response
is a 200 whose body is complete (Atom and RSS: lxml parses it, and feedparser reports bozo
0 and the same entries; JSON Feed: json parses it, with its version, title and item ids)
and is exactly one valid version: the shipped entries plus at most one "Load version n"
entry with n written as valid, and no "INVALID" entry. After the run, a last valid version
is written and must be served within 15 s.

Phase 3 starts the service with one worker over a listing of LOAD_ARTICLES (default 1,000)
articles and sends LOAD_QUERIES (default 5,000) distinct filter queries
(``/feeds/all.json?limit=500&exclude=wN``: each a document of 500 entries, rendered and
cached) from 4 keep-alive connections, sampling the worker's resident memory. Its growth must
stay under the render cache's bound (FEEDS_CACHE_BYTES, default 256 MiB), and the unfiltered
feeds fetched before must still be cached after (no render, by ``/healthz``).

The service writes ``ledger.json`` in its (temporary) data directory when new articles
appear: that is expected. LOAD_SECONDS (default 30) sets the duration of each phase;
LOAD_KEEP=1 keeps the temporary directory (data, URL list, server logs) and prints its path.
Exit status: 0 when every check passed, 1 when one failed, 2 when the run could not start.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import feedparser
from lxml import etree

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = ROOT / "data"
SCRIPT = ROOT / "load" / "feeds.lua"
THREADS = 2
CONNECTIONS = 64
RELOAD_INTERVAL = "0.5"
VERIFY_PATHS = ("/feeds/all.atom", "/feeds/all.rss", "/feeds/all.json")
VERIFIER_THREADS = 3
LOAD_TITLE = re.compile(r"^Load version (\d+)$")
INVALID_TITLE = re.compile(r"^INVALID (\d+)$")


def log(message: str) -> None:
    print(message, flush=True)


# -- the service ---------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Service:
    """``python -m feeds.cli serve`` on a free loopback port, logging to a file."""

    def __init__(self, data_dir: Path, log_path: Path, extra_env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        env = {**os.environ, "FEEDS_DATA_DIR": str(data_dir), **(extra_env or {})}
        for name in ("FEEDS_BASE_URL", "GUNICORN_CMD_ARGS"):  # the defaults are what is measured
            env.pop(name, None)
        self._log = log_path.open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "feeds.cli", "serve", "--host", "127.0.0.1", "--port", str(self.port)],
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
            start_new_session=True,  # its own process group: stop() reaches the workers too
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(self.url + "/healthz", timeout=2).read()
                return
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError("the service did not start:\n" + self.log_tail()) from None
                time.sleep(0.1)

    def get(self, path: str, timeout: float = 10) -> tuple[int, bytes]:
        try:
            with urllib.request.urlopen(self.url + path, timeout=timeout) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()

    def stop(self) -> None:
        for sig, wait in ((signal.SIGTERM, 15), (signal.SIGKILL, None)):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, sig)
            try:
                self.proc.wait(wait)
                break
            except subprocess.TimeoutExpired:
                continue
        self._log.close()

    def log_tail(self, lines: int = 40) -> str:
        text = self.log_path.read_text("utf-8", errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    def log_count(self, text: str) -> int:
        return self.log_path.read_text("utf-8", errors="replace").count(text)

    def log_problems(self) -> list[str]:
        """Tracebacks, worker timeouts and critical lines in the server log."""
        found = []
        for line in self.log_path.read_text("utf-8", errors="replace").splitlines():
            if "Traceback" in line or "[CRITICAL]" in line or "WORKER TIMEOUT" in line or "Exception" in line:
                found.append(line.strip())
        return found


def copy_data(target: Path) -> Path:
    shutil.copytree(SHIPPED, target, ignore=shutil.ignore_patterns("*.lock"))
    for path in target.iterdir():  # the shipped listing may be read-only; the rewriter writes it
        path.chmod(0o644)
    return target


def url_list(service: Service) -> list[str]:
    """The index, the OPML, and every feed the OPML lists (every feed with articles) in each format."""
    status, body = service.get("/feeds.opml")
    if status != 200:
        raise RuntimeError(f"/feeds.opml answered {status}")
    paths = ["/", "/feeds.opml"]
    for outline in etree.fromstring(body).iter("outline"):
        xml_url = outline.get("xmlUrl")
        if not xml_url:
            continue
        stem = urlsplit(xml_url).path.rpartition(".")[0]
        paths += [f"{stem}.{fmt}" for fmt in ("atom", "rss", "json")]
    return list(dict.fromkeys(paths))


# -- wrk -----------------------------------------------------------------------------------


@dataclass
class WrkResult:
    counts: dict[str, int]
    output: str

    def __getitem__(self, key: str) -> int:
        return self.counts[key]

    @property
    def socket_errors(self) -> int:
        return sum(self.counts[f"socket_{k}"] for k in ("connect", "read", "write", "timeout"))

    @property
    def not_ok(self) -> int:
        """Responses other than 2xx and 304."""
        return sum(self.counts[k] for k in ("3xx", "4xx", "5xx", "other"))


def run_wrk(wrk: str, url: str, urls_file: Path, seconds: int) -> WrkResult:
    cmd = [wrk, f"-t{THREADS}", f"-c{CONNECTIONS}", f"-d{seconds}s", "--latency", "-s", str(SCRIPT)]
    cmd += [url, "--", str(urls_file)]
    log("$ " + " ".join(cmd))
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 120, cwd=ROOT)
    output = proc.stdout + proc.stderr
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("FEEDS-LOAD ")), None)
    if proc.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed (exit {proc.returncode}):\n{output}")
    counts = {key: int(value) for key, value in (item.split("=", 1) for item in line.split()[1:])}
    return WrkResult(counts, output)


def check_wrk(phase: str, result: WrkResult, failures: list[str]) -> None:
    c = result.counts
    if c["completed"] == 0:
        failures.append(f"{phase}: wrk completed no request")
    if result.socket_errors:
        failures.append(
            f"{phase}: {result.socket_errors} socket errors (connect {c['socket_connect']}, read {c['socket_read']}, "
            f"write {c['socket_write']}, timeout {c['socket_timeout']}; wrk counts a timeout for each request still "
            "unanswered after its 2 s --timeout, and leaves those out of the latency percentiles)"
        )
    for key in ("5xx", "4xx", "3xx", "other"):
        if c[key]:
            failures.append(f"{phase}: {c[key]} responses {key}")
    if c["2xx"] + c["304"] != c["completed"]:
        failures.append(f"{phase}: {c['completed']} responses but {c['2xx']} 2xx + {c['304']} 304")
    if c["unmatched"]:
        failures.append(f"{phase}: {c['unmatched']} 200 responses whose URL the script could not recover")
    share = c["conditional"] / max(1, c["requests"])
    if c["completed"] > 1000 and not 0.25 <= share <= 0.34:
        failures.append(f"{phase}: {share:.1%} of requests were conditional, not a third")


# -- phase 3: distinct queries and memory --------------------------------------------------

QUERY_THREADS = 4


def worker_rss(pid: int) -> int:
    """Resident bytes of the largest process under ``pid`` (the server's worker)."""
    children = [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    sizes = [0]
    for child in children:
        with contextlib.suppress(OSError):
            status = Path(f"/proc/{child}/status").read_text()
            sizes.append(int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1)) * 1024)
    return max(sizes)


def distinct_queries(work: Path, failures: list[str]) -> str:
    articles = int(os.environ.get("LOAD_ARTICLES", "1000"))
    count = int(os.environ.get("LOAD_QUERIES", "5000"))
    bound = int(os.environ.get("FEEDS_CACHE_BYTES", str(256 * 2**20)))
    data = work / "phase3" / "data"
    copy_data(data)
    places = ["Peru", "France", "Greece", "Mexico", "Kenya", "Chile", "India", "Poland"]
    (data / "articles.txt").write_text(
        "".join(
            f"{places[n % len(places)]}: Strike Number {n} Spreads\n\nWorkers in dispute {n} walked out for a week.\n\n"
            for n in range(articles)
        ),
        "utf-8",
    )
    service = Service(data, work / "phase3" / "server.log", {"FEEDS_WORKERS": "1", "FEEDS_ACCESS_LOG": "0"})
    try:
        own = ("/", "/feeds/all.atom", "/feeds/all.json", "/feeds/countries/peru.rss")
        for path in own:
            service.get(path)
        renders = json.loads(service.get("/healthz")[1])["renders"]
        before = peak = worker_rss(service.proc.pid)
        started = time.monotonic()
        lock = threading.Lock()
        bad = Counter()

        def send(first: int) -> None:
            nonlocal peak
            conn = http.client.HTTPConnection("127.0.0.1", service.port, timeout=60)
            for n in range(first, count, QUERY_THREADS):
                conn.request("GET", f"/feeds/all.json?limit=500&exclude=w{n}")
                response = conn.getresponse()
                response.read()
                if response.status != 200:
                    bad[response.status] += 1
                if n % 250 == 0:
                    rss = worker_rss(service.proc.pid)
                    with lock:
                        peak = max(peak, rss)
            conn.close()

        threads = [threading.Thread(target=send, args=(i,)) for i in range(QUERY_THREADS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.monotonic() - started
        after = worker_rss(service.proc.pid)
        peak = max(peak, after)
        health = json.loads(service.get("/healthz")[1])
        for path in own:
            service.get(path)
        rerendered = json.loads(service.get("/healthz")[1])["renders"] - health["renders"]
    finally:
        service.stop()
    failures += [f"phase 3 server log: {line}" for line in service.log_problems()[:10]]
    if bad:
        failures.append(f"phase 3: answers other than 200: {dict(bad)}")
    if peak - before > bound:
        growth, limit = (peak - before) / 2**20, bound / 2**20
        failures.append(f"phase 3: the worker grew by {growth:.0f} MiB, over the {limit:.0f} MiB bound")
    if rerendered:
        failures.append(f"phase 3: {rerendered} of the site's own documents were evicted and rendered again")
    mib = 2**20
    return (
        f"phase 3: {count:,} distinct queries over {articles:,} articles in {elapsed:.0f} s "
        f"({health['renders'] - renders:,} renders); worker resident memory {before / mib:.0f} MiB before, "
        f"{peak / mib:.0f} MiB at most, {after / mib:.0f} MiB after (growth {(peak - before) / mib:.0f} MiB, "
        f"bound {bound / mib:.0f} MiB); cache {health['cache_bytes'] / mib:.1f} MiB by /healthz; "
        f"the site's own documents rendered again: {rerendered}"
    )


# -- phase 2: rewriter and verifier --------------------------------------------------------


@dataclass
class Versions:
    """What the rewriter wrote; registered before each write becomes visible."""

    valid: set[int] = field(default_factory=lambda: {0})  # 0: the shipped data the service started with
    invalid: set[int] = field(default_factory=set)
    writes: list[tuple[float, int, bool, str]] = field(default_factory=list)  # (time, n, valid, mode)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def register(self, n: int, valid: bool, mode: str) -> None:
        with self.lock:
            (self.valid if valid else self.invalid).add(n)
            self.writes.append((time.monotonic(), n, valid, mode))

    def last_write(self) -> str:
        with self.lock:
            if not self.writes:
                return "none yet"
            _, n, valid, mode = self.writes[-1]
        return f"#{n} ({'valid' if valid else 'invalid'}, {mode})"


def version_text(shipped: str, n: int, valid: bool) -> str:
    """Version n of articles.txt: a "Load version n" article first, then the shipped listing."""
    extra = f"Load version {n}\n\nA synthetic article written by the load run, so that this version differs.\n\n"
    if not valid:
        extra += (
            f"INVALID {n}\n@bogus: an unknown metadata key, an error\n\n"
            "This version of the data has an error; the service must keep serving the previous one.\n\n"
        )
    return extra + shipped


def write_atomically(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(text.encode("utf-8"))
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_in_place(path: Path, text: str) -> None:
    data = text.encode("utf-8")
    fd = os.open(path, os.O_WRONLY | os.O_TRUNC)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    finally:
        os.close(fd)


class Rewriter(threading.Thread):
    """Rewrites articles.txt every second, alternating valid and invalid versions."""

    def __init__(self, data_dir: Path, versions: Versions, seconds: float, inplace_every: int) -> None:
        super().__init__(name="rewriter", daemon=True)
        self.path = data_dir / "articles.txt"
        self.shipped = (SHIPPED / "articles.txt").read_text("utf-8-sig")
        self.versions = versions
        self.seconds = seconds
        self.inplace_every = inplace_every
        self.count = 0
        self.error: BaseException | None = None
        self.stop_event = threading.Event()

    def write(self, n: int, valid: bool, mode: str) -> None:
        self.versions.register(n, valid, mode)
        text = version_text(self.shipped, n, valid)
        (write_in_place if mode == "in-place" else write_atomically)(self.path, text)

    def run(self) -> None:
        started = time.monotonic()
        try:
            while True:
                due = started + 0.5 + self.count  # writes at 0.5 s, 1.5 s, ...
                if due >= started + self.seconds or self.stop_event.wait(max(0.0, due - time.monotonic())):
                    return
                n = self.count + 1
                inplace = self.inplace_every > 0 and n % self.inplace_every == 0
                self.write(n, n % 2 == 1, "in-place" if inplace else "atomic")
                self.count = n
        except BaseException as exc:  # reported by the main thread
            self.error = exc


def titles_of(path: str, body: bytes) -> list[str]:
    """Entry titles, after checking the body is a complete document of its format.

    Atom and RSS must parse with lxml and with feedparser (bozo 0, the same entries); the
    installed feedparser (6.0) does not read JSON Feed, so a JSON body must parse with json
    and have JSON Feed 1.1's version, title and items, each with an id.
    """
    if path.endswith(".json"):
        doc = json.loads(body)
        if doc.get("version") != "https://jsonfeed.org/version/1.1" or not doc.get("title"):
            raise ValueError("not a JSON Feed 1.1 document")
        items = doc.get("items")
        if not isinstance(items, list) or not all(isinstance(i, dict) and i.get("id") for i in items):
            raise ValueError("JSON Feed items missing or without ids")
        return [item.get("title", "") for item in items]
    root = etree.fromstring(body)
    if path.endswith(".atom"):
        ns = "{http://www.w3.org/2005/Atom}"
        strict = [e.findtext(f"{ns}title", "") for e in root.iter(f"{ns}entry")]
    else:
        strict = [i.findtext("title", "") for i in root.iter("item")]
    parsed = feedparser.parse(body)
    if parsed.bozo:
        raise ValueError(f"feedparser: {parsed.bozo_exception!r}")
    loose = [entry.get("title", "") for entry in parsed.entries]
    if loose != strict:
        raise ValueError(f"feedparser reads {len(loose)} entries, lxml {len(strict)}, or other titles")
    return strict


@dataclass
class Tally:
    verified: int = 0
    bad: int = 0
    failed: int = 0  # non-200 answers, connection errors, truncated bodies
    seen: Counter = field(default_factory=Counter)  # valid version -> bodies
    first_seen: dict[int, float] = field(default_factory=dict)  # valid version -> monotonic time
    problems: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def note(self, kind: str, message: str) -> None:
        with self.lock:
            setattr(self, kind, getattr(self, kind) + 1)
            if len(self.problems) < 20:
                self.problems.append(message)


class Verifier(threading.Thread):
    def __init__(
        self, index: int, port: int, baseline: dict[str, Counter], versions: Versions, tally: Tally, seconds: float
    ):
        super().__init__(name=f"verifier-{index}", daemon=True)
        self.index = index
        self.port = port
        self.baseline = baseline
        self.versions = versions
        self.tally = tally
        self.seconds = seconds

    def judge(self, path: str, body: bytes) -> tuple[int | None, str | None]:
        """(version, None) for a complete body of one valid version, else (None, reason)."""
        try:
            titles = titles_of(path, body)
        except Exception as exc:
            return None, f"incomplete or unparsable body ({len(body)} bytes): {exc}"
        invalid = [t for t in titles if INVALID_TITLE.match(t)]
        loads = [int(m.group(1)) for t in titles if (m := LOAD_TITLE.match(t))]
        if invalid:
            return None, f"entry {invalid[0]!r} of an invalid version"
        if len(loads) > 1:
            return None, f"entries of several versions: {loads}"
        version = loads[0] if loads else 0
        with self.versions.lock:
            known_valid = version in self.versions.valid
            known_invalid = version in self.versions.invalid
        if not known_valid:
            return None, f"version {version}, {'written as invalid' if known_invalid else 'never written'}"
        rest = Counter(t for t in titles if not LOAD_TITLE.match(t))
        if rest != self.baseline[path]:
            missing = sorted((self.baseline[path] - rest).elements())
            extra = sorted((rest - self.baseline[path]).elements())
            return None, f"version {version} with entries missing {missing[:3]} / extra {extra[:3]}"
        return version, None

    def run(self) -> None:
        deadline = time.monotonic() + self.seconds
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        i = self.index
        while time.monotonic() < deadline:
            path = VERIFY_PATHS[i % len(VERIFY_PATHS)]
            i += 1
            try:
                conn.request("GET", path)
                response = conn.getresponse()
                body = response.read()
            except (OSError, http.client.HTTPException) as exc:
                self.tally.note("failed", f"{path}: {exc!r} (last write {self.versions.last_write()})")
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
                continue
            if response.status != 200:
                self.tally.note("failed", f"{path}: status {response.status} (last write {self.versions.last_write()})")
                continue
            version, reason = self.judge(path, body)
            if reason is not None:
                self.tally.note("bad", f"{path}: {reason} (last write {self.versions.last_write()})")
                continue
            with self.tally.lock:
                self.tally.verified += 1
                self.tally.seen[version] += 1
                self.tally.first_seen.setdefault(version, time.monotonic())
        conn.close()


def wait_for_version(service: Service, n: int, timeout: float = 15) -> str | None:
    """None once every verified feed serves version n and /healthz is ok, else what is wrong."""
    deadline = time.monotonic() + timeout
    problem = "not checked"
    while time.monotonic() < deadline:
        status, body = service.get("/healthz")
        health = json.loads(body) if status == 200 else {}
        served = []
        for path in VERIFY_PATHS:
            status, body = service.get(path)
            try:
                served.append(status == 200 and f"Load version {n}" in titles_of(path, body))
            except ValueError:
                served.append(False)
        if all(served) and health.get("status") == "ok":
            return None
        problem = f"healthz {health.get('status')!r} {health.get('errors')}, version {n} served: {served}"
        time.sleep(0.25)
    return problem


# -- the run -------------------------------------------------------------------------------


def fmt_ms(us: int) -> str:
    return f"{us / 1000:.2f} ms"


def main() -> int:
    wrk = shutil.which("wrk")
    if wrk is None:
        log("load: wrk is not installed (apt-get install wrk)")
        return 2
    seconds = int(os.environ.get("LOAD_SECONDS", "30"))
    inplace_every = int(os.environ.get("LOAD_INPLACE_EVERY", "3"))
    keep = os.environ.get("LOAD_KEEP") == "1"
    work = Path(tempfile.mkdtemp(prefix="feeds-load-"))
    failures: list[str] = []
    rows = []
    try:
        # Phase 1: steady data.
        service = Service(copy_data(work / "phase1" / "data"), work / "phase1" / "server.log")
        try:
            urls = url_list(service)
            for path in urls:  # the list must be right: every URL answers 200
                status, _ = service.get(path)
                if status != 200:
                    raise RuntimeError(f"{path} answered {status} before the run")
            urls_file = work / "urls.txt"
            urls_file.write_text("".join(p + "\n" for p in urls), "utf-8")
            feeds = sum(1 for p in urls if p.endswith(".atom"))
            log(f"phase 1: {len(urls)} URLs ({feeds} feeds x 3 formats, OPML, index), {seconds} s")
            one = run_wrk(wrk, service.url, urls_file, seconds)
        finally:
            service.stop()
        log(one.output.rstrip())
        check_wrk("phase 1", one, failures)
        failures += [f"phase 1 server log: {line}" for line in service.log_problems()[:10]]
        rows.append(("1 steady", one, None))

        # Phase 2: the same while the data is rewritten every second.
        data2 = copy_data(work / "phase2" / "data")
        service = Service(data2, work / "phase2" / "server.log", {"FEEDS_RELOAD_INTERVAL": RELOAD_INTERVAL})
        versions = Versions()
        tally = Tally()
        try:
            baseline = {}
            for path in VERIFY_PATHS:
                status, body = service.get(path)
                if status != 200:
                    raise RuntimeError(f"{path} answered {status} before phase 2")
                baseline[path] = Counter(titles_of(path, body))
            rewriter = Rewriter(data2, versions, seconds, inplace_every)
            verifiers = [Verifier(i, service.port, baseline, versions, tally, seconds) for i in range(VERIFIER_THREADS)]
            log(
                f"phase 2: the same, FEEDS_RELOAD_INTERVAL={RELOAD_INTERVAL}, articles.txt rewritten every second "
                f"(in place every {inplace_every or 'never'}th write, else atomically), "
                f"{VERIFIER_THREADS} verifier threads on {', '.join(VERIFY_PATHS)}"
            )
            rewriter.start()
            for verifier in verifiers:
                verifier.start()
            try:
                two = run_wrk(wrk, service.url, urls_file, seconds)
            finally:
                rewriter.stop_event.set()
                rewriter.join(10)
                for verifier in verifiers:
                    verifier.join(seconds + 30)
            if rewriter.error is not None:
                failures.append(f"phase 2: the rewriter failed: {rewriter.error!r}")
            final = rewriter.count + 1 + rewriter.count % 2  # the next odd number: a valid version
            rewriter.write(final, True, "atomic")
            problem = wait_for_version(service, final)
            if problem:
                failures.append(f"phase 2: the last valid version ({final}) was not served within 15 s: {problem}")
        finally:
            service.stop()
        log(two.output.rstrip())
        check_wrk("phase 2", two, failures)
        failures += [f"phase 2 server log: {line}" for line in service.log_problems()[:10]]
        rows.append(("2 rewrites", two, tally))
        writes = versions.writes[:-1]  # without the final check's write
        modes = Counter((valid, mode) for _, _, valid, mode in writes)
        seen_loaded = sorted(v for v in tally.seen if v)
        if tally.verified == 0:
            failures.append("phase 2: the verifier checked no body")
        if tally.bad:
            failures.append(f"phase 2: {tally.bad} bodies that are not one complete valid version")
        if tally.failed:
            failures.append(f"phase 2: {tally.failed} verifier requests failed")
        if not seen_loaded:
            failures.append("phase 2: the verifier never saw a rewritten version: the service did not reload")

        # Phase 3: distinct queries.
        log(f"phase 3: {os.environ.get('LOAD_QUERIES', '5000')} distinct filter queries, one worker")
        three = distinct_queries(work, failures)

        # Report.
        log("")
        header = ("phase", "requests", "conns", "duration", "req/s", "p50", "p99", "errors", "5xx", "other")
        header += ("verified", "bad")
        widths = (11, 9, 6, 9, 8, 10, 10, 7, 5, 6, 9, 5)
        log("  ".join(h.rjust(w) if i else h.ljust(w) for i, (h, w) in enumerate(zip(header, widths, strict=True))))
        for name, result, t in rows:
            c = result.counts
            duration = c["duration_us"] / 1e6
            cells = (
                name,
                f"{c['completed']:,}",
                str(CONNECTIONS),
                f"{duration:.1f} s",
                f"{c['completed'] / duration:,.0f}",
                fmt_ms(c["p50_us"]),
                fmt_ms(c["p99_us"]),
                str(result.socket_errors),
                str(c["5xx"]),
                str(result.not_ok - c["5xx"]),
                f"{t.verified:,}" if t else "-",
                str(t.bad + t.failed) if t else "-",
            )
            log("  ".join(v.rjust(w) if i else v.ljust(w) for i, (v, w) in enumerate(zip(cells, widths, strict=True))))
        log("")
        for name, result, _ in rows:
            c = result.counts
            log(
                f"phase {name}: {c['2xx']:,} 2xx, {c['304']:,} 304, {c['conditional']:,} conditional requests "
                f"({c['conditional'] / max(1, c['requests']):.1%}), p90 {fmt_ms(c['p90_us'])}, "
                f"p99.9 {fmt_ms(c['p99_9_us'])}, max {fmt_ms(c['max_us'])}"
            )
        log(
            f"phase 2 writes: {len(writes)} ({modes[(True, 'atomic')]} valid and {modes[(False, 'atomic')]} invalid "
            f"atomic, {modes[(True, 'in-place')]} valid and {modes[(False, 'in-place')]} invalid in place); "
            f"verified bodies by version: {dict(sorted(tally.seen.items()))}; "
            f"bad bodies {tally.bad}, failed verifier requests {tally.failed}"
        )
        lags = sorted(tally.first_seen[n] - at for at, n, valid, _ in writes if valid and n in tally.first_seen)
        valid_writes = sum(1 for _, _, valid, _ in writes if valid)
        if lags:
            log(
                f"phase 2 reloads: {len(lags)} of {valid_writes} valid versions were seen by the verifier, "
                f"the first body of each {lags[len(lags) // 2]:.1f} s (median) to {lags[-1]:.1f} s (max) after "
                "its write; the others were replaced before the service had loaded them"
            )
        refused = service.log_count("(still serving the previous version)")
        log(f"phase 2 server log: {refused} refused loads of an invalid version (both workers reload on their own)")
        for problem in tally.problems:
            log(f"  verifier: {problem}")
        log(three)
    except RuntimeError as exc:
        log(f"load: {exc}")
        keep = True
        return 2
    finally:
        if keep:
            log(f"load: kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    if failures:
        log("")
        log("FAILED:")
        for failure in failures:
            log(f"  {failure}")
        return 1
    log("load: every check passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
