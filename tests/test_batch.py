"""Tagging a large listing on two cores (feeds.tagging.batch): the same tags as one core, whatever happens."""

from __future__ import annotations

import os
import threading

import pytest

from feeds.pipeline.load import load_tagger
from feeds.pipeline.parse import parse_text
from feeds.tagging import batch

from .conftest import SHIPPED

LISTING = (SHIPPED / "articles.txt").read_text("utf-8")


@pytest.fixture(scope="module")
def entries():
    return parse_text(LISTING * 20).entries  # 240 articles


@pytest.fixture(scope="module")
def tagger():
    return load_tagger(SHIPPED)


def _one_core(tagger, entries):
    return [(t.countries, t.topics) for t in (tagger.tag(e.title, e.summary) for e in entries)]


@pytest.mark.skipif(not hasattr(os, "fork") or (os.cpu_count() or 1) < 2, reason="needs fork and two cores")
def test_two_cores_give_the_same_tags_as_one(entries, tagger, monkeypatch: pytest.MonkeyPatch):
    forks = []
    real_fork = os.fork

    def counted() -> int:
        forks.append(1)
        return real_fork()

    monkeypatch.setattr(batch, "PARALLEL_MIN", 10)
    monkeypatch.setattr(os, "fork", counted)
    # idle threads left by other tests of the session would turn forking off
    monkeypatch.setattr(batch.threading, "active_count", lambda: 1)
    found = batch.tag_all(tagger, entries, fork=True)
    assert forks == [1]
    assert found == _one_core(tagger, entries)
    assert ("FR",) in {countries for countries, _ in found}


@pytest.mark.skipif(not hasattr(os, "fork") or (os.cpu_count() or 1) < 2, reason="needs fork and two cores")
def test_a_failing_worker_leaves_its_half_to_the_parent(entries, tagger, monkeypatch: pytest.MonkeyPatch):
    def broken(*args, **kwargs):
        raise RuntimeError("the worker cannot send its tags")

    monkeypatch.setattr(batch, "PARALLEL_MIN", 10)
    monkeypatch.setattr(batch.threading, "active_count", lambda: 1)
    monkeypatch.setattr(batch.pickle, "dumps", broken)  # only the worker pickles
    assert batch.tag_all(tagger, entries, fork=True) == _one_core(tagger, entries)


def test_no_fork_unless_asked_for_a_large_listing_with_no_other_thread(
    entries, tagger, monkeypatch: pytest.MonkeyPatch
):
    def refuse() -> int:
        raise AssertionError("forked")

    monkeypatch.setattr(os, "fork", refuse)
    assert batch.tag_all(tagger, entries, fork=True) == _one_core(tagger, entries)  # below PARALLEL_MIN
    monkeypatch.setattr(batch, "PARALLEL_MIN", 10)
    assert batch.tag_all(tagger, entries) == _one_core(tagger, entries)  # not asked to
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        assert batch.tag_all(tagger, entries, fork=True) == _one_core(tagger, entries)
    finally:
        stop.set()
        other.join()
