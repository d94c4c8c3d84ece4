#!/bin/bash
# Liveness with n - k hubs down: with 2 of 5 hubs stopped (k = 3) key pairs still work over ETSI;
# with 3 stopped enc_keys fails with 503 "2 of 5 hubs answered, 3 needed" and status says which
# hubs are down; after a hub comes back keys flow again.
cd "$(dirname "$0")/../.." || exit 1
. tests/integration/lib-clientlab.sh
lab_start_hubs
hub_pids=("${pids[@]}")
lab_start_clients

etsi() {  # etsi CLIENT PATH: body to stdout, HTTP code to $tmp/code
	curl -s -o "$tmp/body" -w '%{http_code}' --unix-socket "$tmp/run/etsi$1.sock" \
		"http://localhost$2" >"$tmp/code"
	cat "$tmp/body"
}
pair() {  # one key pair client1 -> client2; 0 when both sides hold the same key
	etsi 1 /api/v1/keys/client2_sae1/enc_keys >"$tmp/enc.json"
	[ "$(cat "$tmp/code")" = 200 ] || return 1
	local id key
	id=$(jq -r '.keys[0].key_ID' "$tmp/enc.json")
	key=$(jq -r '.keys[0].key' "$tmp/enc.json")
	etsi 2 "/api/v1/keys/client1_sae1/dec_keys?key_ID=$id" >"$tmp/dec.json"
	[ "$(cat "$tmp/code")" = 200 ] && [ "$(jq -r '.keys[0].key' "$tmp/dec.json")" = "$key" ]
}
stop_hub() { kill "${hub_pids[$(($1 - 1))]}"; wait "${hub_pids[$(($1 - 1))]}" 2>/dev/null; }

pair || die "pair with all hubs: $(cat "$tmp/enc.json" "$tmp/dec.json" 2>/dev/null)"

# two hubs down: still k = 3
stop_hub 4
stop_hub 5
for i in 1 2 3; do
	pair || fail "pair $i with hubs 4, 5 down: HTTP $(cat "$tmp/code") $(cat "$tmp/body")"
done
down() { [ "$(status 1 | jq "[.hubs[] | select(.up | not)] | length")" = "$1" ]; }
wait_for 10 down 2 || fail "status does not show 2 hubs down: $(status 1 | jq -c '[.hubs[] | {name, up, last_error}]')"

# three down: refused, with the message, quickly (hub_timeout 2 s)
stop_hub 3
start=$SECONDS
etsi 1 /api/v1/keys/client2_sae1/enc_keys >"$tmp/e3.json"
[ "$(cat "$tmp/code")" = 503 ] || fail "3 hubs down: HTTP $(cat "$tmp/code"), want 503"
grep -q "2 of 5 hubs answered, 3 needed" "$tmp/e3.json" || fail "3 hubs down: message $(cat "$tmp/e3.json")"
[ $((SECONDS - start)) -le 5 ] || fail "3 hubs down: took $((SECONDS - start)) s"
status 1 | jq -e '.warnings | map(select(test("hubs up"))) | length == 1' >/dev/null ||
	fail "no warning about hubs up: $(status 1 | jq -c .warnings)"

# hub 3 back: keys again
"$BIN/dske-hubd" -c "$tmp/hub3.conf" 2>>"$tmp/hub3.log" &
pids+=($!)
wait_for 10 curl -sf "http://127.0.0.1:${ports[2]}/healthz" || die "hub3 did not restart"
wait_for 10 pair || fail "no pair after hub3 came back: HTTP $(cat "$tmp/code") $(cat "$tmp/body")"

[ $fails = 0 ] || { for f in "$tmp"/*.log; do echo "--- $f"; tail -5 "$f"; done; exit 1; }
echo "032-hubs-down: ok"
