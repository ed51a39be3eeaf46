"""The compiled lexicon, cached on disk so that a process starts in a fraction of a second.

Compiling the lexicon means: reading the YAML files, expanding every pattern into its literals
(~28,000) and normalising each with OpenCC, building the Aho-Corasick automaton over them, and
adding every literal to jieba's prefix dictionary so it stays one word. That takes ~2 s; loading
the result back takes ~0.2 s. ``compile_lexicon`` returns the three finished pieces (lexicon,
segmenter, matcher) and keeps them in one file of the cache directory::

    <cache>/lexicon/<key>.bin     the key: SHA-256 of FORMAT, the Python, Huashu, jieba, OpenCC
                                  and pyahocorasick versions, this module's sources and the
                                  bytes and names of every lexicon file (the handbook, checks.yaml,
                                  categories.yaml and the company files given with --lexicon or
                                  HUASHU_LEXICON)

A changed lexicon file or a changed source file gives a new key, so the cache is rebuilt, and the
rebuild says so once, in one line on stderr. An unreadable or damaged cache file is rebuilt too,
never an error; a cache directory that cannot be written only costs the time. The files are
written whole (a temporary file renamed), so processes starting together never read half a file,
and the most recently used ``KEEP`` of them are kept. A cache file is a pickle: it is read only
from the user's own cache directory, like the code itself.

``HUASHU_LEXICON_CACHE=false`` (``Config.lexicon_cache``) compiles in every process instead.
"""
from __future__ import annotations

import hashlib
import marshal
import os
import pickle
import struct
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from .lexicon import Lexicon, handbook_files, load_lexicon
from .matcher import Matcher
from .resources import CATEGORIES_FILE, CHECKS_FILE, default_cache_dir
from .segment import PrefixDict, Segmenter, TagTable, dictionary_tags

FORMAT = 5  # of the cache file; bump to force a rebuild
MAGIC = b"HUASHU-LEXICON\n"
_SEP = "\n"  # between the words of jieba's dictionary in the cache file
KEEP = 8  # cache files kept (one per set of lexicon files), the most recently used
# The code whose output the cache holds: a change in any of these rebuilds it.
_SOURCES = ("compiled.py", "lexicon.py", "normalize.py", "matcher.py", "segment.py")


@dataclass
class Compiled:
    lexicon: Lexicon
    segmenter: Segmenter  # initialised: jieba's prefix dictionary with the lexicon's words
    matcher: Matcher


def compile_lexicon(extra: Sequence[str | Path] = (), cache_dir: str | Path | None = None,
                    enabled: bool = True) -> Compiled:
    """The handbook lexicon plus the company files ``extra``, compiled, from the cache when it is
    current. ``cache_dir``: ``Config.cache_dir`` (None: ``resources.default_cache_dir()``);
    ``enabled``: ``Config.lexicon_cache``."""
    extra = tuple(extra)
    if not enabled:
        return build(extra)
    try:
        key = cache_key(extra)
    except OSError:  # a file that cannot be read: load_lexicon says which, in its words
        return build(extra)
    path = Path(cache_dir or default_cache_dir()) / "lexicon" / f"{key}.bin"
    compiled, damaged = _load(path, key)
    if compiled is not None:
        return compiled
    compiled = build(extra)
    saved = _save(path, key, compiled)
    where = path if saved else f"{path.parent} (不可写 / not writable)"
    if damaged:
        line = "词库缓存文件损坏，已重建 / the lexicon cache file was damaged: rebuilt"
    else:
        line = "词库或代码有变（或首次运行），已重建词库缓存 / lexicon or code changed (or first run): lexicon cache rebuilt"
    print(f"huashu: {line}: {where}", file=sys.stderr, flush=True)
    return compiled


def build(extra: Sequence[str | Path] = ()) -> Compiled:
    """Compile from the YAML files, without the cache."""
    lexicon = load_lexicon(tuple(extra))
    segmenter = Segmenter((p.literal for e in lexicon.entries for p in e.patterns), tags=dictionary_tags()).initialize()
    return Compiled(lexicon, segmenter, Matcher(lexicon, segmenter))


def lexicon_paths(extra: Iterable[str | Path] = ()) -> list[Path]:
    """Every file the compiled lexicon is made of, in the order they are read."""
    return [*handbook_files(), *(Path(p) for p in extra), CHECKS_FILE, CATEGORIES_FILE]


def cache_key(extra: Sequence[str | Path] = ()) -> str:
    """SHA-256 over the code version and the lexicon files (their names as given, and bytes)."""
    import ahocorasick
    import jieba
    import opencc

    h = hashlib.sha256()

    def add(*parts: object) -> None:
        for part in parts:
            data = part if isinstance(part, bytes) else str(part).encode("utf-8", "surrogatepass")
            h.update(struct.pack("<Q", len(data)) + data)

    add(FORMAT, sys.version, pickle.HIGHEST_PROTOCOL, _huashu_version())
    for module in (jieba, opencc, ahocorasick):
        file = Path(module.__file__ or "")
        stat = file.stat()
        add(module.__name__, getattr(module, "__version__", ""), file, stat.st_size, stat.st_mtime_ns)
    here = Path(__file__).resolve().parent
    for name in _SOURCES:
        add(name, (here / name).read_bytes())
    for path in lexicon_paths(extra):
        add(path, path.read_bytes())
    return h.hexdigest()


def _huashu_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("huashu")
    except PackageNotFoundError:
        return ""


# -- the file: MAGIC, the key, the pickle's length, the pickle (lexicon, automaton, words), the
#    length of jieba's prefix dictionary (_pack_freq) and it, then the dictionary's parts of
#    speech (_pack_tags, unpacked only when the rewriter first asks) --
def _load(path: Path, key: str) -> tuple[Compiled | None, bool]:
    """The cached pieces, or None and whether a file was there but could not be used."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None, False
    except OSError:
        return None, True
    try:
        head = MAGIC + key.encode() + b"\n"
        if not data.startswith(head):
            return None, True
        start = len(head) + 8
        (size,) = struct.unpack("<Q", data[len(head):start])
        view = memoryview(data)  # no copies of the ~15 MB
        lexicon, automaton, words = pickle.loads(view[start:start + size])
        at = start + size + 8
        (freq_size,) = struct.unpack("<Q", view[start + size:at])
        freq, total = _unpack_freq(view[at:at + freq_size])
        packed_tags = bytes(view[at + freq_size:])
        del view, data
        if not isinstance(lexicon, Lexicon) or not isinstance(freq, (dict, PrefixDict)) or not packed_tags:
            return None, True
        segmenter = Segmenter(words, state=(freq, total), tags=lambda: _unpack_tags(packed_tags)).initialize()
        compiled = Compiled(lexicon, segmenter, Matcher(lexicon, segmenter, automaton))
    except Exception:  # noqa: BLE001 - any damage (truncated, garbage, an old class): rebuild
        return None, True
    try:
        os.utime(path)  # recently used: kept when older files are pruned
    except OSError:
        pass
    return compiled, False


def _save(path: Path, key: str, compiled: Compiled) -> bool:
    import tempfile  # only when writing

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        blob = pickle.dumps((compiled.lexicon, compiled.matcher.automaton, compiled.segmenter.user_words),
                            protocol=pickle.HIGHEST_PROTOCOL)
        freq = _pack_freq(*compiled.segmenter.state())
        tags = _pack_tags(compiled.segmenter.tags)
        fd, tmp = tempfile.mkstemp(prefix=f".{key[:16]}-", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(MAGIC + key.encode() + b"\n" + struct.pack("<Q", len(blob)))
                f.write(blob)
                f.write(struct.pack("<Q", len(freq)) + freq)
                f.write(tags)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError:
        return False
    _prune(path.parent)
    return True


def _pack_freq(freq: dict[str, int], total: int) -> bytes:
    """jieba's prefix dictionary (~550,000 words and prefixes) as its sorted words joined in one
    string and their counts as an int64 array: read back as a ``segment.PrefixDict`` in a
    fraction of the time the dict takes to build (the largest cost of a cached start)."""
    from array import array

    if any(not w or _SEP in w for w in freq) or any(type(f) is not int for f in freq.values()):
        # (not in jieba's dictionary; kept exact all the same)
        return marshal.dumps((total, None, marshal.dumps(freq)))
    words = sorted(freq)
    return marshal.dumps((total, _SEP.join(words), array("q", (freq[w] for w in words)).tobytes()))


def _unpack_freq(data) -> tuple[dict[str, int] | PrefixDict, int]:
    from array import array

    total, words, counts = marshal.loads(data)
    if words is None:
        return marshal.loads(counts), total
    values = array("q")
    values.frombytes(counts)
    return PrefixDict(words.split(_SEP) if words else [], values), total


def _pack_tags(tags) -> bytes:
    """The dictionary's parts of speech as two newline-joined columns, sorted by word."""
    rows = sorted((w, t) for w, t in tags.items() if w and _SEP not in w and t and _SEP not in t)
    return marshal.dumps((_SEP.join(w for w, _ in rows), _SEP.join(t for _, t in rows)))


def _unpack_tags(data: bytes) -> TagTable:
    words, tags = marshal.loads(data)
    return TagTable(words.split(_SEP), tags.split(_SEP))


def _prune(folder: Path) -> None:
    """Keep the KEEP most recently used cache files."""
    try:
        files = sorted(folder.glob("*.bin"), key=lambda p: p.stat().st_mtime, reverse=True)
        for old in files[KEEP:]:
            old.unlink(missing_ok=True)
    except OSError:
        pass
