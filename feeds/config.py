"""Settings of the service and the build, from ``FEEDS_*`` environment variables or CLI options."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from feeds.pipeline.load import SHIPPED_DATA
from feeds.render.documents import PublishOptions
from feeds.tagging.cache import default_dir

#: Values of FEEDS_CACHE_DIR (and --cache-dir) that turn the cache of compiled tagging tables off.
NO_CACHE = ("off", "none", "0")
#: Values of FEEDS_LEDGER.
LEDGER_MODES = ("write", "read-only")


def cache_dir_of(value: str | Path | None) -> Path | None:
    """``--cache-dir``/``FEEDS_CACHE_DIR`` as a directory, None when it turns the cache off."""
    if value is None or str(value) == "":
        return default_dir()
    return None if str(value).lower() in NO_CACHE else Path(value)


@dataclass(frozen=True)
class Settings:
    data_dir: Path = SHIPPED_DATA
    base_url: str | None = None  # None: the service uses the request's own scheme and host
    entry_limit: int = 50
    max_age: int = 300
    websub_hub: str | None = None
    reload_interval: float = 2.0  # seconds between checks of the data directory; 0 turns it off
    cache_dir: Path | None = field(default_factory=default_dir)  # compiled tagging tables; None: off
    #: ``write``: the service mints ids and records edits in ledger.json; ``read-only``: it never writes
    #: it (replicas with copies of one data directory), and articles without a record wait for ``feeds ids``.
    ledger: str = "write"

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> Settings:
        """Read ``DATA_DIR``, ``BASE_URL``... (Flask config keys, the ``FEEDS_`` prefix removed)."""
        kwargs: dict[str, Any] = {}
        for f in fields(cls):
            key = f.name.upper()
            if key in values and values[key] not in (None, ""):
                kwargs[f.name] = values[key]
        if "data_dir" in kwargs:
            kwargs["data_dir"] = Path(kwargs["data_dir"])
        if "cache_dir" in kwargs:
            kwargs["cache_dir"] = cache_dir_of(kwargs["cache_dir"])
        for name in ("entry_limit", "max_age"):
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

    @property
    def publish(self) -> PublishOptions:
        return PublishOptions(entry_limit=self.entry_limit, max_age=self.max_age, hub=self.websub_hub)
