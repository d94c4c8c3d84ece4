#!/bin/bash
# 040-etsi.sh — ETSI GS QKD 014 v1.1.1 conformance of dske-clientd (shared/design/etsi014.md
# section 5, E14-01..E14-17) on a real lab: 5 hubs, 3 clients (the third one tries to take a key
# addressed to another). Every check runs over the unix socket (SO_PEERCRED, curl --unix-socket,
# setpriv for the uid) and over HTTPS with client certificates (curl --cert/--key/--cacert), and
# asserts the exact status and Error message.
. "$(dirname "$0")/lib.sh"

# an unknown key ID is answered after fetch_deadline (the shares might still be on their way)
lab_start --hubs 5 --clients 3 --client-set fetch_deadline=1s
A=client1_sae1          # master (client1, uid 0)
A2=client1_sae2         # client1, uid 65534
B=client2_sae1          # the slave (client2, uid 0)
B2=client2_sae2         # client2, uid 65534: not the slave
X=client3_sae1          # another client's SAE
UUID_RE='^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
WORK=$(lib_mktemp)

# ---------------------------------------------------------------- helpers
# req TRANSPORT CLIENT SAE [CURL_ARGS...] PATH: one ETSI request below /api/v1/keys/ as SAE on
# CLIENT's daemon; sets CODE and BODY (CODE 000: no HTTP answer, e.g. a refused handshake).
req() {
	local t=$1 c=$2 s=$3 out path
	shift 3
	path=${!#}
	set -- "${@:1:$#-1}"
	if [ "$t" = unix ]; then
		out=$(as_sae "$s" curl -sS --max-time 30 --unix-socket "$(client_etsi_sock "$c")" \
			-w '\n%{http_code}' "$@" "http://localhost/api/v1/keys/$path" 2>&1)
	else
		out=$(curl -sS --max-time 30 --cacert "$DSKE_CA" --cert "$(sae_cert "$s")" \
			--key "$(sae_key "$s")" -w '\n%{http_code}' "$@" \
			"$(client_etsi_url "$c")/api/v1/keys/$path" 2>&1)
	fi
	lib_split "$out"
	CODE=$LIB_CODE
	BODY=$LIB_BODY
}
post() { req "$1" "$2" "$3" -H 'Content-Type: application/json' --data-binary "$4" "$5"; }

# ok WHAT: the last answer was 200 with a JSON body
ok() {
	[ "$CODE" = 200 ] || fail "$T: $1: want 200, got $CODE: $BODY"
	json_ok "$BODY" || fail "$T: $1: body is not JSON: $BODY"
}
# err CODE MESSAGE WHAT: the last answer was CODE with the JSON Error {"message": MESSAGE}
err() {
	[ "$CODE" = "$1" ] || fail "$T: $3: want $1 '$2', got $CODE: $BODY"
	[ "$(jq -r '.message' <<< "$BODY" 2>/dev/null)" = "$2" ] ||
		fail "$T: $3: want message '$2', got: $BODY"
}
# err_any CODE WHAT: CODE with a JSON Error that has a non-empty message
err_any() {
	[ "$CODE" = "$1" ] || fail "$T: $2: want $1, got $CODE: $BODY"
	jq -e '.message | type == "string" and length > 0' <<< "$BODY" > /dev/null 2>&1 ||
		fail "$T: $2: no JSON Error message: $BODY"
}

# container N BYTES: a key container of N keys of BYTES bytes, canonical UUIDs, padded base64
container() {
	jq -e --argjson n "$1" --argjson b "$2" --arg re "$UUID_RE" '
		(.keys | length) == $n and all(.keys[];
			(.key_ID | test($re)) and (.key | test("^[A-Za-z0-9+/]*={0,2}$")) and
			(.key | length) % 4 == 0 and
			((.key | length) / 4 * 3 - (.key | capture("(?<p>=*)$").p | length)) == $b)
		' <<< "$BODY" > /dev/null || fail "$T: want $1 keys of $2 bytes: $BODY"
	# one decoded by base64(1), to be sure
	[ "$(jq -r '.keys[0].key' <<< "$BODY" | base64 -d | wc -c)" = "$2" ] ||
		fail "$T: base64 -d of the first key is not $2 bytes"
	[ "$(key_ids "$BODY" | sort -u | wc -l)" = "$1" ] || fail "$T: key IDs repeat: $BODY"
}
# same_keys MASTER_BODY SLAVE_BODY: every key of the slave's container is one the master got,
# with the same bytes
same_keys() {
	jq -en --argjson m "$1" --argjson s "$2" '
		($m.keys | map({(.key_ID): .key}) | add) as $mk |
		($s.keys | length) > 0 and all($s.keys[]; $mk[.key_ID] != null and $mk[.key_ID] == .key)
		' > /dev/null || fail "$T: the slave's keys differ from the master's: $2"
}

ids_body() {   # ID...: a Key IDs body
	local id b='{"key_IDs":['
	for id in "$@"; do b+="{\"key_ID\":\"$id\"},"; done
	printf '%s' "${b%,}]}"
}

NOTFOUND='one or more keys specified are not found on KME'
MULT8='size shall be a multiple of 8'
NUMBER='number must be a positive integer'
SIZE='size must be a positive integer'
BADSAE='slave_SAE_ID in the path is not a valid SAE ID (1 to 64 of A-Z a-z 0-9 . _ @ : + -)'

# ---------------------------------------------------------------- every check, both transports
for T in unix https; do
	# E14-03: Status, all 11 fields, master = caller, slave = path, consistent bounds
	req $T client1 $A "$B/status"
	ok "status"
	jq -e --arg m "$A" --arg s "$B" '
		(keys | length) == 11 and .source_KME_ID == "client1" and .target_KME_ID == "client2" and
		.master_SAE_ID == $m and .slave_SAE_ID == $s and
		([.key_size, .stored_key_count, .max_key_count, .max_key_per_request, .max_key_size,
		  .min_key_size, .max_SAE_ID_count] | all(type == "number" and . == floor and . >= 0)) and
		.max_key_count >= .stored_key_count and .key_size <= .max_key_size and
		.min_key_size <= .key_size and .max_key_per_request > 0 and .max_SAE_ID_count == 0
		' <<< "$BODY" > /dev/null || fail "$T: status object: $BODY"
	DEFAULT_BYTES=$(($(jq -r .key_size <<< "$BODY") / 8))
	pass "$T: E14-03 Get status: 11 fields, master=$A slave=$B, consistent"

	# E14-04: the four ways to ask for default keys
	req $T client1 $A "$B/enc_keys"
	ok "GET enc_keys"; container 1 $DEFAULT_BYTES; M1=$BODY
	req $T client1 $A -H 'Content-Type: application/json' -H 'Accept: application/json' "$B/enc_keys"
	ok "GET enc_keys with JSON headers"; container 1 $DEFAULT_BYTES; M2=$BODY
	post $T client1 $A '{}' "$B/enc_keys"
	ok "POST {}"; container 1 $DEFAULT_BYTES; M3=$BODY
	req $T client1 $A -X POST -H 'Content-Type:' --data-binary '' "$B/enc_keys"
	ok "POST, no body"; container 1 $DEFAULT_BYTES; M4=$BODY
	pass "$T: E14-04 GET, GET with JSON headers, POST {}, POST without body: 1 key of the default size"

	# E14-05/08: number and size exactly; canonical UUIDs, padded standard base64
	req $T client1 $A "$B/enc_keys?number=100&size=512"
	ok "GET number=100 size=512"; container 100 64; M100=$BODY
	post $T client1 $A '{"number":3,"size":1024}' "$B/enc_keys"
	ok "POST number=3 size=1024"; container 3 128; M3K=$BODY
	post $T client1 $A '{"size":352}' "$B/enc_keys"
	ok "POST size=352"; container 1 44; M352=$BODY
	pass "$T: E14-05/08 number=100 size=512, number=3 size=1024, size=352: exact counts and sizes"

	# E14-09: the slave gets the same keys: GET one ID, POST many
	id=$(key_ids "$M1")
	req $T client2 $B "$A/dec_keys?key_ID=$id"
	ok "GET dec_keys"; container 1 $DEFAULT_BYTES; same_keys "$M1" "$BODY"
	# shellcheck disable=SC2046
	post $T client2 $B "$(ids_body $(key_ids "$M100"))" "$A/dec_keys"
	ok "POST dec_keys x100"; container 100 64; same_keys "$M100" "$BODY"
	[ "$(key_ids "$BODY")" = "$(key_ids "$M100")" ] || fail "$T: dec_keys changed the order"
	# an uppercase and a percent-encoded key_ID name the same keys
	id=$(key_ids "$M2")
	req $T client2 $B "$A/dec_keys?key_ID=${id^^}"
	ok "GET dec_keys, uppercase"; same_keys "$M2" "$BODY"
	id=$(key_ids "$M352")
	req $T client2 $B "$A/dec_keys?key_ID=${id:0:8}%2D${id:9}"
	ok "GET dec_keys, percent-encoded"; same_keys "$M352" "$BODY"
	pass "$T: E14-09 dec_keys GET (one ID), POST (100 IDs, order kept): identical keys"

	# E14-12: once per side
	id=$(key_ids "$M1")
	req $T client2 $B "$A/dec_keys?key_ID=$id"
	err 400 "$NOTFOUND" "second dec_keys"
	post $T client2 $B "$(ids_body "$(key_ids "$M2")")" "$A/dec_keys"
	err 400 "$NOTFOUND" "second dec_keys (POST)"
	pass "$T: E14-12 a key is served once to the slave"

	# E14-10: an SAE that is not the named slave gets 401; nothing is used up by it
	id=$(key_ids "$M3")
	req $T client2 $B2 "$A/dec_keys?key_ID=$id"
	err_any 401 "dec_keys by $B2"
	# another client cannot take a key addressed to client2
	req $T client3 $X "$A/dec_keys?key_ID=$id"
	X_CODE=$CODE
	[ "$CODE" = 400 ] || [ "$CODE" = 401 ] || fail "$T: client3 dec_keys: want 400/401, got $CODE: $BODY"
	err_any "$CODE" "dec_keys on client3"
	jq -e '.keys' <<< "$BODY" > /dev/null 2>&1 && fail "$T: client3 got keys: $BODY"
	req $T client2 $B "$A/dec_keys?key_ID=$id"
	ok "dec_keys by the slave after the refusals"; same_keys "$M3" "$BODY"
	pass "$T: E14-10 $B2 (not the slave) 401, client3 refused ($X_CODE), then $B still gets the key"

	# E14-11: unknown, malformed and used key IDs
	req $T client2 $B "$A/dec_keys?key_ID=00000000-0000-4000-8000-000000000000"
	err 400 "$NOTFOUND" "unknown key ID"
	req $T client2 $B "$A/dec_keys?key_ID=not-a-uuid"
	err 400 "$NOTFOUND" "non-UUID key ID"
	post $T client2 $B "$(ids_body "$(key_ids "$M4")" 00000000-0000-4000-8000-000000000000)" \
		"$A/dec_keys"
	err 400 "$NOTFOUND" "one good, one unknown"
	req $T client2 $B "$A/dec_keys?key_ID=$(key_ids "$M4")"
	ok "the good key of a refused batch is still there"; same_keys "$M4" "$BODY"
	pass "$T: E14-11 unknown/non-UUID/partly unknown -> 400 '$NOTFOUND', all or nothing"

	# E14-06/07: bad number and size
	for q in "number=0:$NUMBER" "number=-1:$NUMBER" "number=abc:$NUMBER" "number=1.5:$NUMBER" \
		"number=:$NUMBER" "number=1025:number exceeds max_key_per_request (1024)" \
		"number=99999999999999999999999:number exceeds max_key_per_request (1024)" \
		"size=0:$SIZE" "size=-8:$SIZE" "size=x:$SIZE" "size=12:$MULT8" "size=257:$MULT8" \
		"size=8200:size exceeds max_key_size (8192)" "size=32:size is below min_key_size (64)"; do
		req $T client1 $A "$B/enc_keys?${q%%:*}"
		err 400 "${q#*:}" "GET enc_keys?${q%%:*}"
	done
	for q in '{"number":0}' '{"number":-5}' '{"number":"3"}' '{"number":2.5}'; do
		post $T client1 $A "$q" "$B/enc_keys"
		err 400 "$NUMBER" "POST $q"
	done
	for q in '{"size":0}' '{"size":"256"}' '{"size":true}'; do
		post $T client1 $A "$q" "$B/enc_keys"
		err 400 "$SIZE" "POST $q"
	done
	post $T client1 $A '{"number":1,"size":100}' "$B/enc_keys"
	err 400 "$MULT8" "POST size 100"
	post $T client1 $A '{"number":' "$B/enc_keys"
	err 400 "malformed JSON body: unexpected token near end of file" "truncated JSON"
	post $T client1 $A '[]' "$B/enc_keys"
	err 400 "the request body must be a JSON object" "JSON array body"
	pass "$T: E14-06/07 zero, negative, non-numeric, too many, too big, too small, not x8, malformed -> 400"

	# E14-13: extensions
	post $T client1 $A '{"extension_mandatory":[{"abc_route_type":"direct"}]}' "$B/enc_keys"
	err 400 "not all extension_mandatory parameters are supported" "extension_mandatory"
	post $T client1 $A '{"extension_optional":[{"abc_route_type":"direct"}]}' "$B/enc_keys"
	ok "extension_optional"; container 1 $DEFAULT_BYTES
	pass "$T: E14-13 unsupported extension_mandatory -> 400, extension_optional ignored"

	# E14-14: additional_slave_SAE_IDs (max_SAE_ID_count 0)
	post $T client1 $A '{"additional_slave_SAE_IDs":[]}' "$B/enc_keys"
	ok "empty additional slaves"; container 1 $DEFAULT_BYTES
	post $T client1 $A "{\"additional_slave_SAE_IDs\":[\"$B2\"]}" "$B/enc_keys"
	err 400 "additional_slave_SAE_IDs lists 1 SAE(s) but max_SAE_ID_count is 0 (no key multicast)" \
		"one additional slave"
	post $T client1 $A '{"additional_slave_SAE_IDs":[""]}' "$B/enc_keys"
	err 400 "additional_slave_SAE_IDs contains an empty, blank or invalid SAE ID" "empty entry"
	post $T client1 $A '{"additional_slave_SAE_IDs":[" "]}' "$B/enc_keys"
	err 400 "additional_slave_SAE_IDs contains an empty, blank or invalid SAE ID" "blank entry"
	post $T client1 $A "{\"additional_slave_SAE_IDs\":[\"$B2\",\"$B2\"]}" "$B/enc_keys"
	err 400 "additional_slave_SAE_IDs contains a duplicate SAE ID" "duplicates"
	post $T client1 $A "{\"additional_slave_SAE_IDs\":[\"$B\"]}" "$B/enc_keys"
	err 400 "additional_slave_SAE_IDs must not name the slave or the master SAE" "the slave"
	post $T client1 $A "{\"additional_slave_SAE_IDs\":[\"$A\"]}" "$B/enc_keys"
	err 400 "additional_slave_SAE_IDs must not name the slave or the master SAE" "the master"
	pass "$T: E14-14 [] accepted; one, empty, blank, duplicate, slave, master -> 400"

	# E14-15: the caller as its own peer; blank and space path SAE IDs
	req $T client1 $A "$A/enc_keys"
	err 400 "slave_SAE_ID in the path is the calling SAE; keys need two SAEs" "caller == slave"
	req $T client2 $B "$B/dec_keys?key_ID=$(key_ids "$M3K" | head -n 1)"
	err 400 "master_SAE_ID in the path is the calling SAE; keys need two SAEs" "caller == master"
	req $T client1 $A "%20/status"
	err 400 "$BADSAE" "space as SAE ID"
	req $T client1 $A "client2%20sae1/enc_keys"
	err 400 "$BADSAE" "space in SAE ID"
	req $T client1 $A "/status"
	err 400 "slave_SAE_ID in the path is empty" "empty SAE ID"
	req $T client1 $A "nobody_sae/enc_keys"
	err_any 400 "unknown slave SAE"
	pass "$T: E14-15 caller == path SAE, space, blank, unknown slave -> 400"

	# E14-16: unknown members ignored (QuKayDee's master_SAE_ID in key_IDs[])
	post $T client1 $A '{"number":2,"vendor_x":{"a":[1]},"key_container_extension":{}}' "$B/enc_keys"
	ok "unknown members"; container 2 $DEFAULT_BYTES; MU=$BODY
	b=$(jq -c --arg m "$A" '{key_IDs: [.keys[] | {key_ID, master_SAE_ID: $m, x: 1}], y: {}}' <<< "$MU")
	post $T client2 $B "$b" "$A/dec_keys"
	ok "unknown members in key_IDs[]"; container 2 $DEFAULT_BYTES; same_keys "$MU" "$BODY"
	pass "$T: E14-16 unknown members in Key request and Key IDs ignored"

	# E14-17 (400/401 here, 503 below); methods and paths
	req $T client1 $A -X PUT "$B/enc_keys"
	err 405 "method PUT is not allowed here; use GET or POST" "PUT"
	req $T client1 $A -X POST --data-binary '{}' "$B/status"
	err 405 "method POST is not allowed here; use GET" "POST status"
	req $T client1 $A "$B/nothing"
	err 404 "unknown path: the API is /api/v1/keys/{SAE_ID}/status, enc_keys or dec_keys" "404"
	pass "$T: E14-17 wrong method 405, unknown path 404, all with JSON Error bodies"

	# the remaining keys made above are fetched by the slave once each
	# shellcheck disable=SC2046
	post $T client2 $B "$(ids_body $(key_ids "$M3K"))" "$A/dec_keys"
	ok "the 3 x 1024-bit keys"; container 3 128; same_keys "$M3K" "$BODY"
done

# ---------------------------------------------------------------- who may call (E14-01/02)
T=unix
# uid 65534 is client1_sae2; a uid with no [sae] gets 401
out=$(setpriv --reuid=12345 --regid=12345 --clear-groups curl -s --max-time 30 \
	--unix-socket "$(client_etsi_sock client1)" -w '\n%{http_code}' \
	"http://localhost/api/v1/keys/$B/status" 2>&1)
lib_split "$out"; CODE=$LIB_CODE; BODY=$LIB_BODY
err 401 "no SAE is configured for uid 12345 gid 12345" "unmapped uid"
req unix client1 $A2 "$B/status"
ok "uid 65534"
[ "$(jq -r .master_SAE_ID <<< "$BODY")" = "$A2" ] || fail "uid 65534 is not $A2: $BODY"
pass "unix: E14-01 SO_PEERCRED uid 0 -> $A, uid 65534 -> $A2, unmapped uid 12345 -> 401"

T=https
URL=$(client_etsi_url client1)
hcurl() {   # CURL_ARGS... PATH
	local out path=${!#}
	set -- "${@:1:$#-1}"
	out=$(curl -s --max-time 30 --cacert "$DSKE_CA" -w '\n%{http_code}' "$@" "$URL/api/v1/keys/$path" 2>&1)
	lib_split "$out"; CODE=$LIB_CODE; BODY=$LIB_BODY
}
# E14-02: TLS 1.2 and TLS 1.3; TLS 1.1 refused
hcurl --cert "$(sae_cert $A)" --key "$(sae_key $A)" --tls-max 1.2 "$B/status"
ok "TLS 1.2"
hcurl --cert "$(sae_cert $A)" --key "$(sae_key $A)" --tlsv1.3 "$B/status"
ok "TLS 1.3"
hcurl --cert "$(sae_cert $A)" --key "$(sae_key $A)" --tlsv1.0 --tls-max 1.1 "$B/status"
[ "$CODE" = 000 ] || fail "TLS 1.1 was accepted: $CODE $BODY"
pass "https: E14-02 TLS 1.2 and 1.3 accepted, TLS 1.1 refused in the handshake"

# E14-01: no certificate, a certificate of another CA with a valid CN, an unmapped CN
hcurl "$B/status"
if [ "$CODE" != 000 ]; then err 401 "a client certificate is required" "no certificate"; fi
(cd "$WORK" && umask 077 &&
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=other CA" \
		-days 2 -keyout ca2.key -out ca2.pem &&
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$A" -days 2 \
		-CA ca2.pem -CAkey ca2.key -keyout forged.key -out forged.pem &&
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=stranger" \
		-days 2 -CA "$DSKE_CA" -CAkey "$DSKE_LAB_DIR/ca/ca.key" -keyout stranger.key \
		-out stranger.pem) > "$WORK/openssl.log" 2>&1 || fail "openssl: $(cat "$WORK/openssl.log")"
hcurl --cert "$WORK/forged.pem" --key "$WORK/forged.key" "$B/status"
if [ "$CODE" != 000 ]; then
	err 401 "the client certificate does not verify against the trusted CA" "other CA"
fi
hcurl --cert "$WORK/stranger.pem" --key "$WORK/stranger.key" "$B/status"
err 401 "the client certificate CN 'stranger' is not mapped to an SAE" "unmapped CN"
pass "https: E14-01 no certificate, another CA's certificate, unmapped CN -> refused"

# root on the control socket acts as any local SAE with X-DSKE-SAE
ctl "$(client_ctl client1)" GET "/api/v1/keys/$B/status" -H "X-DSKE-SAE: $A2" > /dev/null ||
	fail "control socket as $A2: $CTL_CODE $CTL_BODY"
[ "$(jq -r .master_SAE_ID <<< "$CTL_BODY")" = "$A2" ] || fail "control socket: $CTL_BODY"
ctl "$(client_ctl client1)" GET "/api/v1/keys/$B/status" > /dev/null
[ "$CTL_CODE" = 401 ] || fail "control socket without X-DSKE-SAE: want 401, got $CTL_CODE"
pass "control socket: root acts as $A2 with X-DSKE-SAE; without it 401"

# ---------------------------------------------------------------- E14-17: 503 with a message
T=unix
lab_stop_hub hub3
lab_stop_hub hub4
lab_stop_hub hub5
req unix client1 $A "$B/enc_keys"
err_any 503 "Get key with 2 of 5 hubs"
note "503: $(jq -r .message <<< "$BODY")"
pass "E14-17 too few hubs -> 503 with a JSON Error message"
