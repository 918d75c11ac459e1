/* SPDX-License-Identifier: BSD-2-Clause */
/* The bpfbus CLI: bpftool's grammar, `bpfbus [OPTIONS] OBJECT COMMAND [ARGS]`. */
#ifndef BPFBUS_CLI_MAIN_H
#define BPFBUS_CLI_MAIN_H

#include <stdbool.h>
#include <stddef.h>

#define BPFBUS_VERSION "0.1.0"

struct cmd {
	const char *name;
	int (*fn)(int argc, char **argv);
};

/* Global output options. */
extern bool json_output;
extern bool pretty_output;

/* Exit statuses scripts can rely on. */
enum {
	EXIT_OK = 0,
	EXIT_FAIL = 1,	/* the operation failed */
	EXIT_INVALID = 2, /* invalid input: usage, pattern, event */
};

/*
 * Run the command in @cmds whose name @argv[0] is an unambiguous prefix of;
 * @help runs when argv is empty or names "help".
 */
int cmd_select(const struct cmd *cmds, int argc, char **argv,
	       int (*help)(int argc, char **argv));

/* Print "bpfbus: <message>" to stderr (or a JSON error with -j). */
void p_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Read a whole file ("-" for stdin) into a NUL-terminated buffer. */
char *read_file(const char *path, size_t *len);

int do_pattern(int argc, char **argv);
int do_filter_policy(int argc, char **argv);
int do_send(int argc, char **argv);
int do_link(int argc, char **argv);
int do_bus(int argc, char **argv);
int do_stats(int argc, char **argv);
int do_capture(int argc, char **argv);
int do_rule(int argc, char **argv);
int do_daemon(int argc, char **argv);
int do_queue(int argc, char **argv);
int do_batch(int argc, char **argv);
int do_topic(int argc, char **argv);
int do_subscription(int argc, char **argv);
int do_archive(int argc, char **argv);
int do_replay(int argc, char **argv);
int do_schema(int argc, char **argv);
int do_queue(int argc, char **argv);
/* Run one command line (OBJECT COMMAND ARGS), as main does after the options. */
int bpfbus_run(int argc, char **argv);

#endif
