"""An analysed transcript as JSON (the shape of docs/interfaces.md), terminal text, or one HTML page."""
from __future__ import annotations

import html
from typing import Any

from .lexicon import load_categories
from .model import Flag, Transcript, Turn


def summary(t: Transcript) -> dict[str, Any]:
    from .mood import course

    agent, customer = len(t.agent_turns), len(t.customer_turns)
    flags = sum(len(turn.flags) for turn in t.turns)
    mood = course(t)  # analyzer/mood.py: the formula of satisfaction is documented there
    return {
        "agent_turns": agent,
        "customer_turns": customer,
        "flags": flags,
        "flags_per_100_agent_turns": round(100 * flags / agent, 1) if agent else 0.0,
        "satisfaction": mood["satisfaction"],  # None until customer turns carry sentiment
        "escalations": mood["escalations"],
        "mood": mood["series"],
    }


def scorecard(t: Transcript) -> dict[str, Any]:
    """The handbook scorecard (``analyzer/scorecard.py``, data in ``corpora/scorecard.yaml``)."""
    from .scorecard import score

    return score(t)


def to_dict(t: Transcript) -> dict[str, Any]:
    return {
        "source": t.source,
        "format": t.format,
        "encoding": t.encoding,
        "script": t.script,
        "turns": [turn.to_dict() for turn in t.turns],
        "scorecard": scorecard(t),
        "summary": summary(t),
    }


# -- terminal text -------------------------------------------------------------------------
_MARK_ON, _MARK_OFF, _DIM, _RESET = "\033[1;31m", "\033[0m", "\033[2m", "\033[0m"


def _marked(text: str, flags: list[Flag], color: bool) -> str:
    out, pos = [], 0
    for f in sorted(flags, key=lambda f: f.start):
        out.append(text[pos:f.start])
        out.append(f"{_MARK_ON}{f.text}{_MARK_OFF}" if color else f"【{f.text}】")
        pos = f.end
    out.append(text[pos:])
    return "".join(out)


def to_text(t: Transcript, color: bool = False) -> str:
    names = load_categories()
    dim = (lambda s: f"{_DIM}{s}{_RESET}") if color else (lambda s: s)
    s = summary(t)
    lines = [f"{t.source} · {t.format} · {t.encoding} · {t.script}"]
    width = max((len(turn.speaker) for turn in t.turns), default=0)
    for turn in t.turns:
        when = f"[{_clock(turn.start_time)}] " if turn.start_time is not None else ""
        lines.append(f"{turn.index:>3} {when}{turn.speaker:<{width}}  {_marked(turn.text, turn.flags, color)}")
        for f in turn.flags:
            cat = names[f.category].name_zh if f.category in names else f.category
            lines.append(f"      ⚑ {cat} {f.category} · {f.confidence:.2f} · {f.rule}")
            lines.append(dim(f"        {f.principle}"))
            lines.append(f"        → {f.rewrite}")
            if len(f.suggestions) > 1:
                lines.append(dim("        其他说法 / other wordings: " + " · ".join(f.suggestions[1:])))
    lines.append(
        f"坐席 {s['agent_turns']} 句 · 客户 {s['customer_turns']} 句 · 导火索 {s['flags']} 处 "
        f"({s['flags_per_100_agent_turns']} / 100 agent turns)"
    )
    return "\n".join(lines) + "\n"


def _clock(seconds: float | None) -> str:
    if seconds is None:
        return ""
    m, sec = divmod(int(seconds), 60)
    h, m = divmod(m, 60)
    return f"{h:02d}:{m:02d}:{sec:02d}"


# -- one self-contained HTML page ----------------------------------------------------------
_CSS = """
body{font-family:system-ui,"PingFang SC","Noto Sans CJK SC","Microsoft YaHei",sans-serif;margin:2rem auto;max-width:60rem;color:#222;line-height:1.6}
h1{font-size:1.3rem} .meta{color:#666} .turn{display:flex;gap:1rem;padding:.4rem 0;border-bottom:1px solid #eee}
.who{min-width:7rem;color:#555} .agent .who{color:#0b5394} .customer .who{color:#38761d}
.text{flex:1} mark{background:#fde2e1;border-bottom:2px solid #c0392b;padding:0 .1em}
.flag{margin:.3rem 0 .3rem 0;padding:.4rem .6rem;background:#fafafa;border-left:3px solid #c0392b;font-size:.9rem}
.flag .cat{font-weight:600} .flag .rw{color:#1e7e34} .summary{margin-top:1.5rem;padding:.6rem;background:#f3f6fa}
"""


def _turn_html(turn: Turn, names: dict) -> str:
    text, pos, parts = turn.text, 0, []
    for i, f in enumerate(sorted(turn.flags, key=lambda f: f.start)):
        parts.append(html.escape(text[pos:f.start]))
        parts.append(f'<mark id="t{turn.index}f{i}" title="{html.escape(f.category)}">{html.escape(f.text)}</mark>')
        pos = f.end
    parts.append(html.escape(text[pos:]))
    notes = []
    for f in turn.flags:
        cat = names[f.category].name_zh if f.category in names else f.category
        others = "".join(f"<li>{html.escape(s)}</li>" for s in f.suggestions[1:])
        notes.append(
            f'<div class="flag"><span class="cat">{html.escape(cat)} · {html.escape(f.category)}</span>'
            f" · {f.confidence:.2f} · <code>{html.escape(f.rule)}</code><br>{html.escape(f.principle)}<br>"
            f'建议 / suggested: <span class="rw">{html.escape(f.rewrite)}</span>'
            + (f"<ul>{others}</ul>" if others else "") + "</div>"
        )
    return (
        f'<div class="turn {html.escape(turn.role)}"><div class="who">{html.escape(turn.speaker)}</div>'
        f'<div class="text">{"".join(parts)}{"".join(notes)}</div></div>'
    )


def to_html(t: Transcript) -> str:
    names = load_categories()
    s = summary(t)
    body = "\n".join(_turn_html(turn, names) for turn in t.turns)
    return f"""<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>话术 Huashu · {html.escape(t.source)}</title>
<style>{_CSS}</style></head><body>
<h1>话术 Huashu · {html.escape(t.source)}</h1>
<p class="meta">{html.escape(t.format)} · {html.escape(t.encoding)} · {html.escape(t.script)}</p>
{body}
<div class="summary">坐席 / agent turns: {s['agent_turns']} · 客户 / customer turns: {s['customer_turns']} ·
导火索 / triggers: {s['flags']} ({s['flags_per_100_agent_turns']} / 100 agent turns)</div>
</body></html>
"""
