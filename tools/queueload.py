#!/usr/bin/python3
# SPDX-License-Identifier: BSD-2-Clause
"""
queueload: SQS operations per second and send-to-receivable latency through
bpfbusd's control socket (docs/daemon.md, the `sqs` request), for
tools/bench-queues and `make bench`.

    tools/queueload.py [--seconds S] [--threads N] [--body-bytes B]
                       [--latency-messages N] [--latency-rate R]

Uses $BPFBUS_CONTROL (default /run/bpfbus/control.sock). Creates the queues
queueload-ops and queueload-lat. Phases, each thread on its own connection:
  send      SendMessage for S seconds
  receive   ReceiveMessage (1 message each, visibility 600) until the queue is
            empty or S seconds have passed; the handles are kept
  delete    DeleteMessage of every handle received
  latency   one thread long-polls (WaitTimeSeconds 20, up to 10 messages)
            while another sends N messages at R/s, each carrying its send
            time; latency = receipt time - send time, on one host clock
Prints one line "RESULT key=value ..." per phase.

    tools/queueload.py --watch-delivered FILE

polls the daemon's `delivered` counter every 20 ms until it has moved and
then stood still for 2 s (or never moved for 60 s), and writes "T0 T1 N" to
FILE: the last poll that saw none of the N new deliveries and the first that
saw all of them (monotonic seconds).
"""
import argparse, json, os, socket, struct, threading, time


class Control:
    """One control connection; request() sends one frame and reads one."""

    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.connect(path)

    def _read(self, n):
        buf = b""
        while len(buf) < n:
            chunk = self.s.recv(n - len(buf))
            if not chunk:
                raise ConnectionError("bpfbusd closed the control connection")
            buf += chunk
        return buf

    def request(self, req):
        data = json.dumps(req).encode()
        self.s.sendall(struct.pack(">I", len(data)) + data)
        return json.loads(self._read(struct.unpack(">I", self._read(4))[0]))

    def sqs(self, action, **req):
        r = self.request({"op": "sqs", "action": action, "request": req})
        if not r["ok"]:
            raise RuntimeError(f"{action}: {r['error']}: {r['message']}")
        return r["result"]


def run_threads(n, fn):
    """Run fn(i) on n threads; returns their results and the wall time."""
    out, errors = [None] * n, []

    def wrap(i):
        try:
            out[i] = fn(i)
        except Exception as e:  # reported below
            errors.append(e)

    threads = [threading.Thread(target=wrap, args=(i,)) for i in range(n)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return out, time.monotonic() - t0


def result(phase, **kv):
    print("RESULT phase=" + phase + "".join(f" {k}={v}" for k, v in kv.items()), flush=True)


def watch_delivered(path, out):
    c = Control(path)
    delivered = lambda: c.request({"op": "status"})["result"]["delivered"]
    base = value = delivered()
    start = t0 = still = time.monotonic()
    open(out + ".ready", "w").close() # the caller starts the load now
    t1 = None
    while True:
        time.sleep(0.02)
        v, now = delivered(), time.monotonic()
        if v != value:
            if t1 is None:
                t0 = still # the last poll that saw the base value
            t1, value, still = now, v, now
        elif t1 is None:
            t0 = still = now
            if now - start > 60:
                break
        elif now - still > 2:
            break
    with open(out, "w") as f:
        f.write("%f %f %d\n" % (t0, t1 if t1 else t0, value - base))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--watch-delivered", metavar="FILE")
    ap.add_argument("--seconds", type=float, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--body-bytes", type=int, default=100)
    ap.add_argument("--latency-messages", type=int, default=2000)
    ap.add_argument("--latency-rate", type=float, default=500)
    a = ap.parse_args()
    path = os.environ.get("BPFBUS_CONTROL", "/run/bpfbus/control.sock")
    if a.watch_delivered:
        return watch_delivered(path, a.watch_delivered)
    setup = Control(path)
    for q in ("queueload-ops", "queueload-lat"):
        setup.sqs("CreateQueue", QueueName=q)
        setup.sqs("PurgeQueue", QueueUrl=q)
    time.sleep(0.1)
    body = "b" * a.body_bytes

    def sender(_):
        c, n, end = Control(path), 0, time.monotonic() + a.seconds
        while time.monotonic() < end:
            c.sqs("SendMessage", QueueUrl="queueload-ops", MessageBody=body)
            n += 1
        return n

    sent, took = run_threads(a.threads, sender)
    result("send", threads=a.threads, ops=sum(sent), seconds=f"{took:.3f}",
           ops_per_s=f"{sum(sent) / took:.0f}")

    def receiver(_):
        c, handles, end = Control(path), [], time.monotonic() + a.seconds
        while time.monotonic() < end:
            ms = c.sqs("ReceiveMessage", QueueUrl="queueload-ops", MaxNumberOfMessages=1,
                       VisibilityTimeout=600).get("Messages", [])
            if not ms:
                break
            handles.append(ms[0]["ReceiptHandle"])
        return handles

    handles, took = run_threads(a.threads, receiver)
    n = sum(len(h) for h in handles)
    result("receive", threads=a.threads, ops=n, seconds=f"{took:.3f}", ops_per_s=f"{n / took:.0f}")

    def deleter(i):
        c = Control(path)
        for h in handles[i]:
            c.sqs("DeleteMessage", QueueUrl="queueload-ops", ReceiptHandle=h)
        return len(handles[i])

    deleted, took = run_threads(a.threads, deleter)
    result("delete", threads=a.threads, ops=sum(deleted), seconds=f"{took:.3f}",
           ops_per_s=f"{sum(deleted) / took:.0f}")

    lat, done = [], threading.Event()

    def consumer(_):
        c = Control(path)
        while len(lat) < a.latency_messages:
            ms = c.sqs("ReceiveMessage", QueueUrl="queueload-lat", MaxNumberOfMessages=10,
                       WaitTimeSeconds=20 if not done.is_set() else 1).get("Messages", [])
            now = time.time()
            if not ms and done.is_set():
                break
            for m in ms:
                lat.append(now - float(m["Body"]))
            if ms:
                c.sqs("DeleteMessageBatch", QueueUrl="queueload-lat",
                      Entries=[{"Id": str(k), "ReceiptHandle": m["ReceiptHandle"]} for k, m in enumerate(ms)])

    def producer(_):
        c, t0 = Control(path), time.monotonic()
        for k in range(a.latency_messages):
            wait = t0 + k / a.latency_rate - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            c.sqs("SendMessage", QueueUrl="queueload-lat", MessageBody=repr(time.time()))
        done.set()

    run_threads(2, lambda i: consumer(i) if i == 0 else producer(i))
    lat.sort()
    if not lat:
        raise RuntimeError("no message was received in the latency phase")
    pct = lambda p: lat[min(len(lat) - 1, int(p / 100 * len(lat)))] * 1000
    result("latency", messages=len(lat), rate=f"{a.latency_rate:.0f}", p50_ms=f"{pct(50):.2f}",
           p99_ms=f"{pct(99):.2f}", max_ms=f"{lat[-1] * 1000:.2f}")


main()
