#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# bpfbusd end to end on real kernel paths: two network namespaces joined by a
# veth pair; bpfbusd attaches XDP to the router end (AF_XDP, and in a variant
# the ring buffer) with rules targeting queues; the sender sends a mix of
# events with `bpfbus send`. Checks: each queue holds exactly the events its
# rules match (read back with `bpfbus queue receive`), the daemon's counters
# agree, acknowledged events that match nothing are still answered (the
# kernel hands them off), SIGTERM exits 0 and leaves the interface without XDP, and a restart
# restores buses, rules and queues with their messages.
#
# Needs root (netns, XDP, bpffs): SKIP otherwise. Environment: BPFBUS, BUILD, SRCTREE.

set -u
SRCTREE=${SRCTREE:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
BPFBUS=${BPFBUS:-$SRCTREE/build/bpfbus}
PY=/usr/bin/python3
N=${E2E_EVENTS:-300}
. "$SRCTREE/selftests/tap.sh"
. "$SRCTREE/selftests/daemon.inc"
. "$SRCTREE/selftests/netns.inc"

netns_daemon_test 22 daemon_e2e 10.214.0

# Events: detail.i < N/2 match "low" (queues q-low and q-all); every 5th has
# region eu and matches "eu" (queue q-eu, and q-all: a message per rule).
for ((i = 0; i < N; i++)); do
	printf '{"source":"e2e","detail":{"i":%d,"region":"%s"}}\n' "$i" \
		"$([[ $((i % 5)) -eq 0 ]] && echo eu || echo us)"
done >"$tmp/events.jsonl"

# The daemon in the router namespace.
start() { daemon_start --iface "$NETNS_RIF" --handoff "$1"; }
objects() {
	"$BPFBUS" bus add orders &&
		for q in q-low q-eu q-all; do "$BPFBUS" queue create $q >/dev/null || return 1; done &&
		"$BPFBUS" rule add low bus orders \
			pattern "{\"detail\":{\"i\":[{\"numeric\":[\"<\",$((N / 2))]}]}}" \
			target queue q-low target queue q-all &&
		"$BPFBUS" rule add eu bus orders pattern '{"detail":{"region":["eu"]}}' \
			target queue q-eu target queue q-all &&
		"$BPFBUS" rule add never bus orders pattern '{"source":["none"]}' target queue q-all
}
# drain Q FILE: receive and delete everything in Q, bodies one per line.
drain() {
	: >"$2"
	while :; do
		"$BPFBUS" -j queue receive "$1" max 10 >"$tmp/recv.json" || return 1
		$PY - "$tmp/recv.json" "$2" >"$tmp/handles" <<'PY' || return 1
import json, sys
r = json.load(open(sys.argv[1]))
with open(sys.argv[2], "a") as f:
    for m in r.get("Messages", []):
        f.write(m["Body"] + "\n")
        print(m["ReceiptHandle"])
PY
		[[ -s $tmp/handles ]] || return 0
		while read -r h; do "$BPFBUS" queue delete-message "$1" "$h" || return 1; done <"$tmp/handles"
	done
}
want() { # want FILTER: the events the python filter keeps
	$PY -c "
import json, sys
n = $N
for l in open('$tmp/events.jsonl'):
    d = json.loads(l)['detail']
    low, eu = d['i'] < n // 2, d['region'] == 'eu'
    if $1: print(l.strip())" | sort
}
counted() { # counted WANT: daemon's delivered counter reaches WANT within 10 s
	for ((w = 0; w < 100; w++)); do
		(($(daemon_counter delivered) >= $1)) && break
		sleep 0.1
	done
	local got=$(daemon_counter delivered) failed=$(daemon_counter delivery_failed)
	local xdp=$(daemon_counter xdp_events) verified=$(daemon_counter verified)
	local sampled=$(daemon_counter sampled)
	echo "# delivered $got (want $1), failed $failed; from XDP $xdp (want $matching + $sampled schema discovery samples), verified $verified"
	# the kernel decided: only matching events (and discovery's samples of the
	# others) reached the daemon, none needed verifying
	((got == $1 && failed == 0 && xdp == matching + sampled && verified == 0))
}
queues_exact() {
	drain q-low "$tmp/low" && drain q-eu "$tmp/eu" && drain q-all "$tmp/all" || return 1
	local ok=0
	cmp -s <(sort "$tmp/low") <(want low) || { echo "# q-low differs"; ok=1; }
	cmp -s <(sort "$tmp/eu") <(want eu) || { echo "# q-eu differs"; ok=1; }
	cmp -s <(sort "$tmp/all") <( (want low; want eu) | sort) || { echo "# q-all differs"; ok=1; }
	echo "# q-low $(wc -l <"$tmp/low"), q-eu $(wc -l <"$tmp/eu"), q-all $(wc -l <"$tmp/all")"
	return $ok
}
no_xdp() { ! netns_r ip link show dev "$NETNS_RIF" | grep -q xdp; }
# A body the kernel matches (detail.region is "eu") whose unused subtree is not
# JSON: the kernel skips that subtree unvalidated, so the daemon must refuse
# the event as malformed, as the slow path does, and deliver nothing.
send_malformed() { # send_malformed COUNT
	netns_s $PY - "$NETNS_RADDR" "$1" <<'PY'
import socket, struct, sys
body = b'{"source":"e2e","detail":{"region":"eu","junk":{"a": tru}}}'
name = b"orders"
h = 0x811c9dc5
for c in name:
    h = ((h ^ c) * 0x01000193) & 0xffffffff
hdr = struct.pack(">IBBHHHBBHII", 0x42425553, 1, 1, 0, 48, len(name), 0, 0, 0, len(body), h)
hdr += bytes(48 - len(hdr))
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for _ in range(int(sys.argv[2])):
    s.sendto(hdr + name + body, (sys.argv[1], 4790))
PY
}
malformed_refused() {
	local before=$(daemon_counter malformed) delivered=$(daemon_counter delivered)
	send_malformed 20 || return 1
	for ((w = 0; w < 100; w++)); do
		(($(daemon_counter malformed) >= before + 20)) && break
		sleep 0.1
	done
	local got=$(($(daemon_counter malformed) - before))
	echo "# malformed counted $got (want 20), delivered moved by $(($(daemon_counter delivered) - delivered))"
	((got == 20)) && (($(daemon_counter delivered) == delivered)) &&
		drain q-eu "$tmp/eu-bad" && [[ ! -s $tmp/eu-bad ]]
}
restored() {
	[[ $("$BPFBUS" queue list | sed 's|.*/||' | sort | tr '\n' ' ') == "q-all q-eu q-low " ]] &&
		[[ $("$BPFBUS" -j rule list bus orders | $PY -c \
			'import json,sys; print(" ".join(sorted(r["name"] for r in json.load(sys.stdin))))') == "eu low never" ]]
}
matching=$(want "low or eu" | wc -l)
total=$(($( (want low; want eu; want low; want eu) | wc -l)))

run_variant() {
	local h=$1
	tap_daemon "$h: bpfbusd attached to $NETNS_RIF" start "$h"
	if [[ $h == xsk ]]; then
		tap_run "$h: bus, queues, rules" objects
	else
		tap_run "$h: the restart restored queues and rules" restored
	fi
	tap_run "$h: the datapath passes traffic" netns_wait_datapath
	tap_run "$h: send $N events" netns_s "$BPFBUS" send to $NETNS_RADDR bus orders file "$tmp/events.jsonl" rate 20000
	tap_run "$h: $total messages delivered, the kernel decided" counted "$total"
	tap_run "$h: each queue holds exactly its rules' events" queues_exact
	tap_run "$h: a matched body that is not JSON is refused as malformed" malformed_refused
	tap_run "$h: no frame dropped in the AF_XDP rings (xsk_rx_dropped 0)" \
		test "$(daemon_counter xsk_rx_dropped)" = 0
	# no rule matches these: the kernel hands them off anyway, for the ack
	tap_run "$h: acknowledged ingest through XDP, unmatched events acked" netns_s "$BPFBUS" send \
		to $NETNS_RADDR bus orders event '{"source":"nomatch"}' count 50 ack 10
	tap_daemon "$h: SIGTERM exit 0" daemon_stop
	tap_run "$h: interface left without XDP" no_xdp
}
run_variant xsk
# the ring buffer, after a restart that restored buses, rules and queues
run_variant ringbuf
tap_done
