"""Typographic variants folded, in one place: curly and straight quotes, dashes, ellipses,
no-break and invisible spaces. Words are matched (:mod:`assistant.lexical`), model quotes found
(:mod:`assistant.quotes`) and eval facts checked (:mod:`assistant.evaluation`) through the same table."""

from __future__ import annotations

import unicodedata

TYPOGRAPHY = {
    **dict.fromkeys("’‘‚‛′ʼ`", "'"),
    **dict.fromkeys("“”„‟″«»", '"'),
    **dict.fromkeys("‐‑‒–—―−", "-"),
    "…": "...",
    "\u00a0": " ",
    **dict.fromkeys("\u200b\u200c\u200d\ufeff\u00ad", ""),  # invisible: zero-width, soft hyphen
}
_TABLE = str.maketrans(TYPOGRAPHY)


def fold(text: str) -> str:
    """Case, width (NFKC) and typographic variants folded: ’ and ' or “ and \" compare equal."""
    return unicodedata.normalize("NFKC", text).translate(_TABLE).lower()


def fold_with_offsets(text: str) -> tuple[str, list[int]]:
    """``text`` with typographic variants folded and whitespace runs made one space, and for
    each character of the result the index in ``text`` it came from."""
    chars: list[str] = []
    where: list[int] = []
    for i, ch in enumerate(text):
        if ch.isspace():
            if chars and chars[-1] == " ":
                continue
            ch = " "
        for c in TYPOGRAPHY.get(ch, ch):
            if c == " " and chars and chars[-1] == " ":
                continue
            chars.append(c)
            where.append(i)
    # Spaces beside a dash are optional: "war—the" and "war - the" are the same quote.
    keep = [
        k for k, c in enumerate(chars)
        if not (c == " " and ((k > 0 and chars[k - 1] == "-") or (k + 1 < len(chars) and chars[k + 1] == "-")))
    ]
    return "".join(chars[k] for k in keep), [where[k] for k in keep]
