"""The storage layer (``api.store`` over the Alembic-migrated schema), not via HTTP.

Runs on SQLite always, and on PostgreSQL too when ``HUASHU_TEST_POSTGRES_URL`` is set
(e.g. ``postgresql+psycopg://huashu:huashu@127.0.0.1:5432/huashu_test``); each run uses its
own PostgreSQL schema and drops it afterwards.
"""
from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from api_support import EXAMPLE
from sqlalchemy import event, inspect, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from analyzer.ingest import parse_transcript
from api import store
from api.db import alembic_config, create_db_engine, migrate, session_factory
from api.tables import Base

POSTGRES_URL = os.environ.get("HUASHU_TEST_POSTGRES_URL", "")
BACKENDS = [
    "sqlite",
    pytest.param("postgresql", marks=pytest.mark.skipif(
        not POSTGRES_URL, reason="HUASHU_TEST_POSTGRES_URL is not set")),
]


@pytest.fixture(scope="module", params=BACKENDS)
def sessions(request, tmp_path_factory) -> Iterator[sessionmaker[Session]]:
    if request.param == "sqlite":
        engine = create_db_engine(f"sqlite:///{tmp_path_factory.mktemp('storage') / 'huashu.db'}")
        drop = None
    else:
        schema = f"huashu_test_{uuid.uuid4().hex[:10]}"
        admin = create_db_engine(POSTGRES_URL)
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        engine = create_db_engine(POSTGRES_URL, connect_args={"options": f"-csearch_path={schema}"})
        drop = (admin, schema)
    migrate(engine)
    yield session_factory(engine)
    engine.dispose()
    if drop:
        admin, schema = drop
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(scope="module")
def analysed(pipeline):
    return pipeline.analyze(parse_transcript(EXAMPLE, "call-0001.txt"))


@pytest.fixture
def uploader(sessions) -> int:
    with sessions.begin() as session:
        key, _ = store.create_key(session, "uploader", "supervisor")
        return key.id


def test_migrated_schema_matches_the_tables(sessions):
    with sessions() as session:
        diff = compare_metadata(MigrationContext.configure(session.connection()), Base.metadata)
    assert diff == []
    tables = set(inspect(sessions.kw["bind"]).get_table_names())
    assert {"api_keys", "transcripts", "turns", "flags", "verdicts", "alembic_version"} <= tables


def test_migrating_again_changes_nothing(sessions):
    migrate(sessions.kw["bind"])
    with sessions() as session:
        head = ScriptDirectory.from_config(alembic_config()).get_current_head()
        assert session.scalar(text("SELECT version_num FROM alembic_version")) == head


def test_keys_store_only_the_hash(sessions):
    with sessions.begin() as session:
        key, plain = store.create_key(session, "小李", "agent")
        key_id = key.id
    with sessions() as session:
        row = session.execute(text("SELECT * FROM api_keys WHERE id = :i"), {"i": key_id}).mappings().one()
        assert plain not in [str(v) for v in row.values()]
        assert row["key_hash"] == store.hash_key(plain) and len(row["key_hash"]) == 64
        assert plain.startswith(row["prefix"])
        found = store.find_active_key(session, plain)
        assert found is not None and (found.name, found.role) == ("小李", "agent")
        assert found.created_at.tzinfo is not None
        assert store.find_active_key(session, plain + "x") is None
    with sessions.begin() as session:
        store.revoke_key(session, key_id)
    with sessions() as session:
        assert store.find_active_key(session, plain) is None
        assert store.get_key(session, key_id).revoked_at.tzinfo == UTC


def test_transcript_round_trip(sessions, analysed, uploader):
    transcript = analysed.transcript
    with sessions.begin() as session:
        stored_id = store.save_transcript(session, analysed, uploaded_by=uploader, masked=True).id
    with sessions() as session:
        stored = store.get_transcript(session, stored_id)
        assert stored.summary == analysed.summary and stored.scorecard == analysed.scorecard
        assert stored.call == analysed.call and stored.call["agent"]["employee_id"] == "1024"
        assert [t.text for t in stored.turns] == [t.text for t in transcript.turns]
        assert [t.start_time for t in stored.turns] == [t.start_time for t in transcript.turns]
        flags = [(f.start, f.end, f.text, f.rule, f.suggestions) for t in stored.turns for f in t.flags]
        assert flags == [(f.start, f.end, f.text, f.rule, f.suggestions) for t in transcript.turns for f in t.flags]
        assert stored.uploader.name == "uploader"
        page = store.list_transcripts(session, limit=1, offset=0)
        assert page.total >= 1 and page.items[0].id == stored_id


def test_a_later_verdict_from_the_same_key_replaces_the_earlier(sessions, analysed, uploader):
    transcript = analysed.transcript
    with sessions.begin() as session:
        stored = store.save_transcript(session, analysed, uploaded_by=uploader, masked=False)
        flag = next(f for t in stored.turns for f in t.flags)
        flag_id = flag.id
        one, _ = store.create_key(session, "one", "supervisor")
        two, _ = store.create_key(session, "two", "supervisor")
        store.set_verdict(session, flag, one, "confirmed", "对")
    with sessions.begin() as session:
        flag = store.get_flag(session, flag_id)
        store.set_verdict(session, flag, session.merge(one), "dismissed", None)
        store.set_verdict(session, flag, session.merge(two), "confirmed", None)
    with sessions() as session:
        got = {(v.key.name, v.verdict, v.note) for v in store.verdicts_of(session, flag_id)}
    assert got == {("one", "dismissed", None), ("two", "confirmed", None)}


def test_an_upload_failing_midway_leaves_no_rows(sessions, analysed, uploader):
    """The 5th turn breaks a NOT NULL constraint after the transcript and 4 turns were written."""
    transcript = analysed.transcript
    broken = parse_transcript(EXAMPLE, "broken.txt")
    broken.turns = [*transcript.turns]
    broken.turns[4] = type(broken.turns[4])(**{**vars(transcript.turns[4]), "role": None})
    with sessions() as session:
        before = store.row_counts(session)
    inserts: list[str] = []
    bind = sessions.kw["bind"]
    listener = lambda conn, cursor, statement, *rest: inserts.append(statement)
    event.listen(bind, "before_cursor_execute", listener)
    try:
        with pytest.raises(IntegrityError), sessions.begin() as session:
            store.save_transcript(session, replace(analysed, transcript=broken), uploaded_by=uploader, masked=False)
    finally:
        event.remove(bind, "before_cursor_execute", listener)
    written = [s for s in inserts if s.lstrip().upper().startswith("INSERT INTO TURNS")]
    assert len(written) >= 5  # four turns went in (and the fifth was tried) before the failure
    assert any(s.lstrip().upper().startswith("INSERT INTO TRANSCRIPTS") for s in inserts)
    with sessions() as session:
        assert store.row_counts(session) == before
