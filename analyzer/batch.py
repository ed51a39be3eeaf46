"""Batch reports: ``huashu report PATH... --out DIR`` over files and folders of transcripts (the
tables and pages themselves: ``analyzer.batch_report``).

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

- **agent**: the call's agent as ``analyzer.callmeta`` reads it (name and employee id from the
  speaker label, the export or the agent's self-introduction), the ``--meta`` file's ``agent``
  (name) and ``employee_id`` over it; agents are grouped by ``callmeta.agent_key`` (employee id,
  else name), as on the web dashboard, and shown as ``小林（工号1234）``.
- **started_at** and **channel**: the call block's (``--meta`` columns ``started_at``,
  ``channel`` override them); the date is the ``--meta`` date, else the call's start date.
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
import io
import os
import re
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .batch_report import build_tables, call_result, iso_date, report_html, write_tables
from .config import Config
from .model import HuashuError, IngestError
from .pipeline import Pipeline, build

_DATE_DIR = re.compile(r"^(\d{4})[-_.]?(\d{2})[-_.]?(\d{2})$")
_DATE_IN_NAME = re.compile(r"(?<!\d)(20\d{2}|19\d{2})[-_.]?(0[1-9]|1[0-2])[-_.]?(0[1-9]|[12]\d|3[01])(?!\d)")
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
    agent: str | None = None  # the agent's name
    team: str | None = None
    date: str | None = None
    employee_id: str | None = None
    started_at: str | None = None  # ISO 8601 (with offset, as callmeta.parse_started_at writes it)
    channel: str | None = None  # chat or call

    def given(self) -> dict[str, str]:
        """The call metadata this row gives (``callmeta.GIVEN_FIELDS``)."""
        values = {"agent_name": self.agent, "employee_id": self.employee_id, "started_at": self.started_at,
                  "channel": self.channel}
        return {k: v for k, v in values.items() if v}


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
            date = iso_date(*m.groups())
            if date:
                team = folders[k - 1] if k else None
                break
    else:
        team = folders[0] if folders else None
    if date is None and (m := _DATE_IN_NAME.search(rel.name)):
        date = iso_date(*m.groups())
    return team, date


def read_meta(path: str | os.PathLike[str], timezone: str | None = None) -> dict[str, Meta]:
    """The ``--meta`` CSV: a ``file`` column and any of ``agent``, ``employee_id``, ``team``,
    ``date``, ``started_at``, ``channel``; a bad value is an error naming the file and line."""
    from .callmeta import CHANNELS, parse_started_at

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
            date = iso_date(*m.groups()) if m else None
            if date is None:
                raise HuashuError(f"{path}:{n}: 日期须为 YYYY-MM-DD / date must be YYYY-MM-DD: {row['date']!r}")
        started = row.get("started_at") or None
        if started:
            try:
                started = parse_started_at(started, timezone)
            except ValueError as exc:
                raise HuashuError(f"{path}:{n}: {exc}") from None
        channel = (row.get("channel") or "").lower() or None
        if channel and channel not in CHANNELS:
            raise HuashuError(f"{path}:{n}: channel 须为 chat 或 call / channel must be chat or call: {row['channel']!r}")
        out[row["file"]] = Meta(agent=row.get("agent") or None, team=row.get("team") or None, date=date,
                                employee_id=row.get("employee_id") or None, started_at=started, channel=channel)
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
        return call_result(job, state.analyze(t, given=job.meta.given()))
    except HuashuError as exc:
        return {"index": job.index, "error": {"file": job.path, "reason": str(exc)}}
    except Exception as exc:  # noqa: BLE001 (a bug on one file must not stop a run of thousands)
        return {"index": job.index,
                "error": {"file": job.path, "reason": f"内部错误 / internal error: {type(exc).__name__}: {exc}"}}


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
    _attach_meta(jobs, read_meta(meta, (options or Options()).config.timezone) if meta else {})
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
            page = report_html(tables, model_used=options.config.model_on_uploads, seconds=seconds, worst=worst)
            path.write_text(page, encoding="utf-8")
            written.append(path)
    return report


# -- the command (its options: analyzer.cli) ------------------------------------------------
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
