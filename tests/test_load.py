"""A short run of the load test (load/run.py): wrk against the production server, then again
while the data directory is rewritten every second. ``make load`` runs the full 30 s."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from .conftest import ROOT, require_program


@pytest.mark.system
def test_load_run_has_no_errors_and_serves_only_complete_valid_versions():
    require_program("wrk")
    env = {**os.environ, "LOAD_SECONDS": "5"}
    proc = subprocess.run(
        [sys.executable, str(ROOT / "load" / "run.py")],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-3000:]
