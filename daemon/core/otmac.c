/* otmac.c — one-time MAC: Poly1305 from libsodium with a fresh PSRD key per message. */
#include <errno.h>
#include <sodium.h>

#include "core/otmac.h"

_Static_assert(OTMAC_KEY_LEN == crypto_onetimeauth_KEYBYTES, "Poly1305 key size");
_Static_assert(OTMAC_TAG_LEN == crypto_onetimeauth_BYTES, "Poly1305 tag size");

void otmac_tag(uint8_t tag[OTMAC_TAG_LEN], const uint8_t *msg, size_t len,
               const uint8_t key[OTMAC_KEY_LEN])
{
	crypto_onetimeauth(tag, msg, len, key);
}

/* crypto_onetimeauth_verify is constant time and returns 0 or -1; the result is mapped to
 * 0 / -EBADMSG without a branch so that the tag comparison stays branch-free up to the caller. */
int otmac_verify(const uint8_t tag[OTMAC_TAG_LEN], const uint8_t *msg, size_t len,
                 const uint8_t key[OTMAC_KEY_LEN])
{
	int r = crypto_onetimeauth_verify(tag, msg, len, key);

	return (int)((0u - (unsigned)(r != 0)) & (unsigned)-EBADMSG);
}
