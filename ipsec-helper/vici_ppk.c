/* vici_ppk.c — see vici_ppk.h */
#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include "vici_ppk.h"

int vici_ppk_load(struct vici_conn *c, const char *id, const uint8_t *key, size_t len,
                  const char *ppk_id, char *err, size_t errlen)
{
	struct vici_builder b;

	if (!id || !*id || !ppk_id || !*ppk_id || len == 0)
		return -EINVAL;
	vici_builder_init(&b, VICI_CMD_REQUEST, "load-shared");
	vici_builder_kv_str(&b, "id", id);
	vici_builder_kv_str(&b, "type", "ppk");
	vici_builder_kv(&b, "data", key, len);
	vici_builder_list_start(&b, "owners");
	vici_builder_list_item_str(&b, ppk_id);
	vici_builder_list_end(&b);
	return vici_request_checked(c, &b, err, errlen);
}

int vici_ppk_unload(struct vici_conn *c, const char *id, char *err, size_t errlen)
{
	struct vici_builder b;

	if (!id || !*id)
		return -EINVAL;
	vici_builder_init(&b, VICI_CMD_REQUEST, "unload-shared");
	vici_builder_kv_str(&b, "id", id);
	return vici_request_checked(c, &b, err, errlen);
}

int vici_shared_has(struct vici_conn *c, const char *id)
{
	struct vici_reply rep;
	size_t list, n = strlen(id);
	int r, found = 0;

	r = vici_command(c, "get-shared", &rep);
	if (r < 0)
		return r;
	list = vici_msg_find(&rep.msg, SIZE_MAX, VICI_LIST_START, "keys");
	if (list != SIZE_MAX)
		for (size_t i = list + 1; i < rep.msg.elems[list].end; i++) {
			const struct vici_elem *e = &rep.msg.elems[i];
			if (e->value_len == n && memcmp(e->value, id, n) == 0)
				found = 1;
		}
	vici_reply_free(&rep);
	return found;
}

int vici_shared_list(struct vici_conn *c, const char *prefix, char (*ids)[VICI_SHARED_ID_MAX],
                     size_t max, size_t *ret_n)
{
	struct vici_reply rep;
	size_t list, n = 0, plen = strlen(prefix);
	int r;

	r = vici_command(c, "get-shared", &rep);
	if (r < 0)
		return r;
	list = vici_msg_find(&rep.msg, SIZE_MAX, VICI_LIST_START, "keys");
	if (list != SIZE_MAX)
		for (size_t i = list + 1; i < rep.msg.elems[list].end && n < max; i++) {
			const struct vici_elem *e = &rep.msg.elems[i];
			if (e->value_len < plen || e->value_len >= VICI_SHARED_ID_MAX ||
			    memcmp(e->value, prefix, plen) != 0 || memchr(e->value, 0, e->value_len))
				continue;
			memcpy(ids[n], e->value, e->value_len);
			ids[n][e->value_len] = '\0';
			n++;
		}
	vici_reply_free(&rep);
	*ret_n = n;
	return 0;
}
