#!/usr/bin/python3
# SPDX-License-Identifier: BSD-2-Clause
"""EventBridge archives and replays over the HTTP API (AWS JSON 1.1) with
Debian's boto3 and /usr/bin/aws against bpfbusd (its real listener, store and
archives): CreateArchive, DescribeArchive, ListArchives, UpdateArchive,
DeleteArchive, StartReplay, DescribeReplay, ListReplays, CancelReplay in
EventBridge's shapes; events put with PutEvents archived and replayed with
exact counts into a rule's queue, the time range [start, end), the rule
filter (FilterArns), "replay-name" on replayed events; and the errors
botocore maps (ResourceAlreadyExistsException, ResourceNotFoundException,
InvalidEventPatternException, ValidationException, IllegalStatusException)."""

import datetime
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "api"))
from apihost import ACCOUNT, REGION, aws_events, boto3_client, eq, run_host_tests
from apihost import code_and_message as error_of

H = None
T0 = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)


def client(service="events"):
    return boto3_client(H, service=service)


def arn(kind, name):
    return "arn:aws:events:%s:%s:%s/%s" % (REGION, ACCOUNT, kind, name)


def at(seconds):
    return T0 + datetime.timedelta(seconds=seconds)


def drain(name):
    """The bodies of every message of queue @name (received and deleted)."""
    sqs = client("sqs")
    url = "%s/%s/%s" % (H.url, ACCOUNT, name)
    bodies = []
    while True:
        ms = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        if not ms:
            return bodies
        for m in ms:
            bodies.append(json.loads(m["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])


def replay_end(eb, name, timeout=30):
    end = time.time() + timeout
    while time.time() < end:
        r = eb.describe_replay(ReplayName=name)
        if r["State"] in ("COMPLETED", "CANCELLED", "FAILED"):
            return r
        time.sleep(0.1)
    raise AssertionError("replay %s did not end" % name)


def archives():
    eb = client()
    client("sqs").create_queue(QueueName="shop-q")
    eb.put_rule(Name="shop", EventPattern='{"source":["shop"]}')
    eb.put_rule(Name="audit", EventPattern='{"source":["shop"]}')
    eb.put_targets(Rule="shop", Targets=[{"Id": "q", "Arn": "arn:aws:sqs:%s:%s:shop-q"
                                          % (REGION, ACCOUNT)}])
    r = eb.create_archive(ArchiveName="shop-archive", EventSourceArn=arn("event-bus", "default"),
                          EventPattern='{"source":["shop"]}', RetentionDays=3,
                          Description="the shop")
    eq((arn("archive", "shop-archive"), "ENABLED"), (r["ArchiveArn"], r["State"]))
    assert abs(r["CreationTime"].timestamp() - time.time()) < 60, r
    entries = [{"Source": "shop", "DetailType": "order", "Detail": json.dumps({"n": i}),
                "Time": at(i)} for i in range(10)]
    eq(0, eb.put_events(Entries=entries)["FailedEntryCount"])
    eq(0, eb.put_events(Entries=[{"Source": "other", "DetailType": "x", "Detail": "{}",
                                  "Time": at(1)}])["FailedEntryCount"])
    d = eb.describe_archive(ArchiveName="shop-archive")
    eq(("shop-archive", arn("event-bus", "default"), '{"source":["shop"]}', "the shop", 3, 10),
       (d["ArchiveName"], d["EventSourceArn"], d["EventPattern"], d["Description"],
        d["RetentionDays"], d["EventCount"]))
    assert d["SizeBytes"] > 0, d
    eq(10, len(drain("shop-q")))
    # the errors
    eq(("ResourceAlreadyExistsException", "Archive shop-archive already exists."),
       error_of(eb.create_archive, ArchiveName="shop-archive",
                EventSourceArn=arn("event-bus", "default")))
    eq(("ResourceNotFoundException", "Event bus nosuch does not exist."),
       error_of(eb.create_archive, ArchiveName="x", EventSourceArn=arn("event-bus", "nosuch")))
    eq("InvalidEventPatternException",
       error_of(eb.create_archive, ArchiveName="x", EventSourceArn=arn("event-bus", "default"),
                EventPattern='{"source":"shop"}')[0])
    eq(("ResourceNotFoundException", "Archive nope does not exist."),
       error_of(eb.describe_archive, ArchiveName="nope"))
    eq("ValidationException", error_of(eb.create_archive, ArchiveName="bad/name",
                                       EventSourceArn=arn("event-bus", "default"))[0])
    # UpdateArchive changes what it is given
    u = eb.update_archive(ArchiveName="shop-archive", RetentionDays=7)
    eq((arn("archive", "shop-archive"), "ENABLED"), (u["ArchiveArn"], u["State"]))
    d = eb.describe_archive(ArchiveName="shop-archive")
    eq((7, "the shop", '{"source":["shop"]}'),
       (d["RetentionDays"], d["Description"], d["EventPattern"]))
    eb.create_archive(ArchiveName="other", EventSourceArn=arn("event-bus", "default"))
    eq(["other", "shop-archive"], [a["ArchiveName"] for a in eb.list_archives()["Archives"]])
    eq(["shop-archive"], [a["ArchiveName"] for a in
                          eb.list_archives(NamePrefix="shop")["Archives"]])
    page = eb.list_archives(Limit=1)
    eq((["other"], "1"), ([a["ArchiveName"] for a in page["Archives"]], page["NextToken"]))
    item = eb.list_archives(NamePrefix="shop")["Archives"][0]
    eq(("ENABLED", 7, 10), (item["State"], item["RetentionDays"], item["EventCount"]))


def replays():
    eb = client()
    source = arn("archive", "shop-archive")
    # audit matches the same events: FilterArns keeps the replayed ones from it
    client("sqs").create_queue(QueueName="audit-q")
    eb.put_targets(Rule="audit", Targets=[{"Id": "q", "Arn": "arn:aws:sqs:%s:%s:audit-q"
                                           % (REGION, ACCOUNT)}])
    r = eb.start_replay(ReplayName="window", EventSourceArn=source, Description="2 to 5",
                        EventStartTime=at(2), EventEndTime=at(5),
                        Destination={"Arn": arn("event-bus", "default"),
                                     "FilterArns": [arn("rule", "shop")]})
    eq(arn("replay", "window"), r["ReplayArn"])
    assert r["State"] in ("STARTING", "RUNNING"), r
    d = replay_end(eb, "window")
    eq(("COMPLETED", "2 to 5", source, arn("event-bus", "default"), [arn("rule", "shop")]),
       (d["State"], d["Description"], d["EventSourceArn"], d["Destination"]["Arn"],
        d["Destination"]["FilterArns"]))
    eq((at(2), at(5), at(4)), (d["EventStartTime"], d["EventEndTime"],
                               d["EventLastReplayedTime"]))
    assert d["ReplayEndTime"] >= d["ReplayStartTime"], d
    got = drain("shop-q")
    eq([2, 3, 4], sorted(b["detail"]["n"] for b in got))
    eq({"window"}, {b["replay-name"] for b in got})
    eq([], drain("audit-q"), "a rule FilterArns does not name")
    # replayed events are not archived again
    eq(10, eb.describe_archive(ArchiveName="shop-archive")["EventCount"])
    # the errors
    eq(("ValidationException", "Parameter Destination.Arn is not valid. Reason: Cross event "
        "bus replay is not permitted."),
       error_of(eb.start_replay, ReplayName="x", EventSourceArn=source, EventStartTime=at(0),
                EventEndTime=at(1), Destination={"Arn": arn("event-bus", "elsewhere")}))
    eq("ValidationException",
       error_of(eb.start_replay, ReplayName="x", EventSourceArn=source, EventStartTime=at(0),
                EventEndTime=datetime.datetime.now(datetime.timezone.utc) +
                datetime.timedelta(days=1),
                Destination={"Arn": arn("event-bus", "default")})[0])
    eq(("ResourceAlreadyExistsException", "Replay window already exists."),
       error_of(eb.start_replay, ReplayName="window", EventSourceArn=source,
                EventStartTime=at(0), EventEndTime=at(1),
                Destination={"Arn": arn("event-bus", "default")}))
    eq(("ResourceNotFoundException", "Archive nope does not exist."),
       error_of(eb.start_replay, ReplayName="x", EventSourceArn=arn("archive", "nope"),
                EventStartTime=at(0), EventEndTime=at(1),
                Destination={"Arn": arn("event-bus", "default")}))
    # FilterArns: rules of the archive's bus only
    eb.create_event_bus(Name="elsewhere")
    eb.put_rule(Name="there", EventBusName="elsewhere", EventPattern='{"source":["shop"]}')
    for rule, name in ((arn("rule", "elsewhere/there"), "there"), (arn("rule", "nosuch"), "nosuch")):
        eq(("ResourceNotFoundException", "Rule %s does not exist on EventBus default." % name),
           error_of(eb.start_replay, ReplayName="x", EventSourceArn=source,
                    EventStartTime=at(0), EventEndTime=at(1),
                    Destination={"Arn": arn("event-bus", "default"),
                                 "FilterArns": [arn("rule", "shop"), rule]}))
    eb.delete_rule(Name="there", EventBusName="elsewhere")
    eb.delete_event_bus(Name="elsewhere")
    eq(("IllegalStatusException", "Replay window is COMPLETED and cannot be cancelled."),
       error_of(eb.cancel_replay, ReplayName="window"))
    eq(("ResourceNotFoundException", "Replay nope does not exist."),
       error_of(eb.describe_replay, ReplayName="nope"))
    # cancel at once: CANCELLING, then CANCELLED
    eb.start_replay(ReplayName="stopped", EventSourceArn=source, EventStartTime=at(0),
                    EventEndTime=at(10), Destination={"Arn": arn("event-bus", "default")})
    c = eb.cancel_replay(ReplayName="stopped")
    eq((arn("replay", "stopped"), "CANCELLING"), (c["ReplayArn"], c["State"]))
    eq("CANCELLED", replay_end(eb, "stopped")["State"])
    drain("shop-q")
    listed = eb.list_replays()["Replays"]
    eq(["stopped", "window"], [x["ReplayName"] for x in listed])
    eq(["window"], [x["ReplayName"] for x in eb.list_replays(State="COMPLETED")["Replays"]])
    eq(["stopped"], [x["ReplayName"] for x in eb.list_replays(NamePrefix="st")["Replays"]])
    eq(source, listed[0]["EventSourceArn"])
    drain("audit-q")
    eb.remove_targets(Rule="audit", Ids=["q"])


def bus_forwarded_events_archived_on_their_new_bus():
    """A bus target puts the event on another bus: that bus's archives take it;
    a replayed event that goes the same way is not archived there again."""
    eb, sqs = client(), client("sqs")
    eb.create_event_bus(Name="audit-bus")
    eb.create_archive(ArchiveName="audit-all", EventSourceArn=arn("event-bus", "audit-bus"))
    eb.create_archive(ArchiveName="fwd-src", EventSourceArn=arn("event-bus", "default"),
                      EventPattern='{"source":["fwd"]}')
    eb.put_rule(Name="to-audit", EventPattern='{"source":["fwd"]}')
    eb.put_targets(Rule="to-audit", Targets=[{"Id": "b", "Arn": arn("event-bus", "audit-bus")}])
    sqs.create_queue(QueueName="audit-bus-q")
    eb.put_rule(Name="audit-in", EventBusName="audit-bus", EventPattern='{"source":["fwd"]}')
    eb.put_targets(Rule="audit-in", EventBusName="audit-bus",
                   Targets=[{"Id": "q", "Arn": "arn:aws:sqs:%s:%s:audit-bus-q" % (REGION, ACCOUNT)}])
    eq(0, eb.put_events(Entries=[{"Source": "fwd", "DetailType": "t", "Detail": json.dumps({"n": i}),
                                  "Time": at(i)} for i in range(3)])["FailedEntryCount"])
    eq((3, 3), (eb.describe_archive(ArchiveName="fwd-src")["EventCount"],
                eb.describe_archive(ArchiveName="audit-all")["EventCount"]))
    eq([0, 1, 2], sorted(b["detail"]["n"] for b in drain("audit-bus-q")))
    eb.start_replay(ReplayName="fwd-again", EventSourceArn=arn("archive", "fwd-src"),
                    EventStartTime=at(0), EventEndTime=at(10),
                    Destination={"Arn": arn("event-bus", "default")})
    eq("COMPLETED", replay_end(eb, "fwd-again")["State"])
    got = drain("audit-bus-q")
    eq(([0, 1, 2], {"fwd-again"}), (sorted(b["detail"]["n"] for b in got),
                                     {b.get("replay-name") for b in got}))
    eq((3, 3), (eb.describe_archive(ArchiveName="fwd-src")["EventCount"],
                eb.describe_archive(ArchiveName="audit-all")["EventCount"]),
       "replayed events are archived nowhere")
    eb.remove_targets(Rule="audit-in", EventBusName="audit-bus", Ids=["q"])
    eb.delete_rule(Name="audit-in", EventBusName="audit-bus")
    eb.remove_targets(Rule="to-audit", Ids=["b"])
    eb.delete_rule(Name="to-audit")
    for a in ("audit-all", "fwd-src"):
        eb.delete_archive(ArchiveName=a)


def delete_archive():
    eb = client()
    eq({}, {k: v for k, v in eb.delete_archive(ArchiveName="shop-archive").items()
            if k != "ResponseMetadata"})
    eq("ResourceNotFoundException", error_of(eb.describe_archive, ArchiveName="shop-archive")[0])
    # its replays went with it
    eq("ResourceNotFoundException", error_of(eb.describe_replay, ReplayName="window")[0])
    eq("ResourceNotFoundException", error_of(eb.delete_archive, ArchiveName="shop-archive")[0])


def aws_cli():
    aws = aws_events(H)
    eq(arn("archive", "cli"), aws("create-archive", "--archive-name", "cli",
                                  "--event-source-arn", arn("event-bus", "default"),
                                  "--event-pattern", '{"source":["cli"]}')["ArchiveArn"])
    client().put_events(Entries=[{"Source": "cli", "DetailType": "t", "Detail": "{}",
                                  "Time": at(i)} for i in range(3)])
    eq(3, aws("describe-archive", "--archive-name", "cli")["EventCount"])
    aws("update-archive", "--archive-name", "cli", "--retention-days", "9")
    eq(9, aws("list-archives", "--name-prefix", "cli")["Archives"][0]["RetentionDays"])
    r = aws("start-replay", "--replay-name", "cli-replay", "--event-source-arn",
            arn("archive", "cli"), "--event-start-time", "2026-01-01T00:00:00Z",
            "--event-end-time", "2026-01-01T00:00:02Z", "--destination",
            "Arn=" + arn("event-bus", "default"))
    eq(arn("replay", "cli-replay"), r["ReplayArn"])
    replay_end(client(), "cli-replay")
    d = aws("describe-replay", "--replay-name", "cli-replay")
    eq(("COMPLETED", "2026-01-01T00:00:01+00:00"), (d["State"], d["EventLastReplayedTime"]))
    eq(["cli-replay"], [x["ReplayName"] for x in
                        aws("list-replays", "--event-source-arn", arn("archive", "cli"))
                        ["Replays"]])
    err = aws("cancel-replay", "--replay-name", "cli-replay", ok=False)
    assert "IllegalStatusException" in err, err
    aws("delete-archive", "--archive-name", "cli")
    err = aws("describe-archive", "--archive-name", "cli", ok=False)
    assert "ResourceNotFoundException" in err, err


NAMES = ["archives", "replays", "delete_archive", "bus_forwarded_events_archived_on_their_new_bus",
         "aws_cli", "host_exits_cleanly"]


if __name__ == "__main__":
    # 2 replayed events a second: a replay of 10 is still running when it is cancelled
    run_host_tests(NAMES, globals(), "--replay-rate", "2")
