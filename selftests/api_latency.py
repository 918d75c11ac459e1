#!/usr/bin/python3
# SPDX-License-Identifier: BSD-2-Clause
"""GET /metrics as Prometheus scrapes it, against bpfbusd with real
clients: every histogram family (queue message age at first receive, HTTP
request latency by action, rule delivery latency, topic delivery latency)
and the per-queue counters, their types and labels, checked to be
well-formed (cumulative buckets, +Inf equal to _count) and to move by
exactly the traffic the test makes with boto3 and /usr/bin/aws."""

import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "api"))
from apihost import (ACCOUNT, KEY, REGION, SECRET, boto3_client, eq, metric, parse_metrics,
                     run_suite)

H = None
HISTOGRAMS = {
    "bpfbus_queue_first_receive_age_seconds": ["queue"],
    "bpfbus_http_request_duration_seconds": ["action"],
    "bpfbus_rule_delivery_latency_seconds": ["bus", "rule"],
    "bpfbus_topic_delivery_latency_seconds": ["topic", "protocol"],
}
QUEUE_COUNTERS = ["sent", "received", "deleted", "expired", "dead_lettered"]


def scrape_text():
    with urllib.request.urlopen(H.url + "/metrics", timeout=30) as r:
        eq(200, r.status)
        eq("text/plain; version=0.0.4", r.headers["Content-Type"])
        return r.read().decode()


def scrape():
    return parse_metrics(scrape_text())


def types(text):
    return dict(re.findall(r"^# TYPE (\S+) (\S+)$", text, re.M))


def histogram(m, name, **labels):
    """(count, sum, {le: cumulative count}) of one histogram, checked well-formed."""
    want = frozenset(labels.items())
    buckets = {}
    for (n, ls), v in m.items():
        if n == name + "_bucket" and ls - {l for l in ls if l[0] == "le"} == want:
            buckets[dict(ls)["le"]] = v
    if not buckets:
        raise KeyError("no %s%r" % (name, labels))
    order = sorted(buckets, key=lambda le: float("inf") if le == "+Inf" else float(le))
    eq("+Inf", order[-1], "the last bucket")
    eq(20, len(order), "buckets of %s" % name)
    counts = [buckets[le] for le in order]
    eq(sorted(counts), counts, "cumulative buckets of %s%r" % (name, labels))
    count = metric(m, name + "_count", **labels)
    eq(count, buckets["+Inf"], "+Inf bucket and _count of %s" % name)
    return count, metric(m, name + "_sum", **labels), buckets


def families_and_types():
    sqs = boto3_client(H)
    sqs.create_queue(QueueName="lat-q")
    text = scrape_text()
    t = types(text)
    for name in HISTOGRAMS:
        eq("histogram", t.get(name), "TYPE of " + name)
    for c in QUEUE_COUNTERS:
        eq("counter", t.get("bpfbus_queue_%s_total" % c), "TYPE of queue counter " + c)
        eq(0, metric(parse_metrics(text), "bpfbus_queue_%s_total" % c, queue="lat-q"))
    eq("gauge", t.get("bpfbus_queue_messages"))
    for name in ("bpfbus_bus_received_total", "bpfbus_bus_dropped_total",
                 "bpfbus_rule_matches_total", "bpfbus_topic_published_total",
                 "bpfbus_topic_failed_total", "bpfbus_intake_dropped_total",
                 "bpfbus_http_requests_total"):
        eq("counter", t.get(name), "TYPE of " + name)
    # every sample line belongs to a declared family
    for line in text.splitlines():
        if line and not line.startswith("#"):
            base = re.sub(r"_(bucket|sum|count)$", "", line.split("{")[0].split(" ")[0])
            if base not in t and line.split("{")[0].split(" ")[0] not in t:
                raise AssertionError("no # TYPE for " + line)


def queue_age_and_counters():
    sqs = boto3_client(H)
    url = sqs.create_queue(QueueName="age-q", Attributes={"VisibilityTimeout": "0"})["QueueUrl"]
    for i in range(3):
        sqs.send_message(QueueUrl=url, MessageBody="m%d" % i)
    time.sleep(0.6)
    got = []
    while len(got) < 3:
        got += sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
    m = scrape()
    count, total, buckets = histogram(m, "bpfbus_queue_first_receive_age_seconds", queue="age-q")
    eq(3, count, "first receives")
    eq(0, buckets["0.5"], "messages younger than 0.5 s at their first receive")
    if not 1.8 <= total < 60:
        raise AssertionError("sum of ages %r" % total)
    # a second receive of the same messages is not a first receive
    again = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
    for msg in again[:2]:
        sqs.delete_message(QueueUrl=url, ReceiptHandle=msg["ReceiptHandle"])
    m = scrape()
    eq(3, histogram(m, "bpfbus_queue_first_receive_age_seconds", queue="age-q")[0])
    eq(3, metric(m, "bpfbus_queue_sent_total", queue="age-q"))
    eq(3 + len(again), metric(m, "bpfbus_queue_received_total", queue="age-q"))
    eq(min(2, len(again)), metric(m, "bpfbus_queue_deleted_total", queue="age-q"))
    # `bpfbus queue stats` reads the same counters
    r = H.cli("-j", "queue", "stats", "age-q")
    eq(0, r.returncode, r.stderr)
    st = json.loads(r.stdout)
    eq({c: metric(m, "bpfbus_queue_%s_total" % c, queue="age-q") for c in QUEUE_COUNTERS},
       {c: st[c] for c in QUEUE_COUNTERS}, "bpfbus queue stats")
    count, total, _ = histogram(m, "bpfbus_queue_first_receive_age_seconds", queue="age-q")
    eq({"count": count, "sum_seconds": total}, st["first_receive_age"])
    r = H.cli("queue", "stats", "age-q")
    eq(0, r.returncode, r.stderr)
    if not re.search(r"^sent +3$", r.stdout, re.M) or "3 first receives" not in r.stdout:
        raise AssertionError(r.stdout)
    r = H.cli("queue", "stats", "nope")
    if r.returncode == 0 or "QueueDoesNotExist" not in r.stderr:
        raise AssertionError((r.returncode, r.stderr))


def dead_letters_counted():
    sqs = boto3_client(H)
    sqs.create_queue(QueueName="lat-dlq")
    url = sqs.create_queue(QueueName="lat-src", Attributes={
        "VisibilityTimeout": "0",
        "RedrivePolicy": json.dumps({"deadLetterTargetArn": "arn:aws:sqs:%s:%s:lat-dlq"
                                     % (REGION, ACCOUNT), "maxReceiveCount": 1})})["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="poison")
    eq(1, len(sqs.receive_message(QueueUrl=url)["Messages"]))
    eq([], sqs.receive_message(QueueUrl=url).get("Messages", []))
    m = scrape()
    eq(1, metric(m, "bpfbus_queue_dead_lettered_total", queue="lat-src"))
    eq(1, metric(m, "bpfbus_queue_messages", queue="lat-dlq", state="visible"))


def request_latency():
    sqs = boto3_client(H)
    url = sqs.create_queue(QueueName="poll-q")["QueueUrl"]
    before = scrape()
    for _ in range(4):
        sqs.get_queue_url(QueueName="poll-q")
    t = time.monotonic()
    eq([], sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1).get("Messages", []))
    waited = time.monotonic() - t
    m = scrape()

    def delta(action):
        n0 = histogram(before, "bpfbus_http_request_duration_seconds", action=action)[:2] \
            if ("bpfbus_http_request_duration_seconds_count",
                frozenset({("action", action)})) in before else (0, 0)
        n1 = histogram(m, "bpfbus_http_request_duration_seconds", action=action)[:2]
        return n1[0] - n0[0], n1[1] - n0[1]

    n, s = delta("GetQueueUrl")
    eq(4, n, "GetQueueUrl requests")
    if not 0 <= s < 4:
        raise AssertionError("GetQueueUrl latency sum %r" % s)
    n, s = delta("ReceiveMessage")
    eq(1, n, "ReceiveMessage requests")
    if not 0.95 <= s <= waited + 0.5:
        raise AssertionError("a 1 s long poll took %r s by the histogram, %r s seen" % (s, waited))
    # requests and latencies agree: every answered GetQueueUrl was timed
    eq(metric(m, "bpfbus_http_requests_total", action="GetQueueUrl", status="200"),
       histogram(m, "bpfbus_http_request_duration_seconds", action="GetQueueUrl")[0])


def rule_latency():
    sqs = boto3_client(H)
    sqs.create_queue(QueueName="rule-q")
    events = boto3_client(H, service="events")
    events.put_rule(Name="lat-rule", EventPattern=json.dumps({"source": ["lat"]}))
    events.put_targets(Rule="lat-rule", Targets=[{
        "Id": "q", "Arn": "arn:aws:sqs:%s:%s:rule-q" % (REGION, ACCOUNT)}])
    entries = [{"Source": "lat", "DetailType": "t", "Detail": json.dumps({"n": i})}
               for i in range(5)]
    entries.append({"Source": "other", "DetailType": "t", "Detail": "{}"})
    eq(0, events.put_events(Entries=entries)["FailedEntryCount"])
    m = scrape()
    count, total, _ = histogram(m, "bpfbus_rule_delivery_latency_seconds", bus="default",
                                rule="default/lat-rule")
    eq(5, count, "events the rule delivered (the sixth matched nothing)")
    if not 0 <= total < 30:
        raise AssertionError("sum %r" % total)
    # /usr/bin/aws sees the same five
    env = dict(os.environ, AWS_ACCESS_KEY_ID=KEY, AWS_SECRET_ACCESS_KEY=SECRET,
               AWS_DEFAULT_REGION=REGION, AWS_CONFIG_FILE="/dev/null",
               AWS_SHARED_CREDENTIALS_FILE="/dev/null", AWS_PAGER="")
    p = subprocess.run(["/usr/bin/aws", "--endpoint-url", H.url, "--output", "json", "sqs",
                        "get-queue-attributes", "--queue-url", H.queue_url("rule-q"),
                        "--attribute-names", "ApproximateNumberOfMessages"],
                       env=env, capture_output=True, text=True, timeout=60)
    eq(0, p.returncode, p.stderr)
    eq("5", json.loads(p.stdout)["Attributes"]["ApproximateNumberOfMessages"])
    eq(5, metric(m, "bpfbus_queue_sent_total", queue="rule-q"))


def topic_latency():
    sqs = boto3_client(H)
    sqs.create_queue(QueueName="topic-q")
    sns = boto3_client(H, service="sns")
    arn = sns.create_topic(Name="lat-topic")["TopicArn"]
    sns.subscribe(TopicArn=arn, Protocol="sqs",
                  Endpoint="arn:aws:sqs:%s:%s:topic-q" % (REGION, ACCOUNT))
    rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    rx.bind(("127.0.0.1", 0))
    rx.settimeout(10)
    sns.subscribe(TopicArn=arn, Protocol="udp", Endpoint="127.0.0.1:%d" % rx.getsockname()[1])
    for i in range(3):
        sns.publish(TopicArn=arn, Message="hello %d" % i)
    for _ in range(3):
        rx.recv(65536)
    rx.close()
    for _ in range(100):  # the outbox counts a delivery once the datagram is sent
        m = scrape()
        try:
            if histogram(m, "bpfbus_topic_delivery_latency_seconds", topic=arn,
                         protocol="udp")[0] == 3:
                break
        except KeyError:
            pass
        time.sleep(0.05)
    eq(3, histogram(m, "bpfbus_topic_delivery_latency_seconds", topic=arn, protocol="sqs")[0])
    eq(3, histogram(m, "bpfbus_topic_delivery_latency_seconds", topic=arn, protocol="udp")[0])
    eq(3, metric(m, "bpfbus_topic_published_total", topic=arn))
    eq(3, metric(m, "bpfbus_queue_sent_total", queue="topic-q"))


NAMES = ["families_and_types", "queue_age_and_counters", "dead_letters_counted",
         "request_latency", "rule_latency", "topic_latency", "host_exits_cleanly"]

if __name__ == "__main__":
    run_suite(NAMES, globals())
