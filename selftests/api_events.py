#!/usr/bin/python3
# SPDX-License-Identifier: BSD-2-Clause
"""The EventBridge API (AWS JSON 1.1) with Debian's boto3 and /usr/bin/aws
against bpfbusd (its real listener, real LMDB store, real rule routing):
buses, rules, PutTargets with Input / InputPath / InputTransformer delivering
into queues (bodies compared exactly), PutEvents routed into queues and onto
another bus, per-entry errors, TestEventPattern, tags, http targets against a
real local HTTP server, udp targets into a UDP socket, dead-letter queues,
and the errors botocore maps (ResourceNotFoundException,
InvalidEventPatternException, ValidationException, LimitExceededException)."""

import http.server
import json
import os
import socket
import struct
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "api"))
from apihost import (ACCOUNT, KEY, REGION, SECRET, aws_events, eq, run_host_tests, send,
                     signed)
from apihost import code_and_message as error_of

H = None
AWS = "/usr/bin/aws"


def client(service="events", secret=SECRET):
    import boto3
    return boto3.client(service, endpoint_url=H.url, region_name=REGION,
                        aws_access_key_id=KEY, aws_secret_access_key=secret)


def rule_arn(name, bus=None):
    return "arn:aws:events:%s:%s:rule/%s%s" % (REGION, ACCOUNT, bus + "/" if bus else "", name)


def bus_arn(name):
    return "arn:aws:events:%s:%s:event-bus/%s" % (REGION, ACCOUNT, name)


def queue_arn(name):
    return "arn:aws:sqs:%s:%s:%s" % (REGION, ACCOUNT, name)


def receive(name, want, timeout=5.0):
    """Up to @want messages of queue @name, with their message attributes."""
    sqs = client("sqs")
    url = H.queue_url(name)
    got, end = [], time.time() + timeout
    while len(got) < want and time.time() < end:
        r = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10,
                                MessageAttributeNames=["All"])
        got += r.get("Messages", [])
    return got


def buses():
    eb = client()
    arn = eb.create_event_bus(Name="orders",
                              Tags=[{"Key": "team", "Value": "eu"}])["EventBusArn"]
    eq(bus_arn("orders"), arn)
    eb.create_event_bus(Name="audit")
    d = eb.describe_event_bus(Name="orders")
    eq(("orders", arn), (d["Name"], d["Arn"]))
    eq("default", eb.describe_event_bus()["Name"])
    eq(["audit", "default", "orders"],
       sorted(b["Name"] for b in eb.list_event_buses()["EventBuses"]))
    eq(["orders"], [b["Name"] for b in eb.list_event_buses(NamePrefix="or")["EventBuses"]])
    page = eb.list_event_buses(Limit=1)
    eq(1, len(page["EventBuses"]))
    rest = eb.list_event_buses(Limit=5, NextToken=page["NextToken"])["EventBuses"]
    eq(2, len(rest))
    eq(("ResourceAlreadyExistsException", "Event bus orders already exists."),
       error_of(eb.create_event_bus, Name="orders"))
    eq(("ResourceNotFoundException", "Event bus nope does not exist."),
       error_of(eb.describe_event_bus, Name="nope"))
    eq("ValidationException", error_of(eb.delete_event_bus, Name="default")[0])
    eb.create_event_bus(Name="gone")
    eb.delete_event_bus(Name="gone")
    eb.delete_event_bus(Name="gone")  # EventBridge: deleting what is not there succeeds
    eq("ResourceNotFoundException", error_of(eb.describe_event_bus, Name="gone")[0])
    eq([{"Key": "team", "Value": "eu"}], eb.list_tags_for_resource(ResourceARN=arn)["Tags"])


def rules():
    eb = client()
    r = eb.put_rule(Name="big", EventBusName="orders", Description="big orders",
                    EventPattern=json.dumps({"detail": {"amount": [{"numeric": [">", 100]}]}}),
                    Tags=[{"Key": "k", "Value": "v"}])
    eq(rule_arn("big", "orders"), r["RuleArn"])
    d = eb.describe_rule(Name="big", EventBusName="orders")
    eq(("big", rule_arn("big", "orders"), "ENABLED", "big orders", "orders", ACCOUNT),
       (d["Name"], d["Arn"], d["State"], d["Description"], d["EventBusName"], d["CreatedBy"]))
    eq({"detail": {"amount": [{"numeric": [">", 100]}]}}, json.loads(d["EventPattern"]))
    eb.put_rule(Name="tick", ScheduleExpression="rate(5 minutes)", State="DISABLED")
    t = eb.describe_rule(Name="tick")
    eq((rule_arn("tick"), "rate(5 minutes)", "DISABLED", "default"),
       (t["Arn"], t["ScheduleExpression"], t["State"], t["EventBusName"]))
    eb.enable_rule(Name="tick")
    eq("ENABLED", eb.describe_rule(Name="tick")["State"])
    eb.disable_rule(Name="big", EventBusName="orders")
    eq("DISABLED", eb.describe_rule(Name="big", EventBusName=bus_arn("orders"))["State"])
    eb.enable_rule(Name="big", EventBusName="orders")
    eb.put_rule(Name="bigger", EventBusName="orders", EventPattern='{"source":["x"]}')
    eq(["big", "bigger"], [x["Name"] for x in
                           eb.list_rules(EventBusName="orders", NamePrefix="big")["Rules"]])
    page = eb.list_rules(EventBusName="orders", Limit=1)
    eq(["big"], [x["Name"] for x in page["Rules"]])
    eq(["bigger"], [x["Name"] for x in eb.list_rules(EventBusName="orders", Limit=1,
                                                     NextToken=page["NextToken"])["Rules"]])
    code, msg = error_of(eb.put_rule, Name="bad", EventPattern='{"source":"x"}')
    eq("InvalidEventPatternException", code)
    assert msg.startswith("Event pattern is not valid."), msg
    eq(("ValidationException", "Parameter ScheduleExpression is not valid."),
       error_of(eb.put_rule, Name="bad", ScheduleExpression="rate(1 minutes)"))
    eq("ValidationException", error_of(eb.put_rule, Name="bad", EventBusName="orders",
                                       ScheduleExpression="rate(5 minutes)")[0])
    eq(("ResourceNotFoundException", "Rule nope does not exist on EventBus orders."),
       error_of(eb.describe_rule, Name="nope", EventBusName="orders"))
    eq(("ResourceNotFoundException", "Event bus nope does not exist."),
       error_of(eb.put_rule, Name="x", EventBusName="nope", EventPattern="{}"))
    eb.delete_rule(Name="bigger", EventBusName="orders")
    eb.delete_rule(Name="bigger", EventBusName="orders")  # gone already: success
    eq([{"Key": "k", "Value": "v"}],
       eb.list_tags_for_resource(ResourceARN=rule_arn("big", "orders"))["Tags"])
    eb.tag_resource(ResourceARN=rule_arn("big", "orders"), Tags=[{"Key": "a", "Value": "1"}])
    eb.untag_resource(ResourceARN=rule_arn("big", "orders"), TagKeys=["k"])
    eq([{"Key": "a", "Value": "1"}],
       eb.list_tags_for_resource(ResourceARN=rule_arn("big", "orders"))["Tags"])
    eq("ResourceNotFoundException",
       error_of(eb.list_tags_for_resource, ResourceARN=rule_arn("nope"))[0])


TRANSFORMER = {"InputPathsMap": {"src": "$.source", "amount": "$.detail.amount",
                                 "first": "$.resources[0]"},
               "InputTemplate": '{"from": <src>, "amount": <amount>, "r": "<first>", '
                                '"rule": "<aws.events.rule-name>"}'}


def targets_and_transformers():
    eb, sqs = client(), client("sqs")
    for q in ("raw", "const", "path", "xform", "strtpl"):
        sqs.create_queue(QueueName=q)
    r = eb.put_targets(Rule="big", EventBusName="orders", Targets=[
        {"Id": "raw", "Arn": queue_arn("raw")},
        {"Id": "const", "Arn": queue_arn("const"), "Input": '{"fixed": [1, 2]}'},
        {"Id": "path", "Arn": queue_arn("path"), "InputPath": "$.detail"},
        {"Id": "xform", "Arn": queue_arn("xform"), "InputTransformer": TRANSFORMER},
        {"Id": "strtpl", "Arn": queue_arn("strtpl"),
         "InputTransformer": {"InputPathsMap": {"a": "$.detail.amount"},
                              "InputTemplate": '"amount <a> on <aws.events.rule-arn>"'}}])
    eq((0, []), (r["FailedEntryCount"], r["FailedEntries"]))
    listed = eb.list_targets_by_rule(Rule="big", EventBusName="orders")["Targets"]
    eq(["raw", "const", "path", "xform", "strtpl"], [t["Id"] for t in listed])
    eq(queue_arn("path"), listed[2]["Arn"])
    eq("$.detail", listed[2]["InputPath"])
    eq(TRANSFORMER, listed[3]["InputTransformer"])
    eq({"MaximumRetryAttempts": 185, "MaximumEventAgeInSeconds": 86400}, listed[0]["RetryPolicy"])
    eq(["big"], eb.list_rule_names_by_target(TargetArn=queue_arn("xform"),
                                             EventBusName="orders")["RuleNames"])
    put = eb.put_events(Entries=[
        {"Source": "shop", "DetailType": "Order", "Detail": json.dumps({"amount": 250}),
         "Resources": ["arn:r0"], "EventBusName": "orders"},
        {"Source": "shop", "DetailType": "Order", "Detail": json.dumps({"amount": 5}),
         "EventBusName": "orders"}])
    eq(0, put["FailedEntryCount"])
    event_id = put["Entries"][0]["EventId"]
    raw = receive("raw", 1)
    eq(1, len(raw), "one event matched")
    ev = json.loads(raw[0]["Body"])
    eq(("0", event_id, "Order", "shop", ACCOUNT, REGION, ["arn:r0"], {"amount": 250}),
       (ev["version"], ev["id"], ev["detail-type"], ev["source"], ev["account"], ev["region"],
        ev["resources"], ev["detail"]))
    eq(["version", "id", "detail-type", "source", "account", "time", "region", "resources",
        "detail"], list(ev))
    eq(['{"fixed":[1,2]}'], [m["Body"] for m in receive("const", 1)])
    eq(['{"amount":250}'], [m["Body"] for m in receive("path", 1)])
    eq(['{"from":"shop","amount":250,"r":"arn:r0","rule":"big"}'],
       [m["Body"] for m in receive("xform", 1)])
    eq(['"amount 250 on %s"' % rule_arn("big", "orders")],
       [m["Body"] for m in receive("strtpl", 1)])
    eq([], receive("raw", 1, timeout=0.3), "the small order matched nothing")


def fifo_queue_target():
    eb, sqs = client(), client("sqs")
    url = sqs.create_queue(QueueName="orders.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    eb.put_rule(Name="fifo", EventPattern='{"source":["fifo"]}')
    eq(("ValidationException", "Parameter(s) SqsParameters must be specified for target: f."),
       error_of(eb.put_targets, Rule="fifo", Targets=[{"Id": "f", "Arn": queue_arn("orders.fifo")}]))
    eb.put_targets(Rule="fifo", Targets=[{"Id": "f", "Arn": queue_arn("orders.fifo"),
                                          "SqsParameters": {"MessageGroupId": "g1"}}])
    eq({"MessageGroupId": "g1"},
       eb.list_targets_by_rule(Rule="fifo")["Targets"][0]["SqsParameters"])
    # EventBridge's dead-letter queues are standard queues
    eq(("ValidationException", "SQS FIFO is not supported by Dead Letter Queues."),
       error_of(eb.put_targets, Rule="fifo", Targets=[{
           "Id": "d", "Arn": queue_arn("orders.fifo"), "SqsParameters": {"MessageGroupId": "g"},
           "DeadLetterConfig": {"Arn": queue_arn("orders.fifo")}}]))
    ids = [eb.put_events(Entries=[{"Source": "fifo", "DetailType": "T",
                                   "Detail": json.dumps({"n": i})}])["Entries"][0]["EventId"]
           for i in range(3)]
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"])
    msgs = got.get("Messages", [])
    eq([0, 1, 2], [json.loads(m["Body"])["detail"]["n"] for m in msgs], "in order")
    eq(["g1"] * 3, [m["Attributes"]["MessageGroupId"] for m in msgs])
    eq(ids, [m["Attributes"]["MessageDeduplicationId"] for m in msgs],
       "the event id is the deduplication id")
    eb.remove_targets(Rule="fifo", Ids=["f"])
    eb.delete_rule(Name="fifo")


def fifo_topic_target():
    """EventBridge to a FIFO SNS topic: PutTargets wants SqsParameters for it (boto3 and
    aws), and each event is published in the target's group with its event id as
    deduplication id (the topic has no content-based deduplication), so both FIFO
    queue subscriptions get every event once, in order."""
    eb, sqs, sns = client(), client("sqs"), client("sns")
    aws = aws_events(H)
    topic = sns.create_topic(Name="orders.fifo", Attributes={"FifoTopic": "true"})["TopicArn"]
    for q in ("tf1.fifo", "tf2.fifo"):
        sqs.create_queue(QueueName=q, Attributes={"FifoQueue": "true"})
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn(q),
                      Attributes={"RawMessageDelivery": "true"})
    eb.put_rule(Name="tfifo", EventPattern='{"source":["tfifo"]}')
    missing = "Parameter(s) SqsParameters must be specified for target: t."
    eq(("ValidationException", missing),
       error_of(eb.put_targets, Rule="tfifo", Targets=[{"Id": "t", "Arn": topic}]))
    err = aws("put-targets", "--rule", "tfifo", "--targets",
              json.dumps([{"Id": "t", "Arn": topic}]), ok=False)
    assert "ValidationException" in err and missing in err, err
    std = sns.create_topic(Name="standard")["TopicArn"]
    code, msg = error_of(eb.put_targets, Rule="tfifo", Targets=[
        {"Id": "s", "Arn": std, "SqsParameters": {"MessageGroupId": "g"}}])
    eq("ValidationException", code)
    assert "is for FIFO queue and FIFO topic targets only" in msg, msg
    eq(0, aws("put-targets", "--rule", "tfifo", "--targets", json.dumps(
        [{"Id": "t", "Arn": topic, "SqsParameters": {"MessageGroupId": "orders"}}]))
       ["FailedEntryCount"])
    eq([{"Id": "t", "Arn": topic, "SqsParameters": {"MessageGroupId": "orders"}}],
       [{k: t[k] for k in ("Id", "Arn", "SqsParameters")}
        for t in eb.list_targets_by_rule(Rule="tfifo")["Targets"]])
    ids = []
    for first in (0, 5):
        r = eb.put_events(Entries=[{"Source": "tfifo", "DetailType": "T",
                                    "Detail": json.dumps({"n": n})}
                                   for n in range(first, first + 5)])
        eq(0, r["FailedEntryCount"])
        ids += [e["EventId"] for e in r["Entries"]]
    for q in ("tf1.fifo", "tf2.fifo"):
        url, msgs = H.queue_url(q), []
        while True:
            got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10,
                                      AttributeNames=["All"]).get("Messages", [])
            if not got:
                break
            msgs += got
            for m in got:
                sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
        eq(list(range(10)), [json.loads(m["Body"])["detail"]["n"] for m in msgs],
           q + ": every event once, in order")
        eq(["orders"] * 10, [m["Attributes"]["MessageGroupId"] for m in msgs], q)
        eq(ids, [m["Attributes"]["MessageDeduplicationId"] for m in msgs],
           q + ": the event id is the deduplication id")
    aws("remove-targets", "--rule", "tfifo", "--ids", "t")
    eb.delete_rule(Name="tfifo")


def put_events_errors():
    eb = client()
    r = eb.put_events(Entries=[
        {"Source": "s", "DetailType": "T", "Detail": "{}"},
        {"Source": "s", "Detail": "{}"},
        {"Source": "s", "DetailType": "T", "Detail": "[1]"},
        {"Source": "aws.ec2", "DetailType": "T", "Detail": "{}"},
        {"Source": "s", "DetailType": "T", "Detail": "{}", "EventBusName": "nope"}])
    eq(4, r["FailedEntryCount"])
    e = r["Entries"]
    assert "EventId" in e[0] and len(e[0]["EventId"]) == 36, e[0]
    eq(("InvalidArgument",
        "Parameter DetailType is not valid. Reason: DetailType is a required argument."),
       (e[1]["ErrorCode"], e[1]["ErrorMessage"]))
    eq("MalformedDetail", e[2]["ErrorCode"])
    eq("NotAuthorizedForSourceException", e[3]["ErrorCode"])
    eq(("ResourceNotFoundException", "Event bus nope does not exist."),
       (e[4]["ErrorCode"], e[4]["ErrorMessage"]))
    code, msg = error_of(eb.put_events, Entries=[
        {"Source": "s", "DetailType": "T", "Detail": "{}"}] * 11)
    eq("ValidationException", code)
    assert "less than or equal to 10" in msg, msg


def bus_to_bus():
    eb, sqs = client(), client("sqs")
    sqs.create_queue(QueueName="audit-all")
    eb.put_rule(Name="to-audit", EventBusName="orders", EventPattern='{"source":["shop"]}')
    eb.put_targets(Rule="to-audit", EventBusName="orders",
                   Targets=[{"Id": "bus", "Arn": bus_arn("audit")}])
    eb.put_rule(Name="all", EventBusName="audit", EventPattern='{"source":["shop"]}')
    eb.put_targets(Rule="all", EventBusName="audit", Targets=[
        {"Id": "q", "Arn": queue_arn("audit-all")},
        {"Id": "back", "Arn": bus_arn("orders")}])  # a loop EventBridge does not follow
    r = eb.put_events(Entries=[{"Source": "shop", "DetailType": "Ping", "Detail": '{"n":1}',
                                "EventBusName": bus_arn("orders")}])
    got = receive("audit-all", 1)
    eq(1, len(got))
    eq(r["Entries"][0]["EventId"], json.loads(got[0]["Body"])["id"])
    eq([], receive("audit-all", 1, timeout=0.5), "no second copy around the loop")
    for rule, bus, ids in (("to-audit", "orders", ["bus"]), ("all", "audit", ["q", "back"])):
        eb.remove_targets(Rule=rule, EventBusName=bus, Ids=ids)
        eb.delete_rule(Name=rule, EventBusName=bus)


def test_event_pattern():
    eb = client()
    event = json.dumps({"id": "1", "account": ACCOUNT, "source": "shop", "time":
                        "2026-01-01T00:00:00Z", "region": REGION, "resources": [],
                        "detail-type": "Order", "detail": {"amount": 101}})
    eq(True, eb.test_event_pattern(
        EventPattern='{"detail":{"amount":[{"numeric":[">",100]}]}}', Event=event)["Result"])
    eq(False, eb.test_event_pattern(EventPattern='{"source":["other"]}', Event=event)["Result"])
    eq("InvalidEventPatternException",
       error_of(eb.test_event_pattern, EventPattern='{"source":"x"}', Event=event)[0])
    eq(("ValidationException", "Parameter Event is not valid."),
       error_of(eb.test_event_pattern, EventPattern="{}", Event='{"source":"x"}'))


def target_errors():
    eb = client()
    eb.put_rule(Name="many", EventPattern='{"source":["m"]}')
    code, _ = error_of(eb.put_targets, Rule="many", Targets=[
        {"Id": "t%d" % i, "Arn": queue_arn("q%d" % i)} for i in range(6)])
    eq("LimitExceededException", code)
    eq(("ResourceNotFoundException", "Rule nope does not exist on EventBus default."),
       error_of(eb.put_targets, Rule="nope", Targets=[{"Id": "a", "Arn": queue_arn("q")}]))
    eq(("ValidationException", "InputTemplate for target t contains invalid placeholder b."),
       error_of(eb.put_targets, Rule="many", Targets=[
           {"Id": "t", "Arn": queue_arn("q"),
            "InputTransformer": {"InputPathsMap": {"a": "$.x"}, "InputTemplate": "<b>"}}]))
    eq("ValidationException", error_of(eb.put_targets, Rule="many", Targets=[
        {"Id": "t", "Arn": queue_arn("q"), "Input": "{", }])[0])
    eq("ValidationException", error_of(eb.put_targets, Rule="many", Targets=[
        {"Id": "t", "Arn": queue_arn("q"), "RetryPolicy": {"MaximumRetryAttempts": 186}}])[0])
    # per entry: what this bpfbusd cannot deliver to; the others are put (a
    # topic target too: the daemon serves topics, and one need not exist yet)
    r = eb.put_targets(Rule="many", Targets=[
        {"Id": "ok", "Arn": queue_arn("q")},
        {"Id": "lambda", "Arn": "arn:aws:lambda:%s:%s:function:f" % (REGION, ACCOUNT)},
        {"Id": "topic", "Arn": "arn:aws:sns:%s:%s:alerts" % (REGION, ACCOUNT)}])
    eq(1, r["FailedEntryCount"])
    eq(["lambda"], [f["TargetId"] for f in r["FailedEntries"]])
    eq(["ok", "topic"], [t["Id"] for t in eb.list_targets_by_rule(Rule="many")["Targets"]])
    eq("ValidationException", error_of(eb.delete_rule, Name="many")[0])
    eq(0, eb.remove_targets(Rule="many", Ids=["ok", "topic", "never"])["FailedEntryCount"])
    eb.delete_rule(Name="many")


class Recorder(http.server.BaseHTTPRequestHandler):
    posts = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Recorder.posts.append((self.headers["Content-Type"], body.decode()))
        self.send_response(204 if "ok" in self.path else 500)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *a):
        pass


def http_and_udp_targets():
    eb, sqs = client(), client("sqs")
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("127.0.0.1", 0))
    udp.settimeout(5)
    try:
        base = "http://127.0.0.1:%d" % srv.server_address[1]
        sqs.create_queue(QueueName="hooks-dlq")
        eb.put_rule(Name="hooks", EventPattern='{"source":["hook"]}')
        eq(0, eb.put_targets(Rule="hooks", Targets=[
            {"Id": "ok", "Arn": base + "/ok", "InputPath": "$.detail"},
            {"Id": "fails", "Arn": base + "/fail",
             "DeadLetterConfig": {"Arn": queue_arn("hooks-dlq")},
             # a 5xx is retried: with no retries allowed, dead-lettered at once
             "RetryPolicy": {"MaximumRetryAttempts": 0}},
            {"Id": "udp", "Arn": "udp://127.0.0.1:%d" % udp.getsockname()[1],
             "Input": '{"via":"udp"}'}])["FailedEntryCount"])
        eb.put_events(Entries=[{"Source": "hook", "DetailType": "T", "Detail": '{"k":"v"}'}])
        dgram, _ = udp.recvfrom(65536)
        hdr_len, name_len = struct.unpack_from(">HH", dgram, 8)
        body_len, = struct.unpack_from(">I", dgram, 16)
        eq(b"default", dgram[hdr_len:hdr_len + name_len])
        eq(b'{"via":"udp"}', dgram[len(dgram) - body_len:])
        dead = receive("hooks-dlq", 1)
        eq(1, len(dead))
        a = {k: v["StringValue"] for k, v in dead[0]["MessageAttributes"].items()}
        eq(("SDK_CLIENT_ERROR", rule_arn("hooks"), base + "/fail"),
           (a["ERROR_CODE"], a["RULE_ARN"], a["TARGET_ARN"]))
        assert "answered HTTP 500" in a["ERROR_MESSAGE"], a
        eq(("MaximumRetryAttempts", "0"), (a["EXHAUSTED_RETRY_CONDITION"], a["RETRY_ATTEMPTS"]))
        eq("hook", json.loads(dead[0]["Body"])["source"])
        ok = [p for p in Recorder.posts if p[1] == '{"k":"v"}']
        eq([("application/json; charset=utf-8", '{"k":"v"}')], ok)
        eb.remove_targets(Rule="hooks", Ids=["ok", "fails", "udp"])
        eb.delete_rule(Name="hooks")
    finally:
        srv.shutdown()
        udp.close()


def aws_cli():
    aws = aws_events(H)
    client("sqs").create_queue(QueueName="cli-q")
    eq(rule_arn("cli"), aws("put-rule", "--name", "cli", "--event-pattern",
                            '{"source":["cli"]}')["RuleArn"])
    eq(0, aws("put-targets", "--rule", "cli", "--targets",
              json.dumps([{"Id": "q", "Arn": queue_arn("cli-q"),
                           "InputTransformer": {"InputPathsMap": {"d": "$.detail.n"},
                                                "InputTemplate": '{"n": <d>}'}}]))
       ["FailedEntryCount"])
    r = aws("put-events", "--entries", json.dumps([{"Source": "cli", "DetailType": "T",
                                                    "Detail": '{"n": 7}'}]))
    eq(0, r["FailedEntryCount"])
    eq(['{"n":7}'], [m["Body"] for m in receive("cli-q", 1)])
    eq(["cli"], [x["Name"] for x in aws("list-rules", "--name-prefix", "cl")["Rules"]])
    eq(True, aws("test-event-pattern", "--event-pattern", '{"source":["cli"]}', "--event",
                 json.dumps({"id": "1", "account": ACCOUNT, "source": "cli", "time":
                             "2026-01-01T00:00:00Z", "region": REGION, "resources": [],
                             "detail-type": "T", "detail": {}}))["Result"])
    err = aws("describe-rule", "--name", "nope", ok=False)
    assert "ResourceNotFoundException" in err, err
    aws("remove-targets", "--rule", "cli", "--ids", "q")
    aws("delete-rule", "--name", "cli")


def authentication():
    eq("SignatureDoesNotMatch", error_of(client(secret="wrong").list_rules)[0])


def raw_requests():
    """Requests botocore would not send, signed by the test: an unknown action, a body
    that is no JSON object, a member of the wrong type."""
    def call(action, body):
        url, headers, data = signed(H, body, service="events", headers={
            "X-Amz-Target": "AWSEvents." + action,
            "Content-Type": "application/x-amz-json-1.1"})
        status, h, text = send(url, headers, data)
        return status, h["Content-Type"], json.loads(text)

    eq((400, "application/x-amz-json-1.1",
        {"__type": "UnknownOperationException",
         "message": "The operation NoSuchAction is not handled by this endpoint."}),
       call("NoSuchAction", "{}"))
    status, _, err = call("ListRules", "[1]")
    eq((400, "SerializationException"), (status, err["__type"]))
    status, _, err = call("DescribeRule", '{"Name": 5}')
    eq((400, "SerializationException", "Name must be a string, not number"),
       (status, err["__type"], err["message"]))
    status, _, err = call("ListRules", '{"Limit": 101}')
    eq((400, "ValidationException"), (status, err["__type"]))


NAMES = ["buses", "rules", "targets_and_transformers", "fifo_queue_target", "fifo_topic_target",
         "put_events_errors", "bus_to_bus",
         "test_event_pattern", "target_errors", "http_and_udp_targets", "aws_cli",
         "authentication", "raw_requests", "host_exits_cleanly"]


if __name__ == "__main__":
    run_host_tests(NAMES, globals())
