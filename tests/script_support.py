"""Loading a repository script that is not a package module (bench/*.py) in the tests."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

REPO = Path(__file__).resolve().parents[1]


def load_script(path: Path, name: str | None = None) -> ModuleType:
    """``path`` imported as module ``name`` (default: its stem), registered in ``sys.modules`` so
    its dataclasses and pickles resolve."""
    name = name or path.stem
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def load_bench(name: str) -> ModuleType:
    """``bench/<name>.py``."""
    return load_script(REPO / "bench" / f"{name}.py")
