#!/usr/bin/env python3
"""Freeze the test split of the review corpus by repository.

Whole repositories go to test, so no repository has comments in both splits.
Repositories are visited in the order of the SHA-256 of their name (stable
across machines and Python versions, unlike `hash()`), and each is taken into
the test split when that brings the test share closer to the 30% target. The
result must land within 30% +/- 3% of the comments, otherwise the script fails
rather than write a split that breaks the rule.

The corpus grows in batches. A batch's split is frozen when the batch is added,
before anything is tuned on it: repositories that first appear in a batch are
split by the rule among themselves (on that batch's comments), and comments
added later to a repository already in the corpus follow its frozen side.
`split.json` lists each batch by its last comment id; `test_repos` is the
union over batches.

Usage: scripts/review_corpus_split.py [--check] [--new-batch]
  --check      verify that split.json matches what the rule gives today.
  --new-batch  freeze the comments added since the last batch as a new batch.
"""
import hashlib
import json
import sys
from collections import Counter
from pathlib import Path

CORPUS = Path(__file__).resolve().parent.parent / "tests" / "data" / "review-corpus"
TARGET = 0.30
TOLERANCE = 0.03


def repo_key(repo):
    return hashlib.sha256(repo.encode("utf-8")).hexdigest()


def choose(counts):
    total = sum(counts.values())
    goal = TARGET * total
    test, taken = [], 0
    for repo in sorted(counts, key=repo_key):
        n = counts[repo]
        if abs(taken + n - goal) < abs(taken - goal):
            test.append(repo)
            taken += n
    share = taken / total
    if abs(share - TARGET) > TOLERANCE:
        raise SystemExit(f"test share {share:.3f} is outside {TARGET}±{TOLERANCE}")
    return sorted(test), taken, total


def split(comments, batch_ends):
    """Test repositories, batch by batch; comments after the last batch end are ignored."""
    test, seen, start = set(), set(), 0
    report = []
    ids = [c["id"] for c in comments]
    for end in batch_ends:
        stop = ids.index(end) + 1
        batch = comments[start:stop]
        counts = Counter(c["repo"] for c in batch if c["repo"] not in seen)
        chosen, taken, total = choose(counts)
        test.update(chosen)
        seen.update(c["repo"] for c in batch)
        report.append((end, len(chosen), taken, total))
        start = stop
    return sorted(test), report


def main():
    comments = [json.loads(l) for l in (CORPUS / "comments.jsonl").read_text().splitlines() if l.strip()]
    path = CORPUS / "split.json"
    frozen = json.loads(path.read_text()) if path.exists() else {}
    ends = list(frozen.get("batch_ends", []))
    if "--new-batch" in sys.argv[1:] or not ends:
        if ends and ends[-1] == comments[-1]["id"]:
            raise SystemExit("no comments were added since the last batch")
        ends.append(comments[-1]["id"])
    test, report = split(comments, ends)
    out = {"rule": "per batch, repositories new in it by sha256(name), greedily to 30% of "
                   "their comments; later comments follow their repository's side",
           "batch_ends": ends,
           "test_repos": test}
    if "--check" in sys.argv[1:]:
        if frozen.get("test_repos") != test or frozen.get("batch_ends") != ends:
            raise SystemExit("split.json differs from the rule applied to the corpus")
        print("split.json matches")
        return
    path.write_text(json.dumps(out, indent=1) + "\n")
    in_test = sum(1 for c in comments if c["repo"] in set(test))
    for end, n, taken, total in report:
        print(f"batch to {end}: {n} new test repositories, {taken}/{total} of its new repositories' comments")
    print(f"test: {len(test)} repositories, {in_test}/{len(comments)} comments ({in_test/len(comments):.1%})")


if __name__ == "__main__":
    main()
