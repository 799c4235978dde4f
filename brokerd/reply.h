/*
 * An answer under construction, the same for an RPC (rpc.c, sent as a
 * BR_RPC_RESULT) and a control command (control.c, sent as a CTL_RESULT):
 * either ok with a payload, or an error with a code, a message and, at times,
 * details. Handlers write the payload or fail; the owner seals the answer into
 * its message and frees it.
 */
#ifndef BROKERD_REPLY_H
#define BROKERD_REPLY_H

#include <stdint.h>

#include "proto/proto.h"

struct reply {
	uint8_t ok;
	struct pbuf payload;		/* the answer when ok */
	struct proto_error error;	/* when not ok */
	struct pbuf details;		/* error.details, if any */
};

/* Starts an ok answer with an empty payload. */
void reply_init(struct reply *r);
/* Turns the answer into an error with code and message (printf-style, cut to fit). */
void reply_fail(struct reply *r, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Fills a message's ok, payload and error from the answer; they point into r
 * until reply_free. */
void reply_seal(struct reply *r, uint8_t *ok, struct proto_blob *payload,
    struct proto_error *error);
/* Wipes the payload (it may be a token) and frees the answer. */
void reply_free(struct reply *r);

#endif
