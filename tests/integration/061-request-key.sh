#!/bin/bash
# request-key end to end with the real daemons (a lab of 3 hubs, k = 2): client1's SAE gets a
# key for client2_sae2 over ETSI 014; on client2's side a consumer running as that SAE's uid
# (65534) in a fresh session keyring gets the same bytes with request_key(2), through
# dske-request-key and dske-clientd. Other uids get EKEYREJECTED; a stopped daemon gives ENOKEY
# fast; a wedged one (SIGSTOP) does not hold the caller past the bound. The test's own
# request-key.d file uses a test-only description prefix and is removed afterwards.
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" = 0 ] || skip "request-key upcalls need root (a file in /etc/request-key.d)"
keyctl show @s >/dev/null 2>&1 || skip "the kernel keyring is not available (CONFIG_KEYS or a seccomp filter)"

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
logs() { tail -n 15 "$DSKE_LAB_DIR"/client2/log >&2; }
prefix="dsketest-rq$$"
conf=/etc/request-key.d/$prefix.conf
stopped=""
on_exit 'rm -f "$conf"; [ -z "$stopped" ] || kill -CONT "$stopped" 2>/dev/null'

lab_start --hubs 3 --clients 2 -k 2 --psrd 4M
echo "create user $prefix:* * $DSKE_BIN/dske-request-key --socket $(client_ctl client2) --prefix $prefix --timeout 3 %k %d %c %u %g" > "$conf"

# a key from client1_sae1 (uid 0 on client1's ETSI socket) for client2_sae2: "ID BASE64"
new_key() {
	etsi_get_key client1 client1_sae1 client2_sae2 >/dev/null ||
		fail "Get key on client1: $ETSI_CODE $ETSI_BODY"
	json '.keys[0] | "\(.key_ID) \(.key)"'
}
# request ID as uid U in a fresh session: the key in base64, or keyctl's error
request_as() {   # UID ID
	setpriv --reuid="$1" --regid="$1" --clear-groups keyctl session - sh -c \
		"k=\$(keyctl request2 user $prefix:client1:$2 x @s) && keyctl pipe \$k | base64 -w0" 2>&1 |
		grep -v '^Joined session keyring'
	return "${PIPESTATUS[0]}"
}

# 1. the SAE's uid gets the key, the same bytes as the initiator's SAE got
read -r id1 key1 <<< "$(new_key)"
out=$(request_as 65534 "$id1") || { logs; fail "uid 65534 (client2_sae2) could not get key $id1: $out"; }
assert_eq "$out" "$key1" "request-key bytes and the initiator's"
pass "request_key as client2_sae2's uid: the initiator's bytes"
# the upcall was client2's delivery of that key: another consumer (new session) is refused
out=$(request_as 65534 "$id1") && fail "key $id1 delivered twice"
assert_match "$out" "expired" "second delivery (EKEYEXPIRED)"
pass "delivered once"

# 2. not the SAE the key was made for: uid 12345 (no SAE) and uid 0 (client2_sae1)
read -r id2 key2 <<< "$(new_key)"
out=$(request_as 12345 "$id2") && fail "uid 12345 got key $id2"
assert_match "$out" "rejected" "uid 12345 (EKEYREJECTED)"
out=$(request_as 0 "$id2") && fail "uid 0 (client2_sae1) got a key made for client2_sae2"
assert_match "$out" "rejected" "uid 0 (EKEYREJECTED)"
out=$(request_as 65534 "$id2") || fail "uid 65534 could not get key $id2 after the refusals: $out"
assert_eq "$out" "$key2" "key $id2 bytes"
pass "other uids get EKEYREJECTED, and the key stays for its SAE"

# 3. daemon stopped: ENOKEY, fast
read -r id3 _ <<< "$(new_key)"
lab_stop_client client2
t0=$(now_ms)
out=$(request_as 65534 "$id3") && fail "got a key with the daemon stopped"
t=$(( $(now_ms) - t0 ))
assert_match "$out" "not available" "daemon stopped (ENOKEY)"
[ "$t" -lt 2000 ] || fail "daemon stopped: the caller waited $t ms"
pass "daemon stopped: ENOKEY in $t ms"

# 4. daemon wedged (SIGSTOP): back after the 3 s bound with ETIMEDOUT
lab_start_client client2
read -r id4 _ <<< "$(new_key)"
stopped=$(client_pid client2)
kill -STOP "$stopped"
t0=$(now_ms)
out=$(request_as 65534 "$id4") && fail "got a key from a stopped daemon"
t=$(( $(now_ms) - t0 ))
kill -CONT "$stopped"; stopped=""
assert_match "$out" "timed out" "wedged daemon (ETIMEDOUT)"
[ "$t" -lt 4500 ] || fail "wedged daemon: the caller waited $t ms (bound 3000 ms)"
pass "wedged daemon: ETIMEDOUT in $t ms"
