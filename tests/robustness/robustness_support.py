"""Helpers for the robustness tests (fuzzing, faults, load): example budgets, a real server.

The server is ``tests/real_server.py``'s. Unlike the shared ``tests/api`` server, each robustness
module owns its server: the fault tests kill it, the load test watches its memory.

Budgets: CI runs bounded example counts; ``HUASHU_FUZZ_LONG=1`` multiplies them (and
``HUASHU_LOAD_LONG=1`` lengthens the load test, see test_load_suggest.py).
"""
from __future__ import annotations

import os
from pathlib import Path

from hypothesis import HealthCheck, settings
from real_server import REPO, Server, bearer, make_server  # noqa: F401 (the robustness modules' imports)

EXAMPLE = (REPO / "examples" / "call-0001.txt").read_bytes()
FUZZ_LONG = os.environ.get("HUASHU_FUZZ_LONG", "") not in ("", "0")
LOAD_LONG = os.environ.get("HUASHU_LOAD_LONG", "") not in ("", "0")
LONG_FACTOR = 25


def examples(ci: int) -> int:
    """The example budget of a property: ``ci`` in CI, ``LONG_FACTOR`` times more when long."""
    return ci * LONG_FACTOR if FUZZ_LONG else ci


def fuzz(ci: int) -> settings:
    """Hypothesis settings for one property: bounded examples, no deadline (CI machines vary).

    In CI the examples are derandomised (the same on every run, so CI does not turn red by
    chance); the long run draws new ones each time and keeps failures in .hypothesis/.
    """
    return settings(
        max_examples=examples(ci),
        deadline=None,
        derandomize=not FUZZ_LONG,
        suppress_health_check=list(HealthCheck),
    )


def rss_bytes(pid: int) -> int:
    """Resident set size of a process, from outside (psutil when installed, else /proc)."""
    try:
        import psutil
    except ImportError:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        raise RuntimeError(f"no VmRSS for {pid}") from None
    return psutil.Process(pid).memory_info().rss
