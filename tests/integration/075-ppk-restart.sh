#!/bin/bash
# dske-clientd restarts: the tunnel does not depend on the daemon being up (charon keeps the
# PPKs and the connection); a restarted initiator rolls to fresh PPKs at once and both sides
# unload the PPKs of the earlier run once they are no longer used; a restarted responder keeps
# serving rolls (its charon still holds the PPKs the initiator has ready) and unloads the old
# ones once newer ones arrived. Traffic crosses the tunnel after every roll.
set -u
. "$(dirname "$0")/lib-ppk.sh"

ping_ok() { ip netns exec "$NS_A" ping -c 1 -W 2 -I 10.98.1.1 10.98.2.1 > /dev/null; }

ppk_lab_start "ppk_roll = 0"
wait_for -t 20 sa_ppk a || fail "no IKE SA with ppk=yes on a: $(ppk_json client1 '.peers[0].last_error')"
wait_for -t 5 eval '[ "$(ppk_count client1 ready)" = 2 ]' || fail "two ready PPKs expected"
wait_for -t 5 ping_ok || fail "ping through the tunnel"
first=$(ppk_current)
before=$(creds a)
wait_for -t 5 eval '[ "$(creds b)" = "$before" ]' || fail "b's PPKs differ from a's"
pass "SA up with $first, ping through the tunnel"

# --- initiator daemon stopped: the tunnel and charon's state stay
lab_stop_client client1
sa_ppk a || fail "the SA went down with the daemon"
assert_eq "$(creds a)" "$before" "PPKs in charon a while client1 is down"
assert_eq "$(vici a conn-ppk-id dske)" "$first" "connection dske while client1 is down"
ping_ok || fail "ping while client1 is down"
pass "client1 stopped: SA, PPKs and connection stay in charon, traffic flows"

# --- initiator restarted: fresh PPKs, a roll at start, the earlier run's PPKs unloaded both sides
lab_start_client client1
fresh() { local c; c=$(ppk_current) && [ -n "$c" ] && [ "$c" != null ] && [ "$c" != "$first" ] &&
	sa_ppk a && grep -q "using PPK for PPK_ID '$c'" "$(charon_log b)"; }
wait_for -t 20 fresh || fail "no roll to a fresh PPK after the restart: $(ppk_json client1 '.peers[0]')"
cur=$(ppk_current)
grep -qxF "$cur" <<< "$(ppk_json client1 ".peers[0].ppks[].ppk_id")" || fail "current not held"
gone_a() { local id; for id in $before; do [[ $(creds a) == *"$id"* ]] && return 1; done; return 0; }
gone_b() { local id; for id in $before; do [[ $(creds b) == *"$id"* ]] && return 1; done; return 0; }
wait_for -t 10 gone_a || fail "charon a still holds PPKs of the earlier run: $(creds a | tr '\n' ' ')"
# the responder cannot see which PPK an SA used: it unloads by count, so one more roll
ppk_roll || fail "roll after the restart: $CTL_BODY"
wait_for -t 10 gone_b || fail "charon b still holds PPKs of the earlier run: $(creds b | tr '\n' ' ')"
grep -q "left from an earlier run" "$(v DSKE_CLIENT_client1_LOG)" || fail "client1 log"
wait_for -t 5 ping_ok || fail "ping after the restart roll"
pass "client1 restarted: rolled to $cur, the earlier run's PPKs unloaded on both sides, traffic flows"

# --- responder daemon restarted: rolls go on with what its charon holds, old PPKs unloaded later
wait_for -t 5 eval '[ "$(ppk_count client1 ready)" = 2 ]' || fail "two ready PPKs expected"
before_b=$(creds b)
lab_stop_client client2
lab_start_client client2
for i in 1 2 3 4; do
	ppk_roll || fail "roll $i after client2's restart: $CTL_BODY"
	wait_for -t 5 ping_ok || fail "ping after roll $i"
done
old_b=$before_b
gone_old_b() { local id; for id in $old_b; do [[ $(creds b) == *"$id"* ]] && return 1; done; return 0; }
wait_for -t 10 gone_old_b || fail "charon b still holds old PPKs: $(creds b | tr '\n' ' ')"
n=$(creds b | wc -l)
[ "$n" -le 5 ] || fail "charon b holds $n PPKs"
for s in a b; do
	n=$(grep -Ec "AUTHENTICATION_FAILED|MAC mismatched" "$(charon_log "$s")")
	assert_eq "$n" 0 "authentication failures in charon $s's log"
done
pass "client2 restarted: 4 rolls, traffic after each, its earlier PPKs unloaded, no authentication failure"
exit 0
