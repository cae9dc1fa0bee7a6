#!/usr/bin/env python3
"""SignalWire's own SWML examples, run as a user would: `swmld check`, then `swmld simulate`.

The documents are shared/swml-corpus/ (SignalWire's documentation examples and a set of
AI-written workflow examples, as published; their licence keeps them out of this repository):
its README gives each document's class against SignalWire's schema. For every document:

- `swmld check` gives the expected verdict: classes a and c are accepted, d rejected with a
  located `file:line:column: relay_script_*` message; b documents are judged one by one in
  EXPECT_CHECK below.
- every accepted document runs in `swmld simulate` (simulated time, HTTP answered only from
  tests/corpus/fixtures: nothing leaves the machine) within TIMEOUT_S, without a crash, and
  ends either at the end of the document (or a hangup step), or at a method swmld does not
  run yet with the documented "not supported" error. A few documents need input or name a
  placeholder URL; EXPECT_RUN lists them with the outcome and the reason.

The summary (counts, and the unsupported methods by how many documents use them) must match
the table between the corpus markers in docs/swml-coverage.md; CORPUS_UPDATE=1 rewrites it.

    run_corpus.py SWMLD [--corpus DIR] [--docs docs/swml-coverage.md] [-v]
"""
import argparse
import collections
import json
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
TIMEOUT_S = 20

# Documents whose check verdict is not given by their class (b, or a/c that are invalid).
EXPECT_CHECK = {
    # Snippets wrapped under `main` that jump to sections the snippet does not contain.
    "swclaude-wrapped__01.yaml": ("rejected", "relay_script_section_parameter_undefined"),
    "swdocs-wrapped__06.yaml": ("rejected", "relay_script_section_parameter_undefined"),
    # The pay page documents `description` (the older schema copy lacks it).
    "swdocs__095.yaml": ("accepted", None),
    # Class d against the older schema copy, but the current pages document these:
    # connect-level `codec`/`realtime`/`name` (connect page), `join_conference.stream`.
    "swdocs__068.yaml": ("accepted", None),
    "swdocs__084.yaml": ("accepted", None),
}

# What a rejection must say besides its code, for mistakes users make from these documents.
EXPECT_MESSAGE = [
    # `- say: …` means `play: "say:…"` (AI-written examples use it a lot).
    (r"unknown method 'say'", r'play: "say:'),
    # SignalWire's first page shows a messaging document (`reply`).
    (r"unknown method 'reply'", r"messaging SWML"),
]

# Documents that do not simply run to their end (or to an unsupported method) with no input:
# (extra simulate arguments, expected outcome, why). Outcomes: "end", "unsupported:<method>",
# "error:<code>".
EXPECT_RUN = {
    "swdocs__102.yaml": (["--dtmf", "1"], "end",
                         "asks again for ever while nothing is pressed (a caller hangs up)"),
    "swdocs__104.yaml": (["--dtmf", "1"], "end",
                         "asks again for ever while nothing is pressed (a caller hangs up)"),
    "swdocs__076.yaml": ([], "error:relay_script_method_execute_failed",
                         "executes the placeholder URL https://<YOUR_NGROK_UUID>.ngrok-free.app"),
}


def corpus_table(corpus):
    """file -> (class, [methods used]) from the corpus README."""
    rows = {}
    with open(os.path.join(corpus, "README.md"), encoding="utf-8") as f:
        for line in f:
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if len(cells) < 7 or not re.match(r"^sw[\w-]+__\d+\.(yaml|json)$", cells[0]):
                continue
            uses = [] if cells[5].startswith("(") else [u.strip() for u in cells[5].split(",") if u.strip()]
            rows[cells[0]] = (cells[1], uses)
    return rows


def supported_methods(docs_path):
    """The methods docs/swml-coverage.md marks `supported` (its method table)."""
    methods = set()
    with open(docs_path, encoding="utf-8") as f:
        for line in f:
            m = re.match(r"^\| (`[^|]+`) \| supported \|", line)
            if m:
                methods.update(re.findall(r"`([a-z_]+)`", m.group(1)))
    return methods


def run(cmd, cwd):
    try:
        p = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=TIMEOUT_S,
                           errors="replace")
    except subprocess.TimeoutExpired:
        return None
    return p


def check(swmld, corpus, name):
    p = run([swmld, "check", name], corpus)
    if p is None:
        return "hang", ""
    if p.returncode < 0:
        return "crash", p.stderr
    return ("accepted" if p.returncode == 0 else "rejected"), p.stderr


def simulate(swmld, corpus, name, extra):
    fixtures = os.path.join(HERE, "fixtures")
    p = run([swmld, "simulate", "--http-fixture", fixtures] + extra + [name], corpus)
    if p is None:
        return "hang", None
    if p.returncode < 0:
        return "crash", p.stderr[-500:]
    lines = [json.loads(l) for l in p.stdout.splitlines() if l.startswith("{")]
    end = lines[-1] if lines and lines[-1].get("action") == "end" else None
    if end is None:
        return "no end line", p.stdout[-500:] + p.stderr[-500:]
    err = end.get("error")
    if not err:
        return "end", end
    m = re.search(r"method '([a-z_]+)' is not supported by swmld yet", err["message"])
    if m and err["code"] == "relay_script_method_execute_failed":
        return "unsupported:" + m.group(1), end
    return "error:" + err["code"], end


def summary(results, table, supported):
    n = len(results)
    acc = [r for r in results if r["check"] == "accepted"]
    rej = n - len(acc)
    ends = sum(1 for r in acc if r["run"] == "end")
    stops = collections.Counter(r["run"].split(":", 1)[1] for r in acc if r["run"].startswith("unsupported:"))
    others = [r for r in acc if r["run"] != "end" and not r["run"].startswith("unsupported:")]
    uses = collections.Counter()
    for r in acc:
        for m in set(table[r["name"]][1]):
            if m not in supported:
                uses[m] += 1
    out = []
    out.append("| documents | count |")
    out.append("|---|---|")
    out.append(f"| in the corpus | {n} |")
    out.append(f"| accepted by `swmld check` | {len(acc)} |")
    out.append(f"| rejected by `swmld check` | {rej} |")
    out.append(f"| accepted, run by `swmld simulate` to the end | {ends} |")
    out.append(f"| accepted, stop at a method swmld does not run yet | {sum(stops.values())} |")
    out.append(f"| accepted, other outcome (listed below) | {len(others)} |")
    out.append("")
    out.append("Methods swmld does not run yet, by the number of accepted documents that use them "
               "(and how many runs stop at each):")
    out.append("")
    out.append("| method | documents using it | runs stopping there |")
    out.append("|---|---|---|")
    for m, c in sorted(uses.items(), key=lambda kv: (-kv[1], kv[0])):
        out.append(f"| `{m}` | {c} | {stops.get(m, 0)} |")
    given = [r for r in acc if EXPECT_RUN.get(r["name"], ([],))[0]]
    if given:
        out.append("")
        out.append("Run with input (they wait for it):")
        out.append("")
        for r in given:
            extra, _, why = EXPECT_RUN[r["name"]]
            out.append(f"- `{r['name']}`: `{' '.join(extra)}`: {r['run']} ({why})")
    if others:
        out.append("")
        out.append("Other outcomes:")
        out.append("")
        for r in others:
            why = EXPECT_RUN.get(r["name"], (None, None, ""))[2]
            out.append(f"- `{r['name']}`: {r['run']} ({why})")
    return "\n".join(out) + "\n"


BEGIN = "<!-- corpus-summary:begin (tests/corpus/run_corpus.py writes this) -->\n"
END = "<!-- corpus-summary:end -->\n"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("swmld")
    ap.add_argument("--corpus", default=os.environ.get(
        "SWMLD_CORPUS", os.path.join(os.path.dirname(ROOT), "shared", "swml-corpus")))
    ap.add_argument("--docs", default=os.path.join(ROOT, "docs", "swml-coverage.md"))
    ap.add_argument("-v", "--verbose", action="store_true")
    a = ap.parse_args()
    swmld = os.path.abspath(a.swmld)
    if not os.path.isfile(os.path.join(a.corpus, "README.md")):
        print(f"corpus not found at {a.corpus} (set SWMLD_CORPUS)")
        return 1
    table = corpus_table(a.corpus)
    files = sorted(f for f in os.listdir(a.corpus) if f in table)
    missing = sorted(set(table) - set(files))
    supported = supported_methods(a.docs)
    failures = []
    results = []
    if missing:
        failures.append(f"README lists files that are not there: {missing}")
    if len(supported) < 10:
        failures.append(f"could not read the supported methods from {a.docs}: {sorted(supported)}")
    for name in files:
        cls, uses = table[name]
        verdict, err = check(swmld, a.corpus, name)
        want, code = EXPECT_CHECK.get(name, ("accepted" if cls in ("a", "c") else "rejected", None))
        r = {"name": name, "class": cls, "check": verdict, "run": "-"}
        results.append(r)
        if verdict != want:
            failures.append(f"{name} (class {cls}): check {verdict}, expected {want}: {err.strip()[:300]}")
            continue
        if verdict == "rejected":
            first = err.strip().splitlines()[0] if err.strip() else ""
            if not re.match(re.escape(name) + r":\d+:\d+: relay_script_[a-z_]+: .{8,}", first):
                failures.append(f"{name}: rejection without a located message: {first[:300]!r}")
            elif code and code not in err:
                failures.append(f"{name}: rejected without {code}: {first[:300]}")
            for when, must in EXPECT_MESSAGE:
                if re.search(when, first) and not re.search(must, first):
                    failures.append(f"{name}: {first[:200]!r} should say {must!r}")
            if a.verbose:
                print(f"{name}: rejected: {first[:160]}")
            continue
        extra, want_run, _ = EXPECT_RUN.get(name, ([], None, ""))
        outcome, detail = simulate(swmld, a.corpus, name, extra)
        r["run"] = outcome
        if outcome in ("hang", "crash", "no end line"):
            failures.append(f"{name}: simulate: {outcome}: {detail}")
        elif want_run is not None:
            if outcome != want_run:
                failures.append(f"{name}: simulate {outcome}, expected {want_run}: {json.dumps(detail)[:400]}")
        elif outcome.startswith("unsupported:"):
            method = outcome.split(":", 1)[1]
            if method in supported or method not in uses:
                failures.append(f"{name}: stopped at '{method}' (supported: {method in supported}; uses {uses})")
        elif outcome != "end":
            failures.append(f"{name}: simulate {outcome}: {json.dumps(detail)[:400]}")
        if a.verbose:
            print(f"{name}: {outcome}")

    text = summary(results, table, supported)
    with open(a.docs, encoding="utf-8") as f:
        docs = f.read()
    if BEGIN not in docs or END not in docs:
        failures.append(f"{a.docs} has no corpus summary markers")
    else:
        head, rest = docs.split(BEGIN, 1)
        current, tail = rest.split(END, 1)
        if current != text:
            if os.environ.get("CORPUS_UPDATE"):
                with open(a.docs, "w", encoding="utf-8") as f:
                    f.write(head + BEGIN + text + END + tail)
                print(f"rewrote the corpus summary in {a.docs}")
            else:
                failures.append("the corpus summary in docs/swml-coverage.md is out of date "
                                "(run with CORPUS_UPDATE=1):\n" + text)
    print(text)
    for f in failures:
        print("FAIL " + f)
    print(f"{len(files)} documents, {len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
