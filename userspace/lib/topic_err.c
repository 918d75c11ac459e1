// SPDX-License-Identifier: BSD-2-Clause
/* SNS error codes and HTTP statuses (topic.h), and the error helpers. */
#include "topic_int.h"

#include <stdio.h>
#include <string.h>

static const struct {
	const char *code;
	int status;
} errs[TE__COUNT] = {
	[TE_OK] = { "", 200 },
	[TE_INVALID_PARAMETER] = { "InvalidParameter", 400 },
	[TE_INVALID_PARAMETER_VALUE] = { "InvalidParameterValue", 400 },
	[TE_NOT_FOUND] = { "NotFound", 404 },
	[TE_RESOURCE_NOT_FOUND] = { "ResourceNotFound", 404 },
	[TE_TAG_LIMIT_EXCEEDED] = { "TagLimitExceeded", 400 },
	[TE_EMPTY_BATCH_REQUEST] = { "EmptyBatchRequest", 400 },
	[TE_TOO_MANY_ENTRIES_IN_BATCH_REQUEST] = { "TooManyEntriesInBatchRequest", 400 },
	[TE_BATCH_ENTRY_IDS_NOT_DISTINCT] = { "BatchEntryIdsNotDistinct", 400 },
	[TE_INVALID_BATCH_ENTRY_ID] = { "InvalidBatchEntryId", 400 },
	[TE_BATCH_REQUEST_TOO_LONG] = { "BatchRequestTooLong", 400 },
	[TE_AUTHORIZATION_ERROR] = { "AuthorizationError", 403 },
	[TE_INVALID_ACTION] = { "InvalidAction", 400 },
	[TE_INTERNAL_ERROR] = { "InternalError", 500 },
};

const char *topic_err_code(enum topic_err e)
{
	return e < TE__COUNT ? errs[e].code : "InternalError";
}

int topic_err_http_status(enum topic_err e)
{
	return e < TE__COUNT ? errs[e].status : 500;
}

bool topic_err_is_sender(enum topic_err e)
{
	return e != TE_OK && e != TE_INTERNAL_ERROR;
}

int terr(struct topic_result *res, enum topic_err code, const char *fmt, ...)
{
	va_list ap;

	res->code = code;
	va_start(ap, fmt);
	vsnprintf(res->message, sizeof(res->message), fmt, ap);
	va_end(ap);
	return -1;
}

void tok(struct topic_result *res)
{
	res->code = TE_OK;
	res->message[0] = '\0';
}

int terr_mdb(struct topic_result *res, int rc)
{
	struct queue_result qr;

	qerr_mdb(&qr, rc);
	return terr(res, TE_INTERNAL_ERROR, "%s", qr.message);
}

int terr_queue(struct topic_result *res, const struct queue_result *qr)
{
	static const enum topic_err map[QE__COUNT] = {
		[QE_EMPTY_BATCH_REQUEST] = TE_EMPTY_BATCH_REQUEST,
		[QE_TOO_MANY_ENTRIES_IN_BATCH_REQUEST] = TE_TOO_MANY_ENTRIES_IN_BATCH_REQUEST,
		[QE_BATCH_ENTRY_IDS_NOT_DISTINCT] = TE_BATCH_ENTRY_IDS_NOT_DISTINCT,
		[QE_INVALID_BATCH_ENTRY_ID] = TE_INVALID_BATCH_ENTRY_ID,
		[QE_BATCH_REQUEST_TOO_LONG] = TE_BATCH_REQUEST_TOO_LONG,
		[QE_INTERNAL_ERROR] = TE_INTERNAL_ERROR,
	};
	enum topic_err e = qr->code < QE__COUNT ? map[qr->code] : TE_INTERNAL_ERROR;

	return terr(res, e ? e : TE_INVALID_PARAMETER, "%s", qr->message);
}
