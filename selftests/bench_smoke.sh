#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# Smoke test of the benchmark tools: tools/gen-workloads writes a small,
# deterministic workload; bench runs on it, prints well-formed RESULT lines,
# writes its counts file, checks --expected, and its per-rule counts agree with
# a small independent Python evaluation of exact and prefix patterns. With the
# shared benchmark folder present, the same agreement is checked on the first
# 20,000 events of the shared generator.
#
# Environment: BUILD (directory holding `bench`), SRCTREE (source tree),
# SHARED (the shared folder: ../shared, holding bench/gen_workloads.py).
# Output: TAP version 13, then "N passed, N failed, N skipped".

set -u

SRCTREE=${SRCTREE:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
BUILD=${BUILD:-$SRCTREE/build}
SHARED=${SHARED:-$SRCTREE/../shared}
BENCH=$BUILD/bench
GEN=$SRCTREE/tools/gen-workloads

. "$SRCTREE/selftests/tap.sh"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Diagnostics of a test go to $tmp/why and are shown only if it fails.
ok() { tap_ok "$1"; : >"$tmp/why"; }
not_ok() {
	[[ -s $tmp/why ]] && head -20 "$tmp/why" | sed 's/^/# /'
	: >"$tmp/why"
	tap_not_ok "$1"
}
check() { # check NAME COMMAND...: ok if the command succeeds
	local name=$1
	shift
	if "$@" >"$tmp/why" 2>&1; then ok "$name"; else not_ok "$name"; fi
}
finish() {
	tap_done
	exit
}

# A RESULT line with every field the benchmark README and docs/performance.md rely on.
RESULT_RE='^RESULT impl=[^ ]+ family=[^ ]+ rules=[0-9]+ exclude=[^ ]+ add_s=[0-9.]+ matches=[0-9]+ '
RESULT_RE+='check=(counts-ok|unchecked) eps=[0-9]+(,[0-9]+)* ns_per_event=[0-9.]+ mem_bytes=[0-9]+ maxrss_kb=[0-9]+$'

# Independent reference: EventBridge exact-string and prefix semantics over
# (possibly nested) fields; arrays match if any element does; non-strings
# (null, numbers) match neither.
cat >"$tmp/ref.py" <<'EOF'
import json, sys

def leaves(pat, path=()):
    for k, v in pat.items():
        if isinstance(v, dict):
            yield from leaves(v, path + (k,))
        else:
            yield path + (k,), v

def values(node, path):
    if isinstance(node, list):
        return [x for item in node for x in values(item, path)]
    if not path:
        return [node]
    if isinstance(node, dict) and path[0] in node:
        return values(node[path[0]], path[1:])
    return []

def cond_ok(val, cond):
    if isinstance(cond, str):
        return isinstance(val, str) and val == cond
    if isinstance(cond, dict) and list(cond) == ["prefix"] and isinstance(cond["prefix"], str):
        return isinstance(val, str) and val.startswith(cond["prefix"])
    raise SystemExit("reference cannot evaluate %r" % (cond,))

def matches(pat, ev):
    return all(any(cond_ok(v, c) for v in values(ev, path) for c in conds) for path, conds in leaves(pat))

rules_path, events_path, exclude = sys.argv[1], sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else None
rules = [(k, v) for k, v in json.load(open(rules_path)).items() if not (exclude and k.startswith(exclude))]
counts = {k: 0 for k, _ in rules}
for line in open(events_path):
    if line.strip():
        ev = json.loads(line)
        for name, pat in rules:
            counts[name] += matches(pat, ev)
for name, _ in rules:
    print("%s\t%d" % (name, counts[name]))
EOF

# same_counts BENCH_COUNTS REF_COUNTS: identical rows, comment line ignored.
same_counts() { diff <(grep -v '^#' "$1") "$2"; }

# bench_vs_ref DATA RULES EVENTS [EXCLUDE]: bench's counts equal the reference's.
bench_vs_ref() {
	local data=$1 rules=$2 events=$3 exclude=${4:-}
	local args=(--engine user --rules "$data/rules/$rules.json" --events "$data/$events"
		--passes 1 --warmup 0 --cpu -1 --counts "$tmp/$rules.bench.counts")
	[[ -n $exclude ]] && args+=(--exclude "$exclude")
	"$BENCH" "${args[@]}" >/dev/null || return 1
	python3 "$tmp/ref.py" "$data/rules/$rules.json" "$data/$events" $exclude >"$tmp/$rules.ref.counts" || return 1
	same_counts "$tmp/$rules.bench.counts" "$tmp/$rules.ref.counts"
}

if [[ ! -x $BENCH ]]; then
	tap_plan 1
	echo "$BENCH not built" >"$tmp/why"
	not_ok "bench is built"
	finish
fi
tap_plan 18

# ---- generator -------------------------------------------------------------

data=$tmp/own
gen_args=(--n-citylots 2000 --n-ec2 500 --scale "10,100")
check "gen-workloads writes a small workload that verifies" \
	bash -c '"$1" "$2" "${@:3}" && cd "$2" && sha256sum --quiet -c MANIFEST.sha256 &&
		[[ $(wc -l <citylots.jsonl) == 2000 && $(ls rules | wc -l) == 17 ]]' _ "$GEN" "$data" "${gen_args[@]}"
check "gen-workloads is deterministic" \
	bash -c '"$1" "$2" "${@:4}" 2>/dev/null && cmp "$2/MANIFEST.sha256" "$3/MANIFEST.sha256"' \
	_ "$GEN" "$tmp/own2" "$data" "${gen_args[@]}"

# ---- bench output ----------------------------------------------------------

out=$("$BENCH" --engine user --rules "$data/rules/EXACT.json" --events "$data/citylots.jsonl" \
	--passes 3 --warmup 1 --cpu -1 --counts "$tmp/exact.counts" 2>"$tmp/why")
rc=$?
if [[ $rc == 0 && $out =~ $RESULT_RE && $out == *" family=EXACT rules=5 "*"check=unchecked"* ]]; then
	ok "bench prints a well-formed RESULT line"
else
	echo "exit $rc: $out" >>"$tmp/why"
	not_ok "bench prints a well-formed RESULT line"
fi
check "bench writes the counts file (comment, then name<TAB>count per rule in order)" \
	bash -c '[[ $(head -1 "$1") == "#"* ]] &&
		diff <(tail -n +2 "$1" | cut -f1) <(printf "EXACT-%d\n" 1 2 3 4 5) &&
		! tail -n +2 "$1" | grep -qvP "^[^\t]+\t[0-9]+$"' _ "$tmp/exact.counts"

out=$("$BENCH" --engine user --rules "$data/rules/scale-100.json" --events "$data/citylots.jsonl" \
	--exclude numeric- --passes 1 --warmup 0 --cpu -1 2>"$tmp/why")
want=$(grep -c '^  "exact-\|^  "prefix-' "$data/rules/scale-100.json")
if [[ $out =~ $RESULT_RE && $out == *" rules=$want exclude=numeric- "* ]]; then
	ok "--exclude numeric- loads the $want exact and prefix rules"
else
	echo "$out" >>"$tmp/why"
	not_ok "--exclude numeric- loads the $want exact and prefix rules"
fi

# Full mix (numeric boxes included) on two more families; these need the
# matcher's numeric and anything-but support, not just the driver.
for fam in scale-100 ANYTHING_BUT; do
	out=$("$BENCH" --engine user --rules "$data/rules/$fam.json" --events "$data/citylots.jsonl" \
		--passes 2 --warmup 0 --cpu -1 2>"$tmp/why")
	if [[ $out =~ $RESULT_RE ]]; then ok "bench runs $fam"; else echo "$out" >>"$tmp/why"; not_ok "bench runs $fam"; fi
done

out=$("$BENCH" --engine user --rules "$data/rules/EXACT.json" --events "$data/citylots.jsonl" \
	--expected "$tmp/exact.counts" --passes 1 --warmup 1 --cpu -1 2>"$tmp/why")
rc=$?
if [[ $rc == 0 && $out =~ $RESULT_RE && $out == *" check=counts-ok "* ]]; then
	ok "--expected with matching counts reports check=counts-ok"
else
	echo "exit $rc: $out" >>"$tmp/why"
	not_ok "--expected with matching counts reports check=counts-ok"
fi

awk -F'\t' 'NR == 2 { $2 = $2 + 1 } { print }' OFS='\t' "$tmp/exact.counts" >"$tmp/wrong.counts"
out=$("$BENCH" --engine user --rules "$data/rules/EXACT.json" --events "$data/citylots.jsonl" \
	--expected "$tmp/wrong.counts" --passes 1 --warmup 0 --cpu -1 2>"$tmp/err")
rc=$?
if [[ $rc == 1 && $out == *" check=counts-FAILED "* && $out != *" eps="* ]] && grep -q 'EXACT-1: got' "$tmp/err"; then
	ok "differing counts report check=counts-FAILED, the rule, and no speed"
else
	{ echo "exit $rc: $out"; cat "$tmp/err"; } >>"$tmp/why"
	not_ok "differing counts report check=counts-FAILED, the rule, and no speed"
fi

out=$("$BENCH" --engine user --rules "$data/rules/scale-100.json" --load-only --cpu -1 2>"$tmp/why")
if [[ $out =~ ^RESULT\ .*\ rules=100\ .*add_s=[0-9.]+\ mode=load-only\ mem_bytes=[0-9]+\ maxrss_kb=[0-9]+$ ]]; then
	ok "--load-only reports add time, matcher memory and max RSS"
else
	echo "$out" >>"$tmp/why"
	not_ok "--load-only reports add time, matcher memory and max RSS"
fi

"$BENCH" --engine gpu --rules "$data/rules/EXACT.json" --events "$data/citylots.jsonl" >/dev/null 2>"$tmp/err"
rc=$?
if [[ $rc == 2 ]] && grep -q "engine must be 'user', 'kernel' or 'datapath'" "$tmp/err"; then
	ok "an unknown --engine is refused with the list of engines"
else
	{ echo "exit $rc"; cat "$tmp/err"; } >>"$tmp/why"
	not_ok "an unknown --engine is refused with the list of engines"
fi

# the whole XDP program (bpfbus_xdp on wire datagrams) decides the same counts
if [[ $(id -u) == 0 ]]; then
	out=$("$BENCH" --engine datapath --rules "$data/rules/EXACT.json" --events "$data/citylots.jsonl" \
		--expected "$tmp/exact.counts" --passes 1 --warmup 0 --cpu -1 2>"$tmp/why")
	if [[ $out == "RESULT impl=bpfbus-datapath "*" check=counts-ok "*" engine=datapath "* ]]; then
		ok "--engine datapath: the XDP program's counts equal the user engine's"
	else
		echo "$out" >>"$tmp/why"
		not_ok "--engine datapath: the XDP program's counts equal the user engine's"
	fi
else
	tap_skip "--engine datapath: the XDP program's counts equal the user engine's" "needs root (BPF)"
fi

# ---- counts against the independent reference ------------------------------

check "EXACT counts equal the reference (own data)" bench_vs_ref "$data" EXACT citylots.jsonl
check "PREFIX counts equal the reference (own data)" bench_vs_ref "$data" PREFIX citylots.jsonl
check "ec2-EXACT counts equal the reference (own data)" bench_vs_ref "$data" ec2-EXACT ec2.jsonl
check "scale-100 exact+prefix counts equal the reference (own data)" \
	bench_vs_ref "$data" scale-100 citylots.jsonl numeric-

shared_gen=
for g in "$SHARED/bench/gen_workloads.py" "$SHARED/gen_workloads.py"; do
	[[ -f $g ]] && shared_gen=$g && break
done
if [[ -n $shared_gen ]]; then
	# The shared expected counts are for the full data set; on its first
	# 20,000 events the reference is our Python evaluation.
	sdata=$tmp/shared
	if python3 "$shared_gen" "$sdata" --n-citylots 20000 --n-ec2 1000 --scale 10 >"$tmp/why" 2>&1; then
		check "EXACT counts equal the reference (shared data, 20,000 events)" \
			bench_vs_ref "$sdata" EXACT citylots.jsonl
		check "PREFIX counts equal the reference (shared data, 20,000 events)" \
			bench_vs_ref "$sdata" PREFIX citylots.jsonl
	else
		not_ok "EXACT counts equal the reference (shared data: generator failed)"
		not_ok "PREFIX counts equal the reference (shared data: generator failed)"
	fi
else
	tap_skip "EXACT counts equal the reference (shared data)" "no shared generator under SHARED=$SHARED"
	tap_skip "PREFIX counts equal the reference (shared data)" "no shared generator under SHARED=$SHARED"
fi

finish
