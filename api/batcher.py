"""Micro-batching of the live path's checks (``POST /v1/suggest``, ``WS /v1/live``).

With the trigger model on the live path (``HUASHU_MODEL=on``) one check is one model pass; eight
agents typing at once would cost eight. ``MicroBatcher`` queues the checks that arrive together:
one worker waits at most ``live_batch_ms`` after the first queued check (or until
``live_batch_max`` are queued), then runs ONE ``Pipeline.check`` over the whole batch in a worker
thread and hands each caller its own flags. ``Pipeline.check`` gives each utterance of a list the
same flags as alone (``tests/api/test_api_batching.py`` holds it to that).

Which checks are batched (``api.analysis.flags_for``): every check that would otherwise leave the
event loop, i.e. all of them with the model on the live path, and, with the lexicon alone, text
over ``live_inline_chars`` characters. Short text checked by the lexicon alone stays inline on the
event loop (about a millisecond, nothing to gain from waiting). ``live_batch_ms=0`` turns batching
off (each check in its own worker thread, as before).

Failures: validation (empty, too long) is answered before a check is queued. When the check of a
batch raises, each of its utterances is checked again alone, so one bad utterance fails only its
own caller, with a clean 500 (``check_failed``; the traceback goes to the log, never the text).
A caller that leaves (cancelled) is dropped from its batch or its result is discarded; closing
the batcher answers everyone still waiting with a 503.
"""
from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from starlette.concurrency import run_in_threadpool

from analyzer.pipeline import CheckResult, Utterance

from .errors import ApiError

log = logging.getLogger("huashu")

Flags = list[dict[str, Any]]
Check = Callable[[list[Utterance]], Sequence[CheckResult]]


def check_failed() -> ApiError:
    return ApiError(500, "check_failed", "检查这句话时出错，请重试 / checking this utterance failed; please try again")


def stopping() -> ApiError:
    return ApiError(503, "unavailable", "服务正在停止，请稍后重试 / the service is stopping; please retry shortly")


@dataclass
class BatchStats:
    """What the batcher has done (for tests and the log): batches run, utterances checked in them,
    the largest batch, and batches whose check raised (then checked one by one)."""

    batches: int = 0
    utterances: int = 0
    largest: int = 0
    failed: int = 0
    sizes: list[int] = field(default_factory=list, repr=False)  # the last 100 batch sizes


@dataclass
class _Waiting:
    utterance: Utterance
    future: asyncio.Future
    queued_at: float


class MicroBatcher:
    """``await batcher.check(Utterance(...))`` → that utterance's flags (``Flag.to_dict()`` each).

    ``check``: the batch check (``Pipeline.check``), run in a worker thread. The worker task is
    started by the first check, on the running event loop; ``close()`` stops it."""

    def __init__(self, check: Check, *, window_ms: float, max_batch: int):
        if window_ms <= 0 or max_batch < 1:
            raise ValueError("window_ms must be > 0 and max_batch >= 1")
        self._check = check
        self.window = window_ms / 1000
        self.max_batch = max_batch
        self.stats = BatchStats()
        self._queue: deque[_Waiting] = deque()
        self._arrived: asyncio.Event | None = None  # something is queued
        self._full: asyncio.Event | None = None  # max_batch are queued
        self._worker: asyncio.Task | None = None
        self._running: list[_Waiting] = []
        self._closed = False

    async def check(self, utterance: Utterance) -> Flags:
        if self._closed:
            raise stopping()
        loop = asyncio.get_running_loop()
        waiting = _Waiting(utterance, loop.create_future(), loop.time())
        self._queue.append(waiting)
        self._wake()
        # Cancelling the caller (the client left) cancels this future: the worker skips it.
        return await waiting.future

    def _wake(self) -> None:
        if self._worker is None or self._worker.done():
            self._arrived, self._full = asyncio.Event(), asyncio.Event()
            self._worker = asyncio.get_running_loop().create_task(self._work(), name="huashu-live-batcher")
        self._arrived.set()
        if len(self._queue) >= self.max_batch:
            self._full.set()

    async def _work(self) -> None:
        try:
            while True:
                try:
                    await self._next_batch()
                except Exception:  # a bug in this module's own bookkeeping: nobody may hang on it
                    log.exception("实时检查批次出错 / a live check batch failed")
                    self._fail_all(check_failed)
        except asyncio.CancelledError:
            self._fail_all(stopping)
            raise

    async def _next_batch(self) -> None:
        """Wait for a check, then for the window after the first queued one (or a full batch);
        answer that batch."""
        loop = asyncio.get_running_loop()
        await self._arrived.wait()
        self._drop_cancelled()
        if not self._queue:
            self._arrived.clear()
            return
        delay = self._queue[0].queued_at + self.window - loop.time()
        if delay > 0 and len(self._queue) < self.max_batch:
            self._full.clear()
            try:
                await asyncio.wait_for(self._full.wait(), delay)
            except TimeoutError:
                pass
        self._drop_cancelled()
        batch = [self._queue.popleft() for _ in range(min(self.max_batch, len(self._queue)))]
        if not self._queue:
            self._arrived.clear()
            self._full.clear()
        if batch:
            await self._answer(batch)

    def _drop_cancelled(self) -> None:
        if any(w.future.done() for w in self._queue):
            self._queue = deque(w for w in self._queue if not w.future.done())

    async def _answer(self, batch: list[_Waiting]) -> None:
        self._running = batch  # failed by close() if it comes while the batch is checked
        outcomes, failed = await run_in_threadpool(self._check_all, [w.utterance for w in batch])
        self._running = []
        self._count(len(batch), failed)
        for waiting, outcome in zip(batch, outcomes):
            if waiting.future.done():  # the caller left meanwhile
                continue
            if isinstance(outcome, BaseException):
                waiting.future.set_exception(outcome)
            else:
                waiting.future.set_result(outcome)

    def _check_all(self, utterances: list[Utterance]) -> tuple[list[Flags | ApiError], bool]:
        """In a worker thread: the batch in one check; if that raises, each utterance alone."""
        try:
            return self._flags(utterances), False
        except Exception:
            if len(utterances) > 1:
                log.warning("实时检查批次出错，逐句重试 / a live check batch of %d failed; checking them one by one",
                            len(utterances), exc_info=True)
        outcomes: list[Flags | ApiError] = []
        for utterance in utterances:
            try:
                outcomes.extend(self._flags([utterance]))
            except Exception:  # the log gets the traceback and the length, never the text
                log.exception("实时检查出错 / a live check failed (%d characters)", len(utterance.text))
                outcomes.append(check_failed())
        return outcomes, True

    def _flags(self, utterances: list[Utterance]) -> list[Flags]:
        results = self._check(utterances)
        if len(results) != len(utterances):
            raise RuntimeError(f"the check answered {len(results)} results for {len(utterances)} utterances")
        return [[flag.to_dict() for flag in result.flags] for result in results]

    def _count(self, size: int, failed: bool) -> None:
        stats = self.stats
        stats.batches += 1
        stats.utterances += size
        stats.largest = max(stats.largest, size)
        stats.failed += failed
        stats.sizes = [*stats.sizes[-99:], size]

    def _fail_all(self, error: Callable[[], ApiError]) -> None:
        for waiting in (*self._running, *self._queue):
            if not waiting.future.done():
                waiting.future.set_exception(error())
        self._queue.clear()
        self._running = []

    async def close(self) -> None:
        """Stop the worker; every caller still waiting gets a 503."""
        self._closed = True
        if self._worker is not None and not self._worker.done():
            self._worker.cancel()
            await asyncio.gather(self._worker, return_exceptions=True)
        self._fail_all(stopping)
