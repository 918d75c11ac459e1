#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# Every frame of a paced stream is accounted for. One tools/bench-e2e run
# goes through each mode (XDP with AF_XDP, XDP with the ring buffer,
# socket-only) in turn on the same veth pair, as the benchmark does (a run
# must not start sending before its receiver is ready, whatever the run
# before it left behind): the
# generator injects COUNT live frames at RATE per second into the sender veth
# (10% matching), and the run must show, from the kernel's own counters, that
# the router saw exactly COUNT:
#
#   sent = COUNT                  the generator's XDP_TX count
#   not_tx = 0                    none failed before the sender veth's xmit
#   peer_ring_full = 0            none refused by the router veth's full ring
#   ring_lost = 0                 none left in or lost from that ring
#   rx_xdp = COUNT                its NAPI took every one off the ring, and
#                                 nothing else (no ARP, no IPv6 on the pair)
#   rx_drops = sock_drops = 0     none dropped on receive or at the socket
#   handled = COUNT               XDP: the bus's `received` counter;
#                                 socket: datagrams read
#   unaccounted = 0               sent - handled - every loss above
#   matched = matching = COUNT/10, and (XDP) dropped = COUNT - matching in the
#   driver with nothing passed or left to VERIFY.
#
# A correctness test, not a timed one: no retries; a lost frame is a failure
# with its reason. Needs root (netns, XDP, bpffs): SKIP otherwise.
# Environment: BUILD, SRCTREE; E2E_PACED_COUNT, E2E_PACED_RATE.

set -u

SRCTREE=${SRCTREE:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
BUILD=${BUILD:-$SRCTREE/build}
COUNT=${E2E_PACED_COUNT:-20000}
RATE=${E2E_PACED_RATE:-20000}
MODES="xdp xdp-ringbuf socket"

. "$SRCTREE/selftests/tap.sh"

tap_plan 3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# check MODE RESULT: prints what the run shows, or why it is wrong (exit 1).
check() {
	awk -v mode="$1" -v line="$2" -v count="$COUNT" 'BEGIN {
		n = split(line, a, " "); for (i = 2; i <= n; i++) { split(a[i], kv, "="); r[kv[1]] = kv[2] }
		if (n < 2) { print mode ": no RESULT line"; exit 1 }
		bad = ""
		if (r["sent"] != count) bad = bad sprintf(" sent %s, want %d;", r["sent"], count)
		split("not_tx peer_ring_full ring_lost rx_drops sock_drops unaccounted", zero, " ")
		for (k in zero)
			if (r[zero[k]] != 0) bad = bad sprintf(" %s=%s, want 0;", zero[k], r[zero[k]])
		if (r["rx_xdp"] != r["sent"])
			bad = bad sprintf(" the router veth took %s frames off its ring of %s sent;", r["rx_xdp"], r["sent"])
		if (r["handled"] != r["sent"]) bad = bad sprintf(" handled %s of %s sent;", r["handled"], r["sent"])
		if (r["matching"] != int(count / 10))
			bad = bad sprintf(" %s matching sent, want %d;", r["matching"], int(count / 10))
		if (r["matched"] != r["matching"])
			bad = bad sprintf(" %s matched delivered, %s matching sent;", r["matched"], r["matching"])
		if (mode ~ /^xdp/ && r["dropped"] != r["sent"] - r["matching"])
			bad = bad sprintf(" %s dropped in the driver, want %d;", r["dropped"], r["sent"] - r["matching"])
		if (mode ~ /^xdp/ && (r["passed"] != 0 || r["verify"] != 0))
			bad = bad sprintf(" passed %s, verify %s, want 0;", r["passed"], r["verify"])
		if (bad != "") { print mode ":" bad; exit 1 }
		printf "%s: %s sent, %s taken off the ring, %s handled, %s matching delivered, %s dropped in the driver\n", \
			mode, r["sent"], r["rx_xdp"], r["handled"], r["matched"], r["dropped"]
	}'
}

BUILD=$BUILD "$SRCTREE/tools/bench-e2e" --modes "$MODES" --rates "$RATE" --count "$COUNT" \
	>"$tmp/out" 2>"$tmp/err"
rc=$?
for mode in $MODES; do
	name="$mode: $COUNT frames paced at $RATE/s all accounted for"
	if ((rc == 77)); then
		tap_skip "$name" "$(grep -m1 'cannot run' "$tmp/err")"
		continue
	fi
	line=$(grep -m1 "^RESULT mode=$mode " "$tmp/out")
	if why=$(check "$mode" "$line"); then
		tap_log "$why"
		tap_ok "$name"
	else
		tap_log "$why" "$line"
		sed 's/^/# /' "$tmp/err" | grep -v '^#   OK' | head -20
		tap_not_ok "$name"
	fi
done
tap_done
