#!/bin/bash
# The VICI codec and client (ipsec-helper/, driven through build/tests/tools/dske-vici) against
# two real charon daemons in network namespaces: PPKs loaded over VICI make the IKE SA come up
# with ppk=yes on both sides and carry traffic through the CHILD_SA; a tampered PPK or none at
# all brings no SA up; load-conn overrides the connection's ppk_id; an admin --load-all removes
# the PPKs (strongswan-ppk.md pitfall P5), which get-shared reports.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/integration/lib-ipsec.sh
VICI=${BUILD:-build}/tests/tools/dske-vici
ipsec_require; rc=$?; [ $rc = 0 ] || exit $rc
fail() { echo "FAIL: $*"; exit 1; }
pass() { echo "ok: $*"; }

ipsec_setup || fail "namespaces"
ipsec_write_swanctl a "placeholder@ab.dske"
ipsec_write_swanctl b "*@ab.dske"
ipsec_start_charon a || fail "charon a"
ipsec_start_charon b || fail "charon b"
for s in a b; do swan "$s" --load-all --file "$IPSEC_DIR/$s/swanctl/swanctl.conf" >/dev/null || fail "load-all $s"; done

# no PPK anywhere: ppk_required = yes on both ends, nothing comes up
"$VICI" "$(vici_sock a)" load-conn "$IPSEC_DIR/a/swanctl/swanctl.conf" dske k1@ab.dske || fail "load-conn"
swan a --list-conns | grep -q "ppk: k1@ab.dske, required" || fail "load-conn did not set ppk_id"
pass "load-conn sets the connection's ppk_id (swanctl --list-conns)"
"$VICI" "$(vici_sock a)" initiate dske dske-child 2>/dev/null && fail "SA up with no PPK loaded"
pass "no PPK loaded: no SA"

key=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
for s in a b; do "$VICI" "$(vici_sock "$s")" load-ppk dske-k1 k1@ab.dske "$key" || fail "load-ppk $s"; done
"$VICI" "$(vici_sock a)" has dske-k1 || fail "get-shared does not list dske-k1"
"$VICI" "$(vici_sock a)" initiate dske dske-child || fail "initiate with PPK"
for s in a b; do
	"$VICI" "$(vici_sock "$s")" list-sas dske | grep -q "ESTABLISHED ppk=yes" || fail "SA on $s without ppk=yes"
	swan "$s" --list-sas --raw | grep -q "ppk=yes" || fail "swanctl --list-sas --raw on $s"
	grep -q "using PPK for PPK_ID 'k1@ab.dske'" "$(charon_log "$s")" || fail "charon $s log lacks 'using PPK'"
done
pass "IKE SA with ppk=yes on both sides, charon logs 'using PPK for PPK_ID'"
ip netns exec "$NS_A" ping -c 2 -W 2 -I 10.98.1.1 10.98.2.1 >/dev/null || fail "ping through the tunnel"
pass "ping through the CHILD_SA"

# tampered PPK: same PPK_ID, other bytes on b
bad=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
"$VICI" "$(vici_sock a)" load-ppk dske-k2 k2@ab.dske "$key" || fail "load k2 a"
"$VICI" "$(vici_sock b)" load-ppk dske-k2 k2@ab.dske "$bad" || fail "load k2 b"
"$VICI" "$(vici_sock a)" load-conn "$IPSEC_DIR/a/swanctl/swanctl.conf" dske k2@ab.dske || fail "load-conn k2"
n=$(grep -c "using PPK for PPK_ID 'k2@ab.dske'" "$(charon_log b)")
"$VICI" "$(vici_sock a)" initiate dske dske-child 2>/dev/null && fail "SA up with a tampered PPK"
wait_log b "MAC mismatched" || fail "responder did not report the mismatch"
pass "tampered PPK: authentication fails"

# an admin reload removes PPKs loaded over VICI (P5)
swan b --load-all --file "$IPSEC_DIR/b/swanctl/swanctl.conf" >/dev/null || fail "reload b"
"$VICI" "$(vici_sock b)" has dske-k1 && fail "dske-k1 survived --load-all"
pass "swanctl --load-all removed the PPKs (get-shared)"
"$VICI" "$(vici_sock a)" unload dske-k2 || fail "unload"
"$VICI" "$(vici_sock a)" has dske-k2 && fail "dske-k2 still loaded after unload-shared"
pass "unload-shared"
exit 0
