#!/usr/bin/python3
# SPDX-License-Identifier: BSD-2-Clause
"""The SQS HTTP API with Debian's boto3 (query protocol, XML answers) and with
AWS JSON 1.0 requests the test signs itself with botocore's SigV4 signer,
against bpfbusd (its real listener on a real LMDB store)."""

import datetime
import json
import os
import signal
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "api"))
from apihost import (ACCOUNT, KEY, READER, READER_SECRET, REGION, SECRET, Host, Tap,
                     boto3_client, daemon_unavailable, eq, error_of, self_signed_certificate,
                     send, signed, skip_all)

H = None


def code(e):
    return e.response["Error"]["Code"]


def queues():
    sqs = boto3_client(H)
    url = sqs.create_queue(QueueName="orders", Attributes={"VisibilityTimeout": "45"},
                           tags={"team": "eu"})["QueueUrl"]
    eq(H.queue_url("orders"), url, "QueueUrl")
    eq(url, sqs.get_queue_url(QueueName="orders")["QueueUrl"])
    sqs.create_queue(QueueName="billing")
    eq([H.queue_url("billing"), H.queue_url("orders")], sqs.list_queues()["QueueUrls"])
    eq([url], sqs.list_queues(QueueNamePrefix="ord")["QueueUrls"])
    page = sqs.list_queues(MaxResults=1)
    eq(1, len(page["QueueUrls"]))
    eq([url], sqs.list_queues(MaxResults=1, NextToken=page["NextToken"])["QueueUrls"])
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"DelaySeconds": "0",
                                                       "ReceiveMessageWaitTimeSeconds": "1"})
    a = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    eq("45", a["VisibilityTimeout"])
    eq("1", a["ReceiveMessageWaitTimeSeconds"])
    eq("arn:aws:sqs:%s:%s:orders" % (REGION, ACCOUNT), a["QueueArn"])
    eq({"team": "eu"}, sqs.list_queue_tags(QueueUrl=url)["Tags"])
    sqs.tag_queue(QueueUrl=url, Tags={"cost": "7"})
    sqs.untag_queue(QueueUrl=url, TagKeys=["team"])
    eq({"cost": "7"}, sqs.list_queue_tags(QueueUrl=url)["Tags"])
    e = error_of(sqs.get_queue_url, QueueName="nope")
    eq("AWS.SimpleQueueService.NonExistentQueue", code(e))
    eq(400, e.response["ResponseMetadata"]["HTTPStatusCode"])
    eq("The specified queue does not exist.", e.response["Error"]["Message"])
    if not isinstance(e, sqs.exceptions.QueueDoesNotExist):
        raise AssertionError("boto3 did not map the error to QueueDoesNotExist")
    eq("InvalidAttributeValue",
       code(error_of(sqs.set_queue_attributes, QueueUrl=url,
                     Attributes={"VisibilityTimeout": "43201"})))
    eq("QueueAlreadyExists",
       code(error_of(sqs.create_queue, QueueName="orders",
                     Attributes={"VisibilityTimeout": "10"})))
    sqs.delete_queue(QueueUrl=H.queue_url("billing"))
    eq("AWS.SimpleQueueService.QueueDeletedRecently",
       code(error_of(sqs.create_queue, QueueName="billing")))


def messages():
    sqs = boto3_client(H)
    url = sqs.create_queue(QueueName="msgs")["QueueUrl"]
    # boto3 checks MD5OfMessageBody and MD5OfMessageAttributes of every answer.
    r = sqs.send_message(QueueUrl=url, MessageBody="héllo <&> \r\n",
                         MessageAttributes={
                             "region": {"DataType": "String", "StringValue": "eu"},
                             "n": {"DataType": "Number.int", "StringValue": "42"},
                             "blob": {"DataType": "Binary", "BinaryValue": b"\x00\x01\xff"}})
    got = sqs.receive_message(QueueUrl=url, AttributeNames=["All"],
                              MessageAttributeNames=["All"], MaxNumberOfMessages=10)
    m = got["Messages"][0]
    eq(r["MessageId"], m["MessageId"])
    eq("héllo <&> \r\n", m["Body"])
    eq(b"\x00\x01\xff", m["MessageAttributes"]["blob"]["BinaryValue"])
    eq("42", m["MessageAttributes"]["n"]["StringValue"])
    eq("1", m["Attributes"]["ApproximateReceiveCount"])
    eq(ACCOUNT, m["Attributes"]["SenderId"])
    # Visibility: back at once with 0, then hidden again for a while.
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"],
                                  VisibilityTimeout=0)
    m2 = sqs.receive_message(QueueUrl=url, AttributeNames=["ApproximateReceiveCount"],
                             VisibilityTimeout=60)["Messages"][0]
    eq("2", m2["Attributes"]["ApproximateReceiveCount"])
    # The first handle died with the second receive (docs/queues.md).
    eq("InvalidParameterValue",
       code(error_of(sqs.change_message_visibility, QueueUrl=url,
                     ReceiptHandle=m["ReceiptHandle"], VisibilityTimeout=5)))
    eq([], sqs.receive_message(QueueUrl=url).get("Messages", []))
    sqs.delete_message(QueueUrl=url, ReceiptHandle=m2["ReceiptHandle"])
    eq("ReceiptHandleIsInvalid",
       code(error_of(sqs.delete_message, QueueUrl=url, ReceiptHandle="garbage")))
    eq("InvalidMessageContents",
       code(error_of(sqs.send_message, QueueUrl=url, MessageBody="bad \x01")))
    eq("0", sqs.get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessagesNotVisible"])
        ["Attributes"]["ApproximateNumberOfMessagesNotVisible"])


def batches():
    sqs = boto3_client(H)
    url = sqs.create_queue(QueueName="batch")["QueueUrl"]
    r = sqs.send_message_batch(QueueUrl=url, Entries=[
        {"Id": "a", "MessageBody": "one"},
        {"Id": "b", "MessageBody": "two", "DelaySeconds": 901},
        {"Id": "c", "MessageBody": "three",
         "MessageAttributes": {"k": {"DataType": "String", "StringValue": "v"}}}])
    eq(["a", "c"], sorted(x["Id"] for x in r["Successful"]))
    eq(1, len(r["Failed"]))
    eq("b", r["Failed"][0]["Id"])
    eq("InvalidParameterValue", r["Failed"][0]["Code"])
    eq(True, r["Failed"][0]["SenderFault"])
    eq("AWS.SimpleQueueService.BatchEntryIdsNotDistinct",
       code(error_of(sqs.send_message_batch, QueueUrl=url,
                     Entries=[{"Id": "a", "MessageBody": "x"}, {"Id": "a", "MessageBody": "y"}])))
    eq("AWS.SimpleQueueService.TooManyEntriesInBatchRequest",
       code(error_of(sqs.send_message_batch, QueueUrl=url,
                     Entries=[{"Id": "e%d" % i, "MessageBody": "x"} for i in range(11)])))
    msgs = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    eq(2, len(msgs))
    r = sqs.change_message_visibility_batch(QueueUrl=url, Entries=[
        {"Id": "x", "ReceiptHandle": msgs[0]["ReceiptHandle"], "VisibilityTimeout": 100},
        {"Id": "y", "ReceiptHandle": "bogus", "VisibilityTimeout": 100}])
    eq(["x"], [x["Id"] for x in r["Successful"]])
    eq("ReceiptHandleIsInvalid", r["Failed"][0]["Code"])
    r = sqs.delete_message_batch(QueueUrl=url, Entries=[
        {"Id": "x", "ReceiptHandle": m["ReceiptHandle"]} for m in msgs[:1]] +
        [{"Id": "y", "ReceiptHandle": msgs[1]["ReceiptHandle"]}])
    eq(["x", "y"], sorted(x["Id"] for x in r["Successful"]))
    sqs.send_message(QueueUrl=url, MessageBody="purge me")
    sqs.purge_queue(QueueUrl=url)
    eq([], sqs.receive_message(QueueUrl=url).get("Messages", []))
    eq("AWS.SimpleQueueService.PurgeQueueInProgress",
       code(error_of(sqs.purge_queue, QueueUrl=url)))


def query(action, params, **kw):
    """A query-protocol request boto3 1.26 cannot make (message move tasks)."""
    body = "&".join("%s=%s" % (k, v) for k, v in
                    [("Action", action), ("Version", "2012-11-05")] + list(params.items()))
    url, headers, body = signed(H, body, {"Content-Type":
                                          "application/x-www-form-urlencoded; charset=utf-8"}, **kw)
    return send(url, headers, body)


def dead_letters_and_move_tasks():
    sqs = boto3_client(H)
    dlq = sqs.create_queue(QueueName="dlq")["QueueUrl"]
    arn = "arn:aws:sqs:%s:%s:dlq" % (REGION, ACCOUNT)
    src = sqs.create_queue(QueueName="work", Attributes={
        "VisibilityTimeout": "0",
        "RedrivePolicy": json.dumps({"deadLetterTargetArn": arn, "maxReceiveCount": 2})})["QueueUrl"]
    eq([src], sqs.list_dead_letter_source_queues(QueueUrl=dlq)["queueUrls"])
    sqs.send_message(QueueUrl=src, MessageBody="poison")
    for _ in range(2):
        eq(1, len(sqs.receive_message(QueueUrl=src)["Messages"]))
    eq([], sqs.receive_message(QueueUrl=src).get("Messages", []))
    m = sqs.receive_message(QueueUrl=dlq, AttributeNames=["All"], VisibilityTimeout=0)
    eq("poison", m["Messages"][0]["Body"])
    eq("arn:aws:sqs:%s:%s:work" % (REGION, ACCOUNT),
       m["Messages"][0]["Attributes"]["DeadLetterQueueSourceArn"])
    status, _, body = query("StartMessageMoveTask", {"SourceArn": arn})
    eq(200, status, body)
    if "<TaskHandle>" not in body:
        raise AssertionError(body)
    # The fixture steps move tasks every 100 ms.
    for _ in range(50):
        status, _, body = query("ListMessageMoveTasks", {"SourceArn": arn})
        if "<Status>COMPLETED</Status>" in body:
            break
        time.sleep(0.1)
    if "<ApproximateNumberOfMessagesMoved>1</ApproximateNumberOfMessagesMoved>" not in body:
        raise AssertionError(body)
    eq("poison", sqs.receive_message(QueueUrl=src)["Messages"][0]["Body"])
    status, _, body = query("CancelMessageMoveTask", {"TaskHandle": "nope"})
    eq(404, status)
    if "<Code>ResourceNotFoundException</Code>" not in body:
        raise AssertionError(body)


def fifo():
    sqs = boto3_client(H)
    url = sqs.create_queue(QueueName="orders.fifo", Attributes={
        "FifoQueue": "true", "ContentBasedDeduplication": "true"})["QueueUrl"]
    a = sqs.send_message(QueueUrl=url, MessageBody="a", MessageGroupId="g")
    b = sqs.send_message(QueueUrl=url, MessageBody="a", MessageGroupId="g")
    eq(a["MessageId"], b["MessageId"], "deduplicated MessageId")
    eq(a["SequenceNumber"], b["SequenceNumber"])
    sqs.send_message(QueueUrl=url, MessageBody="b", MessageGroupId="g",
                     MessageDeduplicationId="other")
    eq("MissingParameter", code(error_of(sqs.send_message, QueueUrl=url, MessageBody="c")))
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10,
                              AttributeNames=["MessageGroupId", "SequenceNumber"])["Messages"]
    eq(["a", "b"], [m["Body"] for m in got])
    eq("g", got[0]["Attributes"]["MessageGroupId"])
    # The group is locked while its messages are in flight.
    eq([], sqs.receive_message(QueueUrl=url).get("Messages", []))


def long_polling():
    sqs = boto3_client(H)
    url = sqs.create_queue(QueueName="poll")["QueueUrl"]
    result = {}

    def waiter():
        t0 = time.monotonic()
        r = boto3_client(H).receive_message(QueueUrl=url, WaitTimeSeconds=10)
        result["took"] = time.monotonic() - t0
        result["msgs"] = r.get("Messages", [])

    t = threading.Thread(target=waiter)
    t.start()
    time.sleep(0.5)
    # The parked receive does not hold up other requests.
    t0 = time.monotonic()
    sqs.list_queues()
    if time.monotonic() - t0 > 1:
        raise AssertionError("a request waited behind a long poll")
    sqs.send_message(QueueUrl=url, MessageBody="wake up")
    t.join(15)
    eq(["wake up"], [m["Body"] for m in result["msgs"]])
    if result["took"] > 3:
        raise AssertionError("the send did not wake the long poll (%.1f s)" % result["took"])
    # Nothing arrives: the wait ends empty after WaitTimeSeconds.
    t0 = time.monotonic()
    eq([], sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1).get("Messages", []))
    took = time.monotonic() - t0
    if not 0.9 <= took < 3:
        raise AssertionError("a 1 s wait took %.2f s" % took)
    # A delayed message ends the wait when its delay does.
    sqs.send_message(QueueUrl=url, MessageBody="later", DelaySeconds=1)
    t0 = time.monotonic()
    eq(["later"], [m["Body"] for m in
                   sqs.receive_message(QueueUrl=url, WaitTimeSeconds=5).get("Messages", [])])
    if time.monotonic() - t0 > 3:
        raise AssertionError("the delay's end did not end the wait")


def json_call(action, payload, query_mode=False, **kw):
    headers = {"Content-Type": "application/x-amz-json-1.0",
               "X-Amz-Target": "AmazonSQS." + action}
    if query_mode:
        headers["x-amzn-query-mode"] = "true"
    url, headers, body = signed(H, json.dumps(payload), headers, **kw)
    status, rh, text = send(url, headers, body)
    return status, rh, json.loads(text) if text else None


def json_protocol():
    status, rh, r = json_call("CreateQueue", {"QueueName": "json-q",
                                              "Attributes": {"DelaySeconds": "0"}})
    eq(200, status, r)
    eq("application/x-amz-json-1.0", rh["Content-Type"])
    url = r["QueueUrl"]
    eq(H.queue_url("json-q"), url)
    status, _, r = json_call("SendMessage", {"QueueUrl": url, "MessageBody": "j",
                                             "MessageAttributes": {"b": {
                                                 "DataType": "Binary", "BinaryValue": "AAE="}}})
    eq(200, status, r)
    status, _, r = json_call("ReceiveMessage", {"QueueUrl": url, "MaxNumberOfMessages": 5,
                                                "MessageAttributeNames": ["All"],
                                                "MessageSystemAttributeNames": ["SenderId"]})
    eq("j", r["Messages"][0]["Body"])
    eq("AAE=", r["Messages"][0]["MessageAttributes"]["b"]["BinaryValue"])
    eq(ACCOUNT, r["Messages"][0]["Attributes"]["SenderId"])
    status, _, r = json_call("DeleteMessage", {"QueueUrl": url,
                                               "ReceiptHandle": r["Messages"][0]["ReceiptHandle"]})
    eq((200, {}), (status, r))
    status, rh, r = json_call("GetQueueUrl", {"QueueName": "nope"}, query_mode=True)
    eq(400, status)
    eq("com.amazonaws.sqs#QueueDoesNotExist", r["__type"])
    eq("The specified queue does not exist.", r["message"])
    eq("AWS.SimpleQueueService.NonExistentQueue;Sender", rh["x-amzn-query-error"])
    status, rh, r = json_call("GetQueueUrl", {"QueueName": "nope"})
    eq(None, rh.get("x-amzn-query-error"), "query error header without query mode")
    status, _, r = json_call("Frobnicate", {})
    eq((400, "com.amazonaws.sqs#UnknownOperationException"), (status, r["__type"]))
    status, _, r = json_call("ListQueues", {"QueueNamePrefix": 7})
    eq((400, "com.amazonaws.sqs#InvalidParameterValue"), (status, r["__type"]))


def hostile_requests():
    deep = "[" * 5000 + "]" * 5000
    url, headers, body = signed(H, '{"QueueName":%s}' % deep,
                                {"X-Amz-Target": "AmazonSQS.CreateQueue"})
    status, _, text = send(url, headers, body)
    eq(400, status)
    if "SerializationException" not in text or "nesting depth" not in text:
        raise AssertionError(text)
    url, headers, body = signed(H, "{not json", {"X-Amz-Target": "AmazonSQS.ListQueues"})
    status, _, text = send(url, headers, body)
    eq(400, status)
    if "SerializationException" not in text:
        raise AssertionError(text)
    status, _, text = query("ListQueues", {"Bad": "%zz"})
    eq(400, status)
    if "<Code>MalformedQueryString</Code>" not in text:
        raise AssertionError(text)
    status, _, text = query("SendMessage", {"QueueUrl": H.queue_url("msgs"),
                                            "MessageBody": "x",
                                            "MessageAttribute.0.Name": "a"})
    eq(400, status)
    if "list indexes must be 1, 2" not in text:
        raise AssertionError(text)
    status, _, text = query("Frobnicate", {})
    eq(400, status)
    if "<Code>InvalidAction</Code>" not in text:
        raise AssertionError(text)
    # A body over the limit (the fixture allows 4 MiB) is refused before it is read.
    s = socket.create_connection(("127.0.0.1", H.port))
    s.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded"
              b"\r\nContent-Length: %d\r\n\r\n" % (5 << 20))
    s.settimeout(10)
    answer = b""
    while b"</ErrorResponse>" not in answer:
        chunk = s.recv(4096)
        if not chunk:
            break
        answer += chunk
    s.close()
    if not answer.startswith(b"HTTP/1.1 413") or b"<Code>RequestEntityTooLarge</Code>" not in answer:
        raise AssertionError(answer)


def slow_client():
    # The fixture closes connections idle for 2 s (--timeout 2).
    s = socket.create_connection(("127.0.0.1", H.port))
    s.sendall(b"POST / HTTP/1.1\r\nHost: x\r\n")
    s.settimeout(10)
    t0 = time.monotonic()
    data = s.recv(100)
    took = time.monotonic() - t0
    s.close()
    eq(b"", data, "closed without an answer")
    if took > 6:
        raise AssertionError("a stalled client held its connection %.1f s" % took)


def authentication():
    ok = json_call("ListQueues", {})
    eq(200, ok[0], ok)
    status, _, r = json_call("ListQueues", {}, key="AKIDWRONG")
    eq((403, "InvalidClientTokenId"), (status, r["__type"]))
    status, _, r = json_call("ListQueues", {}, secret="wrong")
    eq((403, "SignatureDoesNotMatch"), (status, r["__type"]))
    url, headers, body = signed(H, '{"QueueNamePrefix":"a"}',
                                {"X-Amz-Target": "AmazonSQS.ListQueues"})
    status, _, text = send(url, headers, '{"QueueNamePrefix":"b"}')
    eq((403, "SignatureDoesNotMatch"), (status, json.loads(text)["__type"]), "tampered body")
    # Far outside the 15 minutes, so that a step of the machine clock cannot matter.
    old = datetime.datetime.utcnow() - datetime.timedelta(hours=2)
    status, _, r = json_call("ListQueues", {}, when=old)
    eq((400, "RequestExpired"), (status, r.get("__type")), r)
    if "Signature expired" not in r["message"]:
        raise AssertionError(r)
    status, _, r = json_call("ListQueues", {}, region="us-west-2")
    eq((403, "SignatureDoesNotMatch"), (status, r["__type"]))
    eq("Credential should be scoped to a valid region, not 'us-west-2'. Expected '%s'." % REGION,
       r["message"])
    status, _, r = json_call("ListQueues", {}, service="sns")
    eq((403, "SignatureDoesNotMatch"), (status, r["__type"]))
    eq("Credential should be scoped to correct service: 'sqs'.", r["message"])
    status, _, text = send(H.url + "/", {"Content-Type": "application/x-www-form-urlencoded"},
                           "Action=ListQueues")
    eq(403, status)
    if "<Code>MissingAuthenticationToken</Code>" not in text:
        raise AssertionError(text)
    # boto3 (query protocol) sees the same errors.
    e = error_of(boto3_client(H, secret="wrong").list_queues)
    eq("SignatureDoesNotMatch", code(e))
    e = error_of(boto3_client(H, key="AKIDNOPE").list_queues)
    eq("InvalidClientTokenId", code(e))


def access_control():
    admin = boto3_client(H)
    pub = admin.create_queue(QueueName="public-feed")["QueueUrl"]
    admin.send_message(QueueUrl=pub, MessageBody="news")
    reader = boto3_client(H, key=READER, secret=READER_SECRET)
    eq("news", reader.receive_message(QueueUrl=pub)["Messages"][0]["Body"])
    e = error_of(reader.send_message, QueueUrl=pub, MessageBody="x")
    eq("AccessDenied", code(e))
    eq(403, e.response["ResponseMetadata"]["HTTPStatusCode"])
    eq("User: arn:aws:iam::%s:user/%s is not authorized to perform: sqs:SendMessage on "
       "resource: arn:aws:sqs:%s:%s:public-feed" % (ACCOUNT, READER, REGION, ACCOUNT),
       e.response["Error"]["Message"])
    eq("AccessDenied", code(error_of(reader.receive_message, QueueUrl=H.queue_url("msgs"))))
    eq("AccessDenied", code(error_of(reader.list_queues)))


def permissions():
    sqs = boto3_client(H)
    url = sqs.create_queue(QueueName="shared")["QueueUrl"]
    sqs.add_permission(QueueUrl=url, Label="send", AWSAccountIds=["111122223333"],
                       Actions=["SendMessage", "ReceiveMessage"])
    pol = json.loads(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["Policy"])
                     ["Attributes"]["Policy"])
    eq("send", pol["Statement"][0]["Sid"])
    eq(["SQS:SendMessage", "SQS:ReceiveMessage"], pol["Statement"][0]["Action"])
    eq("InvalidParameterValue",
       code(error_of(sqs.add_permission, QueueUrl=url, Label="send",
                     AWSAccountIds=["111122223333"], Actions=["SendMessage"])))
    sqs.remove_permission(QueueUrl=url, Label="send")
    eq(None, sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])
       ["Attributes"].get("Policy"))


def long_poll_woken_by_control():
    """A ReceiveMessage parked over HTTP is answered as soon as the CLI sends."""
    sqs = boto3_client(H)
    url = sqs.create_queue(QueueName="woken")["QueueUrl"]
    got = {}

    def receive():
        t0 = time.monotonic()
        got["r"] = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=10)
        got["took"] = time.monotonic() - t0
    t = threading.Thread(target=receive)
    t.start()
    time.sleep(1)
    r = H.cli("queue", "send", "woken", "body", "from the control socket")
    eq(0, r.returncode, r.stderr)
    t.join(15)
    eq("from the control socket", got["r"]["Messages"][0]["Body"])
    if got["took"] > 8:
        raise AssertionError("the long poll was not woken by the send (%.1f s)" % got["took"])


def credentials_reload():
    """SIGHUP reads the credentials file again: a new key works, a removed one not."""
    with open(H.creds, "w") as f:
        f.write("AKIDROTATED rotated-secret\n%s %s\n" % (KEY, SECRET))
    H.proc.send_signal(signal.SIGHUP)
    rotated = boto3_client(H, key="AKIDROTATED", secret="rotated-secret")
    for _ in range(100):
        if "reloaded the HTTP API's credentials" in H.log_text():
            break
        time.sleep(0.05)
    rotated.list_queues()
    eq("InvalidClientTokenId", code(error_of(boto3_client(H, key=READER,
                                                           secret=READER_SECRET).list_queues)))
    with open(H.creds, "w") as f:
        f.write("broken-line-without-secret\n")
    H.proc.send_signal(signal.SIGHUP)
    for _ in range(100):
        if "keeping the HTTP API's credentials in use" in H.log_text():
            break
        time.sleep(0.05)
    else:
        raise AssertionError("a broken credentials file was not reported: " + H.log_text())
    rotated.list_queues()


def load_tool():
    """tools/httpload (make bench's HTTP client) against the daemon over two signed
    keep-alive connections: every message it received it deleted, the rest is queued."""
    import subprocess
    boto3_client(H).create_queue(QueueName="load")
    p = subprocess.run([os.path.join(os.environ.get("BUILD", "build"), "httpload"),
                        "--port", str(H.port), "--queue", "load", "--threads", "2",
                        "--seconds", "0.3", "--key", KEY, "--secret", SECRET,
                        "--region", REGION], capture_output=True, text=True, timeout=60)
    eq(0, p.returncode, p.stderr)
    r = dict(kv.split("=") for kv in p.stdout.split()[1:])
    eq("0", r["errors"])
    # The receive phase is timed too: what it did not reach is still in the queue.
    if int(r["received"]) < 1 or r["received"] != r["deleted"]:
        raise AssertionError(p.stdout)
    attrs = boto3_client(H).get_queue_attributes(
        QueueUrl=H.queue_url("load"), AttributeNames=["All"])["Attributes"]
    eq((int(r["sent"]) - int(r["received"]), 0),
       (int(attrs["ApproximateNumberOfMessages"]),
        int(attrs["ApproximateNumberOfMessagesNotVisible"])), p.stdout)


def anonymous_mode():
    host = Host("--anonymous")
    try:
        status, _, text = send(host.url + "/",
                               {"Content-Type": "application/x-www-form-urlencoded"},
                               "Action=CreateQueue&QueueName=anon")
        eq(200, status, text)
        if "ANONYMOUS mode" not in host.log_text():
            raise AssertionError("anonymous mode was not announced: " + host.log_text())
    finally:
        eq(0, host.stop(), "bpfbusd exit status")


def tls():
    import shutil
    import tempfile
    d = tempfile.mkdtemp()
    cert, key = self_signed_certificate(d)
    host = Host("--tls-cert", cert, "--tls-key", key)
    try:
        sqs = boto3_client(host, verify=cert)
        url = sqs.create_queue(QueueName="secure")["QueueUrl"]
        eq("https://127.0.0.1:%d/%s/secure" % (host.port, ACCOUNT), url)
        sqs.send_message(QueueUrl=url, MessageBody="over tls")
        eq("over tls", sqs.receive_message(QueueUrl=url)["Messages"][0]["Body"])
        # Plain HTTP to the TLS port gets no answer.
        try:
            status, _, _ = send("http://127.0.0.1:%d/" % host.port, {}, "Action=ListQueues")
        except Exception:
            status = None
        if status == 200:
            raise AssertionError("plain HTTP was served on the TLS port")
    finally:
        eq(0, host.stop(), "bpfbusd exit status")
        shutil.rmtree(d, ignore_errors=True)


NAMES = ["queues", "messages", "batches", "dead_letters_and_move_tasks", "fifo", "long_polling",
         "json_protocol", "hostile_requests", "slow_client", "authentication", "access_control",
         "permissions", "long_poll_woken_by_the_control_socket", "load_tool",
         "credentials_reload_on_sighup",
         "host_exits_cleanly", "anonymous_mode", "tls"]


def main():
    global H
    tap = Tap()
    why = daemon_unavailable()
    if why:
        skip_all(tap, NAMES, why)
    H = Host("--http-timeout", "2")
    try:
        for name, fn in [("queues", queues), ("messages", messages), ("batches", batches),
                         ("dead_letters_and_move_tasks", dead_letters_and_move_tasks),
                         ("fifo", fifo), ("long_polling", long_polling),
                         ("json_protocol", json_protocol), ("hostile_requests", hostile_requests),
                         ("slow_client", slow_client), ("authentication", authentication),
                         ("access_control", access_control), ("permissions", permissions),
                         ("long_poll_woken_by_the_control_socket", long_poll_woken_by_control),
                         ("load_tool", load_tool),
                         ("credentials_reload_on_sighup", credentials_reload)]:
            tap.run(name, fn)
    finally:
        log = H.log_text()
        rc = H.stop()
    tap.run("host_exits_cleanly", lambda: eq(0, rc, "bpfbusd exit status; log: " + log))
    tap.run("anonymous_mode", anonymous_mode)
    tap.run("tls", tls)
    tap.done()


if __name__ == "__main__":
    main()
