// SPDX-License-Identifier: BSD-2-Clause
#include "ctl_client.h"
#include "datapath.h"
#include "main.h"
#include "strbuf.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool json_output;
bool pretty_output;

void p_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("bpfbus: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

char *read_file(const char *path, size_t *len)
{
	char *text = read_whole_file(path, len);

	if (!text)
		p_err("cannot read '%s': %s", path, strerror(errno));
	return text;
}

int cmd_select(const struct cmd *cmds, int argc, char **argv,
	       int (*help)(int argc, char **argv))
{
	if (argc < 1 || !strcmp(argv[0], "help"))
		return help(argc, argv);
	const struct cmd *found = NULL;
	size_t n = strlen(argv[0]);

	for (const struct cmd *c = cmds; c->name; c++) {
		if (strncmp(c->name, argv[0], n))
			continue;
		if (strlen(c->name) == n) {
			found = c;
			break;
		}
		if (found) {
			p_err("'%s' is ambiguous: %s or %s?", argv[0],
			      found->name, c->name);
			return EXIT_INVALID;
		}
		found = c;
	}
	if (!found) {
		p_err("unknown command '%s'", argv[0]);
		help(0, NULL);
		return EXIT_INVALID;
	}
	return found->fn(argc - 1, argv + 1);
}

static int do_help(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr,
		"Usage: bpfbus [OPTIONS] OBJECT { COMMAND | help }\n"
		"       bpfbus version\n"
		"       bpfbus batch file FILE\n"
		"\n"
		"       OBJECT := { pattern | filter-policy | send | link | bus | rule | queue | topic |\n"
		"                   subscription | capture | stats | daemon |\n"
		"                   archive | replay | schema }\n"
		"       OPTIONS := { -j|--json [-p|--pretty] | -h|--help | "
		"-V|--version |\n"
		"                    --pin-dir DIR | --control PATH }\n"
		"\n"
		"See 'bpfbus OBJECT help' and docs/patterns.md.\n");
	return argc > 0 && argv ? EXIT_OK : EXIT_OK;
}

static int do_version(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	if (json_output)
		printf("{\"version\":\"%s\"}\n", BPFBUS_VERSION);
	else
		printf("bpfbus %s\n", BPFBUS_VERSION);
	return EXIT_OK;
}

static const struct cmd objects[] = {
	{"pattern", do_pattern},
	{"filter-policy", do_filter_policy},
	{"send", do_send},
	{"link", do_link},
	{"bus", do_bus},
	{"capture", do_capture},
	{"stats", do_stats},
	{"rule", do_rule},
	{"daemon", do_daemon},
	{"batch", do_batch},
	{"queue", do_queue},
	{"topic", do_topic},
	{"subscription", do_subscription},
	{"archive", do_archive},
	{"replay", do_replay},
	{"schema", do_schema},
	{"version", do_version},
	{"help", do_help},
	{NULL, NULL},
};

int bpfbus_run(int argc, char **argv)
{
	return cmd_select(objects, argc, argv, do_help);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"json", no_argument, NULL, 'j'},
		{"pretty", no_argument, NULL, 'p'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{"pin-dir", required_argument, NULL, 'P'},
		{"control", required_argument, NULL, 'C'},
		{NULL, 0, NULL, 0},
	};
	int c;

	/* '+': stop at the first non-option, the object name */
	while ((c = getopt_long(argc, argv, "+jphV", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json_output = true;
			break;
		case 'p':
			json_output = pretty_output = true;
			break;
		case 'h':
			return do_help(0, NULL);
		case 'V':
			return do_version(0, NULL);
		case 'P':
			bb_set_pin_dir(optarg);
			break;
		case 'C':
			ctl_path_opt = optarg;
			break;
		default:
			return EXIT_INVALID;
		}
	}
	return cmd_select(objects, argc - optind, argv + optind, do_help);
}
