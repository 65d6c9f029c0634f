"""Tag a whole listing, on two cores when it is large; share other work with a forked worker.

Tagging is most of the time of a load (about thirty microseconds an article, in pure Python), and
articles are tagged independently. A large listing is therefore split in two: a forked copy of the
process tags the second half while this one tags the first, and sends back only the tags, pickled
through a pipe. The copy shares the loaded tables and articles with its parent (copy-on-write) and
exits as soon as it is done.

Forking is only safe in a process that runs no other thread, so it is done only when the caller
asks for it (the CLI commands, not the server, whose native threads Python cannot see), when no
other Python thread runs, and where there are two cores to use.
If the worker fails in any way, its half is tagged here: the result never depends on it.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import signal
import threading
from collections.abc import Callable, Sequence
from typing import TypeVar

from feeds.model import Entry
from feeds.tagging.tag import Tagger

#: Below this many articles a fork costs more than it saves.
PARALLEL_MIN = 20_000

Found = tuple[tuple[str, ...], tuple[str, ...]]  # (countries, topics)
A = TypeVar("A")


def tag_all(tagger: Tagger, entries: Sequence[Entry], *, fork: bool = False) -> list[Found]:
    """The (countries, topics) of every entry, in order; with ``fork``, on two cores when it pays."""
    if not (fork and can_fork(len(entries), PARALLEL_MIN)):
        return _tag(tagger, entries)
    half = len(entries) // 2
    mine, theirs = in_two(lambda: _tag(tagger, entries[:half]), lambda: _tag(tagger, entries[half:]))
    if not isinstance(theirs, list) or len(theirs) != len(entries) - half:
        theirs = _tag(tagger, entries[half:])
    return mine + theirs


def in_two(mine: Callable[[], A], theirs: Callable[[], object]) -> tuple[A, object]:
    """``mine()`` here while a forked copy of this process runs ``theirs()``, whose result comes back
    pickled; it is None where the copy failed in any way, and the caller then does that part itself.
    Only where :func:`can_fork` says so."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the worker: run its part, send it, leave without running any of the parent's code
        status = 1
        try:
            os.close(read)
            data = pickle.dumps(theirs(), protocol=pickle.HIGHEST_PROTOCOL)
            with os.fdopen(write, "wb") as pipe:
                pipe.write(data)
            status = 0
        finally:
            os._exit(status)
    os.close(write)
    try:
        result = mine()
        with os.fdopen(read, "rb") as pipe:
            data = pipe.read()
    except BaseException:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        raise
    _, status = os.waitpid(pid, 0)
    other = None
    if status == 0:
        with contextlib.suppress(Exception):  # a truncated or foreign message: as if the worker had failed
            other = pickle.loads(data)
    return result, other


def can_fork(count: int, minimum: int) -> bool:
    """Whether ``count`` pieces of work (at least ``minimum``) can be shared with a forked worker:
    no other thread runs, and there are two cores."""
    if count < minimum or not hasattr(os, "fork") or threading.active_count() > 1:
        return False
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return cores >= 2


def _tag(tagger: Tagger, entries: Sequence[Entry]) -> list[Found]:
    # Articles share a few combinations of tags: one tuple for each keeps the result small.
    shared: dict[Found, Found] = {}
    out = []
    for entry in entries:
        tags = tagger.tag(entry.title, entry.summary)
        found = (tags.countries, tags.topics)
        out.append(shared.setdefault(found, found))
    return out
