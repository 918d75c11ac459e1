#!/usr/bin/python3
# SPDX-License-Identifier: BSD-2-Clause
"""SNS in bpfbusd with Debian's clients: boto3 and /usr/bin/aws (query
protocol, XML answers) against the daemon's HTTP listener, and the CLI's
topic and subscription objects through the control socket; the deliveries
land in the daemon's real LMDB queues and are read back with SQS."""

import json
import os
import re
import subprocess
import sys
import threading
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "api"))
from apihost import (ACCOUNT, KEY, REGION, SECRET, boto3_client, eq, error_of,  # noqa: E402
                     metric, parse_metrics, run_suite, verify_sns_signature)

H = None
LISTER, LISTER_SECRET = "AKIDSNSLISTER", "lister-secret"


def sns(key=KEY, secret=SECRET):
    import boto3
    return boto3.client("sns", endpoint_url=H.url, region_name=REGION,
                        aws_access_key_id=key, aws_secret_access_key=secret)


def topic_arn(name):
    return "arn:aws:sns:%s:%s:%s" % (REGION, ACCOUNT, name)


def queue_arn(name):
    return "arn:aws:sqs:%s:%s:%s" % (REGION, ACCOUNT, name)


def code(e):
    return e.response["Error"]["Code"], e.response["ResponseMetadata"]["HTTPStatusCode"]


def drain(name, want, timeout=10):
    """Receive and delete until @want messages came (then check nothing more is there)."""
    sqs = boto3_client(H)
    url = H.queue_url(name)
    got = []
    deadline = time.time() + timeout
    while len(got) < want and time.time() < deadline:
        r = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1,
                                MessageAttributeNames=["All"], AttributeNames=["All"])
        for m in r.get("Messages", []):
            got.append(m)
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    r = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
    eq([], [m["Body"] for m in r.get("Messages", [])], "more messages in %s than expected" % name)
    eq(want, len(got), "messages in %s" % name)
    return got



# ---------------------------------------------------------------- tests

def topics_and_tags():
    c = sns()
    arn = c.create_topic(Name="orders", Attributes={"DisplayName": "Orders"},
                         Tags=[{"Key": "team", "Value": "eu"}])["TopicArn"]
    eq(topic_arn("orders"), arn, "TopicArn")
    eq(arn, c.create_topic(Name="orders")["TopicArn"], "CreateTopic again")
    c.create_topic(Name="billing")
    eq([topic_arn("billing"), topic_arn("orders")],
       [t["TopicArn"] for t in c.list_topics()["Topics"]], "ListTopics")
    a = c.get_topic_attributes(TopicArn=arn)["Attributes"]
    eq("Orders", a["DisplayName"])
    eq(ACCOUNT, a["Owner"])
    eq("0", a["SubscriptionsConfirmed"])
    c.set_topic_attributes(TopicArn=arn, AttributeName="DisplayName", AttributeValue="O2")
    eq("O2", c.get_topic_attributes(TopicArn=arn)["Attributes"]["DisplayName"])
    c.tag_resource(ResourceArn=arn, Tags=[{"Key": "cost", "Value": "7"}])
    c.untag_resource(ResourceArn=arn, TagKeys=["team"])
    eq([{"Key": "cost", "Value": "7"}], c.list_tags_for_resource(ResourceArn=arn)["Tags"])
    eq(("NotFound", 404), code(error_of(c.get_topic_attributes, TopicArn=topic_arn("nope"))))
    e = error_of(c.get_topic_attributes, TopicArn=topic_arn("nope"))
    if not isinstance(e, c.exceptions.NotFoundException):
        raise AssertionError("boto3 did not map NotFound to NotFoundException")
    eq(("InvalidParameter", 400), code(error_of(c.create_topic, Name="bad name")))
    eq(("InvalidParameter", 400), code(error_of(c.publish, TopicArn="not-an-arn", Message="x")))
    eq(("ResourceNotFound", 404),
       code(error_of(c.tag_resource, ResourceArn=topic_arn("nope"),
                     Tags=[{"Key": "a", "Value": "b"}])))
    c.delete_topic(TopicArn=topic_arn("billing"))
    eq([arn], [t["TopicArn"] for t in c.list_topics()["Topics"]], "ListTopics after delete")


def fan_out_with_filters():
    """One publish reaches four queues, each as its subscription says."""
    c, sqs = sns(), boto3_client(H)
    arn = c.create_topic(Name="fan")["TopicArn"]
    subs = {
        "all-env": {},
        "eu-raw": {"RawMessageDelivery": "true",
                   "FilterPolicy": json.dumps({"region": ["eu-west-1"]})},
        "big-body": {"FilterPolicyScope": "MessageBody",
                     "FilterPolicy": json.dumps({"order": {"total": [{"numeric": [">", 100]}]}})},
        "not-us-env": {"FilterPolicy": json.dumps({"region": [{"anything-but": ["us-east-1"]}]})},
    }
    for q, attrs in subs.items():
        sqs.create_queue(QueueName=q)
        r = c.subscribe(TopicArn=arn, Protocol="sqs", Endpoint=queue_arn(q), Attributes=attrs,
                        ReturnSubscriptionArn=True)
        if not r["SubscriptionArn"].startswith(arn + ":"):
            raise AssertionError("SubscriptionArn %r" % r["SubscriptionArn"])
    eq(4, len(c.list_subscriptions_by_topic(TopicArn=arn)["Subscriptions"]))
    msgs = [
        ({"order": {"total": 250}}, "eu-west-1"),
        ({"order": {"total": 50}}, "us-east-1"),
        ({"order": {"total": 101}}, None),
    ]
    ids = []
    for body, region in msgs:
        attrs = {"region": {"DataType": "String", "StringValue": region}} if region else {}
        attrs["n"] = {"DataType": "Number", "StringValue": "7"}
        r = c.publish(TopicArn=arn, Message=json.dumps(body), Subject="order",
                      MessageAttributes=attrs)
        ids.append(r["MessageId"])
    envs = [json.loads(m["Body"]) for m in drain("all-env", 3)]
    eq(ids, [e["MessageId"] for e in envs], "all-env: message ids in order")
    for e, (body, region) in zip(envs, msgs):
        eq("Notification", e["Type"])
        eq(arn, e["TopicArn"])
        eq("order", e["Subject"])
        eq(json.dumps(body), e["Message"])
        if not re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", e["Timestamp"]):
            raise AssertionError("Timestamp %r" % e["Timestamp"])
        eq("1", e["SignatureVersion"])
        eq(H.url + "/SimpleNotificationService-bpfbus.pem", e["SigningCertURL"])
        if not e["UnsubscribeURL"].startswith(H.url + "/?Action=Unsubscribe&SubscriptionArn="):
            raise AssertionError("UnsubscribeURL %r" % e["UnsubscribeURL"])
        eq({"Type": "Number", "Value": "7"}, e["MessageAttributes"]["n"])
        if region:
            eq({"Type": "String", "Value": region}, e["MessageAttributes"]["region"])
        verify_sns_signature(e)
    raw = drain("eu-raw", 1)[0]
    eq(json.dumps(msgs[0][0]), raw["Body"], "raw delivery: the bare message")
    eq({"DataType": "String", "StringValue": "eu-west-1"}, raw["MessageAttributes"]["region"])
    eq({"DataType": "Number", "StringValue": "7"}, raw["MessageAttributes"]["n"])
    big = [json.loads(m["Body"])["MessageId"] for m in drain("big-body", 2)]
    eq([ids[0], ids[2]], big, "MessageBody-scope policy")
    notus = [json.loads(m["Body"])["MessageId"] for m in drain("not-us-env", 1)]
    eq([ids[0]], notus, "anything-but (an absent attribute does not match)")


def publish_batch():
    c, sqs = sns(), boto3_client(H)
    arn = c.create_topic(Name="batch")["TopicArn"]
    sqs.create_queue(QueueName="batch-q")
    c.subscribe(TopicArn=arn, Protocol="sqs", Endpoint=queue_arn("batch-q"),
                Attributes={"RawMessageDelivery": "true"})
    r = c.publish_batch(TopicArn=arn, PublishBatchRequestEntries=[
        {"Id": "a", "Message": "one"},
        {"Id": "b", "Message": "two",
         "MessageAttributes": {"x": {"DataType": "Nope", "StringValue": "1"}}},
        {"Id": "c", "Message": "three"},
    ])
    eq(["a", "c"], [s["Id"] for s in r["Successful"]], "Successful")
    eq(1, len(r["Failed"]))
    eq("b", r["Failed"][0]["Id"])
    eq("InvalidParameterValue", r["Failed"][0]["Code"])
    eq(True, r["Failed"][0]["SenderFault"])
    eq(["one", "three"], [m["Body"] for m in drain("batch-q", 2)], "batch delivered in order")
    eq(("TooManyEntriesInBatchRequest", 400),
       code(error_of(c.publish_batch, TopicArn=arn, PublishBatchRequestEntries=[
           {"Id": "e%d" % i, "Message": "m"} for i in range(11)])))
    eq(("BatchEntryIdsNotDistinct", 400),
       code(error_of(c.publish_batch, TopicArn=arn, PublishBatchRequestEntries=[
           {"Id": "same", "Message": "m"}, {"Id": "same", "Message": "m"}])))
    eq(("NotFound", 404),
       code(error_of(c.publish_batch, TopicArn=topic_arn("nope"),
                     PublishBatchRequestEntries=[{"Id": "a", "Message": "m"}])))


def authorization():
    """A key allowed only sns:List* and sns:Get* gets SNS's AuthorizationError."""
    c = sns(LISTER, LISTER_SECRET)
    c.list_topics()
    e = error_of(c.publish, TopicArn=topic_arn("orders"), Message="x")
    eq(("AuthorizationError", 403), code(e))
    if "sns:Publish" not in e.response["Error"]["Message"]:
        raise AssertionError("message %r" % e.response["Error"]["Message"])
    if not isinstance(e, c.exceptions.AuthorizationErrorException):
        raise AssertionError("boto3 did not map the error to AuthorizationErrorException")
    eq(("AuthorizationError", 403), code(error_of(c.create_topic, Name="x")))
    eq(("SignatureDoesNotMatch", 403),
       code(error_of(sns(KEY, "wrong").list_topics)))


def aws_cli():
    env = dict(os.environ, AWS_ACCESS_KEY_ID=KEY, AWS_SECRET_ACCESS_KEY=SECRET,
               AWS_DEFAULT_REGION=REGION, AWS_CONFIG_FILE="/dev/null",
               AWS_SHARED_CREDENTIALS_FILE="/dev/null")

    def aws(*args, ok=True):
        r = subprocess.run(["/usr/bin/aws", "--endpoint-url", H.url, "--output", "json",
                            *args], capture_output=True, text=True, env=env, timeout=60)
        if ok and r.returncode:
            raise AssertionError("aws %s: %s" % (" ".join(args), r.stderr))
        return json.loads(r.stdout) if ok and r.stdout.strip() else r

    arn = aws("sns", "create-topic", "--name", "cli")["TopicArn"]
    eq(topic_arn("cli"), arn)
    aws("sqs", "create-queue", "--queue-name", "cli-q")
    sub = aws("sns", "subscribe", "--topic-arn", arn, "--protocol", "sqs",
              "--notification-endpoint", queue_arn("cli-q"), "--attributes",
              '{"RawMessageDelivery":"true","FilterPolicy":"{\\"kind\\":[\\"a\\"]}"}',
              "--return-subscription-arn")["SubscriptionArn"]
    a = aws("sns", "get-subscription-attributes", "--subscription-arn", sub)["Attributes"]
    eq("true", a["RawMessageDelivery"])
    eq(queue_arn("cli-q"), a["Endpoint"])
    aws("sns", "publish", "--topic-arn", arn, "--message", "wanted", "--message-attributes",
        '{"kind":{"DataType":"String","StringValue":"a"}}')
    aws("sns", "publish", "--topic-arn", arn, "--message", "filtered", "--message-attributes",
        '{"kind":{"DataType":"String","StringValue":"b"}}')
    eq(["wanted"], [m["Body"] for m in drain("cli-q", 1)])
    r = aws("sns", "get-topic-attributes", "--topic-arn", topic_arn("nope"), ok=False)
    if r.returncode == 0 or "NotFound" not in r.stderr:
        raise AssertionError("aws: expected NotFound, got %d %s" % (r.returncode, r.stderr))
    aws("sns", "unsubscribe", "--subscription-arn", sub)
    eq([], aws("sns", "list-subscriptions-by-topic", "--topic-arn", arn)["Subscriptions"])


def fifo_end_to_end():
    """4 message groups through a FIFO topic into 2 FIFO queues, concurrent consumers."""
    c, sqs = sns(), boto3_client(H)
    arn = c.create_topic(Name="events.fifo", Attributes={"FifoTopic": "true"})["TopicArn"]
    for q in ("f1.fifo", "f2.fifo"):
        sqs.create_queue(QueueName=q, Attributes={"FifoQueue": "true"})
        c.subscribe(TopicArn=arn, Protocol="sqs", Endpoint=queue_arn(q),
                    Attributes={"RawMessageDelivery": "true"})
    groups, per = ["g%d" % i for i in range(4)], 15
    seqs = []
    for i in range(per):
        for g in groups:
            r = c.publish(TopicArn=arn, Message="%s-%d" % (g, i), MessageGroupId=g,
                          MessageDeduplicationId="%s-%d" % (g, i))
            seqs.append(int(r["SequenceNumber"]))
        # a retransmission inside the window: deduplicated
        again = c.publish(TopicArn=arn, Message="%s-%d" % (groups[0], i),
                          MessageGroupId=groups[0], MessageDeduplicationId="%s-%d" % (groups[0], i))
        eq(str(seqs[-4]).zfill(20), again["SequenceNumber"], "duplicate's SequenceNumber")
    eq(sorted(seqs), seqs, "sequence numbers grow")
    results = {q: [] for q in ("f1.fifo", "f2.fifo")}
    lock = threading.Lock()

    def consume(q):
        cl = boto3_client(H)
        url = H.queue_url(q)
        idle = 0
        while idle < 3:
            r = cl.receive_message(QueueUrl=url, MaxNumberOfMessages=3, WaitTimeSeconds=1)
            ms = r.get("Messages", [])
            idle = 0 if ms else idle + 1
            for m in ms:
                with lock:
                    results[q].append(m["Body"])
                cl.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])

    threads = [threading.Thread(target=consume, args=(q,)) for q in results for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for q, bodies in results.items():
        eq(per * len(groups), len(bodies), "%s: every message once" % q)
        eq(len(bodies), len(set(bodies)), "%s: no duplicates" % q)
        for g in groups:
            eq(["%s-%d" % (g, i) for i in range(per)],
               [b for b in bodies if b.startswith(g + "-")], "%s: order of %s" % (q, g))


def cli_objects():
    """bpfbus topic / subscription through the control socket."""
    def run(*args, rc=0):
        r = H.cli(*args)
        eq(rc, r.returncode, "bpfbus %s: %s" % (" ".join(args), r.stderr))
        return r

    eq(topic_arn("ctl") + "\n", run("topic", "create", "ctl", "attr", "DisplayName=C",
                                    "tag", "k=v").stdout)
    if topic_arn("ctl") not in run("topic", "list").stdout:
        raise AssertionError("topic list")
    run("queue", "create", "ctl-q")
    sub = run("subscription", "create", "ctl", "sqs", "ctl-q", "attr",
              "RawMessageDelivery=true", "attr", 'FilterPolicy={"k":["v"]}').stdout.strip()
    if not sub.startswith(topic_arn("ctl") + ":"):
        raise AssertionError("subscription create printed %r" % sub)
    shown = json.loads(run("-j", "subscription", "show", sub).stdout)["Attributes"]
    eq(queue_arn("ctl-q"), shown["Endpoint"])
    eq("true", shown["RawMessageDelivery"])
    listed = json.loads(run("-j", "subscription", "list", "topic", "ctl").stdout)
    eq([sub], [s["SubscriptionArn"] for s in listed["Subscriptions"]])
    out = json.loads(run("-j", "topic", "publish", "ctl", "message", "m1",
                         "attr", "k=String:v").stdout)
    if not re.fullmatch(r"[0-9a-f-]{36}", out["MessageId"]):
        raise AssertionError("MessageId %r" % out)
    run("topic", "publish", "ctl", "message", "m2", "attr", "k=String:w")
    eq(["m1"], [m["Body"] for m in drain("ctl-q", 1)])
    eq("k=v\n", run("topic", "tags", "ctl").stdout)
    run("topic", "set-attr", "ctl", "DisplayName=D")
    eq("D", json.loads(run("-j", "topic", "show", "ctl").stdout)["Attributes"]["DisplayName"])
    r = run("topic", "show", "nope", rc=1)
    if "NotFound" not in r.stderr:
        raise AssertionError(r.stderr)
    r = run("topic", "publish", "ctl", "message", "x", "structure", "yaml", rc=2)
    if "InvalidParameter" not in r.stderr:
        raise AssertionError(r.stderr)
    run("subscription", "set-attr", sub, "RawMessageDelivery=false")
    run("subscription", "delete", sub)
    eq({"Subscriptions": []},
       json.loads(run("-j", "subscription", "list", "topic", "ctl").stdout))
    run("topic", "delete", "ctl")


def metrics():
    """Per-topic and per-subscription counters at /metrics."""
    c, sqs = sns(), boto3_client(H)
    arn = c.create_topic(Name="counted")["TopicArn"]
    sqs.create_queue(QueueName="counted-q")
    sub = c.subscribe(TopicArn=arn, Protocol="sqs", Endpoint=queue_arn("counted-q"),
                      Attributes={"FilterPolicy": json.dumps({"k": ["yes"]}),
                                  "RedrivePolicy": json.dumps(
                                      {"deadLetterTargetArn": queue_arn("counted-dlq")})},
                      ReturnSubscriptionArn=True)["SubscriptionArn"]
    sqs.create_queue(QueueName="counted-dlq")
    for v in ("yes", "yes", "no"):
        c.publish(TopicArn=arn, Message="m", MessageAttributes={
            "k": {"DataType": "String", "StringValue": v}})
    sqs.delete_queue(QueueUrl=H.queue_url("counted-q"))
    c.publish(TopicArn=arn, Message="m", MessageAttributes={
        "k": {"DataType": "String", "StringValue": "yes"}})
    with urllib.request.urlopen(H.url + "/metrics", timeout=10) as r:
        m = parse_metrics(r.read().decode())
    eq(4, metric(m, "bpfbus_topic_published_total", topic=arn))
    eq(2, metric(m, "bpfbus_topic_delivered_total", topic=arn))
    eq(1, metric(m, "bpfbus_topic_filtered_total", topic=arn))
    labels = dict(topic=arn, subscription=sub, protocol="sqs")
    eq(2, metric(m, "bpfbus_subscription_delivered_total", **labels))
    eq(1, metric(m, "bpfbus_subscription_filtered_total", **labels))
    eq(1, metric(m, "bpfbus_subscription_dead_lettered_total", **labels))
    eq(0, metric(m, "bpfbus_subscription_failed_total", **labels))
    eq(1, len(drain("counted-dlq", 1)))


NAMES = ["topics_and_tags", "fan_out_with_filters", "publish_batch", "authorization",
         "aws_cli", "fifo_end_to_end", "cli_objects", "metrics", "host_exits_cleanly"]


def main():
    run_suite(NAMES, globals(), creds="%s %s\n%s %s actions=sns:List*,sns:Get*\n"
              % (KEY, SECRET, LISTER, LISTER_SECRET))


if __name__ == "__main__":
    main()
