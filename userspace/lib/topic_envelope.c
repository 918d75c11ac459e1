// SPDX-License-Identifier: BSD-2-Clause
/*
 * SNS's JSON envelope (what a queue subscriber without RawMessageDelivery
 * and an http subscriber receive), its signature and its timestamps.
 *
 * The signed text is SNS's: for each field present, in this order, the
 * field name and its value each followed by a newline. Notification: Message,
 * MessageId, Subject, Timestamp, TopicArn, Type. SubscriptionConfirmation:
 * Message, MessageId, SubscribeURL, Timestamp, Token, TopicArn, Type.
 */
#include "topic_int.h"
#include "json.h"
#include "strbuf.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

void tiso_time(int64_t ms, char out[32])
{
	time_t s = (time_t)(ms / 1000);
	struct tm tm;
	size_t n;

	gmtime_r(&s, &tm);
	n = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out + n, 32 - n, ".%03uZ", (unsigned)(ms % 1000) % 1000u);
}

/* Percent-encode @s for a query string value. */
static void url_encode(struct strbuf *sb, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    strchr("-_.~", c))
			sb_addc(sb, (char)c);
		else
			sb_printf(sb, "%%%02X", c);
	}
}

static void field(struct strbuf *sb, const char *name, const char *value)
{
	sb_adds(sb, sb->len > 1 ? ",\"" : "\"");
	sb_adds(sb, name);
	sb_adds(sb, "\":");
	json_write_string(sb, value, strlen(value));
}

static void signed_field(struct strbuf *text, const char *name, const char *value)
{
	if (value)
		sb_printf(text, "%s\n%s\n", name, value);
}

/* SNS's SubscribeURL of a confirmation. */
static void subscribe_url(struct topic_store *ts, const struct tenvelope *e, struct strbuf *sb)
{
	sb_printf(sb, "%s/?Action=ConfirmSubscription&TopicArn=", ts->endpoint);
	url_encode(sb, e->topic_arn);
	sb_adds(sb, "&Token=");
	url_encode(sb, e->token);
}

void tenvelope_sign(struct topic_store *ts, const struct tenvelope *e, struct strbuf *sig)
{
	struct strbuf text = STRBUF_INIT, subscribe = STRBUF_INIT;
	bool confirm = !strcmp(e->type, "SubscriptionConfirmation");
	char when[32];

	tiso_time(e->time_ms, when);
	signed_field(&text, "Message", e->message);
	signed_field(&text, "MessageId", e->message_id);
	if (confirm) {
		subscribe_url(ts, e, &subscribe);
		signed_field(&text, "SubscribeURL", subscribe.buf);
	} else {
		signed_field(&text, "Subject", e->subject);
	}
	signed_field(&text, "Timestamp", when);
	if (confirm)
		signed_field(&text, "Token", e->token);
	signed_field(&text, "TopicArn", e->topic_arn);
	signed_field(&text, "Type", e->type);
	/* Cannot fail with a loaded key; the field would stay empty. */
	tsign(ts, e->signature_version ? e->signature_version : "1", text.buf, sig);
	sb_free(&text);
	sb_free(&subscribe);
}

void tenvelope_build(struct topic_store *ts, const struct tenvelope *e, struct strbuf *out)
{
	struct strbuf sig = STRBUF_INIT, url = STRBUF_INIT;
	bool confirm = !strcmp(e->type, "SubscriptionConfirmation");
	const char *version = e->signature_version ? e->signature_version : "1";
	char when[32];

	tiso_time(e->time_ms, when);
	if (e->signature)
		sb_adds(&sig, e->signature);
	else
		tenvelope_sign(ts, e, &sig);
	sb_addc(out, '{');
	field(out, "Type", e->type);
	field(out, "MessageId", e->message_id);
	if (confirm)
		field(out, "Token", e->token);
	if (e->sequence_number)
		field(out, "SequenceNumber", e->sequence_number);
	field(out, "TopicArn", e->topic_arn);
	if (e->subject)
		field(out, "Subject", e->subject);
	field(out, "Message", e->message);
	if (confirm) {
		subscribe_url(ts, e, &url);
		field(out, "SubscribeURL", url.buf);
		sb_reset(&url);
	}
	field(out, "Timestamp", when);
	field(out, "SignatureVersion", version);
	field(out, "Signature", sig.buf ? sig.buf : "");
	sb_printf(&url, "%s%s", ts->endpoint, topic_signing_cert_path);
	field(out, "SigningCertURL", url.buf);
	if (!confirm) {
		sb_reset(&url);
		sb_printf(&url, "%s/?Action=Unsubscribe&SubscriptionArn=", ts->endpoint);
		url_encode(&url, e->sub_arn);
		field(out, "UnsubscribeURL", url.buf);
	}
	if (!confirm && e->attrs_json && *e->attrs_json) {
		sb_adds(out, ",\"MessageAttributes\":");
		sb_adds(out, e->attrs_json);
	}
	sb_addc(out, '}');
	sb_free(&sig);
	sb_free(&url);
}
