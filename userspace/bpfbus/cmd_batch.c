// SPDX-License-Identifier: BSD-2-Clause
/*
 * `bpfbus batch file FILE`: one command per line (without the leading
 * "bpfbus" and without global options), split on blanks with '...' and "..."
 * quoting and backslash escapes; blank lines and lines starting with '#' are
 * skipped. The first failing command stops the batch, as in bpftool.
 */
#include "main.h"
#include "strbuf.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BATCH_MAX_ARGS 256

/* Split @line in place into @argv; -1 with a message on an unterminated quote. */
static int split_line(char *line, char **argv, int *argc, int lineno)
{
	char *r = line, *w = line;

	*argc = 0;
	for (;;) {
		while (*r == ' ' || *r == '\t')
			r++;
		if (!*r || (*r == '#' && *argc == 0))
			return 0;
		if (*argc == BATCH_MAX_ARGS) {
			p_err("batch line %d: more than %d arguments", lineno, BATCH_MAX_ARGS);
			return -1;
		}
		argv[(*argc)++] = w;
		char quote = 0;

		for (; *r && (quote || (*r != ' ' && *r != '\t')); r++) {
			if (quote == '\'' && *r == '\'')
				quote = 0;
			else if (quote == '"' && *r == '"')
				quote = 0;
			else if (!quote && (*r == '\'' || *r == '"'))
				quote = *r;
			else if (quote != '\'' && *r == '\\' && r[1])
				*w++ = *++r;
			else
				*w++ = *r;
		}
		if (quote) {
			p_err("batch line %d: unterminated %c quote", lineno, quote);
			return -1;
		}
		if (*r)
			r++;
		*w++ = '\0';
	}
}

int do_batch(int argc, char **argv)
{
	char *args[BATCH_MAX_ARGS];
	int n, lineno = 0, done = 0, rc = EXIT_OK;
	size_t len;

	if (argc != 2 || strcmp(argv[0], "file")) {
		p_err("usage: bpfbus batch file FILE");
		return EXIT_INVALID;
	}
	char *text = read_file(argv[1], &len);

	if (!text)
		return EXIT_FAIL;
	for (char *line = text, *next; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		lineno++;
		if (split_line(line, args, &n, lineno)) {
			rc = EXIT_INVALID;
			break;
		}
		if (!n)
			continue;
		if (!strcmp(args[0], "batch")) {
			p_err("batch line %d: batch cannot run inside a batch", lineno);
			rc = EXIT_INVALID;
			break;
		}
		optind = 0; /* commands parsing options with getopt start afresh */
		rc = bpfbus_run(n, args);
		if (rc != EXIT_OK) {
			p_err("batch line %d failed: %s", lineno, args[0]);
			break;
		}
		done++;
	}
	fprintf(stderr, "bpfbus: processed %d commands\n", done);
	free(text);
	return rc;
}
