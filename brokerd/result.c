#include "brokerd/result.h"

#include "proto/pval.h"

void
result_approved(struct pbuf *b, const char *request_id, const struct reg_device *d)
{
	pval_obj_begin(b);
	pval_kv_str(b, "requestId", request_id);
	pval_key(b, "device");
	registry_device_pval(b, d, REG_PV_PUBLIC, 0);
	pval_obj_end(b);
}

void
result_rejected(struct pbuf *b, const char *request_id, const char *device_id)
{
	pval_obj_begin(b);
	pval_kv_str(b, "requestId", request_id);
	pval_kv_str(b, "deviceId", device_id);
	pval_obj_end(b);
}

void
result_removed(struct pbuf *b, const char *device_id)
{
	pval_obj_begin(b);
	pval_kv_str(b, "deviceId", device_id);
	pval_obj_end(b);
}

void
result_renamed(struct pbuf *b, const char *device_id, const char *label)
{
	pval_obj_begin(b);
	pval_kv_str(b, "deviceId", device_id);
	pval_kv_str(b, "label", label);
	pval_obj_end(b);
}

void
result_rotated(struct pbuf *b, const char *device_id, const char *role,
    const struct pairing_rotation *rot)
{
	pval_obj_begin(b);
	pval_kv_str(b, "deviceId", device_id);
	pval_kv_str(b, "role", role);
	proto_kv_scopes(b, "scopes", &rot->scopes);
	pval_kv_int(b, "rotatedAtMs", rot->rotated_at_ms);
	pval_kv_str(b, "tokenDelivery", rot->in_band ? "in-band" : "withheld-cross-device");
	if (rot->in_band)
		pval_kv_str(b, "token", rot->token);
	pval_obj_end(b);
}

void
result_revoked(struct pbuf *b, const char *device_id, const char *role, int64_t revoked_at_ms)
{
	pval_obj_begin(b);
	pval_kv_str(b, "deviceId", device_id);
	pval_kv_str(b, "role", role);
	pval_kv_int(b, "revokedAtMs", revoked_at_ms);
	pval_obj_end(b);
}
