#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# Acknowledged ingest against a running bpfbusd (slow-path socket, real
# store): every event acknowledged; a retransmission recognised as a
# duplicate, also after a restart (the producer windows commit with the
# messages); a producer that starts while the daemon is down retransmits
# until it comes up; events for no bus are rejected, not retried forever.
#
# Needs root (bpffs): SKIP otherwise. Environment: BPFBUS, BUILD, SRCTREE.

set -u
SRCTREE=${SRCTREE:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
BPFBUS=${BPFBUS:-$SRCTREE/build/bpfbus}
. "$SRCTREE/selftests/tap.sh"
. "$SRCTREE/selftests/daemon.inc"

daemon_test 10 daemon_ack
TO=127.0.0.1:$PORT

tap_daemon "bpfbusd starts" daemon_start --port $PORT
# a rule without targets: matched events are stored nowhere, and acknowledged
tap_run "bus and rule" bash -c "$BPFBUS bus add ev && $BPFBUS rule add r bus ev pattern '{\"source\":[\"eu\"]}'"

all_acked() {
	"$BPFBUS" send to $TO bus ev event '{"source":"eu"}' event '{"source":"us"}' count 2000 \
		ack 10 2>"$tmp/err" >/dev/null || { cat "$tmp/err"; return 1; }
	grep -q ': 2000 acknowledged (0 rejected, 0 failed)' "$tmp/err" && cat "$tmp/err"
}
tap_run "2000 events, all acknowledged" all_acked

resend() { # resend: producer 77, sequence numbers 1..5
	"$BPFBUS" send to $TO bus ev producer 77 event '{"source":"eu"}' count 5 ack 10 >/dev/null \
		2>>"$tmp/resend.err"
}
dups_after_restart() {
	resend || return 1
	daemon_stop || return 1
	daemon_start --port $PORT || return 1
	resend || return 1
	local d
	d=$(daemon_counter duplicates)
	echo "# duplicates after the restart: $d"
	((d == 5))
}
tap_daemon "a retransmission after a restart is a duplicate" dups_after_restart

# The producer starts while the daemon is down and retransmits until it is up.
down_then_up() {
	daemon_stop || return 1
	"$BPFBUS" send to $TO bus ev event '{"source":"eu"}' count 300 ack 30 >/dev/null \
		2>"$tmp/err" &
	local sender=$!
	sleep 1
	daemon_start --port $PORT || return 1
	wait $sender || { sed 's/^/# /' "$tmp/err"; return 1; }
	sed 's/^/# /' "$tmp/err"
	grep -q ': 300 acknowledged' "$tmp/err" && ! grep -q ' 0 retransmitted' "$tmp/err"
}
tap_daemon "started while the daemon was down: retransmitted until acknowledged" down_then_up

rejected() {
	! "$BPFBUS" send to $TO bus nosuch event '{"source":"eu"}' count 3 ack 5 \
		>/dev/null 2>"$tmp/err" && grep -q '3 rejected' "$tmp/err"
}
tap_run "events for no bus: rejected, exit 1" rejected
failed() {
	"$BPFBUS" rule add t bus ev pattern '{"source":["t"]}' target queue nosuchqueue &&
		! "$BPFBUS" send to $TO bus ev event '{"source":"t"}' count 2 ack 5 \
			>/dev/null 2>"$tmp/err" && grep -q '2 failed' "$tmp/err"
}
tap_run "a target that refuses: failed, exit 1" failed
acks_counted() { (($(daemon_counter acks_sent) >= 305)); }
tap_run "acks counted by the daemon" acks_counted
# --producer-idle: a producer's window is forgotten once it was idle that long
idle_forgotten() {
	daemon_stop && daemon_start --port $PORT --producer-idle 1 || return 1
	local send=("$BPFBUS" send to $TO bus ev producer 88 event '{"source":"eu"}' count 5 ack 10)
	"${send[@]}" >/dev/null 2>&1 && "${send[@]}" >/dev/null 2>&1 || return 1
	local d1 d2
	d1=$(daemon_counter duplicates)
	sleep 3
	"${send[@]}" >/dev/null 2>&1 || return 1
	d2=$(daemon_counter duplicates)
	echo "# duplicates: $d1 within the idle time, $d2 after it"
	((d1 == 5 && d2 == 5)) && grep -q 'idle for 1 s forgotten' "$tmp/daemon.log"
}
tap_daemon "an idle producer is forgotten (--producer-idle)" idle_forgotten
tap_daemon "SIGTERM: exit 0" daemon_stop
tap_done
