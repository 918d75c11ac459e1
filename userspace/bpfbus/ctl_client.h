/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The CLI's side of the control socket (userspace/lib/ctl.h): one request,
 * one response; results printed as JSON (-j, -p) or by a text printer.
 */
#ifndef BPFBUS_CLI_CTL_CLIENT_H
#define BPFBUS_CLI_CTL_CLIENT_H

#include <stdbool.h>

struct json_value;
struct strbuf;

/* --control PATH (NULL: $BPFBUS_CONTROL, else the default). */
extern const char *ctl_path_opt;

/* True when a daemon answers on the control socket. */
bool ctl_daemon_running(void);

/*
 * Before @cmd writes the pinned maps itself (no daemon answered): false,
 * reported, while a bpfbusd owns them all the same (userspace/lib/pin_lock.h:
 * one whose control socket is elsewhere); else true with *@lock to pass to
 * ctl_local_end once the maps are written.
 */
bool ctl_local_begin(const char *cmd, int *lock);
void ctl_local_end(int lock);

/* Prints a result in text form. */
typedef void (*ctl_print_fn)(const struct json_value *result);

/*
 * Send @req (a JSON object) and print the answer: the result as JSON with
 * -j/-p, else through @print (NULL: nothing); an error on stderr. Returns the
 * exit status: EXIT_OK, EXIT_FAIL, or EXIT_INVALID for invalid requests.
 */
int ctl_call(const struct strbuf *req, ctl_print_fn print);

/* Append "key":"value" (escaped), with a leading comma unless @first. */
void ctl_add_str(struct strbuf *sb, const char *key, const char *val, bool first);

/* Print @v as JSON through the CLI's writer (compact, or pretty with -p). */
void ctl_print_json(const struct json_value *v);
/* The same, unless @v is an empty object (nothing to say). */
void ctl_print_nonempty(const struct json_value *v);

/*
 * The `call ACTION JSON` commands: {"op": @op, "action": @action, @key:
 * @json} once @json is checked to be one JSON object; the result printed with
 * ctl_print_nonempty. Returns the exit status.
 */
int ctl_call_json(const char *op, const char *action, const char *key, const char *json);

#endif
