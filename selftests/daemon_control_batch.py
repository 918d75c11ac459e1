#!/usr/bin/python3
# SPDX-License-Identifier: BSD-2-Clause
#
# Group commit of control requests against a running bpfbusd: queue requests
# that arrive together -- pipelined on one connection, or from several
# clients at once -- share one group commit, every one of them is answered,
# each exactly as it would be alone (successes and errors side by side), and
# what was answered is durable: kill -9 right after the answers loses none.
#
# Needs root (bpffs): SKIP otherwise. Environment: BPFBUS, BUILD, SRCTREE.
import os, signal, sys

sys.dont_write_bytecode = True # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from daemon_env import (TESTS, control_connect as connect, control_frame as frame,
                        control_ok as ok, control_read as read_frame, run_daemon_tests, status,
                        test)

ENV = None

def send_req(q, body):
    return {"op": "sqs", "action": "SendMessage", "request": {"QueueUrl": q, "MessageBody": body}}

def visible(q):
    a = ok({"op": "sqs", "action": "GetQueueAttributes",
            "request": {"QueueUrl": q, "AttributeNames": ["ApproximateNumberOfMessages"]}})
    return int(a["Attributes"]["ApproximateNumberOfMessages"])

@test
def pipelined_requests_share_one_commit():
    ok({"op": "sqs", "action": "CreateQueue", "request": {"QueueName": "pipe"}})
    before = status()
    with connect() as s:
        # one write: the daemon reads all ten in one turn
        s.sendall(b"".join(frame(send_req("pipe", f"m{i}")) for i in range(10)))
        answers = [read_frame(s) for _ in range(10)]
    assert all(a["ok"] and a["result"]["MessageId"] for a in answers), answers
    s2 = status()
    assert s2["control_grouped"] - before["control_grouped"] == 10, s2
    assert s2["control_commits"] - before["control_commits"] == 1, s2
    assert visible("pipe") == 10

@test
def errors_and_successes_in_one_batch_answer_as_alone():
    with connect() as s:
        s.sendall(frame(send_req("pipe", "ok-1")) + frame(send_req("no-such-queue", "x")) +
                  frame(send_req("pipe", "ok-2")))
        a = [read_frame(s) for _ in range(3)]
    assert a[0]["ok"] and a[2]["ok"], a
    assert not a[1]["ok"] and a[1]["error"] == "QueueDoesNotExist" and a[1]["status"] == 400, a
    assert visible("pipe") == 12

@test
def several_clients_share_commits():
    ok({"op": "sqs", "action": "CreateQueue", "request": {"QueueName": "many"}})
    before = status()
    socks = [connect() for _ in range(8)]
    try:
        for r in range(10):
            for i, s in enumerate(socks):
                s.sendall(frame(send_req("many", f"c{i}-r{r}")))
            for s in socks:
                a = read_frame(s)
                assert a["ok"], a
    finally:
        for s in socks:
            s.close()
    s2 = status()
    grouped = s2["control_grouped"] - before["control_grouped"]
    commits = s2["control_commits"] - before["control_commits"]
    assert grouped == 80, s2
    # eight clients' requests written before any answer is read: they meet in
    # the loop's turns, far fewer commits than requests
    assert commits < grouped, (commits, grouped)
    print(f"# 80 requests of 8 clients in {commits} group commits")
    assert visible("many") == 80

@test
def answered_requests_survive_kill_9():
    ok({"op": "sqs", "action": "CreateQueue", "request": {"QueueName": "durable"}})
    with connect() as s:
        s.sendall(b"".join(frame(send_req("durable", f"d{i}")) for i in range(20)))
        answers = [read_frame(s) for _ in range(20)]
    assert all(a["ok"] for a in answers), answers
    ENV.daemon.send_signal(signal.SIGKILL)
    ENV.daemon.wait()
    ENV.start(*ENV.daemon_args)
    assert visible("durable") == 20

def started(env):
    global ENV
    ENV = env

run_daemon_tests(TESTS, on_env=started)
