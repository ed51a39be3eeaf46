"""Resident set size, measured from outside the process with psutil.

- CLI: ``huashu check FILE`` (run as ``python -m analyzer.cli check FILE``, which is what the
  ``huashu`` script runs) on a JSON Lines file of corpus utterances; RSS sampled every 10 ms
  until it exits; the peak is reported, with the run's wall time.
- Library: a Python process that builds ``Engine()`` (and ``Engine(model=True)``), checks 64
  utterances, then waits; RSS once it says it is ready.
- API worker: ``huashu serve`` (one uvicorn worker, SQLite), after start-up, then again after
  warm-up traffic (suggests and uploads); the process and its children.

With the model: the library row loads ``Engine(model=True)`` whenever it can. The CLI rows use
``huashu check --no-model --sentiment none`` (lexicon only) and plain ``huashu check`` (its
defaults: the classifier, and the customer-sentiment model when one is present), or
``--model``, whichever switches ``huashu check --help`` offers; the API rows run the worker
with ``HUASHU_MODEL=off`` and with ``HUASHU_MODEL=on`` (classifier loaded, checked in /healthz).
A row whose model cannot load says ``model: not available`` and why.

    python bench/memory.py [--cli-lines 20000]
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
for p in (str(REPO), str(BENCH)):
    if p not in sys.path:
        sys.path.insert(0, p)

import api_load
import corpus as corpus_mod

MB = 1024 * 1024
MODEL_CLI_LINES = 300  # utterances for the CLI run with the model
MODEL_API_REQUESTS = 200  # suggests for the API worker with the model


@dataclass
class MemoryRow:
    what: str
    model: str  # "lexicon only", "with model", "model: not available"
    rss_mb: float | None
    note: str = ""


def tree_rss(proc: psutil.Process) -> int:
    """RSS of a process and its children (uvicorn with several workers forks them)."""
    total = 0
    for p in [proc, *proc.children(recursive=True)]:
        try:
            total += p.memory_info().rss
        except psutil.Error:
            pass
    return total


def peak_rss(cmd: list[str], env: dict[str, str], cwd: Path) -> tuple[int, float, int, str]:
    """Run ``cmd``; (peak RSS in bytes, wall seconds, exit status, last line of stderr)."""
    with tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        process = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=err)
        proc = psutil.Process(process.pid)
        peak = 0
        while process.poll() is None:
            try:
                peak = max(peak, tree_rss(proc))
            except psutil.Error:
                break
            time.sleep(0.01)
        secs = time.perf_counter() - t0
        err.seek(0)
        lines = err.read().decode("utf-8", "replace").strip().splitlines()
    return peak, secs, process.returncode, (lines[-1] if lines else "")


def env_for_subprocess(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = api_load.server_env()
    env.update(extra or {})
    return env


def cli_model_options() -> tuple[list[str], list[str] | None]:
    """The ``huashu check`` options for (lexicon only, with the model); None: no model switch."""
    out = subprocess.run([sys.executable, "-m", "analyzer.cli", "check", "--help"], capture_output=True,
                         text=True, env=env_for_subprocess(), cwd=REPO, check=False).stdout
    quiet = ["--sentiment", "none"] if "--sentiment" in out else []  # no customer-sentiment model either
    if "--no-model" in out:  # the model is the default
        return ["--no-model", *quiet], []
    if "--model" in out:
        return quiet, ["--model"]
    return quiet, None


LIBRARY = r"""
import json, sys
sys.path.insert(0, {repo!r})
from analyzer.engine import Engine
texts = json.loads(sys.argv[1])
engine = Engine(model={model}).initialize()
engine.check_many(texts)
print("READY", flush=True)
sys.stdin.read()
"""


def library_rss(model: bool, texts: list[str]) -> tuple[int | None, str]:
    code = LIBRARY.format(repo=str(REPO), model=model)
    process = subprocess.Popen([sys.executable, "-c", code, json.dumps(texts, ensure_ascii=False)],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               env=env_for_subprocess(), cwd=REPO, text=True)
    try:
        line = process.stdout.readline()
        if "READY" not in line:
            err = process.stderr.read().strip().splitlines()
            return None, (err[-1] if err else f"exit status {process.wait()}")[:200]
        proc = psutil.Process(process.pid)
        samples = []
        for _ in range(5):
            samples.append(tree_rss(proc))
            time.sleep(0.1)
        return max(samples), ""
    finally:
        if process.poll() is None:
            process.stdin.close()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def api_rss(texts: list[str], extra_env: dict[str, str] | None = None, requests: int = 1000) -> tuple[int, int]:
    """(RSS after start-up, RSS after ``requests`` suggests and 20 uploads) of one worker."""
    with tempfile.TemporaryDirectory() as home:
        server = api_load.start_server(Path(home), extra_env)
        try:
            proc = psutil.Process(server.process.pid)
            wanted = (extra_env or {}).get("HUASHU_MODEL", "off")
            health = httpx.get(server.url + "/healthz", timeout=30).json()
            if wanted != "off" and health.get("model_status") != "loaded":
                raise RuntimeError(f"HUASHU_MODEL={wanted}: the server did not load the model ({health})")
            time.sleep(0.5)
            idle = tree_rss(proc)
            with httpx.Client(base_url=server.url, timeout=60) as http:
                agent = api_load.make_key(http, server.admin_key, "agent")
                supervisor = api_load.make_key(http, server.admin_key, "supervisor")
                for i in range(requests):
                    http.post("/v1/suggest", json={"text": texts[i % len(texts)]}, headers=api_load.bearer(agent))
                example = (REPO / "examples" / "call-0001.txt").read_bytes()
                for i in range(20):
                    http.post("/v1/transcripts", files={"file": (f"call-{i}.txt", example)},
                              headers=api_load.bearer(supervisor))
            time.sleep(0.5)
            return idle, tree_rss(proc)
        finally:
            server.stop()


def run(texts: list[str], cli_lines: int = 20_000, log=print) -> list[MemoryRow]:
    rows: list[MemoryRow] = []
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "utterances.jsonl"
        with path.open("w", encoding="utf-8") as f:
            for i in range(cli_lines):
                f.write(json.dumps({"id": f"u{i}", "text": texts[i % len(texts)]}, ensure_ascii=False) + "\n")
        lexicon_only, with_model = cli_model_options()
        cmd = [sys.executable, "-m", "analyzer.cli", "check"]
        peak, secs, status, err = peak_rss(cmd + lexicon_only + [str(path)], env_for_subprocess(), REPO)
        shown = " ".join(["huashu check", *lexicon_only])
        rows.append(MemoryRow(f"CLI `{shown}` on {cli_lines:,} utterances (peak)", "lexicon only", peak / MB,
                              f"{secs:.1f} s wall incl. start-up, {cli_lines / secs:,.0f} utt/s end to end"
                              + (f"; exit {status}: {err[:160]}" if status else "")))
        log(f"  CLI: {peak / MB:.0f} MB")
        shown = " ".join(["huashu check", *(with_model or [])])
        if with_model is None:
            rows.append(MemoryRow("CLI `huashu check` with the model", "model: not available", None,
                                  "`huashu check` has no model option yet"))
        else:
            n_model = min(cli_lines, MODEL_CLI_LINES)  # the classifier is orders of magnitude slower
            small = Path(tmp) / "utterances-model.jsonl"
            small.write_text("".join(path.read_text(encoding="utf-8").splitlines(keepends=True)[:n_model]),
                             encoding="utf-8")
            peak, secs, status, err = peak_rss(cmd + with_model + [str(small)], env_for_subprocess(), REPO)
            if status == 0:
                rows.append(MemoryRow(f"CLI `{shown}` on {n_model:,} utterances (peak)", "with model", peak / MB,
                                      f"{secs:.1f} s wall incl. start-up, {n_model / secs:,.1f} utt/s end to end"))
            else:
                rows.append(MemoryRow(f"CLI `{shown}`", "model: not available", None, f"exit {status}: {err[:200]}"))
            log(f"  CLI with model: exit {status}, {peak / MB:.0f} MB")
    sample = texts[:64]
    for model in (False, True):
        rss, why = library_rss(model, sample)
        label = "with model" if model else "lexicon only"
        rows.append(MemoryRow(f"library process, `Engine(model={model})` loaded, 64 utterances checked",
                              label if rss else "model: not available", rss / MB if rss else None, why))
        log(f"  library model={model}: {rss / MB if rss else 'n/a'}")
    idle, busy = api_rss(texts, {"HUASHU_MODEL": "off"})
    rows.append(MemoryRow("API worker `huashu serve`, after start-up", "lexicon only", idle / MB, "HUASHU_MODEL=off"))
    rows.append(MemoryRow("API worker, after 1,000 suggests + 20 uploads", "lexicon only", busy / MB))
    log(f"  API: {idle / MB:.0f} MB idle, {busy / MB:.0f} MB after traffic")
    try:
        idle, busy = api_rss(texts, {"HUASHU_MODEL": "on"}, requests=MODEL_API_REQUESTS)
        rows.append(MemoryRow("API worker with the model, after start-up", "with model", idle / MB,
                              "HUASHU_MODEL=on (suggests and uploads both fused)"))
        rows.append(MemoryRow(f"API worker with the model, after {MODEL_API_REQUESTS} suggests + 20 uploads",
                              "with model", busy / MB))
        log(f"  API with model: {idle / MB:.0f} MB idle, {busy / MB:.0f} MB after traffic")
    except RuntimeError as exc:
        rows.append(MemoryRow("API worker with the model", "model: not available", None, str(exc)[:200]))
    return rows


def table(rows: list[MemoryRow]) -> str:
    lines = ["| process | model | RSS (MiB) | note |", "|---|---|---:|---|"]
    for r in rows:
        rss = f"{r.rss_mb:,.0f}" if r.rss_mb is not None else "-"
        lines.append(f"| {r.what} | {r.model} | {rss} | {r.note} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cli-lines", type=int, default=20_000)
    args = parser.parse_args()
    texts = [u.text for u in corpus_mod.build(max(args.cli_lines, 2000))]
    print(table(run(texts, args.cli_lines, log=lambda m: print(m, file=sys.stderr))))


if __name__ == "__main__":
    main()
