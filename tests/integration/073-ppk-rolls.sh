#!/bin/bash
# PPK rolling, make-before-break: 10 rolls on demand (POST /v1/ppk/roll, what dskectl ppk roll
# sends) and 10 more by the automatic policy (ppk_roll), in a row: zero authentication failures,
# each new SA's PPK_ID is the newest key the roll could use (the keys are used in the order they
# were made, none skipped), both charons log using it, and the old PPKs are unloaded on both
# sides.
set -u
. "$(dirname "$0")/lib-ppk.sh"

ppk_lab_start "ppk_roll = 250ms" "ppk_grace = 30s"
wait_for -t 20 sa_ppk a || fail "no IKE SA with ppk=yes on a: $(ppk_json client1 '.peers[0].last_error')"
wait_for -t 5 sa_ppk b || fail "no IKE SA with ppk=yes on b"
pass "SA up with $(ppk_current)"

prev=$(ppk_current)
t0=${EPOCHREALTIME/./}
for i in $(seq 1 10); do
	ppk_roll || fail "roll $i: $CTL_CODE $CTL_BODY"
	id=$(jq -r '.rolled[0].ppk_id' <<< "$CTL_BODY")
	assert_eq "$(jq -r '.rolled[0].ok' <<< "$CTL_BODY")" true "roll $i"
	assert_ne "$id" "$prev" "roll $i changed the PPK_ID"
	prev=$id
done
t1=${EPOCHREALTIME/./}
note "10 rolls on demand in $(((t1 - t0) / 1000)) ms (with automatic ones in between)"
pass "10 rolls on demand, each to a new PPK_ID"
out=$(dskectl --socket "$(client_ctl client1)" ppk roll) || fail "dskectl ppk roll"
assert_match "$out" "^client2 \(ab.dske\): rolled to [0-9a-f-]{36}@ab.dske, IKE SA up in [0-9]+ ms$" "dskectl ppk roll"
out=$(dskectl --socket "$(client_ctl client1)" ppk) || fail "dskectl ppk"
assert_match "$out" "peer client2, link ab.dske: IKE initiator, charon up" "dskectl ppk"
assert_match "$out" "IKE SA #[0-9]+ ESTABLISHED, ppk=yes" "dskectl ppk: the SA"
assert_match "$out" "current  [0-9a-f-]{36}@ab.dske +[0-9a-f]{8} yes" "dskectl ppk: the current PPK"
out=$(dskectl --socket "$(client_ctl client2)" ppk) || fail "dskectl ppk on client2"
assert_match "$out" "peer client1, link ab.dske: IKE responder, charon up" "dskectl ppk on client2"
dskectl --socket "$(client_ctl client2)" ppk roll > /dev/null 2>&1 && fail "dskectl ppk roll on the responder"
pass "dskectl ppk roll / dskectl ppk on both sides"

r0=$(ppk_json client1 '.peers[0].rolls')
wait_for -t 60 eval '[ "$(ppk_json client1 '\''.peers[0].rolls'\'')" -ge $((r0 + 10)) ]' ||
	fail "the automatic policy did not roll 10 times: $(ppk_json client1 '.peers[0].rolls') rolls"
pass "10 more rolls by the automatic policy (ppk_roll = 250ms)"

log1=$(v DSKE_CLIENT_client1_LOG)
mapfile -t made < <(sed -n 's/.*ppk client2: made PPK_ID \([^ ]*\) .*/\1/p' "$log1")
mapfile -t used < <(sed -n 's/.*ppk client2: IKE SA #[0-9]* of dske up with PPK_ID \([^ ]*\) .*/\1/p' "$log1")
[ ${#used[@]} -ge 21 ] || fail "only ${#used[@]} SAs came up"
# keys are used in the order they were made, each once: used = a prefix of made
for i in "${!used[@]}"; do
	assert_eq "${used[$i]}" "${made[$i]}" "SA $i used the oldest unused key"
done
pass "${#used[@]} SAs, each with the next key made (in order, none skipped, none reused)"
for id in "${used[@]}"; do
	for s in a b; do
		grep -q "using PPK for PPK_ID '$id'" "$(charon_log "$s")" || fail "charon $s never used $id"
	done
done
pass "both charons logged using PPK for PPK_ID of every roll"

for s in a b; do
	n=$(grep -Ec "AUTHENTICATION_FAILED|MAC mismatched|no PPK found|does not support PPK|PPK_ID .* but require" "$(charon_log "$s")")
	assert_eq "$n" 0 "authentication failures in charon $s's log"
done
assert_eq "$(ppk_json client1 '.peers[0].failures')" 0 "client1 failures"
pass "zero authentication failures"

# old PPKs unloaded on both sides: every PPK_ID but the last three used is gone from both charons
# (the rolls go on meanwhile, so poll)
old=("${used[@]:0:$((${#used[@]} - 3))}")
gone() {
	local s id cs
	for s in a b; do
		cs=$(creds "$s")
		for id in "${old[@]}"; do [[ $cs == *"dske:$id"* ]] && return 1; done
	done
	return 0
}
wait_for -t 10 gone || fail "old PPKs still loaded"
for id in "${old[@]}"; do
	for s in a b; do
		grep -q "unloaded shared key with id 'dske:$id'" "$(charon_log "$s")" || fail "charon $s never unloaded $id"
	done
done
n=$(creds a | wc -l)
[ "$n" -le 4 ] || fail "charon a holds $n PPKs (ppk_keep = 2: at most current + 2 ready + 1 in flight)"
n=$(creds b | wc -l)
[ "$n" -le 5 ] || fail "charon b holds $n PPKs (ppk_keep = 2: at most 4 + 1 arriving)"
pass "${#old[@]} old PPKs unloaded on both sides; at most 4 (a) and 5 (b) loaded"
n=$(vici a list-sas dske | grep -c ESTABLISHED)
[ "$n" -le 2 ] || fail "$n IKE SAs established on a (old ones not terminated)"
pass "old IKE SAs terminated"
exit 0
