"""corpora/real/agreement.py: kappa, flag pairing and the report on the committed label files."""
from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "corpora" / "real" / "agreement.py"


def _mod():
    spec = importlib.util.spec_from_file_location("real_agreement", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_cohen_kappa_textbook_values():
    ag = _mod()
    # 50 items: yes/yes 20, yes/no 5, no/yes 10, no/no 15 -> po 0.7, pe 0.5, kappa 0.4
    a = [1] * 25 + [0] * 25
    b = [1] * 20 + [0] * 5 + [1] * 10 + [0] * 15
    assert abs(ag.cohen_kappa(a, b) - 0.4) < 1e-9
    assert ag.cohen_kappa(["x", "y"], ["x", "y"]) == 1.0
    assert ag.cohen_kappa(["x", "x"], ["x", "x"]) is None  # chance agreement 1: undefined


def _write(folder: Path, name: str, rows: list[dict]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


def _agent(ref, flags, labeller):
    grade = "clear" if any(f["grade"] == "clear" for f in flags) else ("borderline" if flags else "none")
    return {"ref": ref, "sha1": "0123456789ab", "grade": grade,
            "flags": flags, "labeller": labeller}


def _flag(start, end, category, grade):
    return {"start": start, "end": end, "category": category, "grade": grade}


def test_agreement_on_own_label_files(tmp_path):
    ag = _mod()
    a = [_agent("desed:dev:1:1", [_flag(2, 5, "refusal", "clear")], "A"),           # same span
         _agent("desed:dev:1:3", [_flag(0, 4, "refusal", "clear")], "A"),           # IoU 0.6
         _agent("desed:dev:1:5", [_flag(0, 2, "unknown", "borderline")], "A"),      # B: two flags
         _agent("desed:dev:1:7", [], "A"),                                          # B flags it
         _agent("desed:dev:1:9", [], "A")]
    b = [_agent("desed:dev:1:1", [_flag(2, 5, "refusal", "borderline")], "B"),
         _agent("desed:dev:1:3", [_flag(1, 4, "us_vs_them", "clear")], "B"),
         _agent("desed:dev:1:5", [_flag(0, 2, "unknown", "borderline"), _flag(6, 9, "refusal", "clear")], "B"),
         _agent("desed:dev:1:7", [_flag(0, 3, "command", "borderline")], "B"),
         _agent("desed:dev:1:9", [], "B")]
    cust = lambda ref, label, anger, who: {"ref": ref, "sha1": "0123456789ab", "label": label,
                                          "anger": anger, "labeller": who}
    labels = tmp_path / "labels"
    _write(labels, "agent-a.jsonl", a)
    _write(labels, "second-agent.jsonl", b)
    _write(labels, "customer.jsonl", [cust("ecd:train:1:0", "negative", True, "A"),
                                      cust("ecd:train:1:2", "neutral", False, "A")])
    _write(labels, "second-customer.jsonl", [cust("ecd:train:1:0", "negative", False, "B"),
                                             cust("ecd:train:1:2", "neutral", False, "B")])
    agent, customer = ag.load(labels)
    res = ag.agent_agreement(agent)
    assert res["n"] == 5
    assert (res["any"]["both"], res["any"]["a_only"], res["any"]["b_only"]) == (3, 0, 1)
    # clear only: A clear on 1 and 3; B clear on 3 and 5
    assert (res["clear"]["both"], res["clear"]["a_only"], res["clear"]["b_only"]) == (1, 1, 1)
    # strongest flag: turn 5 is unknown (A) vs refusal (B, clear wins); turn 3 refusal vs us_vs_them
    assert res["category"]["same_strongest"] == 1 and res["category"]["any_shared"] == 2
    # slots: 1 + 1 + 2 = 4; exact on turns 1 and 5's first flag; IoU>=0.5 adds turn 3 (3/4 = 0.75)
    assert res["spans"] == {"slots": 4, "overlap": 3, "exact": 2, "iou50": 3, "same_category_paired": 2}
    cu = ag.customer_agreement(customer)
    assert cu["label_kappa"] == 1.0 and cu["anger_agree"] == 0.5
    out = subprocess.run([sys.executable, str(SCRIPT), "--labels", str(labels)],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 0 and "agent turns: 5" in out.stdout and "exact 2/4 (50.0%)" in out.stdout


def test_clear_error_on_a_ref_missing_from_the_first_labelling(tmp_path):
    labels = tmp_path / "labels"
    _write(labels, "agent-a.jsonl", [_agent("desed:dev:1:1", [], "A")])
    _write(labels, "second-agent.jsonl", [_agent("desed:dev:1:2", [], "B")])
    _write(labels, "customer.jsonl", [])
    _write(labels, "second-customer.jsonl", [])
    out = subprocess.run([sys.executable, str(SCRIPT), "--labels", str(labels)],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert "second-agent.jsonl:1" in out.stderr and "desed:dev:1:2" in out.stderr


def test_report_on_the_committed_labels():
    ag = _mod()
    agent, customer = ag.load(SCRIPT.parent / "labels")
    assert len(agent) == 240 and len(customer) == 60  # every doubly labelled ref found, sha1 equal
    assert {b["labeller"] for _, b in agent + customer} == {"B"}
    assert {a["labeller"] for a, _ in agent + customer} == {"A"}
    out = subprocess.run([sys.executable, str(SCRIPT)], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    assert "agent turns: 240" in out.stdout and "customer turns: 60" in out.stdout
