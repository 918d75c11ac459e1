#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# tools/demo-router, the README's first command, works: it runs to the end
# and each queue holds exactly the example events the reference matcher
# (`bpfbus pattern match`) says its rule matches.
#
# Needs root (netns, XDP, bpffs): SKIP otherwise. Environment: BPFBUS, BUILD, SRCTREE.

set -u
SRCTREE=${SRCTREE:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
BUILD=${BUILD:-$SRCTREE/build}
BPFBUS=${BPFBUS:-$BUILD/bpfbus}
. "$SRCTREE/selftests/tap.sh"
tap_plan 2
if [[ $(id -u) -ne 0 ]] || ! command -v ip >/dev/null; then
	tap_skip "demo-router runs" "needs root and ip(8)"
	tap_skip "queues hold what the reference matcher says" "needs root and ip(8)"
	tap_done
	exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
tap_run "demo-router runs" bash -c "BUILD=$BUILD BPFBUS=$BPFBUS $SRCTREE/tools/demo-router >$tmp/out 2>&1 || { cat $tmp/out; exit 1; }"
"$BPFBUS" pattern match rules "$SRCTREE/examples/rules.json" events "$SRCTREE/examples/events.jsonl" \
	>"$tmp/want"
tap_run "queues hold what the reference matcher says" /usr/bin/python3 - "$tmp/out" "$tmp/want" <<'PY'
import re, sys
out, want = open(sys.argv[1]).read(), open(sys.argv[2]).read()
expect = {}
for line in want.splitlines():
    n, rules = line.split(":", 1)
    if "(no rule matches)" in rules:
        continue
    for r in rules.split():
        expect.setdefault(r, []).append("e" + n.split()[1])
got = {}
for m in re.finditer(r"^   (\S+)\s+(\d+): ?(.*)$", out.split("== the queues", 1)[-1], re.M):
    got[m.group(1)] = m.group(3).split()
bad = {r: (got.get(r), expect.get(r, [])) for r in set(got) | set(expect)
       if sorted(got.get(r) or []) != sorted(expect.get(r, []))}
print("# queues:", got)
print("# differ:" if bad else "# all agree", bad or "")
sys.exit(1 if bad or not got else 0)
PY
tap_done
