#!/usr/bin/python3
# SPDX-License-Identifier: BSD-2-Clause
"""Topics' filter policies of both scopes decided in the kernel, end to end:
bpfbusd in a network namespace with XDP attached natively to one end of a
veth pair (AF_XDP hand-off), SNS datagrams sent with `bpfbus send topic` from
the namespace at the other end.

Three topics hold the same table of policies (MessageAttributes and
MessageBody scope), each subscription a queue with raw delivery:
  kp   the policies only: the kernel drops what no subscription wants;
  ka   the policies and a subscription without a policy: nothing is dropped;
  ref  the same as ka, but its datagrams go to the daemon's socket over lo
       (no XDP there): the topic store's userspace matcher decides.
Every case (well-formed, plain-text and JSON-string Messages, malformed
attributes, attributes the kernel hands off VERIFY) goes to all three; the
kernel's verdict per case is read from the bus counters, and at the end every
kp and ka subscription must hold exactly what its ref twin holds."""

import ctypes
import json
import os
import socket
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "api"))
from apihost import (ACCOUNT, BPFBUS, REGION, boto3_client, eq,  # noqa: E402
                     in_veth_pair, run_suite)

H = None
A, B = "MessageAttributes", "MessageBody"

# Policy i is subscription i of each topic.
POLICIES = [
    (A, {"store": ["example_corp"]}),
    (A, {"store": [{"prefix": "ex"}]}),
    (A, {"store": [{"suffix": "corp"}]}),
    (A, {"store": [{"equals-ignore-case": "EXAMPLE_CORP"}]}),
    (A, {"store": [{"anything-but": ["example_corp", "other"]}]}),
    (A, {"price": [{"numeric": [">", 10, "<=", 100]}]}),
    (A, {"price": [{"exists": False}]}),
    (A, {"ip": [{"cidr": "10.0.0.0/24"}]}),
    (A, {"store": [{"exists": True}], "kind": ["a"]}),
    (B, {"store": ["example_corp"]}),
    (B, {"n": [{"numeric": [">", 5]}]}),
    (A, {"store": [{"anything-but": {"prefix": "ex"}}]}),
    (A, {"price": [300]}),
    (A, {"a.b": ["dotted"]}),
    (B, {"detail": {"kind": [{"prefix": "ord"}]}}),
]


def s(v):
    return {"Type": "String", "Value": v}


def num(v, t="Number"):
    return {"Type": t, "Value": v}


def arr(v):
    return {"Type": "String.Array", "Value": v}


# (name, attributes: None, a dict or raw text, message, the kernel's verdict)
CASES = [
    ("exact prefix suffix eic", {"store": s("example_corp")}, "hello 1", "matched"),
    ("Value before Type", '{"store":{"Value":"example_corp","Type":"String"}}', "hello 2",
     "matched"),
    ("a custom String label", {"store": {"Type": "String.id", "Value": "example_corp"}},
     "hello 3", "matched"),
    ("both scopes", {"store": s("Example_Corp")}, '{"store":"example_corp","c":4}', "matched"),
    # no attributes (an empty object, or no section): an exists:false-only
    # attribute policy must not match (SNS "Key matching"), which the kernel
    # leaves to userspace (VERIFY, reason no-attributes) when a rule matched
    ("body fields never satisfy attribute policies", {},
     '{"store":"example_corp","n":1,"c":5}', "verify"),
    ("no attributes section", None, '{"n":6,"c":6}', "verify"),
    ("numeric range and body numeric", {"price": num("50")}, '{"n":7,"c":7}', "matched"),
    ("a Number in exponent form", {"price": num("3e2")}, "plain text 8", "matched"),
    ("a Number label", {"price": num("300.0", "Number.usd")}, "hello 9", "matched"),
    ("a Number that is not one", {"price": num("abc")}, "hello 10", "dropped"),
    ("cidr", {"ip": s("10.0.0.7")}, "hello 11", "matched"),
    ("nothing wanted", {"ip": s("10.0.1.7"), "price": num("1")}, "hello 12", "dropped"),
    ("nothing wanted, a JSON body", {"price": num("1000")}, '{"k":"z","c":13}', "dropped"),
    ("Binary is no attribute for policies", {"price": {"Type": "Binary", "Value": "AAA="}},
     "hello 14", "matched"),
    ("exists and a second key", {"kind": s("a"), "store": s("zzz")}, "hello 15", "matched"),
    ("names are case-sensitive", {"Store": s("example_corp")}, "hello 16", "matched"),
    ("a dotted name", {"a.b": s("dotted")}, "hello 17", "matched"),
    ("an escaped Value", '{"store":{"Type":"String","Value":"example\\u005fcorp"}}', "hello 18",
     "matched"),
    ("String.Array of strings", {"store": arr('["example_corp", "x"]')}, "hello 19", "matched"),
    ("String.Array of numbers", {"price": arr("[5, 3e2]")}, "hello 20", "matched"),
    ("String.Array of literals", {"kind": arr(' [ true, null ,"a" ] '), "store": s("x")},
     "hello 21", "matched"),
    ("an empty String.Array", {"store": arr("[]")}, "hello 22", "matched"),
    ("a String.Array that is not JSON", {"store": arr("['example_corp']")}, "hello 23",
     "matched"),
    ("nested body policy", {"price": num("1")}, '{"detail":{"kind":"order"},"c":24}', "matched"),
    ("nested body policy, no match", {"price": num("1")}, '{"detail":{"kind":"x"},"c":25}',
     "dropped"),
    ("plain text that looks like JSON", {"price": num("300")}, "{not json 26", "matched"),
    ("a JSON string Message", None, '"a JSON string 27"', "verify"),
    ("a JSON array Message", {"store": s("example_corp")}, "[28, 2]", "matched"),
    # the kernel hands these off VERIFY: userspace decides
    ("nested arrays in a String.Array", {"store": arr('[["example_corp"]]')}, "hello 29",
     "verify"),
    ("an escape inside a String.Array string", {"store": arr('["a\\n"]')}, "hello 30",
     "verify"),
    ("a duplicated attribute",
     '{"store":{"Type":"String","Value":"a"},"store":{"Type":"String","Value":"b"}}',
     "hello 31", "verify"),
    ("no Type", '{"store":{"Value":"example_corp"}}', "hello 32", "verify"),
    ("a Value that is not a string", '{"price":{"Type":"Number","Value":300}}', "hello 33",
     "verify"),
    ("a Number with blanks", {"price": num(" 50")}, "hello 34", "verify"),
    # attributes that are not JSON: passed to the socket, refused there
    ("attributes not JSON", '{"store":', "hello 35", "passed"),
    ("attributes not an object", "[1]", "hello 36", "passed"),
]

TOPICS = ("kp", "ka", "ref")


def sns():
    return boto3_client(H, service="sns")


def queue_name(topic, i):
    return "%s-%s" % (topic, i)


def bus_stats(topic):
    r = subprocess.run([BPFBUS, "-j", "stats", "bus", topic], capture_output=True, text=True,
                       env=H.env, timeout=60)
    eq(0, r.returncode, "stats: " + r.stderr)
    return json.loads(r.stdout)[0]


def status():
    r = subprocess.run([BPFBUS, "-j", "daemon", "status"], capture_output=True, text=True,
                       env=H.env, timeout=60)
    eq(0, r.returncode, "daemon status: " + r.stderr)
    return json.loads(r.stdout)


def datagram(topic, attrs, message):
    """A wire v1 SNS datagram (docs/wire.md), attributes unchecked: bpfbus send
    refuses malformed ones, and the kernel must see them."""
    name, body = topic.encode(), message.encode()
    a = b"" if attrs is None else (attrs if isinstance(attrs, str) else json.dumps(attrs)).encode()
    h = 0x811C9DC5
    for c in name:
        h = ((h ^ c) * 0x01000193) & 0xFFFFFFFF
    hdr = struct.pack("!IBBHHHBBHII8s8s8s", 0x42425553, 1, 2, 0, 48, len(name), 0, 0, len(a),
                      len(body), h, b"", b"", b"")
    return hdr + name + a + body


def peer_socket():
    """A UDP socket in the peer namespace (sockets keep the namespace they were made in)."""
    libc = ctypes.CDLL(None, use_errno=True)
    own = os.open("/proc/self/ns/net", os.O_RDONLY)
    peer = os.open("/run/netns/" + os.environ["BBT_PEER_NS"], os.O_RDONLY)
    try:
        if libc.setns(peer, 0x40000000):  # CLONE_NEWNET
            raise OSError(ctypes.get_errno(), "setns to the peer namespace")
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        if libc.setns(own, 0x40000000):
            raise OSError(ctypes.get_errno(), "setns back")
        return sock
    finally:
        os.close(own)
        os.close(peer)


SOCKS = {}


def send(topic, attrs, message, over_veth):
    if not SOCKS:
        SOCKS[True] = peer_socket()
        SOCKS[False] = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    to = os.environ["BBT_ADDR"] if over_veth else "127.0.0.1"
    SOCKS[over_veth].sendto(datagram(topic, attrs, message), (to, H.udp_port))


def topics_and_subscriptions():
    c, sqs = sns(), boto3_client(H)
    for t in TOPICS:
        arn = c.create_topic(Name=t)["TopicArn"]
        subs = list(enumerate(POLICIES)) + ([("all", None)] if t != "kp" else [])
        for i, p in subs:
            q = queue_name(t, i)
            sqs.create_queue(QueueName=q)
            attrs = {"RawMessageDelivery": "true"}
            if p:
                attrs.update(FilterPolicyScope=p[0], FilterPolicy=json.dumps(p[1]))
            c.subscribe(TopicArn=arn, Protocol="sqs", Attributes=attrs,
                        Endpoint="arn:aws:sqs:%s:%s:%s" % (REGION, ACCOUNT, q))
    r = subprocess.run([BPFBUS, "-j", "bus", "list"], capture_output=True, text=True,
                       env=H.env, timeout=60)
    buses = {b["name"]: b for b in json.loads(r.stdout)}
    for t in TOPICS:
        eq("topic", buses[t]["kind"], t + "'s bus")
        eq(False, buses[t]["verify_all"], t + " is decided in the kernel")
        eq(t != "kp", buses[t]["keep_all"], t + " keeps everything")


def datapath_ready():
    """A freshly attached veth program may miss the first frames: send
    datagrams for no topic until the daemon counts one."""
    before = status()["unknown_bus"]
    for _ in range(100):
        send("nosuchtopic", None, "x", True)
        time.sleep(0.05)
        if status()["unknown_bus"] > before:
            return
    raise AssertionError("no datagram over the veth pair reached bpfbusd")


VERDICTS = ("dropped", "matched", "verify", "passed")
seen = {}  # case index -> {topic: the kernel's verdict}


def verdict_of(topic, before):
    """Which of the bus's counters moved for the one datagram sent since @before."""
    for _ in range(100):
        now = bus_stats(topic)
        if now["received"] > before["received"]:
            moved = [v for v in VERDICTS if now[v] > before[v]]
            eq(1, now["received"] - before["received"], topic + ": datagrams received")
            eq(1, len(moved), topic + ": counters moved: %r" % moved)
            return moved[0]
        time.sleep(0.02)
    raise AssertionError(topic + ": the datagram never reached XDP")


def every_case_sent():
    st = status()
    sent = 0
    for i, (name, attrs, message, want) in enumerate(CASES):
        seen[i] = {}
        for t in ("kp", "ka"):
            before = bus_stats(t)
            send(t, attrs, message, True)
            seen[i][t] = verdict_of(t, before)
        send("ref", attrs, message, False)
        sent += 3
        eq(want, seen[i]["kp"], "case %d (%s): kp's verdict" % (i, name))
        eq({"dropped": "matched"}.get(want, want), seen[i]["ka"],
           "case %d (%s): ka's verdict (a subscription wants everything)" % (i, name))
    dropped = sum(1 for v in seen.values() for t in v.values() if t == "dropped")
    # everything not dropped in XDP reaches the daemon: published, refused, or
    # malformed (attributes not SNS-shaped, refused when decoded)
    keys = ("sns_published", "sns_rejected", "malformed")
    for _ in range(300):
        now = status()
        done = sum(now[k] - st[k] for k in keys)
        if done >= sent - dropped:
            break
        time.sleep(0.1)
    eq(sent - dropped, done, "datagrams the daemon published, refused or found malformed")
    for t in ("kp", "ka"):
        m = bus_stats(t)["malformed"]
        eq(0, m["body_not_object"], t + ": plain-text Messages are no malformed bodies")
        eq(2, m["bad_attributes"], t + ": attributes that are not JSON")


def drain(q):
    """Every body in @q, sorted (left invisible: nothing is received twice)."""
    sqs, got = boto3_client(H), []
    while True:
        r = sqs.receive_message(QueueUrl=H.queue_url(q), MaxNumberOfMessages=10,
                                VisibilityTimeout=600)
        if not r.get("Messages"):
            return sorted(got)
        got += [m["Body"] for m in r["Messages"]]


def deliveries_equal_userspace():
    delivered = 0
    for i in range(len(POLICIES)):
        ref = drain(queue_name("ref", i))
        delivered += len(ref)
        eq(ref, drain(queue_name("kp", i)), "subscription %d of kp (the kernel dropping)" % i)
        eq(ref, drain(queue_name("ka", i)), "subscription %d of ka (the kernel keeping)" % i)
        for j, (name, _, message, _) in enumerate(CASES):
            if seen[j]["kp"] == "dropped" and message in ref:
                raise AssertionError("case %d (%s) dropped in XDP, but subscription %d "
                                     "wants it" % (j, name, i))
    ref_all = drain(queue_name("ref", "all"))
    eq(ref_all, drain(queue_name("ka", "all")), "the subscription without a policy")
    if delivered < 40 or len(ref_all) < 25:
        raise AssertionError("too few deliveries to compare: %d, %d" % (delivered, len(ref_all)))
    kp = bus_stats("kp")
    eq(len(CASES), kp["received"], "kp: datagrams received in XDP")
    eq(sum(1 for c in CASES if c[3] == "dropped"), kp["dropped"], "kp: dropped in XDP")
    eq(sum(1 for c in CASES if c[3] == "verify"), kp["verify"], "kp: handed off VERIFY")
    eq(0, bus_stats("ka")["dropped"], "ka: nothing dropped")


NAMES = ["topics_and_subscriptions", "datapath_ready", "every_case_sent",
         "deliveries_equal_userspace", "host_exits_cleanly"]


def main():
    in_veth_pair(__file__, NAMES, lambda: run_suite(
        NAMES, globals(), "--iface", os.environ["BBT_IFACE"], "--anonymous"))


if __name__ == "__main__":
    main()
