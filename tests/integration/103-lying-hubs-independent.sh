#!/bin/bash
# Lying hubs (issue 4), 5 hubs, k = 3. A lying hub runs the test build dske-hubd-faulty
# --fault corrupt-shares: it flips bits (a mask derived from its own name) in every share it
# delivers, re-encrypted and MAC'd as usual, so the responder authenticates a wrong share.
# - one hub, then two lying: every key the responder delivers is the initiator's key, and
#   dskectl status names the lying hubs (their fault counters), and only them;
# - three hubs lying, each corrupting INDEPENDENTLY (different masks, no collusion): no wrong key
#   is delivered, the responder answers an error instead.
# Only independent faults are tested: k or more COLLUDING hubs know the key and can substitute a
# consistent other one, which no receiver can detect (protocol.md section 1); this test does not
# and must not claim more.
. "$(dirname "$0")/lib-robust.sh"

[ -x "$DSKE_BIN/../tests/tools/dske-hubd-faulty" ] || fail "no dske-hubd-faulty (make test-build)"
lab_start
pairs 1 client1 client1_sae1 client2 client2_sae1

faults() {   # CLIENT HUB: the fault count client reports for hub
	client_hub "$1" "$2" .faults
}

# dskectl status of CLIENT: the hubs named with a fault count above 0
lying_named() {
	"$DSKE_BIN/dskectl" --socket "$(client_ctl "$1")" status > "$LAB_DIR/dskectl.out" 2>&1 ||
		fail "dskectl status: $(cat "$LAB_DIR/dskectl.out")"
	awk '$1 ~ /^hub[0-9]+$/ { for (i = 2; i < NF; i++) if ($i == "faults" && $(i + 1) > 0) print $1 }' \
		"$LAB_DIR/dskectl.out" | sort | tr '\n' ' '
}

# key pairs in both directions until each responder has met every lying hub's share (a
# responder rebuilds from the first k agreeing shares, so a lying share may go unseen in one
# pair); every key must be right, and dskectl status must name exactly the lying hubs
pairs_until_named() {   # EXPECTED ("hub4 hub5 "): at most 15 pairs each way
	local i n1 n2
	for ((i = 1; i <= 15; i++)); do
		pairs 1 client1 client1_sae1 client2 client2_sae1
		pairs 1 client2 client2_sae1 client1 client1_sae1
		n1=$(lying_named client1); n2=$(lying_named client2)
		[ "$n1" = "$1" ] && [ "$n2" = "$1" ] && { NPAIRS=$((2 * i)); return 0; }
		for n in $n1 $n2; do [[ " $1" == *" $n "* ]] || fail "dskectl status names honest $n as lying"; done
	done
	fail "after 30 key pairs dskectl status names '$n1' (client1) and '$n2' (client2), not '$1'"
}

lab_stop_hub hub5
lab_start_hub hub5 --fault corrupt-shares
pairs_until_named "hub5 "
pass "hub5 lying: $NPAIRS key pairs, every key right, dskectl status names hub5 ($(faults client2 hub5) faults at client2)"

lab_stop_hub hub4
lab_start_hub hub4 --fault corrupt-shares
pairs_until_named "hub4 hub5 "
pass "hub4 and hub5 lying: $NPAIRS key pairs, every key right, dskectl status names hub4 and hub5"

# three hubs corrupting independently: only 2 honest shares, fewer than k
lab_stop_hub hub3
lab_start_hub hub3 --fault corrupt-shares
for i in 1 2; do
	etsi_get_key client1 client1_sae1 client2_sae1 > /dev/null ||
		fail "Get key with 3 lying hubs: $ETSI_CODE $ETSI_BODY (storing shares needs no honest hub)"
	id=$(json '.keys[0].key_ID'); key=$(json '.keys[0].key')
	if etsi_get_key_with_ids client2 client2_sae1 client1_sae1 "$id" > /dev/null; then
		[ "$(json '.keys[0].key')" = "$key" ] || fail "a WRONG key was delivered for $id"
		fail "a key was delivered with only 2 honest shares of 3 needed (ids $id)"
	fi
	[[ $ETSI_CODE =~ ^[45][0-9][0-9]$ ]] || fail "Get key with key IDs with 3 lying hubs: $ETSI_CODE $ETSI_BODY"
	json_ok "$ETSI_BODY" && json .message > /dev/null || fail "error without a message: $ETSI_BODY"
	note "responder: $ETSI_CODE $(json .message)"
done
daemons_alive
pass "hub3, hub4 and hub5 corrupting independently: no wrong key, an error instead"
assert_eq "$MISMATCHES" 0 "key mismatches"
