#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# bpfbusd's control plane through the CLI, against a running daemon with a
# real state directory and pinned maps (no interface: the slow-path socket
# takes the events): buses and rules (add, errors and their exit statuses,
# disable/enable reaching the kernel tables), events routed by the userspace
# matcher and counted, SIGTERM exit 0, restart restoring buses and rules, and
# the daemonless `rule load` editing the same object model, and refused
# while the daemon owns the pinned tables but cannot be reached.
#
# Needs root (bpffs): SKIP otherwise. Environment: BPFBUS, BUILD, SRCTREE.

set -u
SRCTREE=${SRCTREE:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
BPFBUS=${BPFBUS:-$SRCTREE/build/bpfbus}
. "$SRCTREE/selftests/tap.sh"
. "$SRCTREE/selftests/daemon.inc"

daemon_test 24 daemon_control
PY=/usr/bin/python3

# expect STATUS CMD...: the command exits with exactly STATUS.
expect() {
	local want=$1 rc
	shift
	"$@" >"$tmp/out" 2>&1
	rc=$?
	sed 's/^/# /' "$tmp/out"
	((rc == want)) || { echo "# exit status $rc, want $want"; return 1; }
}

tap_daemon "bpfbusd starts and answers" daemon_start --port $PORT
tap_run "bus add orders" "$BPFBUS" bus add orders
tap_run "bus add orders again: exit 1" expect 1 "$BPFBUS" bus add orders
tap_run "rule add with a queue target" "$BPFBUS" rule add eu bus orders \
	pattern '{"source":["eu"]}' target queue q1 target queue q2 id second
bad_pattern() {
	expect 2 "$BPFBUS" rule add bad bus orders pattern '{"source":"eu"}' &&
		grep -q 'Event pattern is not valid' "$tmp/out"
}
tap_daemon "invalid pattern: exit 2 with EventBridge's error" bad_pattern
six=(target queue a target queue b target queue c target queue d target queue e target queue f)
tap_run "six targets: exit 2" expect 2 "$BPFBUS" rule add many bus orders pattern '{}' "${six[@]}"
tap_run "rule on a missing bus: exit 1" expect 1 "$BPFBUS" rule add x bus nosuch pattern '{"a":[1]}'

listed() { # listed NAME STATE: rule list -j has NAME with STATE and both targets
	"$BPFBUS" -j rule list bus orders | /usr/bin/python3 -c "
import json, sys
r = {x['name']: x for x in json.load(sys.stdin)}
x = r.get('$1')
print('#', x)
sys.exit(0 if x and x['state'] == '$2' and
         [(t['id'], t['queue']) for t in x['targets']] == [('q1', 'q1'), ('second', 'q2')] else 1)"
}
in_kernel() { "$BPFBUS" rule show bus orders | grep -q 'orders/eu'; }
tap_run "rule list shows the rule and its targets" listed eu ENABLED
tap_run "disable: listed DISABLED, gone from the kernel tables" bash -c \
	"$BPFBUS rule disable eu bus orders && $(declare -f listed in_kernel) && BPFBUS=$BPFBUS listed eu DISABLED && ! in_kernel"
tap_run "enable: back in the kernel tables" bash -c \
	"$BPFBUS rule enable eu bus orders && $(declare -f in_kernel) && BPFBUS=$BPFBUS in_kernel"

# A daemon the CLI cannot reach (another control socket) still owns the pinned
# tables: a daemonless `rule load` or `bus add` would compile only what it was
# given over what bpfbusd compiled (archives, topics, flags). Refused, naming
# the daemon and the right command; the tables keep their generation.
generation() { "$BPFBUS" -j bus list | $PY -c "import json,sys; print([b['generation'] for b in json.load(sys.stdin) if b['name'] == 'orders'][0])"; }
unreachable_refused() {
	local before after
	before=$(generation) || return 1
	echo '{"x": {"source": ["x"]}}' >"$tmp/other.json"
	BPFBUS_CONTROL=$tmp/elsewhere.sock expect 1 "$BPFBUS" rule load bus orders file "$tmp/other.json" &&
		grep -q "bpfbusd owns the pinned maps in $BPFBUS_PIN_DIR but does not answer on $tmp/elsewhere.sock" "$tmp/out" &&
		grep -q 'bpfbus --control SOCKET rule load' "$tmp/out" || return 1
	after=$(generation)
	echo "# generation $before -> $after"
	[[ $before == "$after" ]] && in_kernel
}
tap_run "rule load beside an unreachable daemon: refused, tables untouched" unreachable_refused
bus_refused() {
	BPFBUS_CONTROL=$tmp/elsewhere.sock expect 1 "$BPFBUS" bus add sideways &&
		grep -q 'bpfbus --control SOCKET bus add' "$tmp/out" &&
		! "$BPFBUS" bus list | grep -q sideways
}
tap_run "bus add beside an unreachable daemon: refused" bus_refused

# 3 matching and 2 other events over the slow path: every one is matched in
# userspace; the 3 go to both targets, which do not exist yet (6 failures).
routed() {
	"$BPFBUS" send to 127.0.0.1:$PORT bus orders event '{"source":"eu"}' count 3 >/dev/null &&
		"$BPFBUS" send to 127.0.0.1:$PORT bus orders event '{"source":"us"}' count 2 >/dev/null &&
		"$BPFBUS" send to 127.0.0.1:$PORT bus nosuch event '{"source":"eu"}' >/dev/null || return 1
	for ((w = 0; w < 50; w++)); do
		(($(daemon_counter events) >= 6)) && break
		sleep 0.1
	done
	local got
	got=$(for c in events udp_events verified unmatched unknown_bus delivery_failed; do
		printf '%s=%s ' $c "$(daemon_counter $c)"; done)
	echo "# $got"
	[[ $got == "events=6 udp_events=6 verified=5 unmatched=2 unknown_bus=1 delivery_failed=6 " ]]
}
tap_run "slow-path events matched and counted exactly" routed

stopped_clean() {
	daemon_stop || return 1
	[[ ! -e $BPFBUS_CONTROL ]] || { echo "# control socket left behind"; return 1; }
	grep -q 'stopped' "$tmp/daemon.log"
}
tap_daemon "SIGTERM: exit 0, control socket removed" stopped_clean

# Without the daemon: `rule load` edits the same model the daemon restores.
echo '{"eu": {"source": ["eu"]}, "big": {"detail": {"n": [{"numeric": [">", 10]}]}}}' \
	>"$tmp/rules.json"
tap_run "daemonless rule load into the object model" "$BPFBUS" rule load bus orders file "$tmp/rules.json"
# A daemon that starts while a daemonless write holds the pin directory
# (flock -x, as `rule load` takes it) waits for it, and says so.
restart_waits() {
	flock -x "$BPFBUS_PIN_DIR" sleep 1.5 &
	local holder=$!
	sleep 0.3
	daemon_start --port $PORT || return 1
	! kill -0 $holder 2>/dev/null && wait $holder &&
		grep -q "waiting for a bpfbus command that writes $BPFBUS_PIN_DIR" "$tmp/daemon.log"
}
tap_daemon "restart, after the daemonless write holding the pins" restart_waits
restored() {
	"$BPFBUS" -j rule list bus orders | /usr/bin/python3 -c "
import json, sys
r = {x['name']: x for x in json.load(sys.stdin)}
print('#', sorted(r))
# eu kept its targets across the load; big is new
sys.exit(0 if sorted(r) == ['big', 'eu'] and len(r['eu']['targets']) == 2 else 1)" &&
		"$BPFBUS" bus list | grep -q 'event orders'
}
tap_run "restart restored buses and rules (targets kept)" restored
tap_run "rule delete; bus delete refused while rules remain" bash -c \
	"$BPFBUS rule delete big bus orders && ! $BPFBUS bus delete orders 2>/dev/null"

# batch: one command per line, quotes, comments; the first failure stops it.
cat >"$tmp/batch" <<'BATCH'
# set up a bus and a rule
bus add payments
rule add big bus payments pattern '{"detail": {"amount": [{"numeric": [">", 100]}]}}' target queue audit
rule add "small" bus payments pattern "{\"detail\": {\"amount\": [{\"numeric\": [\"<=\", 100]}]}}"
BATCH
batch_ok() {
	"$BPFBUS" batch file "$tmp/batch" 2>"$tmp/err" || { cat "$tmp/err"; return 1; }
	grep -q 'processed 3 commands' "$tmp/err" &&
		[[ $("$BPFBUS" -j rule list bus payments | $PY -c \
			'import json,sys; print(" ".join(sorted(r["name"] for r in json.load(sys.stdin))))') == "big small" ]]
}
tap_daemon "batch file: three commands, quotes and escapes" batch_ok
printf 'rule delete small bus payments\nrule delete nosuch bus payments\nrule delete big bus payments\n' \
	>"$tmp/batch2"
batch_stops() {
	expect 1 "$BPFBUS" batch file "$tmp/batch2" && grep -q 'batch line 2 failed' "$tmp/out" &&
		grep -q 'processed 1 commands' "$tmp/out" &&
		"$BPFBUS" rule describe big bus payments >/dev/null
}
tap_daemon "batch stops at the first failure with its status" batch_stops
tap_daemon "final SIGTERM: exit 0" daemon_stop
bad_frames() {
	expect 2 "$BPFBUSD" --xsk-frames 1000 && grep -q -- '--xsk-frames is a power of 2' "$tmp/out"
}
tap_run "bpfbusd --xsk-frames 1000: exit 2, a power of 2 wanted" bad_frames

# bash completion (tools/bpfbus-completion.bash), without the daemon
complete_to() { # complete_to "WORDS..." WANT: the completions of the last word
	local want=$1
	shift
	(
		. "$SRCTREE/tools/bpfbus-completion.bash"
		COMP_WORDS=("$@")
		COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
		_bpfbus
		echo "# ${COMPREPLY[*]}"
		[[ "${COMPREPLY[*]}" == "$want" ]]
	)
}
tap_run "completion: objects" complete_to "rule" bpfbus ru
tap_run "completion: rule commands and keywords" bash -c \
	"$(declare -f complete_to); SRCTREE=$SRCTREE complete_to 'disable' bpfbus rule dis &&
	 SRCTREE=$SRCTREE complete_to 'pattern' bpfbus rule add x pat"
tap_done
