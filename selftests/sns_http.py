#!/usr/bin/python3
# SPDX-License-Identifier: BSD-2-Clause
"""SNS deliveries bpfbusd makes itself: http subscriptions against a real local
HTTP server this test starts (confirmation through the SubscribeURL and
ConfirmSubscription, notifications enveloped and raw with SNS's headers,
retries under the delivery policy, 4xx not retried, then the subscription's
dead-letter queue) and udp subscriptions (wire v1 datagrams to a socket of
the test). Delivery-policy seconds are 100 ms here (--sns-retry-unit-ms)."""

import http.server
import json
import os
import socket
import struct
import subprocess
import sys
import threading
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "api"))
from apihost import (ACCOUNT, BPFBUS, KEY, REGION, SECRET, Host, Tap,  # noqa: E402
                     boto3_client, daemon_unavailable, eq, metric, parse_metrics, run_on_host,
                     skip_all, verify_sns_signature)

H = None
UNIT_MS = 100


class Endpoint(http.server.ThreadingHTTPServer):
    """Records every POST; answers notifications by path: /ok 200, /fail 500,
    /gone 404, /flaky/N 500 for the first N then 200; confirmations 200."""

    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), Handler)
        self.posts = []
        self.cond = threading.Condition()
        threading.Thread(target=self.serve_forever, daemon=True).start()

    def url(self, path):
        return "http://127.0.0.1:%d%s" % (self.server_address[1], path)

    def wait(self, path, n, timeout=15):
        """The first @n POSTs to @path (AssertionError when they do not come)."""
        deadline = time.time() + timeout
        with self.cond:
            while len(self.on(path)) < n and time.time() < deadline:
                self.cond.wait(0.1)
            got = self.on(path)
        if len(got) < n:
            raise AssertionError("%d POSTs to %s, expected %d" % (len(got), path, n))
        return got[:n]

    def on(self, path):
        return [p for p in self.posts if p["path"] == path]


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"])).decode()
        srv = self.server
        notification = self.headers["x-amz-sns-message-type"] == "Notification"
        with srv.cond:
            srv.posts.append({"path": self.path, "headers": dict(self.headers), "body": body,
                              "time": time.time()})
            n = len([p for p in srv.on(self.path)
                     if p["headers"]["x-amz-sns-message-type"] == "Notification"])
            srv.cond.notify_all()
        status = 200
        if not notification:
            pass  # the endpoint takes its confirmation message
        elif self.path == "/fail":
            status = 500
        elif self.path == "/gone":
            status = 404
        elif self.path.startswith("/flaky/"):
            status = 500 if n <= int(self.path.split("/")[2]) else 200
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()


def sns():
    import boto3
    return boto3.client("sns", endpoint_url=H.url, region_name=REGION,
                        aws_access_key_id=KEY, aws_secret_access_key=SECRET)


def queue_arn(name):
    return "arn:aws:sqs:%s:%s:%s" % (REGION, ACCOUNT, name)



def subscribe_confirmed(c, ep, topic, path, attrs=None):
    """Subscribe @path, confirm with the token of the confirmation POST; the ARN."""
    c.subscribe(TopicArn=topic, Protocol="http", Endpoint=ep.url(path), Attributes=attrs or {})
    conf = json.loads(ep.wait(path, 1)[0]["body"])
    eq("SubscriptionConfirmation", conf["Type"])
    ep.posts = [p for p in ep.posts if p["path"] != path]
    return c.confirm_subscription(TopicArn=topic, Token=conf["Token"])["SubscriptionArn"]


def status():
    r = subprocess.run([BPFBUS, "-j", "daemon", "status"], capture_output=True, text=True,
                       env=H.env, timeout=30)
    return json.loads(r.stdout)


# ---------------------------------------------------------------- tests

def confirmation_and_notifications(ep):
    c = sns()
    topic = c.create_topic(Name="web")["TopicArn"]
    eq("pending confirmation",
       c.subscribe(TopicArn=topic, Protocol="http", Endpoint=ep.url("/ok"))["SubscriptionArn"])
    post = ep.wait("/ok", 1)[0]
    h = post["headers"]
    eq("SubscriptionConfirmation", h["x-amz-sns-message-type"])
    eq(topic, h["x-amz-sns-topic-arn"])
    eq("text/plain; charset=UTF-8", h["Content-Type"])
    conf = json.loads(post["body"])
    eq(h["x-amz-sns-message-id"], conf["MessageId"])
    eq(topic, conf["TopicArn"])
    verify_sns_signature(conf)
    eq(["PendingConfirmation"],
       [s["SubscriptionArn"] for s in c.list_subscriptions_by_topic(TopicArn=topic)
        ["Subscriptions"]])
    # the SubscribeURL works when visited, unsigned, as SNS's does
    with urllib.request.urlopen(conf["SubscribeURL"], timeout=10) as r:
        eq(200, r.status)
        page = r.read().decode()
    sub = c.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"][0]["SubscriptionArn"]
    if sub not in page:
        raise AssertionError("ConfirmSubscription page without the ARN: %s" % page)
    r = c.publish(TopicArn=topic, Message="hello web", Subject="s1",
                  MessageAttributes={"k": {"DataType": "String", "StringValue": "v"}})
    post = ep.wait("/ok", 2)[1]
    h, env = post["headers"], json.loads(post["body"])
    eq("Notification", h["x-amz-sns-message-type"])
    eq(r["MessageId"], h["x-amz-sns-message-id"])
    eq(sub, h["x-amz-sns-subscription-arn"])
    eq("Amazon Simple Notification Service Agent", h["User-Agent"])
    eq(r["MessageId"], env["MessageId"])
    eq("hello web", env["Message"])
    eq("s1", env["Subject"])
    eq({"Type": "String", "Value": "v"}, env["MessageAttributes"]["k"])
    verify_sns_signature(env)
    c.set_subscription_attributes(SubscriptionArn=sub, AttributeName="RawMessageDelivery",
                                  AttributeValue="true")
    c.publish(TopicArn=topic, Message="raw body")
    post = ep.wait("/ok", 3)[2]
    eq("raw body", post["body"])
    eq("true", post["headers"]["x-amz-sns-rawdelivery"])
    c.delete_topic(TopicArn=topic)


def retries_then_success(ep):
    c = sns()
    topic = c.create_topic(Name="flaky")["TopicArn"]
    policy = {"healthyRetryPolicy": {"numRetries": 4, "numNoDelayRetries": 1,
                                     "minDelayTarget": 5, "maxDelayTarget": 5}}
    sub = subscribe_confirmed(c, ep, topic, "/flaky/3",
                              {"DeliveryPolicy": json.dumps(policy)})
    c.publish(TopicArn=topic, Message="eventually")
    posts = ep.wait("/flaky/3", 4)
    time.sleep(0.5)
    eq(4, len(ep.on("/flaky/3")), "attempts: 3 failures and the success")
    eq(["eventually"] * 4, [json.loads(p["body"])["Message"] for p in posts])
    gaps = [b["time"] - a["time"] for a, b in zip(posts, posts[1:])]
    # no delay, then 5 policy seconds (500 ms here) twice
    if gaps[0] > 0.4 or not all(0.4 < g < 2.5 for g in gaps[1:]):
        raise AssertionError("retry gaps %r" % gaps)
    with urllib.request.urlopen(H.url + "/metrics", timeout=10) as r:
        m = parse_metrics(r.read().decode())
    eq(1, metric(m, "bpfbus_subscription_delivered_total", topic=topic, subscription=sub,
                 protocol="http"))


def failures_go_to_the_dead_letter_queue(ep):
    c, sqs = sns(), boto3_client(H)
    sqs.create_queue(QueueName="web-dlq")
    topic = c.create_topic(Name="failing")["TopicArn"]
    redrive = json.dumps({"deadLetterTargetArn": queue_arn("web-dlq")})
    policy = json.dumps({"healthyRetryPolicy": {"numRetries": 2, "minDelayTarget": 1,
                                                "maxDelayTarget": 1}})
    before = status()
    sub_fail = subscribe_confirmed(c, ep, topic, "/fail",
                                   {"RedrivePolicy": redrive, "DeliveryPolicy": policy})
    sub_gone = subscribe_confirmed(c, ep, topic, "/gone", {"RedrivePolicy": redrive})
    c.publish(TopicArn=topic, Message="undeliverable")
    ep.wait("/fail", 3)
    ep.wait("/gone", 1)
    url = H.queue_url("web-dlq")
    got = []
    deadline = time.time() + 10
    while len(got) < 2 and time.time() < deadline:
        for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10,
                                     WaitTimeSeconds=1).get("Messages", []):
            got.append(json.loads(m["Body"])["Message"])
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    eq(["undeliverable"] * 2, got, "both failed deliveries in the dead-letter queue")
    time.sleep(0.5)
    eq(3, len(ep.on("/fail")), "the first attempt and 2 retries")
    eq(1, len(ep.on("/gone")), "a 404 is not retried")
    with urllib.request.urlopen(H.url + "/metrics", timeout=10) as r:
        m = parse_metrics(r.read().decode())
    for sub in (sub_fail, sub_gone):
        eq(1, metric(m, "bpfbus_subscription_dead_lettered_total", topic=topic,
                     subscription=sub, protocol="http"))
        eq(0, metric(m, "bpfbus_subscription_delivered_total", topic=topic, subscription=sub,
                     protocol="http"))
    after = status()
    eq(2, after["outbox_failed"] - before["outbox_failed"])
    eq(2, after["outbox_retries"] - before["outbox_retries"])


def udp_subscription(ep):
    c = sns()
    rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    rx.bind(("127.0.0.1", 0))
    rx.settimeout(10)
    topic = c.create_topic(Name="relay")["TopicArn"]
    c.subscribe(TopicArn=topic, Protocol="udp", Endpoint="127.0.0.1:%d" % rx.getsockname()[1],
                Attributes={"RawMessageDelivery": "true"})
    c.publish(TopicArn=topic, Message='{"relayed": true}')
    data = rx.recv(65536)
    magic, version, kind, _flags, hdr_len, name_len = struct.unpack_from(">IBBHHH", data)
    eq((0x42425553, 1, 2), (magic, version, kind), "wire v1 header, SNS kind")
    eq(b"relay", data[hdr_len:hdr_len + name_len], "topic name")
    if not data.endswith(b'{"relayed": true}'):
        raise AssertionError("datagram %r" % data)
    rx.close()


def main():
    tap = Tap()
    names = ["confirmation_and_notifications", "retries_then_success",
             "failures_go_to_the_dead_letter_queue", "udp_subscription", "host_exits_cleanly"]
    why = daemon_unavailable()
    if why:
        skip_all(tap, names, why)
    global H
    H = Host("--sns-retry-unit-ms", str(UNIT_MS))
    ep = Endpoint()
    run_on_host(tap, H, [(n, lambda n=n: globals()[n](ep)) for n in names[:-1]])
    ep.shutdown()
    tap.done()


if __name__ == "__main__":
    main()
