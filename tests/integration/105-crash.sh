#!/bin/bash
# Crashes (issue 4): SIGKILL a hub, and separately each client, in the middle of a loop of key
# requests, then restart it:
# - zero key mismatches: a key the responder delivers is always the initiator's key; a key whose
#   fetch failed because the responder died is, after its restart, delivered (the same key) or
#   refused as not found, never another key;
# - zero PSRD offsets handed out twice, across the restarts (the allocation audit: every sender
#   stream keeps NAME.audit with psrd_audit = yes; a restarted daemon goes on from its durable
#   reservation mark);
# - shares pending at a hub survive its crash and are still delivered: keys made while the
#   responder is down, then the hub SIGKILLed and restarted, then the responder started.
. "$(dirname "$0")/lib-robust.sh"

lab_start --audit
W=$(lib_mktemp)
pairs 2 client1 client1_sae1 client2 client2_sae1

# loop OUT: key pairs client1 -> client2 until OUT.stop exists; one line per pair:
#   ok ID | init-fail CODE | resp-fail ID KEY CODE | MISMATCH ID
loop() {
	local out=$1 r
	while [ ! -e "$out.stop" ]; do
		pair client1 client1_sae1 client2 client2_sae1
		r=$?
		case $r in
		0) echo "ok $PAIR_ID";;
		1) echo "init-fail $ETSI_CODE";;
		2) echo "resp-fail $PAIR_ID $PAIR_KEY $ETSI_CODE";;
		*) echo "MISMATCH $PAIR_ID";;
		esac
	done >> "$out"
}
oks() { grep -c '^ok' "$1" 2>/dev/null; }
more_oks() {   # FILE N: wait until N more pairs succeeded than now
	local want=$(($(oks "$1") + $2))
	wait_for -t 30 bash -c "[ \$(grep -c '^ok' '$1') -ge $want ]"
}
start_loop() { : > "$1"; loop "$1" & LOOP_PID=$!; on_exit "touch '$1.stop'; kill $LOOP_PID 2>/dev/null"; }
stop_loop() { touch "$1.stop"; wait "$LOOP_PID"; }
check_loop() {   # FILE WHAT
	grep '^MISMATCH' "$1" && fail "$2: key mismatch"
	note "$2: $(oks "$1") pairs ok, $(grep -c 'fail' "$1") failed while a node was down"
}

# ---- a hub SIGKILLed in the middle of the loop, restarted
start_loop "$W/a"
more_oks "$W/a" 3 || fail "the loop does not make keys"
lab_stop_hub hub2 --kill
more_oks "$W/a" 3 || fail "no keys with hub2 killed: $(tail -3 "$W/a")"
lab_start_hub hub2
more_oks "$W/a" 3 || fail "no keys after hub2's restart: $(tail -3 "$W/a")"
stop_loop "$W/a"
check_loop "$W/a" "hub2 SIGKILLed and restarted"
pass "hub2 SIGKILLed mid-loop and restarted: no mismatch"

# ---- the responder SIGKILLed in the middle of the loop, restarted
start_loop "$W/b"
more_oks "$W/b" 3 || fail "the loop does not make keys"
lab_stop_client client2 --kill
wait_for -t 30 grep -q '^resp-fail' "$W/b" || fail "no failed fetch while client2 was down"
lab_start_client client2
more_oks "$W/b" 3 || fail "no keys after client2's restart: $(tail -3 "$W/b")"
stop_loop "$W/b"
check_loop "$W/b" "client2 SIGKILLed and restarted"
got=0; gone=0
while read -r _ id key _; do
	if etsi_get_key_with_ids client2 client2_sae1 client1_sae1 "$id"; then
		[ "$(json '.keys[0].key')" = "$key" ] || fail "key $id: client2 delivers another key after its crash"
		got=$((got + 1))
	else
		assert_eq "$ETSI_CODE" 400 "key $id after client2's restart: $ETSI_BODY"
		gone=$((gone + 1))
	fi
done < <(grep '^resp-fail' "$W/b")
[ "$got" -gt 0 ] || fail "none of the keys made while client2 was down was delivered after its restart"
pass "client2 SIGKILLed mid-loop and restarted: no mismatch; keys whose fetch failed: $got delivered after the restart (same key), $gone refused"

# ---- the initiator SIGKILLed in the middle of the loop, restarted
start_loop "$W/c"
more_oks "$W/c" 3 || fail "the loop does not make keys"
lab_stop_client client1 --kill
wait_for -t 30 grep -q '^init-fail' "$W/c" || fail "no failed Get key while client1 was down"
lab_start_client client1
more_oks "$W/c" 3 || fail "no keys after client1's restart: $(tail -3 "$W/c")"
stop_loop "$W/c"
check_loop "$W/c" "client1 SIGKILLed and restarted"
pass "client1 SIGKILLed mid-loop and restarted: no mismatch"

# ---- shares pending at a hub survive its crash
lab_stop_client client2
ids=(); keys=()
for i in 1 2 3; do
	etsi_get_key client1 client1_sae1 client2_sae1 || fail "Get key with client2 down: $ETSI_CODE $ETSI_BODY"
	ids+=("$(json '.keys[0].key_ID')"); keys+=("$(json '.keys[0].key')")
done
stored=$(hub_status hub1 | jq -r .shares.stored)
[ "$stored" -ge 3 ] || fail "hub1 holds $stored shares, expected at least 3"
lab_stop_hub hub1 --kill
lab_start_hub hub1
assert_eq "$(hub_status hub1 | jq -r .shares.stored)" "$stored" "shares held by hub1 after SIGKILL and restart"
lab_stop_hub hub2 --kill      # and one more hub down: hub1's shares are needed (k = 3 of 4 live)
lab_stop_hub hub3 --kill
lab_start_client client2
for i in 0 1 2; do
	etsi_get_key_with_ids client2 client2_sae1 client1_sae1 "${ids[$i]}" ||
		fail "key ${ids[$i]} made while client2 was down: $ETSI_CODE $ETSI_BODY"
	assert_eq "$(json '.keys[0].key')" "${keys[$i]}" "key ${ids[$i]}"
done
# delivered keys are released: hub1 wipes their shares (other shares may stay: a SHARE_PUT that
# reached hub1 while client1 was being killed leaves a share no SAE will ask for, until expiry)
wait_for -t 20 bash -c ". '$LAB_DIR/lab.env'; [ \"\$(curl -s --unix-socket \$DSKE_HUB_hub1_CTL http://l/v1/status | jq -r .shares.stored)\" -le $((stored - 3)) ]" ||
	fail "hub1 still holds the shares after delivery: $(hub_status hub1 | jq -c .shares)"
pass "3 keys pending at the hubs, hub1 SIGKILLed and restarted, hub2 and hub3 killed: all delivered by client2, then released"
lab_start_hub hub2
lab_start_hub hub3

n=$(audit_check "$LAB_DIR") || exit 1
pass "allocation audit across 5 crashes: $n allocations, no PSRD offset handed out twice"
