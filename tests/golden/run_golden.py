#!/usr/bin/env python3
"""Runs one golden test: a SWML document and the exact output `swmld` must print for it.

A case is <name>.yaml (or .json) beside <name>.expected. The .expected file starts with
header lines, then the expected output, compared line by line:

    # args: simulate --dtmf 1 --refer-outcome 202:486     (default: simulate)
    # exit: 0                                              (default: 0 for simulate, 1 for check)
    {"action":"answer"}
    ...

The command runs in the case's folder with the document's file name as its argument, so
positions read `name.yaml:3:7`. stdout and stderr are compared together (stderr after
stdout). Set GOLDEN_UPDATE=1 to rewrite the expectation from the actual output.
"""
import os
import shlex
import subprocess
import sys


def main() -> int:
    swmld, expected_path = os.path.abspath(sys.argv[1]), sys.argv[2]
    folder, base = os.path.split(expected_path)
    name = base[: -len(".expected")]
    doc = next((name + ext for ext in (".yaml", ".yml", ".json", ".swml")
                if os.path.exists(os.path.join(folder, name + ext))), None)
    if doc is None:
        print(f"no document for {expected_path}")
        return 2

    header, expected = [], []
    with open(expected_path, encoding="utf-8") as f:
        lines = f.read().splitlines()
    for i, line in enumerate(lines):
        if line.startswith("# ") and not expected and all(l.startswith("# ") for l in lines[:i]):
            header.append(line[2:])
        else:
            expected.append(line)
    opts = dict(h.split(":", 1) for h in header if ":" in h)
    args = shlex.split(opts.get("args", "simulate").strip())
    mode = args[0]
    want_exit = int(opts.get("exit", "1" if mode == "check" else "0"))

    cmd = [swmld, mode, doc] + args[1:]
    proc = subprocess.run(cmd, cwd=folder, capture_output=True, text=True, timeout=50)
    actual = (proc.stdout + proc.stderr).splitlines()

    if os.environ.get("GOLDEN_UPDATE"):
        with open(expected_path, "w", encoding="utf-8") as f:
            for h in header:
                f.write("# " + h + "\n")
            for line in actual:
                f.write(line + "\n")
        return 0

    ok = True
    if proc.returncode != want_exit:
        print(f"exit code {proc.returncode}, expected {want_exit}")
        ok = False
    if actual != expected:
        ok = False
        print("output differs:")
        import difflib
        for d in difflib.unified_diff(expected, actual, "expected", "actual", lineterm=""):
            print(d)
    print("command:", " ".join(shlex.quote(c) for c in cmd), "(in", folder + ")")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
