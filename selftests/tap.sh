# SPDX-License-Identifier: BSD-2-Clause
#
# TAP 13 helpers for shell selftests, same output as harness.h:
#
#	. "$SRCTREE/selftests/tap.sh"
#	tap_plan 2
#	tap_run "name" command args...    # ok if the command succeeds
#	tap_skip "name" "reason"
#	tap_done                           # summary line; exit 1 if any failed
#
# Output of tap_run commands is shown as "# " diagnostics.

_tap_n=0 _tap_pass=0 _tap_fail=0 _tap_skip=0

tap_plan() {
	echo "TAP version 13"
	echo "1..$1"
}

tap_log() {
	printf '# %s\n' "$@"
}

tap_ok() {
	_tap_n=$((_tap_n + 1)) _tap_pass=$((_tap_pass + 1))
	echo "ok $_tap_n $1"
}

tap_not_ok() {
	_tap_n=$((_tap_n + 1)) _tap_fail=$((_tap_fail + 1))
	echo "not ok $_tap_n $1"
}

tap_skip() {
	_tap_n=$((_tap_n + 1)) _tap_skip=$((_tap_skip + 1))
	echo "ok $_tap_n $1 # SKIP $2"
}

tap_run() {
	local name=$1 out rc
	shift
	out=$("$@" 2>&1)
	rc=$?
	[ -n "$out" ] && printf '%s\n' "$out" | sed 's/^/# /'
	if [ $rc -eq 0 ]; then
		tap_ok "$name"
	else
		tap_log "$name: exit status $rc"
		tap_not_ok "$name"
	fi
}

tap_done() {
	echo "$_tap_pass passed, $_tap_fail failed, $_tap_skip skipped"
	[ $_tap_fail -eq 0 ]
}
