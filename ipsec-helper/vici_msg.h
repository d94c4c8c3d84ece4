/* vici_msg.h — the strongSwan VICI wire format (strongswan-ppk.md section 4; strongSwan's
 * src/libcharon/plugins/vici/README.md): encode requests, strictly decode packets and messages.
 * Pure functions, no I/O, no logging. A segment is: u32 BE length | packet type u8 | (named
 * packets) u8 name length + name | message. A message is a sequence of elements:
 *   1 SECTION_START u8 len+name   2 SECTION_END   3 KEY_VALUE u8 len+name, u16 BE len+value
 *   4 LIST_START u8 len+name      5 LIST_ITEM u16 BE len+value   6 LIST_END
 * Values may hold key bytes (load-shared data): builders wipe their buffers when cleared. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VICI_SEGMENT_MAX (512u * 1024u)
#define VICI_DEPTH_MAX 16
#define VICI_ELEMS_MAX 8192          /* elements per message (bounds the duplicate-key scan) */

enum vici_packet_type {
	VICI_CMD_REQUEST = 0,
	VICI_CMD_RESPONSE = 1,
	VICI_CMD_UNKNOWN = 2,
	VICI_EVENT_REGISTER = 3,
	VICI_EVENT_UNREGISTER = 4,
	VICI_EVENT_CONFIRM = 5,
	VICI_EVENT_UNKNOWN = 6,
	VICI_EVENT = 7,
};

enum vici_elem_type {
	VICI_SECTION_START = 1,
	VICI_SECTION_END = 2,
	VICI_KEY_VALUE = 3,
	VICI_LIST_START = 4,
	VICI_LIST_ITEM = 5,
	VICI_LIST_END = 6,
};

/* ---- building a request (the whole segment, length prefix included) */
struct vici_builder {
	uint8_t *buf;          /* sodium_malloc'd? no: malloc'd, wiped on clear */
	size_t len, cap;
	int err;               /* first error, sticky: -EINVAL, -E2BIG, -ENOMEM */
	unsigned depth;
	bool in_list;
};

/* Start a segment of the given packet type; name for named packets (NULL otherwise). */
void vici_builder_init(struct vici_builder *b, enum vici_packet_type type, const char *name);
void vici_builder_section_start(struct vici_builder *b, const char *name);
void vici_builder_section_end(struct vici_builder *b);
void vici_builder_kv(struct vici_builder *b, const char *name, const void *value, size_t len);
void vici_builder_kv_str(struct vici_builder *b, const char *name, const char *value);
void vici_builder_list_start(struct vici_builder *b, const char *name);
void vici_builder_list_item(struct vici_builder *b, const void *value, size_t len);
void vici_builder_list_item_str(struct vici_builder *b, const char *value);
void vici_builder_list_end(struct vici_builder *b);
/* Close the segment: *ret points into the builder (valid until vici_builder_clear), *ret_len.
 * 0 or the sticky error (unbalanced sections/lists are -EINVAL). */
int vici_builder_finish(struct vici_builder *b, const uint8_t **ret, size_t *ret_len);
void vici_builder_clear(struct vici_builder *b);   /* wipes and frees */

/* ---- decoding */
struct vici_packet {
	uint8_t type;                  /* enum vici_packet_type */
	char name[256];                /* named packets; "" otherwise */
	const uint8_t *msg;            /* points into the input */
	size_t msg_len;
};
/* Parse one packet (the bytes after the u32 length). -EBADMSG: empty, unknown type, truncated
 * name, a message on a packet type that has none. Pure. */
int vici_packet_parse(const uint8_t *buf, size_t len, struct vici_packet *ret);

struct vici_elem {
	uint8_t type;                  /* enum vici_elem_type */
	uint8_t depth;                 /* section depth at this element (0 = top level) */
	uint8_t name_len;
	const char *name;              /* points into the input, not NUL-terminated */
	uint16_t value_len;
	const uint8_t *value;          /* KEY_VALUE, LIST_ITEM: points into the input */
	uint32_t end;                  /* SECTION_START, LIST_START: index of the matching END */
};

struct vici_msg {
	size_t count;
	struct vici_elem *elems;       /* owned */
};
/* Strict parse of a message: known element types, exact lengths, sections balanced and at most
 * VICI_DEPTH_MAX deep, lists hold only items and do not nest, items only in lists, names
 * non-empty, keys unique within a section. -EBADMSG with *ret_off = offset of the fault,
 * -ENOMEM. Pure. */
int vici_msg_parse(const uint8_t *buf, size_t len, struct vici_msg *ret, size_t *ret_off);
void vici_msg_free(struct vici_msg *m);

/* Lookups among the direct children of the section starting at index parent (SIZE_MAX = the top
 * level). Return the element index or SIZE_MAX. */
size_t vici_msg_find(const struct vici_msg *m, size_t parent, enum vici_elem_type type,
                     const char *name);
/* Copy a KEY_VALUE's value as a string (NUL-terminated, truncated to n-1). false if absent. */
bool vici_msg_get_str(const struct vici_msg *m, size_t parent, const char *name, char *out,
                      size_t n);
/* A command reply: true if success=yes; else copies errmsg (or "") into err. */
bool vici_msg_success(const struct vici_msg *m, char *err, size_t n);
