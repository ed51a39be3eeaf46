"""The handbook lexicon: trigger entries kept as data in ``corpora/lexicon/``.

``handbook/*.yaml`` hold the handbook's entries (one file per category), ``checks.yaml`` the
generic false-positive checks. A company's own file has the same format (``entries: [...]``) and
is loaded after them (``--lexicon FILE`` or ``HUASHU_LEXICON``). Each entry:

    id: command.ni-bixu            # <category>.<slug>, unique across all loaded files
    category: command              # an id from corpora/categories.yaml (= taxonomy.md)
    source: "000 三、避免下命令"     # where the handbook says it
    principle: "避免下命令：……"      # cited on every flag
    patterns: ["(你|您)必须……"]     # literal text; (a|b|) alternatives; a final …… is a slot
    catalysts: ["请您……", "麻烦您……"]  # best first; …… is where the slot's words go
    confidence: 0.95               # prior probability that a match is a real trigger
    slot: {min: 1, max: 30, not_start: ["的"]}   # constraints on every slot (optional)
    boundary: true                 # the span must not cut a dictionary word (default true)
    antipatterns: ["regex", ...]   # over the normalised text (Simplified, half-width punctuation,
                                   # not converted): a match overlapping one is dropped
    unless_followed_by: [next_step]  # dropped when a named follower (checks.yaml) comes next
    examples: [{text, span?, rewrite?}, ...]     # at least 3, each must yield this entry
    counter_examples: ["...", ...]               # at least 2 near misses, must yield nothing

Patterns and catalysts are normalised (Simplified, half-width) at load time, so entries may be
written in either script.
"""
from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from .model import HuashuError
from .normalize import normalize
from .resources import CATEGORIES_FILE, CHECKS_FILE, HANDBOOK_DIR, read_yaml

SLOT = "……"
_SLOT_RE = re.compile(r"…{1,2}|\.{3,6}")
_ALT_RE = re.compile(r"\(([^()]*)\)")
_ID_RE = re.compile(r"^[a-z_]+\.[a-z0-9][a-z0-9-]*$")


class LexiconError(HuashuError):
    pass


@dataclass(frozen=True)
class Category:
    id: str
    name_zh: str
    name_en: str
    section: str


@lru_cache(maxsize=1)
def load_categories() -> dict[str, Category]:
    data = read_yaml(CATEGORIES_FILE.read_text(encoding="utf-8"))
    return {c["id"]: Category(c["id"], c["name_zh"], c["name_en"], c["section"]) for c in data}


class Regex:
    """A checked regular expression that compiles on first use after a reload: the compiled
    lexicon is cached on disk (``analyzer.compiled``) and pickles it as its text, so a process
    that checks one line compiles only the few it needs, not all ~160."""

    __slots__ = ("pattern", "_compiled")

    def __init__(self, pattern: str, compiled: re.Pattern[str] | None = None):
        self.pattern = pattern
        self._compiled = compiled

    def __reduce__(self):
        return Regex, (self.pattern,)

    @property
    def compiled(self) -> re.Pattern[str]:
        if self._compiled is None:
            self._compiled = re.compile(self.pattern)
        return self._compiled

    def finditer(self, text: str):
        return self.compiled.finditer(text)

    def search(self, text: str):
        return self.compiled.search(text)

    @classmethod
    def checked(cls, pattern: str) -> Regex:
        """Compiled now, so a bad expression fails at load time (``re.error``)."""
        return cls(pattern, re.compile(pattern))


@dataclass(frozen=True)
class Pattern:
    """One expanded variant of an entry's pattern: a literal, optionally followed by a slot."""

    literal: str  # normalised
    tail_slot: bool  # a slot (the rest of the clause) must follow the literal


@dataclass(frozen=True)
class SlotRule:
    min: int = 1
    max: int = 30
    not_start: tuple[str, ...] = ()


@dataclass(frozen=True)
class Example:
    text: str
    span: str | None = None
    rewrite: str | None = None


@dataclass
class Entry:
    id: str
    category: str
    source: str
    principle: str
    patterns: list[Pattern]
    catalysts: list[str]  # as written (shown to users); SLOT marks where the slot's words go
    confidence: float
    slot: SlotRule
    boundary: bool
    antipatterns: list[Regex]
    examples: list[Example]
    counter_examples: list[str]
    file: str = ""

    span_covers_slot: bool = False  # a catalyst puts the slot's words elsewhere, so the span takes them
    unless_followed_by: tuple[str, ...] = ()  # names of checks.followers


@dataclass
class Checks:
    """Generic false-positive checks applied to every entry (the base file's ``checks``)."""

    quote_pairs: tuple[tuple[str, str], ...] = ()
    reported_speech: tuple[str, ...] = ()
    negators: tuple[str, ...] = ()
    clause_breaks: str = "。！？!?；;，,\n "
    followers: dict[str, Regex] = field(default_factory=dict)
    follow_window: int = 40
    trailing_particles: str = ""  # sentence-final particles a flag's span leaves out (你搞错了吧 → 你搞错了)

    def shown_end(self, text: str, start: int, end: int) -> int:
        """The end of the span [start, end) of ``text`` as shown: trailing particles left out,
        at least 2 characters kept (the lexicon's flags and the model's alike)."""
        while end - start > 2 and text[end - 1] in self.trailing_particles:
            end -= 1
        return end


@dataclass
class Lexicon:
    entries: list[Entry]
    checks: Checks
    files: list[str]

    def by_id(self) -> dict[str, Entry]:
        return {e.id: e for e in self.entries}


def expand(pattern: str) -> list[str]:
    """``(你|您)(是不是|)搞错了`` → every literal variant (an empty alternative = optional)."""
    parts = _ALT_RE.split(pattern)
    literal, options = parts[0::2], [p.split("|") for p in parts[1::2]]
    out = []
    for choice in itertools.product(*options):
        s = literal[0]
        for opt, lit in zip(choice, literal[1:]):
            s += opt + lit
        out.append(s)
    return out


def _norm(text: str) -> str:
    return normalize(text).text


def parse_pattern(variant: str, where: str) -> Pattern:
    pieces = _SLOT_RE.split(variant)
    if len(pieces) > 2 or pieces[0].strip() == "" or (len(pieces) == 2 and pieces[1] != ""):
        raise LexiconError(
            f"{where}: 模式须为“文字”或“文字……” / a pattern is a literal, optionally followed by one slot: {variant!r}"
        )
    return Pattern(_norm(pieces[0]), len(pieces) == 2)


def parse_catalysts(raw: list[Any], where: str) -> tuple[list[str], bool]:
    """Catalysts with the slot marked as SLOT, and whether the span must cover the slot.

    ``请您……`` (slot at the end) replaces only the trigger words. A catalyst that puts the slot
    elsewhere (``我这边没有权限……，不过……``) replaces the trigger and the slot's words together,
    so then every catalyst of the entry must contain the slot.
    """
    cats = [_SLOT_RE.sub(SLOT, str(c).strip()) for c in raw]
    if not cats:
        raise LexiconError(f"{where}: 没有交流催化剂 / no catalysts")
    if any(c.count(SLOT) > 1 for c in cats):
        raise LexiconError(f"{where}: 催化剂最多一个槽位 / a catalyst has at most one slot")
    covers = any(SLOT in c and not c.endswith(SLOT) for c in cats)
    if covers:
        if not all(SLOT in c for c in cats):
            raise LexiconError(f"{where}: 催化剂须都含槽位 / when one catalyst moves the slot, all must contain it")
        return cats, True
    return [c.removesuffix(SLOT) for c in cats], False


def _require(raw: dict[str, Any], key: str, kind: type, where: str) -> Any:
    if key not in raw:
        raise LexiconError(f"{where}: 缺少字段 / missing field '{key}'")
    value = raw[key]
    if not isinstance(value, kind):
        raise LexiconError(f"{where}: 字段 '{key}' 类型错误 / field '{key}' must be {kind.__name__}")
    return value


_ENTRY_KEYS = {
    "id", "category", "source", "principle", "patterns", "catalysts", "confidence", "slot",
    "boundary", "antipatterns", "unless_followed_by", "examples", "counter_examples",
}


def parse_entry(raw: Any, file: str, index: int) -> Entry:
    where = f"{file}: entry {index + 1}"
    if not isinstance(raw, dict):
        raise LexiconError(f"{where}: 条目必须是映射 / an entry must be a mapping")
    entry_id = _require(raw, "id", str, where)
    where = f"{file}: {entry_id}"
    unknown = set(raw) - _ENTRY_KEYS
    if unknown:
        raise LexiconError(f"{where}: 未知字段 / unknown fields {sorted(unknown)}")
    if not _ID_RE.match(entry_id):
        raise LexiconError(f"{where}: id 须为 <category>.<slug> / id must look like category.slug")
    category = _require(raw, "category", str, where)
    if category not in load_categories():
        raise LexiconError(f"{where}: 未知类别 / unknown category '{category}'")
    if not entry_id.startswith(category + "."):
        raise LexiconError(f"{where}: id 须以类别开头 / id must start with '{category}.'")
    raw_patterns = _require(raw, "patterns", list, where)
    patterns = [parse_pattern(v, where) for p in raw_patterns for v in expand(str(p))]
    if not patterns:
        raise LexiconError(f"{where}: 没有模式 / no patterns")
    catalysts, span_covers_slot = parse_catalysts(_require(raw, "catalysts", list, where), where)
    if span_covers_slot and not all(p.tail_slot for p in patterns):
        raise LexiconError(f"{where}: 催化剂引用槽位但模式没有槽位 / catalysts use a slot the patterns lack")
    confidence = float(raw.get("confidence", 0.9))
    if not 0 < confidence <= 1:
        raise LexiconError(f"{where}: confidence 须在 (0, 1] / confidence must be in (0, 1]")
    slot_raw = raw.get("slot") or {}
    slot = SlotRule(
        int(slot_raw.get("min", 1)), int(slot_raw.get("max", 30)),
        tuple(_norm(s) for s in slot_raw.get("not_start", ())),
    )
    try:
        antipatterns = [Regex.checked(a) for a in raw.get("antipatterns", [])]
    except re.error as exc:
        raise LexiconError(f"{where}: antipattern 正则错误 / bad antipattern regex: {exc}") from None
    examples = []
    for ex in _require(raw, "examples", list, where):
        if isinstance(ex, str):
            ex = {"text": ex}
        examples.append(Example(str(ex["text"]), ex.get("span"), ex.get("rewrite")))
    counter = [str(c) for c in _require(raw, "counter_examples", list, where)]
    if len(examples) < 3 or len(counter) < 2:
        raise LexiconError(
            f"{where}: 至少 3 个例句和 2 个反例 / needs at least 3 examples and 2 counter-examples"
        )
    return Entry(
        id=entry_id, category=category, source=str(raw.get("source", "")),
        principle=_require(raw, "principle", str, where), patterns=patterns, catalysts=catalysts,
        confidence=confidence, slot=slot, boundary=bool(raw.get("boundary", True)),
        antipatterns=antipatterns, examples=examples, counter_examples=counter, file=file,
        span_covers_slot=span_covers_slot,
        unless_followed_by=tuple(str(n) for n in raw.get("unless_followed_by", [])),
    )


def _parse_checks(raw: dict[str, Any]) -> Checks:
    pairs = tuple((p[0], p[-1]) for p in raw.get("quote_pairs", []))
    try:
        followers = {name: Regex.checked(rx) for name, rx in (raw.get("followers") or {}).items()}
    except re.error as exc:
        raise LexiconError(f"{CHECKS_FILE}: follower 正则错误 / bad follower regex: {exc}") from None
    return Checks(
        quote_pairs=pairs,
        reported_speech=tuple(_norm(s) for s in raw.get("reported_speech", [])),
        negators=tuple(_norm(s) for s in raw.get("negators", [])),
        followers=followers,
        follow_window=int(raw.get("follow_window", 40)),
        trailing_particles=_norm(str(raw.get("trailing_particles", ""))),
    )


def _read_yaml(path: Path) -> Any:
    try:
        return read_yaml(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise LexiconError(f"{path}: 无法读取词库 / cannot read lexicon: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark else ""
        raise LexiconError(f"{path}{line}: YAML 格式错误 / invalid YAML") from None


def read_file(path: Path) -> dict[str, Any]:
    data = _read_yaml(path)
    if not isinstance(data, dict) or not isinstance(data.get("entries"), list):
        raise LexiconError(f"{path}: 词库须含 entries 列表 / a lexicon file needs an 'entries' list")
    return data


def handbook_files() -> list[Path]:
    return sorted(HANDBOOK_DIR.glob("*.yaml"))


def load_lexicon(extra: list[str | Path] | tuple[str | Path, ...] = ()) -> Lexicon:
    """The handbook lexicon plus any company files (same format), in that order."""
    paths = [*handbook_files(), *[Path(p) for p in extra]]
    entries: list[Entry] = []
    seen: dict[str, str] = {}
    for path in paths:
        for i, raw in enumerate(read_file(path)["entries"]):
            entry = parse_entry(raw, str(path), i)
            if entry.id in seen:
                raise LexiconError(
                    f"{path}: {entry.id}: id 重复（已见于 {seen[entry.id]}） / duplicate id, also in {seen[entry.id]}"
                )
            seen[entry.id] = str(path)
            entries.append(entry)
    checks = _parse_checks(_read_yaml(CHECKS_FILE) or {})
    for entry in entries:
        unknown = set(entry.unless_followed_by) - set(checks.followers)
        if unknown:
            raise LexiconError(f"{entry.file}: {entry.id}: 未知 follower / unknown followers {sorted(unknown)}")
    return Lexicon(entries, checks, [str(p) for p in paths])
