#!/usr/bin/python3
# SPDX-License-Identifier: BSD-2-Clause
"""Actions no dispatcher has, against bpfbusd's listener, with requests the
test signs itself (botocore's SigV4 signer): each protocol answers with the
error AWS gives (SQS query and SNS: InvalidAction; SQS JSON 1.0 and
EventBridge JSON 1.1: UnknownOperationException), after the signature is
verified and before the key's patterns are looked at, and the daemon goes on
serving."""

import json
import os
import re
import sys
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "api"))
from apihost import (READER, READER_SECRET, eq, parse_metrics, metric, run_suite, send,
                     signed)

H = None
FORM = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}


def query(body, service="sqs", **kw):
    url, headers, data = signed(H, body, dict(FORM), service=service, **kw)
    return send(url, headers, data)


def json_target(target, service, content_type, query_mode=False, **kw):
    headers = {"X-Amz-Target": target, "Content-Type": content_type}
    if query_mode:
        headers["x-amzn-query-mode"] = "true"
    url, headers, data = signed(H, "{}", headers, service=service, **kw)
    return send(url, headers, data)


def xml_error(text):
    """(Type, Code, Message) of an <ErrorResponse>."""
    m = re.search(r"<Error><Type>(\w+)</Type><Code>(\w+)</Code><Message>([^<]*)</Message>",
                  text)
    if not m:
        raise AssertionError("not an ErrorResponse: %r" % text)
    return m.groups()


def sqs_query():
    status, h, text = query("Action=Frobnicate&Version=2012-11-05")
    eq(400, status, text)
    eq("text/xml", h["Content-Type"])
    eq(("Sender", "InvalidAction", "The action Frobnicate is not valid for this endpoint."),
       xml_error(text))
    # without a Version, an action nobody knows is still SQS's to refuse
    status, _, text = query("Action=Frobnicate")
    eq((400, "InvalidAction"), (status, xml_error(text)[1]))


def sqs_json():
    status, h, text = json_target("AmazonSQS.Frobnicate", "sqs", "application/x-amz-json-1.0",
                                  query_mode=True)
    eq(400, status, text)
    eq("application/x-amz-json-1.0", h["Content-Type"])
    eq({"__type": "com.amazonaws.sqs#UnknownOperationException",
        "message": "The action Frobnicate is not valid for this endpoint."}, json.loads(text))
    eq("InvalidAction;Sender", h["x-amzn-query-error"])
    status, h, text = json_target("AmazonSQS.Frobnicate", "sqs", "application/x-amz-json-1.0")
    eq(400, status, text)
    eq(None, h.get("x-amzn-query-error"), "x-amzn-query-error without query mode")


def sns_query():
    status, h, text = query("Action=Frobnicate&Version=2010-03-31", service="sns")
    eq(400, status, text)
    eq("text/xml", h["Content-Type"])
    eq(("Sender", "InvalidAction", "The action Frobnicate is not valid for this endpoint."),
       xml_error(text))


def events_json():
    status, h, text = json_target("AWSEvents.Frobnicate", "events",
                                  "application/x-amz-json-1.1")
    eq(400, status, text)
    eq("application/x-amz-json-1.1", h["Content-Type"])
    eq({"__type": "UnknownOperationException",
        "message": "The operation Frobnicate is not handled by this endpoint."},
       json.loads(text))
    # a target prefix no service has
    status, _, text = json_target("AmazonKinesis.PutRecord", "kinesis",
                                  "application/x-amz-json-1.1")
    eq((400, "UnknownOperationException"), (status, json.loads(text)["__type"]))


def before_the_keys_patterns():
    """A key limited to sqs:ReceiveMessage and sqs:Get* gets the unknown-action
    error, not AccessDenied: the action is checked before the patterns."""
    kw = {"key": READER, "secret": READER_SECRET}
    status, _, text = query("Action=Frobnicate&Version=2012-11-05", **kw)
    eq((400, "InvalidAction"), (status, xml_error(text)[1]))
    status, _, text = json_target("AWSEvents.Frobnicate", "events",
                                  "application/x-amz-json-1.1", **kw)
    eq((400, "UnknownOperationException"), (status, json.loads(text)["__type"]))
    status, _, text = query("Action=Frobnicate&Version=2010-03-31", service="sns", **kw)
    eq((400, "InvalidAction"), (status, xml_error(text)[1]))
    # while a known action outside its patterns is refused as before
    status, _, text = json_target("AWSEvents.ListRules", "events",
                                  "application/x-amz-json-1.1", **kw)
    eq((403, "AccessDenied"), (status, json.loads(text)["__type"]))


def after_the_signature():
    """Strangers learn nothing: an unknown action must be signed like any other."""
    status, _, text = send(H.url, dict(FORM), "Action=Frobnicate&Version=2012-11-05")
    eq((403, "MissingAuthenticationToken"), (status, xml_error(text)[1]))
    status, _, text = json_target("AWSEvents.Frobnicate", "events",
                                  "application/x-amz-json-1.1", secret="wrong")
    eq((403, "SignatureDoesNotMatch"), (status, json.loads(text)["__type"]))


def counted_as_unknown():
    with urllib.request.urlopen(H.url + "/metrics", timeout=30) as r:
        m = parse_metrics(r.read().decode())
    # sqs_query 2, sqs_json 2, sns_query 1, events_json 2, before_the_keys_patterns 3
    eq(10, metric(m, "bpfbus_http_requests_total", action="unknown", status="400"))
    eq(1, metric(m, "bpfbus_http_requests_total", action="ListRules", status="403"))


NAMES = ["sqs_query", "sqs_json", "sns_query", "events_json", "before_the_keys_patterns",
         "after_the_signature", "counted_as_unknown", "host_exits_cleanly"]

if __name__ == "__main__":
    run_suite(NAMES, globals())
