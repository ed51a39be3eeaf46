"""Supervisors' verdicts as extra training lines: ``huashu train --verdicts FILE``.

FILE is the web's verdicts export (``/web/verdicts.jsonl`` or ``/web/verdicts.csv``, the fields of
``api.web.data.EXPORT_FIELDS``): one row per verdict on a flag, plus one row per flag a reviewer
added (``verdict`` ``added``: a trigger the system missed). Per flag, the outcome is:
- ``dispute`` ``overturned`` → a false hit; ``upheld`` → a true one;
- else the flag's latest verdict (rows are in time order): ``confirmed`` or ``dismissed``;
- ``added`` → a true hit.
Per utterance (the agent's turn, normalised as the corpus is): if any of its flags is a true hit,
one positive line (label = that flag's category, ``span`` = its text; the first true flag in the
turn when several categories are confirmed); else, if a flag was dismissed, one negative line
(label ``none``: a hard negative the lexicon or model fired on).

The lines are training data only: their split is always ``train``, and a line whose text is in
the corpus's dev or test split or in the second held-out set is dropped (the evaluation sets stay
as they are); a line whose text is already in the corpus is dropped too (the corpus's own label
stands). A row that cannot be used is a one-line error naming the file and line.
"""
from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from analyzer.evaluate import NONE
from analyzer.lexicon import load_categories
from analyzer.model import HuashuError
from analyzer.normalize import normalize

from .data import Example

VERDICTS = ("confirmed", "dismissed", "added")
DISPUTES = ("", "open", "upheld", "overturned")
REQUIRED = ("flag_id", "utterance", "span", "category", "verdict")


@dataclass
class _Flag:
    first_line: int
    category: str
    span: str
    start: int | None
    outcome: str | None = None  # "true" | "false"


def read_rows(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, row) of a verdicts export, JSON Lines or CSV (by the first character)."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise HuashuError(f"{path}: 无法读取 / cannot read: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise HuashuError(f"{path}: 须为 UTF-8 / must be UTF-8") from None
    if text.lstrip().startswith("{"):
        for n, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                raise HuashuError(f"{path}:{n}: 不是 JSON / not JSON") from None
            if not isinstance(row, dict):
                raise HuashuError(f"{path}:{n}: 须为 JSON 对象 / must be a JSON object")
            yield n, row
        return
    reader = csv.DictReader(text.splitlines())
    if reader.fieldnames is None or any(f not in reader.fieldnames for f in REQUIRED):
        raise HuashuError(f"{path}:1: 表头须含 / the header needs {', '.join(REQUIRED)}")
    for row in reader:
        yield reader.line_num, row


def _unescape(value: Any) -> Any:
    """A CSV text cell the export wrote with a leading ' (against formulas) back to its text."""
    return value[1:] if isinstance(value, str) and value[:1] == "'" and value[1:2] in ("=", "+", "-", "@") else value


def _check(path: Path, n: int, row: dict[str, Any], categories: Iterable[str]) -> dict[str, Any]:
    row = {k: _unescape(v) for k, v in row.items()}
    for field in REQUIRED:
        if not isinstance(row.get(field), str) or (field != "span" and not row[field].strip()):
            raise HuashuError(f"{path}:{n}: 缺少 {field} / {field} is missing or not text")
    if row["verdict"] not in VERDICTS:
        raise HuashuError(f"{path}:{n}: verdict 须为 {'/'.join(VERDICTS)} / unknown verdict {row['verdict']!r}")
    if row["category"] not in categories:
        raise HuashuError(f"{path}:{n}: 未知类别 / unknown category {row['category']!r}")
    dispute = row.get("dispute") or ""
    if dispute not in DISPUTES:
        raise HuashuError(f"{path}:{n}: 未知申诉状态 / unknown dispute status {dispute!r}")
    if row["span"] and row["span"] not in row["utterance"]:
        raise HuashuError(f"{path}:{n}: span 不在 utterance 中 / span {row['span']!r} is not in the utterance")
    row["dispute"] = dispute
    return row


def verdict_examples(path: str | Path, held_out: Iterable[str] = (), known: Iterable[str] = ()) -> list[Example]:
    """The training lines of one verdicts export. ``held_out``: normalised texts of every
    evaluation set (dev, test, the second held-out set): lines equal to one are dropped;
    ``known``: normalised texts already in the training data: dropped too."""
    path = Path(path)
    categories = set(load_categories())
    flags: dict[str, _Flag] = {}
    turns: dict[tuple[str, str], list[str]] = {}  # (transcript, turn or utterance) -> flag ids, in order
    texts: dict[tuple[str, str], str] = {}
    for n, raw in read_rows(path):
        row = _check(path, n, raw, categories)
        fid = row["flag_id"]
        turn = (str(row.get("transcript_id") or ""), str(row.get("turn_index") or row["utterance"]))
        if fid not in flags:
            start = row.get("start")
            flags[fid] = _Flag(n, row["category"], row["span"], int(start) if str(start or "").isdigit() else None)
            turns.setdefault(turn, []).append(fid)
            texts[turn] = row["utterance"]
        flag = flags[fid]
        if row["dispute"] == "overturned":
            flag.outcome = "false"
        elif row["dispute"] == "upheld" or row["verdict"] == "added":
            flag.outcome = "true"
        elif flag.outcome is None or row["dispute"] in ("", "open"):
            flag.outcome = "true" if row["verdict"] == "confirmed" else "false"
    held = set(held_out)
    seen = set(known)
    out: list[Example] = []
    for turn, ids in turns.items():
        text = normalize(texts[turn]).text
        if not text.strip() or text in held or text in seen:
            continue
        true = sorted((flags[i] for i in ids if flags[i].outcome == "true"),
                      key=lambda f: (f.start if f.start is not None else 1 << 30, f.first_line))
        false = [flags[i] for i in ids if flags[i].outcome == "false"]
        if true:
            first = true[0]
            label, span, kind, line = first.category, normalize(first.span).text, "verdict_confirmed", first.first_line
        elif false:
            label, span, kind, line = NONE, "", "verdict_dismissed", false[0].first_line
        else:
            continue
        seen.add(text)
        out.append(Example(
            id=f"verdict-{path.stem}-{line}", text=text, label=label, kind=kind, script="", style="",
            domain="", group=f"verdict-{turn[0]}-{turn[1]}", split="train", file=path.name, span=span,
        ))
    return out


def add_verdicts(examples: list[Example], files: Iterable[str | Path], held_out: Iterable[str] = ()) -> tuple[
        list[Example], dict[str, int]]:
    """``examples`` (the corpus) plus the lines of each verdicts file, never a text of the corpus's
    dev or test split or of ``held_out`` (the second held-out set, normalised); with a count per
    label of what was added."""
    evaluation = {e.text for e in examples if e.split in ("dev", "test")} | set(held_out)
    known = {e.text for e in examples}
    added: list[Example] = []
    for f in files:
        new = verdict_examples(f, evaluation, known)
        known |= {e.text for e in new}
        added += new
    counts: dict[str, int] = {}
    for e in added:
        counts[e.label] = counts.get(e.label, 0) + 1
    return [*examples, *added], counts
