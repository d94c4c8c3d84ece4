/* scratch.h — per-thread guarded scratch memory for secrets on hot paths (Shamir coefficients,
 * reconstruction candidates, one-time MAC keys). sodium_malloc costs 10-30 us (mmap, mprotect,
 * mlock), more than the arithmetic it protects; each thread keeps one guarded, locked buffer per
 * slot, grown when needed and freed (zeroed) when the thread exits. The caller wipes what it used
 * with scratch_put() before returning, so no secret outlives its call. Not reentrant per slot:
 * a function that holds a slot must not call another that takes the same slot. No logging. */
#pragma once
#include <stddef.h>
#include <stdint.h>

enum scratch_slot {
	SCRATCH_SHAMIR,      /* shamir_split coefficients */
	SCRATCH_RECON,       /* reconstruct_key candidates */
	SCRATCH_MAC,         /* link_seal / link_open MAC key */
	SCRATCH_SLOTS,
};

/* At least len bytes of this thread's guarded buffer for slot; NULL on ENOMEM. */
uint8_t *scratch_get(enum scratch_slot slot, size_t len);
/* Wipe the first len bytes of the slot's buffer (p as returned by scratch_get). */
void scratch_put(enum scratch_slot slot, uint8_t *p, size_t len);
