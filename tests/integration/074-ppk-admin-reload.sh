#!/bin/bash
# An admin reload (swanctl --load-all) on each gateway in turn removes the PPKs dske-clientd
# loaded over VICI (and on the initiator its connection, or resets its ppk_id); the daemon
# notices (get-shared, list-conns), restores them, and the next IKE SA comes up with a PPK.
set -u
. "$(dirname "$0")/lib-ppk.sh"

ppk_lab_start "ppk_roll = 0"
wait_for -t 20 sa_ppk a || fail "no IKE SA with ppk=yes on a: $(ppk_json client1 '.peers[0].last_error')"
wait_for -t 5 sa_ppk b || fail "no IKE SA with ppk=yes on b"
wait_for -t 5 eval '[ "$(ppk_count client1 ready)" = 2 ]' || fail "client1: $(ppk_count client1 ready) PPKs ready"
want=$(ppk_json client1 '[.peers[0].ppks[] | .id] | sort | .[]')
wait_for -t 5 eval '[ "$(creds b)" = "$want" ]' || fail "b's PPKs"
pass "SA up with $(ppk_current); both charons hold the 3 PPKs"

roll_ok() {
	local id
	ppk_roll || fail "roll: $CTL_CODE $CTL_BODY"
	id=$(jq -r '.rolled[0].ppk_id' <<< "$CTL_BODY")
	sa_ppk a || fail "no SA with ppk=yes on a after the roll"
	wait_for -t 5 sa_ppk b || fail "no SA with ppk=yes on b after the roll"
	for s in a b; do
		wait_log "$s" "using PPK for PPK_ID '$id'" || fail "charon $s did not use $id"
	done
	echo "$id"
}

# --- b (responder): --load-all unloads every PPK loaded over VICI
r0=$(ppk_json client2 '.peers[0].restores')
swan b --load-all --file "$IPSEC_DIR/b/swanctl/swanctl.conf" > "$IPSEC_DIR/reload-b.out" || fail "load-all b"
grep -q "unloaded shared key with id 'dske:" "$(charon_log b)" || fail "swanctl did not unload the PPKs on b"
wait_for -t 5 eval '[ "$(creds b)" = "$want" ]' || fail "client2 did not restore its PPKs: $(creds b | tr '\n' ' ')"
[ "$(ppk_json client2 '.peers[0].restores')" -ge $((r0 + 3)) ] || fail "client2 restores counter"
grep -q "charon lost PPK_ID .* loading it again" "$(v DSKE_CLIENT_client2_LOG)" || fail "client2 log"
pass "b: --load-all removed the PPKs, client2 restored all 3"
id=$(roll_ok)
pass "b: the next IKE SA comes up with a PPK ($id)"

# --- a (initiator): --load-all unloads the PPKs and the daemon's connection (not in swanctl.conf)
wait_for -t 5 eval '[ "$(ppk_count client1 ready)" = 2 ]' || fail "client1: $(ppk_count client1 ready) PPKs ready"
want=$(ppk_json client1 '[.peers[0].ppks[] | .id] | sort | .[]')
cur=$(ppk_current)
swan a --load-all --file "$IPSEC_DIR/a/swanctl/swanctl.conf" > "$IPSEC_DIR/reload-a.out" || fail "load-all a"
wait_for -t 5 eval '[ "$(creds a)" = "$want" ]' || fail "client1 did not restore its PPKs: $(creds a | tr '\n' ' ')"
wait_for -t 5 eval '[ "$(vici a conn-ppk-id dske 2>/dev/null)" = "$cur" ]' || fail "connection dske not restored"
grep -q "connection dske is not loaded (an admin reload?): loading it again with PPK_ID $cur" \
	"$(v DSKE_CLIENT_client1_LOG)" || fail "client1 log lacks the connection restore"
pass "a: --load-all removed the PPKs and connection dske, client1 restored both"
id=$(roll_ok)
pass "a: the next IKE SA comes up with a PPK ($id)"

# --- a again, with the admin's swanctl.conf defining dske too (another ppk_id): corrected
cat "$IPSEC_DIR/a/dske-conn.conf" > "$IPSEC_DIR/a/swanctl/conf.tmp"
sed -i 's/ppk_required = yes/ppk_required = yes\n        ppk_id = admin@ab.dske/' "$IPSEC_DIR/a/swanctl/conf.tmp"
cat "$IPSEC_DIR/a/swanctl/conf.tmp" >> "$IPSEC_DIR/a/swanctl/swanctl.conf"
cur=$(ppk_current)
swan a --load-all --file "$IPSEC_DIR/a/swanctl/swanctl.conf" > "$IPSEC_DIR/reload-a2.out" || fail "load-all a (2)"
wait_for -t 5 eval '[ "$(vici a conn-ppk-id dske 2>/dev/null)" = "$cur" ]' || fail "ppk_id not corrected: $(vici a conn-ppk-id dske)"
grep -q "connection dske has ppk_id admin@ab.dske in charon" "$(v DSKE_CLIENT_client1_LOG)" || fail "client1 log"
id=$(roll_ok)
pass "a: an admin's own definition of dske (ppk_id admin@ab.dske) is corrected, next SA with $id"
for s in a b; do
	n=$(grep -Ec "AUTHENTICATION_FAILED|MAC mismatched" "$(charon_log "$s")")
	assert_eq "$n" 0 "authentication failures in charon $s's log"
done
pass "no authentication failure through the reloads"
exit 0
