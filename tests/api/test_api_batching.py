"""Micro-batching of the live path (``api/batcher.py``): checks that arrive together run as one
``Pipeline.check`` and every caller gets the flags its utterance gets alone.

The trigger model may not be loaded here, so the servers below batch the lexicon's checks:
``HUASHU_LIVE_INLINE_CHARS=0`` sends every check off the event loop, hence (with
``HUASHU_LIVE_BATCH_MS`` > 0) through the batcher, exactly as ``HUASHU_MODEL=on`` does. The
batcher itself is tested with the real lexicon pipeline; the one fault injected (an utterance
whose check raises) wraps that pipeline's ``check``.
"""
from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator, Sequence

import httpx
import pytest
from api_support import Server, bearer, new_key, serve
from pydantic import ValidationError
from websockets.sync.client import connect

from analyzer.config import Config
from analyzer.pipeline import CheckResult, Pipeline, Utterance, build_or_fallback
from api.batcher import MicroBatcher
from api.errors import ApiError
from api.settings import Settings

WINDOW_MS = 400  # long, so that a lone check visibly waits for it and 16 at once surely share one

# (text, role, context): Simplified, Traditional, chat style with an emoji, ASR without
# punctuation, full-width characters, clean lines, a customer's turn.
CASES: list[tuple[str, str, str | None]] = [
    ("你搞错了，这个套餐本来就不含宽带。", "agent", None),
    ("先生，你搞錯了，這不是我們的問題。", "agent", "我家寬頻又斷了，你們怎麼回事"),
    ("亲～你必须先把截图发过来哦😊", "agent", "东西还没到"),
    ("你听我说这个不归我们管你去找快递公司吧", "agent", None),
    ("这不是我的事，ＯＫ？", "agent", "到底谁负责"),
    ("您好，请问还有什么可以帮您？", "agent", None),
    ("你必須先提供訂單號碼，不然沒辦法查。", "agent", None),
    ("嗯嗯好的我这边帮您查一下稍等", "agent", None),
    ("你们太过分了！😡", "customer", None),
    ("亲，你搞错了吧🙃这个优惠早就结束了～", "agent", "为什么没有优惠"),
    ("那不是我的错是系统的问题你自己去看", "agent", None),
    ("感謝您的耐心等候，已為您登記。", "agent", None),
    ("你必须先把身份证复印件传过来。这不是我的事。", "agent", None),
    ("好的好的 马上给您处理 👍", "agent", None),
    ("你搞错了", "agent", "我没收到"),
    ("你自己去查物流单号吧我们这边不管", "agent", "快递在哪"),
]


@pytest.fixture(scope="module")
def expected(pipeline: Pipeline) -> list[list[dict]]:
    """Each case's flags, checked alone by the lexicon pipeline in this process."""
    return [[f.to_dict() for f in pipeline.check([Utterance(*case)])[0].flags] for case in CASES]


def test_the_cases_are_worth_comparing(expected):
    assert len(CASES) == 16
    assert sum(bool(flags) for flags in expected) >= 8  # most of them are flagged
    assert not expected[8]  # the customer's turn gets no flags


def test_a_list_gets_the_flags_each_utterance_gets_alone(pipeline, expected):
    together = pipeline.check([Utterance(*case) for case in CASES])
    assert [[f.to_dict() for f in r.flags] for r in together] == expected
    # the order of the list and the customer's context change nothing
    reversed_ = pipeline.check([Utterance(*case) for case in reversed(CASES)])
    assert [[f.to_dict() for f in r.flags] for r in reversed(reversed_)] == expected
    no_context = pipeline.check([Utterance(text, role) for text, role, _ in CASES])
    assert [[f.to_dict() for f in r.flags] for r in no_context] == expected


def test_with_the_model_a_list_gets_the_flags_each_utterance_gets_alone():
    """The same promise with the trigger model (``HUASHU_MODEL=on``), when it loads here."""
    model, problem = build_or_fallback(Config(model="on", sentiment="none"))
    if problem:
        pytest.skip(f"the trigger model does not load here: {problem}")
    together = model.check([Utterance(*case) for case in CASES])
    for case, result in zip(CASES, together):
        [alone] = model.check([Utterance(*case)])
        batched, single = [f.to_dict() for f in result.flags], [f.to_dict() for f in alone.flags]
        assert [{**f, "confidence": None} for f in batched] == [{**f, "confidence": None} for f in single], case
        assert [f["confidence"] for f in batched] == pytest.approx([f["confidence"] for f in single], abs=1e-4)


# -- the batcher, with the real lexicon pipeline ------------------------------------------------
class Recorded:
    """``Pipeline.check`` of the real pipeline, recording each batch it is given; raises for any
    batch that holds ``poison`` (a fault, injected)."""

    def __init__(self, pipeline: Pipeline, poison: str | None = None, delay: float = 0.0):
        self.pipeline, self.poison, self.delay = pipeline, poison, delay
        self.batches: list[list[str]] = []

    def __call__(self, utterances: list[Utterance]) -> Sequence[CheckResult]:
        self.batches.append([u.text for u in utterances])
        time.sleep(self.delay)
        if self.poison is not None and any(u.text == self.poison for u in utterances):
            raise RuntimeError("injected fault")
        return self.pipeline.check(utterances)


def run_all(batcher: MicroBatcher, utterances: list[Utterance]) -> list:
    async def main() -> list:
        try:
            return await asyncio.gather(*(batcher.check(u) for u in utterances), return_exceptions=True)
        finally:
            await batcher.close()

    return asyncio.run(main())


def test_sixteen_at_once_are_one_batch_with_each_callers_own_flags(pipeline, expected):
    check = Recorded(pipeline)
    batcher = MicroBatcher(check, window_ms=50, max_batch=64)
    assert run_all(batcher, [Utterance(*case) for case in CASES]) == expected
    assert check.batches == [[text for text, _, _ in CASES]]
    assert (batcher.stats.batches, batcher.stats.utterances, batcher.stats.largest) == (1, 16, 16)


def test_a_batch_never_exceeds_the_limit(pipeline, expected):
    check = Recorded(pipeline)
    batcher = MicroBatcher(check, window_ms=50, max_batch=5)
    assert run_all(batcher, [Utterance(*case) for case in CASES]) == expected
    assert [len(b) for b in check.batches] == [5, 5, 5, 1]
    assert [text for b in check.batches for text in b] == [text for text, _, _ in CASES]  # in arrival order


def test_one_bad_utterance_fails_alone_and_the_others_are_answered(pipeline, expected):
    poison = CASES[3][0]
    check = Recorded(pipeline, poison=poison)
    batcher = MicroBatcher(check, window_ms=50, max_batch=64)
    answers = run_all(batcher, [Utterance(*case) for case in CASES])
    error = answers.pop(3)
    assert isinstance(error, ApiError) and (error.status_code, error.code) == (500, "check_failed")
    assert "请重试" in error.message and "try again" in error.message
    assert answers == expected[:3] + expected[4:]
    # the batch of 16 failed, then each was checked alone
    assert len(check.batches) == 17 and [len(b) for b in check.batches[1:]] == [1] * 16
    assert batcher.stats.failed == 1


def test_a_caller_that_leaves_does_not_break_the_batch(pipeline, expected):
    check = Recorded(pipeline, delay=0.2)

    async def main() -> tuple[list, bool]:
        batcher = MicroBatcher(check, window_ms=30, max_batch=64)
        try:
            gone_early = asyncio.create_task(batcher.check(Utterance(*CASES[0])))
            tasks = [asyncio.create_task(batcher.check(Utterance(*case))) for case in CASES[1:6]]
            await asyncio.sleep(0)
            gone_early.cancel()  # before the window ends: never checked
            await asyncio.sleep(0.1)  # the batch is in its worker thread now
            tasks[0].cancel()  # while it is checked: its answer is dropped
            answers = await asyncio.gather(*tasks, return_exceptions=True)
            return answers, gone_early.cancelled()
        finally:
            await batcher.close()

    answers, cancelled = asyncio.run(main())
    assert cancelled
    assert isinstance(answers[0], asyncio.CancelledError)
    assert answers[1:] == expected[2:6]
    assert check.batches == [[text for text, _, _ in CASES[1:6]]]


def test_closing_answers_everyone_still_waiting(pipeline):
    async def main() -> list:
        batcher = MicroBatcher(Recorded(pipeline, delay=0.3), window_ms=10, max_batch=64)
        tasks = [asyncio.create_task(batcher.check(Utterance(*case))) for case in CASES[:4]]
        await asyncio.sleep(0.1)  # the first batch is in its worker thread
        await batcher.close()
        answers = await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), 5)
        try:
            await batcher.check(Utterance(*CASES[0]))
        except ApiError as exc:
            answers.append(exc)
        return answers

    answers = asyncio.run(main())
    assert len(answers) == 5
    assert all(isinstance(a, ApiError) and (a.status_code, a.code) == (503, "unavailable") for a in answers)


@pytest.mark.parametrize(("field", "value"), [("live_batch_ms", -1), ("live_batch_max", 0), ("live_inline_chars", -5)])
def test_settings_refuse_nonsense(field, value):
    with pytest.raises(ValidationError):
        Settings(**{field: value})


def test_settings_defaults():
    settings = Settings(_env_file=None)
    assert (settings.live_batch_ms, settings.live_batch_max, settings.live_inline_chars) == (3.0, 64, 200)


# -- real servers ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def batching(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, str]]:
    env = {"HUASHU_LIVE_INLINE_CHARS": "0", "HUASHU_LIVE_BATCH_MS": str(WINDOW_MS), "HUASHU_LIVE_BATCH_MAX": "64"}
    with serve(tmp_path_factory.mktemp("batching"), env) as running:
        with httpx.Client(base_url=running.url, timeout=30) as http:
            key = new_key(http, running.admin_key, "agent")[1]
        yield running, key


@pytest.fixture(scope="module")
def unbatched(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, str]]:
    env = {"HUASHU_LIVE_INLINE_CHARS": "0", "HUASHU_LIVE_BATCH_MS": "0"}
    with serve(tmp_path_factory.mktemp("unbatched"), env) as running:
        with httpx.Client(base_url=running.url, timeout=30) as http:
            key = new_key(http, running.admin_key, "agent")[1]
        yield running, key


def body(case: tuple[str, str, str | None]) -> dict:
    text, role, context = case
    return {"text": text, "role": role, **({"context": context} if context else {})}


def suggest_at_once(server: Server, key: str, bodies: list[dict]) -> tuple[list[httpx.Response], float]:
    """All ``bodies`` to /v1/suggest at the same time; the answers and the seconds they took."""
    async def main() -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=server.url, headers=bearer(key), timeout=60,
                                     limits=httpx.Limits(max_connections=len(bodies))) as client:
            return await asyncio.gather(*(client.post("/v1/suggest", json=b) for b in bodies))

    started = time.monotonic()
    answers = asyncio.run(main())
    return answers, time.monotonic() - started


def test_sixteen_at_once_get_the_flags_each_gets_alone(batching, expected):
    server, key = batching
    with httpx.Client(base_url=server.url, headers=bearer(key), timeout=30) as http:
        started = time.monotonic()
        lone = http.post("/v1/suggest", json=body(CASES[0]))
        lone_seconds = time.monotonic() - started
    assert lone.status_code == 200 and lone.json() == {"flags": expected[0]}
    assert lone_seconds >= WINDOW_MS / 1000 * 0.9  # a lone check waits out the window: it was queued

    answers, seconds = suggest_at_once(server, key, [body(case) for case in CASES])
    assert [r.status_code for r in answers] == [200] * 16
    assert [r.json() for r in answers] == [{"flags": flags} for flags in expected]
    # one worker answers the batches in turn: 16 checks one per window would take 16 windows
    assert seconds < 16 * WINDOW_MS / 1000 * 0.75


def test_bad_requests_in_the_crowd_get_their_own_errors(batching, expected):
    server, key = batching
    bad = [{"text": ""}, {"text": "   "}, {"text": "好" * 2001}, {"text": "你搞错了", "role": "robot"}]
    answers, _ = suggest_at_once(server, key, [body(case) for case in CASES[:6]] + bad + [body(c) for c in CASES[6:]])
    good, refused = answers[:6] + answers[10:], answers[6:10]
    assert [r.json() for r in good] == [{"flags": flags} for flags in expected]
    assert [r.status_code for r in refused] == [422] * 4
    codes = [r.json()["error"]["code"] for r in refused]
    assert codes[:3] == ["empty_text", "empty_text", "text_too_long"]
    assert all(r.json()["error"]["message"] for r in refused)


def test_live_sockets_typing_at_once_share_batches(batching, expected):
    server, key = batching
    replies: dict[int, list[dict]] = {}
    start = threading.Barrier(8)

    def agent(n: int) -> None:
        with connect(server.ws_url + "/v1/live", additional_headers=bearer(key), open_timeout=30) as ws:
            start.wait(timeout=30)
            got = []
            for i in (n, n + 8):
                text, role, _ = CASES[i]
                ws.send(json.dumps({"id": i, "text": text, "role": role}, ensure_ascii=False))
                got.append(json.loads(ws.recv(timeout=30)))
            ws.send(json.dumps({"text": ""}))  # a bad message: its own error, the socket stays open
            got.append(json.loads(ws.recv(timeout=30)))
            replies[n] = got

    threads = [threading.Thread(target=agent, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(replies) == list(range(8))
    for n, (first, second, error) in replies.items():
        assert first == {"flags": expected[n], "id": n}
        assert second == {"flags": expected[n + 8], "id": n + 8}
        assert error["error"]["code"] == "empty_text"


def test_batching_off_still_answers_each(unbatched, expected):
    server, key = unbatched
    answers, _ = suggest_at_once(server, key, [body(case) for case in CASES])
    assert [r.json() for r in answers] == [{"flags": flags} for flags in expected]
    with httpx.Client(base_url=server.url, headers=bearer(key), timeout=30) as http:
        started = time.monotonic()
        assert http.post("/v1/suggest", json=body(CASES[1])).json() == {"flags": expected[1]}
        assert time.monotonic() - started < WINDOW_MS / 1000  # nothing waits for a window
        assert http.post("/v1/suggest", json={"text": "   "}).json()["error"]["code"] == "empty_text"
    with connect(server.ws_url + "/v1/live", additional_headers=bearer(key), open_timeout=30) as ws:
        ws.send(json.dumps({"text": CASES[2][0]}, ensure_ascii=False))
        assert json.loads(ws.recv(timeout=30)) == {"flags": expected[2]}
