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
import urllib.error
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "api"))
from apihost import (ACCOUNT, BPFBUS, KEY, REGION, SECRET, Host, Tap,  # noqa: E402
                     boto3_client, daemon_unavailable, eq, metric, parse_metrics, run_on_host,
                     skip_all, verify_sns_signature)

H = None
UNIT_MS = 100


class Endpoint(http.server.ThreadingHTTPServer):
    """Records every POST; answers notifications by path: /ok 200, /fail... 500,
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
        elif self.path.startswith("/fail"):
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


def notifications(ep, path):
    return [p for p in ep.on(path) if p["headers"]["x-amz-sns-message-type"] == "Notification"]


def wait_notifications(ep, path, n, timeout=20):
    deadline = time.time() + timeout
    while len(notifications(ep, path)) < n and time.time() < deadline:
        time.sleep(0.05)
    got = notifications(ep, path)
    if len(got) < n:
        raise AssertionError("%d notifications to %s, expected %d" % (len(got), path, n))
    return got


def retries_resume_after_kill9(ep):
    """A delivery in its retry schedule resumes at the attempt it reached after
    bpfbusd is killed with SIGKILL and restarted: 1 + numRetries attempts in
    all, each retry a delay (2 s here, less SNS's jitter of up to a tenth)
    after the one before, the restart included."""
    c = sns()
    topic = c.create_topic(Name="resume")["TopicArn"]
    policy = {"healthyRetryPolicy": {"numRetries": 4, "minDelayTarget": 20,
                                     "maxDelayTarget": 20, "backoffFunction": "linear"}}
    subscribe_confirmed(c, ep, topic, "/fail/resume", {"DeliveryPolicy": json.dumps(policy)})
    before = status()["outbox_retries"]
    mid = c.publish(TopicArn=topic, Message="keeps failing")["MessageId"]
    wait_notifications(ep, "/fail/resume", 2)
    deadline = time.time() + 10
    while status()["outbox_retries"] - before < 2 and time.time() < deadline:
        time.sleep(0.05)
    eq(2, status()["outbox_retries"] - before, "retries scheduled before the kill")
    time.sleep(0.3)  # the second retry's schedule is stored (topic_outbox_retry)
    H.kill_and_restart()
    posts = wait_notifications(ep, "/fail/resume", 5)
    time.sleep(2.5)  # nothing more: the schedule ended with the fifth attempt
    posts = notifications(ep, "/fail/resume")
    eq(5, len(posts), "attempts: the first and numRetries, across the restart")
    eq({mid}, {p["headers"]["x-amz-sns-message-id"] for p in posts}, "one message")
    gaps = [b["time"] - a["time"] for a, b in zip(posts, posts[1:])]
    print("# gaps between attempts (s): %s" % ", ".join("%.2f" % g for g in gaps))
    for g in gaps:
        if not 1.7 <= g <= 3.0:
            raise AssertionError("a retry %.2f s after the attempt before, not 1.8..2 s "
                                 "(gaps %r)" % (g, gaps))
    deadline = time.time() + 10
    while status()["outbox_failed"] < 1 and time.time() < deadline:
        time.sleep(0.05)
    eq(1, status()["outbox_failed"], "failed after the last retry (counted since the restart)")


def throttle_policy_spaces_deliveries(ep):
    """throttlePolicy.maxReceivesPerSecond: at most that many deliveries to the
    subscription per second; a subscription without one is not held back."""
    c = sns()
    topic = c.create_topic(Name="paced")["TopicArn"]
    throttle = {"throttlePolicy": {"maxReceivesPerSecond": 5}}
    subscribe_confirmed(c, ep, topic, "/ok/paced", {"DeliveryPolicy": json.dumps(throttle)})
    subscribe_confirmed(c, ep, topic, "/ok/free")
    entries = [{"Id": "m%d" % i, "Message": "paced %d" % i} for i in range(10)]
    eq([], c.publish_batch(TopicArn=topic, PublishBatchRequestEntries=entries)
       .get("Failed", []))
    paced = [p["time"] for p in wait_notifications(ep, "/ok/paced", 10)]
    free = [p["time"] for p in wait_notifications(ep, "/ok/free", 10)]
    print("# paced over %.2f s, unthrottled over %.2f s" % (paced[-1] - paced[0],
                                                           free[-1] - free[0]))
    eq(sorted(e["Message"] for e in entries),
       sorted(json.loads(p["body"])["Message"] for p in notifications(ep, "/ok/paced")))
    if paced[-1] - paced[0] < 1.6:
        raise AssertionError("10 deliveries at 5 per second in %.2f s" % (paced[-1] - paced[0]))
    for i, t in enumerate(paced):
        n = len([u for u in paced[i:] if u - t < 1.0])
        if n > 6:
            raise AssertionError("%d deliveries within one second" % n)
    if free[-1] - free[0] >= paced[-1] - paced[0]:
        raise AssertionError("the unthrottled subscription was held back too")


def get(url):
    """(status, body) of an unsigned GET."""
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def unsubscribe_url(ep):
    """The UnsubscribeURL of a notification unsubscribes when visited, without a
    signature, as SNS's does (the subscription's random id is the secret);
    not when the subscription was confirmed with AuthenticateOnUnsubscribe."""
    c = sns()
    topic = c.create_topic(Name="leaving")["TopicArn"]
    c.subscribe(TopicArn=topic, Protocol="http", Endpoint=ep.url("/leave"))
    conf = json.loads(ep.wait("/leave", 1)[0]["body"])
    ep.posts = [p for p in ep.posts if p["path"] != "/leave"]
    eq(200, get(conf["SubscribeURL"])[0], "confirmed by visiting the SubscribeURL")
    sub = c.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"][0]["SubscriptionArn"]
    eq("false", c.get_subscription_attributes(SubscriptionArn=sub)["Attributes"]
       ["ConfirmationWasAuthenticated"], "confirmed by an unsigned GET")
    c.publish(TopicArn=topic, Message="first")
    env = json.loads(ep.wait("/leave", 1)[0]["body"])
    eq("%s/?Action=Unsubscribe&SubscriptionArn=%s" % (H.url, urllib.parse.quote(sub, safe="")),
       env["UnsubscribeURL"])
    status_, page = get(env["UnsubscribeURL"])
    eq(200, status_, "GET UnsubscribeURL: " + page)
    if "<UnsubscribeResponse" not in page:
        raise AssertionError("not an UnsubscribeResponse: " + page)
    eq([], c.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"], "subscriptions")
    before = status()["outbox_delivered"]
    c.publish(TopicArn=topic, Message="second")
    time.sleep(1)
    eq(1, len(ep.on("/leave")), "POSTs after unsubscribing")
    eq(before, status()["outbox_delivered"], "deliveries after unsubscribing")
    status_, page = get(env["UnsubscribeURL"])
    eq(404, status_, "the link again: " + page)
    # other actions still need a signature
    status_, page = get("%s/?Action=DeleteTopic&TopicArn=%s" % (H.url, urllib.parse.quote(topic)))
    eq(403, status_, "an unsigned DeleteTopic: " + page)
    if topic not in [t["TopicArn"] for t in c.list_topics()["Topics"]]:
        raise AssertionError("an unsigned DeleteTopic deleted the topic")
    # confirmed, signed, with AuthenticateOnUnsubscribe: the link no longer suffices
    c.subscribe(TopicArn=topic, Protocol="http", Endpoint=ep.url("/stay"))
    conf = json.loads(ep.wait("/stay", 1)[0]["body"])
    sub = c.confirm_subscription(TopicArn=topic, Token=conf["Token"],
                                 AuthenticateOnUnsubscribe="true")["SubscriptionArn"]
    eq("true", c.get_subscription_attributes(SubscriptionArn=sub)["Attributes"]
       ["ConfirmationWasAuthenticated"])
    c.publish(TopicArn=topic, Message="third")
    env = json.loads(ep.wait("/stay", 2)[1]["body"])
    status_, page = get(env["UnsubscribeURL"])
    eq(403, status_, "GET UnsubscribeURL of an AuthenticateOnUnsubscribe subscription: " + page)
    if "<Code>AuthorizationError</Code>" not in page:
        raise AssertionError("not an AuthorizationError: " + page)
    eq([sub], [x["SubscriptionArn"] for x in
               c.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]], "kept")
    c.unsubscribe(SubscriptionArn=sub)  # signed: allowed
    eq([], c.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"], "unsubscribed")


def wire_sections(data):
    """A wire v1 datagram's header fields and sections (docs/wire.md)."""
    (magic, version, kind, _flags, hdr_len, name_len, group_len, dedup_len, attrs_len,
     body_len) = struct.unpack_from(">IBBHHHBBHI", data)
    eq((0x42425553, 1, 2), (magic, version, kind), "wire v1 header, SNS kind")
    off = hdr_len + name_len + group_len + dedup_len
    eq(len(data), off + attrs_len + body_len, "the datagram's length")
    return {"name": data[hdr_len:hdr_len + name_len], "attrs": data[off:off + attrs_len],
            "body": data[off + attrs_len:]}


def udp_subscription(ep):
    """Raw udp deliveries carry the message attributes in the datagram's
    attributes section (as SNS's raw deliveries keep them); enveloped ones
    carry them inside the envelope and have no attributes section."""
    c = sns()
    rx, env_rx = (socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(2))
    for r in (rx, env_rx):
        r.bind(("127.0.0.1", 0))
        r.settimeout(10)
    topic = c.create_topic(Name="relay")["TopicArn"]
    c.subscribe(TopicArn=topic, Protocol="udp", Endpoint="127.0.0.1:%d" % rx.getsockname()[1],
                Attributes={"RawMessageDelivery": "true"})
    c.subscribe(TopicArn=topic, Protocol="udp",
                Endpoint="127.0.0.1:%d" % env_rx.getsockname()[1])
    c.publish(TopicArn=topic, Message='{"relayed": true}')
    d = wire_sections(rx.recv(65536))
    eq(b"relay", d["name"], "topic name")
    eq(b'{"relayed": true}', d["body"], "raw body")
    eq(b"", d["attrs"], "no attributes, no section")
    env_rx.recv(65536)
    attrs = {"store": {"DataType": "String", "StringValue": "example_corp"},
             "price": {"DataType": "Number.usd", "StringValue": "12.5"},
             "tags": {"DataType": "String.Array", "StringValue": '["a", 1]'},
             "blob": {"DataType": "Binary", "BinaryValue": b"\x00\x01\xff"}}
    c.publish(TopicArn=topic, Message="plain text with attributes", MessageAttributes=attrs)
    d = wire_sections(rx.recv(65536))
    eq(b"plain text with attributes", d["body"], "raw body")
    eq({"store": {"Type": "String", "Value": "example_corp"},
        "price": {"Type": "Number.usd", "Value": "12.5"},
        "tags": {"Type": "String.Array", "Value": '["a", 1]'},
        "blob": {"Type": "Binary", "Value": "AAH/"}}, json.loads(d["attrs"]),
       "the raw datagram's attributes section")
    e = wire_sections(env_rx.recv(65536))
    eq(b"", e["attrs"], "an enveloped delivery has no attributes section")
    env = json.loads(e["body"])
    eq("plain text with attributes", env["Message"])
    eq({"Type": "String", "Value": "example_corp"}, env["MessageAttributes"]["store"])
    rx.close()
    env_rx.close()


def main():
    tap = Tap()
    names = ["confirmation_and_notifications", "retries_then_success",
             "failures_go_to_the_dead_letter_queue", "udp_subscription", "unsubscribe_url",
             "retries_resume_after_kill9", "throttle_policy_spaces_deliveries",
             "host_exits_cleanly"]
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
