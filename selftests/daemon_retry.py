#!/usr/bin/python3
# SPDX-License-Identifier: BSD-2-Clause
#
# EventBridge's RetryPolicy for rule targets against a running bpfbusd
# (--testing, fast back-off): deliveries that fail retriably (test.fail makes
# a queue target fail with ThrottlingException) are retried until they
# succeed, or until MaximumRetryAttempts or MaximumEventAgeInSeconds is
# exhausted and the event goes to the target's dead-letter queue with
# EventBridge's attributes; non-retriable failures go there at once; pending
# retries survive kill -9; the retry store is bounded with counted drops.
#
# Needs root (bpffs): SKIP otherwise. Environment: BPFBUS, BUILD, SRCTREE.
import json, os, signal, sys, time

sys.dont_write_bytecode = True # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from daemon_env import TESTS, cli, control_ok as ok, eventually, run_daemon_tests, status, test

DAEMON_ARGS = ("--testing", "--retry-base-ms", "100", "--retry-cap-ms", "400", "--retry-max", "20")
ENV = None

def sqs(action, **req):
    return ok({"op": "sqs", "action": action, "request": req})

def create(q):
    sqs("CreateQueue", QueueName=q)

def rule(name, source, **target):
    target.setdefault("id", "t")
    ok({"op": "rule.put", "name": name, "pattern": json.dumps({"source": [source]}),
        "targets": [target]})

def send_acked(source):
    """`bpfbus send ... ack 10`: its exit status says what the ack said."""
    return cli("send", "to", f"127.0.0.1:{ENV.port}", "bus", "default", "event",
               json.dumps({"source": source}), "ack", "10")

def send(source, n=1):
    for i in range(n):
        p = cli("send", "to", f"127.0.0.1:{ENV.port}", "bus", "default", "event",
                json.dumps({"source": source, "detail": {"n": i}}))
        assert p.returncode == 0, p.stderr

def fail(queue, count):
    ok({"op": "test.fail", "queue": queue, "count": count})

def receive(q, wait=0):
    return sqs("ReceiveMessage", QueueUrl=q, MaxNumberOfMessages=10, WaitTimeSeconds=wait,
               MessageAttributeNames=["All"]).get("Messages", [])

def attrs(m):
    return {k: v["StringValue"] for k, v in m.get("MessageAttributes", {}).items()}

@test
def a_failing_target_is_retried_until_it_succeeds():
    create("rq")
    rule("r1", "retry-ok", queue="rq", retry_attempts=5)
    before = status()
    fail("rq", 3)
    send("retry-ok")
    got = receive("rq", wait=10)
    assert len(got) == 1 and json.loads(got[0]["Body"])["source"] == "retry-ok", got
    s = status()
    assert s["retries_scheduled"] - before["retries_scheduled"] == 3, s
    assert s["delivery_failed"] - before["delivery_failed"] == 3, s
    assert s["retries_exhausted"] == before["retries_exhausted"], s

@test
def an_event_with_a_pending_retry_is_acknowledged():
    # durably in the retry store once its round committed: the producer gets
    # STORED (EventBridge's PutEvents succeeds; retries are the router's business)
    create("rq7")
    rule("r7", "retry-ack", queue="rq7", retry_attempts=5)
    before = status()
    fail("rq7", 2)
    p = send_acked("retry-ack")
    assert p.returncode == 0, p.stderr
    s = status()
    assert s["retries_scheduled"] - before["retries_scheduled"] == 1, s
    assert s["acks_sent"] - before["acks_sent"] == 1, s
    got = receive("rq7", wait=10)
    assert len(got) == 1 and json.loads(got[0]["Body"])["source"] == "retry-ack", got
    assert status()["retries_scheduled"] - before["retries_scheduled"] == 2

@test
def an_event_a_target_refused_for_good_is_not_acknowledged_as_stored():
    # no such queue: not retried, dead-lettered; the ack says FAILED
    create("dead8")
    rule("r8", "refused-ack", queue="no-such-queue-8", dlq="dead8", retry_attempts=185)
    p = send_acked("refused-ack")
    assert p.returncode == 1 and "failed" in p.stderr, (p.returncode, p.stderr)
    assert len(receive("dead8", wait=10)) == 1

@test
def exhausted_attempts_go_to_the_dead_letter_queue():
    create("rq2")
    create("dead2")
    rule("r2", "retry-dlq", queue="rq2", dlq="dead2", retry_attempts=2)
    fail("rq2", 100)
    send("retry-dlq")
    dl = receive("dead2", wait=10)
    assert len(dl) == 1 and json.loads(dl[0]["Body"])["source"] == "retry-dlq", dl
    a = attrs(dl[0])
    assert a["ERROR_CODE"] == "ThrottlingException", a
    assert a["EXHAUSTED_RETRY_CONDITION"] == "MaximumRetryAttempts", a
    assert a["RETRY_ATTEMPTS"] == "2", a
    assert a["RULE_ARN"].endswith(":rule/r2") and a["TARGET_ARN"].endswith(":rq2"), a
    assert receive("rq2") == []
    fail("rq2", 0)

@test
def the_event_age_limit_ends_retries():
    create("rq3")
    create("dead3")
    rule("r3", "retry-age", queue="rq3", dlq="dead3", retry_attempts=185, max_event_age=60)
    fail("rq3", 1000)
    send("retry-age")
    assert eventually(lambda: status()["retries_scheduled"] > 0)
    time.sleep(0.5)
    assert receive("dead3") == [], "dead-lettered before the age limit"
    ok({"op": "test.clock", "advance_ms": 61000})
    dl = receive("dead3", wait=10)
    assert len(dl) == 1, dl
    a = attrs(dl[0])
    assert a["EXHAUSTED_RETRY_CONDITION"] == "MaximumEventAgeInSeconds", a
    assert int(a["RETRY_ATTEMPTS"]) >= 1, a
    fail("rq3", 0)

@test
def non_retriable_errors_go_to_the_dead_letter_queue_at_once():
    create("dead4")
    rule("r4", "retry-none", queue="no-such-queue", dlq="dead4", retry_attempts=185)
    before = status()
    send("retry-none")
    dl = receive("dead4", wait=10)
    assert len(dl) == 1, dl
    a = attrs(dl[0])
    assert a["ERROR_CODE"] == "QueueDoesNotExist" and a["RETRY_ATTEMPTS"] == "0", a
    assert "EXHAUSTED_RETRY_CONDITION" not in a, a
    assert status()["retries_scheduled"] == before["retries_scheduled"]

@test
def a_pending_retry_survives_kill_9():
    create("rq5")
    rule("r5", "retry-crash", queue="rq5", retry_attempts=185)
    fail("rq5", 1000000)
    send("retry-crash")
    assert eventually(lambda: status()["retries_pending"] >= 1), status()
    ENV.daemon.send_signal(signal.SIGKILL)
    ENV.daemon.wait()
    ENV.start(*DAEMON_ARGS) # the failpoint is gone with the process
    # and so is the test clock's offset (61 s, the_event_age_limit_ends_retries):
    # the retry is due on the clock it was scheduled by, which never runs back
    ok({"op": "test.clock", "advance_ms": 62000})
    got = receive("rq5", wait=10)
    assert len(got) == 1 and json.loads(got[0]["Body"])["source"] == "retry-crash", got
    assert eventually(lambda: status()["retries_pending"] == 0), status()

@test
def the_retry_store_is_bounded():
    # this daemon keeps at most 20 retries (--retry-max 20)
    create("rq6")
    create("dead6")
    rule("r6", "retry-full", queue="rq6", dlq="dead6", retry_attempts=185)
    assert eventually(lambda: status()["retries_pending"] == 0), status()
    fail("rq6", 1000000)
    before = status()
    send("retry-full", 30)
    assert eventually(lambda: status()["retries_dropped"] - before["retries_dropped"] == 10), status()
    s = status()
    assert s["retries_pending"] == 20, s
    # what could not be kept was dead-lettered at once, not lost
    assert s["dead_lettered"] - before["dead_lettered"] == 10, s
    fail("rq6", 0)
    assert eventually(lambda: status()["retries_pending"] == 0, 15), status()
    n = int(sqs("GetQueueAttributes", QueueUrl="rq6", AttributeNames=["ApproximateNumberOfMessages"])
            ["Attributes"]["ApproximateNumberOfMessages"])
    assert n == 20, n
    got = receive("dead6")
    assert len(got) == 10 and all(attrs(m)["ERROR_CODE"] == "ThrottlingException" for m in got), got

def started(env):
    global ENV
    ENV = env

run_daemon_tests(TESTS, *DAEMON_ARGS, on_env=started)
