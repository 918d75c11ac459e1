#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# Archives and schema discovery with XDP attached (docs/archives.md, "With
# XDP attached"): two network namespaces joined by a veth pair, bpfbusd
# attached to the router end (AF_XDP), events sent from the other end.
#
# Archives are target-less entries of the kernel tables:
#  - events only an archive's pattern matches reach the daemon, are archived
#    (and replayable) and counted `archived` on the bus, not `matched`; they
#    reach no rule's target;
#  - events nothing wants are dropped in the kernel (`dropped`);
#  - a pattern-less archive keeps every event; deleting it, and changing or
#    deleting a pattern, make the kernel drop them again.
# Schema discovery (restarted with the default --discovery-rate): of events
# nothing wants, the kernel hands off a bounded sample, from which a schema
# appears; the sampled events reach no target and no archive.
#
# Needs root (netns, XDP, bpffs): SKIP otherwise. Environment: BPFBUS, BUILD, SRCTREE.

set -u
SRCTREE=${SRCTREE:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
BPFBUS=${BPFBUS:-$SRCTREE/build/bpfbus}
PY=/usr/bin/python3
. "$SRCTREE/selftests/tap.sh"
. "$SRCTREE/selftests/daemon.inc"
. "$SRCTREE/selftests/netns.inc"

netns_daemon_test 17 daemon_archive_xdp 10.215.0

# jq-like: one expression over the JSON a command prints (d is the document)
jget() {
	local expr=$1
	shift
	"$@" | $PY -c "import json,sys; d = json.load(sys.stdin); print($expr)"
}
# stat NAME: a kernel counter of bus orders (`bpfbus stats`)
stat() { jget "d[0]['$1']" "$BPFBUS" -j stats bus orders; }
archived() { jget "d['event_count']" "$BPFBUS" -j archive show "$1"; }
# send N SOURCE: N events of SOURCE, paced
send() {
	local i
	for ((i = 0; i < $1; i++)); do
		printf '{"source":"%s","detail-type":"Thing Seen","detail":{"i":%d,"s":"v%d"}}\n' "$2" $i $i
	done >"$tmp/send.jsonl"
	netns_s "$BPFBUS" send to "$NETNS_RADDR" bus orders file "$tmp/send.jsonl" rate 2000 >/dev/null
}
# settled: the kernel's received counter has stopped moving (everything sent was decided)
settled() {
	local a b
	b=$(stat received)
	for ((w = 0; w < 50; w++)); do
		sleep 0.2
		a=$(stat received)
		[[ $a == "$b" ]] && return 0
		b=$a
	done
	return 1
}
# expect NAME=VALUE...: kernel counters of bus orders, each moved by VALUE since snapshot
declare -A base
snapshot() {
	local c
	for c in matched archived dropped sampled verify; do base[$c]=$(stat $c); done
}
expect() {
	local kv c want got ok=0
	settled || echo "the counters did not settle"
	for kv in "$@"; do
		c=${kv%%=*} want=${kv#*=}
		got=$(($(stat "$c") - ${base[$c]}))
		echo "$c moved by $got (want $want)"
		[[ $got == "$want" ]] || ok=1
	done
	return $ok
}
depth() { jget "int(d['Attributes']['ApproximateNumberOfMessages'])" "$BPFBUS" -j queue attributes "$1"; }
# archived_now NAME N: archive NAME holds N events (the daemon archives within a round)
archived_now() {
	for ((w = 0; w < 50; w++)); do
		[[ $(archived "$1") == "$2" ]] && return 0
		sleep 0.1
	done
	echo "archive $1 holds $(archived "$1"), want $2"
	return 1
}

objects() {
	"$BPFBUS" bus add orders && "$BPFBUS" queue create q-shop >/dev/null &&
		"$BPFBUS" queue create q-audit >/dev/null &&
		"$BPFBUS" rule add shop bus orders pattern '{"source":["shop"]}' target queue q-shop &&
		"$BPFBUS" archive create audit bus orders pattern '{"source":["audit"]}' >/dev/null
}
# 40 audit events (only the archive wants them), 30 shop (a rule), 20 noise (nothing)
archive_pattern_only() {
	snapshot
	send 40 audit && send 30 shop && send 20 noise || return 1
	expect matched=30 archived=40 dropped=20 sampled=0 verify=0 &&
		archived_now audit 40 && [[ $(depth q-shop) == 30 && $(depth q-audit) == 0 ]]
}
# the archived audit events replayed into a rule that now wants them
replayable() {
	local r from=$(($(date +%s) - 600)) to
	"$BPFBUS" rule add audit-sink bus orders pattern '{"source":["audit"]}' target queue q-audit || return 1
	sleep 1.1
	to=$(date +%s)
	"$BPFBUS" replay start again archive audit from $from to "$to" >/dev/null || return 1
	for ((w = 0; w < 100; w++)); do
		r=$(jget "d['state'] + ' ' + str(d['delivered'])" "$BPFBUS" -j replay show again)
		[[ $r == COMPLETED* ]] && break
		sleep 0.1
	done
	echo "replay: $r; q-audit holds $(depth q-audit)"
	"$BPFBUS" rule delete audit-sink bus orders || return 1
	[[ $r == "COMPLETED 40" && $(depth q-audit) == 40 ]]
}
keep_all() {
	"$BPFBUS" archive create everything bus orders >/dev/null || return 1
	snapshot
	send 20 noise && expect archived=20 dropped=0 && archived_now everything 20
}
keep_all_deleted() {
	"$BPFBUS" archive delete everything || return 1
	snapshot
	send 20 noise && expect archived=0 dropped=20
}
pattern_changed() {
	"$BPFBUS" archive update audit pattern '{"source":["noise"]}' >/dev/null || return 1
	snapshot
	send 20 noise && send 10 audit && expect archived=20 dropped=10 && archived_now audit 60
}
pattern_deleted() {
	"$BPFBUS" archive delete audit || return 1
	snapshot
	send 20 noise && expect archived=0 dropped=20 matched=0
}
no_xdp() { ! netns_r ip link show dev "$NETNS_RIF" | grep -q xdp; }

# Part 1: no discovery, so every event nothing wants is dropped
tap_daemon "bpfbusd attached to $NETNS_RIF, --discovery-rate 0" \
	daemon_start --iface "$NETNS_RIF" --discovery-rate 0
tap_run "bus, queues, a rule, an archive with a pattern" objects
tap_run "the datapath passes traffic" netns_wait_datapath
tap_run "only the archive wants them: archived, not matched; nothing wanted: dropped" archive_pattern_only
tap_run "the archived events replay" replayable
tap_run "a pattern-less archive keeps every event" keep_all
tap_run "deleted, the kernel drops them again" keep_all_deleted
tap_run "a new pattern is in the kernel at once" pattern_changed
tap_run "the last archive deleted: dropped again" pattern_deleted
tap_daemon "SIGTERM exit 0" daemon_stop

# Part 2: schema discovery's sample of the events nothing wants
disco_sent=300
sampled_bounded() {
	local t0 t1 s d
	snapshot
	t0=$(date +%s%N)
	send $disco_sent disco || return 1
	t1=$(date +%s%N)
	settled
	s=$(($(stat sampled) - ${base[sampled]})) d=$(($(stat dropped) - ${base[dropped]}))
	# a bucket of 100 a second holding one second's worth: at most 100 at once, plus 100/s
	local most=$((100 + (t1 - t0) * 100 / 1000000000 + 1))
	echo "sampled $s (1..$most), dropped $d, of $disco_sent"
	((s >= 1 && s <= most && s + d == disco_sent))
}
schema_found() {
	for ((w = 0; w < 50; w++)); do
		jget "[s['source'] for s in d]" "$BPFBUS" -j schema list | grep -q disco && return 0
		sleep 0.1
	done
	return 1
}
# the samples went to discovery only: no queue, no archive, the daemon counted them
no_target() {
	local ds=$(daemon_counter sampled) ks=$(stat sampled)
	echo "daemon sampled $ds, kernel $ks; q-shop $(depth q-shop), archive kept $(archived kept)"
	[[ $ds == "$ks" && $(depth q-shop) == 30 && $(archived kept) == 0 ]]
}
tap_daemon "restarted with the default --discovery-rate" daemon_start --iface "$NETNS_RIF"
tap_run "an archive that does not want them" \
	"$BPFBUS" archive create kept bus orders pattern '{"source":["audit"]}'
tap_run "the datapath passes traffic" netns_wait_datapath
tap_run "a bounded sample of $disco_sent unwanted events reaches the daemon" sampled_bounded
tap_run "a schema appears for events no rule matches" schema_found
tap_run "the samples reached no target and no archive" no_target
tap_daemon "SIGTERM exit 0, interface left without XDP" eval 'daemon_stop && no_xdp'
tap_done
