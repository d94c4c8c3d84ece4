#!/bin/bash
# Bad input (issue 4): a table of cases across the ETSI API (client1, as SAE client1_sae1), the
# hub's in-band endpoint, both control sockets, config files (dske-clientd and dske-hubd
# --check-config) and bundles (import, dske-psrd inspect). Each case must get the right status
# and a message that says what was wrong; afterwards every daemon is still running and no state
# changed: no key made or held, no PSRD used on any stream (levels compared before and after;
# the lab runs with poll_wait = 60 s so no idle long poll completes meanwhile).
. "$(dirname "$0")/lib-robust.sh"

lab_start --client-set poll_wait=60s
W=$(lib_mktemp)
NCASES=0
FAILS=0
case_result() {   # NAME WANT_CODE REGEX GOT_CODE GOT_TEXT
	NCASES=$((NCASES + 1))
	local msg=${5//$'\n'/ }
	if [ "$4" != "$2" ] || ! [[ $5 =~ $3 ]]; then
		echo "FAIL: case $NCASES $1: expected $2 /$3/, got $4: ${msg:0:300}" >&2
		FAILS=$((FAILS + 1))
	else
		printf '   %-3s %-44s %s %s\n' "$NCASES" "$1" "$4" "${msg:0:90}"
	fi
}

# ---- state before
snapshot() {
	local c h
	for c in client1 client2; do
		client_status "$c" | jq -c '{keys: .keys, psrd: [.hubs[] | .psrd | {tx_remaining, rx_remaining}]}'
	done
	for h in $DSKE_HUBS; do
		hub_status "$h" | jq -c '{shares: .shares.stored, psrd: [.clients[] | .psrd | {tx_remaining, rx_remaining, rx_accepted}]}'
	done
}
# wait until the lab is idle: every client's pollers have sent their first long poll (each
# costs one MAC key) and nothing moves between two snapshots half a second apart
before=$(snapshot) || fail "status before"
for _ in $(seq 1 40); do
	sleep 0.5
	again=$(snapshot) || fail "status before"
	[ "$again" = "$before" ] && break
	before=$again
done
[ "$again" = "$before" ] || fail "the lab never became idle"

# ---- ETSI 014 (unix socket of client1, caller client1_sae1, peer SAE client2_sae1)
E() {   # NAME CODE REGEX METHOD PATH [BODY]
	local n=$1 code=$2 re=$3
	shift 3
	etsi client1 client1_sae1 "$@"
	local m
	m=$(json .message 2>/dev/null) || m="(no JSON message) $ETSI_BODY"
	case_result "etsi: $n" "$code" "$re" "$ETSI_CODE" "$m"
}
S=client2_sae1
E "malformed JSON"                400 'JSON|json|parse'        POST "$S/enc_keys" '{"number":'
E "JSON not an object"            400 'object'                 POST "$S/enc_keys" '[1,2]'
E "number of the wrong type"      400 'number'                 POST "$S/enc_keys" '{"number":"3"}'
E "size of the wrong type"        400 'size'                   POST "$S/enc_keys" '{"size":true}'
E "negative number"               400 'number'                 POST "$S/enc_keys" '{"number":-1}'
E "huge number"                   400 'number|integer'                 POST "$S/enc_keys" '{"number":99999999999999999999}'
E "number above max per request"  400 'number'                 POST "$S/enc_keys" '{"number":1025}'
E "number zero"                   400 'number'                 GET "$S/enc_keys?number=0"
E "number not numeric (query)"    400 'number'                 GET "$S/enc_keys?number=abc"
E "size not a multiple of 8"      400 '^size shall be a multiple of 8$' GET "$S/enc_keys?size=250"
E "size not a multiple of 8 (JSON)" 400 '^size shall be a multiple of 8$' POST "$S/enc_keys" '{"size":100}'
E "size below min_key_size"       400 'size'                   GET "$S/enc_keys?size=32"
E "size above max_key_size"       400 'size'                   GET "$S/enc_keys?size=16384"
E "negative size"                 400 'size'                   GET "$S/enc_keys?size=-256"
E "unknown query parameter"       400 'parameter|bogus'        GET "$S/enc_keys?bogus=1"
E "unsupported extension_mandatory" 400 '^not all extension_mandatory parameters are supported$' POST "$S/enc_keys" '{"extension_mandatory":[{"x_unknown":1}]}'
E "unknown slave SAE"             400 'SAE'                    GET "nosuch_sae/enc_keys"
E "unknown slave SAE (status)"    400 'SAE'                    GET "nosuch_sae/status"
E "own SAE as slave"              400 'SAE'                    GET "client1_sae1/enc_keys"
E "percent-encoded space in SAE"  400 'SAE'                    GET "client2%20sae1/status"
E "bad percent-encoding"          400 'SAE|encod'              GET "client2%zzsae1/status"
E "percent-encoded NUL"           400 'SAE|encod'              GET "client2%00/status"
E "percent-encoded slash"         400 'SAE|path'               GET "client2%2Fsae1/status"
E "over-long SAE ID in path"      400 'SAE'                    GET "$(printf 'a%.0s' {1..300})/status"
E "unknown operation"             404 'path|found'             GET "$S/nonsense"
E "wrong method (DELETE)"         405 'method'                 DELETE "$S/enc_keys"
E "wrong method (PUT status)"     405 'method'                 PUT "$S/status" '{}'
E "key_ID not a UUID"             400 '^one or more keys specified are not found on KME$' GET "$S/dec_keys?key_ID=not-a-uuid"
E "key_IDs empty"                 400 'key_IDs'                POST "$S/dec_keys" '{"key_IDs":[]}'
E "key_IDs of the wrong type"     400 'key_IDs'                POST "$S/dec_keys" '{"key_IDs":"x"}'
E "key_ID of the wrong type"      400 'key_ID'                 POST "$S/dec_keys" '{"key_IDs":[{"key_ID":7}]}'
E "trailing garbage after JSON"   400 'JSON|json|parse'        POST "$S/enc_keys" '{"number":1} x'
# oversized body and an over-long request line, with curl directly
out=$(head -c 2000000 /dev/zero | tr '\0' ' ' | curl -s --max-time 30 --unix-socket "$(client_etsi_sock client1)" \
	-H 'Content-Type: application/json' --data-binary @- -w '\n%{http_code}' "http://localhost/api/v1/keys/$S/enc_keys")
lib_split "$out"; case_result "etsi: oversized body (2 MB)" 413 'large|size' "$LIB_CODE" "$LIB_BODY"
out=$(curl -s --max-time 30 --unix-socket "$(client_etsi_sock client1)" -w '\n%{http_code}' \
	"http://localhost/api/v1/keys/$S/enc_keys?number=$(printf '1%.0s' {1..20000})")
lib_split "$out"; case_result "etsi: over-long URL (20 kB)" 414 'long|URI|large' "$LIB_CODE" "$LIB_BODY"

# ---- the hub's in-band endpoint (hub2; tampered frames from a copy of client1's PSRD state)
H() {   # NAME CODE REGEX CURL_ARGS... (URL relative to the hub)
	local n=$1 code=$2 re=$3 path=$4 out
	shift 4
	out=$(curl -s --max-time 30 -w '\n%{http_code}' "$@" "$(hub_url hub2)$path")
	lib_split "$out"
	case_result "hub: $n" "$code" "$re" "$LIB_CODE" "$LIB_BODY"
}
H "GET on the frame endpoint"     405 'method|POST'            /dske/v1
H "unknown path"                  404 'found|path'             /dske/v2 --data-binary x
H "PUT on /healthz"               405 'method|GET'             /healthz -X PUT
H "oversized body (Content-Length 2 MB)" 413 'large'           /dske/v1 -H 'Content-Type: application/octet-stream' --data-binary "@$(head -c 2000000 /dev/zero > "$W/big"; echo "$W/big")"
cp -a "$(v DSKE_CLIENT_client1_STATE)/psrd/hub2" "$W/c1hub2" || fail "copy of client1's state"
FORGE=$DSKE_BIN/../tests/tools/dske-forge
# one run: each run of dske-forge reopens the copy 1 MiB further on (reservation mark)
flines=$("$FORGE" --dir "$W/c1hub2" --client client1 --hub hub2 --url "$(hub_url hub2)" \
	bitflip badtag truncated version unknown-client garbage 2>&1)
while read -r c code re; do
	line=$(grep "^$c " <<< "$flines")
	[[ $line =~ code=([0-9]+) ]] && got=${BASH_REMATCH[1]} || got=none
	case_result "hub: frame $c" "$code" "$re" "$got" "$line"
done <<EOF
bitflip 401 tag does not verify
badtag 401 tag does not verify
truncated 400 malformed frame
version 400 unsupported protocol version
unknown-client 404 unknown client
garbage 400 malformed frame
EOF

# ---- control sockets
C() {   # NAME CODE REGEX SOCKET METHOD PATH [CURL_ARGS...]
	local n=$1 code=$2 re=$3
	shift 3
	ctl "$@" > /dev/null
	case_result "ctl: $n" "$code" "$re" "$CTL_CODE" "$CTL_BODY"
}
cs=$(client_ctl client1); hs=$(hub_ctl hub1)
"$DSKE_BIN/dske-psrd" make --hub hub1 --hub-index 1 --hub-url "$(hub_url hub1)" --client client1 \
	--sae client1_sae1 --sae client1_sae2 --size 4K --block-id 2 --offset 4194304 --out "$W" > /dev/null ||
	fail "dske-psrd make"
cb=$W/hub1-client1.block2.client.bundle; hb=$W/hub1-client1.block2.hub.bundle
head -c 200 "$cb" > "$W/trunc-header.bundle"
head -c $(($(stat -c %s "$cb") - 100)) "$cb" > "$W/trunc-data.bundle"
cp "$cb" "$W/flipped.bundle"; printf '\x55' | dd of="$W/flipped.bundle" bs=1 seek=$(($(stat -c %s "$cb") - 10)) conv=notrunc 2> /dev/null
sed '1s/.*/DSKE-PROVISION 9/' "$cb" > "$W/version.bundle"
C "unknown path"                  404 'endpoint'               "$cs" GET /v1/nosuch
C "wrong method on /v1/status"    405 'method'                 "$cs" DELETE /v1/status
C "import: not a bundle"          400 'bundle|line'            "$cs" POST /v1/import --data-binary 'hello'
C "import: truncated header"      400 'line'                   "$cs" POST /v1/import --data-binary "@$W/trunc-header.bundle"
C "import: truncated data"        400 'length|data|truncated'  "$cs" POST /v1/import --data-binary "@$W/trunc-data.bundle"
C "import: checksum mismatch"     400 'checksum'               "$cs" POST /v1/import --data-binary "@$W/flipped.bundle"
C "import: unknown format version" 400 'line 1|version|DSKE-PROVISION' "$cs" POST /v1/import --data-binary "@$W/version.bundle"
C "import: the hub's half"        400 'role|hub'               "$cs" POST /v1/import --data-binary "@$hb"
C "hub import: the client's half" 400 'role|client'            "$hs" POST /v1/import --data-binary "@$cb"
C "hub import: truncated"         400 'line|length|data'       "$hs" POST /v1/import --data-binary "@$W/trunc-data.bundle"
C "hub: unknown path"             404 'endpoint'               "$hs" GET /v1/keys
C "import: empty body"            400 'bundle|empty|line'      "$cs" POST /v1/import
C "hub: wrong method on /v1/import" 405 'method'               "$hs" GET /v1/import
C "ETSI as root: unknown SAE header" 401 'SAE'                 "$cs" GET /api/v1/keys/client2_sae1/status -H 'X-DSKE-SAE: nosuch'

# ---- dske-psrd inspect on damaged bundles
P() {   # NAME REGEX FILE
	local out rc
	out=$("$DSKE_BIN/dske-psrd" inspect "$3" 2>&1); rc=$?
	[ $rc -ne 0 ] && rc=refused || rc=accepted
	case_result "dske-psrd inspect: $1" refused "$2" "$rc" "$out"
}
P "truncated header"              'line'                       "$W/trunc-header.bundle"
P "truncated data"                'length|data|truncated'      "$W/trunc-data.bundle"
P "checksum mismatch"             'checksum'                   "$W/flipped.bundle"

# ---- config files
K() {   # NAME PROGRAM REGEX CONFIG_TEXT: the last line is at fault
	local f=$W/bad.conf out rc line
	printf '%s\n' "$4" > "$f"
	line=$(wc -l < "$f")
	out=$("$DSKE_BIN/$2" --config "$f" --check-config 2>&1); rc=$?
	[ $rc -ne 0 ] && rc=refused || rc=accepted
	case_result "config: $1" refused "$f:$line: .*($3)" "$rc" "$out"
}
cc=$(grep -v '^;' "$(v DSKE_CLIENT_client1_CONF)" | sed -n '1,/^\[hub hub2\]/p' | sed '$d')
K "client: unknown key"           dske-clientd 'unknown key'   "$cc
[hub hub2]
index = 2
url = $(hub_url hub2)
colour = blue"
K "client: duplicate hub index"   dske-clientd 'index'         "$cc
[hub hub2]
url = $(hub_url hub2)
index = 1"
K "client: duplicate key"         dske-clientd 'duplicate'     "$cc
[hub hub2]
url = $(hub_url hub2)
index = 2
index = 3"
K "client: unknown section"       dske-clientd 'unknown section' "$cc
[hubs hub2]
index = 2"
K "client: unknown section, no keys" dske-clientd 'unknown section' "$cc
[hubs hub2]"
K "hub: unknown section, no keys"   dske-hubd    'unknown section' "[hub]
name = hub1
[nonsense]"
K "client: k = 1"                 dske-clientd 'k'             "[client]
name = client1
k = 1"
K "client: negative number"       dske-clientd 'max_keys_per_request' "[client]
name = client1
max_keys_per_request = -5"
K "client: bad duration"          dske-clientd 'hub_timeout'   "[client]
name = client1
hub_timeout = forever"
K "hub: unknown key"              dske-hubd    'unknown key'   "[hub]
name = hub1
listen_port = 1"
K "hub: huge max_frame"           dske-hubd    'max_frame'     "[hub]
name = hub1
max_frame = 99999999999999999999"

# ---- afterwards: everything still up, nothing changed
daemons_alive
after=$(snapshot) || fail "status after"
if [ "$before" != "$after" ]; then
	diff <(echo "$before") <(echo "$after") >&2
	fail "state changed by bad input"
fi
[ "$NCASES" -ge 40 ] || fail "only $NCASES cases"
[ "$FAILS" = 0 ] || fail "$FAILS of $NCASES bad-input cases answered wrongly"
pass "$NCASES bad-input cases: right status and message each; daemons up; no key made, no PSRD used"

# a well-formed Get key with key IDs for a key that does not exist: the client must ask the
# hubs, but once more than n - k of them said they have no such share it cannot be rebuilt, so
# the answer comes at once (not after fetch_deadline, 5 s) and costs about one SHARE_GET per hub
tx0=$(client_status client1 | jq '[.hubs[].psrd.tx_remaining] | add')
t0=$(now_ms)
E "unknown key_ID"                400 '^one or more keys specified are not found on KME$' GET "$S/dec_keys?key_ID=0d9f2a6e-2b8f-4a55-9a3c-5f1e8f1b2c3d"
ms=$(($(now_ms) - t0))
used=$((tx0 - $(client_status client1 | jq '[.hubs[].psrd.tx_remaining] | add')))
note "unknown key ID: answered in $ms ms, $used bytes of client->hub PSRD used over 5 hubs"
[ "$ms" -lt 2500 ] || fail "Get key with key IDs for an unknown key took $ms ms"
[ "$used" -le $((5 * 64 * 2)) ] || fail "Get key with key IDs for an unknown key used $used bytes of PSRD"
[ "$FAILS" = 0 ] || fail "the unknown key ID case answered wrongly"
pairs 1 client1 client1_sae1 client2 client2_sae1
pass "keys still flow"
