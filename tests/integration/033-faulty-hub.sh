#!/bin/bash
# Robustness: one hub (hub3, the test build's dske-hubd-faulty) corrupts every share it relays.
# Key pairs still come out right (robust reconstruction with the AMD check), and the responder
# names hub3 as faulty in its status and log; no other hub is blamed. With k = 3 of 5 and every
# share asked from all hubs this needs a fourth honest share, which the responder fetches when
# the first k do not pass.
cd "$(dirname "$0")/../.." || exit 1
. tests/integration/lib-clientlab.sh
FAULTY=$PWD/${BUILD:-build}/tests/tools/dske-hubd-faulty
[ -x "$FAULTY" ] || die "$FAULTY not built (make test-build)"

# start the hubs, hub3 from the faulty build
for i in $(seq 1 $NH); do
	if [ $i = 3 ]; then
		"$FAULTY" -c "$tmp/hub$i.conf" --fault corrupt-shares 2>"$tmp/hub$i.log" &
	else
		"$BIN/dske-hubd" -c "$tmp/hub$i.conf" 2>"$tmp/hub$i.log" &
	fi
	pids+=($!)
done
for i in $(seq 1 $NH); do
	wait_for 10 curl -sf "http://127.0.0.1:${ports[$((i - 1))]}/healthz" || die "hub$i not up"
done
lab_start_clients
for c in 1 2; do wait_for 5 test -S "$tmp/run/etsi$c.sock" || die "no ETSI socket"; done

etsi() {
	curl -s -o "$tmp/body" -w '%{http_code}' --unix-socket "$tmp/run/etsi$1.sock" \
		"http://localhost$2" >"$tmp/code"
	cat "$tmp/body"
}
for round in 1 2 3 4; do
	etsi 1 /api/v1/keys/client2_sae1/enc_keys?number=2 >"$tmp/enc.json"
	[ "$(cat "$tmp/code")" = 200 ] || { fail "enc_keys: HTTP $(cat "$tmp/code") $(cat "$tmp/enc.json")"; continue; }
	for j in 0 1; do
		id=$(jq -r ".keys[$j].key_ID" "$tmp/enc.json")
		etsi 2 "/api/v1/keys/client1_sae1/dec_keys?key_ID=$id" >"$tmp/dec.json"
		[ "$(cat "$tmp/code")" = 200 ] || { fail "dec_keys $round/$j: HTTP $(cat "$tmp/code") $(cat "$tmp/dec.json")"; continue; }
		[ "$(jq -r '.keys[0].key' "$tmp/dec.json")" = "$(jq -r ".keys[$j].key" "$tmp/enc.json")" ] ||
			fail "round $round key $j: the responder accepted a wrong key"
	done
done
s=$(status 2)
faults=$(jq -c '[.hubs[] | {(.name): .faults}] | add' <<<"$s")
[ "$(jq '.hubs[2].faults' <<<"$s")" -ge 1 ] || fail "hub3 not counted as faulty: $faults"
[ "$(jq '[.hubs[] | select(.name != "hub3") | .faults] | add' <<<"$s")" = 0 ] ||
	fail "an honest hub was blamed: $faults"
jq -e '.warnings | map(select(test("hub hub3 relayed"))) | length == 1' <<<"$s" >/dev/null ||
	fail "no warning naming hub3: $(jq -c .warnings <<<"$s")"
grep -q "hub hub3: its share of key .* disagrees" "$tmp/client2.log" || fail "hub3 not named in the log"
[ "$(jq '.keys.failed' <<<"$s")" = 0 ] || fail "keys failed: $(jq .keys <<<"$s")"

[ $fails = 0 ] || { for f in "$tmp"/*.log; do echo "--- $f"; tail -5 "$f"; done; exit 1; }
echo "033-faulty-hub: ok"
