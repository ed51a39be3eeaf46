"""What a bench result says about the machine it ran on (shared by run_all.py, model_speed.py and api_load.py)."""
from __future__ import annotations

import platform
from importlib import metadata
from pathlib import Path


def cpu_name() -> str:
    """The CPU's model name (/proc/cpuinfo), else what platform knows."""
    try:
        info = Path("/proc/cpuinfo").read_text().splitlines()
        return next(line.split(":", 1)[1].strip() for line in info if line.startswith("model name"))
    except (OSError, StopIteration):
        return platform.processor() or platform.machine()


def versions(names: tuple[str, ...]) -> list[str]:
    """``name version`` of each installed distribution, ``name (not installed)`` otherwise."""
    out = []
    for name in names:
        try:
            out.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            out.append(f"{name} (not installed)")
    return out
