#!/bin/bash
# A key pair over ETSI GS QKD 014 on the unix sockets of two real dske-clientd through five real
# hubs: client1's SAE gets keys (GET and POST) for an SAE of client2, client2's SAE gets the same
# keys by key ID; each key is delivered once per side; only the slave SAE the key was made for
# gets it (another uid: 401); unknown IDs and slaves are refused; root on the control socket acts
# as a local SAE; status counts keys and releases; the audit log names keys, never their bytes.
cd "$(dirname "$0")/../.." || exit 1
. tests/integration/lib-clientlab.sh
lab_start_hubs
lab_start_clients
for c in 1 2; do
	wait_for 5 test -S "$tmp/run/etsi$c.sock" || die "client$c: no ETSI socket"
done

etsi() {  # etsi CLIENT PATH [curl args]: body to stdout, HTTP code to $tmp/code
	local c=$1 path=$2; shift 2
	curl -s -o "$tmp/body" -w '%{http_code}' --unix-socket "$tmp/run/etsi$c.sock" \
		"http://localhost$path" "$@" >"$tmp/code"
	cat "$tmp/body"
}

# 1. one key, GET forms
etsi 1 /api/v1/keys/client2_sae1/enc_keys >"$tmp/enc.json"
[ "$(cat "$tmp/code")" = 200 ] || die "enc_keys: HTTP $(cat "$tmp/code") $(cat "$tmp/enc.json")"
id=$(jq -r '.keys[0].key_ID' "$tmp/enc.json")
key=$(jq -r '.keys[0].key' "$tmp/enc.json")
[ "$(printf %s "$key" | base64 -d | wc -c)" = 32 ] || fail "default key is not 256 bits"
etsi 2 "/api/v1/keys/client1_sae1/dec_keys?key_ID=$id" >"$tmp/dec.json"
[ "$(cat "$tmp/code")" = 200 ] || die "dec_keys: HTTP $(cat "$tmp/code") $(cat "$tmp/dec.json")"
[ "$(jq -r '.keys[0].key_ID' "$tmp/dec.json")" = "$id" ] || fail "dec_keys returned another ID"
[ "$(jq -r '.keys[0].key' "$tmp/dec.json")" = "$key" ] || fail "the two sides hold different keys"

# 2. once only: the slave side gets a key once
etsi 2 "/api/v1/keys/client1_sae1/dec_keys?key_ID=$id" >"$tmp/dec2.json"
[ "$(cat "$tmp/code")" = 400 ] || fail "second dec_keys: HTTP $(cat "$tmp/code"), want 400"
grep -q "one or more keys specified are not found on KME" "$tmp/dec2.json" ||
	fail "second dec_keys message: $(cat "$tmp/dec2.json")"

# 3. a batch of three 512-bit keys by POST, fetched together by POST
etsi 1 /api/v1/keys/client2_sae1/enc_keys -X POST -H 'Content-Type: application/json' \
	-d '{"number":3,"size":512}' >"$tmp/enc3.json"
[ "$(cat "$tmp/code")" = 200 ] || die "enc_keys x3: HTTP $(cat "$tmp/code") $(cat "$tmp/enc3.json")"
[ "$(jq '.keys | length' "$tmp/enc3.json")" = 3 ] || fail "asked 3 keys, got $(jq '.keys | length' "$tmp/enc3.json")"
ids=$(jq -c '{key_IDs: [.keys[] | {key_ID}]}' "$tmp/enc3.json")
etsi 2 /api/v1/keys/client1_sae1/dec_keys -X POST -H 'Content-Type: application/json' \
	-d "$ids" >"$tmp/dec3.json"
[ "$(cat "$tmp/code")" = 200 ] || fail "dec_keys x3: HTTP $(cat "$tmp/code") $(cat "$tmp/dec3.json")"
[ "$(jq -c '[.keys[] | [.key_ID, .key]]' "$tmp/enc3.json")" = \
  "$(jq -c '[.keys[] | [.key_ID, .key]]' "$tmp/dec3.json")" ] || fail "batch keys differ"
[ "$(jq -r '.keys[0].key' "$tmp/dec3.json" | base64 -d | wc -c)" = 64 ] || fail "512-bit key length"

# 4. a key made for client2_sae1 is not delivered to client2_sae2 (uid 65534): 401; then the
#    right SAE still gets it (asked at once after enc_keys, before the shares are listed, too)
for round in 1 2 3; do
	etsi 1 /api/v1/keys/client2_sae1/enc_keys >"$tmp/enc4.json"
	id4=$(jq -r '.keys[0].key_ID' "$tmp/enc4.json")
	code=$(setpriv --reuid=65534 --regid=65534 --clear-groups curl -s -o "$tmp/dec4.json" \
		-w '%{http_code}' --unix-socket "$tmp/run/etsi2.sock" \
		"http://localhost/api/v1/keys/client1_sae1/dec_keys?key_ID=$id4")
	[ "$code" = 401 ] || fail "dec_keys by the wrong SAE ($round): HTTP $code $(cat "$tmp/dec4.json")"
	etsi 2 "/api/v1/keys/client1_sae1/dec_keys?key_ID=$id4" >"$tmp/dec4b.json"
	[ "$(cat "$tmp/code")" = 200 ] ||
		fail "dec_keys by the right SAE after a refusal ($round): HTTP $(cat "$tmp/code") $(cat "$tmp/dec4b.json")"
	[ "$(jq -r '.keys[0].key' "$tmp/dec4b.json")" = "$(jq -r '.keys[0].key' "$tmp/enc4.json")" ] ||
		fail "round $round: keys differ"
done

# 5. an unknown key ID: 400 with the ETSI message, after the fetch deadline at most
etsi 2 "/api/v1/keys/client1_sae1/dec_keys?key_ID=6f0c1e63-0000-4000-8000-000000000000" >"$tmp/dec5.json"
[ "$(cat "$tmp/code")" = 400 ] || fail "unknown key: HTTP $(cat "$tmp/code")"

# 6. the slave SAE of enc_keys must be a peer's SAE: 400
etsi 1 /api/v1/keys/nobody_sae/enc_keys >"$tmp/enc6.json"
[ "$(cat "$tmp/code")" = 400 ] || fail "enc_keys for an unknown slave: HTTP $(cat "$tmp/code")"

# 7. status: counters, PSRD, no faults; shares released at the hubs
s1=$(status 1); s2=$(status 2)
[ "$(jq '.keys.made' <<<"$s1")" = 7 ] || fail "client1 made $(jq '.keys.made' <<<"$s1") keys, want 7"
[ "$(jq '.keys.served' <<<"$s2")" = 7 ] || fail "client2 served $(jq '.keys.served' <<<"$s2") keys, want 7"
[ "$(jq '[.hubs[].faults] | add' <<<"$s2")" = 0 ] || fail "faults reported: $s2"
[ "$(jq '[.hubs[] | select(.up)] | length' <<<"$s1")" = $NH ] || fail "client1 hubs not all up"
[ "$(jq '.hubs[0].psrd.tx_remaining < .hubs[0].psrd.tx_end' <<<"$s1")" = true ] || fail "no PSRD accounted"
wait_for 5 sh -c "[ \$(curl -sf --unix-socket $tmp/run/client2.sock http://localhost/v1/status | jq .shares.released) -ge 7 ]" ||
	fail "shares not released: $(status 2 | jq .shares)"

# 8. delivery audit log: both sides, IDs and SAEs, never key bytes
grep -q "key=$id sae=client1_sae1 side=master" "$tmp/client1/delivery.log" || fail "audit: master side"
grep -q "key=$id sae=client2_sae1 side=slave" "$tmp/client2/delivery.log" || fail "audit: slave side"
grep -q "$key" "$tmp/client1/delivery.log" "$tmp/client2/delivery.log" && fail "key bytes in the audit log"

# 9. root on the control socket acts as a local SAE (X-DSKE-SAE)
etsi 1 /api/v1/keys/client2_sae2/enc_keys >/dev/null
curl -s -o "$tmp/c9.json" -w '%{http_code}' --unix-socket "$tmp/run/client1.sock" \
	-H 'X-DSKE-SAE: client1_sae2' http://localhost/api/v1/keys/client2_sae2/enc_keys >"$tmp/code"
[ "$(cat "$tmp/code")" = 200 ] || fail "control socket enc_keys: HTTP $(cat "$tmp/code") $(cat "$tmp/c9.json")"
id9=$(jq -r '.keys[0].key_ID' "$tmp/c9.json")
curl -s -o "$tmp/d9.json" -w '%{http_code}' --unix-socket "$tmp/run/client2.sock" \
	-H 'X-DSKE-SAE: client2_sae2' \
	"http://localhost/api/v1/keys/client1_sae2/dec_keys?key_ID=$id9" >"$tmp/code"
[ "$(cat "$tmp/code")" = 200 ] || fail "control socket dec_keys: HTTP $(cat "$tmp/code") $(cat "$tmp/d9.json")"
[ "$(jq -r '.keys[0].key' "$tmp/c9.json")" = "$(jq -r '.keys[0].key' "$tmp/d9.json")" ] ||
	fail "control socket: keys differ"
grep -q "key=$id9 sae=client2_sae2 side=slave iface=control" "$tmp/client2/delivery.log" ||
	fail "audit: control interface"

[ $fails = 0 ] || { for f in "$tmp"/*.log; do echo "--- $f"; tail -5 "$f"; done; exit 1; }
echo "031-etsi-keypair: ok"
