#!/usr/bin/python3
# SPDX-License-Identifier: BSD-2-Clause
#
# SQS behaviour through the CLI against a running bpfbusd with a real LMDB
# store: the daemon path (control socket -> SQS dispatcher -> store), not the
# store's semantics, which its unit tests cover. Visibility expiry and
# redelivery, a dead-letter queue after maxReceiveCount, FIFO order and group
# locking, long polls woken by a send and not blocking other clients or the
# intake, batch partial failure, limit errors and exit statuses.
#
# Needs root (bpffs): SKIP otherwise. Environment: BPFBUS, BUILD, SRCTREE.
import json, os, subprocess, sys, time

sys.dont_write_bytecode = True # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from daemon_env import BPFBUS, cli as cli_run, control, run_daemon_tests

TESTS = [] # filled by @test

def test(fn):
    TESTS.append(fn)
    return fn

def cli(*args, check=True, timeout=60):
    p = cli_run(*args, timeout=timeout)
    if check and p.returncode:
        raise AssertionError(f"bpfbus {' '.join(args)}: exit {p.returncode}: {p.stderr.strip()}")
    return p

def j(*args):
    out = cli(*args).stdout
    return json.loads(out) if out.strip() else {}

def receive(q, *extra):
    return j("queue", "receive", q, *extra).get("Messages", [])

def attr(m, name):
    return m["Attributes"][name]

@test
def visibility_expiry_and_redelivery():
    j("queue", "create", "vis")
    j("queue", "send", "vis", "body", "v1")
    m1 = receive("vis", "visibility", "1")
    assert len(m1) == 1 and attr(m1[0], "ApproximateReceiveCount") == "1", m1
    assert receive("vis") == [], "in flight, yet received again"
    time.sleep(1.3)
    m2 = receive("vis", "visibility", "30")
    assert len(m2) == 1 and m2[0]["MessageId"] == m1[0]["MessageId"], m2
    assert attr(m2[0], "ApproximateReceiveCount") == "2"
    assert m2[0]["ReceiptHandle"] != m1[0]["ReceiptHandle"]
    # the old handle no longer deletes it; the new one does
    old = cli("queue", "delete-message", "vis", m1[0]["ReceiptHandle"], check=False)
    cli("queue", "delete-message", "vis", m2[0]["ReceiptHandle"])
    time.sleep(0.1)
    a = j("queue", "attributes", "vis")["Attributes"]
    assert a["ApproximateNumberOfMessages"] == "0" and a["ApproximateNumberOfMessagesNotVisible"] == "0", (a, old.stderr)

@test
def dead_letter_queue_after_max_receive_count():
    dlq = j("queue", "create", "dlq")["QueueUrl"]
    arn = j("queue", "attributes", "dlq", "name", "QueueArn")["Attributes"]["QueueArn"]
    policy = json.dumps({"deadLetterTargetArn": arn, "maxReceiveCount": 2})
    j("queue", "create", "src", "attr", "RedrivePolicy=" + policy, "attr", "VisibilityTimeout=1")
    j("queue", "send", "src", "body", "poison")
    for i in range(2):
        got = receive("src")
        assert len(got) == 1, f"receive {i + 1}: {got}"
        time.sleep(1.2)
    assert receive("src") == [], "a third receive beyond maxReceiveCount"
    moved = receive("dlq")
    assert len(moved) == 1 and moved[0]["Body"] == "poison", moved
    assert dlq.endswith("/dlq")

@test
def fifo_order_and_group_lock():
    j("queue", "create", "o.fifo", "attr", "FifoQueue=true", "attr", "ContentBasedDeduplication=true")
    for i in range(5):
        j("queue", "send", "o.fifo", "body", f"m{i}", "group", "g")
    j("queue", "send", "o.fifo", "body", "m0", "group", "g") # duplicate: deduplicated
    got = receive("o.fifo", "max", "2")
    assert [m["Body"] for m in got] == ["m0", "m1"], got
    assert receive("o.fifo", "max", "10") == [], "the group is locked while m0, m1 are in flight"
    for m in got:
        cli("queue", "delete-message", "o.fifo", m["ReceiptHandle"])
    rest = receive("o.fifo", "max", "10")
    assert [m["Body"] for m in rest] == ["m2", "m3", "m4"], rest
    seqs = [int(attr(m, "SequenceNumber")) for m in got + rest]
    assert seqs == sorted(seqs), seqs

@test
def long_poll_woken_by_send_without_blocking_others():
    j("queue", "create", "lp")
    t0 = time.monotonic()
    waiter = subprocess.Popen([BPFBUS, "-j", "queue", "receive", "lp", "wait", "10"],
                              stdout=subprocess.PIPE, text=True)
    time.sleep(0.5)
    # another client is served while the receive waits
    t1 = time.monotonic()
    j("queue", "list")
    assert time.monotonic() - t1 < 1.0, "a parked long poll held up another client"
    j("queue", "send", "lp", "body", "wake")
    out, _ = waiter.communicate(timeout=15)
    took = time.monotonic() - t0
    msgs = json.loads(out).get("Messages", [])
    assert [m["Body"] for m in msgs] == ["wake"] and took < 3, (msgs, took)
    # and a wait on an empty queue ends at its deadline, empty
    t0 = time.monotonic()
    assert receive("lp", "wait", "1") == [] and 0.9 < time.monotonic() - t0 < 3.5

@test
def long_poll_does_not_block_intake():
    cli("bus", "add", "lpbus", check=False)
    cli("rule", "add", "all", "bus", "lpbus", "pattern", '{"source":["lp"]}', "target", "queue", "intake")
    j("queue", "create", "intake")
    j("queue", "create", "idle")
    waiter = subprocess.Popen([BPFBUS, "-j", "queue", "receive", "idle", "wait", "5"],
                              stdout=subprocess.PIPE, text=True)
    time.sleep(0.3)
    before = j("daemon", "status")["delivered"]
    cli("send", "to", f"127.0.0.1:{PORT}", "bus", "lpbus", "event", '{"source":"lp"}', "count", "5")
    for _ in range(50):
        if j("daemon", "status")["delivered"] - before >= 5:
            break
        time.sleep(0.05)
    delivered = j("daemon", "status")["delivered"] - before
    still_waiting = waiter.poll() is None
    waiter.communicate(timeout=10)
    assert delivered == 5 and still_waiting, (delivered, still_waiting)
    assert len(receive("intake", "max", "10")) == 5

@test
def target_dead_letter_queue():
    j("queue", "create", "dead")
    cli("rule", "add", "dl", "pattern", '{"source":["dl"]}',
        "target", "queue", "missing-q", "dlq", "dead")
    cli("send", "to", f"127.0.0.1:{PORT}", "bus", "default", "event", '{"source":"dl","n":1}')
    msgs = receive("dead", "wait", "5")
    assert len(msgs) == 1 and json.loads(msgs[0]["Body"]) == {"source": "dl", "n": 1}, msgs
    a = {k: v["StringValue"] for k, v in msgs[0]["MessageAttributes"].items()}
    assert a["ERROR_CODE"] == "QueueDoesNotExist", a
    assert a["RULE_ARN"].startswith("arn:aws:events:") and a["RULE_ARN"].endswith(":rule/dl"), a
    assert a["TARGET_ARN"].startswith("arn:aws:sqs:") and a["TARGET_ARN"].endswith(":missing-q"), a
    assert j("daemon", "status")["dead_lettered"] == 1
    listed = j("rule", "describe", "dl")["targets"]
    assert listed == [{"id": "missing-q", "queue": "missing-q", "dlq": "dead"}], listed

@test
def batch_partial_failure():
    j("queue", "create", "b")
    req = {"QueueUrl": "b", "Entries": [
        {"Id": "ok1", "MessageBody": "one"},
        {"Id": "bad", "MessageBody": "two", "DelaySeconds": 901},
        {"Id": "ok2", "MessageBody": "three"}]}
    r = j("queue", "call", "SendMessageBatch", json.dumps(req))
    assert sorted(e["Id"] for e in r["Successful"]) == ["ok1", "ok2"], r
    assert [e["Id"] for e in r["Failed"]] == ["bad"] and r["Failed"][0]["SenderFault"], r
    assert sorted(m["Body"] for m in receive("b", "max", "10")) == ["one", "three"]

@test
def limit_errors_and_exit_statuses():
    p = cli("queue", "receive", "b", "max", "11", check=False)
    assert p.returncode == 2 and "MaxNumberOfMessages" in p.stderr + p.stdout, (p.returncode, p.stderr)
    j("queue", "create", "small", "attr", "MaximumMessageSize=1024")
    p = cli("queue", "send", "small", "body", "x" * 1025, check=False)
    assert p.returncode == 2 and "InvalidParameterValue" in p.stderr, (p.returncode, p.stderr[:300])
    j("queue", "send", "small", "body", "x" * 1024)
    p = cli("queue", "send", "nosuch", "body", "x", check=False)
    assert p.returncode == 1 and "QueueDoesNotExist" in p.stderr, (p.returncode, p.stderr)
    p = cli("queue", "create", "bad name!", check=False)
    assert p.returncode == 2, (p.returncode, p.stderr)
    p = cli("queue", "call", "NoSuchAction", "{}", check=False)
    assert p.returncode == 2 and "InvalidAction" in p.stderr, (p.returncode, p.stderr)

@test
def test_hooks_refused_without_testing():
    r = control({"op": "test.clock", "advance_ms": 1000})
    assert not r["ok"] and r["error"] == "UnknownOperation" and "--testing" in r["message"], r

def learn_port(env):
    global PORT
    PORT = env.port

run_daemon_tests(TESTS, on_env=learn_port)
