/* fuzz_vici.c — the VICI decoders on arbitrary bytes: vici_packet_parse then vici_msg_parse on
 * its message, with every lookup the PPK sink uses. Must never crash or leak. */
#include <stddef.h>
#include <stdint.h>
#include "vici_msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vici_packet p;
	struct vici_msg m;
	char s[64];
	size_t off;

	if (vici_packet_parse(data, size, &p) < 0)
		return 0;
	if (vici_msg_parse(p.msg, p.msg_len, &m, &off) < 0)
		return 0;
	(void)vici_msg_success(&m, s, sizeof(s));
	for (size_t i = 0; i < m.count; i++)
		if (m.elems[i].type == VICI_SECTION_START)
			(void)vici_msg_get_str(&m, i, "state", s, sizeof(s));
	vici_msg_free(&m);
	return 0;
}
