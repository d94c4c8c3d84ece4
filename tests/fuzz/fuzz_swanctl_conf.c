/* fuzz_swanctl_conf.c — the swanctl.conf-syntax connection parser on arbitrary text. */
#include <stddef.h>
#include <stdint.h>
#include "swanctl_conf.h"
#include "vici_msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vici_builder b;
	const uint8_t *seg;
	size_t len;
	unsigned line;

	vici_builder_init(&b, VICI_CMD_REQUEST, "load-conn");
	if (swanctl_conn_build((const char *)data, size, "dske", "k1@link", &b, &line) == 0 &&
	    vici_builder_finish(&b, &seg, &len) == 0) {
		struct vici_packet p;
		struct vici_msg m;
		/* what we build must decode strictly */
		if (vici_packet_parse(seg + 4, len - 4, &p) != 0 ||
		    vici_msg_parse(p.msg, p.msg_len, &m, NULL) != 0)
			__builtin_trap();
		vici_msg_free(&m);
	}
	vici_builder_clear(&b);
	return 0;
}
