#!/usr/bin/python3
# SPDX-License-Identifier: BSD-2-Clause
"""bpfbusd's /metrics and HTTP API with events taken in through XDP: in a
network namespace of its own, the daemon attaches to lo (generic XDP, ring
buffer hand-off) and serves --http; events sent with `bpfbus send` are
matched in the kernel, delivered into queues, counted in /metrics exactly as
`bpfbus stats` and `bpfbus rule show` count them, and received with
/usr/bin/aws. The test re-runs itself inside the namespace."""

import json
import os
import subprocess
import sys
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "api"))
from apihost import (KEY, REGION, SECRET, Host, Skip, Tap, boto3_client, eq, in_netns,
                     metric, parse_metrics, run_on_host)

NAMES = ["routed_through_xdp", "bus_and_rule_counters", "intake_counters", "queue_depths",
         "aws_cli_receives_routed_events", "host_exits_cleanly"]
AWS = "/usr/bin/aws"
H = None
# detail.n 0..9: "eu" takes the even ones, "big" n >= 5; 1 and 3 match nothing.
EVENTS = ['{"source":"shop","detail":{"n":%d,"region":"%s"}}' % (n, "eu" if n % 2 == 0 else "us")
          for n in range(10)]


def scrape():
    with urllib.request.urlopen(H.url + "/metrics", timeout=30) as r:
        eq(200, r.status)
        return parse_metrics(r.read().decode())


def cli_json(*args):
    r = H.cli("-j", *args)
    eq(0, r.returncode, "bpfbus %s: %s" % (" ".join(args), r.stderr))
    return json.loads(r.stdout)


def routed_through_xdp():
    sqs = boto3_client(H)
    for q in ("q-eu", "q-big"):
        sqs.create_queue(QueueName=q)
    for cmd in (["bus", "add", "orders"],
                ["rule", "add", "eu", "bus", "orders", "pattern",
                 '{"detail":{"region":["eu"]}}', "target", "queue", "q-eu"],
                ["rule", "add", "big", "bus", "orders", "pattern",
                 '{"detail":{"n":[{"numeric":[">=",5]}]}}', "target", "queue", "q-big"]):
        cli_json(*cmd)
    # A freshly attached program may miss the first packets: datagrams for no bus
    # (passed to the slow path) until the daemon counts one.
    for _ in range(100):
        H.cli("send", "to", "127.0.0.1:%d" % H.udp_port, "bus", "nosuchbus", "event", '{"a":1}')
        time.sleep(0.05)
        if metric(scrape(), "bpfbus_intake_dropped_total", reason="unknown_bus"):
            break
    args = ["send", "to", "127.0.0.1:%d" % H.udp_port, "bus", "orders"]
    for e in EVENTS:
        args += ["event", e]
    r = H.cli(*args)
    eq(0, r.returncode, r.stderr)
    for _ in range(100):
        if metric(scrape(), "bpfbus_intake_delivered_total") >= 10:
            break
        time.sleep(0.05)
    eq(10, metric(scrape(), "bpfbus_intake_delivered_total"), "deliveries")


def bus_and_rule_counters():
    m = scrape()
    want = {"received": 10, "dropped": 2, "redirected": 8, "matched": 8, "verify": 0,
            "passed": 0}
    got = {k: metric(m, "bpfbus_bus_%s_total" % k, bus="orders") for k in want}
    eq(want, got, "bus counters of orders")
    stats = {b["bus"]: b for b in cli_json("stats") if b["bus"]}
    eq({k: stats["orders"][k] for k in want}, got, "the same as bpfbus stats")
    eq(stats["orders"]["bytes"], metric(m, "bpfbus_bus_bytes_total", bus="orders"), "bytes")
    if stats["orders"]["bytes"] <= sum(len(e) for e in EVENTS):
        raise AssertionError("bytes do not cover the events: %d" % stats["orders"]["bytes"])
    rules = {r["name"]: r["matches"] for r in cli_json("rule", "show")}
    eq({"orders/eu": 5, "orders/big": 5}, rules, "bpfbus rule show")
    eq(rules, {n: metric(m, "bpfbus_rule_matches_total", rule=n) for n in rules}, "/metrics")
    if not metric(m, "bpfbus_bus_passed_total", bus="-"):
        raise AssertionError("the datagrams for no bus are not counted under bus \"-\"")


def intake_counters():
    m = scrape()
    eq(8, metric(m, "bpfbus_intake_events_total", source="xdp"), "events from XDP")
    eq(0, metric(m, "bpfbus_intake_dropped_total", reason="unmatched"), "unmatched")
    eq(0, metric(m, "bpfbus_intake_dropped_total", reason="delivery_failed"), "failed")


def queue_depths():
    m = scrape()
    for q in ("q-eu", "q-big"):
        eq((5, 0, 0), tuple(metric(m, "bpfbus_queue_messages", queue=q, state=s)
                            for s in ("visible", "not_visible", "delayed")), q)


def aws_cli_receives_routed_events():
    if not os.access(AWS, os.X_OK):
        raise Skip("no " + AWS)
    env = dict(os.environ, AWS_ACCESS_KEY_ID=KEY, AWS_SECRET_ACCESS_KEY=SECRET,
               AWS_DEFAULT_REGION=REGION, AWS_CONFIG_FILE="/dev/null",
               AWS_SHARED_CREDENTIALS_FILE="/dev/null", AWS_PAGER="")
    p = subprocess.run([AWS, "--endpoint-url", H.url, "--output", "json", "sqs",
                        "receive-message", "--queue-url", H.queue_url("q-eu"),
                        "--max-number-of-messages", "10"],
                       env=env, capture_output=True, text=True, timeout=60)
    eq(0, p.returncode, p.stderr)
    got = sorted(json.loads(m["Body"])["detail"]["n"] for m in json.loads(p.stdout)["Messages"])
    # SQS may return fewer than asked for, any of them: only the routed five exist.
    if not got or not set(got) <= {0, 2, 4, 6, 8} or len(set(got)) != len(got):
        raise AssertionError(got)
    eq(len(got), metric(scrape(), "bpfbus_queue_messages", queue="q-eu", state="not_visible"))


def inside():
    global H
    tap = Tap()
    # no schema discovery samples: the unmatched events are dropped in the kernel
    H = Host("--iface", "lo:generic", "--handoff", "ringbuf", "--discovery-rate", "0")
    run_on_host(tap, H, [(name, globals()[name]) for name in NAMES[:-1]])
    tap.done()


def main():
    in_netns(__file__, NAMES, inside)


if __name__ == "__main__":
    main()
