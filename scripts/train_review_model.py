#!/usr/bin/env python3
"""Train the learned review-comment signals and write the model Folio embeds.

A development tool, not part of the service. Reads the labelled corpus, asks the folio binary
for each comment's features (`folio review-signals --features`, so training and inference read
the same features), fits one logistic regression per signal on the TRAINING split only (the
test split is frozen by repository in split.json and never used for fitting or for choosing
settings), and writes:

  config/review-model.json                      the model, with the hashes of its inputs
  tests/data/review-corpus/evaluation.md        accuracy on the test split, kind confusion

Usage (from the repository root, after `cargo build`):
  pip install scikit-learn numpy
  python3 scripts/train_review_model.py [--folio target/debug/folio]

Settings are chosen on the training split only, by cross-validation grouped by repository:
every training comment gets an out-of-fold prediction, and the settings (regularisation, class
weights, the threshold under which a signal is "uncertain", the probability from which the
model's answer replaces the rules') are those that do best on the FRESH training comments:
those added after the rules were last written (after RULES_WRITTEN_FROM), so that the rules are
measured out of sample too. A signal goes to the model only when that beats the rules there
and the model does not get more of the guide's examples wrong than the rules do.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
from scipy.sparse import csr_matrix
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold

ROOT = Path(__file__).resolve().parent.parent
CORPUS_DIR = ROOT / "tests" / "data" / "review-corpus"
KINDS = [
    "approval_only", "nit_style", "question", "defect", "alternative",
    "test_request", "doc_request", "security", "praise_specific", "other",
]
BOOLS = ["has_rationale", "is_actionable", "proposes_alternative"]
MIN_DF = 2
C_GRID = [0.1, 0.3, 1.0, 3.0]
SEED = 20261204
# The rules' word lists were written from the corpus up to this comment. Later comments are
# fresh to them, so rules and model are compared on those alone: measured on the comments they
# were written from, the rules look better than they are.
RULES_WRITTEN_FROM = "c0671"
# From this probability up the model's answer replaces the rules'; 1.01 means never (the rules
# answer wherever the model is sure enough to answer at all), 0.0 means always.
OVERRIDE_GRID = [0.0, 0.5, 0.6, 0.7, 0.8, 0.9, 1.01]
# An answer is withheld ("uncertain") only where the model is least sure: at most this share.
MAX_UNCERTAIN = 0.05


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def featurize(folio: str, comments: list[dict]) -> list[list[str] | None]:
    lines = "".join(
        json.dumps({k: v for k, v in (("body", c["text"]), ("path", c.get("path")),
                                       ("diff_hunk", c.get("diff_hunk"))) if v is not None}) + "\n"
        for c in comments
    )
    out = subprocess.run([folio, "review-signals", "--features"], input=lines.encode(),
                         capture_output=True, check=True).stdout.decode()
    rows = [json.loads(line) for line in out.splitlines()]
    assert len(rows) == len(comments), "one features line per comment"
    return [r["features"] if r["judged"] else None for r in rows]


def target(signal: str, label: dict):
    if signal == "kind":
        return label.get("kind")
    if signal == "tone":
        return label.get("tone")
    if signal == "useful":
        u = label.get("usefulness")
        return {1: "false", 3: "true"}.get(u)
    v = label.get(signal)
    return None if v is None else ("true" if v else "false")


def rule_answer(signal: str, feats: list[str]):
    """What the rules decided, read back from the `r:` features."""
    fs = set(feats)
    if signal == "kind":
        return next((f[len("r:kind_"):] for f in feats if f.startswith("r:kind_")), None)
    if signal == "tone":
        return next((f[len("r:tone_"):] for f in feats if f.startswith("r:tone_")), None)
    if signal == "useful":
        return "true" if "r:useful_yes" in fs else "false" if "r:useful_no" in fs else None
    return "true" if f"r:{signal}" in fs else "false"


def matrix(feats: list[list[str]], vocab: dict[str, int]) -> csr_matrix:
    rows, cols = [], []
    for i, fs in enumerate(feats):
        for f in fs:
            j = vocab.get(f)
            if j is not None:
                rows.append(i)
                cols.append(j)
    return csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(feats), len(vocab)))


def fit(X, y, c: float, balanced: bool) -> LogisticRegression:
    model = LogisticRegression(C=c, max_iter=5000, class_weight="balanced" if balanced else None,
                               random_state=SEED)
    model.fit(X, y)
    return model


def probabilities(model, X) -> tuple[list[str], np.ndarray]:
    return [str(c) for c in model.classes_], model.predict_proba(X)


def out_of_fold(X, y, groups, c: float, balanced: bool):
    """Each comment's prediction by a model that never saw its repository."""
    n_splits = min(5, len(set(groups)))
    pred, prob = [None] * len(y), np.zeros(len(y))
    for tr, va in GroupKFold(n_splits=n_splits).split(X, y, groups):
        if len(set(y[tr])) < 2:
            continue
        m = fit(X[tr], y[tr], c, balanced)
        classes, p = probabilities(m, X[va])
        for k, i in enumerate(va):
            pred[i] = classes[p[k].argmax()]
            prob[i] = p[k].max()
    return pred, prob


def combine(pred, prob, rules, threshold: float, override: float):
    """What Folio answers: the model from the override up; under the threshold, where the
    model is unsure and the rules say otherwise, nothing ("uncertain"); the rules elsewhere."""
    return [p if pr >= override else (None if pr < threshold and p != r else r)
            for p, pr, r in zip(pred, prob, rules)]


def choose(X, y, groups, rules, fresh, multiclass: bool, guide):
    """Settings by out-of-fold predictions, scored on the fresh comments, among the settings
    under which Folio gets none of the guide's examples wrong that the rules get right.
    `guide` is (features matrix, wanted answers, the rules' answers) for the examples.

    The uncertain band is not a setting to win accuracy with (an answer withheld counts as
    wrong, so accuracy alone would always drop it): its threshold is the one that withholds
    at most MAX_UNCERTAIN of the fresh comments. Only where every setting with the band
    would withhold or miss one of the guide's examples is the band dropped."""
    Xg, want, rules_g = guide
    rules_wrong = {i for i, (r, w) in enumerate(zip(rules_g, want)) if r != w}
    fits = []
    for balanced in ([True, False] if multiclass else [False, True]):
        for c in C_GRID:
            pred, prob = out_of_fold(X, y, groups, c, balanced)
            fresh_probs = sorted(prob[i] for i in fresh)
            threshold = 0.0
            for t in np.arange(0.0, 0.95, 0.025):
                if sum(1 for p in fresh_probs if p >= t) / len(fresh_probs) >= 1 - MAX_UNCERTAIN:
                    threshold = round(float(t), 3)
            classes, pg = probabilities(fit(X, y, c, balanced), Xg)
            fits.append((c, balanced, threshold, pred, prob,
                         [classes[i] for i in pg.argmax(axis=1)], pg.max(axis=1)))
    best = None
    for with_band in (True, False):
        for c, balanced, t95, pred, prob, gpred, gprob in fits:
            threshold = t95 if with_band else 0.0
            for override in OVERRIDE_GRID:
                # Folio reads an override under the threshold as the threshold itself: score
                # and check what ships.
                override = max(override, threshold)
                g = combine(gpred, gprob, rules_g, threshold, override)
                if {i for i, (a, w) in enumerate(zip(g, want)) if a != w} - rules_wrong:
                    continue
                answers = combine(pred, prob, rules, threshold, override)
                score = float(np.mean([answers[i] == y[i] for i in fresh]))
                if best is None or score > best[0] + 1e-9:
                    best = (score, c, balanced, threshold, override)
        if best is not None:
            break
    rules_fresh = float(np.mean([rules[i] == y[i] for i in fresh]))
    if best is None:
        # Only the rules keep every example: the setting is recorded, the model not used.
        best = (rules_fresh, C_GRID[0], False, 0.0, 1.01)
    score, c, balanced, threshold, override = best
    return {"C": c, "balanced": balanced, "threshold": threshold,
            "override": override, "fresh_comments": len(fresh),
            "fresh_accuracy": round(score, 4), "rules_fresh_accuracy": round(rules_fresh, 4)}


def kappa(a: list, b: list) -> float | None:
    pairs = [(x, y) for x, y in zip(a, b) if x is not None and y is not None]
    if not pairs:
        return None
    n = len(pairs)
    po = sum(x == y for x, y in pairs) / n
    ca, cb = Counter(x for x, _ in pairs), Counter(y for _, y in pairs)
    pe = sum(ca[k] * cb.get(k, 0) for k in ca) / (n * n)
    return 1.0 if pe == 1 else (po - pe) / (1 - pe)


# The labelling guide's own examples with its answers: a model that contradicts the guide on
# these does not replace the rules, whatever its accuracy.
GUIDE_EXAMPLES = [
    ("LGTM, thanks!", {"kind": "approval_only", "has_rationale": "false",
                       "is_actionable": "false", "proposes_alternative": "false",
                       "tone": "empathetic", "useful": "false"}),
    ("`os.rename` won't overwrite on Windows, so the second run fails; use `os.replace`.",
     {"kind": "defect", "has_rationale": "true", "is_actionable": "true",
      "proposes_alternative": "true", "tone": "neutral", "useful": "true"}),
    ("Could we add a test for the empty input case?",
     {"kind": "test_request", "has_rationale": "false", "is_actionable": "true",
      "proposes_alternative": "false", "tone": "neutral"}),
    ("Why 30s here when the client default is 10s?",
     {"kind": "question", "has_rationale": "false", "is_actionable": "false",
      "proposes_alternative": "false", "tone": "neutral"}),
    ("This does a query per row (N+1); prefetch the authors with `select_related`.",
     {"kind": "defect", "has_rationale": "true", "is_actionable": "true",
      "proposes_alternative": "true", "tone": "neutral", "useful": "true"}),
    ("Please don't do this, it's pointless.",
     {"kind": "other", "has_rationale": "false", "is_actionable": "false",
      "proposes_alternative": "false", "tone": "harsh", "useful": "false"}),
    ("Two workers can both pass the check before either does `SELECT ... FOR UPDATE`, so the row "
     "is claimed twice.", {"kind": "defect", "has_rationale": "true", "is_actionable": "false",
                           "proposes_alternative": "false", "tone": "neutral",
                           "useful": "true"}),
    ("Use `pathlib.Path` here because `os.path.join` breaks on Windows drive letters.",
     {"has_rationale": "true", "is_actionable": "true", "proposes_alternative": "true"}),
    # The comments the project's issue gave with their labels by the guide.
    ("This will break on Windows because os.rename does not overwrite; use os.replace instead.",
     {"kind": "defect", "useful": "true"}),
    ("We already have a retry helper in utils/retry.py; could you reuse it here instead of a "
     "second backoff loop?", {"kind": "alternative"}),
    ("This runs one query per author inside the loop (N+1); prefetch them with "
     "select_related('author').", {"kind": "defect", "useful": "true"}),
    ("Two workers can both pass this check before either runs SELECT ... FOR UPDATE, so the row "
     "is claimed twice.", {"kind": "defect", "tone": "neutral", "useful": "true"}),
    ("Great work, the new Protocol makes the adapter boundary much clearer.",
     {"kind": "praise_specific", "tone": "empathetic"}),
    ("This is wrong.", {"kind": "other", "useful": "false"}),
    # The worked examples of the project's unit tests, each labelled by the guide.
    ("won't this overflow when n is 0?", {"kind": "defect", "useful": "true"}),
    ("won't this fail when `path` is empty?", {"kind": "defect", "useful": "true"}),
    ("This is wrong: `parse` returns the header, not the body.", {"kind": "defect"}),
    ("LGTM, but `parse()` should reject an empty header, otherwise we silently return None.",
     {"kind": "defect", "useful": "true", "has_rationale": "true", "is_actionable": "true",
      "proposes_alternative": "false"}),
    ("Oh great, another global variable. Genius.", {"kind": "other", "useful": "false"}),
    ("LGTM", {"kind": "approval_only", "useful": "false", "is_actionable": "false"}),
    ("LGTM 👍", {"kind": "approval_only", "useful": "false"}),
    ("Thanks for the fix!", {"kind": "approval_only", "useful": "false"}),
    ("Can you add a test for the empty list?", {"kind": "test_request", "useful": "true"}),
    ("Please document the new `timeout` parameter in the docstring.",
     {"kind": "doc_request", "useful": "true"}),
    ("This builds the SQL with an f-string from user input; use a parameterised query.",
     {"kind": "security", "useful": "true"}),
    ("Why not use `functools.cache` instead of the hand-written dict?",
     {"kind": "alternative", "useful": "true"}),
    ("nit: s/recieve/receive/", {"kind": "nit_style", "useful": "true"}),
    ("```suggestion\n    return sorted(items)\n```", {"kind": "nit_style", "useful": "true"}),
    ("Out of curiosity, why a matrix with a single version?",
     {"kind": "question", "useful": "false"}),
    ("Nice, the new error message for a bad config file reads much better.",
     {"kind": "praise_specific", "useful": "false"}),
    ("Looks like there are conflicts. Can you rebase?", {"kind": "other"}),
]


def guide_set(folio: str, vocab: dict[str, int], signal: str):
    """The guide's examples for one signal: features matrix, wanted answers, rules' answers.
    Each example is checked twice: as a comment in the conversation, and as an inline comment
    on a file (which the model reads as a feature of its own)."""
    rows = [(body, want[signal]) for body, want in GUIDE_EXAMPLES if signal in want]
    rows = rows + rows
    feats = featurize(folio, [{"text": body, "path": "src/example.py"} if i >= len(rows) // 2
                              else {"text": body} for i, (body, _) in enumerate(rows)])
    return (matrix(feats, vocab), [w for _, w in rows], [rule_answer(signal, f) for f in feats])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--folio", default=str(ROOT / "target" / "debug" / "folio"))
    ap.add_argument("--corpus-dir", default=str(CORPUS_DIR))
    ap.add_argument("--model", default=str(ROOT / "config" / "review-model.json"))
    args = ap.parse_args()
    corpus_dir = Path(args.corpus_dir)
    corpus_path, labels_path = corpus_dir / "comments.jsonl", corpus_dir / "labels.jsonl"
    split = json.loads((corpus_dir / "split.json").read_text())
    test_repos = set(split["test_repos"])

    comments = read_jsonl(corpus_path)
    labels = {l["id"]: l for l in read_jsonl(labels_path)}
    feats = featurize(args.folio, comments)
    items = [(c, labels[c["id"]], f) for c, f in zip(comments, feats)
             if c["id"] in labels and f is not None]
    train = [it for it in items if it[0]["repo"] not in test_repos]
    test = [it for it in items if it[0]["repo"] in test_repos]
    print(f"{len(items)} judged comments: {len(train)} train, {len(test)} test", file=sys.stderr)

    df = Counter(f for _, _, fs in train for f in set(fs))
    vocab_all = sorted(f for f, n in df.items() if n >= MIN_DF)
    vocab = {f: i for i, f in enumerate(vocab_all)}
    X_train = matrix([fs for _, _, fs in train], vocab)
    X_test = matrix([fs for _, _, fs in test], vocab)
    groups_train = np.array([c["repo"] for c, _, _ in train])

    signals, settings, report = {}, {}, {}
    for signal in ["kind", *BOOLS, "tone", "useful"]:
        idx = [i for i, (_, l, _) in enumerate(train) if target(signal, l) is not None]
        y = np.array([target(signal, train[i][1]) for i in idx])
        if len(set(y)) < 2:
            print(f"{signal}: one class only in training; left to the rules", file=sys.stderr)
            continue
        multiclass = len(set(y)) > 2
        rules = [rule_answer(signal, train[i][2]) for i in idx]
        fresh = [k for k, i in enumerate(idx) if train[i][0]["id"] > RULES_WRITTEN_FROM]
        guide = guide_set(args.folio, vocab, signal)
        chosen = choose(X_train[idx], y, groups_train[idx], rules, fresh, multiclass, guide)
        model = fit(X_train[idx], y, chosen["C"], chosen["balanced"])
        classes = [str(c) for c in model.classes_]
        # The model takes a signal only where, with the rules beside it, it beats the rules
        # on comments neither was fitted to.
        better = chosen["fresh_accuracy"] > chosen["rules_fresh_accuracy"] + 1e-9
        chosen["decided_by"] = "model" if better else "rules"
        pg = model.predict_proba(guide[0])
        answers = combine([classes[i] for i in pg.argmax(axis=1)], pg.max(axis=1), guide[2],
                          chosen["threshold"], chosen["override"])
        chosen["guide_examples_wrong"] = {
            "model": sum(a != w for a, w in zip(answers, guide[1])),
            "rules": sum(r != w for r, w in zip(guide[2], guide[1]))}
        newly_wrong = [i for i, (a, r, w) in enumerate(zip(answers, guide[2], guide[1]))
                       if a != w and r == w]
        if chosen["decided_by"] == "model" and newly_wrong:
            raise SystemExit(f"{signal}: the shipped settings get guide examples {newly_wrong} "
                             "wrong that the rules get right")
        print(f"{signal}: {chosen}", file=sys.stderr)
        coef = model.coef_
        bias = model.intercept_
        if signal == "kind":
            assert set(classes) <= set(KINDS), classes
        rows = []
        for j in range(coef.shape[1]):
            w = coef[:, j]
            if np.any(np.abs(w) >= 1e-4):
                rows.append([j, *[round(float(x), 5) for x in w]])
        settings[signal] = chosen
        tidx = [i for i, (_, l, _) in enumerate(test) if target(signal, l) is not None]
        yt = [target(signal, test[i][1]) for i in tidx]
        rules_pred = [rule_answer(signal, test[i][2]) for i in tidx]
        if chosen["decided_by"] == "rules":
            report[signal] = (yt, rules_pred, "rules")
            continue
        signals[signal] = {"classes": classes, "threshold": chosen["threshold"],
                           "override": chosen["override"],
                           "bias": [round(float(b), 5) for b in bias], "rows": rows}
        # The test split, once, after everything above was fixed.
        p = model.predict_proba(X_test[tidx]) if tidx else np.zeros((0, len(classes)))
        pred = combine([classes[i] for i in p.argmax(axis=1)], p.max(axis=1), rules_pred,
                       chosen["threshold"], chosen["override"])
        how = "model" if chosen["override"] <= chosen["threshold"] else \
            f"model from {chosen['override']:.2f}, rules under"
        report[signal] = (yt, pred, how)

    used = sorted({r[0] for s in signals.values() for r in s["rows"]})
    remap = {old: new for new, old in enumerate(used)}
    for s in signals.values():
        for r in s["rows"]:
            r[0] = remap[r[0]]
    model_json = {
        "format": 1,
        "corpus_sha256": sha256(corpus_path),
        "labels_sha256": sha256(labels_path),
        "split_sha256": sha256(corpus_dir / "split.json"),
        "settings": {"min_df": MIN_DF, "c_grid": C_GRID, "override_grid": OVERRIDE_GRID,
                     "max_uncertain": MAX_UNCERTAIN, "rules_written_from": RULES_WRITTEN_FROM,
                     "seed": SEED,
                     "train_comments": len(train), "per_signal": settings},
        "features": [vocab_all[i] for i in used],
        "signals": signals,
    }
    model_json["test_accuracy"] = {
        signal: round(sum(a == b for a, b in zip(yt, pred)) / len(yt), 4)
        for signal, (yt, pred, _) in report.items() if yt
    }
    Path(args.model).write_text(json.dumps(model_json, separators=(",", ":")) + "\n")
    write_evaluation(corpus_dir, report, train, test, settings)
    return 0


def write_evaluation(corpus_dir: Path, report: dict, train: list, test: list,
                     settings: dict) -> None:
    out = ["# Review-signal model: evaluation on the frozen test split", "",
           f"Training comments: {len(train)}; test comments: {len(test)} (repositories in",
           "`split.json`, never used for fitting or for choosing settings). An uncertain",
           "answer (under the signal's threshold) counts as wrong in accuracy; kappa is Cohen's",
           "kappa of the answers against the labels, over the answers given.", "",
           "| signal | decided by | test items | accuracy | decided (coverage) | accuracy where decided | kappa |",
           "|---|---|---|---|---|---|---|"]
    for signal, (yt, pred, by) in report.items():
        n = len(yt)
        decided = [(a, b) for a, b in zip(yt, pred) if b is not None]
        acc = sum(a == b for a, b in zip(yt, pred)) / n if n else 0
        dacc = sum(a == b for a, b in decided) / len(decided) if decided else 0
        k = kappa(yt, pred)
        kcell = "—" if k is None else f"{k:.2f}"
        out.append(f"| `{signal}` | {by} | {n} | {acc:.2f} | {len(decided) / max(n, 1):.2f} | "
                   f"{dacc:.2f} | {kcell} |")
    out += ["", "## How each signal was assigned (training split only)", "",
            f"Out-of-fold predictions (5 folds by repository) on the training split, scored on "
            f"the training comments after `{RULES_WRITTEN_FROM}`, which the rules were not "
            "written from. `override`: from this probability up the model's answer replaces the "
            "rules'; `threshold`: under it the answer is uncertain.", "",
            "| signal | fresh comments | rules | model with rules | threshold | override | "
            "guide examples wrong (Folio / rules) | decided by |",
            "|---|---|---|---|---|---|---|---|"]
    for signal, c in settings.items():
        g = c["guide_examples_wrong"]
        out.append(f"| `{signal}` | {c['fresh_comments']} | {c['rules_fresh_accuracy']:.2f} | "
                   f"{c['fresh_accuracy']:.2f} | {c['threshold']:.2f} | {c['override']:.2f} | "
                   f"{g['model']} / {g['rules']} | {c['decided_by']} |")
    if "tone" in report:
        yt, pred, _ = report["tone"]
        harsh_pred = [a for a, b in zip(yt, pred) if b == "harsh"]
        out += ["", f"Harsh predicted: {len(harsh_pred)}, of which "
                    f"{sum(a == 'harsh' for a in harsh_pred)} labelled harsh (Folio also needs the "
                    "rules' word before it says harsh)."]
    if "kind" in report:
        yt, pred, _ = report["kind"]
        labels = [k for k in KINDS if k in set(yt) | set(p for p in pred if p)]
        out += ["", "## `kind`: confusion (rows: label, columns: prediction; `?` uncertain)", "",
                "| label \\ predicted | " + " | ".join(labels) + " | ? | recall |",
                "|---" * (len(labels) + 3) + "|"]
        for a in labels:
            row = [sum(1 for x, y in zip(yt, pred) if x == a and y == b) for b in labels]
            unc = sum(1 for x, y in zip(yt, pred) if x == a and y is None)
            total = sum(1 for x in yt if x == a)
            out.append(f"| {a} | " + " | ".join(map(str, row)) + f" | {unc} | "
                       f"{(row[labels.index(a)] / total if total else 0):.2f} ({total}) |")
    agreement = corpus_dir / "agreement.md"
    if agreement.exists():
        out += ["", "Labelling agreement between the two passes: see `agreement.md`."]
    (corpus_dir / "evaluation.md").write_text("\n".join(out) + "\n")


if __name__ == "__main__":
    sys.exit(main())
