#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# `bpfbus send` over real UDP sockets on the loopback: a small Python receiver,
# which parses wire v1 on its own from docs/wire.md (not from our C code),
# checks every datagram it gets: header fields, lengths, the FNV-1a name hash,
# sections, sequence numbers and JSON bodies.
#
# Environment: BPFBUS (the CLI), SRCTREE. Output: TAP 13 and the summary line.

set -u

SRCTREE=${SRCTREE:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
BPFBUS=${BPFBUS:-$SRCTREE/build/bpfbus}
PY=/usr/bin/python3
[[ -x $PY ]] || PY=python3

. "$SRCTREE/selftests/tap.sh"

tmp=$(mktemp -d)
rx_pid=
cleanup() {
	[[ -n $rx_pid ]] && kill "$rx_pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

ok() { tap_ok "$1"; : >"$tmp/why"; }
not_ok() {
	[[ -s $tmp/why ]] && head -30 "$tmp/why" | sed 's/^/# /'
	: >"$tmp/why"
	tap_not_ok "$1"
}
: >"$tmp/why"

# recv.py ADDR PORTFILE N OUT: bind ADDR on a random port (written to PORTFILE),
# receive N datagrams (10 s at most), decode each, write a JSON report to OUT.
cat >"$tmp/recv.py" <<'EOF'
import json, socket, struct, sys

addr, portfile, want, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
s = socket.socket(fam, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
s.bind((addr, 0))
open(portfile + ".tmp", "w").write(str(s.getsockname()[1]))
import os; os.rename(portfile + ".tmp", portfile)
s.settimeout(10)

# docs/wire.md: 48-byte header, network byte order.
HDR = struct.Struct("!4sBBHHHBBHIIQQQ")
assert HDR.size == 48

def fnv1a(b):
    h = 0x811C9DC5
    for c in b:
        h = ((h ^ c) * 0x01000193) & 0xFFFFFFFF
    return h

def decode(d):
    (magic, ver, kind, flags, hdr_len, name_len, group_len, dedup_len,
     attrs_len, body_len, name_hash, producer, seq, time_ns) = HDR.unpack_from(d)
    assert magic == b"BBUS", magic
    assert ver == 1 and kind in (1, 2), (ver, kind)
    assert hdr_len == 48, hdr_len
    assert 1 <= name_len <= 256 and group_len <= 128 and dedup_len <= 128
    assert attrs_len <= 8192 and body_len >= 1
    assert hdr_len + name_len + group_len + dedup_len + attrs_len + body_len == len(d), "lengths"
    o = hdr_len
    sec = {}
    for k, n in (("name", name_len), ("group", group_len), ("dedup", dedup_len),
                 ("attrs", attrs_len), ("body", body_len)):
        sec[k] = d[o:o + n].decode()
        o += n
    assert fnv1a(sec["name"].encode()) == name_hash, "name hash"
    if flags & 1:
        assert group_len > 0, "FIFO without group"
    if attrs_len:
        assert kind == 2
        for v in json.loads(sec["attrs"]).values():
            assert isinstance(v["Type"], str) and isinstance(v["Value"], str)
    if kind == 1:
        assert isinstance(json.loads(sec["body"]), dict)
    sec.update(kind=kind, flags=flags, producer=producer if flags & 4 else None,
               seq=seq if flags & 4 else None, has_time=bool(flags & 0x100 and time_ns))
    return sec

got, bad = [], []
try:
    while len(got) + len(bad) < want:
        d = s.recv(70000)
        try:
            got.append(decode(d))
        except Exception as e:
            bad.append("%r: %s" % (d[:64], e))
except socket.timeout:
    pass
# Anything more than expected is an error too.
s.settimeout(0.2)
try:
    while True:
        s.recv(70000)
        bad.append("extra datagram")
except socket.timeout:
    pass
json.dump({"got": got, "bad": bad}, open(out, "w"))
EOF

# start_rx ADDR N: start the receiver, set $port.
start_rx() {
	rm -f "$tmp/port" "$tmp/report.json"
	"$PY" "$tmp/recv.py" "$1" "$tmp/port" "$2" "$tmp/report.json" 2>"$tmp/rx.err" &
	rx_pid=$!
	for _ in $(seq 100); do
		[[ -s $tmp/port ]] && break
		sleep 0.05
	done
	port=$(cat "$tmp/port" 2>/dev/null)
	[[ -n $port ]]
}

wait_rx() {
	wait "$rx_pid"
	local rc=$?
	rx_pid=
	cat "$tmp/rx.err" >>"$tmp/why"
	return $rc
}

# check_report PYTHON-EXPRESSION: evaluated with r = the report, g = r["got"].
check_report() {
	"$PY" - "$tmp/report.json" "$1" >>"$tmp/why" 2>&1 <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
g = r["got"]
if r["bad"]:
    print("bad datagrams:", r["bad"][:5])
ok = not r["bad"] and eval("(" + sys.argv[2] + ")")
if not ok:
    print("received %d datagrams; first: %s" % (len(g), g[:2]))
sys.exit(0 if ok else 1)
EOF
}

tap_plan 9

# ---- 1: count 100, events from arguments, producer and sequence numbers ----

name="100 datagrams from 2 argument events, decoded independently"
if start_rx 127.0.0.1 100; then
	"$BPFBUS" send to "127.0.0.1:$port" bus orders producer 42 seq 1000 \
		event '{"source":"a","n":1}' '{"source":"b","n":2}' count 100 >"$tmp/out" 2>>"$tmp/why"
	rc=$?
	wait_rx
	cat "$tmp/out" >>"$tmp/why"
	if [[ $rc == 0 ]] && check_report '
len(g) == 100
and all(d["kind"] == 1 and d["name"] == "orders" and d["producer"] == 42 and d["has_time"] for d in g)
and sorted(d["seq"] for d in g) == list(range(1000, 1100))
and all(d["body"] == ('"'"'{"source":"a","n":1}'"'"' if d["seq"] % 2 == 0 else '"'"'{"source":"b","n":2}'"'"') for d in g)
and not any(d["group"] or d["dedup"] or d["attrs"] for d in g)' &&
		grep -q "^sent 100 datagrams, 7400 bytes to 127.0.0.1:$port in " "$tmp/out"; then
		ok "$name"
	else
		not_ok "$name"
	fi
else
	not_ok "$name (receiver did not start)"
fi

# ---- 2: SNS FIFO from stdin, with attributes and a blank line; -j summary ----

name="SNS FIFO messages from stdin with group, dedup and attributes; -j summary"
printf '%s\n' 'plain text message' '' '{"price":10}' '   ' 'third' >"$tmp/msgs"
attrs='{"store":{"Type":"String","Value":"example_corp"}}'
if start_rx 127.0.0.1 7; then
	"$BPFBUS" -j send to "127.0.0.1:$port" topic orders.fifo group g-1 dedup d-1 \
		attributes "$attrs" - count 7 <"$tmp/msgs" >"$tmp/out" 2>>"$tmp/why"
	rc=$?
	wait_rx
	cat "$tmp/out" >>"$tmp/why"
	if [[ $rc == 0 ]] && check_report '
len(g) == 7
and [d["body"] for d in g] == ["plain text message", "{\"price\":10}", "third"] * 2 + ["plain text message"]
and all(d["kind"] == 2 and d["flags"] & 1 and d["name"] == "orders.fifo" and d["group"] == "g-1"
        and d["dedup"] == "d-1" and json.loads(d["attrs"])["store"]["Value"] == "example_corp"
        and d["producer"] is None for d in g)' &&
		"$PY" -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(not (d["sent"] == 7 and d["bytes"] > 0 and d["seconds"] >= 0 and d["to"].endswith(sys.argv[2])))' \
			"$tmp/out" ":$port" 2>>"$tmp/why"; then
		ok "$name"
	else
		not_ok "$name"
	fi
else
	not_ok "$name (receiver did not start)"
fi

# ---- 3: file of JSON lines, IPv6 ----

name="events from a file over IPv6"
printf '%s\n' '{"a":1}' '{"a":2}' '{"a":3}' >"$tmp/events.jsonl"
if ! "$PY" -c 'import socket; s=socket.socket(socket.AF_INET6, socket.SOCK_DGRAM); s.bind(("::1", 0))' 2>/dev/null; then
	tap_skip "$name" "no IPv6 loopback"
elif start_rx ::1 3; then
	"$BPFBUS" send to "[::1]:$port" file "$tmp/events.jsonl" >"$tmp/out" 2>>"$tmp/why"
	rc=$?
	wait_rx
	if [[ $rc == 0 ]] && check_report '
[d["body"] for d in g] == ["{\"a\":1}", "{\"a\":2}", "{\"a\":3}"] and all(d["name"] == "default" for d in g)' &&
		grep -q "to \[::1\]:$port " "$tmp/out"; then
		ok "$name"
	else
		not_ok "$name"
	fi
else
	not_ok "$name (receiver did not start)"
fi

# ---- 4: pacing ----

name="rate 400 paces 60 datagrams over about 0.15 s"
if start_rx 127.0.0.1 60; then
	"$BPFBUS" -j send to "127.0.0.1:$port" event '{"x":1}' count 60 rate 400 >"$tmp/out" 2>>"$tmp/why"
	rc=$?
	wait_rx
	cat "$tmp/out" >>"$tmp/why"
	if [[ $rc == 0 ]] && check_report 'len(g) == 60' &&
		"$PY" -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(not 0.14 <= d["seconds"] < 2)' "$tmp/out"; then
		ok "$name"
	else
		not_ok "$name"
	fi
else
	not_ok "$name (receiver did not start)"
fi

# ---- 5..9: invalid input is refused before anything is sent ----

printf '%s\n' '{"ok":1}' '' '[1,2]' '{"ok":2}' '{"broken":' >"$tmp/bad.jsonl"
"$BPFBUS" send to 127.0.0.1:9 file "$tmp/bad.jsonl" >"$tmp/out" 2>"$tmp/err"
rc=$?
cat "$tmp/out" "$tmp/err" >>"$tmp/why"
if [[ $rc == 2 && ! -s $tmp/out ]] && grep -q "bad.jsonl:3: not a JSON object" "$tmp/err" &&
	grep -q "bad.jsonl:5: not a JSON object: " "$tmp/err" && ! grep -q "jsonl:[124]:" "$tmp/err" &&
	grep -q "2 of 4 events invalid, nothing sent" "$tmp/err"; then
	ok "bad lines are reported by line number, exit 2, nothing sent"
else
	not_ok "bad lines are reported by line number, exit 2, nothing sent"
fi

long=$(printf 'n%.0s' $(seq 257))
"$BPFBUS" send to 127.0.0.1:9 bus "$long" event '{}' >"$tmp/out" 2>"$tmp/err"
rc=$?
cat "$tmp/err" >>"$tmp/why"
if [[ $rc == 2 ]] && grep -q "longer than 256" "$tmp/err"; then
	ok "a bus name over 256 bytes is refused"
else
	not_ok "a bus name over 256 bytes is refused"
fi

"$BPFBUS" send to 127.0.0.1:9 bus b attributes '{"a":{"Type":"String","Value":"x"}}' event '{}' \
	>"$tmp/out" 2>"$tmp/err"
rc=$?
cat "$tmp/err" >>"$tmp/why"
if [[ $rc == 2 ]] && grep -q "attributes on a kind other than SNS" "$tmp/err"; then
	ok "attributes on an EventBridge event are refused"
else
	not_ok "attributes on an EventBridge event are refused"
fi

fails=0
for args in "to 127.0.0.1:0 event {}" "to [::1 event {}" "count 0 event {}" "rate -1 event {}" \
	"kind xml event {}" "topic t kind event event {}" "seq 5 event {}" "bus b" "bogus"; do
	# shellcheck disable=SC2086
	if "$BPFBUS" send $args >/dev/null 2>"$tmp/err"; then
		echo "accepted: send $args" >>"$tmp/why"
		fails=$((fails + 1))
	elif [[ ! -s $tmp/err ]]; then
		echo "no message: send $args" >>"$tmp/why"
		fails=$((fails + 1))
	fi
done
if [[ $fails == 0 ]]; then ok "bad arguments are refused with a message"; else not_ok "bad arguments are refused with a message"; fi

if "$BPFBUS" send help 2>&1 | grep -q "Usage: bpfbus send" && "$BPFBUS" help 2>&1 | grep -q "send"; then
	ok "send help"
else
	not_ok "send help"
fi

tap_done
