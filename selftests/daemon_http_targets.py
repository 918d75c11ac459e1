#!/usr/bin/python3
# SPDX-License-Identifier: BSD-2-Clause
#
# http targets delivered off the daemon's loop (userspace/bpfbusd/forward.c),
# against real HTTP servers started here, events sent as datagrams: a server
# that takes 2 s per answer does not delay a queue target's events (received
# while the POST still hangs); failures are retried under the RetryPolicy and
# then dead-lettered, or delivered once the server recovers; kill -9 while
# POSTs hang loses no acknowledged event (each one is POSTed after the
# restart, from the lease its round committed); with the workers' queue full
# (--http-queue 4) deliveries fail retriably and are all made later, once each.
#
# Needs root (bpffs): SKIP otherwise. Environment: BPFBUS, BUILD, SRCTREE.
import http.server, json, os, signal, subprocess, sys, threading, time

sys.dont_write_bytecode = True # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from daemon_env import BPFBUS, cli_checked as cli, cli_json as j, eventually
from daemon_env import receive_messages as receive, rss_anon_kb, run_daemon_tests

TESTS = [] # filled by @test

def test(fn):
    TESTS.append(fn)
    return fn

def event(n, source="shop"):
    return {"source": source, "detail-type": "order", "detail": {"n": n}}

def send(bus, events, ack=None):
    """Each event as one datagram; acknowledged (bpfbus send exits 0) when @ack is seconds."""
    args = [BPFBUS, "send", "to", f"127.0.0.1:{PORT}", "bus", bus]
    if ack:
        args += ["ack", str(ack)]
    p = subprocess.run(args + ["-"], input="".join(json.dumps(e) + "\n" for e in events),
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr

def counter(name):
    return j("daemon", "status")[name]

class Server:
    """A real HTTP server: answers each POST with the next status of @statuses
    (the last one repeats), after @delay seconds, or not before release()."""

    def __init__(self, statuses=(200,), delay=0.0, hold=False):
        self.statuses, self.delay = list(statuses), delay
        self.bodies, self.answered = [], 0
        self.gate = threading.Event()
        if not hold:
            self.gate.set()
        self.lock = threading.Lock()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with outer.lock:
                    outer.bodies.append(json.loads(body))
                    status = outer.statuses[min(len(outer.bodies), len(outer.statuses)) - 1]
                outer.gate.wait()
                time.sleep(outer.delay)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()
                with outer.lock:
                    outer.answered += 1

            def log_message(self, *a):
                pass

        self.srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.srv.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.srv.server_address[1]}/in"
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()

    def release(self):
        self.gate.set()

    def close(self):
        self.gate.set()
        self.srv.shutdown()
        self.srv.server_close()

@test
def a_slow_http_target_does_not_delay_queue_deliveries():
    cli("bus", "add", "shop")
    cli("queue", "create", "fast")
    slow = Server(delay=2.0)
    try:
        cli("rule", "add", "slow", "bus", "shop", "pattern", '{"source":["slow"]}',
            "target", "http", slow.url, "id", "web")
        cli("rule", "add", "fast", "bus", "shop", "pattern", '{"source":["fast"]}',
            "target", "queue", "fast")
        before = counter("forwarded")
        send("shop", [event(1, "slow")])
        assert eventually(lambda: len(slow.bodies) == 1, 5), "the POST never came"
        t0 = time.time()
        send("shop", [event(2, "fast")])
        got = receive("fast", 1, timeout=1.5)
        took = time.time() - t0
        assert len(got) == 1 and json.loads(got[0]["Body"])["detail"]["n"] == 2, got
        # received while the http target had not answered yet
        assert slow.answered == 0 and took < 1.5, (slow.answered, took)
        assert eventually(lambda: counter("forwarded") == before + 1, 10), counter("forwarded")
        assert slow.answered == 1
    finally:
        slow.close()
        cli("rule", "delete", "slow", "bus", "shop")
        cli("rule", "delete", "fast", "bus", "shop")

@test
def failures_are_retried_then_dead_lettered():
    down = Server(statuses=(503,))
    try:
        cli("queue", "create", "web-dlq")
        cli("rule", "add", "down", "bus", "shop", "pattern", '{"source":["down"]}',
            "target", "http", down.url, "id", "web", "dlq", "web-dlq", "retry-attempts", "2")
        send("shop", [event(3, "down")])
        dead = receive("web-dlq", 1, timeout=15)
        assert len(dead) == 1, dead
        a = {k: v["StringValue"] for k, v in dead[0]["MessageAttributes"].items()}
        assert (a["RETRY_ATTEMPTS"], a["EXHAUSTED_RETRY_CONDITION"]) == \
            ("2", "MaximumRetryAttempts"), a
        assert "answered HTTP 503" in a["ERROR_MESSAGE"], a
        assert json.loads(dead[0]["Body"])["detail"]["n"] == 3
        assert [b["detail"]["n"] for b in down.bodies] == [3, 3, 3], down.bodies
    finally:
        down.close()
        cli("rule", "delete", "down", "bus", "shop")

@test
def a_target_that_recovers_gets_the_event_once():
    flaky = Server(statuses=(500, 429, 200))
    try:
        cli("rule", "add", "flaky", "bus", "shop", "pattern", '{"source":["flaky"]}',
            "target", "http", flaky.url, "id", "web", "dlq", "web-dlq")
        send("shop", [event(4, "flaky")])
        assert eventually(lambda: flaky.answered == 3, 15), flaky.bodies
        time.sleep(1.0) # no fourth POST, nothing dead-lettered
        assert len(flaky.bodies) == 3 and receive("web-dlq", 1, timeout=0.2) == [], flaky.bodies
    finally:
        flaky.close()
        cli("rule", "delete", "flaky", "bus", "shop")

@test
def kill_9_while_posts_hang_loses_no_acknowledged_event():
    hang = Server(hold=True)
    try:
        cli("rule", "add", "hang", "bus", "shop", "pattern", '{"source":["hang"]}',
            "target", "http", hang.url, "id", "web")
        # every event acknowledged (its lease committed) while the POSTs hang
        send("shop", [event(n, "hang") for n in range(20)], ack=30)
        assert len(hang.bodies) <= 2, "two workers, each holding one POST"
        ENV.restart(signal.SIGKILL)
        before = len(hang.bodies)
        hang.release()
        # the leases fall due after the restart: each event is POSTed again
        assert eventually(lambda: {b["detail"]["n"] for b in hang.bodies[before:]} ==
                          set(range(20)), 40), sorted(b["detail"]["n"] for b in hang.bodies)
        assert eventually(lambda: j("daemon", "status")["retries_pending"] == 0, 10), \
            j("daemon", "status")["retries_pending"]
    finally:
        hang.close()
        cli("rule", "delete", "hang", "bus", "shop")

@test
def a_full_worker_queue_fails_deliveries_retriably():
    """A slow target (0.2 s an answer) and --http-queue 4: past the 2 POSTs the
    workers hold and the 4 waiting, a delivery fails at once, retriably ("too
    many http deliveries wait for a worker", counted http_queue_full), and is
    retried under the RetryPolicy until a slot is free: every acknowledged
    event POSTed exactly once, nothing dead-lettered, never more than 4 jobs
    waiting, the daemon's anonymous memory flat."""
    ENV.daemon.terminate()
    ENV.daemon.wait(timeout=30)
    ENV.daemon = ENV.start(*ENV.daemon_args, "--http-queue", "4")
    slow = Server(delay=0.2)
    try:
        cli("rule", "add", "busy", "bus", "shop", "pattern", '{"source":["busy"]}',
            "target", "http", slow.url, "id", "web", "dlq", "web-dlq")
        before, rss = j("daemon", "status"), rss_anon_kb(ENV.daemon.pid)
        waiting, done = [], threading.Event()

        def sample(): # the workers' queue while the events are delivered
            while not done.is_set():
                waiting.append(j("daemon", "status")["http_waiting"])
                time.sleep(0.05)

        sampler = threading.Thread(target=sample)
        sampler.start()
        try:
            send("shop", [event(n, "busy") for n in range(100)], ack=30) # all STORED
            assert eventually(lambda: slow.answered >= 100, 90), slow.answered
        finally:
            done.set()
            sampler.join()
        time.sleep(1.0) # no POST more
        assert sorted(b["detail"]["n"] for b in slow.bodies) == list(range(100)), \
            sorted(b["detail"]["n"] for b in slow.bodies)
        after = j("daemon", "status")
        assert after["http_queue_full"] - before["http_queue_full"] >= 100 - 2 - 4, after
        assert after["forwarded"] - before["forwarded"] == 100, after["forwarded"]
        assert max(waiting) <= 4 and max(waiting) > 0, waiting
        assert eventually(lambda: j("daemon", "status")["retries_pending"] == 0, 10)
        assert receive("web-dlq", 1, timeout=0.2) == []
        grew = (rss_anon_kb(ENV.daemon.pid) - rss) // 1024
        assert grew < 64, f"RssAnon grew {grew} MiB"
    finally:
        slow.close()
        cli("rule", "delete", "busy", "bus", "shop")
        ENV.daemon.terminate()
        ENV.daemon.wait(timeout=30)
        ENV.daemon = ENV.start(*ENV.daemon_args)

def learn_env(env):
    global PORT, ENV
    PORT, ENV = env.port, env

# a fast back-off: retries after 50-100 ms, 100-200 ms, ...
run_daemon_tests(TESTS, "--retry-base-ms", "100", "--retry-cap-ms", "400", on_env=learn_env)
