#!/usr/bin/python3
# SPDX-License-Identifier: BSD-2-Clause
#
# Archive retention in a running bpfbusd started with --testing, whose clock
# the test moves forward (test.clock): events archived more than RetentionDays
# ago leave the archive (its event count and size, and what a replay finds),
# younger ones stay, and an archive whose events have all expired is emptied.
#
# Needs root (bpffs): SKIP otherwise. Environment: BPFBUS, BUILD, SRCTREE.
import json, os, subprocess, sys, time

sys.dont_write_bytecode = True # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from daemon_env import BPFBUS, cli_checked as cli, cli_json as j, control, drain_queue, eventually
from daemon_env import run_daemon_tests

TESTS = [] # filled by @test
T0 = 1767225600 # 2026-01-01T00:00:00Z: event times are T0 + n seconds
HOUR = 3600

def test(fn):
    TESTS.append(fn)
    return fn

def iso(n):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(T0 + n))

def event(n):
    return json.dumps({"source": "shop", "detail-type": "order", "time": iso(n),
                       "detail": {"n": n}})

def send(bus, ns):
    p = subprocess.run([BPFBUS, "send", "to", f"127.0.0.1:{PORT}", "bus", bus, "-"],
                       input="\n".join(event(n) for n in ns) + "\n", capture_output=True,
                       text=True, timeout=60)
    assert p.returncode == 0, p.stderr

def advance(seconds):
    r = control({"op": "test.clock", "advance_ms": int(seconds * 1000)})
    assert r["ok"], r

def shown(name):
    a = j("archive", "show", name)
    return a["event_count"], a["size_bytes"]

def replayed(name, queue):
    """The detail.n of every event a replay of the whole archive delivers into @queue."""
    j("replay", "start", name, "archive", "kept", "from", iso(0), "to", iso(100))
    assert eventually(lambda: j("replay", "show", name)["state"] == "COMPLETED", 30), \
        j("replay", "show", name)
    return sorted(b["detail"]["n"] for b in drain_queue(queue))

@test
def expired_events_leave_younger_ones_stay():
    cli("bus", "add", "ret")
    cli("queue", "create", "ret-q")
    cli("rule", "add", "all", "bus", "ret", "pattern", '{"source":["shop"]}',
        "target", "queue", "ret-q")
    a = j("archive", "create", "kept", "bus", "ret", "retention", "1")
    assert a["retention_days"] == 1, a
    send("ret", range(5)) # archived at t
    assert eventually(lambda: shown("kept")[0] == 5), shown("kept")
    advance(2 * HOUR)
    send("ret", range(5, 8)) # archived at t + 2 h
    assert eventually(lambda: shown("kept")[0] == 8), shown("kept")
    count, size = shown("kept")
    drain_queue("ret-q")
    # at t + 25 h the first five are past their day, the three others are not
    advance(23 * HOUR)
    assert eventually(lambda: shown("kept")[0] == 3), shown("kept")
    # every event has the same size: three eighths of the bytes are left
    assert shown("kept") == (3, size * 3 // 8), (shown("kept"), count, size)
    assert replayed("after-a-day", "ret-q") == [5, 6, 7]
    # a day later still, the last three went too: the archive is empty
    advance(24 * HOUR)
    assert eventually(lambda: shown("kept") == (0, 0)), shown("kept")
    assert replayed("after-two-days", "ret-q") == []
    # and it takes new events as before
    send("ret", [9])
    assert eventually(lambda: shown("kept") == (1, size // 8)), shown("kept")

@test
def retention_zero_keeps_forever():
    a = j("archive", "create", "forever", "bus", "ret")
    assert a["retention_days"] == 0, a
    send("ret", range(3))
    assert eventually(lambda: shown("forever")[0] == 3), shown("forever")
    advance(400 * 24 * HOUR)
    time.sleep(2) # a retention pass ran (each second, once the clock moved a minute)
    assert shown("forever")[0] == 3, shown("forever")
    # while the one-day archive lost its one event
    assert eventually(lambda: shown("kept") == (0, 0)), shown("kept")

def learn_env(env):
    global PORT
    PORT = env.port

run_daemon_tests(TESTS, "--testing", on_env=learn_env)
