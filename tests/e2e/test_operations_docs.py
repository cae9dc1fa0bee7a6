#!/usr/bin/env python3
"""docs/operations.md against a running swmld: the metrics table lists exactly the metric
families /metrics exposes, with their types and label names; the `refer_result` and
`config_reload` tables list exactly the fields of those log records. A failure names the
row to add or remove."""

import json
import os
import re
import signal
import urllib.request

import e2e
from e2e import SippUas, Swmld, case, run, sipp

DOC_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "docs",
                        "operations.md")
DOC = "docs/operations.md"

REFER_DOC = """version: 1.0.0
sections:
  main:
    - answer
    - sip_refer: {to_uri: "sip:alice@example.com"}
    - hangup
"""


def doc_table(heading):
    """The rows (lists of cells) of the first table after the line `heading`."""
    lines = open(DOC_PATH).read().splitlines()
    assert heading in lines, f"{DOC} has no heading {heading!r}"
    rows = []
    for line in lines[lines.index(heading) + 1:]:
        if line.startswith("|"):
            rows.append([c.strip() for c in line.strip().strip("|").split("|")])
        elif rows:
            break
    assert len(rows) > 2, f"{DOC}: no table under {heading!r}"
    return rows[2:]  # past the header and the |---| line


def codes(cell):
    """The `backticked` words of a cell."""
    return re.findall(r"`([^`]+)`", cell)


def documented_fields(heading):
    fields = set()
    for row in doc_table(heading):
        fields.update(codes(row[0]))
    return fields


def scrape(port):
    """{family: (type, {frozenset of label names of each series})} from /metrics."""
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    families = {}
    for line in text.splitlines():
        m = re.match(r"# TYPE (\S+) (\S+)$", line)
        if m:
            families[m.group(1)] = (m.group(2), set())
            continue
        if line.startswith("#") or not line:
            continue
        m = re.match(r"([a-z_]+)(?:\{(.*)\})? ", line)
        assert m and m.group(1) in families, f"series before its # TYPE line: {line}"
        labels = frozenset(re.findall(r'([a-z_]+)="', m.group(2) or ""))
        families[m.group(1)][1].add(labels)
    return families


@case
def metrics_table_lists_every_family_scraped(workdir):
    mport = e2e.free_port()
    # A transfer that fails (NOTIFY 486) and an INVITE no route takes, so that the labelled
    # families of calls, steps, REFERs and rejections have series.
    with Swmld(workdir, [{"match": {"user": "swml"}, "swml": "doc.yaml"}],
               extra={"metrics": {"listen": f"127.0.0.1:{mport}"}},
               documents={"doc.yaml": REFER_DOC}) as s:
        res = sipp(workdir, "uac_refer_notify_486.xml", s.port)
        assert res.rc == 0, res.out
        res = sipp(workdir, "uac_invite_404.xml", s.port, service="nobody")
        assert res.rc == 0, res.out
        s.wait_event("refer_result")
        families = scrape(mport)

    rows = {}
    for row in doc_table("## Metrics"):
        (name,) = codes(row[0])  # one metric per row
        rows[name] = (row[1], set(codes(row[2])))
    for name, (mtype, series) in sorted(families.items()):
        assert name in rows, (f"/metrics exposes {name} ({mtype}) but {DOC} has no row for it; "
                              f"add under '## Metrics': | `{name}` | {mtype} | LABELS | MEANING |")
        assert rows[name][0] == mtype, f"{DOC}: {name} is a {mtype}, not a {rows[name][0]}"
        for labels in series:
            assert labels == rows[name][1], (f"{DOC}: {name} has series labelled "
                                             f"{sorted(labels)}, documented {sorted(rows[name][1])}")
    for name in rows:
        assert name in families, f"{DOC} documents {name}, which /metrics does not expose"
    # The scrape saw the labelled families it was meant to.
    for name in ("swmld_calls_ended_total", "swmld_steps_total", "swmld_refer_results_total",
                 "swmld_calls_rejected_total"):
        assert families[name][1], f"{name}: no series after the calls"


@case
def refer_result_table_lists_the_records_fields(workdir):
    with Swmld(workdir, [{"swml": "doc.yaml"}], documents={"doc.yaml": REFER_DOC}) as s:
        res = sipp(workdir, "uac_refer_notify_486.xml", s.port)
        assert res.rc == 0, res.out
        record = s.wait_event("refer_result")[0]
    # A failed transfer has every field (`reason` only when not success).
    fields = set(record) - {"ts", "level", "event"}
    documented = documented_fields("### The `refer_result` record")
    assert fields == documented, (f"{DOC} refer_result table: add {sorted(fields - documented)}, "
                                  f"remove {sorted(documented - fields)} (record: {record})")
    assert record["result"] == "failed" and record["sipfrags"] == [486], record


@case
def connect_result_table_lists_the_records_fields(workdir):
    busy = SippUas(workdir, "uas_connect_busy.xml", name="busy")
    try:
        doc = ("version: 1.0.0\nsections:\n  main:\n    - answer: {}\n"
               f"    - connect: {{to: \"{busy.uri}\"}}\n    - hangup: {{}}\n")
        with Swmld(workdir, [{"swml": "doc.yaml"}], documents={"doc.yaml": doc}) as s:
            res = sipp(workdir, "uac_wait_bye.xml", s.port)
            assert res.rc == 0, res.out
            record = s.wait_event("connect_result")[0]
        assert busy.result().rc == 0
    finally:
        busy.stop()
    # A failed connect has every field (`reason` only when failed).
    fields = set(record) - {"ts", "level", "event"}
    documented = documented_fields("### The `connect_result` record")
    assert fields == documented, (f"{DOC} connect_result table: add {sorted(fields - documented)}, "
                                  f"remove {sorted(documented - fields)} (record: {record})")
    assert record["result"] == "failed" and record["reason"] == "busy", record
    assert record["destinations"][0]["sip_code"] == 486, record


@case
def config_reload_table_lists_the_records_fields(workdir):
    s = Swmld(workdir, [{"swml": "doc.yaml"}], documents={"doc.yaml": REFER_DOC})
    with s:
        s.proc.send_signal(signal.SIGHUP)
        s.wait_event("config_reload", 1)
        with open(s.config_path) as f:
            cfg = json.load(f)
        cfg["limitz"] = {}  # an unknown key: the reload is refused
        with open(s.config_path, "w") as f:
            json.dump(cfg, f)
        s.proc.send_signal(signal.SIGHUP)
        records = s.wait_event("config_reload", 2)
    assert [r["result"] for r in records] == ["ok", "failed"], records
    fields = set()
    for r in records:
        fields |= set(r) - {"ts", "level", "event"}
    documented = documented_fields("### The `config_reload` record")
    assert fields == documented, (f"{DOC} config_reload table: add {sorted(fields - documented)}, "
                                  f"remove {sorted(documented - fields)} (records: {records})")


if __name__ == "__main__":
    run()
