#!/usr/bin/python3
# SPDX-License-Identifier: BSD-2-Clause
#
# Rule targets of every kind through the CLI against a running bpfbusd, with
# events sent as datagrams to its slow-path socket: queue targets with Input,
# InputPath and InputTransformer (bodies compared exactly), an http target
# against a real HTTP server started here, an http target that fails into its
# dead-letter queue with EventBridge's attributes, a udp target into a UDP
# socket (the datagram decoded), a bus target (matched again there; a loop
# back is not followed), topic targets refused while no topics are served,
# bad targets refused with exit status 2, and targets surviving a restart.
#
# Needs root (bpffs): SKIP otherwise. Environment: BPFBUS, BUILD, SRCTREE.
import http.server, json, os, socket, struct, sys, tempfile, threading, time

sys.dont_write_bytecode = True # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from daemon_env import cli_checked as cli, cli_json as j, receive_messages as receive_all
from daemon_env import run_daemon_tests

TESTS = [] # filled by @test
PORT = 0

def test(fn):
    TESTS.append(fn)
    return fn

def send(bus, event):
    cli("send", "to", f"127.0.0.1:{PORT}", "bus", bus, "event", json.dumps(event, separators=(",", ":")))

def counter(name):
    return j("daemon", "status")[name]

EVENT = {"version": "0", "id": "e1", "detail-type": "Order", "source": "shop",
         "account": "123456789012", "time": "2026-01-02T03:04:05Z", "region": "eu-west-1",
         "resources": ["arn:r0"], "detail": {"state": "paid", "n": 3, "items": [{"sku": "a"}]}}

@test
def queue_targets_with_input_inputpath_and_transformer():
    j("bus", "add", "shop")
    for q in ("raw", "constant", "path", "xform"):
        j("queue", "create", q)
    tmp = tempfile.mkdtemp()
    with open(tmp + "/xf.json", "w") as f:
        json.dump({"InputPathsMap": {"st": "$.detail.state", "sku": "$.detail.items[0].sku"},
                   "InputTemplate": "{\"state\": <st>, \"sku\": \"<sku>\", \"rule\": \"<aws.events.rule-name>\"}"}, f)
    cli("rule", "add", "orders", "bus", "shop", "pattern", '{"source":["shop"]}',
        "target", "queue", "raw",
        "target", "queue", "constant", "input", '{"fixed": [1, 2]}',
        "target", "queue", "path", "input-path", "$.detail.items",
        "target", "queue", "xform", "input-transformer", tmp + "/xf.json")
    os.unlink(tmp + "/xf.json")
    os.rmdir(tmp)
    send("shop", EVENT)
    send("shop", dict(EVENT, source="other")) # no rule matches
    want = {"raw": json.dumps(EVENT, separators=(",", ":")),
            "constant": '{"fixed":[1,2]}',
            "path": '[{"sku":"a"}]',
            "xform": '{"state":"paid","sku":"a","rule":"orders"}'}
    for q, body in want.items():
        got = receive_all(q, 1)
        assert [m["Body"] for m in got] == [body], (q, got)
    d = j("rule", "describe", "orders", "bus", "shop")
    t = {x["id"]: x for x in d["targets"]}
    assert t["path"] == {"id": "path", "queue": "path", "input_path": "$.detail.items"}, t
    assert t["xform"]["input_transformer"]["InputPathsMap"]["st"] == "$.detail.state", t

class Recorder(http.server.BaseHTTPRequestHandler):
    posts = []
    status = 200

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Recorder.posts.append((self.path, self.headers["Content-Type"], body.decode()))
        self.send_response(Recorder.status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *a):
        pass

def http_server():
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv

def wait_for(cond, timeout=5.0):
    end = time.time() + timeout
    while time.time() < end:
        if cond():
            return True
        time.sleep(0.05)
    return cond()

@test
def http_target_posts_the_input():
    srv = http_server()
    try:
        url = f"http://127.0.0.1:{srv.server_address[1]}/hook?x=1"
        cli("rule", "add", "web", "bus", "shop", "pattern", '{"detail-type":["Order"]}',
            "target", "http", url, "id", "web", "input-path", "$.detail")
        Recorder.posts.clear()
        before = counter("forwarded")
        send("shop", EVENT)
        assert wait_for(lambda: len(Recorder.posts) == 1), Recorder.posts
        path, ctype, body = Recorder.posts[0]
        assert path == "/hook?x=1", path
        assert ctype == "application/json; charset=utf-8", ctype
        assert body == json.dumps(EVENT["detail"], separators=(",", ":")), body
        # counted once the worker's answer is settled on the loop
        assert wait_for(lambda: counter("forwarded") == before + 1), counter("forwarded")
    finally:
        srv.shutdown()
        cli("rule", "delete", "web", "bus", "shop")

@test
def failed_http_target_dead_letters_with_attributes():
    srv = http_server()
    Recorder.status = 503
    try:
        j("queue", "create", "web-dlq")
        url = f"http://127.0.0.1:{srv.server_address[1]}/down"
        # 5xx and no connection are retried (RetryPolicy): with no retries
        # allowed they go to the dead-letter queue after the first attempt
        cli("rule", "add", "down", "bus", "shop", "pattern", '{"detail-type":["Order"]}',
            "target", "http", url, "id", "down", "dlq", "web-dlq", "retry-attempts", "0",
            "target", "http", "http://127.0.0.1:1/closed", "id", "closed", "dlq", "web-dlq",
            "retry-attempts", "0")
        send("shop", EVENT)
        got = receive_all("web-dlq", 2)
        assert len(got) == 2, got
        by = {m["MessageAttributes"]["TARGET_ARN"]["StringValue"]: m for m in got}
        assert set(by) == {url, "http://127.0.0.1:1/closed"}, by.keys()
        for m in got:
            a = {k: v["StringValue"] for k, v in m["MessageAttributes"].items()}
            assert m["Body"] == json.dumps(EVENT, separators=(",", ":")), m["Body"]
            assert a["ERROR_CODE"] == "SDK_CLIENT_ERROR", a
            assert a["RULE_ARN"] == "arn:aws:events:us-east-1:000000000000:rule/shop/down", a
            assert a["EXHAUSTED_RETRY_CONDITION"] == "MaximumRetryAttempts", a
            assert a["RETRY_ATTEMPTS"] == "0", a
        assert "answered HTTP 503" in by[url]["MessageAttributes"]["ERROR_MESSAGE"]["StringValue"]
        closed = by["http://127.0.0.1:1/closed"]["MessageAttributes"]["ERROR_MESSAGE"]["StringValue"]
        assert "cannot connect" in closed, closed
    finally:
        Recorder.status = 200
        srv.shutdown()
        cli("rule", "delete", "down", "bus", "shop")

@test
def udp_target_sends_a_wire_datagram():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    s.settimeout(5)
    try:
        cli("rule", "add", "fwd", "bus", "shop", "pattern", '{"source":["shop"]}',
            "target", "udp", f"127.0.0.1:{s.getsockname()[1]}", "id", "gw2",
            "input", '{"forwarded":true}')
        send("shop", EVENT)
        dgram, _ = s.recvfrom(65536)
        hdr_len, name_len = struct.unpack_from(">HH", dgram, 8)
        body_len, = struct.unpack_from(">I", dgram, 16)
        assert dgram[5] == 1, "kind is not event"
        assert dgram[hdr_len:hdr_len + name_len] == b"shop", dgram
        assert dgram[len(dgram) - body_len:] == b'{"forwarded":true}', dgram
    finally:
        s.close()
        cli("rule", "delete", "fwd", "bus", "shop")

@test
def fifo_queue_target_gets_the_targets_group():
    # no ContentBasedDeduplication: the envelope's id is the deduplication id
    j("queue", "create", "o.fifo", "attr", "FifoQueue=true")
    cli("rule", "add", "fifo", "bus", "shop", "pattern", '{"detail-type":["Order"]}',
        "target", "queue", "o.fifo", "message-group-id", "orders")
    for n in (0, 1, 2, 0): # the last one again, with its id: deduplicated
        send("shop", dict(EVENT, id=f"e{n}", detail={"n": n}))
    url = j("queue", "url", "o.fifo")["QueueUrl"]
    got = j("queue", "call", "ReceiveMessage", json.dumps(
        {"QueueUrl": url, "MaxNumberOfMessages": 10, "AttributeNames": ["All"]}))["Messages"]
    assert [json.loads(m["Body"])["detail"]["n"] for m in got] == [0, 1, 2], got
    assert {m["Attributes"]["MessageGroupId"] for m in got} == {"orders"}, got
    assert [m["Attributes"]["MessageDeduplicationId"] for m in got] == ["e0", "e1", "e2"], got
    cli("rule", "delete", "fifo", "bus", "shop")

@test
def bus_target_routes_again_once():
    j("bus", "add", "audit")
    j("queue", "create", "audit-all")
    j("queue", "create", "shop-back")
    cli("rule", "add", "to-audit", "bus", "shop", "pattern", '{"source":["shop"]}',
        "target", "bus", "audit")
    cli("rule", "add", "all", "bus", "audit", "pattern", '{"source":["shop"]}',
        "target", "queue", "audit-all", "target", "bus", "shop", "id", "loop")
    before = counter("not_forwarded")
    send("shop", EVENT)
    got = receive_all("audit-all", 1)
    assert [m["Body"] for m in got] == [json.dumps(EVENT, separators=(",", ":"))], got
    time.sleep(0.3)
    assert receive_all("audit-all", 1, timeout=0.3) == [], "delivered twice: a loop"
    assert counter("not_forwarded") == before + 1
    cli("rule", "delete", "to-audit", "bus", "shop")
    cli("rule", "delete", "all", "bus", "audit")

def refused(want, *args):
    p = cli(*args, check=False)
    assert p.returncode == 2 and want in p.stderr, (p.returncode, p.stderr)

@test
def bad_targets_are_refused():
    refused("is an http:// or https:// URL", "rule", "add", "t", "bus", "shop", "pattern", "{}",
            "target", "http", "ftp://x/")
    refused("HOST:PORT", "rule", "add", "t", "bus", "shop", "pattern", "{}",
            "target", "udp", "127.0.0.1")
    refused("Input for target q is not a valid JSON text.", "rule", "add", "t", "bus", "shop",
            "pattern", "{}", "target", "queue", "q", "input", "{")
    refused("\"retry_attempts\" must be an integer from 0 to 185", "rule", "add", "t", "bus", "shop",
            "pattern", "{}", "target", "queue", "q", "retry-attempts", "186")
    refused("is for FIFO queue and FIFO topic targets only", "rule", "add", "t", "bus", "shop",
            "pattern", "{}", "target", "queue", "standard", "message-group-id", "g")
    refused("Parameter ScheduleExpression is not valid.", "rule", "add", "t", "schedule",
            "rate(1 minutes)")
    refused("only on the default event bus", "rule", "add", "t", "bus", "shop", "schedule",
            "rate(5 minutes)")

@test
def targets_survive_a_restart():
    cli("rule", "add", "keep", "bus", "shop", "pattern", '{"source":["x"]}',
        "target", "udp", "127.0.0.1:9", "id", "u", "retry-attempts", "3", "max-event-age", "120",
        "target", "queue", "raw", "dlq", "web-dlq", "input-path", "$.detail")
    cli("rule", "add", "tick", "schedule", "rate(5 minutes)", "description", "every five")
    before = j("rule", "list")
    ENV.daemon.terminate()
    assert ENV.daemon.wait(timeout=30) == 0
    ENV.start()
    assert j("rule", "list") == before
    keep = j("rule", "describe", "keep", "bus", "shop")
    assert keep["targets"][0] == {"id": "u", "udp": "127.0.0.1:9", "retry_attempts": 3,
                                  "max_event_age": 120}, keep
    tick = j("rule", "describe", "tick")
    assert tick["schedule"] == "rate(5 minutes)" and "pattern" not in tick, tick

def learn_env(env):
    global PORT, ENV
    PORT, ENV = env.port, env

run_daemon_tests(TESTS, on_env=learn_env)
