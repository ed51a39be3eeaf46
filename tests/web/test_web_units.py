"""The web app's parts without a server: its words, charts, text marking, redirects, sessions, and
the call list and dashboard figures over a real (temporary SQLite) database."""
from __future__ import annotations

import re
import string
import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace

import pytest
from web_support import EXAMPLE, XIAOLI

from analyzer.ingest import parse_transcript
from api import store
from api.db import open_database
from api.settings import Settings
from api.tables import StoredSession, StoredTranscript
from api.web import charts, data, i18n, pages, session
from api.web.pages import TEMPLATES

WEB = TEMPLATES.parent


# -- words ---------------------------------------------------------------------------------------
def _used_keys() -> set[str]:
    used = set()
    for path in TEMPLATES.glob("*.html"):
        used |= set(re.findall(r"""\bt\(\s*['"]([\w.]+)['"]""", path.read_text(encoding="utf-8")))
    for path in (WEB / "static").glob("*.js"):
        used |= set(re.findall(r"""\bT\(\s*"([\w.]+)\"""", path.read_text(encoding="utf-8")))
    for path in (WEB / "pages.py", WEB / "review.py", WEB / "review_call.py"):
        used |= set(re.findall(r"""\bt\(\s*['"]([\w.]+)['"]""", path.read_text(encoding="utf-8")))
    return {key for key in used if not key.endswith(".")}  # prefixes are checked on their own


def _prefixes() -> set[str]:
    """Keys built at run time (``t('role.' ~ role)``, ``T("live." + state)``): their prefixes."""
    found = set()
    for path in [*TEMPLATES.glob("*.html"), *(WEB / "static").glob("*.js"), WEB / "pages.py", WEB / "review.py", WEB / "review_call.py"]:
        found |= set(re.findall(r"""\b[tT]\(\s*f?['"]([\w.]+\.)(?:['"]|\{)""", path.read_text(encoding="utf-8")))
    return found


def test_every_string_used_exists_in_both_languages():
    table = i18n.strings()
    missing = sorted(_used_keys() - set(table))
    assert missing == []
    for prefix in _prefixes():
        assert any(k.startswith(prefix) for k in table), prefix
    for key in ("role.agent", "role.supervisor", "role.analyst", "role.admin", "live.open", "live.closed",
                "live.connecting", "live.unauthorized", "live.forbidden", "verdict.confirmed", "verdict.dismissed",
                "agents.chart.trend.day", "agents.chart.trend.week", *(f"sort.{s}" for s in data.SORTS)):
        assert key in table, key


def test_both_languages_fill_the_same_blanks():
    names = lambda text: sorted(f for _, f, _, _ in string.Formatter().parse(text) if f)
    for key, entry in i18n.strings().items():
        assert entry["zh"].strip() and entry["en"].strip(), key
        assert names(entry["zh"]) == names(entry["en"]), key


def test_chinese_is_the_default_and_the_cookie_switches():
    conn = lambda cookies: SimpleNamespace(cookies=cookies)
    assert i18n.lang_of(conn({})) == "zh"
    assert i18n.lang_of(conn({"hs_lang": "en"})) == "en"
    assert i18n.lang_of(conn({"hs_lang": "fr"})) == "zh"
    assert i18n.translator("en")("calls.count", n=3) == "3 call(s)"


# -- charts --------------------------------------------------------------------------------------
def _svg(markup) -> ET.Element:
    return ET.fromstring(str(markup))


def test_charts_are_well_formed_svg_and_escape_their_labels():
    bars = _svg(charts.bars([("<script>alert(1)</script>", 3.0), ("坐席", 1.5)], name="b", title="T & t", empty_text="-"))
    assert bars.tag.endswith("svg") and bars.get("data-chart") == "b"
    assert "<script>" not in str(charts.bars([("<script>", 1.0)], name="b", title="t", empty_text="-"))
    assert len(bars.findall(".//{http://www.w3.org/2000/svg}rect")) == 2
    line = _svg(charts.trend([("05-01", 10.0), ("05-02", None), ("05-03", 30.0)], name="t", title="t", empty_text="-"))
    assert len(line.findall(".//{http://www.w3.org/2000/svg}circle")) == 2
    mood = _svg(charts.mood([(1, 0.0, False), (3, -0.9, True)], turns=5, triggers=[2], name="m", title="m",
                            empty_text="-", labels={"positive": "+", "negative": "-", "trigger": "!", "turn": "#"}))
    assert len(mood.findall(".//{http://www.w3.org/2000/svg}circle")) == 2
    shares = _svg(charts.shares([("a", 1, "#000"), ("b", 3, "#fff")], name="s", title="s", empty_text="-"))
    assert "75%" in ET.tostring(shares, encoding="unicode")


def test_charts_without_data_say_so():
    assert str(charts.bars([], name="b", title="t", empty_text="无数据")) == '<p class="empty" data-chart="b">无数据</p>'
    assert "empty" in str(charts.trend([("05-01", None)], name="t", title="t", empty_text="-"))
    assert "empty" in str(charts.mood([], turns=3, triggers=[], name="m", title="m", empty_text="-", labels={}))
    assert "empty" in str(charts.shares([("a", 0, "#000")], name="s", title="s", empty_text="-"))


def test_long_labels_are_cut_to_fit():
    assert charts._fit("坐席", 100) == "坐席"
    cut = charts._fit("orders the customer around and more", 100)
    assert cut.endswith("…") and charts._width(cut) <= 100
    assert charts._nice(43.1) == 50 and charts._nice(7) == 10 and charts._nice(0.3) == 0.5


# -- marking text, redirects ---------------------------------------------------------------------
def test_segments_mark_spans_and_merge_overlaps():
    flags = [{"start": 0, "end": 3, "id": "a"}, {"start": 2, "end": 5, "id": "b"}, {"start": 7, "end": 9, "id": "c"}]
    out = pages.segments("你必须马上付款，谢谢", flags)
    assert [(s["text"], s["flags"]) for s in out] == [
        ("你必须马上", ["a", "b"]), ("付款", []), ("，谢", ["c"]), ("谢", []),
    ]
    assert pages.segments("abc", [{"start": 5, "end": 9, "id": "x"}]) == [{"text": "abc", "flags": []}]


@pytest.mark.parametrize(("target", "ok"), [
    ("/web/calls?agent=%E5%9D%90", True), ("/web/agents", True), ("//evil.example", False),
    ("https://evil.example/web", False), ("/docs", False), ("/web\\@evil", False), ("javascript:alert(1)", False),
    ("/webevil", False), ("/web", True),
])
def test_only_pages_of_the_app_are_redirect_targets(target, ok):
    assert (pages.safe_next(target) == target) is ok


# -- sessions ------------------------------------------------------------------------------------
@pytest.fixture
def db(tmp_path):
    engine, sessions = open_database(f"sqlite:///{tmp_path / 'web.db'}")
    yield sessions
    engine.dispose()


def _conn(sessions, **settings) -> SimpleNamespace:
    settings = Settings(database_url="sqlite://", **settings)
    return SimpleNamespace(app=SimpleNamespace(state=SimpleNamespace(sessions=sessions, settings=settings)))


def test_a_session_lives_on_the_server_expires_and_has_its_own_csrf_token(db):
    with db.begin() as s:
        key, _ = store.create_key(s, "甲", "supervisor")
    conn = _conn(db, session_max_hours=12, session_idle_minutes=120)
    value = session.issue(conn, key)
    start = datetime.now(UTC)
    web = session.verify(conn, value, start + timedelta(minutes=1))
    assert web.key.id == key.id and re.fullmatch(r"[0-9a-f]{32}", web.csrf)
    token = value.split(".", 1)[1]
    with db() as s:  # the database holds the token's hash only, never the token or the CSRF token
        [row] = s.query(StoredSession).all()
        assert row.token_hash == store.hash_key(token) and row.key_id == key.id
        assert token not in repr(row.__dict__) and web.csrf not in repr(row.__dict__)
        assert row.expires_at - row.created_at == timedelta(hours=12)
    assert session.verify(conn, value.replace(".", ".x", 1)) is None
    assert session.verify(conn, value[:-1] + ("A" if value[-1] != "A" else "B")) is None
    again = session.issue(conn, key)
    assert session.verify(conn, again).csrf != web.csrf  # a new login, a new token
    for junk in ("", "s1", "s1.", "v1.1.99999999999.n.s", "s1." + "x" * 43):
        assert session.verify(conn, junk) is None
    # idle for longer than the idle timeout: ended (and deleted)
    assert session.verify(conn, value, start + timedelta(minutes=121)) is None
    assert session.verify(conn, value) is None
    # used every hour, still ended by the absolute cap
    for hour in range(1, 12):
        assert session.verify(conn, again, start + timedelta(hours=hour)) is not None
    assert session.verify(conn, again, start + timedelta(hours=12, minutes=1)) is None
    # logout deletes the row; the same cookie value is then refused
    third = session.issue(conn, key)
    assert session.end(conn, third) is not None and session.verify(conn, third) is None
    assert session.end(conn, third) is None


# -- the call list and the dashboard over stored calls ------------------------------------------
def _store(sessions, pipeline, raw: bytes, name: str, uploader, sentiment: dict[int, dict] | None = None):
    """Store a call analysed by the pipeline; ``sentiment``: turn index → the rating the file carries
    (the pipeline keeps a file's own ratings, as for a JSON export with sentiment columns)."""
    transcript = parse_transcript(raw, name)
    for turn in transcript.turns:
        if sentiment and turn.index in sentiment:
            turn.sentiment = sentiment[turn.index]
    analysis = pipeline.analyze(transcript)
    with sessions.begin() as s:
        stored = store.save_transcript(s, analysis, uploaded_by=uploader.id, masked=False)
        return stored.id


@pytest.fixture
def stored_calls(db, pipeline):
    with db.begin() as s:
        key, _ = store.create_key(s, "主管", "supervisor")
    plain = _store(db, pipeline, EXAMPLE, "plain.txt", key)
    angry = _store(db, pipeline, XIAOLI, "angry.txt", key, {
        1: {"label": "neutral", "score": 0.8, "anger": False},
        3: {"label": "negative", "score": 0.9, "anger": True},
        5: {"label": "negative", "score": 0.6, "anger": False},
    })
    calm = _store(db, pipeline, XIAOLI.replace("这不是我的事，你去问快递员".encode(), "我马上帮您查".encode()),
                  "calm.txt", key, {1: {"label": "neutral", "score": 0.9}, 3: {"label": "positive", "score": 0.8},
                                     5: {"label": "positive", "score": 0.9}})
    if data.team_column() is not None:  # once transcripts store a team (see api/web/data.py)
        with db.begin() as s:
            for tid, team in ((plain, "二组"), (angry, "一组"), (calm, "一组")):
                s.get(StoredTranscript, tid).team = team
    return {"plain": plain, "angry": angry, "calm": calm}


def _ids(sessions, **query) -> list[str]:
    with sessions() as s:
        return [row.id for row in data.list_calls(s, data.CallFilter.from_query(query)).rows]


def test_the_call_list_filters_by_escalation_and_sorts_by_satisfaction_when_the_data_exists(db, stored_calls):
    plain, angry, calm = stored_calls["plain"], stored_calls["angry"], stored_calls["calm"]
    assert _ids(db, escalation="yes") == [angry]
    assert _ids(db, escalation="no") == [calm]  # the plain call has no sentiment: unknown, in neither
    assert _ids(db, sort="satisfaction_desc") == [calm, angry, plain]
    assert _ids(db, sort="satisfaction_asc") == [angry, calm, plain]  # calls without it last
    assert _ids(db, sort="flags_asc")[0] == calm
    assert set(_ids(db, agent="小李(客服)")) == {angry, calm}
    assert _ids(db, category="command") == [plain]
    assert set(_ids(db, category="refusal")) == {angry}
    if data.team_column() is None:  # the schema has no team yet: a team filter finds nothing
        assert _ids(db, team="一组") == []
    else:
        assert set(_ids(db, team="一组")) == {angry, calm} and _ids(db, team="二组") == [plain]
    today = date.today()
    assert len(_ids(db, date_from=today.isoformat(), date_to=today.isoformat())) == 3
    assert _ids(db, date_to=(today - timedelta(days=2)).isoformat()) == []
    with db() as s:
        rows = {r.id: r for r in data.list_calls(s, data.CallFilter()).rows}
    assert rows[plain].satisfaction is None and rows[plain].escalation is None and rows[plain].agent == "坐席"
    assert rows[angry].escalation is True and 0 <= rows[angry].satisfaction < rows[calm].satisfaction
    assert rows[angry].categories == {"refusal": 2} and rows[plain].score is not None


def test_the_call_list_pages(db, stored_calls):
    with db() as s:
        first = data.list_calls(s, data.CallFilter(), per_page=2)
        second = data.list_calls(s, data.CallFilter(page=2), per_page=2)
        beyond = data.list_calls(s, data.CallFilter(page=9), per_page=2)
    assert (first.total, first.pages, len(first.rows), len(second.rows)) == (3, 2, 2, 1)
    assert {r.id for r in first.rows + second.rows} == set(stored_calls.values())
    assert beyond.page == 2
    assert data.CallFilter(agent="坐席", page=2).query(page=3) == "agent=%E5%9D%90%E5%B8%AD&page=3"
    assert data.CallFilter.from_query({"page": "x", "sort": "nope", "date_from": "bad"}) == data.CallFilter()


def test_the_dashboard_figures(db, stored_calls):
    with db() as s:
        dash = data.dashboard(s)
        one = data.dashboard(s, agent="name:小李")
        by_name = data.dashboard(s, agent="小李")
    # one agent per call, grouped by agent key (analyzer.callmeta): the employee id the agent gives
    # (工号1024, speaker label 坐席), else the name in the label (小李(客服) → 小李)
    agents = {a.name: a for a in dash.agents}
    assert set(agents) == {"工号1024", "小李"}
    assert {a.key for a in dash.agents} == {"id:1024", "name:小李"}
    agents["坐席"] = agents["工号1024"]
    assert agents["坐席"].rate == 33.3 and agents["坐席"].categories == {"command": 1, "you_statement": 1}
    li = agents["小李"]
    assert by_name.selected == li
    assert (li.calls, li.agent_turns, li.flags, li.rate) == (2, 8, 2, 25.0)
    assert li.escalation_rate == 0.5 and len(li.satisfaction) == 2 and len(li.moods) == 6
    neg, neu, pos = li.mood_split
    assert (neg, neu, pos) == (2, 2, 2)
    assert agents["坐席"].mood_avg is None and agents["坐席"].satisfaction_avg is None
    assert dash.overall.calls == 3 and dash.overall.flags == 4
    assert dash.labels["greeting"]["zh"] and dash.overall.pass_rates()
    assert all(0 <= share <= 1 for _, share, _ in dash.overall.pass_rates())
    assert dash.bucket == "day" and dash.trend[-1][1] == round(100 * 4 / 14, 1)
    assert one.selected == li and one.trend[-1][1] == 25.0
    if data.team_column() is None:
        assert dash.teams == [] and not dash.teams_stored
    else:
        teams = {t.name: t for t in dash.teams}
        assert (teams["一组"].calls, teams["一组"].flags, teams["二组"].rate) == (2, 2, 33.3)


def test_escalation_and_mood_readers():
    assert data.escalation_of({}) is None
    assert data.escalation_of({"escalations": [], "satisfaction": None, "mood": []}) is None
    assert data.escalation_of({"escalations": [], "satisfaction": 0.7}) is False
    assert data.escalation_of({"escalations": [{"customer_turn": 3}]}) is True
    assert data.escalation_of({"escalations": 2}) is True
    assert data.mood_series({"mood": [{"turn": 1, "mood": -2, "anger": True}]}) == [(1, -1.0, True)]
    turns = [{"index": 0, "role": "customer", "sentiment": {"label": "positive", "score": 0.5}},
             {"index": 1, "role": "agent", "sentiment": None}]
    assert data.mood_series({}, turns) == [(0, 0.5, False)]
    assert data.mood_of({"probs": {"positive": 0.1, "negative": 0.7}}) == (pytest.approx(-0.6), False)
