#!/usr/bin/env python3
"""Inter-annotator agreement between pass A and pass B of the review corpus.

Reads tests/data/review-corpus/labels_a.jsonl and labels_b.jsonl (same ids, one
JSON object per comment) and writes tests/data/review-corpus/agreement.md with,
per signal, Cohen's kappa, raw agreement and the number of disagreements.
`usefulness` is treated as nominal (unweighted kappa); a linearly weighted kappa
is reported beside it because the scale is ordinal.

A "## Rules decided when settling" section already present in agreement.md is
kept, so re-running the script does not lose it.

Usage: scripts/review_corpus_agree.py
"""
import json
import sys
from collections import Counter
from pathlib import Path

CORPUS = Path(__file__).resolve().parent.parent / "tests" / "data" / "review-corpus"
SIGNALS = ["kind", "has_rationale", "is_actionable", "references_code",
           "has_suggestion_block", "proposes_alternative", "tone", "usefulness"]
KEEP = "## Rules decided when settling"


def load(name):
    with open(CORPUS / name, encoding="utf-8") as f:
        rows = [json.loads(line) for line in f if line.strip()]
    return {r["id"]: r for r in rows}


def cohen_kappa(xs, ys):
    n = len(xs)
    po = sum(x == y for x, y in zip(xs, ys)) / n
    cx, cy = Counter(xs), Counter(ys)
    pe = sum(cx[c] * cy[c] for c in set(cx) | set(cy)) / (n * n)
    if pe == 1:
        return 1.0 if po == 1 else 0.0
    return (po - pe) / (1 - pe)


def weighted_kappa(xs, ys, cats):
    """Linearly weighted kappa for an ordinal scale."""
    n = len(xs)
    k = len(cats) - 1
    w = lambda a, b: abs(cats.index(a) - cats.index(b)) / k
    do = sum(w(x, y) for x, y in zip(xs, ys)) / n
    cx, cy = Counter(xs), Counter(ys)
    de = sum(cx[a] * cy[b] * w(a, b) for a in cats for b in cats) / (n * n)
    return 1.0 if de == 0 else 1 - do / de


def main():
    a, b = load("labels_a.jsonl"), load("labels_b.jsonl")
    if set(a) != set(b):
        sys.exit(f"id mismatch: only in A {sorted(set(a) - set(b))[:5]}, "
                 f"only in B {sorted(set(b) - set(a))[:5]}")
    # A comment not in English carries only has_suggestion_block: it is not judged.
    not_english = sorted(i for i in a if "kind" not in a[i] or "kind" not in b[i])
    ids = sorted(i for i in a if i not in set(not_english))
    lines = ["# Review corpus: agreement between pass A and pass B", "",
             f"{len(ids)} comments, each labelled independently in pass A and pass B "
             "by the guide /work/shared/review-labels.md (SPEC §3). Written by "
             "`scripts/review_corpus_agree.py`. "
             f"{len(not_english)} comments not in English are not judged and not counted.", "",
             "| signal | Cohen's kappa | raw agreement | disagreements |",
             "|---|---|---|---|"]
    disagree = {}
    for s in SIGNALS:
        xs = [a[i][s] for i in ids]
        ys = [b[i][s] for i in ids]
        k = cohen_kappa(xs, ys)
        raw = sum(x == y for x, y in zip(xs, ys)) / len(ids)
        d = [i for i in ids if a[i][s] != b[i][s]]
        disagree[s] = d
        lines.append(f"| `{s}` | {k:.3f} | {raw:.1%} | {len(d)} |")
    uw = weighted_kappa([a[i]["usefulness"] for i in ids],
                        [b[i]["usefulness"] for i in ids], [1, 2, 3])
    any_d = sum(1 for i in ids if any(a[i][s] != b[i][s] for s in SIGNALS))
    lines += ["", f"Linearly weighted kappa for `usefulness` (ordinal 1-3): {uw:.3f}.",
              f"Comments with at least one disagreement: {any_d} of {len(ids)}.", "",
              "## Confusion of `kind` (rows: A, columns: B)", ""]
    kinds = sorted({a[i]["kind"] for i in ids} | {b[i]["kind"] for i in ids})
    lines.append("| A \\ B | " + " | ".join(kinds) + " |")
    lines.append("|---" * (len(kinds) + 1) + "|")
    for ka in kinds:
        row = [sum(1 for i in ids if a[i]["kind"] == ka and b[i]["kind"] == kb) for kb in kinds]
        lines.append(f"| {ka} | " + " | ".join(str(c) for c in row) + " |")
    ends = json.loads((CORPUS / "split.json").read_text()).get("batch_ends", [])
    if ends:
        lines += ["", "## Per batch", "", "| batch | comments | " +
                  " | ".join(f"`{s}`" for s in SIGNALS) + " |", "|---" * (len(SIGNALS) + 2) + "|"]
        start = "c0000"
        for n, end in enumerate(ends, 1):
            part = [i for i in ids if start < i <= end]
            start = end
            cells = []
            for s in SIGNALS:
                k = cohen_kappa([a[i][s] for i in part], [b[i][s] for i in part])
                cells.append(f"{k:.2f}")
            lines.append(f"| {n} (to {end}) | {len(part)} | " + " | ".join(cells) + " |")
    lines += ["", "## Disagreeing ids per signal", ""]
    for s in SIGNALS:
        lines.append(f"- `{s}` ({len(disagree[s])}): " + (", ".join(disagree[s]) or "none"))
    out = CORPUS / "agreement.md"
    kept = ""
    if out.exists():
        old = out.read_text(encoding="utf-8")
        if KEEP in old:
            kept = "\n" + old[old.index(KEEP):]
    out.write_text("\n".join(lines) + "\n" + kept, encoding="utf-8")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
