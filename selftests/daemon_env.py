# SPDX-License-Identifier: BSD-2-Clause
"""
What the Python daemon selftests share (the shell ones have daemon.inc): the
paths, the CLI, a private bpffs, state directory and control socket, and
bpfbusd started against them.

    env = DaemonEnv(names)     # TAP plan; SKIPs everything and exits when it cannot run
    d = env.start()            # bpfbusd --port env.port, answering
    d = env.start("--testing") # with more options
    control({"op": "status"})  # one raw control request -> its response object
    control_ok(req), status()  # a request that must succeed -> its result
    ...
    env.close(failed)          # unmount, remove; the daemon log when something failed

or all of it for a list of test functions (each raises to fail):

    run_daemon_tests(TESTS, "--testing")

A test may restart the daemon: env.restart(signal.SIGKILL) (same options).
drain_queue(q) receives and deletes everything a queue holds.
"""
import json, os, random, socket, struct, subprocess, sys, tempfile, time

SRCTREE = os.environ.get("SRCTREE", os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("BUILD", os.path.join(SRCTREE, "build"))
BPFBUS = os.environ.get("BPFBUS", os.path.join(BUILD, "bpfbus"))
BPFBUSD = os.path.join(BUILD, "bpfbusd")


def cli(*args, timeout=60):
    """bpfbus -j ARGS, as a CompletedProcess."""
    return subprocess.run([BPFBUS, "-j", *args], capture_output=True, text=True, timeout=timeout)


def cli_checked(*args, check=True, timeout=60):
    """cli(), raising AssertionError with its stderr when it fails (unless not @check)."""
    p = cli(*args, timeout=timeout)
    if check and p.returncode:
        raise AssertionError(f"bpfbus {' '.join(args)}: exit {p.returncode}: {p.stderr.strip()}")
    return p


def cli_json(*args):
    """The JSON output of a command that must succeed ({} when it prints nothing)."""
    out = cli_checked(*args).stdout
    return json.loads(out) if out.strip() else {}


def control_connect(timeout=30):
    """A connection to the control socket."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(os.environ["BPFBUS_CONTROL"])
    return s


def control_frame(req):
    """@req as one frame (docs/daemon.md's framing: 4-byte big-endian length, JSON)."""
    data = json.dumps(req).encode()
    return struct.pack(">I", len(data)) + data


def control_read(s):
    """The next response frame on connection @s, parsed."""
    def exactly(n):
        buf = b""
        while len(buf) < n:
            chunk = s.recv(n - len(buf))
            if not chunk:
                raise ConnectionError("the daemon closed the control connection")
            buf += chunk
        return buf
    return json.loads(exactly(struct.unpack(">I", exactly(4))[0]))


def control(req, timeout=30):
    """One request on the control socket: the response."""
    with control_connect(timeout) as s:
        s.sendall(control_frame(req))
        return control_read(s)


def control_ok(req):
    """The result of a request that must succeed."""
    r = control(req)
    assert r["ok"], (req, r)
    return r.get("result")


def status():
    """bpfbusd's counters (the status request)."""
    return control_ok({"op": "status"})


TESTS = []


def test(fn):
    """Decorator: @fn is one of the script's tests (TESTS, in order)."""
    TESTS.append(fn)
    return fn


def eventually(cond, seconds=10.0):
    """True once cond() is, polling every 100 ms; cond()'s last answer after @seconds."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.1)
    return cond()


def receive_messages(q, want, timeout=5.0):
    """Messages of queue @q (with their message attributes, not deleted) until
    @want arrived or @timeout seconds passed."""
    url = cli_json("queue", "url", q)["QueueUrl"]
    got, end = [], time.time() + timeout
    while len(got) < want and time.time() < end:
        r = cli_json("queue", "call", "ReceiveMessage", json.dumps(
            {"QueueUrl": url, "MaxNumberOfMessages": 10, "MessageAttributeNames": ["All"]}))
        got += r.get("Messages", [])
        if len(got) < want:
            time.sleep(0.05)
    return got


def rss_anon_kb(pid):
    """The anonymous memory of process @pid (heap and stacks, not file-backed maps), KiB."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("RssAnon:"):
                return int(line.split()[1])
    raise AssertionError("no RssAnon in /proc/PID/status")


def drain_queue(q):
    """Every message of queue @q, received and deleted: their bodies, parsed."""
    bodies = []
    while True:
        ms = cli_json("queue", "receive", q, "max", "10", "visibility", "300").get("Messages", [])
        if not ms:
            return bodies
        for m in ms:
            bodies.append(json.loads(m["Body"]))
            cli_checked("queue", "delete-message", q, m["ReceiptHandle"])


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

    def restart(self, sig):
        """Stop the daemon with @sig, wait, start it again with the same options."""
        self.daemon.send_signal(sig)
        self.daemon.wait(timeout=30)
        self.daemon = self.start(*self.daemon_args)
        assert self.daemon.poll() is None, "bpfbusd did not come back"
        return self.daemon

    def start(self, *extra):
        """bpfbusd in the background, once it answers (or has died); also self.daemon."""
        d = subprocess.Popen([BPFBUSD, "--port", str(self.port), *extra], stdout=self.log,
                             stderr=subprocess.STDOUT)
        self.daemon = d
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


def run_daemon_tests(tests, *daemon_args, on_env=None):
    """TAP for each test function against one daemon; exits with the outcome.
    on_env(env) runs before the daemon starts (to learn env.port)."""
    env = DaemonEnv([t.__name__ for t in tests])
    if on_env:
        on_env(env)
    env.daemon_args = daemon_args
    env.daemon = env.start(*daemon_args)
    passed = failed = 0
    try:
        for i, t in enumerate(tests, 1):
            try:
                t()
                print(f"ok {i} {t.__name__}")
                passed += 1
            except Exception as e:
                for line in str(e).splitlines() or [repr(e)]:
                    print(f"# {line}")
                print(f"not ok {i} {t.__name__}")
                failed += 1
        d = env.daemon # a test may have restarted it
        d.terminate()
        rc = d.wait(timeout=30)
        if rc:
            print(f"# bpfbusd exited {rc}")
            failed += 1
    finally:
        if env.daemon.poll() is None:
            env.daemon.kill()
            env.daemon.wait()
        env.close(failed)
    print(f"{passed} passed, {failed} failed, 0 skipped")
    sys.exit(1 if failed else 0)
