#!/usr/bin/python3
# SPDX-License-Identifier: BSD-2-Clause
#
# Scheduled rules and schema discovery in a running bpfbusd
# (docs/eventbridge.md, "Schedules" and "Schema discovery"), through the CLI:
# ScheduleExpression refusals; a rate(1 minute) and a cron(* * * * ? *) rule
# each firing EventBridge's Scheduled Event into their queue on time, a
# disabled one not at all, nothing made up for the time the daemon was down;
# a rule with both a pattern and a schedule getting its matching events and
# its firings; schemas inferred per (source, detail-type), a new version
# exactly when the shape changes, kept across a restart; discovery per bus
# (EventBridge's discoverers): a stopped bus's events are not looked at, nor
# sampled by the kernel, and the state is kept across a restart.
#
# Waits for one minute boundary (about 70 s). Needs root (bpffs): SKIP
# otherwise. Environment: BPFBUS, BUILD, SRCTREE.
import calendar, json, os, signal, subprocess, sys, time

sys.dont_write_bytecode = True # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from daemon_env import BPFBUS, cli_checked as cli, cli_json as j, drain_queue as drain, run_daemon_tests

TESTS = [] # filled by @test
ARN = "arn:aws:events:us-east-1:000000000000:rule/"

def test(fn):
    TESTS.append(fn)
    return fn

def send(bus, *events):
    for e in events:
        cli("send", "to", f"127.0.0.1:{PORT}", "bus", bus, "event", json.dumps(e))

def rule(name):
    return j("rule", "describe", name)

@test
def schedule_expressions_checked():
    cli("queue", "create", "q-rate")
    for expr, why in (("rate(1 minutes)", "not valid"), ("rate(0 minutes)", "not valid"),
                      ("cron(* * * * * *)", "not valid"), ("every minute", "not valid")):
        p = cli("rule", "add", "bad", "schedule", expr, "target", "queue", "q-rate",
                check=False)
        assert p.returncode == 2 and "Parameter ScheduleExpression is not valid." in \
            p.stderr, (expr, p.stderr)
    cli("bus", "add", "other")
    p = cli("rule", "add", "x", "bus", "other", "schedule", "rate(1 minute)", check=False)
    assert p.returncode == 2 and "only on the default event bus" in p.stderr, p.stderr
    p = cli("rule", "add", "x", "target", "queue", "q-rate", check=False)
    assert p.returncode == 2, p.stderr

def boundary_after(t):
    """The first minute boundary after time @t (seconds): when cron(* * * * ? *) fires next."""
    return (int(t) // 60 + 1) * 60

def collect(q, enough, deadline):
    """Messages of queue @q, drained until enough(messages) or @deadline (time.time())."""
    got = []
    while True:
        got += drain(q)
        if enough(got) or time.time() > deadline:
            return got
        time.sleep(0.2)

def fired_at(events):
    """The due times (seconds) the scheduled events of @events carry, in order."""
    return sorted(calendar.timegm(time.strptime(e["time"], "%Y-%m-%dT%H:%M:%SZ"))
                  for e in events if e["source"] == "aws.events")

def reached(t):
    """Whether events hold a firing due at @t or later."""
    return lambda events: fired_at(events) and fired_at(events)[-1] >= t

def scheduled_event(e, name):
    return (e["source"], e["detail-type"], e["detail"], e["resources"], e["version"],
            e["account"], e["region"]) == \
        ("aws.events", "Scheduled Event", {}, [ARN + name], "0", "000000000000", "us-east-1")

# Each scheduled event carries the time it was due, and the daemon says when
# each rule fires next: the test waits for the firings it expects and checks
# what they say, so on a loaded machine they arrive later, never otherwise.
@test
def rate_and_cron_fire_on_time():
    cli("queue", "create", "q-cron")
    cli("queue", "create", "q-off")
    cli("queue", "create", "q-both")
    t0 = time.time()
    j("rule", "add", "every-minute", "schedule", "rate(1 minute)", "target", "queue", "q-rate")
    t1 = time.time()
    cli("rule", "add", "on-the-minute", "schedule", "cron(* * * * ? *)", "target", "queue",
        "q-cron")
    t2 = time.time()
    cli("rule", "add", "off", "schedule", "cron(* * * * ? *)", "state", "disabled",
        "target", "queue", "q-off")
    cli("rule", "add", "both", "schedule", "cron(* * * * ? *)", "pattern",
        '{"source":["both"]}', "target", "queue", "q-both")
    t3 = time.time()
    # a rate counts from the second (of the daemon's clock) its rule was added
    nxt = rule("every-minute")["next_firing_ms"] / 1000
    assert int(t0) + 60 <= nxt <= int(t1) + 60, (nxt, t0, t1)
    cron_next = rule("on-the-minute")["next_firing_ms"] / 1000
    assert boundary_after(t1) <= cron_next <= boundary_after(t2), (cron_next, t1, t2)
    both_next = rule("both")["next_firing_ms"] / 1000
    assert boundary_after(t2) <= both_next <= boundary_after(t3), (both_next, t2, t3)
    send("default", {"source": "both", "n": 1})

    # the rate's first firing, at nxt (its second is 60 s later)
    got = collect("q-rate", lambda g: len(g) >= 1, nxt + 50)
    assert len(got) == 1 and scheduled_event(got[0], "every-minute"), (got, time.time())
    assert fired_at(got) == [nxt], (fired_at(got), nxt)
    # the cron rules: every minute boundary from their first on, each once,
    # at least up to the last one before the rate's firing
    last = int(nxt) // 60 * 60
    got = collect("q-cron", reached(max(cron_next, last)), max(cron_next, last) + 50)
    assert all(scheduled_event(e, "on-the-minute") for e in got), got
    times = fired_at(got)
    assert times and times == list(range(int(cron_next), times[-1] + 1, 60)), (times, cron_next)
    assert times[-1] >= last, (times, last)
    assert drain("q-off") == []
    until = max(both_next, last)
    both = collect("q-both", lambda g: len(g) > len(fired_at(g)) and reached(until)(g), until + 50)
    assert [b for b in both if b["source"] != "aws.events"] == [{"source": "both", "n": 1}], \
        both
    assert all(scheduled_event(e, "both") for e in both if e["source"] == "aws.events"), both
    times = fired_at(both)
    assert times and times == list(range(int(both_next), times[-1] + 1, 60)), (times, both_next)
    assert j("daemon", "status")["scheduled"] >= 3

@test
def firings_missed_while_down_are_not_made_up():
    ENV.daemon.send_signal(signal.SIGTERM)
    ENV.daemon.wait(timeout=30)
    down = time.time()
    # past a minute boundary while down: cron(* * * * ? *) would have fired
    boundary = (int(down) // 60 + 1) * 60
    time.sleep(max(0, boundary - time.time()) + 1)
    ENV.daemon = ENV.start(*ENV.daemon_args)
    nxt = rule("on-the-minute")["next_firing_ms"] / 1000
    assert nxt > time.time() and nxt % 60 == 0, nxt
    assert rule("every-minute")["next_firing_ms"] / 1000 > time.time()
    time.sleep(0.5)
    # what the queues hold was due before the daemon went down (firings the
    # last test did not wait for); nothing was due while it was down
    made = fired_at(drain("q-cron")) + fired_at(drain("q-rate"))
    assert all(t <= down for t in made), (made, down)

@test
def schemas_inferred_and_versioned():
    order = {"source": "shop", "detail-type": "Order Placed",
             "detail": {"id": 1, "items": [{"sku": "a", "qty": 2}]}}
    send("default", order, dict(order, detail={"id": 2, "items": []}))
    send("default", {"source": "shop", "detail-type": "Refund", "detail": {"amount": 1.5}})
    time.sleep(0.5)
    listed = {(s["source"], s["detail_type"]): s for s in j("schema", "list")}
    assert listed[("shop", "Order Placed")]["version"] == 1, listed
    assert listed[("shop", "Refund")]["version"] == 1, listed
    doc = j("schema", "show", "shop", "Order Placed")
    c = doc["content"]
    assert c["openapi"] == "3.0.0", c
    ev = c["components"]["schemas"]["AWSEvent"]
    assert ev["x-amazon-events-source"] == ["shop"], ev
    assert ev["properties"]["detail"] == {"$ref": "#/components/schemas/OrderPlaced"}, ev
    detail = c["components"]["schemas"]["OrderPlaced"]
    assert detail["properties"]["id"] == {"type": "integer"}, detail
    assert detail["properties"]["items"]["items"]["properties"]["qty"] == {"type": "integer"}
    # a new field: version 2, with the field; version 1 kept as it was
    send("default", dict(order, detail={"id": 3, "items": [], "coupon": "X"}))
    time.sleep(0.5)
    v2 = j("schema", "show", "shop", "Order Placed")
    assert v2["version"] == 2, v2
    props = v2["content"]["components"]["schemas"]["OrderPlaced"]["properties"]
    assert props["coupon"] == {"type": "string"}, props
    v1 = j("schema", "show", "shop", "Order Placed", "version", "1")
    assert "coupon" not in v1["content"]["components"]["schemas"]["OrderPlaced"]["properties"]
    p = cli("schema", "show", "shop", "Order Placed", "version", "9", check=False)
    assert p.returncode == 1 and "has no version 9" in p.stderr, p.stderr
    p = cli("schema", "show", "nobody", "x", check=False)
    assert p.returncode == 1 and "ResourceNotFoundException" in p.stderr, p.stderr

@test
def schemas_kept_across_a_restart():
    time.sleep(1.2) # written at most once a second
    ENV.restart(signal.SIGKILL)
    assert j("schema", "show", "shop", "Order Placed")["version"] == 2
    # the same shape again is no new version; merging goes on where it was
    send("default", {"source": "shop", "detail-type": "Order Placed",
                     "detail": {"id": 4, "items": [], "coupon": "Y"}})
    time.sleep(0.5)
    assert j("schema", "show", "shop", "Order Placed")["version"] == 2

@test
def discovery_is_per_bus():
    cli("bus", "add", "quiet")
    states = {d["bus"]: d["state"] for d in j("schema", "discovery")}
    assert set(states.values()) == {"STARTED"} and "quiet" in states, states
    states = {d["bus"]: d["state"] for d in j("schema", "discovery", "quiet", "stop")}
    assert states["quiet"] == "STOPPED" and states["default"] == "STARTED", states
    kernel = {b["name"]: b["discovery"] for b in j("bus", "list")}
    assert (kernel["default"], kernel["quiet"]) == (True, False), kernel # its sampling flag
    send("quiet", {"source": "hushed", "detail-type": "T", "detail": {}})
    send("default", {"source": "heard", "detail-type": "T", "detail": {}})
    time.sleep(0.5)
    sources = {s["source"] for s in j("schema", "list")}
    assert "heard" in sources and "hushed" not in sources, sources
    ENV.restart(signal.SIGKILL) # the state is in objects.json
    assert {"bus": "quiet", "state": "STOPPED"} in j("schema", "discovery")
    j("schema", "discovery", "quiet", "start")
    assert {b["name"]: b["discovery"] for b in j("bus", "list")}["quiet"] is True
    send("quiet", {"source": "hushed", "detail-type": "T", "detail": {}})
    time.sleep(0.5)
    assert "hushed" in {s["source"] for s in j("schema", "list")}
    p = cli("schema", "discovery", "nosuch", "stop", check=False)
    assert p.returncode == 1 and "Event bus nosuch does not exist." in p.stderr, p.stderr
    p = cli("schema", "discovery", "quiet", "pause", check=False)
    assert p.returncode == 2 and "usage" in p.stderr, p.stderr

def learn_env(env):
    global PORT, ENV
    ENV, PORT = env, env.port

run_daemon_tests(TESTS, on_env=learn_env)
