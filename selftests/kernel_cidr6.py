#!/usr/bin/python3
# SPDX-License-Identifier: BSD-2-Clause
#
# IPv6 (and IPv4) CIDR matching in the kernel engine. Runs hand-picked
# address spellings (every rule of inet_pton's grammar: "::", 1-4 hex digits,
# dotted IPv4 tails, leading zeros, stray colons) and random addresses near
# the edges of random, nested blocks through `bpfbus pattern test --engine
# both`. Each case's answer is computed here independently with the C
# library's inet_pton (Python's socket.inet_pton) and integer ranges; the
# kernel must decide every case by itself (no VERIFY), agree with the
# userspace matcher, and agree with that answer. TAP 13.
#
# Environment: BPFBUS (default $SRCTREE/build/bpfbus), SRCTREE.

import json
import os
import random
import socket
import subprocess
import sys
import tempfile

ENVELOPE = {"id": "1", "account": "123456789012", "source": "s", "time": "2022-07-13T13:48:01Z",
            "region": "us-east-1", "detail-type": "t"}

SPELLINGS = [
    "2001:db8::1", "2001:DB8:1::ffff", "2001:db9::", "::", "::1", "::ffff:10.1.2.3",
    "::ffff:10.01.2.3", "::ffff:256.1.2.3", "1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7::8",
    "1:2:3:4:5:6:7:8:9", ":1::", "1::2:", "1:::2", "::1.2.3.4", "1.2.3.4", "10.1.2.3",
    "fe80::", "fe80::1", "fe80::2", "1:2:3:4:5:6:1.2.3.4", "1:2:3:4:5:6:7:1.2.3.4", "::12345",
    "::0:0", "0000:0000::", "00000::", "::1.2.3", "::1.2.3.4.5", "::1.2.3.", "::.1.2.3",
    "::0.0.0.0", "::00.0.0.0", "2001:db8::1%eth0", "2001:db8:0:0:0:0:0:1", ":", "::ffff:a.1.2.3",
    "1::2::3", "g::1", "::ffff:1.2.3.04", "::ffff:0.0.0.0", "1::", "::1:", " ::1", "::1 ",
    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "0:0:0:0:0:0:0:0", "::ffff:1234.1.2.3",
    "2001:db8:1:0::1.2.3.4", "a:b:c:d:e:f:0:1", "A:B:C:D:E:F::", "::\u00e9", "",
]
FIXED_PATTERNS = [
    # the v4-mapped block ::ffff:10.0.0.0/104 spelled in hex: a pattern's IPv6
    # text is hex digits and colons only, as event-ruler's CIDR class takes it
    ["2001:db8::/32"], ["2001:db8:1::/48", "::ffff:a00:0/104"], ["::/0"], ["fe80::1/127"],
    ["10.0.0.0/8"], ["::/1", "8000::/1"], ["a:b:c:d:e:f:0:0/112"],
]


def ip_value(text):
    """(integer, family) as the C library reads the text, or None."""
    if ":" in text:
        try:
            return int.from_bytes(socket.inet_pton(socket.AF_INET6, text), "big"), 6
        except (OSError, ValueError):
            return None
    parts = text.split(".")
    if len(parts) != 4 or any(not p.isascii() or not p.isdigit() or len(p) > 3 or int(p) > 255
                              for p in parts):
        return None
    return int.from_bytes(bytes(int(p) for p in parts), "big"), 4


def block(cidr):
    base, bits = cidr.split("/")
    value, family = ip_value(base)
    width = 128 if family == 6 else 32
    return value, value | ((1 << (width - int(bits))) - 1), family


def expected(blocks, text):
    addr = ip_value(text)
    if addr is None:
        return False
    return any(f == addr[1] and lo <= addr[0] <= hi for lo, hi, f in map(block, blocks))


def v6_text(value):
    return socket.inet_ntop(socket.AF_INET6, value.to_bytes(16, "big"))


def random_cases(rng, n_patterns, n_events):
    """Nested random blocks, and addresses at and around their edges."""
    cases = []
    for _ in range(n_patterns):
        root = rng.getrandbits(128)
        blocks = []
        for _ in range(rng.randint(1, 4)):
            bits = rng.randint(0, 127)
            base = root if rng.random() < 0.6 else rng.getrandbits(128)
            base &= ~((1 << (128 - bits)) - 1) & ((1 << 128) - 1)
            blocks.append("%s/%d" % (v6_text(base), bits))
        edges = []
        for b in blocks:
            lo, hi, _ = block(b)
            edges += [lo, hi, lo - 1, hi + 1, (lo + hi) // 2]
        for _ in range(n_events):
            v = rng.choice(edges + [rng.getrandbits(128)]) % (1 << 128)
            text = v6_text(v)
            if rng.random() < 0.3:
                text = text.upper()
            cases.append((blocks, text))
    return cases


def main():
    srctree = os.environ.get("SRCTREE", os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    bpfbus = os.environ.get("BPFBUS", os.path.join(srctree, "build", "bpfbus"))
    print("TAP version 13")
    print("1..3")
    if os.geteuid() != 0:
        for n in range(1, 4):
            print("ok %d # SKIP the kernel engine needs root (BPF)" % n)
        print("0 passed, 0 failed, 3 skipped")
        return 0
    rng = random.Random(20261121)
    cases = [(p, s) for p in FIXED_PATTERNS for s in SPELLINGS] + random_cases(rng, 60, 25)
    with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False) as f:
        for i, (blocks, text) in enumerate(cases):
            event = dict(ENVELOPE, detail={"ip": text})
            pattern = {"detail": {"ip": [{"cidr": b} for b in blocks]}}
            f.write(json.dumps({"id": i, "pattern": json.dumps(pattern),
                                "event": json.dumps(event)}) + "\n")
        batch = f.name
    try:
        run = subprocess.run([bpfbus, "pattern", "test", "--batch", batch, "--engine", "both"],
                             capture_output=True, text=True, timeout=600)
    finally:
        os.unlink(batch)
    rows = {}
    for line in run.stdout.splitlines():
        if line.startswith("{"):
            row = json.loads(line)
            rows[row["id"]] = row
    failed = 0
    disagree = [r for r in rows.values() if r.get("disagree") or "error" in r]
    ok = run.returncode == 0 and not disagree and len(rows) == len(cases)
    print("%s 1 both engines agree on %d cases" % ("ok" if ok else "not ok", len(rows)))
    if not ok:
        failed += 1
        print("# exit %d, %d rows for %d cases: %s %s" % (run.returncode, len(rows), len(cases),
              disagree[:3], run.stderr[-400:]))
    undecided = [r for r in rows.values() if r.get("kernel") not in ("match", "drop")]
    ok = not undecided and rows
    print("%s 2 the kernel decides every case itself" % ("ok" if ok else "not ok"))
    if not ok:
        failed += 1
        print("# %d not decided, e.g. %s" % (len(undecided), undecided[:3]))
    wrong = [(cases[i], r) for i, r in rows.items() if r.get("match") != expected(*cases[i])]
    ok = not wrong and rows
    print("%s 3 every answer is inet_pton's (%d matches)" % (
        "ok" if ok else "not ok", sum(1 for r in rows.values() if r.get("match"))))
    if not ok:
        failed += 1
        for (blocks, text), r in wrong[:5]:
            print("# %s in %s: got %s" % (json.dumps(text), blocks, r))
    print("%d passed, %d failed, 0 skipped" % (3 - failed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
