// SPDX-License-Identifier: BSD-2-Clause
/*
 * Attribute-scope paths in the kernel's path table (include/bpfbus/attrs.h):
 * each path in the attribute namespace gets the NAME role and two member
 * paths, "<name>.Type" and "<name>.Value", which the kernel pairs into one
 * typed leaf. A member that is also a path of the ruleset (an attribute
 * named "a.Type" beside "a") plays two roles: it is marked with all of them
 * and the kernel hands events that reach it to userspace.
 */
#include "ktables.h"
#include "bpfbus/attrs.h"
#include "ruleset_int.h"
#include "strbuf.h"

#include <stdlib.h>
#include <string.h>

static bool is_attr_path(const struct path_info *pi)
{
	return pi->len > 0 && pi->path[0] == BPFBUS_ATTR_NS;
}

static void add_member(const struct bb_ruleset *rs, struct bpfbus_path *paths,
		       const struct path_info *pi, uint32_t id, const char *member, uint32_t role,
		       struct ktables_member **out, size_t *n)
{
	size_t mlen = strlen(member), len = pi->len + 1 + mlen;
	char *p = xmalloc(len);

	memcpy(p, pi->path, pi->len);
	p[pi->len] = '.';
	memcpy(p + pi->len + 1, member, mlen);
	uint64_t h = path_hash(p, len);
	const struct path_info *same = ruleset_find_path(rs, p, len, h);

	free(p);
	if (same) {
		struct bpfbus_path *sp = &paths[same - rs->paths];

		sp->id |= BPFBUS_APATH_ROLES;
		sp->leaf = 1;
		return;
	}
	*out = xrealloc(*out, (*n + 1) * sizeof(**out));
	(*out)[(*n)++] =
		(struct ktables_member){ .hash = h, .path = { .id = id | role, .leaf = 1 } };
}

struct ktables_member *ktables_attr_paths(const struct bb_ruleset *rs, struct bpfbus_path *paths,
					  size_t *n)
{
	struct ktables_member *out = NULL;

	*n = 0;
	for (size_t i = 0; i < rs->n_paths; i++) {
		const struct path_info *pi = &rs->paths[i];

		if (!is_attr_path(pi))
			continue;
		/* a value right at the attribute is reported, to be refused */
		paths[i].id |= BPFBUS_APATH_NAME;
		paths[i].leaf = 1;
		paths[i].inner = 1;
		add_member(rs, paths, pi, (uint32_t)i, "Type", BPFBUS_APATH_TYPE, &out, n);
		add_member(rs, paths, pi, (uint32_t)i, "Value", BPFBUS_APATH_VALUE, &out, n);
	}
	return out;
}
