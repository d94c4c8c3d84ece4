/* format.h — dskectl's human-readable output. Pure formatting to a FILE; no network. */
#pragma once
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>

/* A byte count as "512 B", "3.5 KiB", "4.0 MiB", "1.2 GiB" into buf. Returns buf. */
const char *format_bytes(uint64_t n, char *buf, size_t len);

/* "[#####...............]" with width cells for remaining/total into buf. Returns buf. */
const char *format_bar(uint64_t remaining, uint64_t total, unsigned width, char *buf, size_t len);

/* The status JSON of either daemon (docs/internals.md section 4): name and role, hubs (client)
 * or clients (hub) with up/down, PSRD remaining per stream with a bar, faults, key and share
 * counters, alarms, warnings. Absent fields are skipped. */
void format_status(FILE *f, json_t *st);

/* Any JSON value as indented "name: value" lines (objects), "- " items (arrays). */
void format_json_human(FILE *f, json_t *v, unsigned indent);

/* An ETSI key container: one line per key, "<key_ID> <key as lowercase hex>". The decoded key
 * bytes live in sodium_malloc memory and are wiped. 0, -EBADMSG (not a key container). */
int format_keys(FILE *f, json_t *container);
/* GET /v1/keys of a client (the keyring): a table. 0, or -1 if it is not that JSON. */
int format_keyring(FILE *f, json_t *j);
