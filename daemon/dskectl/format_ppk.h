/* format_ppk.h — dskectl's human output for the PPK endpoints of dske-clientd. */
#pragma once
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

/* GET /v1/ppk: per peer its link, role, charon, connection and IKE SA (initiator), counters,
 * and one line per PPK (state, PPK_ID, fingerprint, loaded, age). */
void format_ppk(FILE *f, json_t *j);
/* POST /v1/ppk/roll: one line per peer rolled. */
void format_ppk_roll(FILE *f, json_t *j);
