#!/usr/bin/python3
# SPDX-License-Identifier: BSD-2-Clause
"""https deliveries of bpfbusd -- EventBridge rule targets (forward.c) and SNS
https subscriptions (outbox.c) -- against real TLS servers this test starts
(Python's http.server wrapped in ssl) with certificates it makes with
openssl: a CA that bpfbusd trusts through --ca-file, a server certificate it
issued for 127.0.0.1, one it issued for another name, and a self-signed one.
Deliveries to the CA's server succeed, and after failures succeed on a retry;
the other two certificates are rejected by bpfbusd's client (the server never
sees a request), counted, retried under the target's RetryPolicy or the
subscription's delivery policy, then dead-lettered with the verification
error. A --ca-file that holds no certificate stops bpfbusd at its start.
Delivery-policy seconds are 100 ms here; RetryPolicy retries come after
50-400 ms."""

import http.server
import json
import os
import shutil
import ssl
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "api"))
from apihost import (ACCOUNT, BUILD, REGION, Host, Tap,  # noqa: E402
                     boto3_client, daemon_unavailable, eq, run_on_host, self_signed_certificate,
                     skip_all)

H = None
CERTS = None


def openssl(*args):
    subprocess.run(["openssl", *args], check=True, capture_output=True)


def make_certificates(d):
    """A CA, two certificates it issues (for 127.0.0.1 and for another name) and
    a self-signed one for 127.0.0.1: {name: (cert, key)} plus "ca"."""
    out = {"ca": os.path.join(d, "ca.pem")}
    ca_key = os.path.join(d, "ca.key")
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            "-subj", "/CN=bpfbus test CA", "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign",
            "-keyout", ca_key, "-out", out["ca"])
    for name, san in (("issued", "IP:127.0.0.1"), ("other_name", "DNS:elsewhere.example")):
        key, csr = os.path.join(d, name + ".key"), os.path.join(d, name + ".csr")
        cert, ext = os.path.join(d, name + ".pem"), os.path.join(d, name + ".ext")
        with open(ext, "w") as f:
            f.write("subjectAltName=%s\n" % san)
        openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=" + san.split(":")[1],
                "-keyout", key, "-out", csr)
        openssl("x509", "-req", "-in", csr, "-CA", out["ca"], "-CAkey", ca_key,
                "-CAcreateserial", "-days", "1", "-extfile", ext, "-out", cert)
        out[name] = (cert, key)
    rogue = os.path.join(d, "rogue")
    os.mkdir(rogue)
    out["self_signed"] = self_signed_certificate(rogue)
    return out


class TLSEndpoint(http.server.ThreadingHTTPServer):
    """An https server on 127.0.0.1 presenting @cert: records every request that
    got through the handshake; answers by path: /ok 200, /flaky/N 500 for the
    first N requests that are not SNS subscription confirmations, then 200.
    use(cert) makes it present another certificate from its next handshake."""

    daemon_threads = True

    def __init__(self, cert):
        super().__init__(("127.0.0.1", 0), Handler)
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(*cert)
        self.socket = self.ctx.wrap_socket(self.socket, server_side=True)
        self.posts, self.lock = [], threading.Lock()
        threading.Thread(target=self.serve_forever, daemon=True).start()

    def use(self, cert):
        self.ctx.load_cert_chain(*cert)

    def url(self, path):
        return "https://127.0.0.1:%d%s" % (self.server_address[1], path)

    def on(self, path):
        with self.lock:
            return [p for p in self.posts if p["path"] == path]

    def wait(self, path, n, timeout=20):
        deadline = time.time() + timeout
        while len(self.on(path)) < n and time.time() < deadline:
            time.sleep(0.05)
        got = self.on(path)
        if len(got) < n:
            raise AssertionError("%d requests to %s, expected %d" % (len(got), path, n))
        return got


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def status_for(self, attempt):
        """/flaky/N: 500 for the first N attempts (confirmations aside), then 200."""
        if not self.path.startswith("/flaky/") or attempt is None:
            return 200
        return 500 if attempt <= int(self.path.split("/")[2]) else 200

    def do_POST(self):
        post = {"path": self.path, "headers": dict(self.headers),
                "body": self.rfile.read(int(self.headers["Content-Length"])).decode()}
        kind = self.headers["x-amz-sns-message-type"]
        with self.server.lock:
            self.server.posts.append(post)
            attempt = None if kind == "SubscriptionConfirmation" else sum(
                1 for p in self.server.posts if p["path"] == self.path and
                p["headers"].get("x-amz-sns-message-type") != "SubscriptionConfirmation")
        self.send_response(self.status_for(attempt))
        self.send_header("Content-Length", "0")
        self.end_headers()


def client(service):
    return boto3_client(H, service=service)


def queue_arn(name):
    return "arn:aws:sqs:%s:%s:%s" % (REGION, ACCOUNT, name)


def status():
    r = H.cli("-j", "daemon", "status")
    eq(0, r.returncode, r.stderr)
    return json.loads(r.stdout)


def dead_letters(queue, want, timeout=20):
    """@want messages of @queue (received, deleted), with their attributes."""
    sqs, url, got = client("sqs"), H.queue_url(queue), []
    deadline = time.time() + timeout
    while len(got) < want and time.time() < deadline:
        for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1,
                                     MessageAttributeNames=["All"]).get("Messages", []):
            got.append(m)
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    eq(want, len(got), "messages in " + queue)
    return got


def put_https_rule(name, url, **target):
    eb = client("events")
    eb.put_rule(Name=name, EventPattern=json.dumps({"source": [name]}))
    eq(0, eb.put_targets(Rule=name, Targets=[dict(Id="web", Arn=url, **target)])
       ["FailedEntryCount"])


def put_event(source, n):
    r = client("events").put_events(Entries=[{"Source": source, "DetailType": "T",
                                              "Detail": json.dumps({"n": n})}])
    eq(0, r["FailedEntryCount"])


def subscribe_confirmed(ep, topic, path, attrs=None):
    """An https subscription confirmed with the token its confirmation carried."""
    sns = client("sns")
    sns.subscribe(TopicArn=topic, Protocol="https", Endpoint=ep.url(path),
                  Attributes=attrs or {})
    conf = json.loads(ep.wait(path, 1)[0]["body"])
    eq("SubscriptionConfirmation", conf["Type"])
    return sns.confirm_subscription(TopicArn=topic, Token=conf["Token"])["SubscriptionArn"]


def notifications(ep, path):
    return [p for p in ep.on(path) if p["headers"].get("x-amz-sns-message-type") ==
            "Notification"]


# ---------------------------------------------------------------- tests

def https_target_and_subscription_deliver(ep):
    before = status()["forwarded"]
    put_https_rule("tls-ok", ep.url("/ok"))
    put_event("tls-ok", 1)
    post = ep.wait("/ok", 1)[0]
    eq({"n": 1}, json.loads(post["body"])["detail"])
    eq("application/json; charset=utf-8", post["headers"]["Content-Type"])
    deadline = time.time() + 10
    while status()["forwarded"] == before and time.time() < deadline:
        time.sleep(0.05)
    eq(before + 1, status()["forwarded"], "the 2xx answer settled")
    sns = client("sns")
    topic = sns.create_topic(Name="tls")["TopicArn"]
    subscribe_confirmed(ep, topic, "/sub-ok")
    sns.publish(TopicArn=topic, Message="over TLS")
    ep.wait("/sub-ok", 2)
    eq(["over TLS"], [json.loads(p["body"])["Message"] for p in notifications(ep, "/sub-ok")])


def failures_then_a_retry_succeeds(ep):
    """500 twice, then 200: the target's RetryPolicy and the subscription's
    delivery policy retry, one success each, nothing dead-lettered."""
    client("sqs").create_queue(QueueName="tls-dlq")
    before = status()
    put_https_rule("tls-flaky", ep.url("/flaky/2"), DeadLetterConfig={"Arn":
                                                                      queue_arn("tls-dlq")})
    put_event("tls-flaky", 2)
    eq([{"n": 2}] * 3, [json.loads(p["body"])["detail"] for p in ep.wait("/flaky/2", 3)])
    sns = client("sns")
    topic = sns.create_topic(Name="tls-retry")["TopicArn"]
    policy = {"healthyRetryPolicy": {"numRetries": 3, "minDelayTarget": 1, "maxDelayTarget": 1}}
    subscribe_confirmed(ep, topic, "/flaky/1", {"DeliveryPolicy": json.dumps(policy)})
    sns.publish(TopicArn=topic, Message="second time lucky")
    deadline = time.time() + 20
    while len(notifications(ep, "/flaky/1")) < 2 and time.time() < deadline:
        time.sleep(0.05)
    time.sleep(1.0)  # no more attempts come
    eq(3, len(ep.on("/flaky/2")), "target: two failures and the success")
    eq(["second time lucky"] * 2,
       [json.loads(p["body"])["Message"] for p in notifications(ep, "/flaky/1")],
       "subscription: a failure and the success")
    after = status()
    eq(2, after["retried"] - before["retried"], "the target's retries")
    eq(1, after["outbox_retries"] - before["outbox_retries"], "the subscription's retry")
    eq(2, after["outbox_delivered"] - before["outbox_delivered"],
       "the confirmation and the notification")
    eq(0, after["dead_lettered"] - before["dead_lettered"])
    eq([], client("sqs").receive_message(QueueUrl=H.queue_url("tls-dlq")).get("Messages", []))


def rejected_certificates_are_retried_then_dead_lettered():
    """A self-signed certificate and one the trusted CA issued for another name:
    no request reaches either server; each delivery is retried under its
    RetryPolicy and then dead-lettered with the verification error."""
    rogue, misnamed = TLSEndpoint(CERTS["self_signed"]), TLSEndpoint(CERTS["other_name"])
    try:
        before = status()
        for name, ep in (("tls-rogue", rogue), ("tls-misnamed", misnamed)):
            put_https_rule(name, ep.url("/ok"), DeadLetterConfig={"Arn": queue_arn("tls-dlq")},
                           RetryPolicy={"MaximumRetryAttempts": 2})
            put_event(name, 3)
        got = {}
        for m in dead_letters("tls-dlq", 2):
            a = {k: v["StringValue"] for k, v in m["MessageAttributes"].items()}
            got[json.loads(m["Body"])["source"]] = a
        for name, why in (("tls-rogue", "self-signed certificate"),
                          ("tls-misnamed", "IP address mismatch")):
            a = got[name]
            eq(("SDK_CLIENT_ERROR", "2", "MaximumRetryAttempts"),
               (a["ERROR_CODE"], a["RETRY_ATTEMPTS"], a["EXHAUSTED_RETRY_CONDITION"]), name)
            eq("TLS with 127.0.0.1: the server's certificate is rejected: " + why,
               a["ERROR_MESSAGE"], name)
        eq([], rogue.posts + misnamed.posts, "no request got through a rejected handshake")
        after = status()
        eq(4, after["retried"] - before["retried"], "two retries each")
        eq(6, after["delivery_failed"] - before["delivery_failed"], "three attempts each")
        eq(2, after["dead_lettered"] - before["dead_lettered"])
    finally:
        for ep in (rogue, misnamed):
            ep.shutdown()
            ep.server_close()


def subscription_to_a_rejected_certificate_dead_letters():
    """A confirmed https subscription whose server then presents a self-signed
    certificate: every attempt of the delivery policy is rejected, the
    notification goes to the RedrivePolicy queue, counted failed, and the log
    says why."""
    ep = TLSEndpoint(CERTS["issued"])
    try:
        client("sqs").create_queue(QueueName="tls-sub-dlq")
        sns = client("sns")
        topic = sns.create_topic(Name="tls-rogue")["TopicArn"]
        policy = {"healthyRetryPolicy": {"numRetries": 2, "minDelayTarget": 1,
                                         "maxDelayTarget": 1}}
        subscribe_confirmed(ep, topic, "/ok", {
            "DeliveryPolicy": json.dumps(policy),
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": queue_arn("tls-sub-dlq")})})
        ep.use(CERTS["self_signed"])
        before = status()
        sns.publish(TopicArn=topic, Message="never seen")
        eq(["never seen"], [json.loads(m["Body"])["Message"]
                            for m in dead_letters("tls-sub-dlq", 1)])
        eq([], notifications(ep, "/ok"), "no notification got through")
        after = status()
        eq(2, after["outbox_retries"] - before["outbox_retries"], "the policy's 2 retries")
        eq(1, after["outbox_failed"] - before["outbox_failed"])
        if "the server's certificate is rejected: self-signed certificate" not in H.log_text():
            raise AssertionError("no log line says why: " + H.log_text()[-2000:])
    finally:
        ep.shutdown()
        ep.server_close()


def a_ca_file_without_certificates_stops_the_start():
    empty = os.path.join(tempfile.mkdtemp(), "empty.pem")
    open(empty, "w").close()
    for path in (empty, "/nonexistent/ca.pem"):
        p = subprocess.run([os.path.join(BUILD, "bpfbusd"), "--ca-file", path],
                           capture_output=True, text=True, timeout=30)
        eq(2, p.returncode, p.stderr)
        if "--ca-file %s: no PEM CA certificate can be read from it" % path not in p.stderr:
            raise AssertionError(p.stderr)
    os.unlink(empty)
    os.rmdir(os.path.dirname(empty))


def main():
    global H, CERTS
    tap = Tap()
    names = ["https_target_and_subscription_deliver", "failures_then_a_retry_succeeds",
             "rejected_certificates_are_retried_then_dead_lettered",
             "subscription_to_a_rejected_certificate_dead_letters",
             "a_ca_file_without_certificates_stops_the_start", "host_exits_cleanly"]
    why = daemon_unavailable()
    if why:
        skip_all(tap, names, why)
    if not shutil.which("openssl"):
        skip_all(tap, names, "no openssl command to make certificates")
    certs_dir = tempfile.mkdtemp(prefix="bpfbus-tls-")
    CERTS = make_certificates(certs_dir)
    H = Host("--ca-file", CERTS["ca"], "--sns-retry-unit-ms", "100", "--retry-base-ms", "100",
             "--retry-cap-ms", "400")
    ep = TLSEndpoint(CERTS["issued"])
    tests = [(n, lambda n=n: globals()[n](ep)) for n in names[:2]]
    tests += [(n, globals()[n]) for n in names[2:-1]]
    run_on_host(tap, H, tests)
    ep.shutdown()
    subprocess.run(["rm", "-rf", certs_dir])
    tap.done()


if __name__ == "__main__":
    main()
