/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * EventBridge target input: what a rule target receives instead of the
 * matched event (docs/eventbridge.md, "Input transformation").
 *
 *   - nothing:          the event itself;
 *   - Input:            a constant JSON text;
 *   - InputPath:        the part of the event a JSON path selects;
 *   - InputTransformer: InputPathsMap (up to 100 variables, each a JSON path)
 *                       substituted into InputTemplate's <placeholders>, plus
 *                       the reserved <aws.events.rule-arn>,
 *                       <aws.events.rule-name>, <aws.events.event>,
 *                       <aws.events.event.json> and
 *                       <aws.events.event.ingestion-time>.
 *
 * A target's input is compiled once, when the target is put (errors are
 * PutTargets' ValidationException messages), and applied to each event.
 */
#ifndef BPFBUS_EB_TRANSFORM_H
#define BPFBUS_EB_TRANSFORM_H

#include "eb_common.h"
#include "strbuf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define EB_INPUT_MAX 8192
#define EB_INPUT_PATH_MAX 256
#define EB_PATHS_MAP_MAX 100
#define EB_PATHS_KEY_MAX 256
#define EB_TEMPLATE_MAX 8192

struct eb_input_var {
	const char *name; /* [A-Za-z0-9_-]+, at most 256 characters */
	const char *path; /* a JSON path ("$.detail.state", "$.resources[0]") */
};

/* A PutTargets target's input fields; NULL / false for the ones not given. */
struct eb_input_spec {
	const char *target_id; /* for the error messages */
	const char *input; /* Input */
	const char *input_path; /* InputPath */
	bool has_transformer; /* InputTransformer given */
	const struct eb_input_var *paths_map;
	size_t n_paths;
	const char *input_template;
};

struct eb_input;

/* Compile; returns NULL with @err set (ValidationException) when invalid. */
struct eb_input *eb_input_compile(const struct eb_input_spec *spec, struct eb_error *err);

/*
 * The same from a PutTargets Target object ({"Id", "Input", "InputPath",
 * "InputTransformer": {"InputPathsMap", "InputTemplate"}}); other members
 * are ignored.
 */
struct json_value;
struct eb_input *eb_input_compile_json(const struct json_value *target, struct eb_error *err);

void eb_input_free(struct eb_input *in);

/* What one delivery knows besides the event. */
struct eb_input_ctx {
	const char *rule_arn;
	const char *rule_name;
	int64_t ingestion_ms; /* when the bus received the event */
};

/*
 * The input for one matched event (its envelope, JSON): appended to @out.
 * Returns 0, or -1 with @err set when @event is not a JSON object or a
 * JSON template came out as invalid JSON.
 */
int eb_input_apply(const struct eb_input *in, const char *event, size_t len,
		   const struct eb_input_ctx *ctx, struct strbuf *out, struct eb_error *err);

#endif
