#!/bin/bash
# Keyring delivery between two clients (a lab of 3 hubs, k = 2), both daemons on this host in
# one test ring and in a fresh session keyring (`keyctl session -`, as under systemd):
#   - both sides hold the same key IDs and bytes (each names the other as <peer>);
#   - keys invalidated on the initiator are replaced on both sides;
#   - an expired key is replaced;
#   - GET /v1/keys and dskectl keys list what was published, never bytes;
#   - publish_etsi: a key pair handed out over ETSI 014 is in the ring on both sides;
#   - a restarted initiator takes over its keys instead of making a second supply.
if [ -z "${DSKE_IN_SESSION:-}" ]; then
	[ "$(id -u)" = 0 ] || { echo "SKIP: the ring lives in root's user keyring (needs root)"; exit 77; }
	keyctl show @s >/dev/null 2>&1 ||
		{ echo "SKIP: the kernel keyring is not available (CONFIG_KEYS or a seccomp filter)"; exit 77; }
	DSKE_IN_SESSION=1 exec keyctl session - bash "$0" "$@" 2>&1
fi
. "$(dirname "$0")/lib.sh"

ring="dsketest-kr$$"
ring_remove() {
	local rid k
	rid=$(keyctl search @u keyring "$ring" 2>/dev/null) || return 0
	for k in $(keyctl list "$rid" 2>/dev/null | awk -F: '/user: / {print $1}'); do
		keyctl invalidate "$k" 2>/dev/null
	done
	keyctl invalidate "$rid"
}
on_exit ring_remove
logs() { tail -n 15 "$DSKE_LAB_DIR"/client*/log >&2; }

lab_start --hubs 3 --clients 2 -k 2 --psrd 4M
for c in client1 client2; do
	p=client2; [ $c = client2 ] && p=client1
	lab_stop_client "$c"
	cat >> "$DSKE_LAB_DIR/$c/client.conf" <<EOF

[keyring]
name = $ring
sae = ${c}_sae1
timeout = 1h
publish_etsi = yes

[peer $p]
keyring = yes
keyring_sae = ${p}_sae1
keyring_keys = 3
keyring_lifetime = 1h
EOF
	lab_start_client "$c"
done

# IDs of the keys "dske:<peer>:<id>" in the ring, sorted
ring_id() { keyctl search @u keyring "$ring" 2>/dev/null; }
ring_ids() {   # PEER
	local rid
	rid=$(ring_id) || return 0
	keyctl list "$rid" 2>/dev/null | sed -n "s/.*user: dske:$1:\([0-9a-f-]\{36\}\)$/\1/p" | sort
}
count() { ring_ids "$1" | grep -c .; }
# client1 published N keys for client2, and client2 the same N for client1
both_have() { [ "$(count client2)" = "$1" ] && [ "$(ring_ids client2)" = "$(ring_ids client1)" ]; }
key_bytes() {   # PEER ID
	local k
	k=$(keyctl search "$(ring_id)" user "dske:$1:$2") && keyctl pipe "$k" | od -An -tx1 -v | tr -d ' \n'
}
show() { echo "client1 [$(ring_ids client2 | tr '\n' ' ')] client2 [$(ring_ids client1 | tr '\n' ' ')]"; }

# client1 < client2: client1 initiates (auto) and keeps 3 keys; client2 publishes the same ones
wait_for -t 20 both_have 3 || { logs; fail "want the same 3 key IDs on both sides: $(show)"; }
first=$(ring_ids client2)
rid=$(ring_id)
for id in $first; do
	a=$(key_bytes client2 "$id") && b=$(key_bytes client1 "$id") || fail "cannot read key $id"
	assert_eq "${#a}" 64 "key $id: hex digits (256 bits)"
	assert_eq "$a" "$b" "key $id on the two sides"
done
pass "both sides hold the same 3 keys (IDs and bytes)"
assert_match "$(keyctl rdescribe "$rid")" "^keyring;0;[0-9]+;1b3f(0b|00)00;$ring$" "the ring"
k=$(keyctl search "$rid" user "dske:client2:$(echo "$first" | head -n1)")
assert_match "$(keyctl rdescribe "$k")" "^user;0;[0-9]+;1b3f(0b|00)00;dske:client2:" "a key"
assert_match "$(keyctl list @u)" "keyring: $ring" "the ring is linked into root's user keyring"
pass "ring and keys: owner root, permission 0x1b3f0b00 (0x1b3f0000 without a dske group)"

# GET /v1/keys: the three keys with peer, ID, age and expiry, never bytes
json=$(ctl "$(client_ctl client1)" GET /v1/keys) || fail "GET /v1/keys: $CTL_CODE $CTL_BODY"
assert_eq "$(jq '[.keys[] | select(.peer == "client2")] | length' <<< "$json")" 3 "/v1/keys count"
jq -e '[.keys[] | .source == "initiator"] | all' <<< "$json" >/dev/null || fail "/v1/keys sources: $json"
assert_eq "$(jq -r '[.keys[].key_id] | sort | join(" ")' <<< "$json")" "$(echo $first)" "/v1/keys IDs"
jq -e '[.keys[] | has("key")] | any | not' <<< "$json" >/dev/null || fail "/v1/keys shows key bytes"
jq -e '[.keys[] | .expires_in > 3500 and .age >= 0] | all' <<< "$json" >/dev/null ||
	fail "/v1/keys times: $json"
out=$(dskectl --socket "$(client_ctl client1)" keys) || fail "dskectl keys: $out"
for id in $first; do
	assert_match "$out" "client2 +$id +initiator +256 " "dskectl keys: key $id"
done
assert_match "$out" "ring $ring \(id $rid, permission 1b3f" "dskectl keys: the ring"
pass "GET /v1/keys and dskectl keys list them without bytes"

# a consumer invalidates one key on the initiator: both sides get a fresh one
gone=$(echo "$first" | head -n1)
keyctl invalidate "$(keyctl search "$rid" user "dske:client2:$gone")" || fail "invalidate"
# (the responder's copy of the invalidated key stays: consumers on each host decide for theirs)
on_both() { [ -z "$(comm -23 <(ring_ids client2) <(ring_ids client1))" ]; }
replaced() { [ "$(count client2)" = 3 ] && ! ring_ids client2 | grep -qx "$gone" && on_both; }
wait_for -t 20 replaced || { logs; fail "invalidated key not replaced: $(show)"; }
new=$(comm -13 <(echo "$first") <(ring_ids client2))
assert_eq "$(echo "$new" | grep -c .)" 1 "new keys after one invalidation"
assert_eq "$(key_bytes client2 "$new")" "$(key_bytes client1 "$new")" "the new key on the two sides"
pass "an invalidated key is replaced on both sides"

# a key expires on the initiator (its timeout cut to 1 s): replaced too. The expired key stays
# listed until the kernel's garbage collection, so look for the new one.
second=$(ring_ids client2)
old=$(echo "$second" | tail -n1)
keyctl timeout "$(keyctl search "$rid" user "dske:client2:$old")" 1 || fail "timeout"
new_after_expiry() { [ "$(comm -13 <(echo "$second") <(ring_ids client2) | grep -c .)" -ge 1 ] && on_both; }
wait_for -t 20 new_after_expiry || { logs; fail "expired key not replaced: $(show)"; }
n=$(ctl "$(client_ctl client1)" GET /v1/keys | jq '[.keys[] | select(.peer == "client2")] | length')
assert_eq "$n" 3 "keys listed by the initiator after the expiry"
pass "an expired key is replaced"

# publish_etsi: an ETSI key pair (client1_sae2 -> client2_sae2) lands in the ring on both sides
etsi_get_key client1 client1_sae2 client2_sae2 >/dev/null || fail "Get key: $ETSI_CODE $ETSI_BODY"
eid=$(json '.keys[0].key_ID'); ekey=$(key_hex "$(json '.keys[0].key')")
etsi_get_key_with_ids client2 client2_sae2 client1_sae2 "$eid" >/dev/null ||
	fail "Get key with key IDs: $ETSI_CODE $ETSI_BODY"
assert_eq "$(key_bytes client2 "$eid")" "$ekey" "ETSI key published by client1 (master)"
assert_eq "$(key_bytes client1 "$eid")" "$ekey" "ETSI key published by client2 (slave)"
src=$(ctl "$(client_ctl client2)" GET /v1/keys | jq -r --arg id "$eid" '.keys[] | select(.key_id == $id) | .source')
assert_eq "$src" etsi "source of the ETSI key in client2's /v1/keys"
pass "publish_etsi: the ETSI key pair is in the ring on both sides"

# a restarted initiator takes its keys over from the ring instead of making a second supply
before=$(ring_ids client2)
lab_stop_client client1
lab_start_client client1
grep -q "from an earlier run are still in ring $ring" "$DSKE_CLIENT_client1_LOG" ||
	fail "client1 did not take over the ring's keys: $(tail -n 5 "$DSKE_CLIENT_client1_LOG")"
changed() { [ "$(ring_ids client2)" != "$before" ]; }
! wait_for -t 2 changed || fail "the restarted initiator made new keys: $(show)"
n=$(ctl "$(client_ctl client1)" GET /v1/keys | jq '[.keys[] | select(.peer == "client2")] | length')
assert_eq "$n" 4 "keys client1 lists after the restart (3 keyring keys and the ETSI one)"
pass "a restarted initiator takes over its keys"
