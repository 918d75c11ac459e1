#!/usr/bin/python3
# SPDX-License-Identifier: BSD-2-Clause
"""SNS datagrams (wire kind 2) through the XDP datapath into topics: bpfbusd on
lo of a network namespace of its own (generic XDP, ring-buffer hand-off),
messages sent with `bpfbus send topic`.
A topic is a bus of kind topic whose rules are its subscriptions'
MessageBody-scope policies: the kernel drops what no subscription wants and
hands the rest off with the matched subscriptions; topics with subscriptions
it cannot decide (MessageAttributes scope, no policy) are handed off VERIFY.
A rule target of kind topic publishes into the topic in the round's commit; to a
FIFO topic with the event's group (or the target's) and its id for deduplication."""

import json
import os
import subprocess
import sys
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "api"))
from apihost import (ACCOUNT, BPFBUS, REGION, eq, in_netns, metric,  # noqa: E402
                     parse_metrics, run_suite)

H = None


def cli(*args, ok=True):
    r = subprocess.run([BPFBUS, "-j", *args], capture_output=True, text=True, env=H.env,
                       timeout=60)
    if ok and r.returncode:
        raise AssertionError("bpfbus %s: %s" % (" ".join(args), r.stderr))
    return json.loads(r.stdout) if ok and r.stdout.strip() else r


def send(topic, *events, attributes=None, extra=()):
    args = ["send", "to", "127.0.0.1:%d" % H.udp_port, "topic", topic, *extra]
    if attributes:
        args += ["attributes", json.dumps(attributes)]
    for e in events:
        args += ["event", e]
    r = subprocess.run([BPFBUS, *args], capture_output=True, text=True, env=H.env, timeout=60)
    eq(0, r.returncode, "bpfbus send: " + r.stderr)


def bodies(queue, want, timeout=10):
    """Receive and delete until @want messages came; their bodies."""
    got, deadline = [], time.time() + timeout
    while len(got) < want and time.time() < deadline:
        r = cli("queue", "receive", queue, "max", "10", "wait", "1")
        for m in r.get("Messages", []):
            got.append(m["Body"])
            cli("queue", "delete-message", queue, m["ReceiptHandle"])
    extra = cli("queue", "receive", queue, "max", "10").get("Messages", [])
    eq([], [m["Body"] for m in extra], "more messages in %s than expected" % queue)
    eq(want, len(got), "messages in %s" % queue)
    return got


def bus_stats(topic):
    return cli("stats", "bus", topic)[0]


def subscribe(topic, queue, *attrs):
    cli("queue", "create", queue)
    args = ["subscription", "create", topic, "sqs", queue]
    for a in attrs:
        args += ["attr", a]
    r = subprocess.run([BPFBUS, *args], capture_output=True, text=True, env=H.env, timeout=60)
    eq(0, r.returncode, "subscription create: " + r.stderr)
    return r.stdout.strip()


def body_scope_decided_in_the_kernel():
    cli("topic", "create", "kt")
    sa = subscribe("kt", "kt-a", "RawMessageDelivery=true", "FilterPolicyScope=MessageBody",
                   'FilterPolicy={"k":["a"]}')
    subscribe("kt", "kt-b", "RawMessageDelivery=true", "FilterPolicyScope=MessageBody",
              'FilterPolicy={"k":["b"],"n":[{"numeric":[">",5]}]}')
    kinds = {b["name"]: b["kind"] for b in cli("bus", "list")}
    eq("topic", kinds.get("kt"), "the topic's bus")
    send("kt", '{"k":"a"}', '{"k":"b","n":9}', '{"k":"b","n":1}', '{"k":"c"}', '{"k":"a"}')
    eq(['{"k":"a"}', '{"k":"a"}'], bodies("kt-a", 2))
    eq(['{"k":"b","n":9}'], bodies("kt-b", 1))
    s = bus_stats("kt")
    eq(5, s["received"], "received")
    eq(2, s["dropped"], "dropped in XDP: no subscription wants them")
    eq(3, s["matched"], "decided by the kernel")
    eq(0, s["verify"], "nothing to verify")
    with urllib.request.urlopen(H.url + "/metrics", timeout=10) as r:
        m = parse_metrics(r.read().decode())
    # the kernel's rule for a subscription is TOPIC/SUBSCRIPTION-ID
    eq(2, metric(m, "bpfbus_rule_matches_total", rule="kt/" + sa.rsplit(":", 1)[1]))


def attribute_scope_and_no_policy_decided_in_the_kernel():
    """MessageAttributes-scope policies are the kernel's too; a subscription
    without a policy wants everything, so the topic's bus keeps all (nothing
    dropped, nothing VERIFY)."""
    cli("topic", "create", "vt")
    subscribe("vt", "vt-attr", "RawMessageDelivery=true", 'FilterPolicy={"region":["eu"]}')
    subscribe("vt", "vt-all")
    bus = [b for b in cli("bus", "list") if b["name"] == "vt"][0]
    eq((True, False), (bus["keep_all"], bus["verify_all"]), "vt's bus flags")
    before = bus_stats("vt")
    send("vt", "plain text, not JSON", attributes={"region": {"Type": "String", "Value": "eu"}})
    send("vt", '{"k":1}', attributes={"region": {"Type": "String", "Value": "us"}})
    eq(["plain text, not JSON"], bodies("vt-attr", 1))
    envs = [json.loads(b) for b in bodies("vt-all", 2)]
    eq(["plain text, not JSON", '{"k":1}'], [e["Message"] for e in envs])
    eq({"Type": "String", "Value": "eu"}, envs[0]["MessageAttributes"]["region"])
    eq("arn:aws:sns:%s:%s:vt" % (REGION, ACCOUNT), envs[0]["TopicArn"])
    s = bus_stats("vt")
    eq(2, s["received"] - before["received"])
    eq(0, s["dropped"] - before["dropped"], "nothing dropped")
    eq(0, s["verify"] - before["verify"], "nothing handed off VERIFY")
    eq(2, s["matched"] - before["matched"], "both decided by the kernel")
    eq(0, s["malformed"]["body_not_object"] - before["malformed"]["body_not_object"],
       "plain text is no malformed body")


def fifo_topic_in_order():
    cli("topic", "create", "ft.fifo", "attr", "FifoTopic=true",
        "attr", "ContentBasedDeduplication=true")
    cli("queue", "create", "ft.fifo", "attr", "FifoQueue=true")
    r = subprocess.run([BPFBUS, "subscription", "create", "ft.fifo", "sqs", "ft.fifo", "attr",
                        "RawMessageDelivery=true"], capture_output=True, text=True, env=H.env)
    eq(0, r.returncode, r.stderr)
    events = ['{"i":%d}' % i for i in range(8)]
    send("ft.fifo", *events, extra=("group", "g1", "ack", "10"))
    send("ft.fifo", events[0], extra=("group", "g1", "ack", "10"))  # a duplicate
    eq(events, bodies("ft.fifo", 8))


def unknown_topics_and_deleted_topics():
    before = cli("daemon", "status")
    send("nosuchtopic", '{"x":1}')
    deadline = time.time() + 5
    while cli("daemon", "status")["unknown_bus"] == before["unknown_bus"] and \
            time.time() < deadline:
        time.sleep(0.1)
    after = cli("daemon", "status")
    eq(1, after["unknown_bus"] - before["unknown_bus"], "unknown_bus")
    eq(before["sns_published"], after["sns_published"], "nothing published")
    cli("topic", "create", "gone")
    if "gone" not in [b["name"] for b in cli("bus", "list")]:
        raise AssertionError("no bus for topic gone")
    cli("topic", "delete", "gone")
    if "gone" in [b["name"] for b in cli("bus", "list")]:
        raise AssertionError("the bus of a deleted topic is still there")


def rule_targets_a_topic():
    """EventBridge to SNS: a rule whose targets are a queue and a topic."""
    cli("topic", "create", "from-rules")
    subscribe("from-rules", "rt-sub", "RawMessageDelivery=true", "FilterPolicyScope=MessageBody",
              'FilterPolicy={"detail":{"n":[{"numeric":[">",1]}]}}')
    cli("queue", "create", "rt-direct")
    r = subprocess.run([BPFBUS, "rule", "add", "to-topic", "pattern", '{"source":["shop"]}',
                        "target", "queue", "rt-direct", "target", "topic", "from-rules"],
                       capture_output=True, text=True, env=H.env, timeout=60)
    eq(0, r.returncode, "rule add: " + r.stderr)
    events = ['{"source":"shop","detail":{"n":%d}}' % n for n in (1, 2, 3)]
    args = ["send", "to", "127.0.0.1:%d" % H.udp_port, "bus", "default", "ack", "10"]
    for e in events:
        args += ["event", e]
    r = subprocess.run([BPFBUS, *args], capture_output=True, text=True, env=H.env, timeout=60)
    eq(0, r.returncode, "bpfbus send: " + r.stderr)
    # acknowledged: stored in both, the topic's subscription filtered by its policy
    eq(events, bodies("rt-direct", 3))
    eq(events[1:], bodies("rt-sub", 2))
    with urllib.request.urlopen(H.url + "/metrics", timeout=10) as r:
        m = parse_metrics(r.read().decode())
    eq(3, metric(m, "bpfbus_topic_published_total",
                 topic="arn:aws:sns:%s:%s:from-rules" % (REGION, ACCOUNT)))


def rule_targets_a_fifo_topic():
    """EventBridge to a FIFO SNS topic with two FIFO queue subscriptions: events
    with a group of their own keep it, the others get the target's; the envelope's
    id is the deduplication id (the topic has no content-based deduplication), so
    an event sent again is deduplicated and a new id with the same body is not."""
    cli("topic", "create", "rf.fifo", "attr", "FifoTopic=true")
    for q in ("rf1.fifo", "rf2.fifo"):
        cli("queue", "create", q, "attr", "FifoQueue=true")
        r = subprocess.run([BPFBUS, "subscription", "create", "rf.fifo", "sqs", q, "attr",
                            "RawMessageDelivery=true"], capture_output=True, text=True,
                           env=H.env, timeout=60)
        eq(0, r.returncode, r.stderr)
    r = subprocess.run([BPFBUS, "rule", "add", "to-fifo-topic", "pattern",
                        '{"source":["fifo-shop"]}', "target", "topic", "rf.fifo",
                        "message-group-id", "orders"],
                       capture_output=True, text=True, env=H.env, timeout=60)
    eq(0, r.returncode, "rule add: " + r.stderr)

    def event(eid):
        return json.dumps({"id": eid, "source": "fifo-shop", "detail": {"id": eid}})

    def send_events(*events, group=None):
        args = ["send", "to", "127.0.0.1:%d" % H.udp_port, "bus", "default", "ack", "10"]
        args += ["group", group] if group else []
        for e in events:
            args += ["event", e]
        r = subprocess.run([BPFBUS, *args], capture_output=True, text=True, env=H.env,
                           timeout=60)
        eq(0, r.returncode, "bpfbus send: " + r.stderr)

    sent = {"orders": ["o-%d" % i for i in range(6)]}
    send_events(*[event(i) for i in sent["orders"]])
    groups = ["g%d" % g for g in range(4)]
    for i in range(4):  # the groups interleaved
        for g in groups:
            sent.setdefault(g, []).append("%s-%d" % (g, i))
            send_events(event("%s-%d" % (g, i)), group=g)
    send_events(event("o-2"), event("g1-3"))  # again: deduplicated
    send_events(event("g1-3"), group="g1")
    same_body = json.dumps({"id": "o-6", "source": "fifo-shop", "detail": {"id": "o-2"}})
    send_events(same_body)  # another id: delivered
    sent["orders"].append("o-6")
    for q in ("rf1.fifo", "rf2.fifo"):
        got, deadline = [], time.time() + 10
        while len(got) < 23 and time.time() < deadline:
            r = cli("queue", "call", "ReceiveMessage", json.dumps(
                {"QueueUrl": cli("queue", "url", q)["QueueUrl"], "MaxNumberOfMessages": 10,
                 "AttributeNames": ["All"], "WaitTimeSeconds": 1}))
            for m in r.get("Messages", []):
                got.append(m)
                cli("queue", "delete-message", q, m["ReceiptHandle"])
        eq([], cli("queue", "receive", q, "max", "10").get("Messages", []), q + ": no more")
        ids = [json.loads(m["Body"])["id"] for m in got]
        eq(len(ids), len(set(ids)), q + ": no duplicates")
        for g, want in sent.items():
            eq(want, [json.loads(m["Body"])["id"] for m in got
                      if m["Attributes"]["MessageGroupId"] == g], "%s: group %s" % (q, g))
        eq(ids, [m["Attributes"]["MessageDeduplicationId"] for m in got],
           q + ": the envelope id is the deduplication id")


NAMES = ["body_scope_decided_in_the_kernel", "attribute_scope_and_no_policy_decided_in_the_kernel",
         "fifo_topic_in_order", "unknown_topics_and_deleted_topics", "rule_targets_a_topic",
         "rule_targets_a_fifo_topic",
         "host_exits_cleanly"]


def main():
    in_netns(__file__, NAMES, lambda: run_suite(NAMES, globals(), "--iface", "lo:generic",
                                                "--handoff", "ringbuf", "--anonymous"))


if __name__ == "__main__":
    main()
