#!/usr/bin/python3
# SPDX-License-Identifier: BSD-2-Clause
"""SigV4 corners against bpfbusd's listener: presigned URLs made by boto3
and botocore's own query signer (SigV4QueryAuth), their expiry, session
tokens (X-Amz-Security-Token) from the credentials file, UNSIGNED-PAYLOAD
over TLS, and canonicalisation: header values with runs of spaces and tabs,
repeated headers, query parameters out of order, encoded and empty."""

import datetime
import http.client
import os
import re
import shutil
import ssl
import sys
import tempfile
import urllib.parse
from unittest import mock

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "api"))
from apihost import (KEY, REGION, SECRET, Host, Skip, boto3_client, eq, error_of,
                     run_suite, self_signed_certificate, send)
from botocore.auth import SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

H = None
TEMP_KEY, TEMP_SECRET, TOKEN = "ASIATEMPORARY", "temp-secret", "FQoGZXIvYXdzE+/session=token"
CREDS = "%s %s\n%s %s session-token=%s\n" % (KEY, SECRET, TEMP_KEY, TEMP_SECRET, TOKEN)


def xml_code(text):
    m = re.search(r"<Code>([^<]+)</Code>", text)
    return m.group(1) if m else text


def get(url, context=None):
    return send(url, {}, None, method="GET", context=context)


def sign_with(auth, req, when=None):
    """@auth signs @req, at @when (a datetime) if given."""
    if when is None:
        auth.add_auth(req)
        return req
    with mock.patch("botocore.auth.datetime") as dt:
        dt.datetime.utcnow.return_value = when
        auth.add_auth(req)
    return req


def presigned(params, expires=60, when=None, key=KEY, secret=SECRET, token=None,
              service="sqs"):
    """A GET of the query-protocol @params presigned by botocore's SigV4QueryAuth."""
    req = AWSRequest(method="GET", url=H.url + "/?" + urllib.parse.urlencode(params))
    auth = SigV4QueryAuth(Credentials(key, secret, token), service, REGION, expires=expires)
    return sign_with(auth, req, when).url


def presigned_urls_from_boto3():
    sqs = boto3_client(H)
    url = sqs.create_queue(QueueName="presigned")["QueueUrl"]
    link = sqs.generate_presigned_url("send_message", ExpiresIn=120, HttpMethod="GET",
                                      Params={"QueueUrl": url, "MessageBody": "by link ~ +/="})
    if "X-Amz-Signature=" not in link or "Authorization" in link:
        raise AssertionError(link)
    status, _, text = get(link)
    eq(200, status, text)
    if "<SendMessageResponse" not in text:
        raise AssertionError(text)
    eq("by link ~ +/=", sqs.receive_message(QueueUrl=url)["Messages"][0]["Body"])
    # without HttpMethod boto3 signs the query protocol's POST, with an empty body
    link = sqs.generate_presigned_url("get_queue_url", ExpiresIn=60,
                                      Params={"QueueName": "presigned"})
    status, _, text = send(link, {}, b"")
    eq(200, status, text)
    if "<QueueUrl>%s</QueueUrl>" % url not in text:
        raise AssertionError(text)
    eq((403, "SignatureDoesNotMatch"), (get(link)[0], xml_code(get(link)[2])), "as a GET")
    sns = boto3_client(H, service="sns")
    sns.create_topic(Name="linked")
    status, _, text = get(sns.generate_presigned_url("list_topics", ExpiresIn=60,
                                                     HttpMethod="GET"))
    eq(200, status, text)
    if ":linked</TopicArn>" not in text:
        raise AssertionError(text)


def presigned_urls_from_botocore():
    status, _, text = get(presigned({"Action": "ListQueues", "Version": "2012-11-05",
                                     "QueueNamePrefix": "pre"}))
    eq(200, status, text)
    if "/presigned</QueueUrl>" not in text:
        raise AssertionError(text)
    # a changed parameter is not what was signed
    link = presigned({"Action": "ListQueues", "Version": "2012-11-05", "QueueNamePrefix": "pre"})
    status, _, text = get(link.replace("QueueNamePrefix=pre", "QueueNamePrefix=pra"))
    eq((403, "SignatureDoesNotMatch"), (status, xml_code(text)))
    # nor a longer life
    status, _, text = get(link.replace("X-Amz-Expires=60", "X-Amz-Expires=600"))
    eq((403, "SignatureDoesNotMatch"), (status, xml_code(text)))
    # nor another secret
    status, _, text = get(presigned({"Action": "ListQueues"}, secret="wrong"))
    eq((403, "SignatureDoesNotMatch"), (status, xml_code(text)))
    status, _, text = get(presigned({"Action": "ListQueues"}, key="AKIDNOBODY"))
    eq((403, "InvalidClientTokenId"), (status, xml_code(text)))
    # nor a POST carrying a body the URL did not sign
    status, _, text = send(presigned({"Action": "ListQueues"}),
                           {"Content-Type": "application/x-www-form-urlencoded"},
                           "Action=DeleteQueue&QueueUrl=presigned")
    eq((403, "SignatureDoesNotMatch"), (status, xml_code(text)))


def presigned_expiry():
    now = datetime.datetime.utcnow()
    link = presigned({"Action": "ListQueues"}, expires=300,
                     when=now - datetime.timedelta(seconds=200))
    eq(200, get(link)[0], "a URL signed 200 s ago for 300 s")
    link = presigned({"Action": "ListQueues"}, expires=60,
                     when=now - datetime.timedelta(seconds=120))
    status, _, text = get(link)
    eq((400, "RequestExpired"), (status, xml_code(text)))
    if "Request has expired" not in text:
        raise AssertionError(text)
    link = presigned({"Action": "ListQueues"}, expires=3600,
                     when=now + datetime.timedelta(minutes=20))
    status, _, text = get(link)
    eq((400, "RequestExpired"), (status, xml_code(text)))
    status, _, text = get(presigned({"Action": "ListQueues"}, expires=604801))
    eq((400, "IncompleteSignature"), (status, xml_code(text)))
    # a presigned URL without X-Amz-Expires
    link = presigned({"Action": "ListQueues"})
    status, _, text = get(re.sub(r"&X-Amz-Expires=\d+", "", link))
    eq((400, "IncompleteSignature"), (status, xml_code(text)))


def session_tokens():
    good = boto3_client(H, key=TEMP_KEY, secret=TEMP_SECRET, aws_session_token=TOKEN)
    url = good.create_queue(QueueName="temporary")["QueueUrl"]
    good.send_message(QueueUrl=url, MessageBody="with a token")
    eq("with a token", good.receive_message(QueueUrl=url)["Messages"][0]["Body"])
    for kw in ({"aws_session_token": TOKEN + "x"}, {}):
        e = error_of(boto3_client(H, key=TEMP_KEY, secret=TEMP_SECRET, **kw).list_queues)
        eq(("InvalidClientTokenId", "The security token included in the request is invalid."),
           (e.response["Error"]["Code"], e.response["Error"]["Message"]))
    # a key without a token takes none
    e = error_of(boto3_client(H, aws_session_token=TOKEN).list_queues)
    eq("InvalidClientTokenId", e.response["Error"]["Code"])
    # in a presigned URL the token is a signed query parameter
    status, _, text = get(presigned({"Action": "ListQueues"}, key=TEMP_KEY, secret=TEMP_SECRET,
                                    token=TOKEN))
    eq(200, status, text)
    status, _, text = get(presigned({"Action": "ListQueues"}, key=TEMP_KEY, secret=TEMP_SECRET,
                                    token="other"))
    eq((403, "InvalidClientTokenId"), (status, xml_code(text)))


def raw_request(method, target, headers, body=b"", host=None, context=None):
    """(status, body) of a request sent exactly so: @headers a list of (name, value)
    pairs, repeated names allowed."""
    host = host or H
    conn = (http.client.HTTPSConnection("127.0.0.1", host.port, context=context, timeout=30)
            if context else http.client.HTTPConnection("127.0.0.1", host.port, timeout=30))
    try:
        conn.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
        for name, value in headers:
            conn.putheader(name, value)
        conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body)
        r = conn.getresponse()
        return r.status, r.read().decode()
    finally:
        conn.close()


def signed_raw(method, target, headers, body=b"", host=None, context=None, service="sqs",
               payload_signing=True, send_target=None):
    """Sign @headers (pairs; repeated names allowed) with botocore's SigV4Auth
    and send them as they are (to @send_target instead of @target if given)."""
    host = host or H
    req = AWSRequest(method=method, url=host.url + target, data=body)
    req.headers["Host"] = "127.0.0.1:%d" % host.port
    for name, value in headers:
        req.headers[name] = value  # HTTPHeaders keeps repeated names
    req.context["payload_signing_enabled"] = payload_signing
    SigV4Auth(Credentials(KEY, SECRET), service, REGION).add_auth(req)
    pairs = [(n, v) for n, v in headers]
    pairs += [("Host", req.headers["Host"]), ("X-Amz-Date", req.headers["X-Amz-Date"]),
              ("Authorization", req.headers["Authorization"])]
    return raw_request(method, send_target or target, pairs, body, host, context)


FORM = ("Content-Type", "application/x-www-form-urlencoded")


def header_values_folded():
    """Runs of spaces and tabs inside a signed header's value count as one
    space, outer ones not at all (botocore signs them so)."""
    status, text = signed_raw("POST", "/", [FORM, ("X-Amz-Meta-Note", "a   b\t\tc  d")],
                              b"Action=ListQueues")
    eq(200, status, text)
    status, text = signed_raw("POST", "/", [FORM, ("X-Amz-Meta-Note", "  padded  ")],
                              b"Action=ListQueues")
    eq(200, status, text)


def repeated_headers():
    """A signed header sent twice is signed as its values joined by commas, in order."""
    status, text = signed_raw("POST", "/", [FORM, ("X-Amz-Meta-Twice", "one"),
                                            ("X-Amz-Meta-Twice", "two")], b"Action=ListQueues")
    eq(200, status, text)
    # the same values in the other order are another request
    req = AWSRequest(method="POST", url=H.url + "/", data=b"Action=ListQueues")
    req.headers["Host"] = "127.0.0.1:%d" % H.port
    for name, value in (FORM, ("X-Amz-Meta-Twice", "one"), ("X-Amz-Meta-Twice", "two")):
        req.headers[name] = value
    SigV4Auth(Credentials(KEY, SECRET), "sqs", REGION).add_auth(req)
    status, text = raw_request("POST", "/", [
        FORM, ("X-Amz-Meta-Twice", "two"), ("X-Amz-Meta-Twice", "one"),
        ("Host", req.headers["Host"]), ("X-Amz-Date", req.headers["X-Amz-Date"]),
        ("Authorization", req.headers["Authorization"])], b"Action=ListQueues")
    eq((403, "SignatureDoesNotMatch"), (status, xml_code(text)))


def query_order_and_encoding():
    """Parameters out of order, repeated names, reserved and non-ASCII
    characters, empty values: signed by botocore, verified as sent."""
    target = ("/?Version=2012-11-05&QueueNamePrefix=pres&Action=ListQueues&Zeta=&Alpha=1&"
              "Empty&Note=%C3%BC~%2F%20x%2B")
    status, text = signed_raw("GET", target, [])
    eq(200, status, text)
    if "/presigned</QueueUrl>" not in text:
        raise AssertionError(text)
    # a repeated name is signed by value order: the signature holds, and SQS
    # then refuses the repetition itself
    status, text = signed_raw("GET", target + "&Alpha=0", [])
    eq((400, "InvalidParameterValue"), (status, xml_code(text)))
    if "The parameter Alpha is given more than once" not in text:
        raise AssertionError(text)
    # sent with unreserved characters percent-encoded (lowercase hex, too), the
    # parameters are the same: the canonical query decodes and encodes again
    status, text = signed_raw("GET", "/?Action=ListQueues&QueueNamePrefix=pres&Note=a~b", [],
                              send_target="/?Action=ListQueues&QueueNamePrefix=%70res&"
                                          "Note=a%7eb")
    eq(200, status, text)
    if "/presigned</QueueUrl>" not in text:
        raise AssertionError(text)
    # while another value is another request
    status, text = signed_raw("GET", "/?Action=ListQueues&QueueNamePrefix=pres", [],
                              send_target="/?Action=ListQueues&QueueNamePrefix=pret")
    eq((403, "SignatureDoesNotMatch"), (status, xml_code(text)))


def unsigned_payload_over_tls():
    d = tempfile.mkdtemp()
    try:
        cert, key = self_signed_certificate(d)
    except Skip:
        shutil.rmtree(d, ignore_errors=True)
        raise
    host = Host("--tls-cert", cert, "--tls-key", key)
    try:
        ctx = ssl.create_default_context(cafile=cert)
        hdrs = [FORM, ("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD")]
        status, text = signed_raw("POST", "/", hdrs, b"Action=ListQueues", host=host,
                                  context=ctx, payload_signing=False)
        eq(200, status, text)
        if "<ListQueuesResponse" not in text:
            raise AssertionError(text)
    finally:
        eq(0, host.stop(), "bpfbusd exit status")
        shutil.rmtree(d, ignore_errors=True)
    # over plain HTTP a body could be changed on the way: refused
    status, text = signed_raw("POST", "/", hdrs, b"Action=ListQueues", payload_signing=False)
    eq((403, "SignatureDoesNotMatch"), (status, xml_code(text)))
    if "UNSIGNED-PAYLOAD is accepted over HTTPS only" not in text:
        raise AssertionError(text)


NAMES = ["presigned_urls_from_boto3", "presigned_urls_from_botocore", "presigned_expiry",
         "session_tokens", "header_values_folded", "repeated_headers",
         "query_order_and_encoding", "unsigned_payload_over_tls", "host_exits_cleanly"]

if __name__ == "__main__":
    run_suite(NAMES, globals(), creds=CREDS)
