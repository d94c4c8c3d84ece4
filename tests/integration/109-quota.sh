#!/bin/bash
# Quotas (issue 4): client1_sae2 has a quota (keys per minute, [sae] quota) and asks for as many
# keys as it can in a loop, from two callers at once; client1_sae1, another SAE of the same
# client, must still get its keys meanwhile. The greedy SAE gets 503 with a message about its
# quota once it is used up (at once for a request larger than the quota).
. "$(dirname "$0")/lib-robust.sh"

lab_start
W=$(lib_mktemp)
quota=60
conf=$(v DSKE_CLIENT_client1_CONF)
lab_stop_client client1
sed -i "/^\[sae client1_sae2\]/a quota = $quota" "$conf"
grep -A2 '^\[sae client1_sae2\]' "$conf" | grep -q "quota = $quota" || fail "quota not set in $conf"
lab_start_client client1

# the maximum number per request at once: more than the quota, refused with the reason
etsi_get_key client1 client1_sae2 client2_sae2 1024 && fail "1024 keys handed out with a quota of $quota/min"
assert_eq "$ETSI_CODE" 503 "Get key for 1024 keys over a quota of $quota"
assert_match "$(json .message)" 'quota' "the 503 names the quota"
note "503: $(json .message)"

# the greedy SAE: two callers asking for 20 keys each in a loop until stopped
greedy() {
	while [ ! -e "$W/stop" ]; do
		if etsi_get_key client1 client1_sae2 client2_sae2 20; then
			echo "200 $(jq '.keys | length' <<< "$ETSI_BODY")"
		else
			echo "$ETSI_CODE $(jq -r .message <<< "$ETSI_BODY" 2>/dev/null)"
		fi
	done >> "$1"
}
greedy "$W/g1" & g1=$!
greedy "$W/g2" & g2=$!
on_exit "touch $W/stop; kill $g1 $g2 2>/dev/null"
wait_for -t 20 grep -q '^503' "$W/g1" "$W/g2" || fail "the greedy SAE was never refused: $(tail -2 "$W/g1")"
worst=0
for i in 1 2 3 4 5 6 7 8; do
	pair client1 client1_sae1 client2 client2_sae1 ||
		fail "client1_sae1 starved while client1_sae2 hogs: $ETSI_CODE $ETSI_BODY"
	[ "$PAIR_MS" -gt "$worst" ] && worst=$PAIR_MS
done
touch "$W/stop"; wait "$g1" "$g2"
got=$(cat "$W/g1" "$W/g2" | awk '$1 == 200 { n += $2 } END { print n + 0 }')
refused=$(cat "$W/g1" "$W/g2" | grep -c '^503')
other=$(cat "$W/g1" "$W/g2" | grep -vc '^200\|^503')
assert_eq "$other" 0 "answers other than 200 and 503 to the greedy SAE"
grep '^503' "$W/g1" "$W/g2" | grep -vq quota && fail "a 503 without the quota reason: $(grep '^503' "$W/g1" | grep -v quota | head -1)"
# a token bucket of $quota per minute: the burst plus what refills while the test runs
[ "$got" -le $((quota + quota / 2)) ] || fail "the greedy SAE got $got keys with a quota of $quota per minute"
pass "client1_sae2 got $got keys, then $refused refusals (503, quota); client1_sae1 made 8 key pairs meanwhile (worst $worst ms)"
assert_eq "$MISMATCHES" 0 "key mismatches"
