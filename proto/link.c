#include "proto/link.h"

#include <string.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include "common/log.h"

int
proto_link_read(struct evbuffer *in, uint32_t max_payload, proto_link_frame_cb cb, void *arg)
{
	for (;;) {
		size_t avail = evbuffer_get_length(in);
		uint8_t *p;
		struct proto_hdr hdr;

		if (avail < PROTO_HDR_LEN)
			return 0;
		p = evbuffer_pullup(in, PROTO_HDR_LEN);
		if (proto_hdr_parse(p, avail, max_payload, &hdr) != PROTO_FRAME_OK) {
			log_warnx("proto: bad frame header (length %u, flags %u)", hdr.len,
			    hdr.flags);
			return -1;
		}
		if (hdr.version != PROTO_VERSION) {
			log_warnx("proto: peer speaks version %u, this build speaks %u: "
			    "install matching gatewayd, brokerd and gatewayctl",
			    hdr.version, PROTO_VERSION);
			return -1;
		}
		if (avail < PROTO_HDR_LEN + (size_t)hdr.len)
			return 0;
		p = evbuffer_pullup(in, (ssize_t)(PROTO_HDR_LEN + hdr.len));
		if (cb(arg, &hdr, p + PROTO_HDR_LEN) != 0)
			return 1;
		/* Frames carry tokens and passwords: none stays in freed memory. */
		explicit_bzero(p, PROTO_HDR_LEN + hdr.len);
		evbuffer_drain(in, PROTO_HDR_LEN + hdr.len);
	}
}

int
proto_link_send(struct bufferevent *bev, uint16_t type, uint32_t id, const void *msg)
{
	static struct pbuf b;
	int r;

	pbuf_reset(&b);
	if (proto_encode(&b, type, id, msg) < 0) {
		log_warnx("proto: %s does not fit its layout; not sent", proto_type_name(type));
		return -1;
	}
	r = bufferevent_write(bev, b.data, b.len);
	explicit_bzero(b.data, b.len);
	return r;
}
