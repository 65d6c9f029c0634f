"""The ``feeds`` command line."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import click

from feeds.config import NoDataDir, cache_dir_of, find_data_dir
from feeds.pipeline.load import Changed, DataError, Loaded, load_still, read_meta


class _NoDataDir(click.ClickException):
    exit_code = 2  # as for a usage error: nothing was run


def _data_dir(_ctx: click.Context, _param: click.Parameter, value: Path | None) -> Path:
    try:
        return find_data_dir(value)
    except NoDataDir as exc:
        raise _NoDataDir(str(exc)) from None


data_dir_option = click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    callback=_data_dir,
    help="Directory with the listing (*.txt), site.toml and ledger.json. Default: $FEEDS_DATA_DIR, "
    "else ./data or the current directory when it holds a listing and a site.toml.",
)


cache_dir_option = click.option(
    "--cache-dir",
    envvar="FEEDS_CACHE_DIR",
    default="",
    show_default="$XDG_CACHE_HOME/feeds",
    callback=lambda _ctx, _param, value: cache_dir_of(value),
    help="Where compiled tagging tables are kept between runs; 'off' turns that off.",
)


def _load(data_dir: Path, cache_dir: Path | None, *, persist: bool = True) -> Loaded:
    try:
        return load_still(data_dir, persist=persist, cache_dir=cache_dir)
    except DataError as exc:
        for problem in exc.diagnostics:
            click.echo(str(problem), err=True)
        raise click.ClickException("cannot load the tagging data") from exc
    except Changed as exc:
        raise click.ClickException(f"{exc} kept changing while it was read; nothing was recorded") from exc


def _report(loaded: Loaded) -> None:
    for problem in loaded.site.diagnostics:
        click.echo(str(problem), err=True)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="feeds")
def main() -> None:
    """Publish a plain-text news listing as Atom, RSS and JSON feeds."""


#: What `feeds init` writes, from feeds/starter/ (".gitignore" is shipped without its dot).
STARTER = {"site.toml": "site.toml", "articles.txt": "articles.txt", ".gitignore": "gitignore"}


@main.command()
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
def init(directory: Path) -> None:
    """Make a new site in DIRECTORY: a commented site.toml, an example listing and a .gitignore."""
    from importlib.resources import files

    from feeds.files import write_atomic

    existing = [name for name in STARTER if (directory / name).exists()]
    if existing:
        raise click.ClickException(
            f"{directory} already has {', '.join(existing)}; nothing written (feeds init never overwrites a file)"
        )
    try:
        directory.mkdir(parents=True, exist_ok=True)
        for name, shipped in STARTER.items():
            write_atomic(directory / name, files("feeds").joinpath("starter/" + shipped).read_bytes(), durable=False)
    except OSError as exc:
        raise click.ClickException(f"{directory}: {exc.strerror or exc}") from exc
    click.echo(
        f"Made a new site in {directory}: edit site.toml, replace the example articles in articles.txt, then\n"
        f"  cd {directory} && feeds check && feeds serve"
    )


@main.command()
@data_dir_option
@cache_dir_option
@click.option("--json", "as_json", is_flag=True, help="Print counts and the seconds of each step as JSON.")
def check(data_dir: Path, cache_dir: Path | None, as_json: bool) -> None:
    """Read the data and print each problem as file:line: message (exit 1 on errors)."""
    loaded = _load(data_dir, cache_dir, persist=False)
    _report(loaded)
    errors = len(loaded.errors)
    warnings = len(loaded.site.diagnostics) - errors
    if as_json:
        timings = {step: round(seconds, 4) for step, seconds in loaded.timings.items()}
        counts = {"articles": len(loaded.site.articles), "errors": errors, "warnings": warnings}
        click.echo(json.dumps({**counts, "seconds": timings}))
    else:
        click.echo(f"{len(loaded.site.articles)} articles, {errors} errors, {warnings} warnings")
    sys.exit(1 if errors else 0)


@main.command()
@data_dir_option
@cache_dir_option
def ids(data_dir: Path, cache_dir: Path | None) -> None:
    """Mint ids for new articles and record edits in ledger.json; print each id minted.

    The one writer of a ledger that replicas read (FEEDS_LEDGER=read-only): commit or ship the
    ledger with the data afterwards. Nothing is written when the data has errors (exit 1).
    """
    loaded = _load(data_dir, cache_dir)
    _report(loaded)
    for tag_id, entry in loaded.minted:
        click.echo(f"{tag_id}\t{entry.location}\t{entry.title}")
    if loaded.errors:
        raise click.ClickException(f"{len(loaded.errors)} errors: the ledger is unchanged")
    click.echo(f"{len(loaded.minted)} ids minted", err=True)


@main.command()
@data_dir_option
@cache_dir_option
@click.option("--json", "as_json", is_flag=True, help="One JSON array (the only format for now).")
def articles(data_dir: Path, cache_dir: Path | None, as_json: bool) -> None:
    """List the articles with their ids, dates and tags."""
    loaded = _load(data_dir, cache_dir)
    _report(loaded)
    rows = [
        {
            "id": a.id,
            "title": a.title,
            "published": a.published.isoformat().replace("+00:00", "Z"),
            "link": a.link,
            "countries": list(a.countries),
            "topics": list(a.topics),
        }
        for a in loaded.site.articles
    ]
    click.echo(json.dumps(rows, ensure_ascii=False, indent=1))


@main.command()
@data_dir_option
@cache_dir_option
@click.argument("out", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--base-url",
    envvar="FEEDS_BASE_URL",
    show_default="base_url in site.toml",
    help="Public URL the files are served from.",
)
@click.option(
    "--entry-limit", type=click.IntRange(1, 10_000), default=50, envvar="FEEDS_ENTRY_LIMIT", show_default=True
)
@click.option("--max-age", type=click.IntRange(0), default=300, envvar="FEEDS_MAX_AGE", show_default=True)
@click.option("--precompress", is_flag=True, help="Also write .gz and .br beside each text file.")
@click.option(
    "--formats",
    default="atom,rss,json",
    show_default=True,
    help="Feed formats to write, comma-separated.",
)
@click.option("--feeds-only", is_flag=True, help="Only the subscription feeds: no pages, archives or OPML.")
@click.option("--websub-hub", envvar="FEEDS_WEBSUB_HUB", help="WebSub hub to notify of changed feeds.")
@click.option("-q", "--quiet", is_flag=True, help="Print nothing but errors.")
@click.option("--json", "as_json", is_flag=True, help="Print a machine-readable summary.")
def build(
    data_dir: Path,
    cache_dir: Path | None,
    out: Path,
    base_url: str | None,
    entry_limit: int,
    max_age: int,
    precompress: bool,
    formats: str,
    feeds_only: bool,
    websub_hub: str | None,
    quiet: bool,
    as_json: bool,
) -> None:
    """Write every feed and page to OUT for static hosting."""
    from feeds.build.tree import BuildError
    from feeds.build.tree import build as run_build
    from feeds.render.documents import PublishOptions

    if not base_url:
        meta, problems = read_meta(data_dir)
        if not meta.base_url:
            for problem in problems:  # an unreadable site.toml, say
                click.echo(str(problem), err=True)
            raise click.UsageError(f"give --base-url (or FEEDS_BASE_URL), or set base_url in {data_dir / 'site.toml'}")
        base_url = meta.base_url
    options = PublishOptions(entry_limit=entry_limit, max_age=max_age, hub=websub_hub)
    started = time.monotonic()
    bar = None
    show = not quiet and not as_json and sys.stderr.isatty()

    shown = 0

    def progress(done: int, total: int) -> None:
        nonlocal bar, shown
        if bar is None and show and time.monotonic() - started > 1.0:
            bar = click.progressbar(length=total, label="Writing", file=sys.stderr)
            bar.__enter__()
        if bar is not None and done > shown:
            bar.update(done - shown)
            shown = done

    try:
        chosen = tuple(f.strip() for f in formats.split(",") if f.strip())
        unknown = sorted(set(chosen) - {"atom", "rss", "json"})
        if unknown or not chosen:
            raise click.BadParameter(f"unknown format {unknown[0] if unknown else ''!r}; use atom, rss, json")
        report = run_build(
            data_dir,
            out,
            base_url,
            options,
            precompress=precompress,
            progress=progress,
            formats=chosen,
            feeds_only=feeds_only,
            cache_dir=cache_dir,
        )
    except BuildError as exc:
        for problem in exc.diagnostics:
            click.echo(str(problem), err=True)
        raise click.ClickException(str(exc)) from exc
    finally:
        if bar is not None:
            bar.__exit__(None, None, None)
    if websub_hub and report.changed_feeds:
        from feeds.serve.websub import publish

        if not publish(websub_hub, [base_url.rstrip("/") + path for path in report.changed_feeds], attempts=3):
            click.echo(f"warning: the WebSub hub {websub_hub} was not notified of every change", err=True)
    elapsed = time.monotonic() - started
    if as_json:
        click.echo(json.dumps({**report.as_dict(), "seconds": round(elapsed, 3), "out": str(out)}))
    elif not quiet:
        for warning in report.warnings:
            click.echo(warning, err=True)
        click.echo(
            f"{out}: {report.files} files ({report.written} written, {report.unchanged} unchanged, "
            f"{report.removed} removed) for {report.articles} articles in {elapsed:.2f} s"
        )


@main.command()
@data_dir_option
@cache_dir_option
@click.argument("out", type=click.Path(file_okay=False, exists=True, path_type=Path))
@click.argument("target", metavar="s3://BUCKET/PREFIX")
@click.option(
    "--endpoint-url",
    help="An S3-compatible service other than AWS (also AWS_ENDPOINT_URL). Credentials and region come "
    "from the client's standard variables: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION...",
)
@click.option(
    "--entry-limit", type=click.IntRange(1, 10_000), default=50, envvar="FEEDS_ENTRY_LIMIT", show_default=True
)
@click.option("--max-age", type=click.IntRange(0), default=300, envvar="FEEDS_MAX_AGE", show_default=True)
@click.option("--dry-run", is_flag=True, help="Count what would be uploaded and deleted; change nothing.")
@click.option("--force", is_flag=True, help="Upload every object, unchanged or not (after changing --max-age).")
@click.option("--json", "as_json", is_flag=True, help="Print a machine-readable summary.")
def publish(
    data_dir: Path,
    cache_dir: Path | None,
    out: Path,
    target: str,
    endpoint_url: str | None,
    entry_limit: int,
    max_age: int,
    dry_run: bool,
    force: bool,
    as_json: bool,
) -> None:
    """Upload OUT, written by `feeds build` from the same data and settings, to S3-compatible storage.

    Only objects whose bytes differ are uploaded, with the service's Content-Type and Cache-Control,
    pages first, feeds next, the index last; objects under PREFIX that OUT no longer has are deleted.
    Needs: pip install 'feeds[s3]'."""
    from feeds.build.publish import PublishError, Target
    from feeds.build.publish import publish as run_publish
    from feeds.render.documents import PublishOptions

    try:
        where = Target.parse(target)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="TARGET") from exc
    options = PublishOptions(entry_limit=entry_limit, max_age=max_age)
    started = time.monotonic()
    loaded = _load(data_dir, cache_dir, persist=False)
    if loaded.errors:
        _report(loaded)
        raise click.ClickException("the data has errors; nothing was published")
    try:
        report = run_publish(out, where, loaded.site, options, endpoint_url=endpoint_url, dry_run=dry_run, force=force)
    except PublishError as exc:
        raise click.ClickException(str(exc)) from exc
    elapsed = time.monotonic() - started
    if as_json:
        click.echo(json.dumps({**report.as_dict(), "seconds": round(elapsed, 3), "target": str(where)}))
        return
    verb = ("would upload", "would delete") if dry_run else ("uploaded", "deleted")
    skipped = f", {report.skipped} precompressed files skipped" if report.skipped else ""
    click.echo(
        f"{where}: {report.objects} objects ({report.uploaded} {verb[0]}, {report.unchanged} unchanged, "
        f"{report.deleted} {verb[1]}{skipped}) in {elapsed:.2f} s"
    )


@main.command()
@data_dir_option
@cache_dir_option
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=8000, show_default=True)
@click.option("--base-url", envvar="FEEDS_BASE_URL", help="Public URL; by default the request's own host.")
@click.option("--dev", is_flag=True, help="Use Flask's development server (reloader and debugger off).")
@click.option(
    "--read-only-ledger",
    is_flag=True,
    help="Never write ledger.json; articles without a record wait for `feeds ids` (FEEDS_LEDGER=read-only).",
)
def serve(
    data_dir: Path,
    cache_dir: Path | None,
    host: str,
    port: int,
    base_url: str | None,
    dev: bool,
    read_only_ledger: bool,
) -> None:
    """Serve the feeds over HTTP."""
    from feeds.serve.app import create_app

    if not base_url and not _is_loopback(host):
        click.echo(
            f"feeds serve: warning: listening on {host} without --base-url (FEEDS_BASE_URL): links reflect "
            "each request's Host header, so a shared cache in front that does not key on Host could be "
            "poisoned with links to another host. Set --base-url to the public URL.",
            err=True,
        )
    config = {"DATA_DIR": str(data_dir.resolve()), "CACHE_DIR": str(cache_dir) if cache_dir else "off"}
    if base_url:
        config["BASE_URL"] = base_url
    if read_only_ledger:
        config["LEDGER"] = "read-only"
    if dev:
        create_app(config).run(host=host, port=port, debug=False, use_reloader=False)
        return
    from feeds.serve.server import run

    run(config, host=host, port=port)


def _is_loopback(host: str) -> bool:
    import ipaddress

    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return host == "localhost"


@main.command()
@data_dir_option
@cache_dir_option
@click.argument("query")
def explain(data_dir: Path, cache_dir: Path | None, query: str) -> None:
    """Show why an article got each country and topic (QUERY: id, slug or title)."""
    from feeds.tagging.explain import explain_article

    loaded = _load(data_dir, cache_dir)
    text = explain_article(loaded, query)
    if text is None:
        raise click.ClickException(f"no article matches {query!r}; try an id, a slug or part of a title")
    click.echo(text)


@main.command()
@data_dir_option
@click.option(
    "--part",
    type=click.Choice(["dev", "test", "all"]),
    default="dev",
    show_default=True,
    help="Which part of the labelled corpus (feeds/tagging/corpus/) to score.",
)
@click.option("--misses/--no-misses", default=True, help="List every article the tagger got wrong.")
@click.argument("labelled", type=click.Path(dir_okay=False, exists=True, path_type=Path), required=False)
def evaluate(data_dir: Path, part: str, misses: bool, labelled: Path | None) -> None:
    """Print precision, recall and F1 of the tagger on the labelled corpus (or on LABELLED), per topic,
    the confusions, every miss, and the topic model's cross-validated scores."""
    from feeds.pipeline.load import load_tagger
    from feeds.tagging.evaluate import evaluate as run
    from feeds.tagging.evaluate import format_report, labelled_articles
    from feeds.tagging.match import TaggingDataError

    try:
        tagger = load_tagger(data_dir)
        report = run(tagger, labelled) if labelled else run(tagger, labelled_articles(part))
    except TaggingDataError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"Part: {labelled or part}")
    click.echo(format_report(report, misses=misses))
    if tagger.model is not None:
        info = tagger.model.info
        click.echo(
            f"Topic model ({tagger.model.path.name}): {info.get('examples')} examples, {info.get('folds')}-fold "
            f"cross-validated topic F1: {json.dumps(info.get('cv_f1'))}"
        )
    if tagger.country_model is not None:
        info = tagger.country_model.info
        click.echo(
            f"Country model ({tagger.country_model.path.name}): {info.get('examples')} examples, "
            f"{info.get('folds')}-fold cross-validated countries: {json.dumps(info.get('cv'))}"
        )


@main.command()
@data_dir_option
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where to write the model; by default model.json in the data directory.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the number of examples and the scores as JSON.")
def train(data_dir: Path, out: Path | None, as_json: bool) -> None:
    """Fit the topic model on the development corpus and the listing's @topics/@countries corrections
    (needs scikit-learn: pip install 'feeds[train]')."""
    try:
        from feeds.tagging import train as training
    except ImportError as exc:  # pragma: no cover - the module itself imports nothing optional
        raise click.ClickException(str(exc)) from exc
    from feeds.tagging.compile import compile_tables
    from feeds.tagging.evaluate import labelled_articles

    try:
        import sklearn  # noqa: F401
    except ImportError:
        raise click.ClickException("feeds train needs scikit-learn: pip install 'feeds[train]'") from None
    loaded = _load(data_dir, None, persist=False)
    corrected = [
        (a.title, a.summary, a.topics)
        for a, e in zip(loaded.site.articles, _entries_by_article(loaded), strict=True)
        if e.meta.topics.add or e.meta.topics.remove or e.meta.countries.add or e.meta.countries.remove
    ]
    examples = training.examples_of(labelled_articles("dev"), corrected)
    document, summary = training.train(examples, compile_tables(data_dir, model=False))
    target = out or data_dir / "model.json"
    training.write(document, target)
    countries = _train_countries(loaded, target.with_name("countries_model.json"), data_dir)
    if as_json:
        click.echo(json.dumps({**summary, "out": str(target), "countries": countries}))
    else:
        scores = summary["cv_f1"]
        click.echo(
            f"{target}: {summary['examples']} examples ({summary['from_corpus']} from the corpus, "
            f"{summary['from_listing']} from the listing); {summary['folds']}-fold cross-validated topic F1: "
            f"rules {scores['rules']:.3f}, model {scores['model']:.3f}, combined {scores['combined']:.3f}"
        )
        cv = countries["cv"]
        click.echo(
            f"{countries['out']}: {countries['candidates']} candidate countries in {countries['examples']} "
            f"examples; {countries['folds']}-fold cross-validated country F1: rules {cv['rules']['f1']:.3f}, "
            f"rules and model {cv['combined']['f1']:.3f}"
        )


def _train_countries(loaded: Loaded, target: Path, data_dir: Path) -> dict:
    """Fit the country model beside the topic model (:mod:`feeds.tagging.countries_train`)."""
    from feeds.tagging import countries_train
    from feeds.tagging import train as training
    from feeds.tagging.compile import compile_tables
    from feeds.tagging.evaluate import labelled_articles

    corrected = [
        (a.title, a.summary, a.countries)
        for a, e in zip(loaded.site.articles, _entries_by_article(loaded), strict=True)
        if e.meta.countries.add or e.meta.countries.remove
    ]
    examples = training.examples_of(labelled_articles("dev"), corrected, key="countries")
    document, summary = countries_train.train(examples, compile_tables(data_dir, model=False))
    countries_train.write(document, target)
    return {**summary, "out": str(target)}


def _entries_by_article(loaded: Loaded) -> list:
    by_location = {entry.location: entry for entry in loaded.entries}
    return [by_location[article.location] for article in loaded.site.articles]


@main.command("nginx-map")
@data_dir_option
def nginx_map(data_dir: Path) -> None:
    """Print the nginx map from ISO code to country slug (deploy/country-redirects.conf)."""
    from feeds.pipeline.load import load_tagger
    from feeds.tagging.match import TaggingDataError

    try:
        countries = sorted(load_tagger(data_dir).countries, key=lambda c: c.code)
    except TaggingDataError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(
        "# Generated by `feeds nginx-map`; regenerate after changing country names:\n"
        "#   feeds nginx-map --data-dir DATA > country-redirects.conf\n"
        "# ISO 3166-1 alpha-2 code -> country slug, for deploy/nginx.conf's 301s from\n"
        "# /feeds/countries/<code>.<format> and /countries/<code>. nginx lowercases the value it\n"
        "# looks up in a map, so the lower-case keys match FR, Fr and fr alike.\n"
        "map $feeds_country_code $feeds_country_slug {\n"
        '    default "";\n' + "".join(f"    {c.code.lower()} {c.slug};\n" for c in countries) + "}"
    )


def run() -> None:
    """The ``feeds`` program."""
    main()


if __name__ == "__main__":
    run()
