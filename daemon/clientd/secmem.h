/* secmem.h — guarded, locked buffers for short-lived secrets (shares, pads, key batches) without
 * an mmap/mprotect/mlock/munmap round trip per use: sodium_malloc'd blocks of a few size classes
 * are wiped on release and kept for reuse (a bounded number per class). Larger requests go to
 * sodium_malloc directly. Thread-safe. */
#pragma once
#include <stddef.h>

/* n bytes (contents unspecified), or NULL. Free with secmem_free(). */
void *secmem_alloc(size_t n);
/* Wipes and releases p (NULL-safe). */
void secmem_free(void *p);
/* Frees every cached block (at exit; tests). */
void secmem_drain(void);
