"""Start-up of ``huashu check`` on one line, lexicon only: the compiled-lexicon cache off vs on.

    python bench/startup.py              # 5 runs of each, updates its section of bench/RESULTS.md
    python bench/startup.py --runs 9 --out /tmp/startup.md

Every row runs the installed ``huashu`` command as a user would, from a temporary directory (not
the repository), on a one-line JSON Lines file, with ``--no-model --sentiment none`` and a cache
folder of its own (``HUASHU_CACHE``). The paths, taking turns within each round:

- **old**: ``HUASHU_LEXICON_CACHE=false``: the lexicon is compiled in the process, as before the
  cache (YAML, 28,000 literals normalised with OpenCC, the automaton, 28,000 jieba ``add_word``);
- **new**: the cache present (``analyzer/compiled.py``), the usual case;
- **rebuild**: the first run after a lexicon or code change (an empty cache folder: compile, write
  the cache, one line on stderr);
- **empty input**: an empty file, refused before anything heavy loads;
- **parser only**: ``huashu --help``: the interpreter, the imports and the argument parser.

Wall time is measured around the process; CPU time and peak RSS are the child's own
(``os.wait4``). Medians over the runs. The largest imports on the check path (``python -X importtime``) follow the table.
Output: a section between ``<!-- startup.py -->`` markers in ``--out`` (replaced when present,
else appended; a new file gets just the section), so ``bench/run_all.py`` embeds it as is.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

BENCH = Path(__file__).resolve().parent
BEGIN, END = "<!-- startup.py -->", "<!-- end startup.py -->"
LINE = {"id": "u1", "text": "你必须先把身份证复印件传过来。"}
TARGET_S = 1.0  # issue 11: huashu check of one line, lexicon only, cold with the cache present


def huashu_command() -> list[str]:
    script = Path(sys.executable).with_name("huashu")
    return [str(script)] if script.exists() else [sys.executable, "-m", "analyzer.cli"]


def run(cmd: list[str], cwd: Path, env: dict[str, str]) -> dict:
    """One process: wall seconds, its CPU seconds (user + system), its peak RSS (MiB), exit
    status, stdout, stderr."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=out, stderr=err, stdin=subprocess.DEVNULL)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return {"wall": wall, "cpu": usage.ru_utime + usage.ru_stime, "rss": usage.ru_maxrss / 1024,
                "rc": proc.returncode,
                "stdout": out.read().decode("utf-8", "replace"), "stderr": err.read().decode("utf-8", "replace")}


def measure(runs: int, log=print) -> dict:
    load_start = os.getloadavg()
    base_env = {k: v for k, v in os.environ.items() if not k.startswith("HUASHU_")}
    rows: dict[str, list[dict]] = {"old": [], "new": [], "rebuild": [], "empty": [], "help": []}
    with tempfile.TemporaryDirectory(prefix="huashu-startup-") as tmp:
        home = Path(tmp)
        one, empty = home / "one.jsonl", home / "empty.jsonl"
        one.write_text(json.dumps(LINE, ensure_ascii=False) + "\n", encoding="utf-8")
        empty.write_text("", encoding="utf-8")
        check = [*huashu_command(), "check", "--no-model", "--sentiment", "none"]
        cache = home / "cache"
        env = {**base_env, "HUASHU_CACHE": str(cache)}
        primed = run([*check, str(one)], home, env)  # builds the cache the "new" rows read
        if primed["rc"] != 0 or "lexicon cache rebuilt" not in primed["stderr"]:
            raise SystemExit(f"the first run did not build the cache: {primed['stderr'][-500:]}")
        expected = primed["stdout"]
        for r in range(runs):
            fresh = home / f"fresh-{r}"
            plan = [
                ("old", [*check, str(one)], {**env, "HUASHU_LEXICON_CACHE": "false"}),
                ("new", [*check, str(one)], env),
                ("rebuild", [*check, str(one)], {**env, "HUASHU_CACHE": str(fresh)}),
                ("empty", [*check, str(empty)], env),
                ("help", [*huashu_command(), "--help"], env),
            ]
            for name, cmd, run_env in plan:
                result = run(cmd, home, run_env)
                ok = result["rc"] == (2 if name == "empty" else 0)
                if name in ("old", "new", "rebuild"):
                    ok = ok and result["stdout"] == expected
                if name == "new":
                    ok = ok and result["stderr"] == ""  # read from the cache: no rebuild line
                if name == "rebuild":
                    ok = ok and result["stderr"].count("lexicon cache rebuilt") == 1
                if not ok:
                    raise SystemExit(f"{name}: unexpected result (exit {result['rc']}): {result['stderr'][-500:]}")
                rows[name].append(result)
            shutil.rmtree(fresh, ignore_errors=True)
            log(f"round {r + 1}/{runs}: " + ", ".join(f"{k} {v[-1]['wall']:.2f} s" for k, v in rows.items()))
        imports = import_profile([*check, str(one)], home, env)
    return {"rows": rows, "imports": imports, "load_start": load_start}


def import_profile(cmd: list[str], cwd: Path, env: dict[str, str], top: int = 10) -> list[tuple[str, float]]:
    """The largest top-level imports (cumulative ms) of one cached run, from ``-X importtime``."""
    if Path(cmd[0]).name == "huashu":
        cmd = [sys.executable, "-m", "analyzer.cli", *cmd[1:]]
    done = subprocess.run([cmd[0], "-X", "importtime", *cmd[1:]], cwd=cwd, env=env, capture_output=True,
                          text=True, check=False)
    found = []
    for line in done.stderr.splitlines():
        m = re.match(r"import time:\s+\d+ \|\s+(\d+) \| (\S.*)$", line)  # no indentation: top level
        if m:
            found.append((m.group(2), int(m.group(1)) / 1000))
    return sorted(found, key=lambda x: -x[1])[:top]


def section(result: dict, runs: int) -> str:
    rows, load = result["rows"], os.getloadavg()
    label = {
        "old": "old: lexicon compiled in the process (`HUASHU_LEXICON_CACHE=false`)",
        "new": "new: compiled lexicon read from the cache",
        "rebuild": "first run after a lexicon or code change (compile + write the cache)",
        "empty": "empty input, refused (exit 2)",
        "help": "`huashu --help` (interpreter, imports, parser)",
    }
    med = {k: statistics.median(r["wall"] for r in v) for k, v in rows.items()}
    lines = [
        BEGIN,
        "## 7. Start-up: `huashu check` of one line, lexicon only (`bench/startup.py`)",
        "",
        (f"Command: `python bench/startup.py --runs {runs}` — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, Python "
         f"{platform.python_version()}, {os.cpu_count()} CPUs, load average (1 min) {result['load_start'][0]:.2f} "
         f"at the start, {load[0]:.2f} at the end (other work on the machine slows every row alike). `huashu check --no-model --sentiment none one.jsonl` "
         "from a temporary directory with its own `HUASHU_CACHE`; the rows take turns within each of "
         f"{runs} rounds; wall time around the process, the child's CPU time (user + system, less sensitive "
         "to other work on the machine) and peak RSS; medians."),
        "",
        "| path | runs | median wall s | min s | max s | median CPU s | median peak RSS MiB |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, results in rows.items():
        walls = [r["wall"] for r in results]
        lines.append(f"| {label[name]} | {len(results)} | {med[name]:.2f} | {min(walls):.2f} | {max(walls):.2f} | "
                     f"{statistics.median(r['cpu'] for r in results):.2f} | "
                     f"{statistics.median(r['rss'] for r in results):.0f} |")
    verdict = "meets" if med["new"] <= TARGET_S else "misses"
    lines += [
        "",
        (f"With the cache, one line takes {med['new']:.2f} s against {med['old']:.2f} s without "
         f"({med['old'] / med['new']:.1f}× faster; the target of issue 11 is ≤ {TARGET_S:.1f} s: it {verdict} it "
         f"in this run). Of the cached run, {med['help']:.2f} s is the interpreter, the imports and the parser "
         "(`huashu --help`). Every run's output was checked to be the same flags; the cached runs printed "
         "nothing on stderr, each rebuild one line."),
        "",
        "Largest top-level imports of a cached run (`python -X importtime`, cumulative ms, one run):",
        "",
        ", ".join(f"`{name}` {ms:.0f}" for name, ms in result["imports"]) + ".",
        END,
    ]
    return "\n".join(lines)


def write(out: Path, text: str) -> None:
    if not out.exists():
        out.write_text(f"# Start-up\n\n{text}\n", encoding="utf-8")
        return
    old = out.read_text(encoding="utf-8")
    pattern = re.compile(re.escape(BEGIN) + r".*?" + re.escape(END), re.S)
    new = pattern.sub(lambda _: text, old) if pattern.search(old) else old.rstrip() + "\n\n" + text + "\n"
    out.write_text(new, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--out", type=Path, default=BENCH / "RESULTS.md")
    args = parser.parse_args()
    result = measure(args.runs, log=lambda m: print(m, file=sys.stderr, flush=True))
    text = section(result, args.runs)
    write(args.out, text)
    print(text)


if __name__ == "__main__":
    main()
