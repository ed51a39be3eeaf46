"""The classifier's labelled data: ``corpora/classifier/*.jsonl``.

One agent utterance per line: ``id, text, label, kind, script, style, domain, group, split``
(``split`` ∈ train/dev/test, assigned per paraphrase ``group``). ``train`` trains, ``dev``
calibrates and chooses thresholds, ``test`` reports; ``corpora/dev/dev.jsonl`` is a second
held-out set, for reporting only (never trained or tuned on).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from analyzer.evaluate import Item
from analyzer.lexicon import CORPORA, load_categories
from analyzer.model import HuashuError

CLASSIFIER_DIR = CORPORA / "classifier"
SPLITS = ("train", "dev", "test")


@dataclass(frozen=True)
class Example:
    id: str
    text: str
    label: str
    kind: str
    script: str
    style: str
    domain: str
    group: str
    split: str
    file: str

    def item(self) -> Item:
        return Item(self.id, self.text, self.label, self.kind, self.script, self.style)


def corpus_files(folder: str | Path | None = None) -> list[Path]:
    return sorted(Path(folder or CLASSIFIER_DIR).glob("*.jsonl"))


def load_corpus(files: list[str | Path] | None = None) -> list[Example]:
    """Every line of ``files`` (default: all of ``corpora/classifier/``), checked; duplicates of a
    text keep their first occurrence."""
    paths = [Path(f) for f in files] if files else corpus_files()
    if not paths:
        raise HuashuError(f"{CLASSIFIER_DIR}: 没有训练数据 / no labelled data (*.jsonl)")
    labels = {"none", *load_categories()}
    out: list[Example] = []
    seen: set[str] = set()
    for path in paths:
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise HuashuError(f"{path}: 无法读取 / cannot read: {exc.strerror}") from None
        for n, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                r = json.loads(line)
                ex = Example(str(r.get("id", f"{path.stem}-{n}")), r["text"], r["label"], r.get("kind", ""),
                             r.get("script", ""), r.get("style", ""), r.get("domain", ""),
                             str(r.get("group", r.get("id", n))), r.get("split", "train"), path.name)
            except (json.JSONDecodeError, KeyError, TypeError, AttributeError):
                raise HuashuError(f"{path}:{n}: 须为含 text, label 的 JSON / needs JSON with text and label") from None
            if ex.label not in labels:
                raise HuashuError(f"{path}:{n}: 未知标签 / unknown label {ex.label!r}")
            if ex.split not in SPLITS:
                raise HuashuError(f"{path}:{n}: split 须为 train/dev/test / unknown split {ex.split!r}")
            if not isinstance(ex.text, str) or not ex.text.strip() or ex.text in seen:
                continue
            seen.add(ex.text)
            out.append(ex)
    return out


def split(examples: list[Example], name: str) -> list[Example]:
    return [e for e in examples if e.split == name]
