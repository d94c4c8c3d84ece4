#!/bin/bash
# The engine of dske-clientd through five real hubs (keysvc API, tests/tools/keysvc_pair): a key
# pair made at client1 for an SAE of client2 and rebuilt at client2 is the same key; a key is
# delivered once; then the daemons: hubs synchronised, status JSON, import over the control
# socket is refused for a bundle of another client.
cd "$(dirname "$0")/../.." || exit 1
. tests/integration/lib-clientlab.sh
TOOL=${DSKE_TOOLS:-$PWD/${BUILD:-build}/tests/tools}/keysvc_pair
[ -x "$TOOL" ] || die "$TOOL not built (make test-build)"

lab_start_hubs
# 1. the engines in one process: one key; a batch of 4 keys of 512 bits for the other SAE; the
#    other direction
"$TOOL" "$tmp/client1.conf" "$tmp/client2.conf" ab client1_sae1 client2_sae1 1 0 \
	ab client1_sae1 client2_sae2 4 512 ba client2_sae1 client1_sae2 2 128 \
	>"$tmp/pair.out" 2>"$tmp/pair.log" || fail "key pairs: $(cat "$tmp/pair.out")"
[ "$(grep -c '^ok: both sides hold the same keys' "$tmp/pair.out")" = 3 ] ||
	fail "not 3 equal pairs: $(cat "$tmp/pair.out")"
[ "$(grep -c '^ok: a key is delivered once' "$tmp/pair.out")" = 3 ] || fail "once-only"
# SHARE_STATUS (sink.h): pending before the responder took the key, released after
[ "$(grep -c '^ok: SHARE_STATUS: pending before delivery' "$tmp/pair.out")" = 3 ] || fail "SHARE_STATUS pending"
[ "$(grep -c '^ok: SHARE_STATUS: released after delivery' "$tmp/pair.out")" = 3 ] || fail "SHARE_STATUS released"
grep -q ', 512 bits' "$tmp/pair.out" || fail "batch key size: $(cat "$tmp/pair.out")"

# 2. the daemons: synchronised with every hub, status JSON
lab_start_clients
s1=$(status 1)
[ "$(jq -r .name <<<"$s1")" = client1 ] || fail "status name"
[ "$(jq '.hubs | length' <<<"$s1")" = $NH ] || fail "status: hubs"
[ "$(jq '[.hubs[] | select(.up)] | length' <<<"$s1")" = $NH ] || fail "status: not all hubs up: $s1"
[ "$(jq '.hubs[0].psrd.tx_remaining < .hubs[0].psrd.tx_end' <<<"$s1")" = true ] || fail "status: PSRD not accounted"
[ "$(jq '[.hubs[].faults] | add' <<<"$s1")" = 0 ] || fail "status: faults"
# a bundle of client2 imported at client1: refused with the reason, nothing changes
code=$(curl -s -o "$tmp/imp.json" -w '%{http_code}' --unix-socket "$tmp/run/client1.sock" \
	--data-binary @"$tmp/bundles/hub1-client2.client.bundle" http://localhost/v1/import)
[ "$code" = 400 ] || fail "import of another client's bundle: HTTP $code"
grep -q "bundle is for client client2" "$tmp/imp.json" || fail "import message: $(cat "$tmp/imp.json")"
# the same block again: already imported
code=$(curl -s -o "$tmp/imp2.json" -w '%{http_code}' --unix-socket "$tmp/run/client1.sock" \
	--data-binary @"$tmp/bundles/hub1-client1.client.bundle" http://localhost/v1/import)
[ "$code" = 200 ] && grep -q "already imported" "$tmp/imp2.json" || fail "re-import: HTTP $code $(cat "$tmp/imp2.json")"
# --import while the daemon runs is refused (state directory locked)
"$BIN/dske-clientd" -c "$tmp/client1.conf" --import "$tmp/bundles/hub1-client1.client.bundle" \
	>/dev/null 2>"$tmp/imp3.err" && fail "--import while running succeeded"
grep -q "in use by a running dske-clientd" "$tmp/imp3.err" || fail "--import message: $(cat "$tmp/imp3.err")"

[ $fails = 0 ] || { for f in "$tmp"/*.log; do echo "--- $f"; tail -5 "$f"; done; exit 1; }
echo "030-keypair: ok"
