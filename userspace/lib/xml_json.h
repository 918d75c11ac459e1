/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * AWS query-protocol XML answers as JSON, in the shape botocore gives them
 * to programs: the control socket's `sns` op answers with it, so the CLI
 * and scripts read SNS results without an XML parser.
 *
 * Only what those answers use is read: elements, text, the five named
 * entities and numeric character references, an XML declaration,
 * attributes (ignored). An element holding only text becomes a string; one
 * with children an object; one whose children are all <member> an array;
 * one whose children are all <entry><key>K</key><value>V</value></entry>
 * an object {K: V}. An empty element is "", unless the caller names it
 * as a list (then []) or a map (then {}): XML cannot tell them apart.
 */
#ifndef BPFBUS_LIB_XML_JSON_H
#define BPFBUS_LIB_XML_JSON_H

#include <stddef.h>

struct strbuf;

/* Element names whose empty form is a list or a map (NULL-terminated; NULL: none). */
struct xml_json_shapes {
	const char *const *lists;
	const char *const *maps;
};

/*
 * The document's root element as a JSON object {"Root": ...} appended to
 * @out. Returns 0, or -1 with the problem and its byte offset in @err.
 */
int xml_to_json(const char *xml, size_t len, const struct xml_json_shapes *shapes,
		struct strbuf *out, char *err, size_t cap);

#endif
