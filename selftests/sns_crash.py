#!/usr/bin/python3
# SPDX-License-Identifier: BSD-2-Clause
#
# Crash safety of SNS fan-out in bpfbusd: selftests/daemon_crash.py with a
# FIFO topic instead of a bus. The producer publishes SNS datagrams with
# acknowledged ingest to the topic, whose two FIFO queue subscriptions get
# the bare messages; the daemon is killed with SIGKILL at random moments and
# restarted (CRASH_CYCLES, default 20). Every acknowledged publish must be in
# both queues, once, in order; nothing deleted may come back.
import os, sys

sys.dont_write_bytecode = True # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import daemon_crash

daemon_crash.main(daemon_crash.TOPIC_SETUP)
