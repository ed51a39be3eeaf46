"""``analyzer.resources.read_yaml``: libyaml's safe loader, read back exactly as PyYAML's
pure-Python safe loader reads it, for every YAML file Huashu ships."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from analyzer.resources import read_yaml

REPO = Path(__file__).resolve().parents[1]
FILES = sorted(p for folder in ("corpora", "api") for p in (REPO / folder).rglob("*.yaml"))


def test_there_are_yaml_files_to_read():
    assert len(FILES) >= 15


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(REPO)))
def test_each_file_reads_as_the_pure_python_loader_reads_it(path):
    assert read_yaml(path) == yaml.load(path.read_text(encoding="utf-8"), Loader=yaml.SafeLoader)


def test_unsafe_tags_are_refused():
    with pytest.raises(yaml.YAMLError):
        read_yaml("!!python/object/apply:os.system ['true']")
