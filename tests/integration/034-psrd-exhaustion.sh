#!/bin/bash
# PSRD exhaustion and a run-time import: with 8 KiB streams at client1 (the initiator) keys flow
# until a hub's PSRD falls below psrd_reserve, then enc_keys answers 503 "PSRD exhausted for hub NAME" (nothing crashes,
# no wrong key); a second block imported at client1 alone is not used (the hubs do not have it);
# once the hubs import their halves too (their control sockets), keys flow again without a
# restart.
cd "$(dirname "$0")/../.." || exit 1
PSRD_SIZE_CLIENT1=8K
PSRD_SIZE_CLIENT2=1M
LAB_CLIENT_EXTRA="psrd_reserve = 1K"
. tests/integration/lib-clientlab.sh
lab_start_hubs
lab_start_clients
for c in 1 2; do wait_for 5 test -S "$tmp/run/etsi$c.sock" || die "no ETSI socket"; done

etsi() {
	curl -s -o "$tmp/body" -w '%{http_code}' --unix-socket "$tmp/run/etsi$1.sock" \
		"http://localhost$2" >"$tmp/code"
	cat "$tmp/body"
}
pairs=0
for n in $(seq 1 100); do
	etsi 1 "/api/v1/keys/client2_sae1/enc_keys?number=4" >"$tmp/enc.json"
	[ "$(cat "$tmp/code")" = 200 ] || break
	curl -s -o "$tmp/dec.json" -w '%{http_code}' --unix-socket "$tmp/run/etsi2.sock" \
		-X POST -H 'Content-Type: application/json' \
		-d "$(jq -c '{key_IDs: [.keys[] | {key_ID}]}' "$tmp/enc.json")" \
		http://localhost/api/v1/keys/client1_sae1/dec_keys >"$tmp/code"
	[ "$(cat "$tmp/code")" = 200 ] || { fail "dec_keys $n: HTTP $(cat "$tmp/code") $(cat "$tmp/dec.json")"; break; }
	[ "$(jq -c '[.keys[].key]' "$tmp/dec.json")" = "$(jq -c '[.keys[].key]' "$tmp/enc.json")" ] ||
		fail "batch $n: keys differ"
	pairs=$((pairs + 4))
done
# single keys fit a little longer
for n in $(seq 1 20); do
	etsi 1 /api/v1/keys/client2_sae1/enc_keys >/dev/null
	[ "$(cat "$tmp/code")" = 200 ] || break
done
[ "$(cat "$tmp/code")" = 503 ] || fail "after $pairs pairs: HTTP $(cat "$tmp/code") $(cat "$tmp/body"), want 503"
grep -q "PSRD exhausted for hub hub[1-5]" "$tmp/body" || fail "exhaustion message: $(cat "$tmp/body")"
[ "$pairs" -ge 10 ] || fail "only $pairs pairs from 8 KiB streams"
echo "$pairs key pairs from 8 KiB per stream"
status 1 | jq -e '.warnings | map(select(test("PSRD low for hub"))) | length == 5' >/dev/null ||
	fail "no low-water warnings: $(status 1 | jq -c .warnings)"

# block 2 for every hub and client1
for i in $(seq 1 $NH); do
	for c in 1; do
		"$BIN/dske-psrd" make --hub hub$i --hub-index $i --hub-url http://127.0.0.1:${ports[$((i - 1))]} \
			--client client$c --sae client${c}_sae1 --sae client${c}_sae2 --size 256K \
			--block-id 2 --offset 8K --out "$tmp/bundles" >/dev/null || die "dske-psrd block 2"
	done
done
imp() {  # imp SOCKET FILE: POST /v1/import, 0 on HTTP 200
	[ "$(curl -s -o "$tmp/imp.json" -w '%{http_code}' --unix-socket "$1" \
		--data-binary @"$2" http://localhost/v1/import)" = 200 ]
}
# the client first: not usable yet
for c in 1; do
	for i in $(seq 1 $NH); do
		imp "$tmp/run/client$c.sock" "$tmp/bundles/hub$i-client$c.block2.client.bundle" ||
			fail "client$c import hub$i block 2: $(cat "$tmp/imp.json")"
	done
done
etsi 1 /api/v1/keys/client2_sae1/enc_keys >/dev/null
[ "$(cat "$tmp/code")" = 503 ] || fail "a block the hubs do not have was used: HTTP $(cat "$tmp/code")"
# then the hubs: keys again, no restart
for i in $(seq 1 $NH); do
	for c in 1; do
		imp "$tmp/run/hub$i.sock" "$tmp/bundles/hub$i-client$c.block2.hub.bundle" ||
			fail "hub$i import client$c block 2: $(cat "$tmp/imp.json")"
	done
done
ok_again() {
	etsi 1 /api/v1/keys/client2_sae1/enc_keys >"$tmp/enc.json"
	[ "$(cat "$tmp/code")" = 200 ] || return 1
	etsi 2 "/api/v1/keys/client1_sae1/dec_keys?key_ID=$(jq -r '.keys[0].key_ID' "$tmp/enc.json")" >"$tmp/dec.json"
	[ "$(cat "$tmp/code")" = 200 ] && [ "$(jq -r '.keys[0].key' "$tmp/dec.json")" = "$(jq -r '.keys[0].key' "$tmp/enc.json")" ]
}
wait_for 20 ok_again || fail "no keys after the hubs imported block 2: HTTP $(cat "$tmp/code") $(cat "$tmp/body")"

[ $fails = 0 ] || { for f in "$tmp"/*.log; do echo "--- $f"; tail -5 "$f"; done; exit 1; }
echo "034-psrd-exhaustion: ok"
