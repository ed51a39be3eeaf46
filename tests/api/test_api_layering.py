"""``api`` depends on ``analyzer``, never the reverse (at module level)."""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _module_level_imports(tree: ast.Module) -> list[str]:
    """Modules imported when the file is imported: top level, if/try/with blocks, class bodies."""
    found, todo = [], list(tree.body)
    while todo:
        node = todo.pop()
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append(node.module)
        elif not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            todo += [child for child in ast.iter_child_nodes(node) if isinstance(child, ast.stmt)]
    return found


def test_analyzer_never_imports_api_at_module_level():
    offenders = {
        path.name: mods
        for path in sorted((REPO / "analyzer").glob("*.py"))
        if (mods := [m for m in _module_level_imports(ast.parse(path.read_text(encoding="utf-8")))
                     if m == "api" or m.startswith("api.")])
    }
    assert offenders == {}


def test_importing_analyzer_and_its_cli_loads_no_api_fastapi_or_sqlalchemy():
    code = (
        "import sys, analyzer.cli, analyzer.engine, analyzer.privacy, analyzer.report\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('api', 'fastapi', 'sqlalchemy'))\n"
        "print(bad); sys.exit(1 if bad else 0)\n"
    )
    r = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=False, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr


def test_importing_the_app_module_needs_no_database_or_settings(tmp_path):
    code = (
        "import os; os.environ['HUASHU_DATABASE_URL'] = 'not-a-url'\n"
        "import api.app, api.deps, api.routes.suggest\n"   # settings are read in create_app, not here
        "print('ok')\n"
    )
    r = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=False, timeout=60,
                       env={"PYTHONPATH": str(REPO), "PATH": ""})
    assert r.stdout.strip() == "ok", r.stderr
    assert not list(tmp_path.iterdir())  # no huashu.db appeared
