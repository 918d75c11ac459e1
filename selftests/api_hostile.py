#!/usr/bin/python3
# SPDX-License-Identifier: BSD-2-Clause
"""Hostile requests against every protocol of bpfbusd's listener (SNS query,
EventBridge JSON 1.1, SQS JSON 1.0): deep JSON, malformed JSON and form data,
too many parameters, bodies over the limit (announced and chunked), stalled
and trickling clients. Each gets its clear error (or its connection closed)
and the daemon goes on answering: after each case a real client (boto3 or
/usr/bin/aws) is served. Requests are signed by the test with botocore's
SigV4 signer. (No endpoint parses XML from clients: SNS and SQS take form
data, EventBridge and SQS JSON take JSON.)"""

import json
import os
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "api"))
from apihost import KEY, REGION, SECRET, boto3_client, eq, run_suite, send, signed

H = None
FORM = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}


def still_serving():
    """The daemon answers real clients: boto3 and /usr/bin/aws."""
    eq([], boto3_client(H, service="sns").list_subscriptions()["Subscriptions"])
    env = dict(os.environ, AWS_ACCESS_KEY_ID=KEY, AWS_SECRET_ACCESS_KEY=SECRET,
               AWS_DEFAULT_REGION=REGION, AWS_CONFIG_FILE="/dev/null",
               AWS_SHARED_CREDENTIALS_FILE="/dev/null", AWS_PAGER="")
    p = subprocess.run(["/usr/bin/aws", "--endpoint-url", H.url, "--output", "json", "events",
                        "list-event-buses"], env=env, capture_output=True, text=True,
                       timeout=60)
    eq(0, p.returncode, p.stderr)
    eq("default", json.loads(p.stdout)["EventBuses"][0]["Name"])


def events(action, body):
    url, headers, data = signed(H, body, {"X-Amz-Target": "AWSEvents." + action,
                                          "Content-Type": "application/x-amz-json-1.1"},
                                service="events")
    status, _, text = send(url, headers, data)
    return status, json.loads(text)


def sns(body):
    url, headers, data = signed(H, body, dict(FORM), service="sns")
    return send(url, headers, data)


def deep_json():
    deep = "[" * 5000 + "]" * 5000
    status, err = events("ListRules", '{"NamePrefix": %s}' % deep)
    eq((400, "SerializationException"), (status, err["__type"]))
    if "nesting depth" not in err["message"]:
        raise AssertionError(err)
    # a pattern nested past what patterns allow, inside a well-formed request
    pattern = '{"a":' * 3000 + '["x"]' + "}" * 3000
    status, err = events("PutRule", json.dumps({"Name": "deep", "EventPattern": pattern}))
    eq((400, "InvalidEventPatternException"), (status, err["__type"]))
    # an event whose detail nests deeper than JSON may here
    detail = "[" * 5000 + "]" * 5000
    status, r = events("PutEvents", json.dumps({"Entries": [
        {"Source": "s", "DetailType": "t", "Detail": detail}]}))
    eq(200, status, r)
    eq(1, r["FailedEntryCount"])
    eq("MalformedDetail", r["Entries"][0]["ErrorCode"])
    still_serving()


def malformed_json():
    for body in ('{"Name": "x"', '{"Name": "\\ud800 \\x"}', '{"Name" "x"}', "\x00\x01",
                 '{"Name": "x"} trailing'):
        status, err = events("DescribeEventBus", body)
        eq((400, "SerializationException"), (status, err["__type"]), repr(body))
    still_serving()


def malformed_form_data():
    status, _, text = sns("Action=ListTopics&Version=2010-03-31&NextToken=%zz")
    eq(400, status, text)
    if "<Code>MalformedQueryString</Code>" not in text or "NextToken" not in text:
        raise AssertionError(text)
    status, _, text = sns("Action=ListTopics&Version=2010-03-31&" +
                          "&".join("P%d=v" % i for i in range(5000)))
    eq(400, status, text)
    if "<Code>MalformedQueryString</Code>" not in text or "4096 parameters" not in text:
        raise AssertionError(text)
    # a parameter without a name, one without a value: unknown ones, ignored as SNS does
    status, _, text = sns("Action=ListTopics&Version=2010-03-31&=x&Empty")
    eq(200, status, text)
    if "<ListTopicsResponse" not in text:
        raise AssertionError(text)
    still_serving()


def raw(payload, wait_for=b"\r\n\r\n", timeout=10):
    """Send @payload on a fresh connection; what comes back until @wait_for,
    or the connection closes."""
    s = socket.create_connection(("127.0.0.1", H.port))
    s.settimeout(timeout)
    s.sendall(payload)
    answer = b""
    try:
        while wait_for not in answer:
            chunk = s.recv(4096)
            if not chunk:
                break
            answer += chunk
        if wait_for in answer and b"Content-Length: " in answer:
            n = int(answer.split(b"Content-Length: ")[1].split(b"\r\n")[0])
            while len(answer.split(b"\r\n\r\n", 1)[1]) < n:
                answer += s.recv(4096)
    except ConnectionResetError:
        pass
    finally:
        s.close()
    return answer


def huge_bodies():
    # announced: refused before it is read, in the JSON protocol's own format
    answer = raw(b"POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: AWSEvents.PutEvents\r\n"
                 b"Content-Type: application/x-amz-json-1.1\r\n"
                 b"Content-Length: %d\r\n\r\n" % (64 << 20))
    head, _, body = answer.partition(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 413"):
        raise AssertionError(answer)
    err = json.loads(body)
    eq("RequestEntityTooLarge", err["__type"])
    if "larger than the limit of 4194304 bytes" not in err["message"]:
        raise AssertionError(err)
    answer = raw(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded"
                 b"\r\nContent-Length: %d\r\n\r\n" % (5 << 20))
    if not answer.startswith(b"HTTP/1.1 413") or b"<Code>RequestEntityTooLarge</Code>" not in answer:
        raise AssertionError(answer)
    # chunked, with no length to refuse: the connection is closed once it passes the limit
    s = socket.create_connection(("127.0.0.1", H.port))
    s.settimeout(10)
    s.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: AWSEvents.PutEvents\r\n"
              b"Transfer-Encoding: chunked\r\n\r\n")
    chunk = b"x" * 65536
    sent, closed = 0, False
    try:
        while sent < (16 << 20):
            s.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            sent += len(chunk)
    except (BrokenPipeError, ConnectionResetError):
        closed = True
    if not closed:
        try:
            closed = s.recv(4096) in (b"",)
        except ConnectionResetError:
            closed = True
    s.close()
    if not closed or sent > (8 << 20):
        raise AssertionError("a chunked body of %d bytes was taken" % sent)
    still_serving()


def slow_clients():
    # The fixture closes connections idle for 2 s (--http-timeout 2).
    t0 = time.monotonic()
    answer = raw(b"POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: AWSEvents.ListRules\r\n"
                 b"Content-Length: 100\r\n\r\n{\"Na", timeout=15)
    took = time.monotonic() - t0
    eq(b"", answer, "a body stalled half-way: closed without an answer")
    if took > 8:
        raise AssertionError("a stalled body held its connection %.1f s" % took)
    # a client trickling its headers holds its own connection only: others are served
    stop = threading.Event()

    def trickle():
        s = socket.create_connection(("127.0.0.1", H.port))
        try:
            for c in b"POST / HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"y" * 200:
                if stop.is_set():
                    break
                s.sendall(bytes([c]))
                time.sleep(0.05)
        except OSError:
            pass
        finally:
            s.close()

    threads = [threading.Thread(target=trickle) for _ in range(20)]
    for t in threads:
        t.start()
    try:
        t0 = time.monotonic()
        still_serving()
        if time.monotonic() - t0 > 10:
            raise AssertionError("20 trickling clients slowed the others down")
    finally:
        stop.set()
        for t in threads:
            t.join()
    still_serving()


NAMES = ["deep_json", "malformed_json", "malformed_form_data", "huge_bodies", "slow_clients",
         "host_exits_cleanly"]

if __name__ == "__main__":
    run_suite(NAMES, globals(), "--http-timeout", "2")
