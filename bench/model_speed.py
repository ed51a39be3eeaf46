"""The trigger model's cost, side by side in one run: the lexicon alone, the fused engine served by
ONNX Runtime, the tagger alone, its torch reference, and the previous fused torch path.

Systems (each measured in a fresh subprocess of its own, one after the other):
- ``lexicon``: ``Engine()``, no model;
- ``fused``: ``Engine(model=True)`` of this checkout: the lexicon, the baseline gate and the
  tagger (``models.tagger``, ONNX Runtime), spans from the tagger's per-token tags;
- ``tagger``: ``Tagger.run`` alone on every utterance (no gate, no lexicon; the text normalised
  beforehand, untimed): one pass gives probabilities, tags and the sentence vector;
- ``torch``: ``TriggerClassifier.outputs`` alone, the same network and artefact in torch (the
  export's reference; needs the base model in the cache and ``trigger.safetensors``);
- ``previous``: ``Engine(model=True)`` of commit ``--previous`` (default ``28e7446``, before issue #13), run from a
  temporary ``git worktree`` with ``PYTHONPATH`` pointing at it: torch, model-only spans found by
  occlusion, its own ``models/trigger``. The worktree is removed at the end.

Per system, on the bench corpus (``bench/corpus.py``): utterances/s at batch 1 (one call per
utterance, also giving p50/p99 latency of one utterance) and at batch 64 (``check_many`` / one
64-row pass); the same at batch 64 on real-register agent turns when ``.cache/real/turns.jsonl``
exists (the figures only; no text is written out); the load time, RSS after loading (psutil) and
peak RSS of the process (``os.wait4``). A slow system stops a measurement after ``--seconds``
(it says how many utterances it ran).

Then, for this checkout and the previous commit (taking turns, ``--runs`` rounds, medians): the
cold start of ``huashu check -`` on one line with ``HUASHU_MODEL=on`` (as a user runs it, the
customer-sentiment model included, and with ``--sentiment none``: the trigger model alone) and of
``huashu analyze examples/call-0001.txt`` with ``HUASHU_MODEL=on``: wall time and the process's
peak RSS, caches present (a first untimed run fills them). Last, ``huashu report``'s code on
``--calls`` synthetic calls (``bench/batch_speed.py``'s corpus and measurement) with the model, in
one process and on a 2-worker Dask cluster, for both.

    python bench/model_speed.py                 # full: ~10 min on 2 cores; writes bench/MODEL_RESULTS.md
    python bench/model_speed.py --quick         # small sizes, ~3 min
    python bench/model_speed.py --systems lexicon,fused,tagger --no-cold --no-report --out /tmp/m.md

The artefact is the configuration's (``HUASHU_MODEL_DIR``, default ``models/trigger``); the
previous commit always reads its own. Threads: ``HUASHU_THREADS`` (default: the cores, at most 8).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
PREVIOUS = "28e7446"  # the last commit before issue #13's serving work (the torch path); --previous
SYSTEMS = ("lexicon", "fused", "tagger", "torch", "previous")
LABELS = {
    "lexicon": "lexicon alone (`Engine()`)",
    "fused": "fused, ONNX (`Engine(model=True)`)",
    "tagger": "tagger alone, ONNX (`Tagger.run`, no gate)",
    "torch": "same network in torch (`TriggerClassifier.outputs`, no gate)",
    "previous": "previous fused path (commit {previous})",
}
# issue #13's targets: (what, comparison, value)
TARGETS = {
    "fused_corpus": ("fused, batch 64, bench corpus", ">=", 2000.0),
    "fused_real": ("fused, batch 64, real agent turns", ">=", 1000.0),
    "tagger_p99": ("tagger alone, batch 1, p99 ms", "<=", 10.0),
    "check_wall": ("`huashu check` one line, cold, s", "<=", 2.0),
    "check_rss": ("`huashu check` one line, peak MiB", "<=", 500.0),
}
SIZES = {  # full, quick
    "n": (2048, 256), "latency": (500, 100), "real": (2048, 256), "seconds": (30.0, 6.0),
    "runs": (3, 1), "calls": (1000, 100),
}
LINE = {"id": "u", "text": "你必须先把身份证传过来"}
EXAMPLE = REPO / "examples" / "call-0001.txt"
MiB = 2 ** 20


# -- small helpers (also used by the tests) --------------------------------------------------
def percentile(sorted_values: list[float], q: float) -> float:
    """The ``q`` quantile of already sorted values, nearest rank (``q=0.99``: p99)."""
    return sorted_values[min(len(sorted_values) - 1, round(q * (len(sorted_values) - 1)))]


def verdict(key: str, value: float | None) -> str:
    """``target ≥ 2,000: met`` / ``not met`` / ``no figure``, for one of ``TARGETS``."""
    _, op, target = TARGETS[key]
    shown = f"{'≥' if op == '>=' else '≤'} {target:,g}"
    if value is None:
        return f"target {shown}: no figure"
    met = value >= target if op == ">=" else value <= target
    return f"target {shown}: {'met' if met else 'not met'}"


def real_agent_turns(path: Path, n: int) -> list[str] | None:
    """Up to ``n`` agent turns' text from the real-register turn cache (JSON lines with ``role``
    and ``text``), spread evenly over the file; None when the file is absent."""
    if not path.is_file():
        return None
    texts = []
    with path.open(encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                continue
            row = json.loads(line)
            text = row.get("text")
            if row.get("role") == "agent" and isinstance(text, str) and text.strip() and not row.get("dup_of"):
                texts.append(text)
    if n <= 0 or not texts:
        return texts[:0]
    step = max(1, len(texts) // n)
    return texts[::step][:n]


def child_env(extra: dict[str, str] | None = None, root: Path = REPO) -> dict[str, str]:
    """The environment of a measured process: this one's, ``PYTHONPATH`` = the code under test,
    the cache of this checkout (the base model; the compiled lexicon is keyed by content)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.setdefault("HUASHU_CACHE", str(REPO / ".cache" / "huashu"))
    env["PYTHONPATH"] = str(root)
    env.setdefault("TOKENIZERS_PARALLELISM", "false")
    if root != REPO:
        env.pop("HUASHU_MODEL_DIR", None)  # the previous commit reads its own artefact
    env.update(extra or {})
    return env


def run_measured(cmd: list[str], env: dict[str, str], cwd: Path, timeout: float,
                 stdin: bytes | None = None) -> dict:
    """One process: wall seconds, exit status, its peak RSS (MiB, ``os.wait4``), stdout, stderr."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, tempfile.TemporaryFile() as inp:
        if stdin is not None:
            inp.write(stdin)
            inp.seek(0)
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=out, stderr=err, stdin=inp)
        status = usage = None
        try:
            while True:
                pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
                if pid:
                    break
                if time.perf_counter() - t0 > timeout:
                    proc.kill()
                    _, status, usage = os.wait4(proc.pid, 0)
                    break
                time.sleep(0.005)
        except BaseException:  # interrupted: leave no measured process behind
            proc.kill()
            proc.wait()
            raise
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return {"wall": wall, "rc": proc.returncode, "timed_out": wall > timeout,
                "peak_mib": usage.ru_maxrss / 1024, "stdout": out.read().decode("utf-8", "replace"),
                "stderr": err.read().decode("utf-8", "replace")}


def huashu_command() -> list[str]:
    script = Path(sys.executable).with_name("huashu")
    return [str(script)] if script.exists() else [sys.executable, "-m", "analyzer.cli"]


def cpu_mark() -> tuple[float, float]:
    """(busy CPU seconds of the whole machine, CPU seconds of this process and its reaped
    children): two marks give the other work's share of the run."""
    import resource

    import psutil

    t = psutil.cpu_times()
    busy = sum(t) - t.idle - getattr(t, "iowait", 0.0)
    mine = sum(getattr(resource.getrusage(who), f) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
               for f in ("ru_utime", "ru_stime"))
    return busy, mine


def last_line(text: str) -> str:
    lines = [x for x in text.strip().splitlines() if x.strip()]
    return lines[-1][:240] if lines else ""


# -- the worker: one system in one fresh process ---------------------------------------------
def _use_code(root: Path) -> None:
    """Import Huashu from ``root`` (this checkout or the previous commit's worktree)."""
    keep = [p for p in sys.path if p and Path(p).resolve() not in (REPO, BENCH)]
    sys.path[:] = [str(root), *keep]
    import analyzer

    where = Path(analyzer.__file__).resolve().parent.parent
    if where != root.resolve():
        raise SystemExit(f"analyzer imported from {where}, not {root}")


def _timed_many(fn, texts: list[str], batch: int, budget: float) -> dict:
    """``fn`` over ``texts`` in batches of ``batch`` until done or ``budget`` seconds; per-call
    times when ``batch`` is 1."""
    times, done = [], 0
    t_start = time.perf_counter()
    for s in range(0, len(texts), batch):
        chunk = texts[s:s + batch]
        t = time.perf_counter()
        fn(chunk)
        times.append(time.perf_counter() - t)
        done += len(chunk)
        if time.perf_counter() - t_start > budget:
            break
    wall = time.perf_counter() - t_start
    row = {"n": done, "ups": done / wall}
    if batch == 1:
        times.sort()
        row.update(p50=statistics.median(times) * 1000, p99=percentile(times, 0.99) * 1000)
    return row


def worker(system: str, root: Path, data: Path, result: Path, budget: float) -> None:
    import psutil

    _use_code(root)
    from analyzer.config import Config

    payload = json.loads(data.read_text(encoding="utf-8"))
    corpus, latency_texts, real = payload["corpus"], payload["latency"], payload["real"]
    cfg = Config()
    t0 = time.perf_counter()
    if system in ("lexicon", "fused", "previous"):
        from analyzer.engine import Engine

        engine = Engine(model=system != "lexicon", model_dir=cfg.model_dir, cache_dir=cfg.cache_dir,
                        threads=cfg.threads).initialize()

        def one(b):
            return engine.check(b[0])

        def many(b):
            return engine.check_many(b)

        def prep(texts):
            return texts
        info = {}
    else:
        from analyzer.normalize import normalize
        from analyzer.resources import TRIGGER_DIR

        folder = Path(cfg.model_dir) if cfg.model_dir else TRIGGER_DIR
        if system == "tagger":
            from models.tagger import Tagger

            model = Tagger.load(folder, cfg.threads or None)

            def many(b):
                return model.run(b, batch_size=64)

            def one(b):
                return model.run(b, batch_size=1)
        else:
            from models.classifier import TriggerClassifier

            model = TriggerClassifier.load(folder, cfg.cache_dir, cfg.threads or None)

            def many(b):
                return model.outputs(b, batch_size=64)

            def one(b):
                return model.outputs(b, batch_size=1)

        def prep(texts):
            return [normalize(t).text for t in texts]
        settings = model.settings
        info = {"artefact": str(folder), "layers": settings.layers, "vocabulary": settings.vocabulary or "base"}
    load_s = time.perf_counter() - t0
    rss_loaded = psutil.Process().memory_info().rss / MiB
    corpus, latency_texts, real = prep(corpus), prep(latency_texts), prep(real) if real else real
    many(corpus[:64])  # warm-up: every system starts hot
    for t in latency_texts[:8]:
        one([t])
    out = {"system": system, "code": str(root), "load_s": load_s, "rss_loaded_mib": rss_loaded, **info,
           "batch1": _timed_many(one, latency_texts, 1, budget),
           "batch64": _timed_many(many, corpus, 64, budget)}
    if real:
        out["real64"] = _timed_many(many, real, 64, budget)
    result.write_text(json.dumps(out), encoding="utf-8")


def report_worker(root: Path, result: Path, calls: int, workers: int) -> None:
    """``huashu report``'s code on ``calls`` synthetic calls with the model: one process, then a
    ``workers``-process Dask cluster (``bench/batch_speed.py``'s measurement)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("batch_speed", BENCH / "batch_speed.py")
    batch_speed = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(batch_speed)
    _use_code(root)
    import analyzer.batch

    corpus = Path(tempfile.mkdtemp(prefix="huashu-model-report-"))
    rows = []
    try:
        batch_speed.make_corpus(corpus / "warm-up", 20, seed=batch_speed.SEED + 1, broken=False)
        batch_speed._measure(corpus / "warm-up", None, 32, model=True)  # untimed: caches, imports
        analyzer.batch._STATE.clear()  # the measured run builds its engine again, as the workers do
        batch_speed.make_corpus(corpus / "calls", calls, broken=False)
        rows.append(("1 process", batch_speed._measure(corpus / "calls", None, 32, model=True)))
        rows.append((f"Dask, {workers} workers", batch_speed._measure(corpus / "calls", workers, 32, model=True)))
    finally:
        shutil.rmtree(corpus, ignore_errors=True)
    result.write_text(json.dumps(rows), encoding="utf-8")


# -- the run -----------------------------------------------------------------------------------
def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def make_worktree(where: Path, commit: str = PREVIOUS) -> tuple[Path | None, str]:
    """A detached worktree of ``commit`` at ``where``; (path, "") or (None, why not)."""
    if where.exists():
        remove_worktree(where)
        shutil.rmtree(where, ignore_errors=True)
    done = subprocess.run(["git", "worktree", "add", "--detach", str(where), commit], cwd=REPO,
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        return None, f"`git worktree add {commit}` failed: {last_line(done.stderr)}"
    return where, ""


def remove_worktree(where: Path) -> None:
    subprocess.run(["git", "worktree", "remove", "--force", str(where)], cwd=REPO, capture_output=True, check=False)
    shutil.rmtree(where, ignore_errors=True)
    subprocess.run(["git", "worktree", "prune"], cwd=REPO, capture_output=True, check=False)


def measure_system(system: str, root: Path, data: Path, budget: float, timeout: float) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        result = Path(tmp) / "result.json"
        cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", system, "--root", str(root),
               "--data", str(data), "--result", str(result), "--seconds", str(budget)]
        run = run_measured(cmd, child_env(root=root), root, timeout)
        if run["rc"] != 0 or not result.exists():
            why = "timed out" if run["timed_out"] else last_line(run["stderr"]) or f"exit {run['rc']}"
            return {"system": system, "error": why}
        row = json.loads(result.read_text(encoding="utf-8"))
    row["peak_mib"] = run["peak_mib"]
    return row


def cold_starts(roots: dict[str, Path], runs: int, timeout: float) -> list[dict]:
    """``huashu check`` / ``huashu analyze`` with the model, fresh processes, taking turns."""
    line = (json.dumps(LINE, ensure_ascii=False) + "\n").encode("utf-8")
    plans = [
        ("check", "`huashu check -` (one line)", ["check", "-"], line),
        ("check-nosent", "`huashu check --sentiment none -` (one line)", ["check", "--sentiment", "none", "-"], line),
        ("analyze", "`huashu analyze examples/call-0001.txt`", ["analyze", str(EXAMPLE)], None),
    ]
    results: dict[tuple[str, str], list[dict]] = {}
    for code, root in roots.items():  # untimed: fills the compiled-lexicon cache, the OS file cache
        env = child_env({"HUASHU_MODEL": "on"}, root)
        for _, _, args, stdin in plans:
            run_measured([*huashu_command(), *args], env, root, timeout, stdin)
    for r in range(runs):
        for key, _, args, stdin in plans:
            for code, root in roots.items():
                run = run_measured([*huashu_command(), *args], child_env({"HUASHU_MODEL": "on"}, root), root,
                                   timeout, stdin)
                if key.startswith("check") and run["rc"] == 0 and '"flags"' not in run["stdout"]:
                    run["rc"], run["stderr"] = -1, "no flags in the output: " + run["stdout"][:200]
                results.setdefault((key, code), []).append(run)
        log(f"  cold start round {r + 1}/{runs}: " + ", ".join(
            f"{k}/{c} {v[-1]['wall']:.2f} s" for (k, c), v in results.items()))
    rows = []
    for key, title, _, _ in plans:
        for code in roots:
            runs_ = results[(key, code)]
            bad = [x for x in runs_ if x["rc"] != 0]
            rows.append({"key": key, "what": title, "code": code, "runs": len(runs_),
                         "error": (f"exit {bad[0]['rc']}: {last_line(bad[0]['stderr'])}" if bad else ""),
                         "wall": statistics.median(x["wall"] for x in runs_),
                         "wall_max": max(x["wall"] for x in runs_),
                         "peak_mib": statistics.median(x["peak_mib"] for x in runs_)})
    return rows


def reports(roots: dict[str, Path], calls: int, timeout: float) -> dict[str, list | str]:
    out: dict[str, list | str] = {}
    for code, root in roots.items():
        with tempfile.TemporaryDirectory() as tmp:
            result = Path(tmp) / "report.json"
            cmd = [sys.executable, str(Path(__file__).resolve()), "--report-worker", "--root", str(root),
                   "--result", str(result), "--calls", str(calls)]
            run = run_measured(cmd, child_env({"HUASHU_MODEL": "on"}, root), root, timeout)
            if run["rc"] != 0 or not result.exists():
                out[code] = "timed out" if run["timed_out"] else last_line(run["stderr"]) or f"exit {run['rc']}"
            else:
                out[code] = json.loads(result.read_text(encoding="utf-8"))
        log(f"  report {code}: {out[code] if isinstance(out[code], str) else 'done'}")
    return out


# -- the table -----------------------------------------------------------------------------------
def _f(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def machine() -> str:
    from host import cpu_name, versions  # bench/ is on sys.path (main)

    names = ("onnxruntime", "tokenizers", "torch", "transformers")
    return (f"{cpu_name()}, {os.cpu_count()} logical CPUs; Python {platform.python_version()}; "
            f"{', '.join(versions(names))}")


def render(ctx: dict, rows: list[dict], cold: list[dict] | None, report: dict | None) -> str:
    la0, la1 = ctx["load_start"], ctx["load_end"]
    lines = [
        "# Model speed: lexicon vs fused ONNX vs the tagger vs torch vs a previous commit",
        "",
        f"`{ctx['command']}` — {ctx['date']} UTC, {ctx['minutes']:.1f} min. Machine: {ctx['machine']}.",
        (f"Load average (1/5/15 min) at the start {la0[0]:.2f}/{la0[1]:.2f}/{la0[2]:.2f}, at the end "
         f"{la1[0]:.2f}/{la1[1]:.2f}/{la1[2]:.2f}; other work on the machine during the run (its busy CPU time "
         f"less this run's own): {max(0.0, ctx['other_cpu']):,.0f} CPU-seconds, "
         f"{max(0.0, ctx['other_cpu']) / (60 * ctx['minutes']):.2f} of the {os.cpu_count()} cores on average. Inference threads: {ctx['threads']}. Trigger artefact: "
         f"`{ctx['artefact']}`; the previous commit ({ctx['previous']}) reads its own `models/trigger` "
         f"(a temporary `git worktree`, removed after the run)."),
        (f"Bench corpus (`bench/corpus.py`): {ctx['n']:,} utterances for batch 64, the first {ctx['latency']:,} "
         f"of them one at a time for batch 1 and latency. Real text: {ctx['real_note']}. A measurement stops "
         f"after {ctx['seconds']:g} s (the n columns say how many utterances ran). Each system runs in a fresh "
         "process of its own, one after the other; peak RSS is that process's (`os.wait4`), RSS after load "
         "is read with psutil once the system is loaded. The tagger and torch rows get the text already "
         "normalised (as the engine hands it over); they run every utterance (no gate, no lexicon)."),
        "",
        ("| system | batch 1 utt/s (n) | p50 ms | p99 ms | batch 64 utt/s (n) | real text, batch 64 utt/s (n) "
         "| load s | RSS after load MiB | peak RSS MiB | issue #13 target |"),
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for row in rows:
        name = LABELS[row["system"]].format(previous=ctx["previous"])
        if "error" in row:
            lines.append(f"| {name} | not available: {row['error']} | | | | | | | | |")
            continue
        b1, b64, real = row["batch1"], row["batch64"], row.get("real64")
        target = ""
        if row["system"] == "fused":
            target = (f"corpus: {verdict('fused_corpus', b64['ups'])}; real: "
                      f"{verdict('fused_real', real['ups'] if real else None)}")
        elif row["system"] == "tagger":
            target = f"p99 {verdict('tagger_p99', b1['p99'])}"
        real_cell = f"{real['ups']:,.0f} ({real['n']:,})" if real else "not available"
        lines.append(f"| {name} | {b1['ups']:,.0f} ({b1['n']:,}) | {b1['p50']:.2f} | {b1['p99']:.2f} | "
                     f"{b64['ups']:,.0f} ({b64['n']:,}) | {real_cell} | {row['load_s']:.1f} | "
                     f"{row['rss_loaded_mib']:,.0f} | {row['peak_mib']:,.0f} | {target} |")
    ok = {r["system"]: r for r in rows if "error" not in r}
    if "fused" in ok and "previous" in ok:
        f, p = ok["fused"], ok["previous"]
        lines += ["", (f"Fused ONNX vs the previous commit's fused path ({ctx['previous']}): batch 64 {f['batch64']['ups'] / p['batch64']['ups']:.1f}× "
                       f"the utterances/s on the bench corpus"
                       + (f", {f['real64']['ups'] / p['real64']['ups']:.1f}× on real text" if f.get("real64") and p.get("real64") else "")
                       + f", batch-1 p99 {p['batch1']['p99']:.1f} → {f['batch1']['p99']:.1f} ms, "
                       f"peak RSS {p['peak_mib']:,.0f} → {f['peak_mib']:,.0f} MiB.")]
    if "tagger" in ok and "torch" in ok:
        t, r = ok["tagger"], ok["torch"]
        lines += ["", (f"The same network, ONNX Runtime vs torch: batch 64 {t['batch64']['ups'] / r['batch64']['ups']:.1f}×, "
                       f"batch 1 {t['batch1']['ups'] / r['batch1']['ups']:.1f}× the utterances/s; peak RSS "
                       f"{r['peak_mib']:,.0f} → {t['peak_mib']:,.0f} MiB.")]
    if cold is not None:
        lines += ["", "## Cold start with the model (`HUASHU_MODEL=on`)", "",
                  (f"Fresh processes of the installed `huashu` command, this checkout and the previous commit taking "
                   f"turns, {ctx['runs']} round(s) after one untimed run of each (the compiled-lexicon cache and "
                   f"the OS file cache warm); medians. The line: `{json.dumps(LINE, ensure_ascii=False)}`. Plain "
                   "`huashu check` also loads the customer-sentiment model (`--sentiment auto`); the "
                   "`--sentiment none` row is the trigger model alone."), "",
                  "| command | code | wall s (median) | wall s (max) | peak RSS MiB | issue #13 target |",
                  "|---|---|---:|---:|---:|---|"]
        for c in cold:
            if c["error"]:
                lines.append(f"| {c['what']} | {c['code']} | failed: {c['error']} | | | |")
                continue
            target = ""
            if c["key"] == "check" and c["code"] == "current":
                target = f"wall {verdict('check_wall', c['wall'])}; RSS {verdict('check_rss', c['peak_mib'])}"
            lines.append(f"| {c['what']} | {c['code']} | {c['wall']:.2f} | {c['wall_max']:.2f} | "
                         f"{c['peak_mib']:,.0f} | {target} |")
    if report is not None:
        lines += ["", f"## `huashu report` with the model, {ctx['calls']:,} calls", "",
                  ("`bench/batch_speed.py`'s corpus and measurement (`analyzer.batch.run_report`: read, analyse, "
                   "tables, one page per call, the HTML report; XLSX off; no sentiment model) with the "
                   "trigger model on, after an untimed 20-call run; Dask: a local cluster of 2 worker processes "
                   "(its start-up and every worker's model load included in the total)."), "",
                  "| code | run | calls | utterances | total s | utterances/s | until first result s | steady utterances/s |",
                  "|---|---|---:|---:|---:|---:|---:|---:|"]
        for code, rows_ in report.items():
            if isinstance(rows_, str):
                lines.append(f"| {code} | failed: {rows_} | | | | | | |")
                continue
            for name, r in rows_:
                steady = f"{r['utterances'] / r['steady']:,.0f}" if r["steady"] > 0.5 else "- (one chunk)"
                lines.append(f"| {code} | {name} | {r['calls']:,} | {r['utterances']:,} | {r['seconds']:.1f} | "
                             f"{r['utterances'] / r['seconds']:,.0f} | {r['startup']:.1f} | {steady} |")
    lines += ["", f"Codes: `current` = this checkout (ONNX Runtime), `previous` = commit {ctx['previous']}"
              + (" (torch, occlusion spans)." if ctx["previous"] == PREVIOUS else ".")]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small sizes (a few minutes)")
    ap.add_argument("--n", type=int, help="bench-corpus utterances for batch 64")
    ap.add_argument("--latency", type=int, help="bench-corpus utterances run one at a time (batch 1)")
    ap.add_argument("--real", type=int, help="real agent turns for batch 64 (0: none)")
    ap.add_argument("--seconds", type=float, help="at most this long per measurement")
    ap.add_argument("--runs", type=int, help="cold-start rounds")
    ap.add_argument("--calls", type=int, help="calls for the report runs")
    ap.add_argument("--systems", default=",".join(SYSTEMS), help=f"comma-separated subset of {','.join(SYSTEMS)}")
    ap.add_argument("--no-cold", action="store_true", help="skip the cold starts")
    ap.add_argument("--no-report", action="store_true", help="skip the report runs")
    ap.add_argument("--out", default=str(BENCH / "MODEL_RESULTS.md"))
    ap.add_argument("--previous", default=PREVIOUS, help=f"the commit of the previous system and cold starts (default {PREVIOUS}: the torch path)")
    # internal: one system in a fresh process
    ap.add_argument("--worker", choices=SYSTEMS, help=argparse.SUPPRESS)
    ap.add_argument("--report-worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--root", type=Path, default=REPO, help=argparse.SUPPRESS)
    ap.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    size = {k: (getattr(args, k) if getattr(args, k) is not None else v[1 if args.quick else 0])
            for k, v in SIZES.items()}
    if args.worker:
        worker(args.worker, args.root, args.data, args.result, size["seconds"])
        return 0
    if args.report_worker:
        report_worker(args.root, args.result, size["calls"], 2)
        return 0
    systems = [s for s in args.systems.split(",") if s]
    if unknown := set(systems) - set(SYSTEMS):
        ap.error(f"unknown systems: {', '.join(sorted(unknown))}")

    for p in (str(REPO), str(BENCH)):
        if p not in sys.path:
            sys.path.insert(0, p)
    import corpus as corpus_mod

    from analyzer.config import Config
    from analyzer.resources import TRIGGER_DIR

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stopped: still remove the worktree
    started, t0, load_start, cpu0 = datetime.now(UTC), time.perf_counter(), os.getloadavg(), cpu_mark()
    cfg = Config()
    texts = [u.text for u in corpus_mod.build(max(size["n"], size["latency"]))]
    real_path = (REPO / cfg.real_cache if not Path(cfg.real_cache).is_absolute() else Path(cfg.real_cache)) / "turns.jsonl"
    real = real_agent_turns(real_path, size["real"]) if size["real"] else []
    real_note = ("not available (`.cache/real/turns.jsonl` absent)" if real is None else
                 f"{len(real):,} agent turns spread over `.cache/real/turns.jsonl` (figures only)" if real else "not run")
    rows: list[dict] = []
    worktree: Path | None = None
    roots = {"current": REPO}
    timeout = max(600.0, 8 * size["seconds"] + 300)
    try:
        if "previous" in systems:
            worktree, why = make_worktree(Path(tempfile.gettempdir()) / "huashu-prev", args.previous)
            if worktree is None:
                log(f"previous commit not available: {why}")
            else:
                roots["previous"] = worktree
        with tempfile.TemporaryDirectory() as tmp:
            data = Path(tmp) / "texts.json"
            data.write_text(json.dumps({"corpus": texts[:size["n"]], "latency": texts[:size["latency"]],
                                        "real": real or []}, ensure_ascii=False), encoding="utf-8")
            for system in systems:
                log(f"system: {system}")
                if system == "previous" and worktree is None:
                    rows.append({"system": system, "error": why})
                    continue
                root = worktree if system == "previous" else REPO
                rows.append(measure_system(system, root, data, size["seconds"], timeout))
                log(f"  {rows[-1]}")
        cold = None if args.no_cold else cold_starts(roots, size["runs"], 300)
        report = None if args.no_report else reports(roots, size["calls"], 1800)
    finally:
        if worktree is not None:
            remove_worktree(worktree)
    cpu1 = cpu_mark()
    given = sys.argv[1:] if argv is None else argv
    command = " ".join(["python bench/model_speed.py", *given])
    ctx = {"command": command, "date": f"{started:%Y-%m-%d %H:%M}", "minutes": (time.perf_counter() - t0) / 60,
           "machine": machine(), "load_start": load_start, "load_end": os.getloadavg(),
           "other_cpu": (cpu1[0] - cpu0[0]) - (cpu1[1] - cpu0[1]),
           "threads": cfg.threads or "default (the cores, at most 8)",
           "artefact": cfg.model_dir or str(TRIGGER_DIR.relative_to(REPO)), "n": size["n"],
           "latency": size["latency"], "seconds": size["seconds"], "real_note": real_note, "runs": size["runs"],
           "calls": size["calls"], "previous": args.previous}
    text = render(ctx, rows, cold, report)
    Path(args.out).write_text(text, encoding="utf-8")
    print(text)
    log(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
