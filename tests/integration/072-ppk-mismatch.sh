#!/bin/bash
# PPK failures: a tampered PPK on one gateway (loaded by the test under the PPK_ID the next roll
# uses) makes that IKE SA fail (the responder logs MAC mismatched; the running SA stays up) and the
# daemon recovers by rolling on; with ppk_required = yes and no DSKE key loaded on the responder,
# no SA comes up, until its daemon is back and delivers fresh PPKs.
set -u
. "$(dirname "$0")/lib-ppk.sh"

ppk_lab_start "ppk_roll = 0"
wait_for -t 20 sa_ppk a || fail "no IKE SA with ppk=yes on a: $(ppk_json client1 '.peers[0].last_error')"
wait_for -t 5 sa_ppk b || fail "no IKE SA with ppk=yes on b"
first=$(ppk_current)
wait_for -t 5 eval '[ "$(ppk_count client1 ready)" = 2 ]' ||
	fail "two ready PPKs expected"
pass "SA up with $first, two PPKs ready"

# --- tampered: b gets other bytes under the PPK_ID the next roll uses
read -r next cred < <(ppk_json client1 '[.peers[0].ppks[] | select(.state == "ready")] | sort_by(.seq) | .[0] | "\(.ppk_id) \(.id)"')
bad=$(head -c 32 /dev/urandom | od -An -v -tx1 | tr -d ' \n')
vici b load-ppk "$cred" "$next" "$bad" || fail "loading the tampered PPK"
mm=$(grep -c "MAC mismatched" "$(charon_log b)")
ppk_roll && fail "roll to a tampered PPK succeeded: $CTL_BODY"
assert_eq "$CTL_CODE" 502 "failed roll status"
assert_eq "$(jq -r '.rolled[0].ok' <<< "$CTL_BODY")" false "roll result"
assert_eq "$(jq -r '.rolled[0].ppk_id' <<< "$CTL_BODY")" "$next" "the roll tried the oldest ready PPK"
assert_match "$(jq -r '.rolled[0].error' <<< "$CTL_BODY")" "fingerprint" "the error names the fingerprint"
wait_log b "MAC mismatched" "$mm" || fail "b does not log MAC mismatched"
grep -q "tried 1 shared key.*MAC mismatched" "$(charon_log b)" || fail "b's log"
grep -q "received AUTHENTICATION_FAILED notify error" "$(charon_log a)" || fail "a did not get AUTHENTICATION_FAILED"
grep -q "IKE SA dske with PPK_ID $next (fingerprint [0-9a-f]*) failed" "$(v DSKE_CLIENT_client1_LOG)" ||
	fail "client1 does not log the failing PPK_ID and its fingerprint"
# the established SA (older PPK) is untouched
sa_ppk a || fail "the running SA went down with the failed roll"
pass "tampered PPK on b: AUTHENTICATION_FAILED / MAC mismatched, the running SA stays"

# the daemon retries, then rolls on to the next PPK: a new SA with another PPK_ID
recovered() { local c; c=$(ppk_current) && [ "$c" != "$next" ] && [ "$c" != "$first" ] && sa_ppk a &&
	[ "$(ppk_json client1 '.peers[0].sa.ppk')" = true ] && grep -q "using PPK for PPK_ID '$c'" "$(charon_log b)"; }
wait_for -t 30 recovered || fail "no recovery after the tampered PPK: $(ppk_json client1 '.peers[0]')"
pass "recovered: rolled on to $(ppk_current), SA with ppk=yes"

# --- no DSKE key on b: its daemon stopped, its PPKs unloaded, the SAs gone
lab_stop_client client2
for c in $(creds b); do vici b unload "$c" || fail "unload $c"; done
[ -z "$(creds b)" ] || fail "b still holds PPKs: $(creds b)"
for id in $(vici a list-sas dske | awk '{print $1}'); do vici a terminate "$id" > /dev/null 2>&1; done
n0=$(grep -c "PPK required but peer does not support PPK" "$(charon_log a)")
wait_log a "PPK required but peer does not support PPK" $((n0 + 1)) ||
	fail "a did not try (and fail) twice: $(ppk_json client1 '.peers[0].last_error')"
sa_ppk a && fail "an SA came up with no PPK on b"
out=$(vici a list-sas dske)
[[ $out == *ESTABLISHED* ]] && fail "an SA is ESTABLISHED on a: $out"
out=$(vici b list-sas dske)
[[ $out == *ESTABLISHED* ]] && fail "an SA is ESTABLISHED on b: $out"
pass "ppk_required = yes and no PPK on b: no SA comes up"

# b's daemon back: the PPKs the initiator makes now reach b, and the tunnel comes back
lab_start_client client2
wait_for -t 60 sa_ppk a || fail "no SA after client2 came back: $(ppk_json client1 '.peers[0].last_error')"
wait_for -t 5 sa_ppk b || fail "no SA on b after client2 came back"
c=$(ppk_current)
wait_log b "using PPK for PPK_ID '$c'" || fail "b did not use $c"
pass "client2 back: SA with ppk=yes again ($c)"
exit 0
