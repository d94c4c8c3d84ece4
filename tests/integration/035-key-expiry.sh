#!/bin/bash
# Key expiry at the responder: with key_ttl = 2s a key made for client2 is fetched ahead of time
# (held, shown in status), then wiped when it expires undelivered; Get key with key IDs for it
# afterwards is 400 "not found".
cd "$(dirname "$0")/../.." || exit 1
LAB_CLIENT_EXTRA="key_ttl = 2s"
. tests/integration/lib-clientlab.sh
lab_start_hubs
lab_start_clients
for c in 1 2; do wait_for 5 test -S "$tmp/run/etsi$c.sock" || die "no ETSI socket"; done

curl -s --unix-socket "$tmp/run/etsi1.sock" http://localhost/api/v1/keys/client2_sae1/enc_keys >"$tmp/enc.json"
id=$(jq -r '.keys[0].key_ID' "$tmp/enc.json")
[ -n "$id" ] && [ "$id" != null ] || die "enc_keys: $(cat "$tmp/enc.json")"
held() { [ "$(status 2 | jq .keys.held)" = "$1" ]; }
wait_for 2 held 1 || fail "the key was not fetched ahead of time: $(status 2 | jq -c .keys)"
wait_for 6 held 0 || fail "the key was not wiped at expiry: $(status 2 | jq -c .keys)"
[ "$(status 2 | jq .keys.expired)" = 1 ] || fail "expired counter: $(status 2 | jq -c .keys)"
code=$(curl -s -o "$tmp/dec.json" -w '%{http_code}' --unix-socket "$tmp/run/etsi2.sock" \
	"http://localhost/api/v1/keys/client1_sae1/dec_keys?key_ID=$id")
[ "$code" = 400 ] || fail "dec_keys of an expired key: HTTP $code $(cat "$tmp/dec.json")"
grep -q "expired undelivered and were wiped" "$tmp/client2.log" || fail "no log line for the expiry"

[ $fails = 0 ] || { for f in "$tmp"/*.log; do echo "--- $f"; tail -5 "$f"; done; exit 1; }
echo "035-key-expiry: ok"
