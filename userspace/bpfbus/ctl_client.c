// SPDX-License-Identifier: BSD-2-Clause
/* The CLI's control-socket client. See ctl_client.h. */
#include "ctl_client.h"
#include "ctl.h"
#include "datapath.h"
#include "json.h"
#include "jsonw.h"
#include "main.h"
#include "pin_lock.h"
#include "strbuf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char *ctl_path_opt;

static const char *path(void)
{
	return ctl_path_opt ? ctl_path_opt : bb_ctl_path();
}

bool ctl_daemon_running(void)
{
	int fd = bb_ctl_connect(path());

	if (fd < 0)
		return false;
	close(fd);
	return true;
}

bool ctl_local_begin(const char *cmd, int *lock)
{
	*lock = bb_pin_lock_local(bb_pin_dir());
	if (*lock >= 0 || *lock == -ENOENT)
		return true;
	if (*lock == -EBUSY)
		p_err("bpfbusd owns the pinned maps in %s but does not answer on %s: it compiles "
		      "them from its whole model (rules, archives, topics' filter policies, bus "
		      "flags), which `%s` without it would not keep; give its control socket: "
		      "bpfbus --control SOCKET %s ...",
		      bb_pin_dir(), path(), cmd, cmd);
	else
		p_err("cannot lock the pin directory %s: %s", bb_pin_dir(), strerror(-*lock));
	return false;
}

void ctl_local_end(int lock)
{
	if (lock >= 0)
		close(lock);
}

void ctl_add_str(struct strbuf *sb, const char *key, const char *val, bool first)
{
	if (!first)
		sb_addc(sb, ',');
	json_write_string(sb, key, strlen(key));
	sb_addc(sb, ':');
	json_write_string(sb, val, strlen(val));
}

static void put_value(struct jw *w, const char *key, const struct json_value *v)
{
	struct strbuf sb = STRBUF_INIT;

	switch (v->type) {
	case JSON_OBJECT:
		jw_open(w, key, '{');
		for (size_t i = 0; i < v->u.obj.n; i++) {
			char *k = xstrndup(v->u.obj.members[i].key, v->u.obj.members[i].key_len);

			put_value(w, k, v->u.obj.members[i].value);
			free(k);
		}
		jw_close(w, '}');
		break;
	case JSON_ARRAY:
		jw_open(w, key, '[');
		for (size_t i = 0; i < v->u.arr.n; i++)
			put_value(w, NULL, v->u.arr.items[i]);
		jw_close(w, ']');
		break;
	default:
		json_write(&sb, v);
		jw_raw(w, key, sb.buf, sb.len);
		sb_free(&sb);
	}
}

void ctl_print_json(const struct json_value *v)
{
	struct jw w;

	jw_init(&w, pretty_output);
	put_value(&w, NULL, v);
	jw_flush(&w);
	jw_free(&w);
}

void ctl_print_nonempty(const struct json_value *v)
{
	if (v->type != JSON_OBJECT || v->u.obj.n)
		ctl_print_json(v);
}

/* Errors a caller made (exit 2) rather than failures of the operation (exit 1). */
static bool invalid_error(const char *code)
{
	/* EventBridge's and SQS's names for a request at fault (Invalid*: both) */
	static const char *const invalid[] = { "ValidationException",
					       "UnknownOperation",
					       "LimitExceededException",
					       "MissingParameter",
					       "TooManyEntriesInBatchRequest",
					       "BatchEntryIdsNotDistinct",
					       "EmptyBatchRequest",
					       "BatchRequestTooLong",
					       NULL };

	if (!strncmp(code, "Invalid", 7))
		return true;
	for (int i = 0; invalid[i]; i++)
		if (!strcmp(code, invalid[i]))
			return true;
	return false;
}

int ctl_call(const struct strbuf *req, ctl_print_fn print)
{
	struct strbuf resp = STRBUF_INIT;
	int fd = bb_ctl_connect(path()), err, rc = EXIT_FAIL;

	if (fd < 0) {
		p_err("cannot reach bpfbusd at %s: %s (is it running?)", path(), strerror(-fd));
		return EXIT_FAIL;
	}
	err = bb_ctl_write(fd, req->buf, req->len);
	if (!err)
		err = bb_ctl_read(fd, &resp);
	close(fd);
	if (err) {
		p_err("bpfbusd at %s: %s", path(), strerror(-err));
		sb_free(&resp);
		return EXIT_FAIL;
	}
	struct json_doc *doc = json_parse(resp.buf, resp.len, true);
	const struct json_value *root = json_doc_root(doc);
	const struct json_value *ok = root ? json_get(root, "ok") : NULL;

	if (!ok) {
		p_err("bpfbusd sent a response that is not one: %.200s", resp.buf);
	} else if (ok->type == JSON_TRUE) {
		const struct json_value *result = json_get(root, "result");

		if (result && json_output)
			ctl_print_json(result);
		else if (result && print)
			print(result);
		rc = EXIT_OK;
	} else {
		const struct json_value *code = json_get(root, "error");
		const struct json_value *msg = json_get(root, "message");
		const char *c = code && code->type == JSON_STRING ? code->u.str.s : "Error";

		p_err("%s: %s", c, msg && msg->type == JSON_STRING ? msg->u.str.s : "");
		rc = invalid_error(c) ? EXIT_INVALID : EXIT_FAIL;
	}
	json_doc_free(doc);
	sb_free(&resp);
	return rc;
}

int ctl_call_json(const char *op, const char *action, const char *key, const char *json)
{
	struct json_doc *doc = json_parse(json, strlen(json), true);
	const struct json_value *root = json_doc_root(doc);
	struct strbuf sb = STRBUF_INIT;
	int rc;

	if (!root || root->type != JSON_OBJECT) {
		p_err("the %s must be one JSON object: %s", key,
		      root ? "not an object" : json_doc_error(doc));
		json_doc_free(doc);
		return EXIT_INVALID;
	}
	sb_printf(&sb, "{\"op\":\"%s\",\"action\":", op);
	json_write_string(&sb, action, strlen(action));
	sb_printf(&sb, ",\"%s\":", key);
	json_write(&sb, root);
	sb_addc(&sb, '}');
	json_doc_free(doc);
	rc = ctl_call(&sb, ctl_print_nonempty);
	sb_free(&sb);
	return rc;
}
