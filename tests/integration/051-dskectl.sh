#!/bin/bash
# 051-dskectl: dskectl against a real lab (3 hubs, 2 clients, k 2): status (human and --json,
# client and hub), get-key / get-key-with-ids over the control socket (keys match at both ends,
# several keys and sizes, refusals carry the daemon's message), import of a second PSRD block
# at run time, keys / ppk (the daemon's answer or a clear message for a 404), and the errors
# before any answer (missing socket, not a socket, permission denied, usage).
. "$(dirname "$0")/lib.sh"

lab_start --hubs 3 --clients 2 -k 2 --psrd 256K
C1=$(client_ctl client1)
C2=$(client_ctl client2)
out=$(lib_mktemp)

dskectl --version | grep -qE '^dskectl [0-9]' || fail "--version"
dskectl --help | grep -q "get-key-with-ids" || fail "--help"

# ---- status
dskectl --socket "$C1" status > "$out/st" || fail "status: $(cat "$out/st")"
grep -q "^client1 (client" "$out/st" || fail "status header: $(head -1 "$out/st")"
grep -q "^hubs: 3 up, 0 down (k = 2)" "$out/st" || fail "status hubs line: $(cat "$out/st")"
[ "$(grep -cE '^  hub[123] +up ' "$out/st")" = 3 ] || fail "status hub lines: $(cat "$out/st")"
[ "$(grep -cE 'tx c2h \[#+\.*\] +[0-9]+%' "$out/st")" = 3 ] || fail "status PSRD bars: $(cat "$out/st")"
grep -q "^keys: made 0" "$out/st" || fail "status keys line: $(cat "$out/st")"
dskectl --json --socket "$C1" status > "$out/js" || fail "status --json"
[ "$(jq -r .name "$out/js")" = client1 ] || fail "status --json: $(head -c 300 "$out/js")"
dskectl --hub --socket "$(hub_ctl hub1)" status > "$out/hs" || fail "hub status"
grep -q "^hub1 (hub" "$out/hs" && grep -q "^clients: 2" "$out/hs" || fail "hub status: $(cat "$out/hs")"
pass "status: client and hub, human and --json"

# ---- keys over the control socket (root acting as an SAE)
dskectl -s "$C1" get-key --sae client1_sae1 client2_sae1 > "$out/k1" || fail "get-key: $(cat "$out/k1")"
read -r id k1 < "$out/k1"
[[ $id =~ ^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$ ]] || fail "get-key: key ID '$id'"
[[ $k1 =~ ^[0-9a-f]{64}$ ]] || fail "get-key: key is not 64 hex digits: '$k1'"
dskectl -s "$C2" get-key-with-ids --sae client2_sae1 client1_sae1 "$id" > "$out/k2" ||
	fail "get-key-with-ids: $(cat "$out/k2")"
cmp -s "$out/k1" "$out/k2" || fail "the two ends differ"
pass "get-key / get-key-with-ids: one 256-bit key, the same at both ends"

dskectl -s "$C1" get-key --sae client1_sae2 client2_sae2 --number 3 --size 512 > "$out/k3" ||
	fail "get-key --number 3 --size 512"
[ "$(grep -cE '^[0-9a-f-]{36} [0-9a-f]{128}$' "$out/k3")" = 3 ] || fail "3 keys of 512 bits: $(cat "$out/k3")"
dskectl -s "$C2" get-key-with-ids --sae client2_sae2 client1_sae2 $(cut -d' ' -f1 "$out/k3") > "$out/k4" ||
	fail "get-key-with-ids with 3 IDs"
cmp -s "$out/k3" "$out/k4" || fail "3 keys differ between the ends"
dskectl --json -s "$C1" get-key --sae client1_sae1 client2_sae1 > "$out/j" || fail "get-key --json"
jq -e '.keys | length == 1' "$out/j" > /dev/null || fail "get-key --json: not a key container"
pass "several keys and sizes; --json prints the key container"

# refusals: the daemon's message, exit 1
dskectl -s "$C2" get-key-with-ids --sae client2_sae2 client1_sae1 "$id" > /dev/null 2> "$out/e"
rc=$?
[ "$rc" = 1 ] || fail "a key fetched by the wrong SAE: exit $rc"
grep -qE "HTTP (400|401)" "$out/e" || fail "wrong SAE: $(cat "$out/e")"
dskectl -s "$C1" get-key --sae nosuch_sae client2_sae1 > /dev/null 2> "$out/e" && fail "unknown SAE accepted"
grep -q "dskectl: get-key: HTTP" "$out/e" || fail "unknown SAE: $(cat "$out/e")"
dskectl -s "$C1" get-key-with-ids --sae client2_sae1 client1_sae1 not-a-uuid > /dev/null 2> "$out/e"
[ $? = 2 ] && grep -q "is not a key ID" "$out/e" || fail "bad key ID: $(cat "$out/e")"
pass "refusals print the daemon's message"

# ---- import a second PSRD block at run time (hub first, then the client)
mkdir "$out/b"
"$DSKE_BIN/dske-psrd" make --hub hub1 --hub-index 1 --hub-url "$(hub_url hub1)" --client client1 \
	--sae client1_sae1 --sae client1_sae2 --size 256K --block-id 2 --offset 262144 --out "$out/b" \
	> /dev/null || fail "dske-psrd make block 2"
dskectl --hub -s "$(hub_ctl hub1)" import "$out/b/hub1-client1.block2.hub.bundle" > "$out/i" ||
	fail "import into hub1: $(cat "$out/i")"
dskectl -s "$C1" import "$out/b/hub1-client1.block2.client.bundle" > "$out/i" ||
	fail "import into client1: $(cat "$out/i")"
[ -s "$out/i" ] || fail "import printed nothing"
wait_for -t 10 eval 'client_status client1 | jq -e ".hubs[] | select(.name == \"hub1\") | .psrd.tx_end == 524288" > /dev/null' ||
	fail "client1's c2h stream to hub1 did not grow to 512K: $CTL_BODY"
dskectl -s "$C1" import "$out/b/hub1-client1.block2.hub.bundle" > /dev/null 2> "$out/e" &&
	fail "the hub half imported on a client"
grep -q "dskectl: import: HTTP 4" "$out/e" || fail "wrong half: $(cat "$out/e")"
pass "import: a second block at run time, the wrong half refused with the daemon's message"

# ---- keys, ppk: the daemon's answer, or a clear message where it has no such endpoint
for what in keys ppk; do
	code=$(curl -s -o /dev/null -w '%{http_code}' --unix-socket "$C1" "http://localhost/v1/$what")
	dskectl -s "$C1" $what > "$out/o" 2> "$out/e"
	rc=$?
	if [ "$code" = 200 ]; then
		[ "$rc" = 0 ] || fail "$what: daemon answered 200, dskectl exit $rc: $(cat "$out/e")"
		dskectl --json -s "$C1" $what | jq -e . > /dev/null || fail "$what --json"
	else
		[ "$rc" = 1 ] || fail "$what: daemon answered $code, dskectl exit $rc"
		if [ "$code" = 404 ]; then
			grep -q "does not serve GET /v1/$what" "$out/e" || fail "$what on 404: $(cat "$out/e")"
		fi
	fi
done
dskectl --hub -s "$(hub_ctl hub1)" keys > /dev/null 2> "$out/e" && fail "keys on a hub succeeded"
grep -q "does not serve GET /v1/keys" "$out/e" || fail "keys on a hub: $(cat "$out/e")"
pass "keys / ppk: the daemon's answer, or a clear message for an endpoint it lacks"

# ---- errors before any answer
dskectl -s "$out/nonexistent.sock" status > /dev/null 2> "$out/e" && fail "missing socket: exit 0"
grep -q "no control socket at $out/nonexistent.sock" "$out/e" || fail "missing socket: $(cat "$out/e")"
dskectl -s "$out/k1" status > /dev/null 2> "$out/e" && fail "not a socket: exit 0"
grep -q "is not a socket" "$out/e" || fail "not a socket: $(cat "$out/e")"
setpriv --reuid=65534 --regid=65534 --clear-groups "$DSKE_BIN/dskectl" -s "$C1" status > /dev/null 2> "$out/e" &&
	fail "uid 65534 read the control socket"
grep -q "permission denied on $C1" "$out/e" || fail "permission denied: $(cat "$out/e")"
dskectl -s "$C1" frobnicate > /dev/null 2>&1; [ $? = 2 ] || fail "unknown command: not exit 2"
dskectl -s "$C1" status --sae x > /dev/null 2>&1; [ $? = 2 ] || fail "--sae with status: not exit 2"
dskectl -s "$C1" get-key client2_sae1 > /dev/null 2>&1; [ $? = 2 ] || fail "get-key without --sae: not exit 2"
pass "errors: missing socket, not a socket, permission denied, usage"
