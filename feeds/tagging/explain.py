"""Why an article has its countries and topics: the evidence behind each tag."""

from __future__ import annotations

from feeds.pipeline.load import Loaded
from feeds.slug import fold


def find(loaded: Loaded, query: str) -> int | None:
    """Index of the article whose id or slug is ``query``, or whose title contains it."""
    site = loaded.site
    needle = fold(query).lower().strip()
    for i, a in enumerate(site.articles):
        if query in (a.id, a.slug):
            return i
    for i, a in enumerate(site.articles):
        if needle and needle in fold(a.title).lower():
            return i
    return None


def explain_article(loaded: Loaded, query: str) -> str | None:
    index = find(loaded, query)
    if index is None:
        return None
    article = loaded.site.articles[index]
    entry = next(e for e in loaded.entries if e.location == article.location)
    tags = loaded.tagger.tag(entry.title, entry.summary)
    model = loaded.tagger.model
    scores = loaded.tagger.model_scores(entry.title, entry.summary)
    country_scores = loaded.tagger.country_scores(entry.title, entry.summary)
    lines = [article.title, f"  id: {article.id}", f"  at: {article.location}", ""]

    def name(kind: str, value: str) -> str:
        if kind == "country":
            country = loaded.tagger.country(value)
            return f"{country.name} ({value})" if country else value
        return value

    for kind, final, overrides in (
        ("country", article.countries, entry.meta.countries),
        ("topic", article.topics, entry.meta.topics),
    ):
        lines.append("Countries:" if kind == "country" else "Topics:")
        resolve = loaded.tagger.country if kind == "country" else loaded.tagger.topic
        label = "@countries" if kind == "country" else "@topics"
        added = {getattr(resolve(x), "code" if kind == "country" else "slug", None) for x in overrides.add}
        removed = {getattr(resolve(x), "code" if kind == "country" else "slug", None) for x in overrides.remove}
        found = [e for e in tags.evidence if e.kind == kind and e.value]
        values = list(final) + [v for v in dict.fromkeys(e.value for e in found) if v not in final]
        if kind == "topic":
            values += [slug for slug, p in scores.items() if p >= 0.2 and slug not in values]
        if not values:
            lines.append("  (none)")
        for value in values:
            status = "yes" if value in final else "no"
            lines.append(f"  {name(kind, value)}: {status}")
            if value in added:
                lines.append(f"    override: {label} adds it at {entry.location} (wins over the tagger)")
            if value in removed:
                lines.append(f"    override: {label} removes it at {entry.location} (wins over the tagger)")
            for ev in found:
                if ev.value == value:
                    verdict = "matched" if ev.accepted else "rejected"
                    lines.append(f"    rule: {verdict} {ev.text!r} in the {ev.field}: {ev.source}")
            if kind == "topic" and model is not None and value in scores:
                threshold = model.thresholds[model.index[value]]
                weak = "" if model.weak is None else f", {model.weak:.2f} with some rule evidence"
                lines.append(
                    f"    model: {scores[value]:.2f} ({model.path.parent.name}/{model.path.name}; adds a topic at"
                    f" {threshold:.2f}{weak})"
                )
            if kind == "country" and value in country_scores:
                learned = loaded.tagger.country_model
                verdict = "kept" if country_scores[value] >= learned.threshold else "dropped"
                where = f"{learned.path.parent.name}/{learned.path.name}"
                lines.append(f"    country model: {country_scores[value]:.2f}, {verdict} ({where})")
        lines.append("")
    ignored = [e for e in tags.evidence if not e.value]
    if ignored:
        lines.append("Ignored phrases:")
        lines += [f"  {e.text!r} in the {e.field}: {e.source}" for e in ignored]
    return "\n".join(lines).rstrip() + "\n"
