"""The analyst notebook (notebooks/analyst.ipynb) runs top to bottom on a small generated report."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from analyzer.batch import Options, run_report
from script_support import load_bench

REPO = Path(__file__).resolve().parents[1]
NOTEBOOK = REPO / "notebooks" / "analyst.ipynb"


def test_notebook_runs_on_a_report(tmp_path, monkeypatch):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    batch_speed = load_bench("batch_speed")
    batch_speed.make_corpus(tmp_path / "corpus", 12)
    out = tmp_path / "report"
    run_report([tmp_path / "corpus"], out, options=Options.of(sentiment="none"), progress=False, xlsx=False,
               html_report=False)

    nb = nbformat.read(NOTEBOOK, as_version=4)
    assert nb.cells[1].metadata.get("tags") == ["parameters"]
    monkeypatch.setenv("HUASHU_REPORT_DIR", str(out))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])))
    client = nbclient.NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(REPO)}})
    client.execute()
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors
    images = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if "image/png" in o.get("data", {})]
    assert len(images) >= 3  # categories, agents, days
    # the overview cell saw the 12 calls and the 3 unreadable files
    overview = next(c for c in nb.cells if c.cell_type == "code" and "overview = pd.Series" in c.source)
    text = "".join(o.get("data", {}).get("text/plain", "") for o in overview.outputs)
    assert "calls" in text and "12" in text and "unreadable files" in text
