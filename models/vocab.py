"""The tagger's vocabulary: e5's 250,002 SentencePiece pieces cut down to those Chinese service text uses.

~96M of e5-small's 118M parameters are its embedding matrix, one row per piece, most of them for
scripts and words Huashu never sees. The tagger keeps, in the base's order (so ``<s>``, ``<pad>``,
``</s>``, ``<unk>`` stay ids 0–3):

- every piece made only of characters of Chinese text: CJK ideographs (with extension A and the
  compatibility block), CJK and full-width punctuation, general punctuation, the ``▁`` word mark,
  common emoji and symbols, ASCII (not other scripts' letters: é, ø, ü are left out);
- Latin pieces (ASCII letters, digits, signs) of at most ``MAX_LATIN`` characters: order numbers,
  ``OK``, ``App``, ``4G`` (longer English words are spelt from these).

Chinese text is cut into exactly the same pieces as before (a piece can only match characters
that are in the text, and every piece of those characters is kept), except runs of more than
``MAX_LATIN`` Latin letters or digits, which are spelt from shorter pieces (``Windows`` →
``Win`` ``dow`` ``s``); characters of other scripts become ``<unk>``, as characters outside e5's
vocabulary always were. The pruned
tokenizer is a ``tokenizers`` JSON file (Unigram model, the same normaliser and pre-tokeniser), so
serving needs neither torch nor transformers.
"""
from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

MAX_LATIN = 3  # characters (after the ▁ mark) of a kept ASCII-only piece
SPECIALS = 4  # <s> <pad> </s> <unk>

_CHINESE_RANGES = (
    (0x4E00, 0x9FFF), (0x3400, 0x4DBF), (0xF900, 0xFAFF), (0x20000, 0x2A6DF),  # ideographs
    (0x3000, 0x303F), (0xFF00, 0xFFEF), (0xFE30, 0xFE4F), (0x2000, 0x206F),  # punctuation, full-width
    (0x00A0, 0x00BF), (0x00D7, 0x00D7), (0x00F7, 0x00F7),  # Latin-1 signs (not its letters): ·, ×, ÷
    (0x2100, 0x21FF), (0x2460, 0x24FF), (0x25A0, 0x25FF),  # letter-like signs, arrows, ①, ■
    (0x2600, 0x27BF), (0x1F300, 0x1FAFF),  # symbols and emoji
)


def _chinese(ch: str) -> bool:
    o = ord(ch)
    return ch == "▁" or any(a <= o <= b for a, b in _CHINESE_RANGES)


def keeps(piece: str) -> bool:
    """Whether ``piece`` stays in the tagger's vocabulary."""
    if all(" " <= ch <= "~" or ch == "▁" for ch in piece):
        return len(piece.replace("▁", "")) <= MAX_LATIN
    return all(_chinese(ch) or " " <= ch <= "~" for ch in piece)


def kept_ids(tokenizer_json: dict[str, Any]) -> list[int]:
    """The base ids kept, ascending (the specials first)."""
    vocab = tokenizer_json["model"]["vocab"]
    return [i for i, (piece, _) in enumerate(vocab) if i < SPECIALS or keeps(piece)]


def pruned_tokenizer(tokenizer_json: dict[str, Any]) -> tuple[dict[str, Any], list[int]]:
    """The base tokenizer (its JSON) with only the kept pieces, and the kept base ids: new id ``k``
    is base id ``kept[k]`` (so the embedding matrix is ``base[kept]``)."""
    if tokenizer_json.get("model", {}).get("type") != "Unigram":
        raise ValueError("the base tokenizer is not a SentencePiece Unigram model")
    kept = kept_ids(tokenizer_json)
    out = copy.deepcopy(tokenizer_json)
    vocab = tokenizer_json["model"]["vocab"]
    out["model"]["vocab"] = [vocab[i] for i in kept]
    new_id = {old: new for new, old in enumerate(kept)}
    unk = tokenizer_json["model"].get("unk_id")
    out["model"]["unk_id"] = new_id[unk] if unk is not None else None
    out["added_tokens"] = [{**t, "id": new_id[t["id"]]} for t in out.get("added_tokens", []) if t["id"] in new_id]
    post = out.get("post_processor") or {}
    for special in (post.get("special_tokens") or {}).values():
        special["ids"] = [new_id[i] for i in special["ids"]]
    return out, kept


def write_pruned(base_tokenizer: str | Path, out: str | Path) -> list[int]:
    """Read the base ``tokenizer.json``, write the pruned one to ``out``; the kept base ids."""
    raw = json.loads(Path(base_tokenizer).read_text(encoding="utf-8"))
    pruned, kept = pruned_tokenizer(raw)
    Path(out).write_text(json.dumps(pruned, ensure_ascii=False), encoding="utf-8")
    return kept
