# SPDX-License-Identifier: BSD-2-Clause
"""Shared by the HTTP API selftests: start bpfbusd with its HTTP API (a real
listener on a real LMDB store, in a temporary state directory with a private
bpffs), TAP output, and requests signed with botocore's SigV4 signer for the
JSON 1.0 protocol and hand-made cases."""

import os
import sys

# The tests are about Debian's clients (python3-boto3 1.26, query protocol):
# selftests/run-tests starts scripts with whatever python3 is first in PATH.
if os.path.exists("/usr/bin/python3") and \
        os.path.realpath(sys.executable) != os.path.realpath("/usr/bin/python3"):
    os.execv("/usr/bin/python3", ["/usr/bin/python3"] + sys.argv)

import datetime  # noqa: E402
import random
import re
import shutil
import signal
import subprocess
import tempfile
import time
import traceback
from unittest import mock
import urllib.error
import urllib.request

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

ACCOUNT = "123456789012"
REGION = "eu-west-1"
KEY, SECRET = "AKIDBPFBUSTEST", "bpfbus-test-secret"
READER, READER_SECRET = "AKIDREADER", "reader-secret"
BUILD = os.environ.get("BUILD", "build")
BPFBUS = os.environ.get("BPFBUS", os.path.join(BUILD, "bpfbus"))


def daemon_unavailable():
    """Why bpfbusd cannot run here (it mounts a bpffs: root), or None."""
    if os.geteuid() != 0:
        return "needs root (bpfbusd mounts a private bpffs)"
    if not os.access(os.path.join(BUILD, "bpfbusd"), os.X_OK):
        return "no bpfbusd in " + BUILD
    return None


def skip_all(tap, names, why):
    for name in names:
        tap.run(name, _raise, Skip(why))
    tap.done()


def _raise(e):
    raise e


class Host:
    """bpfbusd --http 127.0.0.1:0 with its own state, bpffs, credentials and ports."""

    def __init__(self, *extra, creds=None):
        self.dir = tempfile.mkdtemp(prefix="bpfbus-api-")
        self.creds = os.path.join(self.dir, "credentials")
        with open(self.creds, "w") as f:
            f.write(creds if creds is not None else
                    "# test keys\n%s %s\n%s %s actions=sqs:ReceiveMessage,sqs:Get* "
                    "resources=arn:aws:sqs:*:%s:public*\n"
                    % (KEY, SECRET, READER, READER_SECRET, ACCOUNT))
        os.chmod(self.creds, 0o600)
        self.bpffs = os.path.join(self.dir, "bpffs")
        os.mkdir(self.bpffs)
        subprocess.run(["mount", "-t", "bpf", "bpf", self.bpffs], check=True)
        self.env = dict(os.environ, BPFBUS_PIN_DIR=self.bpffs + "/bpfbus",
                        BPFBUS_STATE_DIR=os.path.join(self.dir, "state"),
                        BPFBUS_CONTROL=os.path.join(self.dir, "control.sock"))
        self.udp_port = 20000 + random.randrange(20000)
        self.args = [os.path.join(BUILD, "bpfbusd"), "--port", str(self.udp_port),
                     "--http", "127.0.0.1:0", "--account-id", ACCOUNT, "--region", REGION]
        if "--anonymous" not in extra:
            self.args += ["--credentials", self.creds]
        self.args += list(extra)
        self.log = open(os.path.join(self.dir, "log"), "w+")
        self.scheme = "https" if "--tls-cert" in extra else "http"
        self._start()

    def _start(self):
        """Start bpfbusd and wait for its HTTP API (a new port each time)."""
        seen = len(self.log_text())
        self.proc = subprocess.Popen(self.args, stderr=self.log, stdout=self.log, env=self.env)
        self.port = None
        for _ in range(300):
            text = self.log_text()[seen:]
            m = re.search(r"http: listening on 127\.0\.0\.1:(\d+)", text)
            if m and "ready:" in text:
                self.port = int(m.group(1))
                break
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        if self.port is None:
            log = self.log_text()
            self.stop()
            raise RuntimeError("bpfbusd did not start its HTTP API: " + log)
        self.url = "%s://127.0.0.1:%d" % (self.scheme, self.port)

    def kill_and_restart(self):
        """kill -9 bpfbusd, then start it again on the same state."""
        self.proc.kill()
        self.proc.wait(timeout=30)
        self._start()

    def log_text(self):
        self.log.flush()
        self.log.seek(0)
        return self.log.read()

    def queue_url(self, name):
        return "%s/%s/%s" % (self.url, ACCOUNT, name)

    def cli(self, *args):
        """bpfbus ARGS against this daemon, as a CompletedProcess."""
        return subprocess.run([BPFBUS, *args], capture_output=True, text=True, env=self.env,
                              timeout=60)

    def stop(self):
        rc = None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout=30)
        finally:
            subprocess.run(["umount", self.bpffs])
            shutil.rmtree(self.dir, ignore_errors=True)
        return rc


def run_on_host(tap, host, tests):
    """Each (name, function) of @tests against @host, then the host stopped:
    one more test, host_exits_cleanly, wants exit status 0."""
    try:
        for name, fn in tests:
            tap.run(name, fn)
    finally:
        log = host.log_text()
        rc = host.stop()
    tap.run("host_exits_cleanly", lambda: eq(0, rc, "bpfbusd exit status; log: " + log))


def self_signed_certificate(directory):
    """(cert, key) PEM files for 127.0.0.1 made in @directory with openssl;
    Skip when there is no openssl command."""
    if not shutil.which("openssl"):
        raise Skip("no openssl command to make a certificate")
    cert, key = os.path.join(directory, "cert.pem"), os.path.join(directory, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", key, "-out", cert], check=True, capture_output=True)
    return cert, key


def boto3_client(host, key=KEY, secret=SECRET, region=REGION, service="sqs", **kw):
    import boto3
    return boto3.client(service, endpoint_url=host.url, region_name=region,
                        aws_access_key_id=key, aws_secret_access_key=secret, **kw)


def signed(host, body, headers=None, key=KEY, secret=SECRET, region=REGION, service="sqs",
           path="/", method="POST", when=None):
    """A request signed like botocore signs it; returns (url, headers, body)."""
    req = AWSRequest(method=method, url=host.url + path, data=body, headers=headers or {})
    auth = SigV4Auth(Credentials(key, secret), service, region)
    if when is not None:
        # botocore signs with its clock's time: pin it for the dated cases.
        with mock.patch("botocore.auth.datetime") as dt:
            dt.datetime.utcnow.return_value = when
            auth.add_auth(req)
        return req.url, dict(req.headers.items()), body
    auth.add_auth(req)
    return req.url, dict(req.headers.items()), body


def send(url, headers, body, method="POST", context=None):
    """(status, headers, body) of one HTTP request; errors are answers too."""
    data = body.encode() if isinstance(body, str) else body
    r = urllib.request.Request(url, data=data if method == "POST" else None, headers=headers,
                               method=method)
    try:
        with urllib.request.urlopen(r, timeout=30, context=context) as resp:
            return resp.status, resp.headers, resp.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read().decode()


def parse_metrics(text):
    """Prometheus text: {(name, frozenset of (label, value)): int, or float
    for a value with a fraction (histograms' sums)}."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.fullmatch(r'([a-z_]+)(?:\{(.*)\})? (\d+)(\.\d+)?', line)
        if not m:
            raise AssertionError("not Prometheus text: %r" % line)
        labels = frozenset(re.findall(r'([a-z_]+)="((?:[^"\\]|\\.)*)"', m.group(2) or ""))
        out[(m.group(1), labels)] = float(m.group(3) + m.group(4)) if m.group(4) \
            else int(m.group(3))
    return out


def metric(m, name, **labels):
    """One value of parse_metrics' result; KeyError when it is not there."""
    return m[(name, frozenset(labels.items()))]


class Tap:
    """TAP 13 with the summary line the runner expects."""

    def __init__(self):
        self.n = self.passed = self.failed = self.skipped = 0
        print("TAP version 13", flush=True)

    def run(self, name, fn, *args):
        self.n += 1
        try:
            fn(*args)
            print("ok %d %s" % (self.n, name), flush=True)
            self.passed += 1
        except Skip as s:
            print("ok %d %s # SKIP %s" % (self.n, name, s), flush=True)
            self.skipped += 1
        except Exception:
            for line in traceback.format_exc().splitlines():
                print("# " + line)
            print("not ok %d %s" % (self.n, name), flush=True)
            self.failed += 1

    def done(self):
        print("1..%d" % self.n)
        print("%d passed, %d failed, %d skipped" % (self.passed, self.failed, self.skipped))
        sys.exit(1 if self.failed else 0)


class Skip(Exception):
    pass


def verify_sns_signature(env):
    """An SNS envelope's signature against the certificate at its SigningCertURL."""
    import base64
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding
    with urllib.request.urlopen(env["SigningCertURL"], timeout=10) as r:
        eq(200, r.status, "SigningCertURL status")
        cert = x509.load_pem_x509_certificate(r.read())
    names = ["Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"]
    if env["Type"] == "SubscriptionConfirmation":
        names = ["Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn",
                 "Type"]
    text = "".join("%s\n%s\n" % (n, env[n]) for n in names if n in env)
    algo = hashes.SHA1() if env["SignatureVersion"] == "1" else hashes.SHA256()
    cert.public_key().verify(base64.b64decode(env["Signature"]), text.encode(),
                             padding.PKCS1v15(), algo)


def error_of(fn, *a, **kw):
    """The botocore ClientError that fn(*a, **kw) raises; AssertionError when none."""
    from botocore.exceptions import ClientError
    try:
        fn(*a, **kw)
    except ClientError as e:
        return e
    raise AssertionError("expected an error from %s" % fn.__name__)


def in_netns(script, names, inside):
    """Run @inside() in a network namespace of its own (XDP on its lo, apart
    from every other test): @script re-runs itself there with --inside."""
    if sys.argv[1:] == ["--inside"]:
        return inside()
    why = daemon_unavailable()
    ns = "bbapi-%d" % os.getpid()
    if not why and subprocess.run(["ip", "netns", "add", ns], capture_output=True).returncode:
        why = "cannot create a network namespace"
    if why:
        skip_all(Tap(), names, why)
    try:
        subprocess.run(["ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up"], check=True)
        rc = subprocess.call(["ip", "netns", "exec", ns, sys.executable,
                              os.path.abspath(script), "--inside"])
    finally:
        subprocess.run(["ip", "netns", "del", ns])
    sys.exit(rc)


def in_veth_pair(script, names, inside):
    """Run @inside() in a network namespace joined to a second one by a veth
    pair (native XDP on a real driver, apart from every other test): @script
    re-runs itself in the first with --inside; the environment names the
    interface (BBT_IFACE), its address (BBT_ADDR) and the peer namespace
    (BBT_PEER_NS, address BBT_PEER_ADDR) from which to send."""
    if sys.argv[1:] == ["--inside"]:
        return inside()
    why = daemon_unavailable()
    tag = "%d" % os.getpid()
    r, s = "bbvr-" + tag, "bbvs-" + tag
    rif, sif = ("bbvr" + tag)[:15], ("bbvs" + tag)[:15]
    raddr, saddr = "10.214.0.1", "10.214.0.2"
    setup = [["ip", "netns", "add", r], ["ip", "netns", "add", s],
             ["ip", "link", "add", rif, "netns", r, "type", "veth", "peer", "name", sif,
              "netns", s],
             ["ip", "-n", r, "addr", "add", raddr + "/24", "dev", rif],
             ["ip", "-n", s, "addr", "add", saddr + "/24", "dev", sif],
             ["ip", "-n", r, "link", "set", rif, "up"], ["ip", "-n", s, "link", "set", sif, "up"],
             ["ip", "-n", r, "link", "set", "lo", "up"], ["ip", "-n", s, "link", "set", "lo", "up"]]
    rc = 1
    try:
        for cmd in setup if not why else []:
            p = subprocess.run(cmd, capture_output=True, text=True)
            if p.returncode:
                why = "cannot set up a veth pair (%s): %s" % (" ".join(cmd), p.stderr.strip())
                break
        if why:
            skip_all(Tap(), names, why)
        env = dict(os.environ, BBT_IFACE=rif, BBT_ADDR=raddr, BBT_PEER_NS=s,
                   BBT_PEER_ADDR=saddr)
        rc = subprocess.call(["ip", "netns", "exec", r, sys.executable, os.path.abspath(script),
                              "--inside"], env=env)
    finally:
        subprocess.run(["ip", "netns", "del", r], capture_output=True)
        subprocess.run(["ip", "netns", "del", s], capture_output=True)
    sys.exit(rc)


def run_suite(names, scope, *host_args, **host_kw):
    """The usual main: SKIP everything when bpfbusd cannot run here, else start
    Host(*host_args, **host_kw) as the test module's H (@scope: its globals()),
    run its functions named in @names (the last being "host_exits_cleanly")
    and print the summary."""
    tap = Tap()
    why = daemon_unavailable()
    if why:
        skip_all(tap, names, why)
    scope["H"] = Host(*host_args, **host_kw)
    run_on_host(tap, scope["H"], [(n, scope[n]) for n in names[:-1]])
    tap.done()


def eq(want, got, what=""):
    if want != got:
        raise AssertionError("%s: expected %r, got %r" % (what, want, got))


def code_and_message(fn, **kw):
    """(Code, Message) of the ClientError fn(**kw) raises; it must raise one."""
    e = error_of(fn, **kw)
    return e.response["Error"]["Code"], e.response["Error"]["Message"]


def run_host_tests(names, scope, *extra):
    """A test script's main: Host(*@extra) in @scope["H"], each of @names but
    the last (functions of @scope) run against it, the last being
    host_exits_cleanly; prints TAP and exits with its outcome."""
    tap = Tap()
    why = daemon_unavailable()
    if why:
        skip_all(tap, names, why)
    scope["H"] = Host(*extra)
    run_on_host(tap, scope["H"], [(name, scope[name]) for name in names[:-1]])
    tap.done()


def aws_events(host):
    """/usr/bin/aws events against @host: aws(*args, ok=True) -> the JSON
    answer, or its stderr when @ok is False (and the command must fail)."""
    import json
    env = dict(os.environ, AWS_ACCESS_KEY_ID=KEY, AWS_SECRET_ACCESS_KEY=SECRET,
               AWS_DEFAULT_REGION=REGION, AWS_CONFIG_FILE="/dev/null",
               AWS_SHARED_CREDENTIALS_FILE="/dev/null", AWS_PAGER="")

    def aws(*args, ok=True):
        p = subprocess.run(["/usr/bin/aws", "--endpoint-url", host.url, "--output", "json",
                            "events"] + list(args), env=env, capture_output=True, text=True,
                           timeout=60)
        if ok != (p.returncode == 0):
            raise AssertionError("aws events %s: exit %d: %s%s" % (" ".join(args), p.returncode,
                                                                   p.stdout, p.stderr))
        return json.loads(p.stdout) if ok and p.stdout.strip() else p.stderr
    return aws
