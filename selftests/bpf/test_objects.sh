#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
#
# Every built BPF object declares a GPL-compatible license and has BTF.
set -u
. "$SRCTREE/selftests/tap.sh"

objs=("$BUILD"/bpf/*.bpf.o)
tap_plan $((${#objs[@]} * 2))

license_ok() {
	local lic
	lic=$(readelf -p license "$1" | sed -n 's/^ *\[ *[0-9]*\] *//p')
	echo "license: $lic"
	case $lic in
	"GPL" | "GPL v2" | "GPL and additional rights" | "Dual BSD/GPL" | "Dual MIT/GPL" | "Dual MPL/GPL") ;;
	*) return 1 ;;
	esac
}

has_btf() {
	bpftool btf dump file "$1" >/dev/null
}

for o in "${objs[@]}"; do
	name=${o#"$BUILD"/}
	tap_run "$name license" license_ok "$o"
	tap_run "$name btf" has_btf "$o"
done
tap_done
