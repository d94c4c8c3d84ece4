#!/bin/bash
# Lost responses (issue 4): the hub's answer is lost after the hub acted.
# 1. Between both clients and hub1 runs dske-lossy (tests/tools), a proxy that throws away every
#    third answer to SHARE_PUT, SHARE_GET and SHARE_RELEASE after hub1 acted and cuts the
#    connection. Over key pairs both ways: every retry it sees either repeats the frame byte for
#    byte or uses fresh PSRD (a reused mac_off with other bytes would be logged as NEWCONTENT);
#    no key mismatch; and each key is stored once at hub1 (its share sequence advances exactly
#    as hub2's, which loses nothing), never twice or half.
# 2. The same at the frame level with dske-forge on a copy of client1's state for hub2: a
#    SHARE_PUT whose answer is lost, retried byte-identically, gets the identical answer from the
#    hub's cache; new content under the old offsets is refused (409); a retry on fresh PSRD is
#    answered ALREADY; the share is stored once.
# (Killing the client right after sending is covered by 105-crash.sh.)
. "$(dirname "$0")/lib-robust.sh"

LOSSY=$DSKE_BIN/../tests/tools/dske-lossy
FORGE=$DSKE_BIN/../tests/tools/dske-forge
[ -x "$LOSSY" ] && [ -x "$FORGE" ] || fail "no dske-lossy or dske-forge (make test-build)"
lab_start
W=$(lib_mktemp)
hport=${DSKE_HUB_hub1_URL##*:}
"$LOSSY" --upstream "127.0.0.1:$hport" --log "$W/lossy.log" --port-file "$W/port" --drop-every 3 &
lossy=$!
on_exit "kill $lossy 2>/dev/null"
wait_for -t 5 test -s "$W/port" || fail "dske-lossy did not start"
pport=$(cat "$W/port")
for c in client1 client2; do
	lab_stop_client "$c"
	sed -i "s|^url = http://127.0.0.1:$hport\$|url = http://127.0.0.1:$pport|" "$(v DSKE_CLIENT_${c}_CONF)"
	grep -q ":$pport\$" "$(v DSKE_CLIENT_${c}_CONF)" || fail "$c's config does not point at the proxy"
	lab_start_client "$c"
done
seq1=$(hub_status hub1 | jq -r .shares.last_seq); seq2=$(hub_status hub2 | jq -r .shares.last_seq)
pairs 8 client1 client1_sae1 client2 client2_sae1
pairs 8 client2 client2_sae1 client1 client1_sae1
# the initiator returns keys once k + 1 hubs acknowledged: the last SHARE_PUTs (and their
# retries through the proxy) may still be on their way; wait until both hubs settled
settled() {
	d1=$(($(curl -s --unix-socket "$(hub_ctl hub1)" http://l/v1/status | jq -r .shares.last_seq) - seq1))
	d2=$(($(curl -s --unix-socket "$(hub_ctl hub2)" http://l/v1/status | jq -r .shares.last_seq) - seq2))
	[ "$d1" = "$d2" ]
}
wait_for -t 10 settled
dropped=$(grep -c ' dropped$' "$W/lossy.log"); same=$(grep -c ' identical ' "$W/lossy.log")
note "dske-lossy: $(wc -l < "$W/lossy.log") frames, $dropped answers thrown away, $same byte-identical retries"
grep ' NEWCONTENT ' "$W/lossy.log" && fail "a retry carried new content under old offsets"
[ "$dropped" -gt 0 ] || fail "dske-lossy dropped nothing"
[ "$same" -gt 0 ] || fail "no byte-identical retry seen"
assert_eq "$d1" "$d2" "shares stored at hub1 (answers lost) and hub2 (none lost) for the same keys"
assert_eq "$(hub_status hub1 | jq -r .alarms.conflicts)" 0 "frames reusing a mac_off with other bytes at hub1"
assert_eq "$MISMATCHES" 0 "key mismatches"
pass "16 key pairs with every third answer of hub1 lost: retries byte-identical or fresh, $d1 shares stored once each, no mismatch"

cp -a "$(v DSKE_CLIENT_client1_STATE)/psrd/hub2" "$W/c1hub2" || fail "copy of client1's state"
stored=$(hub_status hub2 | jq -r .shares.stored)
out=$("$FORGE" --dir "$W/c1hub2" --client client1 --hub hub2 --url "$(hub_url hub2)" \
	--sae client1_sae1 --resp client2:client2_sae1 --x 2 put-lost 2>&1) || fail "dske-forge: $out"
note "${out//$'\n'/$'\n'   }"
assert_match "$(grep '^put-lost-retry ' <<< "$out")" 'code=200 retry=identical status=OK' "byte-identical retry of a SHARE_PUT whose answer was lost"
assert_match "$(grep '^put-lost-newcontent ' <<< "$out")" 'code=409' "new content under the old offsets"
assert_match "$(grep '^put-lost-fresh ' <<< "$out")" 'code=200 status=ALREADY' "the same share again on fresh PSRD"
assert_eq "$(hub_status hub2 | jq -r .shares.stored)" "$((stored + 1))" "shares stored at hub2"
pass "frame level: identical retry answered from the cache, new content under old offsets refused, fresh retry ALREADY, stored once"
