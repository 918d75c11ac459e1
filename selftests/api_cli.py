#!/usr/bin/python3
# SPDX-License-Identifier: BSD-2-Clause
"""The SQS HTTP API driven by Debian's AWS CLI (/usr/bin/aws 2.9.19, query
protocol) against the api-host fixture: complete queue flows and errors."""

import hashlib
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "api"))
from apihost import ACCOUNT, KEY, REGION, SECRET, Host, Skip, Tap, eq

AWS = "/usr/bin/aws"
H = None


def aws(*args, secret=SECRET, ok=True):
    env = dict(os.environ, AWS_ACCESS_KEY_ID=KEY, AWS_SECRET_ACCESS_KEY=secret,
               AWS_DEFAULT_REGION=REGION, AWS_CONFIG_FILE="/dev/null",
               AWS_SHARED_CREDENTIALS_FILE="/dev/null", AWS_PAGER="")
    p = subprocess.run([AWS, "--endpoint-url", H.url, "--output", "json", "sqs"] + list(args),
                       env=env, capture_output=True, text=True, timeout=60)
    if ok and p.returncode:
        raise AssertionError("aws sqs %s: exit %d: %s" % (" ".join(args), p.returncode, p.stderr))
    if not ok:
        if p.returncode == 0:
            raise AssertionError("aws sqs %s succeeded: %s" % (" ".join(args), p.stdout))
        return p.stderr.strip()
    return json.loads(p.stdout) if p.stdout.strip() else {}


def queue_flow():
    url = aws("create-queue", "--queue-name", "cli", "--attributes",
              "VisibilityTimeout=40,DelaySeconds=0", "--tags", "team=eu")["QueueUrl"]
    eq(H.queue_url("cli"), url)
    eq(url, aws("get-queue-url", "--queue-name", "cli")["QueueUrl"])
    eq([url], aws("list-queues", "--queue-name-prefix", "cl")["QueueUrls"])
    aws("set-queue-attributes", "--queue-url", url, "--attributes", "MaximumMessageSize=2048")
    a = aws("get-queue-attributes", "--queue-url", url, "--attribute-names", "All")["Attributes"]
    eq("40", a["VisibilityTimeout"])
    eq("2048", a["MaximumMessageSize"])
    eq("arn:aws:sqs:%s:%s:cli" % (REGION, ACCOUNT), a["QueueArn"])
    aws("tag-queue", "--queue-url", url, "--tags", "cost=7")
    eq({"team": "eu", "cost": "7"}, aws("list-queue-tags", "--queue-url", url)["Tags"])
    aws("untag-queue", "--queue-url", url, "--tag-keys", "team")
    eq({"cost": "7"}, aws("list-queue-tags", "--queue-url", url)["Tags"])


def message_flow():
    url = H.queue_url("cli")
    s = aws("send-message", "--queue-url", url, "--message-body", "hello cli",
            "--message-attributes", '{"k":{"DataType":"String","StringValue":"v"}}')
    eq(hashlib.md5(b"hello cli").hexdigest(), s["MD5OfMessageBody"])
    r = aws("receive-message", "--queue-url", url, "--attribute-names", "All",
            "--message-attribute-names", "All", "--visibility-timeout", "30")
    m = r["Messages"][0]
    eq(s["MessageId"], m["MessageId"])
    eq("hello cli", m["Body"])
    eq("v", m["MessageAttributes"]["k"]["StringValue"])
    eq("1", m["Attributes"]["ApproximateReceiveCount"])
    aws("change-message-visibility", "--queue-url", url, "--receipt-handle", m["ReceiptHandle"],
        "--visibility-timeout", "0")
    m = aws("receive-message", "--queue-url", url, "--attribute-names",
            "ApproximateReceiveCount")["Messages"][0]
    eq("2", m["Attributes"]["ApproximateReceiveCount"])
    aws("delete-message", "--queue-url", url, "--receipt-handle", m["ReceiptHandle"])
    eq({}, aws("receive-message", "--queue-url", url))
    aws("send-message", "--queue-url", url, "--message-body", "to purge")
    aws("purge-queue", "--queue-url", url)
    eq({}, aws("receive-message", "--queue-url", url))


def batch_flow():
    url = H.queue_url("cli")
    r = aws("send-message-batch", "--queue-url", url, "--entries",
            json.dumps([{"Id": "a", "MessageBody": "one"},
                        {"Id": "b", "MessageBody": "two", "DelaySeconds": 1000}]))
    eq(["a"], [x["Id"] for x in r["Successful"]])
    eq(["b"], [x["Id"] for x in r["Failed"]])
    eq("InvalidParameterValue", r["Failed"][0]["Code"])
    m = aws("receive-message", "--queue-url", url)["Messages"][0]
    r = aws("delete-message-batch", "--queue-url", url, "--entries",
            json.dumps([{"Id": "x", "ReceiptHandle": m["ReceiptHandle"]},
                        {"Id": "y", "ReceiptHandle": "bogus"}]))
    eq(["x"], [x["Id"] for x in r["Successful"]])
    eq("ReceiptHandleIsInvalid", r["Failed"][0]["Code"])


def dead_letter_flow():
    dlq = aws("create-queue", "--queue-name", "cli-dlq")["QueueUrl"]
    arn = "arn:aws:sqs:%s:%s:cli-dlq" % (REGION, ACCOUNT)
    src = aws("create-queue", "--queue-name", "cli-src", "--attributes", json.dumps({
        "VisibilityTimeout": "0",
        "RedrivePolicy": json.dumps({"deadLetterTargetArn": arn, "maxReceiveCount": 1})}))["QueueUrl"]
    eq([src], aws("list-dead-letter-source-queues", "--queue-url", dlq)["queueUrls"])
    aws("send-message", "--queue-url", src, "--message-body", "bad")
    eq(1, len(aws("receive-message", "--queue-url", src)["Messages"]))
    eq({}, aws("receive-message", "--queue-url", src))
    m = aws("receive-message", "--queue-url", dlq, "--attribute-names", "All")["Messages"][0]
    eq("bad", m["Body"])
    eq("arn:aws:sqs:%s:%s:cli-src" % (REGION, ACCOUNT),
       m["Attributes"]["DeadLetterQueueSourceArn"])


def fifo_flow():
    url = aws("create-queue", "--queue-name", "cli.fifo", "--attributes",
              "FifoQueue=true,ContentBasedDeduplication=true")["QueueUrl"]
    a = aws("send-message", "--queue-url", url, "--message-body", "x", "--message-group-id", "g")
    b = aws("send-message", "--queue-url", url, "--message-body", "x", "--message-group-id", "g")
    eq(a["MessageId"], b["MessageId"])
    eq(a["SequenceNumber"], b["SequenceNumber"])
    aws("send-message", "--queue-url", url, "--message-body", "y", "--message-group-id", "g")
    r = aws("receive-message", "--queue-url", url, "--max-number-of-messages", "10")
    eq(["x", "y"], [m["Body"] for m in r["Messages"]])


def errors():
    err = aws("get-queue-url", "--queue-name", "missing", ok=False)
    if "(AWS.SimpleQueueService.NonExistentQueue)" not in err or \
            "The specified queue does not exist." not in err:
        raise AssertionError(err)
    err = aws("create-queue", "--queue-name", "bad name!", ok=False)
    if "(InvalidParameterValue)" not in err:
        raise AssertionError(err)
    err = aws("receive-message", "--queue-url", H.queue_url("cli"), "--max-number-of-messages",
              "11", ok=False)
    if "(InvalidParameterValue)" not in err or "MaxNumberOfMessages" not in err:
        raise AssertionError(err)
    err = aws("list-queues", secret="wrong", ok=False)
    if "(SignatureDoesNotMatch)" not in err:
        raise AssertionError(err)
    aws("delete-queue", "--queue-url", H.queue_url("cli"))
    err = aws("delete-queue", "--queue-url", H.queue_url("cli"), ok=False)
    if "(AWS.SimpleQueueService.NonExistentQueue)" not in err:
        raise AssertionError(err)


def main():
    global H
    tap = Tap()
    if not os.access(AWS, os.X_OK):
        tap.run("aws_cli", lambda: (_ for _ in ()).throw(Skip("no " + AWS)))
        tap.done()
    H = Host()
    try:
        for name, fn in [("queue_flow", queue_flow), ("message_flow", message_flow),
                         ("batch_flow", batch_flow), ("dead_letter_flow", dead_letter_flow),
                         ("fifo_flow", fifo_flow), ("errors", errors)]:
            tap.run(name, fn)
    finally:
        rc = H.stop()
    tap.run("host_exits_cleanly", lambda: eq(0, rc, "api-host exit status"))
    tap.done()


if __name__ == "__main__":
    main()
