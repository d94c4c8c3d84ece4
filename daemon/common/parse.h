/* parse.h — strict parsers for config and command-line values. Pure. */
#pragma once
#include <stdbool.h>
#include <stdint.h>

/* "4096", "64K", "64M", "1G" (binary units, optional "iB"/"B"). 0 or -EINVAL/-ERANGE. */
int parse_size(const char *s, uint64_t *ret);
/* "250ms", "2s", "5m", "1h", plain number = seconds. In milliseconds. 0 or -EINVAL/-ERANGE. */
int parse_duration_ms(const char *s, uint64_t *ret);
/* Decimal unsigned in [min, max], no sign, no junk. 0 or -EINVAL/-ERANGE. */
int parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *ret);
/* "yes"/"no"/"true"/"false"/"1"/"0". 0 or -EINVAL. */
int parse_bool(const char *s, bool *ret);
