/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Schema discovery (docs/eventbridge.md, "Schema discovery"): the shape of
 * the events of one (source, detail-type), inferred from the events seen,
 * as EventBridge's schema registry discovers it.
 *
 * The shape is a JSON Schema tree: each node has the set of JSON types seen
 * there ("integer" for numbers spelled without a fraction or exponent,
 * "number" once any was), an object's properties (a property is required
 * while every object seen there had it) and an array's item shape (merged over
 * all items). Observing an event merges its shape in and says whether the
 * schema changed -- a property or a type was added, or a property stopped
 * being required -- which is when the registry makes a new version. Shapes are
 * bounded: at most EB_SCHEMA_MAX_DEPTH levels and EB_SCHEMA_MAX_PROPS
 * properties per object; deeper or further members are not described.
 */
#ifndef BPFBUS_EB_SCHEMA_H
#define BPFBUS_EB_SCHEMA_H

#include "eb_common.h"

#include <stdbool.h>

#define EB_SCHEMA_MAX_DEPTH 32
#define EB_SCHEMA_MAX_PROPS 256

struct json_value;
struct strbuf;
struct eb_schema;

struct eb_schema *eb_schema_new(void);
void eb_schema_free(struct eb_schema *s);

/* Merge the shape of @event in; 1 when the schema changed, 0 when not. */
int eb_schema_observe(struct eb_schema *s, const struct json_value *event);

/* The shape as a JSON Schema object ({"type": ..., "properties": ...}). */
void eb_schema_write(const struct eb_schema *s, struct strbuf *out);

/* A shape written by eb_schema_write, back; NULL with @err when it is not one. */
struct eb_schema *eb_schema_read(const struct json_value *v, struct eb_error *err);

/*
 * The OpenAPI 3 document the registry shows: components.schemas.AWSEvent is
 * the envelope (x-amazon-events-source, x-amazon-events-detail-type) whose
 * "detail" refers to a component named after the detail-type (PascalCase
 * of its letters and digits; "Detail" when it has none).
 */
void eb_schema_openapi(const struct eb_schema *s, const char *source, const char *detail_type,
		       struct strbuf *out);

#endif
