#!/usr/bin/python3
# SPDX-License-Identifier: BSD-2-Clause
#
# Crash safety of bpfbusd under load: a producer sends events with
# acknowledged ingest into a bus whose rule targets a standard and a FIFO
# queue; consumers receive and delete through the CLI all the while; the
# daemon is killed with SIGKILL at random moments and restarted, CYCLES times
# (default 20). Then, with everything drained: every acknowledged event is in
# both queues (none lost), was stored once (one message id), no message whose
# delete succeeded came back, and the FIFO queue gave the events in order.
#
# Needs root (bpffs): SKIP otherwise. Environment: BPFBUS, BUILD, SRCTREE,
# CRASH_CYCLES, CRASH_EVENTS.
import json, os, random, subprocess, sys, threading, time

sys.dont_write_bytecode = True # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from daemon_env import BPFBUS, DaemonEnv, cli

CYCLES = int(os.environ.get("CRASH_CYCLES", "20"))
EVENTS = int(os.environ.get("CRASH_EVENTS", "3000"))
RATE = int(os.environ.get("CRASH_RATE", "100")) # the producer outlasts the kills
NAMES = ["producer exits 0: every event acknowledged", f"{CYCLES} kill -9 cycles under load",
         "no acknowledged event lost (standard queue)", "each event stored once",
         "no deleted message reappeared", "FIFO queue: every event, in order"]
NAMES[1] = f"{CYCLES} kill -9 cycles, all while the producer sends"

def ok(p):
    return p.returncode == 0

class Consumer(threading.Thread):
    """Receives and deletes until stopped; records what it saw."""
    def __init__(self, queue):
        super().__init__(daemon=True)
        self.queue, self.stop, self.idle = queue, False, 0
        self.received = []     # (body, message id) in order of receipt
        self.deleted = {}      # message id -> index in received when its delete succeeded
        self.reappeared = []
    def run(self):
        while not self.stop:
            p = cli("queue", "receive", self.queue, "max", "10", "visibility", "5", "wait", "1")
            if not ok(p):
                time.sleep(0.1) # the daemon is down
                continue
            msgs = json.loads(p.stdout).get("Messages", [])
            self.idle = 0 if msgs else self.idle + 1
            for m in msgs:
                if m["MessageId"] in self.deleted:
                    self.reappeared.append(m["Body"])
                self.received.append((m["Body"], m["MessageId"]))
            if not msgs:
                continue
            req = {"QueueUrl": self.queue, "Entries": [
                {"Id": str(k), "ReceiptHandle": m["ReceiptHandle"]} for k, m in enumerate(msgs)]}
            p = cli("queue", "call", "DeleteMessageBatch", json.dumps(req))
            if ok(p):
                for e in json.loads(p.stdout).get("Successful", []):
                    self.deleted[msgs[int(e["Id"])]["MessageId"]] = len(self.received)

# What the producer sends into, and the two queues that receive it: a bus whose
# rule targets a standard and a FIFO queue, or (selftests/sns_crash.py) a FIFO
# SNS topic whose two FIFO queue subscriptions get the bare messages.
BUS_SETUP = ([["bus", "add", "crash"], ["queue", "create", "c-std"],
              ["queue", "create", "c.fifo", "attr", "FifoQueue=true",
               "attr", "ContentBasedDeduplication=true"],
              ["rule", "add", "all", "bus", "crash", "pattern", '{"source":["crash"]}',
               "target", "queue", "c-std", "target", "queue", "c.fifo"]],
             ["bus", "crash"], ("c-std", "c.fifo"))
TOPIC_SETUP = ([["topic", "create", "crash.fifo", "attr", "FifoTopic=true",
                 "attr", "ContentBasedDeduplication=true"]] +
               [cmd for q in ("c-std.fifo", "c.fifo") for cmd in (
                   ["queue", "create", q, "attr", "FifoQueue=true"],
                   ["subscription", "create", "crash.fifo", "sqs", q,
                    "attr", "RawMessageDelivery=true"])],
               ["topic", "crash.fifo"], ("c-std.fifo", "c.fifo"))


def main(setup=BUS_SETUP):
    commands, target, queues = setup
    env = DaemonEnv(NAMES)
    port, tmp = env.port, env.tmp
    results, daemon = [], None
    start = env.start
    try:
        daemon = start()
        for cmd in commands:
            p = cli(*cmd)
            assert ok(p), p.stderr
        events = tmp + "/events.jsonl"
        with open(events, "w") as f:
            for i in range(EVENTS):
                f.write(json.dumps({"source": "crash", "detail": {"i": i}}) + "\n")
        producer = subprocess.Popen([BPFBUS, "send", "to", f"127.0.0.1:{port}", *target,
                                     "group", "g", "file", events, "rate", str(RATE), "ack", "120"],
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        consumers = [Consumer(q) for q in queues]
        for c in consumers:
            c.start()
        kills = 0 # while the producer was still sending
        for _ in range(CYCLES):
            time.sleep(random.uniform(0.2, 1.5))
            kills += producer.poll() is None
            daemon.kill()
            daemon.wait()
            daemon = start()
        print(f"# {kills} of {CYCLES} kills while the producer was sending")
        out, err = producer.communicate(timeout=300)
        print("# " + err.strip().replace("\n", "\n# "))
        results.append(producer.returncode == 0)
        results.append(kills == CYCLES and daemon.poll() is None)
        # drain
        # idle longer than the 5 s visibility timeout: a message received just
        # before a kill (its FIFO group blocked meanwhile) is visible again by
        # then. The consumers take 10 messages per CLI call: on a loaded machine
        # they may need minutes, so wait while they still make progress (up to
        # 10 minutes), not for a fixed time
        last, still = -1, 0
        for _ in range(6000):
            if all(c.idle >= 7 for c in consumers):
                break
            n = sum(len(c.received) for c in consumers)
            still = still + 1 if n == last else 0
            last = n
            if still >= 600: # 60 s without a single message: they are done or stuck
                break
            time.sleep(0.1)
        for c in consumers:
            c.stop = True
        for c in consumers:
            c.join(timeout=30)
        std, fifo = consumers
        want = {json.dumps({"source": "crash", "detail": {"i": i}}, separators=(",", ":"))
                for i in range(EVENTS)}
        norm = lambda b: json.dumps(json.loads(b), separators=(",", ":"))
        got = {norm(b) for b, _ in std.received}
        print(f"# standard queue: {len(std.received)} receipts, {len(got)} distinct events of {EVENTS}")
        results.append(got == want)
        ids = {}
        for b, mid in std.received:
            ids.setdefault(norm(b), set()).add(mid)
        twice = [b for b, s in ids.items() if len(s) > 1]
        print(f"# stored more than once: {len(twice)} {twice[:3]}")
        results.append(not twice)
        back = std.reappeared + fifo.reappeared
        print(f"# deleted, then received again: {len(back)} {back[:3]}")
        results.append(not back)
        seen, order = set(), []
        for b, mid in fifo.received:
            if mid not in seen:
                seen.add(mid)
                order.append(json.loads(b)["detail"]["i"])
        print(f"# FIFO queue: {len(order)} messages, first out of order at "
              f"{next((k for k in range(1, len(order)) if order[k] <= order[k - 1]), None)}")
        results.append(order == list(range(EVENTS)))
    except Exception as e:
        print(f"# {e!r}")
    finally:
        if daemon and daemon.poll() is None:
            daemon.terminate()
            daemon.wait(timeout=30)
    passed = 0
    for i, n in enumerate(NAMES, 1):
        good = i <= len(results) and results[i - 1]
        passed += good
        print(f"{'ok' if good else 'not ok'} {i} {n}")
    env.close(passed < len(NAMES))
    print(f"{passed} passed, {len(NAMES) - passed} failed, 0 skipped")
    sys.exit(0 if passed == len(NAMES) else 1)

if __name__ == "__main__":
    main()
