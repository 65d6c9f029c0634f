"""``make bench``: measure parse/tag/index, builds against Hugo, and serving against nginx.

Everything runs in one session, so every ratio compares numbers measured on the same machine in
the same minutes. Builds are timed as the median of BENCH_REPEAT runs (default 3) of each tool,
each into an empty directory: ``feeds build`` both as a rebuild runs (compiled tables and the tags
of unchanged articles kept in the cache) and tagging every article again; the first build at each
size, with an empty cache and a new ledger, is shown apart. Comparisons whose program is missing
are skipped with the reason printed. Sizes come from BENCH_SIZES (default 1000,10000,50000,100000);
serving is measured on the second, and the complete site is built up to BENCH_FULL_MAX articles
(default 10000). BENCH_PARTS (default builds,complete,pipeline,serving) picks the parts to run:
``BENCH_SIZES=10000 BENCH_FULL_MAX=0 BENCH_PARTS=builds`` is the feeds-only build against Hugo alone.

The output of a run is moved aside before the next one, and deleted only at the end. ext4 without
a journal (as on this VM) passes over inodes freed in the last minutes when it allocates new ones
(``recently_deleted``): deleting the 530 files of the last run just before the next one made that
run's file creations up to thirty times slower, a cost no real build meets and that falls mostly on
the tool writing more files.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from feeds.pipeline.load import HOLD

ROOT = Path(__file__).resolve().parent.parent
GEN = Path(os.environ.get("BENCH_GEN", ROOT.parent / "shared" / "bench" / "gen_articles.py"))
WORK = ROOT / ".bench"
CACHE = WORK / "cache"  # the measured runs' cache directory (compiled tables, tags, build manifests)
TRASH = WORK / "trash"  # outputs of earlier runs, deleted at the end (module docstring)
BASE = "https://news.example.org"
PY = sys.executable
FEEDS = [PY, "-m", "feeds.cli"]
REPEAT = int(os.environ.get("BENCH_REPEAT", "3"))
# The complete site (every page, archive and compressed file) is built up to this size: about
# four files an article; BENCH_FULL_MAX=100000 adds the 100,000 rows (about ten minutes with
# BENCH_REPEAT=3 on two cores, Hugo's builds most of it).
FULL_MAX = int(os.environ.get("BENCH_FULL_MAX", "10000"))


@dataclass
class Row:
    what: str
    value: str
    note: str = ""


rows: list[Row] = []


def say(what: str, value: str, note: str = "") -> None:
    rows.append(Row(what, value, note))
    print(f"  {what:<58} {value:>14}  {note}", flush=True)


def skip(what: str, reason: str) -> None:
    say(what, "skipped", reason)


def run_measured(cmd: list[str], **kwargs) -> tuple[float, float, subprocess.CompletedProcess | None]:
    """Wall time (s) and peak memory (MiB) of one child process and whatever it forks.

    Peak memory is the larger of the process's peak RSS and the peak of its process tree's summed
    PSS, sampled every 50 ms, so that any child process counts too.
    """
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, **kwargs)
        tree_peak = 0.0
        done = threading.Event()

        def sample() -> None:
            nonlocal tree_peak
            while not done.wait(0.05):
                tree_peak = max(tree_peak, _tree_pss(proc.pid))

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - started
        done.set()
        sampler.join()
        proc.returncode = code = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    if code != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({code}):\n{stderr.decode(errors='replace')[-2000:]}")
    peak = max(usage.ru_maxrss / 1024, tree_peak)
    return elapsed, peak, subprocess.CompletedProcess(cmd, code, stdout, stderr)


def _tree_pss(pid: int) -> float:
    """Summed PSS (MiB) of ``pid`` and its descendants, 0 when they are gone."""
    total = 0
    pending = [pid]
    while pending:
        current = pending.pop()
        try:
            rollup = Path(f"/proc/{current}/smaps_rollup").read_text()
            total += int(re.search(r"^Pss:\s+(\d+)", rollup, re.M).group(1))
            for task in Path(f"/proc/{current}/task").iterdir():
                pending += [int(c) for c in (task / "children").read_text().split()]
        except (OSError, AttributeError, ValueError):
            continue
    return total / 1024


def generate(n: int, hugo: bool) -> Path:
    target = WORK / str(n)
    data = target / "data"
    if not (data / "articles.txt").exists() or (hugo and not (target / "hugo" / "articles").exists()):
        shutil.rmtree(target, ignore_errors=True)
        data.mkdir(parents=True)
        cmd = [PY, str(GEN), str(n)] + (["--hugo", str(target / "hugo")] if hugo else [])
        with open(data / "articles.txt", "wb") as out:
            subprocess.run(cmd, stdout=out, stderr=subprocess.DEVNULL, check=True)
    return target


def measured_env() -> dict[str, str]:
    """The environment of the measured ``feeds`` runs: as on a user's machine, Python keeps the compiled
    modules it writes (a sandbox may set PYTHONDONTWRITEBYTECODE, which recompiles them every run)."""
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["FEEDS_CACHE_DIR"] = str(CACHE)
    return env


def fresh(path: Path) -> Path:
    """``path``, emptied by moving what was there into :data:`TRASH`."""
    if path.exists():
        TRASH.mkdir(exist_ok=True)
        path.rename(Path(tempfile.mkdtemp(prefix=path.name + "-", dir=TRASH)) / path.name)
    return path


def forget_tags() -> None:
    """Drop the tags kept from earlier loads, so that the next run tags every article again (as
    after an edit of the tagging tables); the compiled tables stay."""
    for path in CACHE.glob("tags-*.pickle"):
        path.unlink()


def median_run(cmd: list[str], **kwargs) -> tuple[float, float]:
    """Median wall time of REPEAT runs and the largest peak RSS among them: one run is at the
    mercy of the machine's noise (on a small VM, as much as a third either way)."""
    runs = [run_measured(cmd, **kwargs)[:2] for _ in range(REPEAT)]
    return statistics.median(t for t, _ in runs), max(m for _, m in runs)


def pipeline(n: int, target: Path) -> None:
    """Parse, ids, tag and index, timed by the loader itself in one ``feeds check`` process."""
    cmd = FEEDS + ["check", "--json", "--data-dir", str(target / "data")]
    reports = []
    for _ in range(REPEAT):
        forget_tags()  # tagging itself is measured, not the tags kept by the builds
        reports.append(json.loads(run_measured(cmd, cwd=ROOT, env=measured_env())[2].stdout))
    steps = {step: statistics.median(r["seconds"][step] for r in reports) for step in reports[0]["seconds"]}
    per = 1e6 / n
    names = {"tables": "load tagging tables", "parse": "parse", "ids": "ids and dates", "tag": "tag"}
    names["index"] = "articles and feeds (index)"
    for step, seconds in steps.items():
        note = "" if step == "tables" else f"{seconds * per:.1f} us/article"
        if step == "tag" and n == 100_000:
            note += ", target <= 60 us (both models included)"
        say(f"{n:>7} articles: {names.get(step, step)}", f"{seconds:.3f} s", note)
    both = steps["parse"] + steps["tag"]
    say(
        f"{n:>7} articles: parse + tag",
        f"{both:.3f} s",
        f"{both * per:.1f} us/article" + (", target <= 5 s" if n == 100_000 else ""),
    )
    total = sum(steps.values())
    say(f"{n:>7} articles: whole load", f"{total:.3f} s", f"{total * per:.1f} us/article")


def builds(n: int, target: Path, hugo: str | None, peaks: dict[int, float]) -> None:
    env = measured_env()
    data = target / "data"
    base = FEEDS + ["build", "--base-url", BASE, "--data-dir", str(data), "-q"]
    feeds_only = ["--feeds-only", "--formats", "atom,rss"]
    out = fresh(target / "out-feeds")
    # The first build ever: tagging tables compiled into an empty cache, every id minted.
    (data / "ledger.json").unlink(missing_ok=True)
    with tempfile.TemporaryDirectory() as empty:
        first, m_first, _ = run_measured([*base, "--cache-dir", empty, str(out), *feeds_only], cwd=ROOT, env=env)
    say(
        f"{n:>7} articles: first feeds build (empty cache, ids minted)",
        f"{first:.2f} s",
        f"peak {m_first:.0f} MiB",
    )

    dest = target / "out-hugo"
    hcmd = None
    if hugo is not None:
        hcmd = [hugo, "--source", str(ROOT / "bench"), "--config", str(ROOT / "bench" / "hugo.toml")]
        hcmd += ["--contentDir", str(target / "hugo"), "--destination", str(dest), "--quiet"]
    # Each run into an empty directory (a whole build, not an incremental one), the two tools in
    # turn: a small VM's speed drifts by half within minutes, and alternating spreads that drift
    # over both instead of favouring whichever ran in the fast minute.
    # Two feeds builds: one as a rebuild finds things (the tags of unchanged articles kept from the
    # last build), one tagging every article again (as after the tagging tables were edited).
    run_measured([*base, str(fresh(out)), *feeds_only], cwd=ROOT, env=env)  # fills CACHE: tables and tags
    times, retag_times, hugo_times = [], [], []
    peak = m_retag = m_hugo = 0.0
    for _ in range(REPEAT):
        elapsed, rss, _ = run_measured([*base, str(fresh(out)), *feeds_only], cwd=ROOT, env=env)
        times.append(elapsed)
        peak = max(peak, rss)
        if hcmd is not None:
            fresh(dest)
            elapsed, rss, _ = run_measured(hcmd)
            hugo_times.append(elapsed)
            m_hugo = max(m_hugo, rss)
        forget_tags()
        elapsed, rss, _ = run_measured([*base, str(fresh(out)), *feeds_only], cwd=ROOT, env=env)
        retag_times.append(elapsed)
        m_retag = max(m_retag, rss)
    t_feeds, t_retag = statistics.median(times), statistics.median(retag_times)
    peaks[n] = peak
    note = f"peak {peak:.0f} MiB, median of {REPEAT}"
    say(f"{n:>7} articles: feeds build (Atom+RSS feeds)", f"{t_feeds:.2f} s", note + ", tags kept from the last build")
    say(
        f"{n:>7} articles: feeds build, every article tagged",
        f"{t_retag:.2f} s",
        f"peak {m_retag:.0f} MiB, median of {REPEAT}",
    )
    smallest = min(peaks)
    if n > smallest:
        marginal = (peak - peaks[smallest]) * 1024 / (n - smallest)
        say(f"{n:>7} articles: build memory per added article", f"{marginal:.2f} KiB", f"above {smallest} articles")
    if hcmd is None:
        skip(f"{n:>7} articles: Hugo build", "hugo is not installed (apt-get install hugo)")
        return
    t_hugo = statistics.median(hugo_times)
    rss_files = sum(1 for _ in dest.rglob("*.xml"))
    say(
        f"{n:>7} articles: Hugo build (RSS feeds)",
        f"{t_hugo:.2f} s",
        f"peak {m_hugo:.0f} MiB, {rss_files} feeds, median of {REPEAT}",
    )
    targeted = n in (10_000, 50_000)
    say(f"{n:>7} articles: feeds/Hugo time", f"{t_feeds / t_hugo:.2f}x", "target <= 0.5x" if targeted else "")
    say(f"{n:>7} articles: feeds/Hugo peak memory", f"{peak / m_hugo:.2f}x", "target <= 0.25x" if targeted else "")
    say(f"{n:>7} articles: feeds/Hugo time, every article tagged", f"{t_retag / t_hugo:.2f}x")
    say(f"{n:>7} articles: feeds/Hugo peak memory, every article tagged", f"{m_retag / m_hugo:.2f}x")
    say(f"{n:>7} articles: first feeds build/Hugo time", f"{first / t_hugo:.2f}x", "with nothing cached")


def complete(n: int, target: Path, hugo: str | None) -> None:
    """The complete site (what ``feeds build OUT`` writes with no flags) against Hugo's complete site
    (bench/hugo-full: a page per article, an HTML page and an RSS feed per term, the home page):
    the first build into an empty directory, a rebuild after one edited summary, a rebuild with
    nothing changed, and ``--precompress`` into an empty directory."""
    env = measured_env()
    data = target / "data"
    base = FEEDS + ["build", "--base-url", BASE, "--data-dir", str(data), "-q"]
    out, dest = target / "out-full", target / "out-hugo-full"
    hcmd = None
    if hugo is not None:
        hcmd = [hugo, "--source", str(ROOT / "bench" / "hugo-full"), "--contentDir", str(target / "hugo")]
        hcmd += ["--destination", str(dest), "--quiet"]
    firsts, hugo_times = [], []
    peak = m_hugo = 0.0
    for _ in range(REPEAT):  # in turn, as above
        elapsed, rss, _ = run_measured([*base, str(fresh(out))], cwd=ROOT, env=env)
        firsts.append(elapsed)
        peak = max(peak, rss)
        if hcmd is not None:
            fresh(dest)
            elapsed, rss, _ = run_measured(hcmd)
            hugo_times.append(elapsed)
            m_hugo = max(m_hugo, rss)
    t_first = statistics.median(firsts)
    files = sum(1 for p in out.rglob("*") if p.is_file())
    say(f"{n:>7} articles: complete site, empty OUT", f"{t_first:.2f} s", f"peak {peak:.0f} MiB, {files} files")
    listing = data / "articles.txt"
    text = listing.read_bytes()
    cut = text.index(b"\n\n", text.index(b"\n\n") + 2)  # the end of the first summary
    try:
        listing.write_bytes(text[:cut] + b" Edited." + text[cut:])
        # A person saves, then types the command: a build within HOLD of a save first waits for the
        # file to hold still (feeds.pipeline.load.load_still).
        time.sleep(HOLD)
        t_edit, m_edit, _ = run_measured([*base, str(out), "--json"], cwd=ROOT, env=env)
    finally:
        listing.write_bytes(text)
    run_measured([*base, str(out)], cwd=ROOT, env=env)  # back to the unedited data
    t_again, m_again, again = run_measured([*base, str(out), "--json"], cwd=ROOT, env=env)
    rendered = json.loads(again.stdout)["rendered"]
    say(f"{n:>7} articles: complete site, one summary edited", f"{t_edit:.2f} s", f"peak {m_edit:.0f} MiB")
    say(f"{n:>7} articles: complete site, nothing changed", f"{t_again:.2f} s", f"{rendered} rendered")
    t_pre, m_pre, _ = run_measured([*base, str(fresh(out)), "--precompress"], cwd=ROOT, env=env)
    say(f"{n:>7} articles: complete site --precompress, empty OUT", f"{t_pre:.2f} s", f"peak {m_pre:.0f} MiB")
    say(f"{n:>7} articles: --precompress / without", f"{t_pre / t_first:.2f}x", "goal <= 1.5x")
    if hcmd is None:
        skip(f"{n:>7} articles: Hugo complete site", "hugo is not installed (apt-get install hugo)")
        return
    t_hugo = statistics.median(hugo_times)
    hugo_files = sum(1 for p in dest.rglob("*") if p.is_file())
    say(f"{n:>7} articles: Hugo complete site", f"{t_hugo:.2f} s", f"peak {m_hugo:.0f} MiB, {hugo_files} files")
    say(f"{n:>7} articles: complete site / Hugo's", f"{t_first / t_hugo:.2f}x", "goal <= 1.0x")
    say(f"{n:>7} articles: complete site peak memory / Hugo's", f"{peak / m_hugo:.2f}x", "goal <= 0.3x")
    say(f"{n:>7} articles: one edit / Hugo's complete site", f"{t_edit / t_hugo:.2f}x", "goal <= 0.2x")
    say(f"{n:>7} articles: nothing changed / Hugo's complete site", f"{t_again / t_hugo:.2f}x", "goal <= 0.15x")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            urllib.request.urlopen(url, timeout=2).read()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def wrk(wrk_bin: str, url: str, headers: dict[str, str], seconds: int) -> tuple[float, float, float, int]:
    cmd = [wrk_bin, "-t2", "-c64", f"-d{seconds}s", "--latency"]
    for key, value in headers.items():
        cmd += ["-H", f"{key}: {value}"]
    out = subprocess.run(cmd + [url], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))

    def latency(pct: str) -> float:
        m = re.search(rf"\s{pct}%\s+([\d.]+)(us|ms|s)", out)
        value, unit = float(m.group(1)), m.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(r"Socket errors: .*", out)
    bad = int(errors.group(1)) if errors else 0
    if socket_errors:
        bad += sum(int(x) for x in re.findall(r"\d+", socket_errors.group(0)))
    return rps, latency("50"), latency("99"), bad


def etag_of(url: str, headers: dict[str, str]) -> str:
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers)) as response:
        return response.headers["ETag"]


def _serve(cmd: list[str], env: dict[str, str], health: str) -> subprocess.Popen:
    # Its own process group, so that _stop reaches the server's workers too.
    proc = subprocess.Popen(
        cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    try:
        wait_http(health)
    except OSError:
        _stop(proc)
        raise
    return proc


def _stop(proc: subprocess.Popen) -> None:
    """SIGTERM, then SIGKILL after 15 s, to the process and its group when it leads one."""
    try:
        leads = os.getpgid(proc.pid) == proc.pid
    except ProcessLookupError:
        leads = False
    for sig, wait in ((signal.SIGTERM, 15), (signal.SIGKILL, None)):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig) if leads else proc.send_signal(sig)
        try:
            proc.wait(wait)
            return
        except subprocess.TimeoutExpired:
            continue


def serving(target: Path, wrk_bin: str | None, nginx: str | None, seconds: int) -> None:
    """Throughput of a warm feed; access logs off everywhere, so servers are compared, not loggers."""
    if wrk_bin is None:
        skip("serving", "wrk is not installed (apt-get install wrk)")
        return
    gz = {"Accept-Encoding": "gzip"}
    results: dict[str, float] = {}
    env = {**os.environ, "FEEDS_DATA_DIR": str(target / "data"), "FEEDS_BASE_URL": BASE, "FEEDS_ACCESS_LOG": "0"}
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = _serve(FEEDS + ["serve", "--port", str(port)], env, url + "/healthz")
    try:
        overall, country = ("overall feed", "/feeds/all.atom", gz), ("country feed", "/feeds/countries/france.atom", gz)
        for _, path, _ in (overall, country):
            wait_http(url + path)
        tag = etag_of(url + "/feeds/all.atom", gz)
        conditional = ("304 conditional request", "/feeds/all.atom", {**gz, "If-None-Match": tag})
        # The three in turn, REPEAT times, medians kept; the 304 run right after the 200 run of
        # the same feed, and their ratio taken in each round: the pair is seconds apart, while
        # the machine's speed drifts by more than the difference over minutes.
        runs = [overall, conditional, country]
        measured: dict[str, list[tuple[float, float, float, int]]] = {name: [] for name, _, _ in runs}
        for _ in range(REPEAT):
            for name, path, headers in runs:
                measured[name].append(wrk(wrk_bin, url + path, headers, seconds))
        pairs = zip(measured[conditional[0]], measured[overall[0]], strict=True)
        results["304/200"] = statistics.median(c[0] / o[0] for c, o in pairs)
        for name, values in measured.items():
            rps, p50, p99 = (statistics.median(v[i] for v in values) for i in range(3))
            bad = sum(v[3] for v in values)
            results[f"service {name}"] = rps
            say(
                f"service (granian): {name}" + ("" if name.startswith("304") else ", gzip"),
                f"{rps:,.0f} req/s",
                f"p50 {p50:.2f} ms, p99 {p99:.2f} ms, {bad} errors, median of {REPEAT}",
            )
    finally:
        _stop(proc)
    gunicorn = shutil.which("gunicorn") or str(Path(PY).parent / "gunicorn")
    for label, args in (
        ("gunicorn gthread 2x8", ["-c", str(ROOT / "deploy" / "gunicorn.conf.py"), "--access-logfile", "/dev/null"]),
        ("gunicorn sync x4", ["-w", "4", "-k", "sync"]),
    ):
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        cmd = [gunicorn, *args, "-b", f"127.0.0.1:{port}", "wsgi:app"]
        proc = _serve(cmd, {**env, "PORT": str(port)}, url + "/healthz")
        try:
            wait_http(url + "/feeds/all.atom")
            rps, p50, p99, bad = wrk(wrk_bin, url + "/feeds/all.atom", gz, seconds)
            results[label] = rps
            say(
                f"{label}: overall feed, gzip", f"{rps:,.0f} req/s", f"p50 {p50:.2f} ms, p99 {p99:.2f} ms, {bad} errors"
            )
        finally:
            _stop(proc)
    service = results["service overall feed"]
    for label in ("gunicorn gthread 2x8", "gunicorn sync x4"):
        say(f"granian / {label}", f"{service / results[label]:.2f}x", "the production server is chosen by this")
    if nginx is None:
        skip("nginx comparison", "nginx is not installed (apt-get install nginx)")
        return
    sys.path.insert(0, str(ROOT / "bench"))
    from nginx_conf import start_nginx

    if not (target / "out-full" / "feeds" / "all.atom.gz").exists():  # the complete part was not run
        build = FEEDS + ["build", "--base-url", BASE, "--data-dir", str(target / "data"), "-q", "--precompress"]
        subprocess.run([*build, str(fresh(target / "out-full"))], cwd=ROOT, env=measured_env(), check=True)
    for label, static in (("gzip_static", True), ("gzip on the fly", False)):
        port = free_port()
        with tempfile.TemporaryDirectory() as tmp:
            proc = start_nginx(nginx, target / "out-full", port, Path(tmp), precompressed=static)
            try:
                url = f"http://127.0.0.1:{port}"
                wait_http(url + "/feeds/all.atom")
                rps, p50, p99, bad = wrk(wrk_bin, url + "/feeds/all.atom", gz, seconds)
                results[f"nginx {label}"] = rps
                say(
                    f"nginx: overall feed, {label}",
                    f"{rps:,.0f} req/s",
                    f"p50 {p50:.2f} ms, p99 {p99:.2f} ms, {bad} errors",
                )
            finally:
                _stop(proc)
    say("service / nginx gzip on the fly", f"{service / results['nginx gzip on the fly']:.2f}x", "target >= 1.5x")
    say("service / nginx gzip_static", f"{service / results['nginx gzip_static']:.2f}x", "target >= 0.5x")
    say("service 304 / service 200", f"{results['304/200']:.2f}x", f"target >= 1x, median of {REPEAT} adjacent pairs")


def main() -> None:
    if not GEN.exists():
        sys.exit(f"{GEN} is missing: the benchmark generator lives in ../shared/bench")
    sizes = [int(s) for s in os.environ.get("BENCH_SIZES", "1000,10000,50000,100000").split(",")]
    seconds = int(os.environ.get("BENCH_SECONDS", "10"))
    hugo = shutil.which("hugo")
    wrk_bin = shutil.which("wrk")
    nginx = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    print(f"feeds benchmark, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    print(f"machine: {os.cpu_count()} cores, {mem:.0f} GiB, {platform.platform()}, Python {platform.python_version()}")
    parts = os.environ.get("BENCH_PARTS", "builds,complete,pipeline,serving").split(",")
    WORK.mkdir(exist_ok=True)
    peaks: dict[int, float] = {}
    try:
        for n in sizes:
            target = generate(n, hugo is not None and n <= 100_000)
            if "builds" in parts:
                builds(n, target, hugo, peaks)  # the first build also writes the ledger the load below reads
            if "complete" in parts and n <= FULL_MAX:
                complete(n, target, hugo)
            if "pipeline" in parts:
                pipeline(n, target)
        if "serving" in parts:
            serving(WORK / str(sizes[min(1, len(sizes) - 1)]), wrk_bin, nginx, seconds)
    finally:
        shutil.rmtree(TRASH, ignore_errors=True)


if __name__ == "__main__":
    main()
