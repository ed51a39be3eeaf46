"""Screenshots of every web page, for docs/screenshots/: ``make screenshots`` (or
``.venv/bin/python tests/web/screenshots.py [--out DIR]``).

Starts the real server (``huashu serve`` over a fresh SQLite file, as the web tests do), uploads
the example calls (``examples/``) and one more, gives a few verdicts and a dispute through the
API so that the rules page has figures, then opens each page in Debian's Chromium (Playwright,
1280 px wide) and saves a PNG of it: calls, call, agents, rules, upload, live, and the disputes
and agent pages where the server has them. The PNGs are reduced to a 256-colour palette (Pillow)
to stay small. Chinese needs a CJK font for Chromium (Debian: fonts-noto-cjk); without one the
command says so and stops.
"""
from __future__ import annotations

import argparse
import io
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE)]  # real_server, web_support (tests/ is not a package)

import httpx
from real_server import REPO, bearer, serve
from web_support import CHROMIUM, CHROMIUM_ARGS, XIAOLI, new_key

OUT = REPO / "docs" / "screenshots"
WIDTH, MAX_HEIGHT = 1280, 1800
LIVE_TEXT = "你必须先把订单号发过来，这个不归我们管。"


def has_cjk_font() -> bool:
    if not shutil.which("fc-list"):
        return False
    found = subprocess.run(["fc-list", ":lang=zh", "family"], capture_output=True, text=True, check=False).stdout
    return bool(found.strip())


def prepare(http: httpx.Client, admin: str, database: str) -> dict:
    """Keys, calls, verdicts and a dispute: what the pages show."""
    keys = {who: new_key(http, admin, role, name) for who, role, name in (
        ("supervisor", "supervisor", "王主管"), ("analyst", "analyst", "赵分析"))}
    calls = []
    files = sorted(p for p in (REPO / "examples").iterdir() if p.suffix in (".txt", ".json", ".jsonl", ".csv"))
    for data, name in [(p.read_bytes(), p.name) for p in files] + [(XIAOLI, "xiaoli-0004.txt")]:
        r = http.post("/v1/transcripts", files={"file": (name, data)}, headers=bearer(keys["supervisor"]))
        if r.status_code == 201:
            calls.append(r.json())
        else:
            print(f"{name}: {r.status_code} {r.text[:200]}", file=sys.stderr)
    flags = [f for call in calls for turn in call["turns"] for f in turn["flags"]]
    for i, flag in enumerate(flags):  # most confirmed, every third dismissed
        verdict = "dismissed" if i % 3 == 2 else "confirmed"
        http.post(f"/v1/flags/{flag['id']}/verdict", json={"verdict": verdict}, headers=bearer(keys["supervisor"]))
    xiaoli = next((c for c in calls if c["source"].startswith("xiaoli")), None)
    agent_id = _agent_key(database, xiaoli["id"]) if xiaoli else None
    if agent_id:
        r = http.post("/v1/keys", json={"name": "小李", "role": "agent", "agent_id": agent_id}, headers=bearer(admin))
        if r.status_code == 201:
            keys["agent"] = r.json()["key"]
            mine = [f for turn in xiaoli["turns"] for f in turn["flags"]]
            if mine:
                http.post(f"/v1/flags/{mine[-1]['id']}/disputes", json={"comment": "客户要求我转给快递员，我只是告诉他怎么做。"},
                          headers=bearer(keys["agent"]))
    keys.setdefault("agent", new_key(http, admin, "agent", "新人小周"))
    return {"keys": keys, "calls": calls, "xiaoli": xiaoli}


def _agent_key(database: str, transcript_id: str) -> str | None:
    """The call's agent key as the upload stored it (the agent key of the dispute's author)."""
    db = sqlite3.connect(database.removeprefix("sqlite:///"))
    try:
        found = db.execute("SELECT agent_key FROM transcripts WHERE id = ?", (transcript_id,)).fetchone()
    finally:
        db.close()
    return found[0] if found else None


def small_png(png: bytes) -> bytes:
    """The screenshot as a 256-colour PNG (text pages lose nothing you can see)."""
    try:
        from PIL import Image
    except ImportError:
        return png
    image = Image.open(io.BytesIO(png)).convert("RGB")
    out = io.BytesIO()
    image.quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(out, format="PNG", optimize=True)
    return out.getvalue()


def shoot(page, path: Path) -> int:
    height = min(MAX_HEIGHT, page.evaluate("document.documentElement.scrollHeight"))
    page.set_viewport_size({"width": WIDTH, "height": max(600, height)})
    data = small_png(page.screenshot(clip={"x": 0, "y": 0, "width": WIDTH, "height": max(600, height)}))
    path.write_bytes(data)
    return len(data)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT, help=f"where the PNGs go (default {OUT.relative_to(REPO)})")
    args = parser.parse_args(argv)
    if not CHROMIUM.exists():
        print(f"screenshots: {CHROMIUM} is missing (apt-get install -y chromium)", file=sys.stderr)
        return 2
    if not has_cjk_font():
        print("screenshots: no CJK font for Chromium, the Chinese would show as boxes "
              "(apt-get install -y fonts-noto-cjk)", file=sys.stderr)
        return 2
    from playwright.sync_api import sync_playwright

    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as home, serve(Path(home)) as server, \
            httpx.Client(base_url=server.url, timeout=60) as http:
        made = prepare(http, server.admin_key, server.database_url)
        keys, xiaoli = made["keys"], made["xiaoli"]
        shots = [  # (file, who, path, then)
            ("calls", "supervisor", "/web/calls", None),
            ("call", "supervisor", f"/web/calls/{xiaoli['id']}" if xiaoli else "/web/calls", None),
            ("agents", "analyst", "/web/agents", None),
            ("rules", "analyst", "/web/rules", None),
            ("upload", "supervisor", "/web/upload", None),
            ("live", "agent", "/web/live", "live"),
            ("disputes", "supervisor", "/web/disputes", None),
            ("agent-view", "agent", "/web/me", None),
        ]
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            try:
                for name, who, url, then in shots:
                    context = browser.new_context(base_url=server.url, viewport={"width": WIDTH, "height": 900})
                    page = context.new_page()
                    page.set_default_timeout(10000)
                    page.goto("/web/login")
                    page.fill("#key", keys[who])
                    page.click("button[type=submit]")
                    page.wait_for_url(re.compile(r"/web/(calls|live|me)"))
                    response = page.goto(url)
                    if response is None or response.status != 200:
                        print(f"{name}: {url} answered {response.status if response else 'nothing'}, no screenshot")
                        context.close()
                        continue
                    if then == "live":
                        page.fill("#live-input", LIVE_TEXT)
                        page.wait_for_selector("#live-tips > *", timeout=10000)
                    page.wait_for_load_state("networkidle")
                    size = shoot(page, args.out / f"{name}.png")
                    print(f"{name}: {url} → {args.out / (name + '.png')} ({size // 1024} KB)", flush=True)
                    context.close()
            finally:
                browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
