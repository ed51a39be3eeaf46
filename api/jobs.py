"""Upload analysis as a bounded job in one separate, niced worker process.

An upload's parse and analysis (``api.analysis.analyze_upload``, with the uploads' engine: the
model unless ``HUASHU_MODEL=off``) never runs in the server process: not on the event loop, not
in its threads, so it cannot take the CPU or the memory the live path (suggest, live) needs.
``AnalysisWorker`` keeps one child process (started with ``spawn``, ``nice`` 19 and idle I/O so
the scheduler prefers the server's threads, its pipeline built once) and gives it one job at a time:

- jobs wait in line (FIFO); more than ``upload_queue`` waiting: 429;
- a job may use ``analysis_seconds`` of the worker's CPU (and at most 5 times that of wall
  time); past that the child is killed (a new one is started for the next job) and the upload is
  a 422;
- ``gone()`` (the client has left) is polled while a job waits and while it runs: a job whose
  client left is dropped or its child killed; its result never exists, so it is never stored;
- once analysed, the child asks whether the client is still there; only then does it store the
  call (with its idempotency key) in one transaction and hand back the encoded response, which
  the handler sends as it is (201). The server process never holds the analysis: no ORM rows,
  no large JSON built there, so its memory and its GIL stay with the live path.

The child reports its model status ("off", "loaded", "unavailable") once it is ready; /healthz
shows it.
"""
from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from starlette.concurrency import run_in_threadpool

from .errors import ApiError
from .settings import Settings

log = logging.getLogger("huashu.jobs")

NICE = 19
POLL_S = 0.2  # how often a waiting or running job checks that its client is still there
WALL_FACTOR = 5  # an analysis may take analysis_seconds of CPU, and at most 5 times that of wall time


@dataclass(frozen=True)
class UploadJob:
    """One upload: the file and form, and what storing it needs (who, and its idempotency key)."""

    data: bytes
    name: str
    fmt: str | None
    agent_labels: tuple[str, ...]
    customer_labels: tuple[str, ...]
    uploader_id: int = 0
    masked: bool = True
    team: str | None = None
    idempotency_key: str | None = None
    digest: str = ""
    content_sha256: str = ""  # sha256 of the uploaded bytes: the same file uploaded twice is stored once
    given: tuple[tuple[str, str], ...] = ()  # call metadata from the form (agent_name, employee_id, started_at, channel)


class ClientGone(Exception):
    """The client left while its upload waited or ran: nothing to answer, nothing stored."""


# -- the child ----------------------------------------------------------------------------------
def _yield_to_the_server() -> None:
    """The lowest CPU priority short of idle-only (nice 19) and the idle I/O class: the live
    path's threads get the CPU and the disk whenever they want them."""
    try:
        os.nice(NICE - os.nice(0))
    except OSError:
        pass
    try:
        import psutil  # installed with dask[distributed]

        psutil.Process().ionice(psutil.IOPRIO_CLASS_IDLE)
    except (ImportError, AttributeError, OSError):
        pass


def _serve(conn: Any, settings: Settings) -> None:
    """The worker process: build the pipeline once, then take jobs until the pipe closes.

    Per job: analyse; say "analysed" and wait for "store" (the client is still there) or "drop";
    store the call in one transaction and answer with the response body, already encoded (the
    server process only passes the bytes on: no ORM rows, no large JSON built there)."""
    _yield_to_the_server()
    from .analysis import analyze_upload, build_pipeline
    from .db import create_db_engine, session_factory
    from .uploads import store_upload

    pipeline, status = build_pipeline(settings)
    sessions = session_factory(create_db_engine(settings.database_url, pool_size=1, max_overflow=1))
    conn.send(("ready", status))
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            return
        try:
            analysis = analyze_upload(
                pipeline, settings, job.data, job.name, fmt=job.fmt,
                agent_labels=job.agent_labels, customer_labels=job.customer_labels, given=dict(job.given),
            )
        except ApiError as exc:
            conn.send(("refused", exc.status_code, exc.code, exc.message))
            continue
        except Exception as exc:  # a defect: logged by the server, answered as a 500
            conn.send(("failed", f"{type(exc).__name__}: {exc}"))
            continue
        conn.send(("analysed",))
        if conn.recv() != "store":
            continue
        try:
            status_code, body = store_upload(sessions, analysis, job)
            reply: tuple[Any, ...] = ("stored", status_code, body)
        except ApiError as exc:
            reply = ("refused", exc.status_code, exc.code, exc.message)
        except Exception as exc:
            reply = ("failed", f"{type(exc).__name__}: {exc}")
        del analysis, job
        conn.send(reply)
        del reply
        trim_memory()


# -- the server's side ------------------------------------------------------------------------
class _Budget:
    """The time one analysis may take: ``seconds`` of the worker's CPU (what the analysis costs,
    however busy the machine is: at nice 19 a loaded machine slows it without making it dearer),
    and never more than WALL_FACTOR times that in wall-clock time. Wall-clock time alone where
    the CPU time cannot be read."""

    def __init__(self, pid: int, seconds: float):
        self.seconds, self.wall_deadline = seconds, time.monotonic() + WALL_FACTOR * seconds
        try:
            import psutil  # installed with dask[distributed]

            self._process = psutil.Process(pid)
            self._start = self._cpu()
        except (ImportError, OSError):
            self._process, self.wall_deadline = None, time.monotonic() + seconds

    def _cpu(self) -> float:
        times = self._process.cpu_times()
        return times.user + times.system + times.children_user + times.children_system

    def spent(self) -> bool:
        if time.monotonic() > self.wall_deadline:
            return True
        try:
            return self._process is not None and self._cpu() - self._start > self.seconds
        except OSError:  # the process is gone: its reply (or EOF) is read next
            return False


class AnalysisWorker:
    def __init__(self, settings: Settings):
        _large_buffers_unmapped()  # in the server process: the encoded answers pass through it
        self.settings = settings
        self.model_status = "off"
        self._ctx = multiprocessing.get_context("spawn")
        self._process: Any = None
        self._conn: Any = None
        self._lock = asyncio.Lock()
        self._waiting = 0

    # start and stop (blocking: call them in a thread)
    def start(self) -> str:
        """Start the child and wait until its pipeline is built; its model status."""
        parent, child = self._ctx.Pipe()
        process = self._ctx.Process(target=_serve, args=(child, self.settings), name="huashu-analysis", daemon=True)
        process.start()
        child.close()
        try:
            kind, status = parent.recv()
        except EOFError:
            process.join(5)
            raise RuntimeError(f"分析进程启动失败 / the analysis worker exited with {process.exitcode}") from None
        assert kind == "ready"
        self._process, self._conn, self.model_status = process, parent, status
        return status

    def stop(self) -> None:
        """End the child now (a running job is lost: it was never stored nor acknowledged)."""
        process, conn = self._process, self._conn
        self._process = self._conn = None
        if conn is not None:
            conn.close()
        if process is not None and process.is_alive():
            process.kill()
            process.join(5)

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    # one job
    async def run(self, job: UploadJob, gone: Callable[[], Awaitable[bool]]) -> tuple[int, bytes]:
        """The stored upload's status (201, or 200 for an idempotent replay) and response body,
        or ``ApiError`` (refused, over budget, a conflicting idempotency key) or ``ClientGone``."""
        if self._waiting >= self.settings.upload_queue:
            raise ApiError(
                429, "too_many_uploads",
                "分析队列已满，请稍后再试 / too many uploads waiting to be analysed, try again later",
                headers={"Retry-After": "5"},
            )
        self._waiting += 1
        try:
            await self._acquire(gone)
        finally:
            self._waiting -= 1
        try:
            if self._process is None or not self._process.is_alive():
                self.stop()
                await run_in_threadpool(self.start)
            return await self._run_now(job, gone)
        finally:
            self._lock.release()

    async def _acquire(self, gone: Callable[[], Awaitable[bool]]) -> None:
        """Take the worker in turn; leave the line when the client leaves."""
        acquire = asyncio.ensure_future(self._lock.acquire())
        while True:
            done, _ = await asyncio.wait({acquire}, timeout=POLL_S)
            if done:
                return
            if await gone():
                acquire.cancel()
                try:
                    await acquire
                except asyncio.CancelledError:
                    raise ClientGone() from None
                self._lock.release()  # acquired just as it was cancelled
                raise ClientGone()

    async def _run_now(self, job: UploadJob, gone: Callable[[], Awaitable[bool]]) -> tuple[int, bytes]:
        conn = self._conn
        await run_in_threadpool(conn.send, job)
        reply = await self._reply(conn, job, _Budget(self._process.pid, self.settings.analysis_seconds), gone)
        if reply[0] == "analysed":
            if await gone():  # analysed, not stored: the client left, so nothing is
                await run_in_threadpool(conn.send, "drop")
                raise ClientGone()
            await run_in_threadpool(conn.send, "store")
            reply = await self._reply(conn, job, None, None)  # storing is bounded by the turn budget
        if reply[0] == "stored":
            return reply[1], reply[2]
        if reply[0] == "refused":
            raise ApiError(reply[1], reply[2], reply[3])
        raise RuntimeError(f"analysis of {job.name!r} failed in the worker: {reply[1]}")

    async def _reply(
        self, conn: Any, job: UploadJob, budget: _Budget | None, gone: Callable[[], Awaitable[bool]] | None
    ) -> tuple[Any, ...]:
        """The child's next message. Past the ``budget``, or when ``gone()``, the child is killed
        (its CPU freed at once; a new one takes the next job)."""
        readable = asyncio.Event()
        loop = asyncio.get_running_loop()
        fd = conn.fileno()
        loop.add_reader(fd, readable.set)
        stopped: str | None = None
        try:
            while not readable.is_set():
                try:
                    await asyncio.wait_for(readable.wait(), POLL_S)
                except TimeoutError:
                    pass
                if readable.is_set():
                    break
                if budget is not None and budget.spent():
                    stopped = "deadline"
                    break
                if gone is not None and await gone():
                    stopped = "gone"
                    break
        finally:
            loop.remove_reader(fd)
            if self._conn is conn:
                os.set_blocking(fd, True)  # uvloop's add_reader made it non-blocking: recv needs it whole
            if stopped is not None or not readable.is_set():  # also when this task is cancelled
                self.stop()
        if stopped == "gone":
            raise ClientGone()
        if stopped == "deadline":
            limit = self.settings.analysis_seconds
            raise ApiError(
                422, "analysis_too_long",
                f"{job.name}: 分析超过 {limit:g} 秒（CPU 时间），已停止，未保存 / the analysis took over {limit:g} s "
                "of CPU time and was stopped; nothing was stored",
            )
        try:
            return await run_in_threadpool(conn.recv)
        except (EOFError, OSError) as exc:  # the child died (killed for memory, a crash in native code)
            process = self._process
            if process is not None:
                process.join(1)
            log.warning("分析进程退出 / the analysis worker exited (code %s) during %r: %r",
                        process.exitcode if process is not None else None, job.name, exc)
            self.stop()
            raise ApiError(
                422, "analysis_failed",
                f"{job.name}: 分析进程中止，未保存 / the analysis stopped before it finished; nothing was stored",
            ) from None


def _large_buffers_unmapped() -> None:
    """Keep glibc's mmap threshold at 1 MiB: a buffer larger than that (an upload's encoded answer
    can be 10 MB) is always mapped on its own and unmapped when freed. By default glibc raises the
    threshold to the size of the largest buffer freed so far, after which such buffers come from
    the heap and fragment it."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").mallopt(-3, 1024 * 1024)  # M_MMAP_THRESHOLD
    except (OSError, AttributeError):  # not glibc
        pass


def trim_memory() -> None:
    """Hand the heap's free pages back to the system (glibc ``malloc_trim``): after a large
    upload or read, the process's RSS goes back down instead of keeping its peak."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc
        pass
