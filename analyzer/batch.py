"""Batch reports: ``huashu report PATH... --out DIR`` over files and folders of transcripts.

Every file under the given paths (folders recursively; hidden files, Excel lock files and the
``--meta`` file itself skipped) is read with ``analyzer.ingest`` whatever its format, analysed by
the engine (flags), given customer sentiment (``analyzer.sentiment``, when a model is available),
scored (``analyzer.scorecard``) and followed through the call (``analyzer.mood``). A file that
cannot be read is listed with the reason (the ``IngestError`` message) and the run goes on.

Written to DIR:

- ``calls``  one row per call (file, agent, team, date, counts, flags per category, sentiment,
  satisfaction, escalations, scorecard verdicts and values, link to the annotated view);
- ``turns``  one row per turn (role, speaker, times, flags, sentiment, mood);
- ``flags``  one row per flag (category, rule, span, confidence, best rewrite);
- ``agents`` / ``teams`` / ``days``  aggregates (calls, turns, flags per 100 agent turns,
  flags per category, mean satisfaction, escalations, scorecard pass rate per item);
- ``errors`` the files that could not be read, with the reason;

each as ``NAME.csv`` (UTF-8 with BOM, for Excel) and ``NAME.parquet``; all of them in
``report.xlsx`` (one sheet each; ``turns`` left out beyond Excel's row limit); ``report.html``, one
self-contained page (charts as inline SVG drawn by matplotlib, with a CJK font when one is
installed; no external resources); and ``calls/<name>.html``, each call's annotated view
(``analyzer.report.to_html`` with its scorecard and mood), linked from the report.

Who and when:

- **agent**: the ``--meta`` file's ``agent``, else the call's agent speaker label (the most
  frequent one); a bare role label (坐席, 客服, agent) is replaced by the employee number the agent
  states (``工号1024``) when there is one.
- **team** and **date**: the ``--meta`` file (a CSV with a ``file`` column and any of ``agent``,
  ``team``, ``date``; ``file`` is matched against the path as found, the path relative to the
  folder given, or the bare file name), else the path convention ``DIR/<team>/<date>/file``
  (``DIR/<team>/file`` and ``DIR/<date>/file`` work too): a folder named like a date
  (``2025-03-01``, ``20250301``, ``2025_03_01``) gives the date and the folder just above it
  (below DIR) the team; without a date folder, the first folder below DIR is the team. The call's
  date is taken from its timestamps when they are date-times (``2025-03-01 10:02:11``), then from
  a date folder, then from a date in the file name.

Scale: by default everything runs in this process (no Dask import). ``workers=N`` starts a local
Dask cluster of N worker processes, ``scheduler=ADDRESS`` uses a running one; files are read here
and sent in chunks (so workers need no shared disk), at most a few chunks per worker in flight;
a local cluster's workers write the call pages themselves, a remote cluster's send them back.
Each worker process builds the engine (and any model) once: ``worker_state`` is a per-process
singleton, preloaded on every worker when the run starts. Both paths run the same function
(``analyse_chunk``) and give the same tables.
"""
from __future__ import annotations

import argparse
import csv
import hashlib
import html
import io
import math
import os
import re
import sys
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .config import Config
from .model import CallAnalysis, HuashuError, IngestError
from .pipeline import Pipeline, build

TABLES = ("calls", "turns", "flags", "agents", "teams", "days", "errors")
XLSX_MAX_ROWS = 1_048_575
_DATE_DIR = re.compile(r"^(\d{4})[-_.]?(\d{2})[-_.]?(\d{2})$")
_DATE_IN_NAME = re.compile(r"(?<!\d)(20\d{2}|19\d{2})[-_.]?(0[1-9]|1[0-2])[-_.]?(0[1-9]|[12]\d|3[01])(?!\d)")
_DATETIME_IN_TEXT = re.compile(
    r"(?<!\d)(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:\s+|T)\d{1,2}:\d{2}")
_SKIPPED_NAMES = re.compile(r"^(\.|~\$)|^(Thumbs\.db|desktop\.ini)$", re.IGNORECASE)


# -- options and per-process state ---------------------------------------------------------
@dataclass(frozen=True)
class Options:
    """What every worker needs to analyse a file the same way (hashable: it keys the cache): the
    pipeline's configuration and how to read the files."""

    config: Config = field(default_factory=lambda: Config(model="off"))
    fmt: str | None = None  # input format, None = detect
    agent_labels: tuple[str, ...] = ()
    customer_labels: tuple[str, ...] = ()

    @classmethod
    def of(cls, *, sentiment: str = "auto", model: bool = False, **reading: Any) -> Options:
        """Options with the environment's configuration and these changes (tests, benchmarks)."""
        return cls(Config().with_(sentiment=sentiment, model="on" if model else "off"), **reading)


_STATE: dict[Options, Pipeline] = {}
_COUNTS = {"builds": 0, "chunks": 0}


def worker_state(options: Options) -> Pipeline:
    """The pipeline for these options, built once per process (here, or on each Dask worker)."""
    state = _STATE.get(options.config)
    if state is None:
        state = _STATE[options.config] = build(options.config)
        _COUNTS["builds"] += 1
    return state


def worker_info() -> dict[str, int]:
    """This process's pid, how many times it built a state and how many chunks it ran."""
    return {"pid": os.getpid(), **_COUNTS}


def _preload(options: Options) -> str | None:
    """Run on every Dask worker when a run starts: build the state now, not on the first chunk."""
    return worker_state(options).sentiment_name


# -- jobs ----------------------------------------------------------------------------------
@dataclass
class Meta:
    agent: str | None = None
    team: str | None = None
    date: str | None = None


@dataclass
class Job:
    index: int
    path: str  # as found (the call's id)
    rel: str  # relative to the folder it was found under (the file name for a file given)
    meta: Meta = field(default_factory=Meta)  # from --meta
    path_team: str | None = None
    path_date: str | None = None
    data: bytes | None = None  # read by the client just before the job is sent
    error: str | None = None  # the file could not even be read


def find_files(paths: Sequence[str | os.PathLike[str]], exclude: Iterable[str | os.PathLike[str]] = ()
               ) -> tuple[list[Job], list[dict[str, str]]]:
    """Every transcript file under ``paths`` (folders recursively, sorted), and the paths that
    do not exist (as error rows)."""
    excluded = {os.path.abspath(p) for p in exclude}
    jobs: list[Job] = []
    missing: list[dict[str, str]] = []
    seen: set[str] = set()
    for given in paths:
        root = Path(given)
        if root.is_file():
            found = [(root, Path(root.name))]
        elif root.is_dir():
            found = [(p, p.relative_to(root)) for p in sorted(root.rglob("*"))
                     if p.is_file() and not any(_SKIPPED_NAMES.search(part) for part in p.relative_to(root).parts)]
        else:
            missing.append({"file": os.fspath(given), "reason": "没有这个文件或文件夹 / no such file or folder"})
            continue
        for path, rel in found:
            absolute = os.path.abspath(path)
            if absolute in excluded or absolute in seen:
                continue
            seen.add(absolute)
            team, date = _from_path(rel)
            jobs.append(Job(index=len(jobs), path=os.fspath(path), rel=rel.as_posix(), path_team=team, path_date=date))
    return jobs, missing


def _from_path(rel: Path) -> tuple[str | None, str | None]:
    """Team and date from ``<team>/<date>/file``, ``<team>/file``, ``<date>/file``, the file name."""
    folders = list(rel.parent.parts)
    team = date = None
    for k, part in enumerate(folders):
        if m := _DATE_DIR.match(part):
            date = _iso(*m.groups())
            if date:
                team = folders[k - 1] if k else None
                break
    else:
        team = folders[0] if folders else None
    if date is None and (m := _DATE_IN_NAME.search(rel.name)):
        date = _iso(*m.groups())
    return team, date


def _iso(year: str, month: str, day: str) -> str | None:
    import datetime as dt

    try:
        return dt.date(int(year), int(month), int(day)).isoformat()
    except ValueError:
        return None


def read_meta(path: str | os.PathLike[str]) -> dict[str, Meta]:
    """The ``--meta`` CSV: a ``file`` column and any of ``agent``, ``team``, ``date``."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise HuashuError(f"{path}: 无法读取 / cannot read: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise HuashuError(f"{path}: 须为 UTF-8 CSV / must be a UTF-8 CSV") from None
    rows = list(csv.DictReader(io.StringIO(text)))
    if not rows or "file" not in {(k or "").strip().lower() for k in rows[0]}:
        raise HuashuError(f"{path}: 须有 file 列 / needs a `file` column (and agent, team, date)")
    out: dict[str, Meta] = {}
    for n, row in enumerate(rows, 2):
        row = {(k or "").strip().lower(): (v or "").strip() for k, v in row.items()}
        date = row.get("date") or None
        if date:
            m = re.match(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})", date)
            date = _iso(*m.groups()) if m else None
            if date is None:
                raise HuashuError(f"{path}:{n}: 日期须为 YYYY-MM-DD / date must be YYYY-MM-DD: {row['date']!r}")
        out[row["file"]] = Meta(agent=row.get("agent") or None, team=row.get("team") or None, date=date)
    return out


def _attach_meta(jobs: list[Job], meta: dict[str, Meta]) -> None:
    if not meta:
        return
    by_abs = {os.path.abspath(k): v for k, v in meta.items()}
    for job in jobs:
        job.meta = (meta.get(job.path) or meta.get(job.rel) or by_abs.get(os.path.abspath(job.path))
                    or meta.get(Path(job.path).name) or Meta())


def _read(job: Job) -> Job:
    try:
        job.data = Path(job.path).read_bytes()
    except OSError as exc:
        reason = exc.strerror or str(exc)
        job.error = str(IngestError(f"无法读取文件：{reason} / cannot read the file: {reason}", job.path))
    return job


# -- one chunk of files (runs here or on a Dask worker) ------------------------------------
def analyse_chunk(jobs: list[Job], options: Options, pages: str | None = None) -> list[dict[str, Any]]:
    """Analyse the files of one chunk; one result per job: ``{"index", "error"}`` or the call's
    ``{"index", "call", "turns", "flags", "html"}``. With ``pages`` (the report folder, on a disk
    this process shares with the client) each call's page is written here and ``html`` left out."""
    state = worker_state(options)
    _COUNTS["chunks"] += 1
    results = [analyse_job(job, options, state) for job in jobs]
    if options.config.mask_pii:  # a reason may quote the file name or a line of the file
        from .privacy import mask_pii

        for result in results:
            if "error" in result:
                result["error"] = {k: mask_pii(v) for k, v in result["error"].items()}
    if pages is not None:
        for result in results:
            page = result.pop("html", None)
            if page is not None:
                (Path(pages) / result["call"]["html"]).write_text(page, encoding="utf-8")
    return results


def _masked_job(job: Job) -> Job:
    """The job with its file name, --meta values and path team masked (``analyzer.privacy``); the
    file's bytes are already read, so the real path is no longer needed."""
    from dataclasses import replace

    from .privacy import mask_optional, mask_pii

    return replace(job, path=mask_pii(job.path), rel=mask_pii(job.rel), path_team=mask_optional(job.path_team),
                   meta=replace(job.meta, agent=mask_optional(job.meta.agent), team=mask_optional(job.meta.team)))


def analyse_job(job: Job, options: Options, state: Pipeline) -> dict[str, Any]:
    from .ingest import parse_transcript

    if options.config.mask_pii:  # file names and metadata; the pipeline masks the text itself
        job = _masked_job(job)
    if job.error:
        return {"index": job.index, "error": {"file": job.path, "reason": job.error}}
    try:
        t = parse_transcript(job.data or b"", job.path, fmt=options.fmt, agent_labels=options.agent_labels,
                             customer_labels=options.customer_labels)
        return _call_result(job, state.analyze(t), state)
    except HuashuError as exc:
        return {"index": job.index, "error": {"file": job.path, "reason": str(exc)}}
    except Exception as exc:  # noqa: BLE001 (a bug on one file must not stop a run of thousands)
        return {"index": job.index,
                "error": {"file": job.path, "reason": f"内部错误 / internal error: {type(exc).__name__}: {exc}"}}


def _call_result(job: Job, a: CallAnalysis, state: Pipeline) -> dict[str, Any]:
    from .lexicon import load_categories
    from .mood import mood_of
    from .report import to_html

    t, card, mood, summary = a.transcript, a.scorecard, a.mood, a.summary
    agent = job.meta.agent or a.call["agent"]["name"]
    date = job.meta.date or call_date(job.data or b"", t) or job.path_date
    team = job.meta.team or job.path_team
    link = f"calls/{slug(job.rel, job.path)}.html"
    agent_turns, customer_turns = t.agent_turns, t.customer_turns
    n_flags = sum(len(turn.flags) for turn in t.turns)
    by_category = Counter(f.category for turn in t.turns for f in turn.flags)
    rated = [turn for turn in customer_turns if turn.sentiment]
    labels = Counter(turn.sentiment.get("label") for turn in rated)
    series = mood["series"]
    times = [x for turn in t.turns for x in (turn.start_time, turn.end_time) if x is not None]
    row: dict[str, Any] = {
        "call_id": job.path,
        "file": job.rel,
        "format": t.format,
        "encoding": t.encoding,
        "script": t.script,
        "channel": card["channel"],
        "agent": agent,
        "team": team,
        "date": date,
        "turns": len(t.turns),
        "agent_turns": len(agent_turns),
        "customer_turns": len(customer_turns),
        "duration_s": round(max(times) - min(times), 1) if len(times) > 1 else None,
        "flags": n_flags,
        "flags_per_100_agent_turns": summary["flags_per_100_agent_turns"],
    }
    for category in load_categories():
        row[f"flags_{category}"] = by_category.get(category, 0)
    row.update({
        "sentiment_model": a.sentiment_model,
        "rated_turns": len(rated),
        "negative_turns": labels.get("negative", 0),
        "positive_turns": labels.get("positive", 0),
        "angry_turns": sum(bool(turn.sentiment.get("anger")) for turn in rated),
        "mood_start": series[0]["mood"] if series else None,
        "mood_end": series[-1]["mood"] if series else None,
        "mood_min": min(p["mood"] for p in series) if series else None,
        "satisfaction": mood["satisfaction"],
        "escalations": len(mood["escalations"]),
        "unresolved_escalations": sum(not e["resolved"] for e in mood["escalations"]),
        "scorecard_score": card["score"],
        "scorecard_passed": card["passed"],
        "scorecard_failed": card["failed"],
    })
    for item in card["items"]:
        row[f"sc_{item['id']}_passed"] = item["passed"]
        value = item["value"]
        row[f"sc_{item['id']}"] = value if isinstance(value, (int, float, str)) or value is None else str(value)
    row["html"] = link
    moods = {p["turn"]: p for p in series}
    turns = []
    flags = []
    for turn in t.turns:
        s = turn.sentiment or {}
        turns.append({
            "call_id": job.path, "agent": agent, "team": team, "date": date,
            "turn": turn.index, "role": turn.role, "speaker": turn.speaker, "text": turn.text,
            "start_time": turn.start_time, "end_time": turn.end_time, "chars": len(turn.text),
            "position": round(turn.index / (len(t.turns) - 1), 3) if len(t.turns) > 1 else 0.0,
            "flags": len(turn.flags), "categories": ";".join(sorted({f.category for f in turn.flags})) or None,
            "sentiment": s.get("label"), "sentiment_score": s.get("score"),
            "anger": s.get("anger") if s else None,
            "mood": mood_of(s) if s else None,
            "mood_smoothed": moods[turn.index]["smoothed"] if turn.index in moods else None,
        })
        for f in turn.flags:
            flags.append({
                "call_id": job.path, "agent": agent, "team": team, "date": date, "turn": turn.index,
                "category": f.category, "rule": f.rule, "text": f.text, "start": f.start, "end": f.end,
                "confidence": f.confidence, "source": f.source, "rewrite": f.rewrite,
            })
    return {"index": job.index, "call": row, "turns": turns, "flags": flags,
            "html": to_html(a, back_link="../report.html")}


def call_date(data: bytes, t) -> str | None:
    """The date of the call's first date-time timestamp (YYYY-MM-DD), if its times are date-times."""
    if t.format == "xlsx":
        return _xlsx_date(data)
    if not any(turn.start_time is not None or turn.end_time is not None for turn in t.turns):
        return None
    from .ingest import decode_text

    try:
        text, _ = decode_text(data, t.source)
    except (IngestError, UnicodeDecodeError):
        return None
    m = _DATETIME_IN_TEXT.search(text, 0, 65536)
    return _iso(*m.groups()) if m else None


def _xlsx_date(data: bytes) -> str | None:
    import datetime as dt

    import openpyxl

    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # noqa: BLE001 (ingest read it already; a date is a nicety)
        return None
    try:
        for row in book.worksheets[0].iter_rows(max_row=50, values_only=True):
            for value in row:
                if isinstance(value, dt.datetime):
                    return value.date().isoformat()
                if isinstance(value, str) and (m := _DATETIME_IN_TEXT.search(value)):
                    return _iso(*m.groups())
    finally:
        book.close()
    return None


def slug(rel: str, path: str) -> str:
    """A file name for the call's page: readable and unique (a hash of the path)."""
    readable = re.sub(r"[^\w.-]+", "_", rel).strip("._")[:80] or "call"
    return f"{readable}-{hashlib.sha1(path.encode('utf-8')).hexdigest()[:8]}"


# -- running -------------------------------------------------------------------------------
@dataclass
class Report:
    """What a run produced: the tables (pandas DataFrames) and the files written."""

    tables: dict[str, Any]
    out: Path | None
    files: list[Path]
    seconds: float
    utterances: int
    sentiment_model: str | None = None
    workers: dict[str, Any] = field(default_factory=dict)  # worker → worker_info() (pid, builds, chunks)


def analyse(jobs: list[Job], options: Options, *, workers: int | None = None, scheduler: str | None = None,
            chunk_size: int = 32, progress: bool | None = None, on_result=None,
            worker_stats: dict[str, Any] | None = None, pages: str | None = None) -> list[dict[str, Any]]:
    """Run every job, here or on Dask; the results in job order. ``on_result(result)`` is called
    as each arrives; ``worker_stats`` (a dict) gets each worker's ``worker_info()`` at the end.
    ``pages``: the report folder, where each call's page is written by whoever analysed it (here,
    or a worker of a local cluster: same disk); on a remote cluster (``scheduler``) the pages come
    back in the results instead (``html``) and ``on_result`` writes them."""
    chunks = [jobs[i:i + chunk_size] for i in range(0, len(jobs), max(1, chunk_size))]
    bar = _progress(len(jobs), progress)
    results: list[dict[str, Any]] = []

    def take(batch: list[dict[str, Any]]) -> None:
        for result in batch:
            if on_result is not None:
                on_result(result)
            results.append(result)
        bar.update(len(batch))

    try:
        if workers or scheduler:
            _run_dask(chunks, options, workers, scheduler, take, worker_stats, None if scheduler else pages)
        else:
            worker_state(options)
            for chunk in chunks:
                take(analyse_chunk([_read(job) for job in chunk], options, pages))
                for job in chunk:
                    job.data = None
            if worker_stats is not None:
                worker_stats["local"] = worker_info()
    finally:
        bar.close()
    results.sort(key=lambda r: r["index"])
    return results


def _run_dask(chunks: list[list[Job]], options: Options, workers: int | None, scheduler: str | None, take,
              worker_stats: dict[str, Any] | None = None, pages: str | None = None) -> None:
    try:
        from dask.distributed import Client, LocalCluster, as_completed
    except ImportError:
        raise HuashuError("Dask 未安装 / Dask is not installed: pip install 'dask[distributed]'") from None
    cluster = None
    if scheduler:
        try:
            client = Client(scheduler, timeout="30s")
        except OSError as exc:
            raise HuashuError(f"无法连接 Dask 调度器 / cannot reach the Dask scheduler {scheduler}: {exc}") from None
    else:
        cluster = LocalCluster(n_workers=int(workers), threads_per_worker=1, processes=True,
                               dashboard_address=None, silence_logs=40)
        client = Client(cluster)
    try:
        client.run(_preload, options)  # the engine and models, once per worker, before any chunk
        window = 3 * max(1, len(client.nthreads()))
        pending = iter(chunks)
        futures = as_completed()

        def submit_next() -> bool:
            chunk = next(pending, None)
            if chunk is None:
                return False
            chunk = [_read(job) for job in chunk]
            futures.add(client.submit(analyse_chunk, chunk, options, pages, pure=False))
            for job in chunk:
                job.data = None
            return True

        for _ in range(window):
            if not submit_next():
                break
        for future in futures:
            batch = future.result()
            future.release()
            take(batch)
            submit_next()
        if worker_stats is not None:
            worker_stats.update(client.run(worker_info))
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


class _NoBar:
    def update(self, n: int) -> None:
        pass

    def close(self) -> None:
        pass


def _progress(total: int, enabled: bool | None):
    if enabled is False:
        return _NoBar()
    try:
        from tqdm import tqdm
    except ImportError:
        return _NoBar()
    # enabled None: tqdm shows the bar only on a terminal
    return tqdm(total=total, unit="file", desc="huashu report", disable=None if enabled is None else False,
                file=sys.stderr, dynamic_ncols=True)


def run_report(paths: Sequence[str | os.PathLike[str]], out: str | os.PathLike[str] | None, *,
               options: Options | None = None, meta: str | os.PathLike[str] | None = None,
               workers: int | None = None, scheduler: str | None = None, chunk_size: int = 32,
               progress: bool | None = None, xlsx: bool = True, html_report: bool = True,
               worst: int = 20, on_result=None) -> Report:
    """Analyse every transcript under ``paths`` and write the report to ``out`` (None: tables only).
    ``on_result(result)``, when given, sees each file's result as it arrives (a call or an error)."""
    options = options or Options()
    started = time.perf_counter()
    jobs, missing = find_files(paths, exclude=[meta] if meta else [])
    _attach_meta(jobs, read_meta(meta) if meta else {})
    if not jobs and missing:
        raise HuashuError("没有可读的文件 / nothing to read: " + "; ".join(m["file"] for m in missing))
    out_dir = Path(out) if out is not None else None
    calls_dir = out_dir / "calls" if out_dir is not None else None
    if calls_dir is not None:
        try:
            calls_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise HuashuError(f"{out_dir}: 无法创建 / cannot create: {exc.strerror}") from None
    written: list[Path] = []

    def take(result: dict[str, Any]) -> None:
        if on_result is not None:
            on_result(result)
        page = result.pop("html", None)
        if calls_dir is not None and page is not None:
            target = out_dir / result["call"]["html"]
            target.write_text(page, encoding="utf-8")

    stats: dict[str, Any] = {}
    results = analyse(jobs, options, workers=workers, scheduler=scheduler, chunk_size=chunk_size,
                      progress=progress, on_result=take, worker_stats=stats,
                      pages=str(out_dir.resolve()) if out_dir is not None else None)
    if options.config.mask_pii:
        from .privacy import mask_pii

        missing = [{k: mask_pii(v) for k, v in m.items()} for m in missing]
    tables = build_tables(results, missing)
    seconds = time.perf_counter() - started
    utterances = int(tables["calls"]["turns"].sum()) if len(tables["calls"]) else 0
    names = [m for m in tables["calls"].get("sentiment_model", []) if isinstance(m, str)]
    report = Report(tables=tables, out=out_dir, files=written, seconds=seconds, utterances=utterances,
                    sentiment_model=names[0] if names else None, workers=stats)
    if out_dir is not None:
        written += write_tables(tables, out_dir, xlsx=xlsx)
        if html_report:
            path = out_dir / "report.html"
            path.write_text(report_html(tables, options=options, seconds=seconds, worst=worst), encoding="utf-8")
            written.append(path)
    return report


# -- tables --------------------------------------------------------------------------------
def build_tables(results: list[dict[str, Any]], missing: Sequence[dict[str, str]] = ()) -> dict[str, Any]:
    import pandas as pd

    from .lexicon import load_categories

    calls = pd.DataFrame([r["call"] for r in results if "call" in r])
    turns = pd.DataFrame([row for r in results if "call" in r for row in r["turns"]])
    flags = pd.DataFrame([row for r in results if "call" in r for row in r["flags"]],
                         columns=["call_id", "agent", "team", "date", "turn", "category", "rule", "text", "start",
                                  "end", "confidence", "source", "rewrite"])
    errors = pd.DataFrame(list(missing) + [r["error"] for r in results if "error" in r], columns=["file", "reason"])
    categories = list(load_categories())
    return {
        "calls": calls,
        "turns": turns,
        "flags": flags,
        "agents": aggregate(calls, ["team", "agent"], categories),
        "teams": aggregate(calls, ["team"], categories),
        "days": aggregate(calls, ["date"], categories),
        "errors": errors,
    }


def aggregate(calls, keys: list[str], categories: Sequence[str] = ()):
    """Per-group figures: calls, turns, flags per 100 agent turns, flags per category, mean
    satisfaction, escalations, mean scorecard score, and each scorecard item's pass rate."""
    import pandas as pd

    if calls.empty:
        return pd.DataFrame(columns=[*keys, "calls"])
    rows = []
    passed_cols = [c for c in calls.columns if c.startswith("sc_") and c.endswith("_passed")]
    for key, group in calls.groupby(keys, dropna=False, sort=True):
        key = key if isinstance(key, tuple) else (key,)
        agent_turns = int(group["agent_turns"].sum())
        flags = int(group["flags"].sum())
        sat = group["satisfaction"].dropna()
        score = group["scorecard_score"].dropna()
        row = {k: (None if _missing(v) else v) for k, v in zip(keys, key)}
        row.update({
            "calls": len(group),
            "turns": int(group["turns"].sum()),
            "agent_turns": agent_turns,
            "customer_turns": int(group["customer_turns"].sum()),
            "flags": flags,
            "flags_per_100_agent_turns": round(100 * flags / agent_turns, 1) if agent_turns else None,
        })
        for category in categories:
            row[f"flags_{category}"] = int(group[f"flags_{category}"].sum()) if f"flags_{category}" in group else 0
        row.update({
            "satisfaction_mean": round(float(sat.mean()), 3) if len(sat) else None,
            "satisfaction_calls": len(sat),
            "angry_turns": int(group["angry_turns"].sum()),
            "escalations": int(group["escalations"].sum()),
            "unresolved_escalations": int(group["unresolved_escalations"].sum()),
            "scorecard_score_mean": round(float(score.mean()), 3) if len(score) else None,
        })
        for col in passed_cols:
            verdicts = [v for v in group[col] if v is not None and not _missing(v)]
            row[col.removesuffix("_passed") + "_rate"] = (
                round(sum(bool(v) for v in verdicts) / len(verdicts), 3) if verdicts else None)
        rows.append(row)
    return pd.DataFrame(rows)


def _missing(value: Any) -> bool:
    try:
        return value is None or (isinstance(value, float) and math.isnan(value))
    except TypeError:
        return False


def write_tables(tables: dict[str, Any], out_dir: Path, xlsx: bool = True) -> list[Path]:
    """Each table as CSV and Parquet, all of them in report.xlsx. CSV and XLSX text cells go
    through ``analyzer.cells`` (a cell starting with = + - @ is written with a ' in front, no cell
    is a formula); Parquet keeps the values as they are (it is data, not a spreadsheet)."""
    from .cells import escape_frame, write_xlsx

    written = []
    for name in TABLES:
        df = _for_files(tables[name])
        path = out_dir / f"{name}.csv"
        escape_frame(df).to_csv(path, index=False, encoding="utf-8-sig")
        written.append(path)
        path = out_dir / f"{name}.parquet"
        df.to_parquet(path, index=False)
        written.append(path)
    if xlsx:
        path = out_dir / "report.xlsx"
        write_xlsx(path, {name: df for name in TABLES if len(df := _for_files(tables[name])) <= XLSX_MAX_ROWS})
        written.append(path)
    return written


def _for_files(df):
    """Columns of Python objects mixing types (a scorecard value: a phrase or a number) as text,
    so Parquet gets one type per column."""
    df = df.copy()
    for col in df.columns:
        if df[col].dtype == object:
            kinds = {type(v) for v in df[col] if v is not None and not _missing(v)}
            if len(kinds) > 1 and not kinds <= {int, float}:
                df[col] = [None if v is None or _missing(v) else str(v) for v in df[col]]
    return df


# -- the HTML report -----------------------------------------------------------------------
_REPORT_CSS = """
body{font-family:system-ui,"PingFang SC","Noto Sans CJK SC","Microsoft YaHei",sans-serif;margin:2rem auto;max-width:72rem;color:#222;line-height:1.5;padding:0 1rem}
h1{font-size:1.4rem} h2{font-size:1.15rem;margin-top:2rem;border-bottom:1px solid #ddd}
table{border-collapse:collapse;font-size:.85rem;margin:.5rem 0} td,th{border-bottom:1px solid #eee;padding:.2rem .5rem;text-align:right}
td:first-child,th:first-child,td.l,th.l{text-align:left} th{background:#f3f6fa}
.kpi{display:flex;gap:1rem;flex-wrap:wrap} .kpi div{background:#f3f6fa;padding:.6rem 1rem;border-radius:4px}
.kpi b{display:block;font-size:1.3rem} .chart svg{max-width:100%;height:auto} .note{color:#666;font-size:.85rem}
"""


def report_html(tables: dict[str, Any], *, options: Options | None = None, seconds: float = 0.0, worst: int = 20) -> str:
    options = options or Options()
    calls, errors = tables["calls"], tables["errors"]
    n_calls = len(calls)
    turns = int(calls["turns"].sum()) if n_calls else 0
    flags = int(calls["flags"].sum()) if n_calls else 0
    agent_turns = int(calls["agent_turns"].sum()) if n_calls else 0
    sat = calls["satisfaction"].dropna() if n_calls else []
    model = next((m for m in (calls["sentiment_model"] if n_calls else []) if isinstance(m, str)), None)
    kpis = [
        ("通话 / calls", n_calls), ("话轮 / turns", turns), ("导火索 / triggers", flags),
        ("每百坐席话轮 / per 100 agent turns", f"{100 * flags / agent_turns:.1f}" if agent_turns else "—"),
        ("平均满意度 / mean satisfaction", f"{sat.mean():.2f}" if len(sat) else "—"),
        ("无法读取 / unreadable files", len(errors)),
    ]
    charts, font_note = _charts(tables)
    parts = [
        "<h1>话术 Huashu · 批量报告 / batch report</h1>",
        (f"<p class='note'>{n_calls} calls · {len(errors)} unreadable · {seconds:.1f} s · "
         f"trigger model: {'lexicon + classifier' if options.config.model_on_uploads else 'lexicon'} · "
         f"sentiment: {html.escape(model or 'none (satisfaction not estimated)')} · {html.escape(font_note)}</p>"),
        "<div class='kpi'>" + "".join(f"<div>{html.escape(k)}<b>{html.escape(str(v))}</b></div>" for k, v in kpis) + "</div>",
    ]
    for title, svg in charts:
        parts.append(f"<h2>{html.escape(title)}</h2><div class='chart'>{svg}</div>")
    parts.append("<h2>最差的通话 / worst calls</h2>" + _worst_table(calls, worst))
    parts.append("<h2>坐席对比 / agents</h2>" + _table(tables["agents"], _AGG_COLUMNS, ["team", "agent"]))
    parts.append("<h2>团队 / teams</h2>" + _table(tables["teams"], _AGG_COLUMNS, ["team"]))
    parts.append("<h2>按日 / by day</h2>" + _table(tables["days"], _AGG_COLUMNS, ["date"]))
    parts.append("<h2>评分卡通过率 / scorecard pass rates</h2>" + _scorecard_rates(calls))
    parts.append("<h2>无法读取的文件 / unreadable files</h2>" + (
        _table(errors, ["file", "reason"], ["file", "reason"]) if len(errors) else "<p>无 / none</p>"))
    return (f"<!doctype html>\n<html lang='zh-CN'><head><meta charset='utf-8'><title>话术 Huashu · report</title>"
            f"<style>{_REPORT_CSS}</style></head><body>\n" + "\n".join(parts) + "\n</body></html>\n")


_AGG_COLUMNS = ["calls", "agent_turns", "flags", "flags_per_100_agent_turns", "satisfaction_mean",
                "escalations", "unresolved_escalations", "scorecard_score_mean"]


def _table(df, columns: list[str], text_columns: list[str], links: dict[str, str] | None = None) -> str:
    if df is None or df.empty:
        return "<p>无 / none</p>"
    keys = [c for c in text_columns if c in df.columns and c not in columns]
    cols = keys + [c for c in columns if c in df.columns]
    head = "".join(f"<th class='{'l' if c in text_columns else ''}'>{html.escape(c)}</th>" for c in cols)
    body = []
    for _, row in df.iterrows():
        cells = []
        for c in cols:
            v = row[c]
            text = "—" if _missing(v) else (f"{v:.3g}" if isinstance(v, float) else str(v))
            cell = html.escape(text)
            if links and c in links and not _missing(row[links[c]]):
                cell = f"<a href='{html.escape(str(row[links[c]]))}'>{cell}</a>"
            cells.append(f"<td class='{'l' if c in text_columns else ''}'>{cell}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


def _worst_table(calls, worst: int) -> str:
    """Lowest satisfaction first (calls without it last), then most triggers per agent turn."""
    if calls.empty:
        return "<p>无 / none</p>"
    df = calls.assign(_sat=calls["satisfaction"].fillna(2.0), _rate=-calls["flags_per_100_agent_turns"].fillna(0))
    df = df.sort_values(["_sat", "_rate", "call_id"]).head(worst)
    cols = ["call_id", "agent", "team", "date", "satisfaction", "flags", "flags_per_100_agent_turns",
            "escalations", "scorecard_score"]
    return _table(df, cols, ["call_id", "agent", "team", "date"], links={"call_id": "html"})


def _scorecard_rates(calls) -> str:
    if calls.empty:
        return "<p>无 / none</p>"
    rows = []
    for col in [c for c in calls.columns if c.startswith("sc_") and c.endswith("_passed")]:
        verdicts = [v for v in calls[col] if v is not None and not _missing(v)]
        rate = f"{sum(bool(v) for v in verdicts) / len(verdicts):.0%}" if verdicts else "—"
        rows.append(f"<tr><td>{html.escape(col[3:-7])}</td><td>{rate}</td><td>{len(verdicts)}</td></tr>")
    return "<table><tr><th>item</th><th>passed</th><th>calls it applies to</th></tr>" + "".join(rows) + "</table>"


# -- charts (matplotlib → inline SVG; text drawn as paths, so no font is needed to view) --------
_CJK_FONTS = ("Noto Sans CJK SC", "Noto Sans CJK JP", "Source Han Sans SC", "Source Han Sans CN",
              "WenQuanYi Zen Hei", "WenQuanYi Micro Hei", "Microsoft YaHei", "SimHei", "PingFang SC",
              "Heiti SC", "Noto Serif CJK SC", "AR PL UMing CN", "Droid Sans Fallback")


def cjk_font() -> str | None:
    """The name of an installed font with Chinese characters, or None."""
    try:
        from matplotlib import font_manager
    except ImportError:
        return None
    names = {f.name for f in font_manager.fontManager.ttflist}
    return next((n for n in _CJK_FONTS if n in names), None)


def _charts(tables: dict[str, Any]) -> tuple[list[tuple[str, str]], str]:
    try:
        import matplotlib
        from matplotlib.figure import Figure
    except ImportError:
        return [], "charts: matplotlib not installed"
    font = cjk_font()
    zh = font is not None

    def label(zh_text: str, en_text: str) -> str:
        return f"{zh_text} / {en_text}" if zh else en_text

    def name(value: Any, k: int) -> str:
        text = "—" if _missing(value) else str(value)
        return text if zh or text.isascii() else f"#{k + 1}"

    rc = {"svg.fonttype": "path", "font.size": 9, "axes.spines.top": False, "axes.spines.right": False,
          "svg.hashsalt": "huashu"}
    if font:
        rc["font.family"] = [font, "DejaVu Sans"]
    out: list[tuple[str, str]] = []
    turns, flags, days, agents = (tables[k] for k in ("turns", "flags", "days", "agents"))
    with matplotlib.rc_context(rc):
        # 1. mood and triggers over time (per day)
        dated = days.dropna(subset=["date"]) if "date" in days else days.iloc[0:0]
        if len(dated):
            fig = Figure(figsize=(9, 3.2))
            ax = fig.add_subplot(1, 1, 1)
            x = list(range(len(dated)))
            ax.bar(x, dated["flags_per_100_agent_turns"].fillna(0), color="#f4b6b0",
                   label=label("每百坐席话轮导火索", "triggers / 100 agent turns"))
            ax.set_ylabel(label("导火索", "triggers"))
            ax.set_xticks(x, [str(d) for d in dated["date"]], rotation=45, ha="right")
            if dated["satisfaction_mean"].notna().any():
                ax2 = ax.twinx()
                ax2.plot(x, dated["satisfaction_mean"].astype(float), marker="o", color="#0b5394",
                         label=label("平均满意度", "mean satisfaction"))
                ax2.set_ylim(0, 1)
                ax2.set_ylabel(label("满意度", "satisfaction"))
            fig.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=2, frameon=False)
            out.append((label("情绪与导火索（按日）", "mood and triggers over time"), _svg(fig)))
        # 2. mood over the course of a call
        rated = turns.dropna(subset=["mood"]) if "mood" in turns else turns.iloc[0:0]
        if len(rated):
            bins = (rated["position"].astype(float) * 10).clip(0, 9.999).astype(int)
            mean = rated.groupby(bins)["mood"].mean()
            fig = Figure(figsize=(9, 3))
            ax = fig.add_subplot(1, 1, 1)
            ax.plot([b / 10 + 0.05 for b in mean.index], mean.values, marker="o", color="#38761d")
            ax.axhline(0, color="#999", lw=0.8)
            ax.set_ylim(-1, 1)
            ax.set_xlabel(label("通话进程", "position in the call"))
            ax.set_ylabel(label("客户情绪", "customer mood"))
            out.append((label("通话中的客户情绪", "customer mood through the call"), _svg(fig)))
        # 3. trigger categories
        if len(flags):
            counts = flags["category"].value_counts().sort_values()
            fig = Figure(figsize=(9, 0.35 * len(counts) + 1))
            ax = fig.add_subplot(1, 1, 1)
            ax.barh(list(counts.index), counts.values, color="#c0392b")
            ax.set_xlabel(label("次数", "flags"))
            out.append((label("导火索类别", "trigger categories"), _svg(fig)))
        # 4. agents compared
        if len(agents):
            top = agents.sort_values(["calls", "agent"], ascending=[False, True], na_position="last").head(30)
            top = top.iloc[::-1]
            names = [name(a, k) for k, a in enumerate(top["agent"])]
            rated = top["satisfaction_mean"].notna().any()
            fig = Figure(figsize=(9, 0.3 * len(top) + 1.2))
            ax = fig.add_subplot(1, 2 if rated else 1, 1)
            ax.barh(names, top["flags_per_100_agent_turns"].fillna(0), color="#c0392b")
            ax.set_xlabel(label("每百坐席话轮导火索", "triggers / 100 agent turns"))
            if rated:
                ax = fig.add_subplot(1, 2, 2)
                ax.barh(names, top["satisfaction_mean"].astype(float).fillna(0), color="#0b5394")
                ax.set_xlim(0, 1)
                ax.set_yticks([])
                ax.set_xlabel(label("平均满意度", "mean satisfaction"))
            fig.tight_layout()
            out.append((label("坐席对比", "agents compared"), _svg(fig)))
    note = f"chart font: {font}" if font else "charts: no CJK font installed, English labels"
    return out, note


def _svg(fig) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
    text = buf.getvalue()
    return text[text.index("<svg"):]


# -- the command ---------------------------------------------------------------------------
def add_report_parser(sub, parents: Sequence[argparse.ArgumentParser] = ()) -> argparse.ArgumentParser:
    """``huashu report``: add the sub-command to the ``huashu`` parser."""
    p = sub.add_parser("report", parents=list(parents),
                       help="批量报告 / batch report over files and folders of transcripts")
    p.add_argument("paths", nargs="+", metavar="PATH", help="transcript files or folders (recursive)")
    p.add_argument("--out", required=True, metavar="DIR", help="输出文件夹 / output folder")
    p.add_argument("--mask-pii", action=argparse.BooleanOptionalAction, default=None,
                   help="遮盖电话、身份证、银行卡号（默认开；HUASHU_MASK_PII）/ mask phone, ID-card and bank-card "
                        "numbers before analysis and in every output (default on; HUASHU_MASK_PII)")
    p.add_argument("--meta", metavar="CSV", help="file→agent/team/date mapping (columns file, agent, team, date)")
    p.add_argument("--workers", type=int, metavar="N", help="run on a local Dask cluster of N worker processes")
    p.add_argument("--scheduler", metavar="ADDRESS", help="run on a Dask cluster (e.g. tcp://10.0.0.5:8786)")
    p.add_argument("--chunk-size", type=int, default=32, help="files per Dask task (default 32)")
    p.add_argument("--no-model", action="store_true", help="只用词库 / the lexicon alone, without the classifier")
    p.add_argument("--sentiment", choices=("auto", "baseline", "finetuned", "none"),
                   help="customer sentiment model (default HUASHU_SENTIMENT, else auto: the fine-tuned one if "
                        "present, else the baseline)")
    p.add_argument("--scorecard", action="append", metavar="FILE",
                   help="company scorecard file (repeatable; also HUASHU_SCORECARD)")
    p.add_argument("--channel", choices=("auto", "call", "chat"), help="default HUASHU_CHANNEL, else auto")
    p.add_argument("--input-format", choices=("speaker-text", "csv", "tsv", "json", "jsonl", "xlsx"))
    p.add_argument("--agent-label", action="append", metavar="LABEL")
    p.add_argument("--customer-label", action="append", metavar="LABEL")
    p.add_argument("--no-xlsx", action="store_true", help="skip report.xlsx")
    p.add_argument("--worst", type=int, default=20, help="worst calls listed (default 20)")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=cmd_report)
    return p


def cmd_report(args: argparse.Namespace) -> int:
    if args.workers is not None and args.workers < 1:
        raise HuashuError("--workers 须 ≥ 1 / --workers must be at least 1")
    options = Options(
        config=Config().with_args(args, model=not args.no_model),
        fmt=args.input_format,
        agent_labels=tuple(args.agent_label or ()),
        customer_labels=tuple(args.customer_label or ()),
    )
    report = run_report(args.paths, args.out, options=options, meta=args.meta, workers=args.workers,
                        scheduler=args.scheduler, chunk_size=args.chunk_size,
                        progress=False if args.no_progress else None, xlsx=not args.no_xlsx, worst=args.worst)
    calls, errors = report.tables["calls"], report.tables["errors"]
    print(f"{len(calls)} 通话 / calls, {report.utterances} 话轮 / turns, {len(errors)} 个文件无法读取 / "
          f"unreadable, {report.seconds:.1f} s → {Path(args.out) / 'report.html'}")
    for _, row in errors.iterrows():
        print(f"  {row['reason']}", file=sys.stderr)  # the reason names the file (and line)
    return 0
