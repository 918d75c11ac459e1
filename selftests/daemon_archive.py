#!/usr/bin/python3
# SPDX-License-Identifier: BSD-2-Clause
#
# Archives and replays in a running bpfbusd (docs/archives.md), through the
# CLI, with events sent as datagrams to the slow-path socket: archive objects
# and their errors; every event of the bus archived whether a rule matched it
# or not, the archive's pattern honoured; a replay round trip with exact
# counts, "replay-name" on replayed events, replayed events not archived
# again; event-time boundaries (start inclusive, end exclusive); the rule
# list; cancel mid-replay; live events stored while a replay runs at its
# bounded rate; SIGTERM and kill -9 mid-replay (each event
# replayed exactly once across the restart); kill -9 while acknowledged
# events are archived (every acknowledged event is in the archive).
#
# Needs root (bpffs): SKIP otherwise. Environment: BPFBUS, BUILD, SRCTREE.
import json, os, signal, subprocess, sys, time

sys.dont_write_bytecode = True # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from daemon_env import BPFBUS, cli_checked as cli, cli_json as j, drain_queue as drain, run_daemon_tests

TESTS = [] # filled by @test
T0 = 1767225600 # 2026-01-01T00:00:00Z: event times are T0 + n seconds
RATE = "40" # --replay-rate of the daemon: a replay of 120 events takes 3 s

def test(fn):
    TESTS.append(fn)
    return fn

def iso(n):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(T0 + n))

def event(n, source="shop", **more):
    return json.dumps({"source": source, "detail-type": "order", "time": iso(n),
                       "detail": {"n": n, **more}})

def send(bus, events, ack=None):
    """Each event as one datagram (acknowledged when @ack is a timeout in seconds)."""
    args = [BPFBUS, "send", "to", f"127.0.0.1:{PORT}", "bus", bus]
    if ack:
        args += ["ack", str(ack)]
    p = subprocess.run(args + ["-"], input="\n".join(events) + "\n", capture_output=True,
                       text=True, timeout=120)
    assert p.returncode == 0, p.stderr

def wait_for(what, cond, timeout=30):
    end = time.time() + timeout
    while time.time() < end:
        v = cond()
        if v:
            return v
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")

def archived(name):
    return j("archive", "show", name)["event_count"]

def depth(q):
    a = j("queue", "attributes", q)["Attributes"]
    return int(a["ApproximateNumberOfMessages"]) + int(a["ApproximateNumberOfMessagesNotVisible"])

def replay(name, archive, start, end, *more):
    return j("replay", "start", name, "archive", archive, "from", iso(start), "to", iso(end),
             *more)

def replay_done(name, timeout=30):
    return wait_for(f"replay {name} to end",
                    lambda: (lambda r: r if r["state"] in ("COMPLETED", "CANCELLED", "FAILED")
                             else None)(j("replay", "show", name)), timeout)

def restart(sig):
    ENV.restart(sig)

@test
def archive_objects_and_errors():
    cli("bus", "add", "orders")
    a = j("archive", "create", "all-orders", "bus", "orders", "description", "every order")
    assert (a["name"], a["bus"], a["state"], a["retention_days"], a["event_count"]) == \
        ("all-orders", "orders", "ENABLED", 0, 0), a
    assert a["arn"] == "arn:aws:events:us-east-1:000000000000:archive/all-orders", a
    assert a["source_arn"] == "arn:aws:events:us-east-1:000000000000:event-bus/orders", a
    p = cli("archive", "create", "all-orders", "bus", "orders", check=False)
    assert p.returncode == 1 and "Archive all-orders already exists." in p.stderr, p.stderr
    p = cli("archive", "create", "bad/name", check=False)
    assert p.returncode == 2 and "archiveName" in p.stderr, p.stderr
    p = cli("archive", "create", "x", "pattern", '{"source":"shop"}', check=False)
    assert p.returncode == 2 and "InvalidEventPatternException" in p.stderr, p.stderr
    p = cli("archive", "create", "x", "bus", "nosuch", check=False)
    assert p.returncode == 1 and "Event bus nosuch does not exist." in p.stderr, p.stderr
    u = j("archive", "update", "all-orders", "retention", "7", "pattern", '{"source":["shop"]}')
    assert (u["retention_days"], u["pattern"], u["description"]) == \
        (7, '{"source":["shop"]}', "every order"), u
    u = j("archive", "update", "all-orders", "pattern", "none", "retention", "0")
    assert "pattern" not in u and u["retention_days"] == 0, u
    j("archive", "create", "gone")
    assert [a["name"] for a in j("archive", "list")] == ["all-orders", "gone"]
    assert [a["name"] for a in j("archive", "list", "bus", "orders")] == ["all-orders"]
    cli("archive", "delete", "gone")
    p = cli("archive", "show", "gone", check=False)
    assert p.returncode == 1 and "Archive gone does not exist." in p.stderr, p.stderr

@test
def every_event_of_the_bus_archived_matched_or_not():
    # orders: a rule for source shop into q-shop; "all-orders" takes everything,
    # "shop-only" only what its pattern matches; the default bus's events are not theirs
    cli("queue", "create", "q-shop")
    cli("rule", "add", "shop", "bus", "orders", "pattern", '{"source":["shop"]}',
        "target", "queue", "q-shop")
    j("archive", "create", "shop-only", "bus", "orders", "pattern", '{"source":["shop"]}')
    send("orders", [event(n) for n in range(100)] + [event(n, "other") for n in range(100, 120)])
    send("default", [event(n) for n in range(5)])
    wait_for("120 archived", lambda: archived("all-orders") == 120)
    wait_for("q-shop", lambda: depth("q-shop") == 100)
    assert archived("shop-only") == 100, archived("shop-only")

@test
def replay_round_trip_exact_and_not_archived_again():
    r = replay("everything", "all-orders", 0, 200)
    assert r["state"] in ("STARTING", "RUNNING"), r
    r = replay_done("everything")
    assert (r["state"], r["delivered"]) == ("COMPLETED", 120), r
    assert r["last_replayed_ms"] == (T0 + 119) * 1000, r
    bodies = drain("q-shop")
    live = [b for b in bodies if "replay-name" not in b]
    replayed = [b for b in bodies if b.get("replay-name") == "everything"]
    assert len(live) == 100 and len(replayed) == 100, (len(live), len(replayed))
    assert sorted(b["detail"]["n"] for b in replayed) == list(range(100))
    # the replayed events went back over the bus: not archived again
    assert archived("all-orders") == 120 and archived("shop-only") == 100

@test
def time_range_start_inclusive_end_exclusive():
    r = replay("window", "all-orders", 10, 20) # events 10..19
    r = replay_done("window")
    assert (r["state"], r["delivered"]) == ("COMPLETED", 10), r
    got = sorted(b["detail"]["n"] for b in drain("q-shop"))
    assert got == list(range(10, 20)), got

@test
def only_the_rules_named_get_replayed_events():
    cli("queue", "create", "q-audit")
    cli("rule", "add", "audit", "bus", "orders", "pattern", '{"source":["shop"]}',
        "target", "queue", "q-audit")
    r = replay("shop-rule-only", "all-orders", 0, 50, "rule", "shop")
    assert r["rules"] == ["arn:aws:events:us-east-1:000000000000:rule/orders/shop"], r
    r = replay_done("shop-rule-only")
    assert r["delivered"] == 50, r
    assert len(drain("q-shop")) == 50
    assert depth("q-audit") == 0, depth("q-audit")
    p = cli("replay", "start", "elsewhere", "archive", "all-orders", "from", iso(0), "to",
            iso(5), "destination", "default", check=False)
    assert p.returncode == 2 and "Cross event bus replay is not permitted." in p.stderr, p.stderr
    p = cli("replay", "start", "no-rule", "archive", "all-orders", "from", iso(0), "to",
            iso(5), "rule", "shop", "rule", "nosuch", check=False)
    assert p.returncode == 1 and "Rule nosuch does not exist on EventBus orders." in p.stderr, \
        (p.returncode, p.stderr)
    p = cli("replay", "start", "shop-rule-only", "archive", "all-orders", "from", iso(0),
            "to", iso(5), check=False)
    assert p.returncode == 1 and "Replay shop-rule-only already exists." in p.stderr

@test
def cancel_mid_replay():
    replay("cancelled", "all-orders", 0, 200, "rule", "audit") # 120 events at 40/s
    time.sleep(1.0)
    r = j("replay", "cancel", "cancelled")
    assert r["state"] == "CANCELLING", r
    r = replay_done("cancelled")
    assert r["state"] == "CANCELLED" and 0 < r["delivered"] < 120, r
    n = len(drain("q-audit"))
    assert n == r["delivered"], (n, r)
    p = cli("replay", "cancel", "cancelled", check=False)
    assert p.returncode == 1 and "is CANCELLED and cannot be cancelled" in p.stderr, p.stderr

@test
def a_replay_does_not_hold_live_events_back():
    """120 events replayed at --replay-rate 40/s take 2 s at least (the bucket
    holds one second's worth); live events sent meanwhile (to another bus) are
    stored while the replay still runs."""
    cli("queue", "create", "q-live")
    cli("rule", "add", "live", "pattern", '{"source":["live"]}', "target", "queue", "q-live")
    replay("beside-live", "all-orders", 0, 200, "rule", "audit")
    wait_for("the replay under way", lambda: j("replay", "show", "beside-live")["delivered"])
    send("default", [event(n, "live") for n in range(20)], ack=10) # stored when acknowledged
    during = j("replay", "show", "beside-live")
    assert during["state"] == "RUNNING" and during["delivered"] < 120, during
    assert depth("q-live") == 20, depth("q-live")
    r = replay_done("beside-live")
    assert (r["state"], r["delivered"]) == ("COMPLETED", 120), r
    assert r["replay_end_ms"] - r["replay_start_ms"] >= 2000, r
    assert len(drain("q-audit")) == 100 and len(drain("q-live")) == 20

def replay_across(sig, name):
    replay(name, "all-orders", 0, 200, "rule", "audit")
    wait_for("part of it", lambda: j("replay", "show", name)["delivered"] >= 20)
    restart(sig)
    r = replay_done(name)
    assert (r["state"], r["delivered"]) == ("COMPLETED", 120), r
    # the rule takes the 100 shop events of the 120
    got = sorted(b["detail"]["n"] for b in drain("q-audit"))
    assert got == list(range(100)), f"{len(got)} events, duplicates or gaps"
    assert archived("all-orders") == 120 # and the archive came back

@test
def sigterm_mid_replay_resumes_exactly_once():
    replay_across(signal.SIGTERM, "across-restart")

@test
def kill_9_mid_replay_resumes_exactly_once():
    replay_across(signal.SIGKILL, "across-kill")

@test
def kill_9_loses_no_acknowledged_archived_event():
    j("archive", "create", "acked", "bus", "orders", "pattern", '{"source":["acked"]}')
    cli("queue", "create", "q-acked")
    cli("rule", "add", "acked", "bus", "orders", "pattern", '{"source":["acked"]}',
        "target", "queue", "q-acked")
    sender = subprocess.Popen([BPFBUS, "send", "to", f"127.0.0.1:{PORT}", "bus", "orders",
                               "ack", "60", "rate", "200", "-"], stdin=subprocess.PIPE,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    sender.stdin.write("\n".join(event(n, "acked") for n in range(400)) + "\n")
    sender.stdin.close()
    time.sleep(0.8)
    restart(signal.SIGKILL) # the sender retransmits what was not acknowledged
    assert sender.wait(timeout=120) == 0, sender.stderr.read()
    # every acknowledged event is in the archive (a retransmission of one
    # archived but not committed before the kill may be there twice)
    drain("q-acked")
    j("replay", "start", "acked-back", "archive", "acked", "from", iso(0), "to", iso(500))
    r = replay_done("acked-back", timeout=60)
    got = {b["detail"]["n"] for b in drain("q-acked")}
    assert r["state"] == "COMPLETED" and got == set(range(400)), (r, len(got))

def learn_env(env):
    global PORT, ENV
    ENV, PORT = env, env.port

run_daemon_tests(TESTS, "--replay-rate", RATE, on_env=learn_env)
