#!/usr/bin/python3
# SPDX-License-Identifier: BSD-2-Clause
#
# Conformance runner: feeds every case file through the bpfbus batch CLI
# (one process call per file and language) and compares the outcome with
# the expected label of each row. Output is TAP 13, one test point per file.
#
# Case sources:
#   $SHARED/conformance/*.jsonl  cases recorded against real AWS (skipped,
#                                with a TAP SKIP line, when $SHARED is absent)
#   $SRCTREE/selftests/cases/*.jsonl  our own cases
#
# Row labels and what must come back from the CLI:
#   MATCH         {"match": true}
#   NO            {"match": false}
#   RULE_ERROR    {"error": aws_error}   (EventBridge pattern rejected)
#   EVENT_ERROR   {"error": aws_error}   (EventBridge event rejected)
#   POLICY_ERROR  {"error": aws_error}   (SNS filter policy rejected; the
#                                         row's aws_api picks the wording)
#   POLICY_OK     {"match": false}       (policy accepted, nothing published)
#
# Environment:
#   BPFBUS   path of the CLI (default $SRCTREE/build/bpfbus)
#   SRCTREE  source tree root (default: the parent of this script's folder)
#   SHARED   shared data folder (default $SRCTREE/../shared)

import glob
import json
import os
import subprocess
import sys
import tempfile

TIMEOUT = 600
API_ARG = ("Subscribe", "SetSubscriptionAttributes")
ERROR_LABELS = ("RULE_ERROR", "EVENT_ERROR", "POLICY_ERROR")
LABELS = ("MATCH", "NO", "POLICY_OK") + ERROR_LABELS


def short(value, limit=160):
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    text = text.replace("\n", "\\n")
    return text if len(text) <= limit else text[:limit] + "..."


def load_rows(path):
    """Return (rows, problems): rows are the parsed JSON objects of the file."""
    rows, problems = [], []
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except ValueError as e:
                problems.append("line %d: not JSON: %s" % (lineno, e))
                continue
            if not isinstance(row, dict):
                problems.append("line %d: not a JSON object" % lineno)
                continue
            rows.append(row)
    return rows, problems


def row_problem(row):
    """Why a row cannot be run, or None."""
    if "id" not in row:
        return "row without id"
    exp = row.get("expect")
    if exp not in LABELS:
        return "unknown expect %r" % (exp,)
    if exp in ERROR_LABELS and not isinstance(row.get("aws_error"), str):
        return "%s row without aws_error" % exp
    if "pattern" in row:
        if exp in ("POLICY_ERROR", "POLICY_OK"):
            return "pattern row labelled %s" % exp
        if "event" not in row:
            return "pattern row without event"
    elif "policy" in row:
        if exp in ("RULE_ERROR", "EVENT_ERROR"):
            return "policy row labelled %s" % exp
        if row.get("scope") not in ("MessageAttributes", "MessageBody"):
            return "policy row with bad scope %r" % (row.get("scope"),)
        if exp in ("MATCH", "NO") and "attributes" not in row and "message" not in row:
            return "policy row without attributes or message"
    else:
        return "row with neither pattern nor policy"
    return None


def pattern_request(row):
    return {
        "id": row["id"],
        "pattern": row.get("pattern_as_sent", row["pattern"]),
        "event": row.get("event_as_sent", row["event"]),
    }


def policy_request(row):
    req = {"id": row["id"], "policy": row["policy"], "scope": row["scope"]}
    exp = row["expect"]
    if exp in ("MATCH", "NO"):
        if row["scope"] == "MessageBody" and "message" in row:
            req["message"] = row["message"]
        elif "attributes" in row:
            req["attributes"] = row["attributes"]
        else:
            req["message"] = row["message"]
    if row.get("aws_api") in API_ARG:
        req["api"] = row["aws_api"]
    return req


def run_cli(bpfbus, kind, requests, engine="user"):
    """Run one batch. Returns (results list, error string or None)."""
    with tempfile.TemporaryDirectory(prefix="bpfbus-conf-") as tmp:
        path = os.path.join(tmp, "batch.jsonl")
        with open(path, "w", encoding="utf-8") as f:
            for req in requests:
                f.write(json.dumps(req) + "\n")
        cmd = [bpfbus, kind, "test", "--batch", path, "--engine", engine]
        try:
            proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  timeout=TIMEOUT)
        except OSError as e:
            return [], "cannot run %s: %s" % (bpfbus, e)
        except subprocess.TimeoutExpired:
            return [], "%s %s test timed out after %ds" % (bpfbus, kind, TIMEOUT)
    results = []
    for n, line in enumerate(proc.stdout.decode("utf-8", "replace").splitlines(), 1):
        if not line.strip():
            continue
        try:
            results.append(json.loads(line))
        except ValueError:
            results.append({"_bad": "output line %d is not JSON: %s" % (n, short(line))})
    err = None
    if proc.returncode != 0 or len(results) != len(requests):
        err = "%s test exited %d, %d result lines for %d cases" % (
            kind, proc.returncode, len(results), len(requests))
        tail = proc.stderr.decode("utf-8", "replace").strip().splitlines()[-3:]
        if tail:
            err += "; stderr: " + short(" | ".join(tail), 300)
    return results, err


def verdict(row, res):
    """None if the result fits the row's label, else a description of what came back."""
    if res is None:
        return "no result"
    if not isinstance(res, dict):
        return "bad result %s" % short(res)
    if "_bad" in res:
        return res["_bad"]
    if res.get("id") != row["id"]:
        return "result for id %s" % short(res.get("id"))
    exp = row["expect"]
    if "error" in res:
        got = "error %s" % short(res["error"], 300)
        if exp in ERROR_LABELS and res["error"] == row["aws_error"]:
            return None
        return got
    if "match" not in res:
        return "result without match or error: %s" % short(res)
    got = "match %s" % json.dumps(res["match"])
    want = {"MATCH": True, "NO": False, "POLICY_OK": False}.get(exp)
    if want is not None and res["match"] is want:
        return None
    return got


def expected_text(row):
    exp = row.get("expect")
    if exp in ERROR_LABELS:
        return "%s %s" % (exp, short(row.get("aws_error"), 300))
    return str(exp)


def check_file(bpfbus, path, engine="user", tally=None):
    """Returns (number of cases, list of diagnostic lines)."""
    rows, diags = load_rows(path)
    good = {"pattern": [], "filter-policy": []}
    for row in rows:
        why = row_problem(row)
        if why:
            diags.append("%s: bad row: %s" % (short(row.get("id", "?")), why))
        elif "pattern" in row:
            good["pattern"].append(row)
        else:
            good["filter-policy"].append(row)
    for kind, krows in good.items():
        if not krows:
            continue
        build = pattern_request if kind == "pattern" else policy_request
        results, err = run_cli(bpfbus, kind, [build(r) for r in krows], engine)
        if err:
            diags.append(err)
        for i, row in enumerate(krows):
            res = results[i] if i < len(results) else None
            if tally is not None and isinstance(res, dict) and "kernel" in res:
                tally[res["kernel"]] = tally.get(res["kernel"], 0) + 1
                # our own cases may say the kernel must decide them itself
                # (docs/kernel.md: what it decides); a VERIFY answer would
                # still be right, so only this catches a lost capability
                if row.get("kernel") == "decides" and res["kernel"] not in ("match", "drop"):
                    diags.append("%s: the kernel must decide this case itself, it answered %s"
                                 % (short(row["id"]), res["kernel"]))
                if kind == "filter-policy":
                    sns = tally.setdefault("sns", {})
                    sns[res["kernel"]] = sns.get(res["kernel"], 0) + 1
            got = verdict(row, res)
            if got is not None:
                diags.append("%s: expected %s, got %s" % (short(row["id"]), expected_text(row), got))
    return len(rows), diags


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    srctree = os.environ.get("SRCTREE") or os.path.dirname(here)
    shared = os.environ.get("SHARED") or os.path.join(srctree, "..", "shared")
    bpfbus = os.environ.get("BPFBUS") or os.path.join(srctree, "build", "bpfbus")

    points = []  # (name, path) or (name, None, skip reason)
    conf = os.path.join(shared, "conformance")
    if os.path.isdir(conf):
        files = sorted(glob.glob(os.path.join(conf, "*.jsonl")))
        if files:
            points += [(os.path.basename(p), p, None) for p in files]
        else:
            points.append(("shared conformance", None, "no *.jsonl in %s" % conf))
    else:
        points.append(("shared conformance", None, "%s not found (set SHARED)" % conf))
    own = sorted(glob.glob(os.path.join(srctree, "selftests", "cases", "*.jsonl")))
    points += [(os.path.basename(p), p, None) for p in own]
    # every file again through the kernel engine (XDP program under
    # BPF_PROG_TEST_RUN): its answers stand where it decided, and any
    # disagreement with the userspace matcher fails the batch
    kernel_points = []
    for name, path, skip in points:
        why = skip or (None if os.geteuid() == 0 else "the kernel engine needs root (BPF)")
        kernel_points.append((name + " [engine kernel]", path, why))
    points = [(n, p, s, "user") for n, p, s in points] + \
             [(n, p, s, "kernel") for n, p, s in kernel_points]

    print("TAP version 13")
    print("1..%d" % (len(points) + 1))
    passed = failed = skipped = 0
    tally = {}
    for n, (name, path, skip, engine) in enumerate(points, 1):
        if skip:
            print("ok %d %s # SKIP %s" % (n, name, skip))
            skipped += 1
            continue
        count, diags = check_file(bpfbus, path, engine, tally if engine == "kernel" else None)
        if diags:
            print("not ok %d %s (%d cases, %d problems)" % (n, name, count, len(diags)))
            for d in diags:
                print("# " + d)
            failed += 1
        else:
            print("ok %d %s (%d cases)" % (n, name, count))
            passed += 1
        sys.stdout.flush()
    sns = tally.pop("sns", {})
    ran = sum(tally.values())
    if ran:
        # the kernel must decide (match or drop, no VERIFY, no PASS) at least
        # 90% of the valid cases by itself
        decided = tally.get("match", 0) + tally.get("drop", 0)
        share = 100.0 * decided / ran
        detail = ", ".join("%s %d" % kv for kv in sorted(tally.items()))
        n = len(points) + 1
        if sns:
            # SNS publishes go through the XDP datapath as real datagrams
            sns_ran = sum(sns.values())
            print("# SNS filter-policy cases: the kernel decides %.1f%% of %d by itself (%s)" % (
                100.0 * (sns.get("match", 0) + sns.get("drop", 0)) / sns_ran, sns_ran,
                ", ".join("%s %d" % kv for kv in sorted(sns.items()))))
        if share >= 90.0:
            print("ok %d kernel decides %.1f%% of %d valid cases by itself (%s)" % (
                n, share, ran, detail))
            passed += 1
        else:
            print("not ok %d kernel decides only %.1f%% of %d valid cases by itself, "
                  "90%% required (%s)" % (n, share, ran, detail))
            failed += 1
    else:
        print("ok %d kernel share of decisions # SKIP the kernel engine did not run" %
              (len(points) + 1))
        skipped += 1
    print("%d passed, %d failed, %d skipped" % (passed, failed, skipped))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
