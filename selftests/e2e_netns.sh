#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# The XDP datapath end to end, on real kernel paths: two network namespaces
# joined by a veth pair; the router side attaches bpfbus_xdp natively and
# `bpfbus capture` receives through AF_XDP and, in a variant, the ring buffer;
# the sender side sends events with `bpfbus send` (plus unknown-bus and
# garbage datagrams). Checks: exactly the N events arrive, with the right bus
# and bodies; `bpfbus stats -j` agrees with what was sent; detach leaves the
# interface without XDP. Then with rules loaded (`bpfbus rule load`): exactly
# the matching events arrive, decided in the kernel with their rule ids, the
# rest are dropped in the driver and counted; and rules reloaded ten times
# while a stream flows lose or misroute no event.
#
# Needs root (netns, XDP, bpffs): SKIP otherwise. Environment: BPFBUS, SRCTREE.

set -u

SRCTREE=${SRCTREE:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
BPFBUS=${BPFBUS:-$SRCTREE/build/bpfbus}
PY=/usr/bin/python3
[[ -x $PY ]] || PY=python3
N=${E2E_EVENTS:-200} # events per variant
M=5 # unknown-bus and garbage datagrams per variant

. "$SRCTREE/selftests/tap.sh"

TESTS=24
tap_plan $TESTS

skip_all() {
	for ((i = 0; i < TESTS; i++)); do tap_skip "e2e_netns" "$1"; done
	tap_done
	exit 0
}

[[ $(id -u) -eq 0 ]] || skip_all "needs root (network namespaces, XDP, bpffs)"
command -v ip >/dev/null || skip_all "no ip(8) (iproute2)"
[[ -x $BPFBUS ]] || skip_all "no bpfbus binary at $BPFBUS"

id=$$-$RANDOM
R=bbr-$id S=bbs-$id # namespaces
RIF=bbr${id%%-*} SIF=bbs${id%%-*} # veth ends (<= 15 characters)
RIF=${RIF:0:15} SIF=${SIF:0:15}
RADDR=10.213.0.1 SADDR=10.213.0.2
tmp=$(mktemp -d)
cap_pid=

cleanup() {
	[[ -n $cap_pid ]] && kill "$cap_pid" 2>/dev/null && wait "$cap_pid" 2>/dev/null
	ip netns del "$R" 2>/dev/null
	ip netns del "$S" 2>/dev/null
	umount "$tmp/bpffs" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The pins live on a private bpffs mounted here: every `ip netns exec` runs in
# a mount namespace of its own (with /sys remounted), so pins under its
# /sys/fs/bpf would not outlive one command; this mount is visible to all.
mkdir -p "$tmp/bpffs"
if ! mount -t bpf bpf "$tmp/bpffs"; then
	skip_all "cannot mount bpffs"
fi
export BPFBUS_PIN_DIR=$tmp/bpffs/bpfbus
export BPFBUS_STATE_DIR=$tmp/state

inr() { ip netns exec "$R" "$@"; }
ins() { ip netns exec "$S" "$@"; }

setup() {
	ip netns add "$R" && ip netns add "$S" &&
		ip link add "$RIF" netns "$R" type veth peer name "$SIF" netns "$S" &&
		inr ip addr add $RADDR/24 dev "$RIF" && ins ip addr add $SADDR/24 dev "$SIF" &&
		inr ip link set "$RIF" up && ins ip link set "$SIF" up &&
		inr ip link set lo up && ins ip link set lo up &&
		ins bash -c "echo arp >/dev/udp/$RADDR/9" && sleep 0.3 # resolve ARP (port 9: not ours)
}
if ! setup >"$tmp/setup.log" 2>&1; then
	sed 's/^/# /' "$tmp/setup.log"
	skip_all "cannot create namespaces and a veth pair"
fi

# 1: bpffs is mounted by bpfbus itself inside a fresh `ip netns exec`.
tap_run "bpffs auto-mounted in the router namespace" inr bash -c \
	"! mountpoint -q /sys/fs/bpf || umount /sys/fs/bpf; \
	 $BPFBUS --pin-dir /sys/fs/bpf/bpfbus bus add probe && \
	 $BPFBUS --pin-dir /sys/fs/bpf/bpfbus bus list | grep -q 'event probe'"

tap_run "bus add orders" inr "$BPFBUS" bus add orders

# Events: one JSON object per line, each distinct.
for ((i = 0; i < N; i++)); do
	printf '{"source":"e2e","detail-type":"t","detail":{"i":%d,"pad":"%s"}}\n' "$i" \
		"$([[ $((i % 7)) -eq 0 ]] && printf 'x%.0s' {1..300})"
done >"$tmp/events.jsonl"

stats() { inr "$BPFBUS" -j stats >"$1" 2>>"$tmp/why"; }

# check-run.py EVENTS CAPTURE BEFORE AFTER N M: the capture holds exactly the
# events (bus orders, VERIFY), and the counters moved by exactly what was sent.
cat >"$tmp/check.py" <<'EOF'
import json, sys
events, capture, before, after, n, m = sys.argv[1:5] + [int(sys.argv[5]), int(sys.argv[6])]
want = sorted(l.strip() for l in open(events) if l.strip())
got = [json.loads(l) for l in open(capture) if l.strip()]
bad = []
if len(got) != n:
    bad.append(f"captured {len(got)} events, want {n}")
if sorted(g.get("body") for g in got) != want:
    bad.append("captured bodies differ from the sent events")
for g in got:
    # no rules loaded: VERIFY, saying why (the reasons the metadata carries)
    if g.get("bus") != "orders" or not g.get("verify") or g.get("verify_why") != "no-tables":
        bad.append(f"bad event: {g}"); break
def by_id(path):
    return {s["id"]: s for s in json.load(open(path))}
b, a = by_id(before), by_id(after)
orders = [i for i, s in a.items() if s["bus"] == "orders"][0]
def get(snap, bus, keys):
    v = snap.get(bus, {})
    for k in keys:
        v = v.get(k, 0) if isinstance(v, dict) else 0
    return v
def d(bus, *keys):
    return get(a, bus, keys) - get(b, bus, keys)
expect = [
    ((orders, "received"), n), ((orders, "redirected"), n), ((orders, "verify"), n),
    ((orders, "matched"), 0), ((orders, "dropped"), 0), ((orders, "passed"), 0),
    ((0, "received"), 2 * m), ((0, "passed"), 2 * m),
    ((0, "pass_reasons", "unknown_bus"), m), ((0, "malformed", "bad_magic"), m),
    ((0, "malformed", "total"), m),
]
for keys, v in expect:
    if d(*keys) != v:
        bad.append(f"stats {keys}: moved by {d(*keys)}, want {v}")
print("\n".join(bad) if bad else f"{n} events, counters agree")
sys.exit(1 if bad else 0)
EOF

# A freshly attached veth program may miss the first packets (they can still
# be on the way through the peer's stack): send datagrams for no bus until
# the program counts one on bus 0.
bus0_received() {
	inr "$BPFBUS" -j stats | $PY -c \
		'import json,sys; print([s for s in json.load(sys.stdin) if s["id"] == 0][0]["received"])'
}
wait_datapath() {
	local before
	before=$(bus0_received)
	for ((w = 0; w < 100; w++)); do
		ins "$BPFBUS" send to $RADDR bus nosuchbus event '{"a":1}' >/dev/null
		sleep 0.02
		(($(bus0_received) > before)) && return 0
	done
	return 1
}

run_variant() {
	local handoff=$1 ready=0
	: >"$tmp/why"
	inr "$BPFBUS" -j capture iface "$RIF" handoff "$handoff" count "$N" timeout 30 \
		>"$tmp/cap.out" 2>"$tmp/cap.err" &
	cap_pid=$!
	for ((i = 0; i < 100; i++)); do
		grep -q "capturing on" "$tmp/cap.err" && ready=1 && break
		kill -0 "$cap_pid" 2>/dev/null || break
		sleep 0.1
	done
	if ((!ready)); then
		sed 's/^/# /' "$tmp/cap.err"
		tap_not_ok "$handoff: capture attached"
		for t in send received counters detached; do tap_skip "$handoff: $t" "no capture"; done
		kill "$cap_pid" 2>/dev/null
		wait "$cap_pid" 2>/dev/null
		cap_pid=
		return
	fi
	tap_ok "$handoff: capture attached"
	tap_log "$(grep -m1 dispatcher "$tmp/cap.err")"
	# the counters are read once the program sees traffic (wait_datapath's
	# own datagrams then fall before the snapshot)
	wait_datapath || tap_log "$handoff: the datapath counted nothing for 2 s"
	stats "$tmp/before.json"
	# Not for any bus: unknown bus, garbage. Then the events.
	ins "$BPFBUS" send to $RADDR bus nosuchbus event '{"a":1}' count $M >/dev/null
	for ((i = 0; i < M; i++)); do
		ins bash -c "echo garbage-$i >/dev/udp/$RADDR/4790"
	done
	tap_run "$handoff: send $N events" ins "$BPFBUS" send to $RADDR bus orders \
		file "$tmp/events.jsonl" rate 20000
	wait "$cap_pid"
	local rc=$?
	cap_pid=
	if ((rc == 0)); then tap_ok "$handoff: capture got $N events and exited"; else
		sed 's/^/# /' "$tmp/cap.err"
		tap_not_ok "$handoff: capture got $N events and exited (status $rc)"
	fi
	stats "$tmp/after.json"
	tap_run "$handoff: bodies, bus and counters agree" $PY "$tmp/check.py" \
		"$tmp/events.jsonl" "$tmp/cap.out" "$tmp/before.json" "$tmp/after.json" "$N" "$M"
	no_xdp() {
		! inr ip link show dev "$RIF" | grep -q xdp &&
			inr "$BPFBUS" -j link show "$RIF" | grep -q '"progs":\[\]'
	}
	tap_run "$handoff: detached, no XDP program left" no_xdp
}

run_variant xsk
run_variant ringbuf

# Rules in the kernel, then atomic switches under traffic.
. "$SRCTREE/selftests/e2e_rules.inc"

# link attach / show / detach by hand.
tap_run "link attach (native, stays attached)" inr "$BPFBUS" link attach "$RIF"
tap_run "link show lists bpfbus_xdp" bash -c \
	"ip netns exec $R $BPFBUS -j link show | grep -q '\"bpfbus\":true'"
detach_clean() {
	inr "$BPFBUS" link detach "$RIF" && ! inr ip link show dev "$RIF" | grep -q xdp
}
tap_run "link detach leaves the interface clean" detach_clean
tap_done
