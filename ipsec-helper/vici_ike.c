/* vici_ike.c — see vici_ike.h */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "swanctl_conf.h"
#include "vici_ike.h"

int vici_load_conn_text(struct vici_conn *c, const char *text, size_t len, const char *name,
                        const char *ppk_id, char *err, size_t errlen, unsigned *ret_line)
{
	struct vici_builder b;
	int r;

	vici_builder_init(&b, VICI_CMD_REQUEST, "load-conn");
	r = swanctl_conn_build(text, len, name, ppk_id, &b, ret_line);
	if (r < 0) {
		vici_builder_clear(&b);
		return r;
	}
	return vici_request_checked(c, &b, err, errlen);
}

int vici_initiate(struct vici_conn *c, const char *ike, const char *child, unsigned timeout_ms,
                  char *err, size_t errlen)
{
	struct vici_builder b;
	char t[16];

	snprintf(t, sizeof(t), "%u", timeout_ms);
	vici_builder_init(&b, VICI_CMD_REQUEST, "initiate");
	vici_builder_kv_str(&b, "ike", ike);
	if (child)
		vici_builder_kv_str(&b, "child", child);
	vici_builder_kv_str(&b, "timeout", t);
	vici_builder_kv_str(&b, "loglevel", "-1");
	return vici_request_checked(c, &b, err, errlen);
}

int vici_terminate_id(struct vici_conn *c, unsigned ike_id, unsigned timeout_ms, char *err,
                      size_t errlen)
{
	struct vici_builder b;
	char id[16], t[16];

	snprintf(id, sizeof(id), "%u", ike_id);
	snprintf(t, sizeof(t), "%u", timeout_ms);
	vici_builder_init(&b, VICI_CMD_REQUEST, "terminate");
	vici_builder_kv_str(&b, "ike-id", id);
	vici_builder_kv_str(&b, "timeout", t);
	vici_builder_kv_str(&b, "loglevel", "-1");
	return vici_request_checked(c, &b, err, errlen);
}

struct sa_collect {
	struct vici_sa *sas;
	size_t max, n;
};

/* list-sa event: { <conn-name> = { uniqueid state ppk established ... } } */
static void on_list_sa(const char *event, const struct vici_msg *m, void *userdata)
{
	struct sa_collect *col = userdata;

	for (size_t i = 0; i < m->count; i++) {
		const struct vici_elem *e = &m->elems[i];
		struct vici_sa sa = { 0 };
		char v[32];

		if (e->type != VICI_SECTION_START || e->depth != 0 || col->n >= col->max)
			continue;
		if (vici_msg_get_str(m, i, "uniqueid", v, sizeof(v)))
			sa.uniqueid = (unsigned)strtoul(v, NULL, 10);
		vici_msg_get_str(m, i, "state", sa.state, sizeof(sa.state));
		sa.ppk = vici_msg_get_str(m, i, "ppk", v, sizeof(v)) && strcmp(v, "yes") == 0;
		if (vici_msg_get_str(m, i, "established", v, sizeof(v)))
			sa.established = (unsigned)strtoul(v, NULL, 10);
		col->sas[col->n++] = sa;
	}
}

int vici_list_sas(struct vici_conn *c, const char *ike, struct vici_sa *sas, size_t max,
                  size_t *ret_n)
{
	struct sa_collect col = { .sas = sas, .max = max };
	struct vici_builder b;
	struct vici_reply rep;
	const uint8_t *seg;
	size_t len;
	int r;

	r = vici_register(c, "list-sa", on_list_sa, &col);
	if (r < 0)
		return r;
	vici_builder_init(&b, VICI_CMD_REQUEST, "list-sas");
	if (ike)
		vici_builder_kv_str(&b, "ike", ike);
	r = vici_builder_finish(&b, &seg, &len);
	if (r == 0)
		r = vici_request(c, seg, len, &rep);
	if (r == 0)
		vici_reply_free(&rep);
	vici_builder_clear(&b);
	vici_unregister(c, "list-sa");
	if (r == 0)
		*ret_n = col.n;
	return r;
}

struct conn_find {
	const char *name;
	int found;
};

static void on_list_conn(const char *event, const struct vici_msg *m, void *userdata)
{
	struct conn_find *f = userdata;

	if (vici_msg_find(m, SIZE_MAX, VICI_SECTION_START, f->name) != SIZE_MAX)
		f->found = 1;
}

int vici_conn_loaded(struct vici_conn *c, const char *name)
{
	struct conn_find f = { .name = name };
	struct vici_reply rep;
	int r;

	r = vici_register(c, "list-conn", on_list_conn, &f);
	if (r < 0)
		return r;
	r = vici_command(c, "list-conns", &rep);
	if (r == 0)
		vici_reply_free(&rep);
	vici_unregister(c, "list-conn");
	return r < 0 ? r : f.found;
}

struct conn_ppk {
	const char *name;
	char *ppk_id;
	size_t len;
	int found;
};

/* list-conn event: { <name> = { ..., ppk_id = <id>, ppk_required = yes, ... } } */
static void on_list_conn_ppk(const char *event, const struct vici_msg *m, void *userdata)
{
	struct conn_ppk *f = userdata;
	size_t sec = vici_msg_find(m, SIZE_MAX, VICI_SECTION_START, f->name);

	if (sec == SIZE_MAX)
		return;
	f->found = 1;
	if (!vici_msg_get_str(m, sec, "ppk_id", f->ppk_id, f->len))
		f->ppk_id[0] = '\0';
}

int vici_conn_ppk_id(struct vici_conn *c, const char *name, char *ppk_id, size_t len)
{
	struct conn_ppk f = { .name = name, .ppk_id = ppk_id, .len = len };
	struct vici_builder b;
	struct vici_reply rep;
	const uint8_t *seg;
	size_t slen;
	int r;

	if (!len)
		return -EINVAL;
	ppk_id[0] = '\0';
	r = vici_register(c, "list-conn", on_list_conn_ppk, &f);
	if (r < 0)
		return r;
	vici_builder_init(&b, VICI_CMD_REQUEST, "list-conns");
	vici_builder_kv_str(&b, "ike", name);
	r = vici_builder_finish(&b, &seg, &slen);
	if (r == 0)
		r = vici_request(c, seg, slen, &rep);
	if (r == 0)
		vici_reply_free(&rep);
	vici_builder_clear(&b);
	vici_unregister(c, "list-conn");
	return r < 0 ? r : f.found;
}
