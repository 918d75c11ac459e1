// SPDX-License-Identifier: BSD-2-Clause
/* SQS error names, protocol codes and HTTP statuses (queue.h). */
#include "queue_int.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static const struct {
	const char *code; /* query protocol <Code> */
	const char *type; /* JSON protocol __type */
	int status;
} errs[QE__COUNT] = {
	[QE_OK] = { "", "", 200 },
	[QE_INVALID_PARAMETER_VALUE] = { "InvalidParameterValue", "InvalidParameterValue", 400 },
	[QE_MISSING_PARAMETER] = { "MissingParameter", "MissingParameter", 400 },
	[QE_INVALID_ATTRIBUTE_NAME] = { "InvalidAttributeName", "InvalidAttributeName", 400 },
	[QE_INVALID_ATTRIBUTE_VALUE] = { "InvalidAttributeValue", "InvalidAttributeValue", 400 },
	[QE_QUEUE_DOES_NOT_EXIST] = { "AWS.SimpleQueueService.NonExistentQueue",
				      "QueueDoesNotExist", 400 },
	[QE_QUEUE_ALREADY_EXISTS] = { "QueueAlreadyExists", "QueueNameExists", 400 },
	[QE_QUEUE_DELETED_RECENTLY] = { "AWS.SimpleQueueService.QueueDeletedRecently",
					"QueueDeletedRecently", 400 },
	[QE_PURGE_QUEUE_IN_PROGRESS] = { "AWS.SimpleQueueService.PurgeQueueInProgress",
					 "PurgeQueueInProgress", 403 },
	[QE_RECEIPT_HANDLE_IS_INVALID] = { "ReceiptHandleIsInvalid", "ReceiptHandleIsInvalid",
					   404 },
	[QE_MESSAGE_NOT_INFLIGHT] = { "AWS.SimpleQueueService.MessageNotInflight",
				      "MessageNotInflight", 400 },
	[QE_INVALID_MESSAGE_CONTENTS] = { "InvalidMessageContents", "InvalidMessageContents", 400 },
	[QE_TOO_MANY_ENTRIES_IN_BATCH_REQUEST] = { "AWS.SimpleQueueService."
						   "TooManyEntriesInBatchRequest",
						   "TooManyEntriesInBatchRequest", 400 },
	[QE_BATCH_ENTRY_IDS_NOT_DISTINCT] = { "AWS.SimpleQueueService.BatchEntryIdsNotDistinct",
					      "BatchEntryIdsNotDistinct", 400 },
	[QE_EMPTY_BATCH_REQUEST] = { "AWS.SimpleQueueService.EmptyBatchRequest",
				     "EmptyBatchRequest", 400 },
	[QE_INVALID_BATCH_ENTRY_ID] = { "AWS.SimpleQueueService.InvalidBatchEntryId",
					"InvalidBatchEntryId", 400 },
	[QE_BATCH_REQUEST_TOO_LONG] = { "AWS.SimpleQueueService.BatchRequestTooLong",
					"BatchRequestTooLong", 400 },
	[QE_RESOURCE_NOT_FOUND] = { "ResourceNotFoundException", "ResourceNotFoundException", 404 },
	[QE_UNSUPPORTED_OPERATION] = { "AWS.SimpleQueueService.UnsupportedOperation",
				       "UnsupportedOperation", 400 },
	[QE_OVER_LIMIT] = { "OverLimit", "OverLimit", 403 },
	[QE_INTERNAL_ERROR] = { "InternalError", "InternalError", 500 },
};

const char *queue_err_code(enum queue_err e)
{
	return e < QE__COUNT ? errs[e].code : "InternalError";
}

const char *queue_err_type(enum queue_err e)
{
	return e < QE__COUNT ? errs[e].type : "InternalError";
}

int queue_err_http_status(enum queue_err e)
{
	return e < QE__COUNT ? errs[e].status : 500;
}

bool queue_err_is_sender(enum queue_err e)
{
	return e != QE_OK && e != QE_INTERNAL_ERROR;
}

int qerr(struct queue_result *res, enum queue_err code, const char *fmt, ...)
{
	va_list ap;

	res->code = code;
	va_start(ap, fmt);
	vsnprintf(res->message, sizeof(res->message), fmt, ap);
	va_end(ap);
	return -1;
}

void qok(struct queue_result *res)
{
	res->code = QE_OK;
	res->message[0] = '\0';
}

static const char full_msg[] = "The queue store is full";

bool qerr_is_full(const struct queue_result *res)
{
	return res->code == QE_INTERNAL_ERROR && !strncmp(res->message, full_msg, strlen(full_msg));
}

int qerr_mdb(struct queue_result *res, int rc)
{
	if (rc == MDB_MAP_FULL || rc == ENOSPC)
		return qerr(res, QE_INTERNAL_ERROR, "%s: %s", full_msg, mdb_strerror(rc));
	return qerr(res, QE_INTERNAL_ERROR, "Queue store failure: %s", mdb_strerror(rc));
}
