#!/bin/bash
# Forged and replayed frames straight to a hub (issue 4). dske-forge (tests/tools) builds frames
# with the real core/link.h and core/wire.h on a COPY of client3's PSRD state for hub1 (client3
# is stopped, so only these frames move hub1's PSRD for client3) and posts them to hub1:
# - bit flips, a wrong MAC, truncated/extended frames, wrong version/flags/receiver/sender,
#   answer types, garbage, oversized frames, forged frames far ahead, ranges behind the mark:
#   refused with the right status, and hub1's PSRD levels for client3 do not move;
# - a genuine frame far ahead (as a client restarted from its reservation mark sends) is
#   accepted, even at the offset where a forged frame was refused (the refusal burned nothing);
# - a replayed frame is answered from the hub's cache byte for byte, using no PSRD; other bytes
#   under a used mac_off, and pads overlapping used ranges, are refused (409);
# - then the next genuine keys (client1 <-> client2) all succeed.
. "$(dirname "$0")/lib-robust.sh"

FORGE=$DSKE_BIN/../tests/tools/dske-forge
[ -x "$FORGE" ] || fail "no $FORGE (make test-build)"
lab_start --clients 3
pairs 1 client1 client1_sae1 client3 client3_sae1
lab_stop_client client3
copy=$(lib_mktemp)
cp -a "$(v DSKE_CLIENT_client3_STATE)/psrd/hub1" "$copy/hub1" || fail "copy of client3's state"
forge() {
	"$FORGE" --dir "$copy/hub1" --client client3 --hub hub1 --url "$(hub_url hub1)" \
		--sae client3_sae1 --resp client1:client1_sae1 "$@" 2> "$copy/forge.err" ||
		fail "dske-forge $*: $(cat "$copy/forge.err")"
}
levels() { hub_client hub1 client3 '.psrd | "\(.rx_remaining) \(.rx_accepted) \(.tx_remaining)"'; }
expect() {   # LINE CODE [REGEX]: a dske-forge output line
	[[ $1 =~ code=([0-9]+) ]] || fail "dske-forge said: $1"
	[ "${BASH_REMATCH[1]}" = "$2" ] || fail "expected HTTP $2: $1"
	[ -z "${3:-}" ] || [[ $1 =~ $3 ]] || fail "expected /$3/: $1"
	note "$1"
}

# Each dske-forge run reopens the copy, which (like a restarted client) goes on from its
# reservation mark, 1 MiB further each time: two runs cover the test.
far=3000000
l0=$(levels) || fail "hub1 status"
bad0=$(hub_client hub1 client3 .bad_tags)
run1=$(forge bitflip badtag forged=$far truncated extended version flags wrong-receiver \
	answer-type unknown-client stale=16 garbage empty oversize oversize-body) || exit 1
while read -r c code re; do
	expect "$(grep "^$c " <<< "$run1")" "$code" "$re"
done <<EOF
bitflip 401 tag does not verify
badtag 401 tag does not verify
forged=$far 401 tag does not verify
truncated 400 malformed frame
extended 400 malformed frame
version 400 unsupported protocol version
flags 400 malformed frame
wrong-receiver 400 not addressed to this hub
answer-type 400 not a request type
unknown-client 404 unknown client
stale=16 409 stale
garbage 400 malformed frame
empty 400 malformed frame
oversize 413 too large
oversize-body 413 too large
EOF
assert_eq "$(levels)" "$l0" "hub1's PSRD levels for client3 (rx_remaining rx_accepted tx_remaining) after refused frames"
assert_eq "$(hub_client hub1 client3 .bad_tags)" "$((bad0 + 3))" "bad tags counted (alarm)"
pass "15 forged or malformed frames refused with the right status; PSRD levels unchanged"

# genuine frames: far ahead (where the forged frame was refused), a replay, then frames that
# reuse used PSRD
read -r rx0 acc0 tx0 <<< "$l0"
run2=$(forge ahead=$far replay conflict stale=$((far + 8)) put-overlap=$far) || exit 1
expect "$(grep "^ahead=" <<< "$run2")" 200 'answer=ok'
expect "$(grep "^replay " <<< "$run2")" 200 'answer=identical'
expect "$(grep "^conflict " <<< "$run2")" 409 'mac_off already used'
expect "$(grep "^stale=" <<< "$run2")" 409 'stale'
expect "$(grep "^put-overlap=" <<< "$run2")" 409 'stale'
read -r rx1 acc1 tx1 <<< "$(levels)"
# three genuine frames were accepted (ahead, replay's first sending, conflict's first sending),
# 32 bytes of MAC key each way; the replay and the refused frames used nothing
assert_eq "$rx1" "$((rx0 - 96))" "client->hub PSRD left after 3 genuine frames, a replay and 3 refused"
assert_eq "$tx1" "$((tx0 - 96))" "hub->client PSRD left after 3 answers and a replayed answer"
pass "a genuine frame far ahead (offset $far, where a forged frame was refused) is accepted"
pass "a replayed frame is answered byte for byte from the cache, no PSRD used"
pass "other bytes under a used mac_off, a MAC key and a pad overlapping used ranges: 409, nothing used"

pairs 3 client1 client1_sae1 client2 client2_sae1
pairs 3 client2 client2_sae1 client1 client1_sae1
limited=$(hub_status hub1 | jq -r .frames.rate_limited)
assert_eq "$limited" 0 "frames refused by rate limiting"
assert_eq "$MISMATCHES" 0 "key mismatches"
pass "the next genuine keys all succeed"
