#!/usr/bin/env python3
"""Freeze the test split of the review corpus by repository.

Whole repositories go to test, so no repository has comments in both splits.
Repositories are visited in the order of the SHA-256 of their name (stable
across machines and Python versions, unlike `hash()`), and each is taken into
the test split when that brings the test share closer to the 30% target. The
result must land within 30% +/- 3% of the comments, otherwise the script fails
rather than write a split that breaks the rule.

Usage: scripts/review_corpus_split.py [--check]
  --check  verify that split.json matches what the rule gives today.
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


def main():
    comments = [json.loads(l) for l in (CORPUS / "comments.jsonl").read_text().splitlines() if l.strip()]
    counts = Counter(c["repo"] for c in comments)
    test, taken, total = choose(counts)
    out = {"rule": "repositories by sha256(name), greedily to 30% of comments",
           "test_repos": test}
    path = CORPUS / "split.json"
    if "--check" in sys.argv[1:]:
        frozen = json.loads(path.read_text())
        if frozen["test_repos"] != test:
            raise SystemExit("split.json differs from the rule applied to the corpus")
        print("split.json matches")
        return
    path.write_text(json.dumps(out, indent=1) + "\n")
    print(f"test: {len(test)} repositories, {taken}/{total} comments ({taken/total:.1%})")


if __name__ == "__main__":
    main()
