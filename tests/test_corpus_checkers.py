"""The labelled corpora's own checkers (schema, labels read from corpora/categories.yaml, splits,
near-duplicates, no leak into held-out sets) run as part of the suite; a corpus that breaks its
rules fails here, not only when someone remembers to run the script."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CHECKERS = ["corpora/classifier/check_part_a.py", "corpora/classifier/check_part_b.py",
            "corpora/classifier/check_part_c.py", "corpora/sentiment/check.py"]


@pytest.mark.parametrize("checker", CHECKERS)
def test_checker_passes(checker):
    r = subprocess.run([sys.executable, checker], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]


def test_every_checker_reads_the_one_label_set():
    sys.path.insert(0, str(REPO / "corpora" / "classifier"))
    import check_part_b

    import yaml

    listed = yaml.safe_load((REPO / "corpora" / "categories.yaml").read_text(encoding="utf-8"))
    ids = {c["id"] for c in (listed["categories"] if isinstance(listed, dict) else listed)}
    assert check_part_b.category_labels() == ids | {"none"}
    for name in ("check_part_a.py", "check_part_c.py", "check_part_d.py", "check_part_e.py"):
        source = (REPO / "corpora" / "classifier" / name).read_text(encoding="utf-8")
        assert "category_labels" in source, f"{name} reads its own label list"
