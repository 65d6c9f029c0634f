"""Settings of the service and the build, from ``FEEDS_*`` environment variables or CLI options.

A leaf: it imports no other feeds module, so every stage may read it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

#: Values of FEEDS_CACHE_DIR (and --cache-dir) that turn the cache of compiled tagging tables off.
NO_CACHE = ("off", "none", "0")
#: The file that marks a site directory (with a listing, ``*.txt``) when none is named.
SITE_FILE = "site.toml"


class NoDataDir(ValueError):
    """No data directory was named and none was found; the message says what to do."""


def is_site_dir(path: Path) -> bool:
    """A directory holding a listing (``*.txt``) and a ``site.toml``, as ``feeds init`` makes."""
    try:
        return (path / SITE_FILE).is_file() and any(p.is_file() for p in path.glob("*.txt"))
    except OSError:
        return False


def find_data_dir(
    given: str | Path | None = None, environ: Mapping[str, str] | None = None, cwd: Path | None = None
) -> Path:
    """The data directory: ``given`` (``--data-dir``), else ``FEEDS_DATA_DIR``, else ``./data`` or the
    current directory when it is a site directory (:func:`is_site_dir`). Raises :class:`NoDataDir`."""
    environ = os.environ if environ is None else environ
    for value in (given, environ.get("FEEDS_DATA_DIR")):
        if value is not None and str(value) != "":
            path = Path(value)
            if not path.is_dir():
                raise NoDataDir(f"{path}: no such data directory; `feeds init {path}` makes a new site there")
            return path
    here = Path.cwd() if cwd is None else cwd
    for candidate in (here / "data", here):
        if is_site_dir(candidate):
            return candidate
    raise NoDataDir(
        f"no data directory: neither ./data nor {here} holds a listing (*.txt) and a {SITE_FILE}. "
        "Run `feeds init DIR` to make a new site, or name one with --data-dir or FEEDS_DATA_DIR."
    )


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/feeds``, else ``~/.cache/feeds``."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "feeds"


#: Values of FEEDS_LEDGER.
LEDGER_MODES = ("write", "read-only")


def cache_dir_of(value: str | Path | None) -> Path | None:
    """``--cache-dir``/``FEEDS_CACHE_DIR`` as a directory, None when it turns the cache off."""
    if value is None or str(value) == "":
        return default_cache_dir()
    return None if str(value).lower() in NO_CACHE else Path(value)


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    base_url: str | None = None  # None: the service uses the request's own scheme and host
    entry_limit: int = 50
    max_age: int = 300
    websub_hub: str | None = None
    reload_interval: float = 2.0  # seconds between checks of the data directory; 0 turns it off
    cache_dir: Path | None = field(default_factory=default_cache_dir)  # compiled tagging tables; None: off
    cache_bytes: int = 256 * 2**20  # rendered documents kept by each worker process
    #: ``write``: the service mints ids and records edits in ledger.json; ``read-only``: it never writes
    #: it (replicas with copies of one data directory), and articles without a record wait for ``feeds ids``.
    ledger: str = "write"

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> Settings:
        """Read ``DATA_DIR``, ``BASE_URL``... (Flask config keys, the ``FEEDS_`` prefix removed).
        The data directory is found by :func:`find_data_dir`, which raises :class:`NoDataDir`."""
        kwargs: dict[str, Any] = {}
        for f in fields(cls):
            key = f.name.upper()
            if key in values and values[key] not in (None, ""):
                kwargs[f.name] = values[key]
        kwargs["data_dir"] = find_data_dir(kwargs.get("data_dir"))
        if "cache_dir" in kwargs:
            kwargs["cache_dir"] = cache_dir_of(kwargs["cache_dir"])
        for name in ("entry_limit", "max_age", "cache_bytes"):
            if name in kwargs:
                kwargs[name] = int(kwargs[name])
        if "reload_interval" in kwargs:
            kwargs["reload_interval"] = float(kwargs["reload_interval"])
        if kwargs.get("entry_limit", 1) < 1:
            raise ValueError("FEEDS_ENTRY_LIMIT must be at least 1")
        if kwargs.get("ledger", "write") not in LEDGER_MODES:
            raise ValueError(f"FEEDS_LEDGER must be one of {', '.join(LEDGER_MODES)}, not {kwargs['ledger']!r}")
        return cls(**kwargs)

    @property
    def read_only_ledger(self) -> bool:
        return self.ledger == "read-only"
