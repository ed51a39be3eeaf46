"""A built wheel, installed without ``-e`` into a fresh virtual environment, runs from an unrelated
directory: ``huashu check``, ``analyze``, ``eval`` and ``serve`` find the corpora and the model
artefacts as package data, and the caches go to the user's cache directory, not the working one.

The wheel is built from a copy of the source tree (``pip wheel --no-deps --no-build-isolation``,
nothing written into the checkout). The fresh environment installs only the wheel; its third-party
dependencies come from the project's environment through a path entry (a ``.pth`` line naming that
``site-packages``: plain path, so the editable install's finder there is not activated), so the
test downloads nothing. ``analyzer`` and ``corpora`` are checked to come from the wheel.
"""
from __future__ import annotations

import json
import os
import shutil
import site
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

import httpx
import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("analyzer", "api", "models", "corpora")
LINE = json.dumps({"id": "u1", "text": "你必須先把資料傳過來"}, ensure_ascii=False) + "\n"


def _run(cmd: list[str], cwd: Path, env: dict[str, str], timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False)


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> dict:
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"
    src.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", "build", "dist")
    for name in PACKAGES:
        shutil.copytree(REPO / name, src / name, ignore=ignore)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, src / name)
    built = _run([sys.executable, "-m", "pip", "wheel", ".", "--no-deps", "--no-build-isolation", "-q",
                  "-w", str(tmp / "dist")], src, dict(os.environ))
    assert built.returncode == 0, built.stderr[-3000:]
    [wheel] = (tmp / "dist").glob("huashu-*.whl")

    venv = tmp / "venv"
    made = _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], tmp, dict(os.environ))
    assert made.returncode == 0, made.stderr
    python = venv / "bin" / "python"
    done = _run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--no-index", "-q",
                 str(wheel)], tmp, dict(os.environ))
    assert done.returncode == 0, done.stderr[-3000:]
    purelib = Path(_run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                        tmp, dict(os.environ)).stdout.strip())
    deps = site.getsitepackages()[0] if site.getsitepackages() else sysconfig.get_paths()["purelib"]
    (purelib / "zz_huashu_test_deps.pth").write_text(deps + "\n", encoding="utf-8")

    work = tmp / "elsewhere"  # an unrelated working directory
    work.mkdir()
    home = tmp / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("HUASHU_", "PYTHON", "VIRTUAL_ENV", "XDG_CACHE_HOME"))}
    env.update(HOME=str(home), PATH=f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}")
    return {"venv": venv, "python": python, "huashu": str(venv / "bin" / "huashu"), "work": work, "home": home,
            "env": env, "wheel": wheel}


def test_the_wheel_carries_the_data(installed):
    import zipfile

    names = set(zipfile.ZipFile(installed["wheel"]).namelist())
    for needed in ("corpora/categories.yaml", "corpora/scorecard.yaml", "corpora/handbook_phrases.yaml",
                   "corpora/lexicon/checks.yaml", "corpora/lexicon/handbook/command.yaml", "corpora/dev/dev.jsonl",
                   "models/trigger/trigger.json", "models/trigger/baseline/vocabulary.json",
                   "models/sentiment/sentiment.json", "api/web/templates/call.html"):
        assert needed in names, needed
    assert not any(n.startswith("corpora/") and n.endswith(".py") and n != "corpora/__init__.py" for n in names)
    where = _run([str(installed["python"]), "-c",
                  "import analyzer, corpora, models; print(analyzer.__file__, corpora.__file__, models.__file__)"],
                 installed["work"], installed["env"])
    assert where.returncode == 0, where.stderr
    assert all(p.startswith(str(installed["venv"])) for p in where.stdout.split()), where.stdout


def test_check_and_analyze_from_an_unrelated_directory(installed):
    work, env, huashu = installed["work"], installed["env"], installed["huashu"]
    (work / "one.jsonl").write_text(LINE, encoding="utf-8")
    first = _run([huashu, "check", "--no-model", "--sentiment", "none", "one.jsonl"], work, env)
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout)["flags"][0]["rule"] == "command.ni-bixu"
    cache = installed["home"] / ".cache" / "huashu" / "lexicon"
    assert "lexicon cache rebuilt" in first.stderr and str(cache) in first.stderr
    assert len(list(cache.glob("*.bin"))) == 1
    again = _run([huashu, "check", "--no-model", "--sentiment", "none", "one.jsonl"], work, env)
    assert again.returncode == 0 and again.stderr == "" and again.stdout == first.stdout

    shutil.copy2(REPO / "examples" / "call-0001.txt", work / "call.txt")
    analyzed = _run([huashu, "analyze", "call.txt", "--no-model", "--sentiment", "baseline"], work, env)
    assert analyzed.returncode == 0, analyzed.stderr
    result = json.loads(analyzed.stdout)
    turns = result.get("turns") or []
    assert any(t.get("flags") for t in turns)
    assert any(t.get("sentiment") for t in turns if t.get("role") == "customer")  # models/sentiment found

    evaluated = _run([huashu, "eval", "--no-model", "--format", "json"], work, env)  # corpora/dev, handbook phrases
    assert evaluated.returncode == 0, evaluated.stderr
    assert sorted(os.listdir(work)) == ["call.txt", "one.jsonl"]  # nothing written where it ran


def test_serve_from_an_unrelated_directory(installed):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    work = installed["work"] / "service"
    work.mkdir()
    log = work.parent / "serve.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([installed["huashu"], "serve", "--host", "127.0.0.1", "--port", str(port)],
                                cwd=work, env=installed["env"], stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline, answer = time.monotonic() + 180, None
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                answer = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
                break
            except httpx.HTTPError:
                time.sleep(0.5)
        assert answer is not None and answer.status_code == 200, log.read_text(errors="replace")[-3000:]
        assert answer.json()["status"] == "ok" and answer.json()["db"] == "ok"
        assert (work / "huashu.db").exists()  # the service's own files go where it was started
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()


def test_one_module_names_the_data_files():
    """Every path into corpora/ or the model artefacts comes from analyzer/resources.py, so the
    wheel and the checkout read the same files (no ``Path(__file__).parent.parent / "corpora"``)."""
    import re

    pattern = re.compile(r"""["']corpora["']|__file__\)?[^\n]*["'](corpora|trigger|sentiment)["']""")
    offenders = []
    for package in ("analyzer", "api", "models"):
        for path in (REPO / package).rglob("*.py"):
            if path.name != "resources.py" and pattern.search(path.read_text(encoding="utf-8")):
                offenders.append(str(path.relative_to(REPO)))
    assert offenders == []
