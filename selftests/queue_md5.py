#!/usr/bin/python3
# SPDX-License-Identifier: BSD-2-Clause
"""MD5OfMessageAttributes by the documented SQS algorithm, in Python's hashlib,
checked against the values selftests/unit/test_queue_msg.c expects from the C
code, and against published example values (aws-md5-of-message-attributes
README). Two implementations agreeing on the published values pins the
encoding: names sorted, 4-byte big-endian lengths, transport 1 (String,
Number) or 2 (Binary)."""
import hashlib
import struct


def lp(b):
    return struct.pack(">I", len(b)) + b


def md5_attrs(attrs):
    buf = b""
    for name in sorted(attrs):
        dtype, value = attrs[name]
        binary = dtype.startswith("Binary")
        buf += lp(name.encode()) + lp(dtype.encode()) + bytes([2 if binary else 1])
        buf += lp(value if binary else value.encode())
    return hashlib.md5(buf).hexdigest()


S = ("String", "attribValue 1")
N = ("Number.float", "4563442423554324324264524243.32543234")
B = ("Binary", b"Hello binary world!")
CASES = [
    ("string", {"attribName1": S}, "19e27d4e946b072f3f58da80d94fd778"),
    ("custom number", {"customNumberTypeAttrib": N}, "9fe1b90bbd9965bdf77bac517c7d2495"),
    ("binary", {"binaryAttribute": B}, "31a92b15d92f8db860eda32aceb656c3"),
    ("all three", {"attribName1": S, "customNumberTypeAttrib": N, "binaryAttribute": B},
     "c932db14a896c663f83c260297d594ff"),
]

print("TAP version 13")
print(f"1..{len(CASES) + 1}")
failed = 0
for i, (name, attrs, want) in enumerate(CASES, 1):
    got = md5_attrs(attrs)
    ok = got == want
    failed += not ok
    print(f"{'ok' if ok else 'not ok'} {i} {name}" + ("" if ok else f" # got {got}"))
body = hashlib.md5(b"hello").hexdigest()
ok = body == "5d41402abc4b2a76b9719d911017c592"
failed += not ok
print(f"{'ok' if ok else 'not ok'} {len(CASES) + 1} body")
print(f"{len(CASES) + 1 - failed} passed, {failed} failed, 0 skipped")
raise SystemExit(1 if failed else 0)
