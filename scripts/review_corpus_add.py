#!/usr/bin/env python3
"""Append hand-transcribed review comments and their pass-A labels to the corpus.

Input is a staging file of blocks:

    @@@ <thread url> | <review_comment|review_body|conversation> [| <path>]
    <comment text, verbatim, any number of lines>
    %%% <kind> <rationale 0/1> <actionable 0/1> <code 0/1> <alternative 0/1> <tone> <usefulness 1-3>

or, for a comment not in English, `%%% lang=<code>` (labelled only for
has_suggestion_block). `has_suggestion_block` is never typed by hand: the guide
defines it exactly (a ```suggestion fence), so it is derived from the text.

Texts go to comments.jsonl and labels to labels_a.jsonl, so that a second
labelling pass can read the comments without seeing pass A.
"""
import json
import re
import sys
from pathlib import Path

CORPUS = Path(__file__).resolve().parent.parent / "tests" / "data" / "review-corpus"
KINDS = {
    "approval_only", "nit_style", "question", "defect", "alternative",
    "test_request", "doc_request", "security", "praise_specific", "other",
}
TONES = {"empathetic", "neutral", "harsh"}
SOURCES = {"review_comment", "review_body", "conversation"}
URL_RE = re.compile(r"^https://github\.com/([^/\s]+)/([^/\s]+)/(pull|issues)/\d+$")
SUGGESTION_RE = re.compile(r"^\s*`{3,}\s*suggestion\b", re.MULTILINE)


def load(path):
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def parse(text):
    blocks, cur = [], None
    for line in text.split("\n"):
        if line.startswith("@@@ "):
            if cur is not None:
                raise SystemExit(f"block without labels before: {line}")
            parts = [p.strip() for p in line[4:].split("|")]
            cur = {"header": parts, "lines": []}
        elif line.startswith("%%% "):
            if cur is None:
                raise SystemExit(f"labels without block: {line}")
            cur["labels"] = line[4:].split()
            blocks.append(cur)
            cur = None
        elif cur is not None:
            cur["lines"].append(line)
    if cur is not None:
        raise SystemExit("last block has no labels")
    return blocks


def main():
    comments_path = CORPUS / "comments.jsonl"
    labels_path = CORPUS / "labels_a.jsonl"
    comments = load(comments_path)
    seen = {(c["source_url"], c["text"]) for c in comments}
    next_id = len(comments) + 1
    new_c, new_l = [], []
    for arg in sys.argv[1:]:
        for b in parse(Path(arg).read_text()):
            url, source = b["header"][0], b["header"][1]
            m = URL_RE.match(url)
            if not m or source not in SOURCES:
                raise SystemExit(f"bad header: {b['header']}")
            body = "\n".join(b["lines"]).strip("\n")
            if not body.strip():
                raise SystemExit(f"empty text: {url}")
            if (url, body) in seen:
                continue
            seen.add((url, body))
            cid = f"c{next_id:04d}"
            next_id += 1
            rec = {"id": cid, "text": body, "source_url": url,
                   "repo": f"{m.group(1)}/{m.group(2)}", "source": source}
            if len(b["header"]) > 2 and b["header"][2]:
                rec["path"] = b["header"][2]
            lab = b["labels"]
            suggestion = bool(SUGGESTION_RE.search(body))
            if len(lab) == 1 and lab[0].startswith("lang="):
                rec["lang"] = lab[0][5:]
                new_l.append({"id": cid, "has_suggestion_block": suggestion})
            else:
                if len(lab) != 7:
                    raise SystemExit(f"bad labels {lab} for {url}")
                kind, r, a, c, p, tone, u = lab
                if kind not in KINDS or tone not in TONES or u not in "123":
                    raise SystemExit(f"bad labels {lab} for {url}")
                if any(x not in ("0", "1") for x in (r, a, c, p)):
                    raise SystemExit(f"bad booleans {lab} for {url}")
                rec["lang"] = "en"
                new_l.append({
                    "id": cid, "kind": kind, "has_rationale": r == "1",
                    "is_actionable": a == "1", "references_code": c == "1",
                    "has_suggestion_block": suggestion, "proposes_alternative": p == "1",
                    "tone": tone, "usefulness": int(u),
                })
            new_c.append(rec)
    with comments_path.open("a") as f:
        for rec in new_c:
            f.write(json.dumps(rec, ensure_ascii=False) + "\n")
    with labels_path.open("a") as f:
        for rec in new_l:
            f.write(json.dumps(rec, ensure_ascii=False) + "\n")
    total = load(comments_path)
    print(f"added {len(new_c)}; total {len(total)} comments, "
          f"{len({c['repo'] for c in total})} repositories")


if __name__ == "__main__":
    main()
