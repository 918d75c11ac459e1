#!/usr/bin/python3
# SPDX-License-Identifier: BSD-2-Clause
#
# SQS behaviour against a running bpfbusd started with --testing, whose store
# clock the test moves forward (control request test.clock): deduplication
# inside and after the 5-minute window and DeduplicationScope, per-message and
# per-queue delays, retention expiry, message move tasks (rate, cancel, list),
# FIFO order under concurrent consumers, and SQS's error name for each limit.
# Requests go over the control socket (the daemon path: control socket -> SQS
# dispatcher -> LMDB store), as the CLI sends them.
#
# Needs root (bpffs): SKIP otherwise. Environment: BPFBUS, BUILD, SRCTREE.
import json, os, sys, threading, time

sys.dont_write_bytecode = True # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from daemon_env import control, eventually, run_daemon_tests

TESTS = [] # filled by @test

def test(fn):
    TESTS.append(fn)
    return fn

def sqs(action, **req):
    """The response of an SQS action; raises on an error."""
    r = control({"op": "sqs", "action": action, "request": req})
    if not r["ok"]:
        raise AssertionError(f"{action}: {r['error']}: {r['message']}")
    return r["result"]

def sqs_error(action, **req):
    """The (error, message) of an SQS action that must fail."""
    r = control({"op": "sqs", "action": action, "request": req})
    assert not r["ok"], f"{action} {req} succeeded: {r}"
    return r["error"], r["message"]

def advance(seconds):
    r = control({"op": "test.clock", "advance_ms": int(seconds * 1000)})
    assert r["ok"], r

def create(name, **attrs):
    req = {"QueueName": name}
    if attrs:
        req["Attributes"] = {k: str(v) for k, v in attrs.items()}
    return sqs("CreateQueue", **req)["QueueUrl"]

def arn(q):
    return sqs("GetQueueAttributes", QueueUrl=q, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]

def counts(q):
    a = sqs("GetQueueAttributes", QueueUrl=q, AttributeNames=["All"])["Attributes"]
    return (int(a["ApproximateNumberOfMessages"]), int(a["ApproximateNumberOfMessagesNotVisible"]),
            int(a["ApproximateNumberOfMessagesDelayed"]))

def receive(q, n=10, **kw):
    return sqs("ReceiveMessage", QueueUrl=q, MaxNumberOfMessages=n, **kw).get("Messages", [])

def drain(q):
    got = []
    while True:
        ms = receive(q)
        if not ms:
            return got
        for m in ms:
            sqs("DeleteMessage", QueueUrl=q, ReceiptHandle=m["ReceiptHandle"])
        got += [m["Body"] for m in ms]

@test
def test_requests_check_their_arguments():
    r = control({"op": "test.clock", "advance_ms": -1})
    assert not r["ok"] and r["error"] == "ValidationException", r
    r = control({"op": "test.clock"})
    assert not r["ok"] and "advance_ms" in r["message"], r
    r = control({"op": "test.nothing"})
    assert not r["ok"] and r["error"] == "UnknownOperation", r

@test
def deduplication_inside_and_after_the_five_minute_window():
    create("d.fifo", FifoQueue="true")
    first = sqs("SendMessage", QueueUrl="d.fifo", MessageBody="a", MessageGroupId="g",
                MessageDeduplicationId="x")
    advance(299)
    again = sqs("SendMessage", QueueUrl="d.fifo", MessageBody="b", MessageGroupId="g",
                MessageDeduplicationId="x")
    assert again["MessageId"] == first["MessageId"], (first, again)
    advance(2) # 301 s after the first send: the window has passed
    third = sqs("SendMessage", QueueUrl="d.fifo", MessageBody="c", MessageGroupId="g",
                MessageDeduplicationId="x")
    assert third["MessageId"] != first["MessageId"], (first, third)
    assert int(third["SequenceNumber"]) > int(first["SequenceNumber"])
    assert drain("d.fifo") == ["a", "c"]

@test
def content_based_deduplication_window():
    create("cbd.fifo", FifoQueue="true", ContentBasedDeduplication="true")
    one = sqs("SendMessage", QueueUrl="cbd.fifo", MessageBody="same", MessageGroupId="g")
    advance(200)
    two = sqs("SendMessage", QueueUrl="cbd.fifo", MessageBody="same", MessageGroupId="g2")
    assert one["MessageId"] == two["MessageId"], "the body's SHA-256 is the id (scope: queue)"
    advance(101)
    three = sqs("SendMessage", QueueUrl="cbd.fifo", MessageBody="same", MessageGroupId="g")
    assert three["MessageId"] != one["MessageId"]
    assert drain("cbd.fifo") == ["same", "same"]

@test
def deduplication_scope_message_group():
    create("scope.fifo", FifoQueue="true", DeduplicationScope="messageGroup",
           FifoThroughputLimit="perMessageGroupId")
    a = sqs("SendMessage", QueueUrl="scope.fifo", MessageBody="1", MessageGroupId="g1",
            MessageDeduplicationId="same")
    b = sqs("SendMessage", QueueUrl="scope.fifo", MessageBody="2", MessageGroupId="g2",
            MessageDeduplicationId="same")
    c = sqs("SendMessage", QueueUrl="scope.fifo", MessageBody="3", MessageGroupId="g1",
            MessageDeduplicationId="same")
    assert a["MessageId"] != b["MessageId"] and c["MessageId"] == a["MessageId"], (a, b, c)
    assert sorted(drain("scope.fifo")) == ["1", "2"]
    # perMessageGroupId needs DeduplicationScope messageGroup, as in SQS
    e, msg = sqs_error("SetQueueAttributes", QueueUrl="scope.fifo",
                       Attributes={"DeduplicationScope": "queue"})
    assert e == "InvalidAttributeValue" and "FifoThroughputLimit" in msg, (e, msg)
    e, msg = sqs_error("CreateQueue", QueueName="tput.fifo",
                       Attributes={"FifoQueue": "true", "FifoThroughputLimit": "perMessageGroupId"})
    assert e == "InvalidAttributeValue" and "DeduplicationScope" in msg, (e, msg)
    e, msg = sqs_error("CreateQueue", QueueName="std-scope",
                       Attributes={"DeduplicationScope": "queue"})
    assert e == "InvalidAttributeName", (e, msg)

@test
def per_queue_and_per_message_delays():
    create("late", DelaySeconds=120)
    sqs("SendMessage", QueueUrl="late", MessageBody="queue-delay")
    sqs("SendMessage", QueueUrl="late", MessageBody="own-delay", DelaySeconds=900)
    sqs("SendMessage", QueueUrl="late", MessageBody="no-delay", DelaySeconds=0)
    assert counts("late") == (1, 0, 2), counts("late")
    assert drain("late") == ["no-delay"]
    advance(121)
    assert drain("late") == ["queue-delay"]
    assert counts("late") == (0, 0, 1)
    advance(780)
    assert drain("late") == ["own-delay"]
    create("late.fifo", FifoQueue="true", ContentBasedDeduplication="true", DelaySeconds=60)
    e, _ = sqs_error("SendMessage", QueueUrl="late.fifo", MessageBody="x", MessageGroupId="g",
                     DelaySeconds=5)
    assert e == "InvalidParameterValue", e
    sqs("SendMessage", QueueUrl="late.fifo", MessageBody="x", MessageGroupId="g")
    assert receive("late.fifo") == []
    advance(61)
    assert drain("late.fifo") == ["x"]

@test
def retention_expiry():
    create("short", MessageRetentionPeriod=60)
    sqs("SendMessage", QueueUrl="short", MessageBody="old")
    advance(30)
    sqs("SendMessage", QueueUrl="short", MessageBody="young")
    advance(31) # "old" is 61 s old, "young" 31 s
    # the daemon sweeps once a second
    assert eventually(lambda: counts("short")[0] == 1), counts("short")
    assert drain("short") == ["young"]

def dlq_with(source, dlq, n, receives=1):
    create(dlq)
    create(source, VisibilityTimeout=0,
           RedrivePolicy=json.dumps({"deadLetterTargetArn": arn(dlq), "maxReceiveCount": receives}))
    sqs("SendMessageBatch", QueueUrl=source,
        Entries=[{"Id": str(i), "MessageBody": f"m{i}"} for i in range(n)])
    for _ in range(receives):
        assert len(receive(source)) == n
    assert receive(source) == [] # past maxReceiveCount: moved
    assert counts(dlq)[0] == n, counts(dlq)

def tasks(dlq):
    return sqs("ListMessageMoveTasks", SourceArn=arn(dlq), MaxResults=10)["Results"]

@test
def message_move_task_with_a_rate_back_to_the_source():
    dlq_with("mv-src", "mv-dlq", 6)
    t0 = time.monotonic()
    h = sqs("StartMessageMoveTask", SourceArn=arn("mv-dlq"), MaxNumberOfMessagesPerSecond=2)
    assert h["TaskHandle"], h
    e, _ = sqs_error("StartMessageMoveTask", SourceArn=arn("mv-dlq"))
    assert e == "UnsupportedOperation", e # one running task per source
    running = tasks("mv-dlq")
    assert running[0]["Status"] == "RUNNING" and running[0]["MaxNumberOfMessagesPerSecond"] == 2, running
    assert eventually(lambda: tasks("mv-dlq")[0]["Status"] == "COMPLETED", 10), tasks("mv-dlq")
    took = time.monotonic() - t0
    done = tasks("mv-dlq")[0]
    assert done["ApproximateNumberOfMessagesMoved"] == 6, done
    assert took >= 2.0, f"6 messages at 2/s moved in {took:.2f} s"
    assert sorted(drain("mv-src")) == [f"m{i}" for i in range(6)]

@test
def message_move_task_cancelled_and_to_another_queue():
    dlq_with("mc-src", "mc-dlq", 10)
    create("mc-other")
    h = sqs("StartMessageMoveTask", SourceArn=arn("mc-dlq"), DestinationArn=arn("mc-other"),
            MaxNumberOfMessagesPerSecond=1)["TaskHandle"]
    time.sleep(1.5)
    moved = sqs("CancelMessageMoveTask", TaskHandle=h)["ApproximateNumberOfMessagesMoved"]
    assert moved < 10, moved
    time.sleep(2.2)
    t = tasks("mc-dlq")[0]
    assert t["Status"] == "CANCELLED", t
    n_other, n_dlq = counts("mc-other")[0], counts("mc-dlq")[0]
    assert n_other == t["ApproximateNumberOfMessagesMoved"] and n_other + n_dlq == 10, (t, n_other, n_dlq)
    assert counts("mc-src")[0] == 0, "a destination was given: nothing back to the source"
    e, _ = sqs_error("CancelMessageMoveTask", TaskHandle=h)
    assert e in ("ResourceNotFoundException", "UnsupportedOperation"), e

@test
def fifo_order_under_concurrent_consumers():
    create("conc.fifo", FifoQueue="true", ContentBasedDeduplication="true")
    groups, per_group = 3, 30
    for n in range(per_group):
        sqs("SendMessageBatch", QueueUrl="conc.fifo",
            Entries=[{"Id": f"g{g}", "MessageBody": f"{g}:{n}", "MessageGroupId": f"g{g}"}
                     for g in range(groups)])
    seen, lock, errors = [], threading.Lock(), []

    def consumer():
        try:
            idle = 0
            while idle < 3:
                ms = receive("conc.fifo", 4, VisibilityTimeout=30)
                if not ms:
                    idle += 1
                    time.sleep(0.05)
                    continue
                idle = 0
                with lock: # recorded before the delete that unlocks the group
                    seen.extend(m["Body"] for m in ms)
                for m in ms:
                    sqs("DeleteMessage", QueueUrl="conc.fifo", ReceiptHandle=m["ReceiptHandle"])
        except Exception as e: # reported by the main thread
            errors.append(e)

    threads = [threading.Thread(target=consumer) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    for g in range(groups):
        got = [int(b.split(":")[1]) for b in seen if b.startswith(f"{g}:")]
        assert got == list(range(per_group)), (g, got)
    assert len(seen) == groups * per_group

@test
def in_flight_quota():
    # this daemon runs with --max-inflight 40 (SQS: 120,000)
    create("busy")
    create("busy.fifo", FifoQueue="true", ContentBasedDeduplication="true")
    for q in ("busy", "busy.fifo"):
        for b in range(5):
            sqs("SendMessageBatch", QueueUrl=q, Entries=[
                {"Id": str(i), "MessageBody": f"{b}-{i}", **({"MessageGroupId": f"g{b}-{i}"} if "fifo" in q else {})}
                for i in range(10)])
        got = sum(len(receive(q, 10, VisibilityTimeout=600)) for _ in range(4))
        assert got == 40, (q, got)
    e, msg = sqs_error("ReceiveMessage", QueueUrl="busy", MaxNumberOfMessages=1)
    assert e == "OverLimit" and "in flight" in msg, (e, msg)
    assert receive("busy.fifo") == [], "a FIFO queue at the quota returns nothing, without an error"
    advance(601) # visible again: the places are free
    assert len(receive("busy", 10)) == 10 and len(receive("busy.fifo", 10)) == 10

@test
def every_limit_and_its_error():
    create("lim")
    create("lim.fifo", FifoQueue="true")
    ten = {f"a{i}": {"DataType": "String", "StringValue": "v"} for i in range(11)}
    big = "x" * 1048577
    cases = [
        ("SendMessage", dict(QueueUrl="lim", MessageBody=big), "InvalidParameterValue"),
        ("SendMessage", dict(QueueUrl="lim", MessageBody="x", MessageAttributes=ten),
         "InvalidParameterValue"),
        ("SendMessage", dict(QueueUrl="lim", MessageBody="x", DelaySeconds=901),
         "InvalidParameterValue"),
        ("SendMessage", dict(QueueUrl="lim", MessageBody=""), "MissingParameter"),
        ("SendMessage", dict(QueueUrl="lim.fifo", MessageBody="x"), "MissingParameter"),
        ("SendMessage", dict(QueueUrl="lim.fifo", MessageBody="x", MessageGroupId="g"),
         "InvalidParameterValue"), # no dedup id and no content-based deduplication
        ("SendMessageBatch", dict(QueueUrl="lim", Entries=[
            {"Id": str(i), "MessageBody": "x"} for i in range(11)]), "TooManyEntriesInBatchRequest"),
        ("SendMessageBatch", dict(QueueUrl="lim", Entries=[]), "EmptyBatchRequest"),
        ("SendMessageBatch", dict(QueueUrl="lim", Entries=[
            {"Id": "a", "MessageBody": "x"}, {"Id": "a", "MessageBody": "y"}]),
         "BatchEntryIdsNotDistinct"),
        ("SendMessageBatch", dict(QueueUrl="lim", Entries=[{"Id": "bad id!", "MessageBody": "x"}]),
         "InvalidBatchEntryId"),
        ("SendMessageBatch", dict(QueueUrl="lim", Entries=[
            {"Id": str(i), "MessageBody": "x" * 200000} for i in range(6)]), "BatchRequestTooLong"),
        ("ReceiveMessage", dict(QueueUrl="lim", MaxNumberOfMessages=11), "InvalidParameterValue"),
        ("ReceiveMessage", dict(QueueUrl="lim", WaitTimeSeconds=21), "InvalidParameterValue"),
        ("ReceiveMessage", dict(QueueUrl="lim", VisibilityTimeout=43201), "InvalidParameterValue"),
        ("ChangeMessageVisibility", dict(QueueUrl="lim", ReceiptHandle="nonsense",
                                         VisibilityTimeout=10), "ReceiptHandleIsInvalid"),
        ("DeleteMessage", dict(QueueUrl="lim", ReceiptHandle="nonsense"), "ReceiptHandleIsInvalid"),
        ("CreateQueue", dict(QueueName="q" * 81), "InvalidParameterValue"),
        ("CreateQueue", dict(QueueName="nofifo", Attributes={"FifoQueue": "true"}),
         "InvalidParameterValue"),
        ("CreateQueue", dict(QueueName="vt", Attributes={"VisibilityTimeout": "43201"}),
         "InvalidAttributeValue"),
        ("CreateQueue", dict(QueueName="rt", Attributes={"MessageRetentionPeriod": "59"}),
         "InvalidAttributeValue"),
        ("CreateQueue", dict(QueueName="rt", Attributes={"MessageRetentionPeriod": "1209601"}),
         "InvalidAttributeValue"),
        ("CreateQueue", dict(QueueName="dl", Attributes={"DelaySeconds": "901"}),
         "InvalidAttributeValue"),
        ("CreateQueue", dict(QueueName="wt", Attributes={"ReceiveMessageWaitTimeSeconds": "21"}),
         "InvalidAttributeValue"),
        ("CreateQueue", dict(QueueName="ms", Attributes={"MaximumMessageSize": "1023"}),
         "InvalidAttributeValue"),
        ("CreateQueue", dict(QueueName="rp", Attributes={"RedrivePolicy": json.dumps(
            {"deadLetterTargetArn": "arn:aws:sqs:us-east-1:000000000000:lim", "maxReceiveCount": 1001})}),
         "InvalidParameterValue"),
        ("CreateQueue", dict(QueueName="rf", Attributes={"RedrivePolicy": json.dumps(
            {"deadLetterTargetArn": "arn:aws:sqs:us-east-1:000000000000:lim.fifo", "maxReceiveCount": 1})}),
         "InvalidParameterValue"), # a DLQ's type must match its source's
        ("TagQueue", dict(QueueUrl="lim", Tags={f"k{i}": "v" for i in range(51)}),
         "InvalidParameterValue"),
        ("GetQueueUrl", dict(QueueName="nosuch"), "QueueDoesNotExist"),
    ]
    wrong = []
    for action, req, want in cases:
        r = control({"op": "sqs", "action": action, "request": req})
        short = {k: (v if len(str(v)) < 60 else str(v)[:60] + "...") for k, v in req.items()}
        if r["ok"]:
            wrong.append(f"{action} {short}: succeeded, want {want}")
        elif r["error"] != want or not r["message"]:
            wrong.append(f"{action} {short}: {r['error']}: {r['message']}; want {want}")
    assert not wrong, "\n".join(wrong)

run_daemon_tests(TESTS, "--testing", "--max-inflight", "40")
