"""Finding calls (api/web/find.py) over a real temporary SQLite database: full-text search in either
script, the filters combined, the orders, and the query string that carries them."""
from __future__ import annotations

import os
import uuid
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import text
from web_support import EXAMPLE, XIAOLI

from analyzer.ingest import parse_transcript
from api import store
from api.db import create_db_engine, migrate, open_database, session_factory
from api.tables import StoredTranscript
from api.web import find

# A chat in Traditional characters, full-width letters and an emoji, no punctuation (as ASR or a
# phone keyboard gives it); its agent stonewalls twice.
TRADITIONAL = """\
客服小美：您好 請問有什麼可以幫您
客戶：我的ＶＩＰ會員怎麼被取消了😡
客服小美：這不是我的事 你去問別的部門
客戶：你們這是什麼態度
客服小美：規定就是這樣 我也沒辦法
""".encode()


POSTGRES_URL = os.environ.get("HUASHU_TEST_POSTGRES_URL", "")


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.skipif(
    not POSTGRES_URL, reason="HUASHU_TEST_POSTGRES_URL is not set"))])
def db(request, tmp_path):
    """A migrated database: SQLite always, PostgreSQL too (a schema of its own, dropped after)
    when ``HUASHU_TEST_POSTGRES_URL`` is set, as in tests/api/test_api_storage.py."""
    if request.param == "sqlite":
        engine, sessions = open_database(f"sqlite:///{tmp_path / 'find.db'}")
        yield sessions
        engine.dispose()
        return
    schema = f"huashu_find_{uuid.uuid4().hex[:10]}"
    admin = create_db_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = create_db_engine(POSTGRES_URL, connect_args={"options": f"-csearch_path={schema}"})
    migrate(engine)
    yield session_factory(engine)
    engine.dispose()
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


def _store(sessions, pipeline, raw: bytes, name: str, uploader_id: int, sentiment: dict | None = None) -> str:
    """Store a call analysed by the pipeline; ``sentiment``: turn index → the rating the file
    carries (the pipeline keeps a file's own ratings, as for an export with sentiment columns)."""
    transcript = parse_transcript(raw, name)
    for turn in transcript.turns:
        if sentiment and turn.index in sentiment:
            turn.sentiment = sentiment[turn.index]
    analysis = pipeline.analyze(transcript)
    with sessions.begin() as s:
        return store.save_transcript(s, analysis, uploaded_by=uploader_id, masked=False).id


@pytest.fixture
def calls(db, pipeline):
    with db.begin() as s:
        key, _ = store.create_key(s, "主管", "supervisor")
        key_id = key.id
    return {
        "example": _store(db, pipeline, EXAMPLE, "example.txt", key_id),
        "xiaoli": _store(db, pipeline, XIAOLI, "xiaoli.txt", key_id, {
            1: {"label": "neutral", "score": 0.8, "anger": False}, 3: {"label": "negative", "score": 0.9, "anger": True},
            5: {"label": "neutral", "score": 0.6, "anger": False}}),
        "trad": _store(db, pipeline, TRADITIONAL, "trad.txt", key_id, {
            1: {"label": "negative", "score": 0.7, "anger": True}, 3: {"label": "negative", "score": 0.6, "anger": False}}),
        "percent": _store(db, pipeline, "客服：本月优惠打8折_100%返现\n客户：好的\n".encode(), "percent.txt", key_id),
    }


def _ids(sessions, **query) -> list[str]:
    with sessions() as s:
        return [row.id for row in find.find_calls(s, find.Find.from_query(query), per_page=50).rows]


def test_search_finds_either_script_and_full_width_and_shows_where(db, calls):
    assert set(_ids(db, q="不是我的事")) == {calls["trad"], calls["xiaoli"]}  # 這不是我的事 (Traditional) found
    assert set(_ids(db, q="什么态度")) == {calls["xiaoli"], calls["trad"]}  # 什麼態度 (Traditional) found
    assert set(_ids(db, q="什麼態度")) == {calls["xiaoli"], calls["trad"]}  # Traditional query, Simplified call too
    assert _ids(db, q="VIP会员") == [calls["trad"]]  # ＶＩＰ會員 in the call
    assert _ids(db, q="没有这句话") == []
    with db() as s:
        [row] = find.find_calls(s, find.Find(q="別的部門")).rows
    assert row.match == {"index": 2, "before": "這不是我的事 你去問", "hit": "別的部門", "after": ""}


def test_like_wildcards_in_a_search_match_themselves(db, calls):
    assert _ids(db, q="%") == [calls["percent"]]
    assert _ids(db, q="_") == [calls["percent"]]
    assert _ids(db, q="8折_1") == [calls["percent"]]
    assert _ids(db, q="8折%") == []  # "%" is a character here, not "anything"


def test_filters_combine(db, calls):
    with db.begin() as s:
        s.get(StoredTranscript, calls["xiaoli"]).status = "reviewed"  # as a supervisor's review leaves it
        s.get(StoredTranscript, calls["trad"]).status = "disputed"
    assert _ids(db, status="reviewed") == [calls["xiaoli"]]
    assert _ids(db, status="disputed", q="态度") == [calls["trad"]]
    assert _ids(db, status="reviewed", q="VIP") == []
    refusal = set(_ids(db, category="refusal"))
    assert {calls["xiaoli"], calls["trad"]} <= refusal and calls["example"] not in refusal
    with db() as s:
        flags = [f for t in s.get(StoredTranscript, calls["xiaoli"]).turns for f in t.flags]
    rule = flags[0].rule
    assert calls["xiaoli"] in _ids(db, rule=rule)
    assert _ids(db, rule="no-such-rule") == []
    # confidence: a call with a flag at or above the bound; category and confidence on one flag
    top = max(f.confidence for f in flags)
    assert calls["xiaoli"] in _ids(db, conf_min=f"{top - 0.0005:.4f}")
    assert calls["xiaoli"] not in _ids(db, conf_min=f"{top + 0.0005:.4f}") or top >= 0.9995
    assert _ids(db, conf_min="1.5") == _ids(db, conf_min="1")  # clamped to [0, 1]
    assert calls["xiaoli"] not in _ids(db, category=flags[0].category, conf_max="0")


def test_satisfaction_range_and_worst_first(db, calls):
    with db() as s:
        sat = {tid: (s.get(StoredTranscript, tid).summary or {}).get("satisfaction") for tid in calls.values()}
    rated = {tid: v for tid, v in sat.items() if v is not None}
    assert set(rated) == {calls["xiaoli"], calls["trad"]}, sat  # the two calls with customer ratings
    worst = min(rated, key=rated.get)
    ordered = _ids(db, sort="satisfaction_asc")
    assert ordered[0] == worst and all(tid in rated for tid in ordered[:len(rated)])
    assert set(_ids(db, sat_max=f"{rated[worst]:.6f}")) >= {worst}
    assert worst not in _ids(db, sat_min=f"{rated[worst] + 0.001:.6f}")


def test_dates_read_the_calls_start_then_the_upload_day_in_the_service_zone(db, calls):
    with db.begin() as s:
        # 2025-03-30 07:00 in Shanghai is 2025-03-29 23:00 UTC: the call belongs to 30 March
        s.get(StoredTranscript, calls["xiaoli"]).started_at = datetime(2025, 3, 29, 23, 0, tzinfo=UTC)
        s.get(StoredTranscript, calls["trad"]).created_at = datetime(2025, 3, 31, 2, 0, tzinfo=UTC)
    assert _ids(db, date_from="2025-03-30", date_to="2025-03-30") == [calls["xiaoli"]]
    assert _ids(db, date_from="2025-03-01", date_to="2025-03-31", sort="oldest") == [calls["xiaoli"], calls["trad"]]
    assert calls["xiaoli"] not in _ids(db, date_from=date.today().isoformat())


def test_the_agent_choices_name_the_agents_and_filter(db, calls):
    with db() as s:
        choices = dict(find.agent_choices(s))
    xiaoli = [value for value, name in choices.items() if "小李" in name]
    assert len(xiaoli) == 1, choices
    assert _ids(db, agent=xiaoli[0]) == [calls["xiaoli"]]


def test_the_query_string_carries_the_filters_and_bad_values_are_left_out():
    f = find.Find.from_query({"q": " 不是  我的事 ", "agent": "id:1024", "conf_min": "80%", "sat_max": ".4",
                              "status": "reviewed", "date_from": "2025-03-24", "sort": "satisfaction_asc", "page": "2"})
    assert (f.q, f.conf_min, f.sat_max) == ("不是 我的事", 0.8, 0.4)
    assert find.Find.from_query(dict(p.split("=") for p in [])) == find.Find()
    again = find.Find.from_query(dict(__import__("urllib.parse").parse.parse_qsl(f.query())))
    assert again == f
    assert "page" not in f.query(page=1)
    bad = find.Find.from_query({"conf_min": "nan", "sat_min": "abc", "status": "closed", "sort": "x", "date_to": "2025-02-30"})
    assert bad == find.Find() and not bad.active and f.active
    # a day no call can have (0001-01-01 is before the first representable instant east of UTC)
    assert find.Find.from_query({"date_from": "0001-01-01", "date_to": "9999-12-31"}) == find.Find()


def test_last_week_is_monday_to_sunday_before_this_week():
    ranges = {key: (start, end) for key, start, end in find.quick_ranges(date(2026, 12, 3))}  # a Thursday
    assert ranges["last_week"] == (date(2026, 11, 23), date(2026, 11, 29))
    assert ranges["last_7"] == (date(2026, 11, 27), date(2026, 12, 3))


def test_an_export_is_refused_rather_than_cut_short(db, calls):
    with db() as s:
        assert len(find.all_calls(s, find.Find(), limit=4)) == 4
        with pytest.raises(find.TooManyToExport) as refused:
            find.all_calls(s, find.Find(), limit=3)
    assert (refused.value.total, refused.value.limit) == (4, 3)
