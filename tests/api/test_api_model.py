"""The service's model switch (``HUASHU_MODEL``): uploads analysed by the fused system while the
live path stays on the lexicon, and a service that still serves when the model cannot load.

Each test starts its own real server (``huashu serve``); the model server loads the committed
artefact ``models/trigger/`` and the converted base in ``.cache/huashu`` (``make setup-train``; serving needs only the artefact).
"""
from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from api_support import Server, bearer, new_key, serve, upload

# Agent lines no lexicon entry holds (paraphrases); the model is expected to catch some of them.
PARAPHRASES = ["爱办不办，反正就这规定。", "这事不归我们这边管，找快递去。", "这我哪知道，你问别人去。",
               "谁让你不早说呢，现在晚了。", "规定就是规定我也没辙"]
CALL = "\n".join(["客户：我的快递三天了还没到。", *(f"坐席：{line}" for line in PARAPHRASES),
                  "坐席：你必须先提供订单号。"]).encode("utf-8")


@pytest.fixture(scope="module")
def uploads_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with serve(tmp_path_factory.mktemp("model-uploads"), {"HUASHU_MODEL": "uploads"}) as running:
        yield running


def test_health_says_the_model_is_loaded(uploads_server):
    health = httpx.get(uploads_server.url + "/healthz", timeout=30).json()
    assert health == {"status": "ok", "db": "ok", "model": "uploads", "model_status": "loaded"}


def test_uploads_get_model_flags_and_the_live_path_stays_on_the_lexicon(uploads_server):
    with httpx.Client(base_url=uploads_server.url, timeout=120) as http:
        supervisor = new_key(http, uploads_server.admin_key, "supervisor")[1]
        agent = new_key(http, uploads_server.admin_key, "agent")[1]
        r = upload(http, supervisor, data=CALL, name="paraphrases.txt")
        assert r.status_code == 201, r.text
        flags = [f for turn in r.json()["turns"] for f in turn["flags"]]
        model_only = [f for f in flags if f["source"] == "model"]
        assert model_only, flags  # something no lexicon entry holds was caught
        for f in model_only:  # a model-only hit still has a rule, suggestions and a rewrite
            assert f["rule"] and f["suggestions"] and f["rewrite"] != f["text"]
        assert any(f["source"] in ("lexicon", "lexicon+model") and f["text"] == "你必须" for f in flags)

        for line in PARAPHRASES:  # /v1/suggest answers from the lexicon alone under "uploads"
            r = http.post("/v1/suggest", json={"text": line}, headers=bearer(agent))
            assert r.status_code == 200, r.text
            assert all(f["source"] == "lexicon" for f in r.json()["flags"])


def test_a_model_that_cannot_load_leaves_the_service_on_the_lexicon(tmp_path):
    missing = tmp_path / "no-model-here"
    missing.mkdir()
    with serve(tmp_path, {"HUASHU_MODEL": "on", "HUASHU_MODEL_DIR": str(missing)}) as running:
        health = httpx.get(running.url + "/healthz", timeout=30).json()
        assert health["model"] == "on" and health["model_status"] == "unavailable"
        with httpx.Client(base_url=running.url, timeout=30) as http:
            agent = new_key(http, running.admin_key, "agent")[1]
            r = http.post("/v1/suggest", json={"text": "你必须先付款"}, headers=bearer(agent))
        assert r.status_code == 200
        assert [f["category"] for f in r.json()["flags"]] == ["command"]
        assert "the model is not available" in running.log.read_text(encoding="utf-8")
