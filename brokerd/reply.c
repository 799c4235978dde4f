#include "brokerd/reply.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <openssl/crypto.h>

#include "proto/pval.h"

void
reply_init(struct reply *r)
{
	memset(r, 0, sizeof(*r));
	pbuf_init(&r->payload);
	pbuf_init(&r->details);
	r->ok = 1;
	r->error.retry_after_ms = -1;
}

void
reply_fail(struct reply *r, const char *code, const char *fmt, ...)
{
	char message[sizeof(r->error.message)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(message, sizeof(message), fmt, ap);
	va_end(ap);
	r->ok = 0;
	proto_error_set(&r->error, code, "%s", message);
}

void
reply_seal(struct reply *r, uint8_t *ok, struct proto_blob *payload, struct proto_error *error)
{
	*ok = r->ok;
	*error = r->error;
	if (r->ok)
		*payload = proto_blob_of(&r->payload);
	else if (r->details.len > 0)
		error->details = proto_blob_of(&r->details);
}

void
reply_free(struct reply *r)
{
	if (r->payload.data != NULL)
		OPENSSL_cleanse(r->payload.data, r->payload.len);
	pbuf_free(&r->payload);
	pbuf_free(&r->details);
}
