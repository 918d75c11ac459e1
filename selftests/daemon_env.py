# SPDX-License-Identifier: BSD-2-Clause
"""
What the Python daemon selftests share (the shell ones have daemon.inc): the
paths, the CLI, a private bpffs, state directory and control socket, and
bpfbusd started against them.

    env = DaemonEnv(names)     # TAP plan; SKIPs everything and exits when it cannot run
    d = env.start()            # bpfbusd --port env.port, answering
    ...
    env.close(failed)          # unmount, remove; the daemon log when something failed
"""
import os, random, subprocess, sys, tempfile, time

SRCTREE = os.environ.get("SRCTREE", os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("BUILD", os.path.join(SRCTREE, "build"))
BPFBUS = os.environ.get("BPFBUS", os.path.join(BUILD, "bpfbus"))
BPFBUSD = os.path.join(BUILD, "bpfbusd")


def cli(*args, timeout=60):
    """bpfbus -j ARGS, as a CompletedProcess."""
    return subprocess.run([BPFBUS, "-j", *args], capture_output=True, text=True, timeout=timeout)


class DaemonEnv:
    def __init__(self, names):
        print("TAP version 13")
        print(f"1..{len(names)}")
        self.names = names
        if os.geteuid() != 0:
            self.skip_all("needs root (bpffs)")
        if not os.access(BPFBUSD, os.X_OK):
            self.skip_all(f"no bpfbusd at {BPFBUSD}")
        self.tmp = tempfile.mkdtemp()
        self.bpffs = os.path.join(self.tmp, "bpffs")
        os.mkdir(self.bpffs)
        if subprocess.run(["mount", "-t", "bpf", "bpf", self.bpffs]).returncode:
            subprocess.run(["rm", "-rf", self.tmp])
            self.skip_all("cannot mount bpffs")
        self.port = 20000 + random.randrange(20000)
        os.environ.update(BPFBUS_PIN_DIR=self.bpffs + "/bpfbus",
                          BPFBUS_STATE_DIR=self.tmp + "/state",
                          BPFBUS_CONTROL=self.tmp + "/control.sock")
        self.log = open(self.tmp + "/daemon.log", "w")

    def skip_all(self, why):
        for i, n in enumerate(self.names, 1):
            print(f"ok {i} {n} # SKIP {why}")
        print(f"0 passed, 0 failed, {len(self.names)} skipped")
        sys.exit(0)

    def start(self):
        """bpfbusd in the background, once it answers (or has died)."""
        d = subprocess.Popen([BPFBUSD, "--port", str(self.port)], stdout=self.log,
                             stderr=subprocess.STDOUT)
        for _ in range(300):
            if cli("daemon", "status").returncode == 0 or d.poll() is not None:
                break
            time.sleep(0.05)
        return d

    def close(self, show_log):
        self.log.close()
        if show_log:
            for line in open(self.tmp + "/daemon.log").readlines()[-40:]:
                print("# daemon: " + line.rstrip())
        subprocess.run(["umount", self.bpffs])
        subprocess.run(["rm", "-rf", self.tmp])
