#!/bin/bash
# 050-lab: dske-lab itself. Two labs started at the same time in two directories both work
# (no port or socket collision); lab.env has every variable and each is right (live PIDs
# running the right config, sockets, URLs, certificates that verify, SAE uids); stop-hub and
# start-hub (a stopped hub is gone and reported down, keys still flow with k of the rest, the
# restarted hub is back on the same URL); the faulty hub only from the test build; dske-lab
# stop leaves no process behind.
. "$(dirname "$0")/lib.sh"

A=$(lib_mktemp)
B=$(lib_mktemp)
LAB_DIRS+=("$A" "$B")
t0=${EPOCHREALTIME/./}
"$DSKE_LAB_CMD" start --dir "$A" > "$A.out" 2>&1 &
pa=$!
"$DSKE_LAB_CMD" start --dir "$B" --hubs 3 --clients 3 -k 2 --psrd 256K > "$B.out" 2>&1 &
pb=$!
wait "$pa" || fail "lab A did not start: $(cat "$A.out")"
wait "$pb" || fail "lab B did not start: $(cat "$B.out")"
t1=${EPOCHREALTIME/./}
rm -f "$A.out" "$B.out"
pass "two labs started at once ($(((t1 - t0) / 1000)) ms)"

# lab.env: one assignment per line, nothing else; every variable present and right
check_env() {
	local d=$1 nh=$2 nc=$3 k=$4 h c s i line url pid port cn
	lab_use "$d"
	while IFS= read -r line; do
		[[ $line =~ ^DSKE_[A-Za-z0-9_]+=(\"[^\"]*\"|[^\ \"]*)$ ]] || fail "$d/lab.env: bad line '$line'"
	done < "$d/lab.env"
	assert_eq "$DSKE_LAB_DIR" "$d" "DSKE_LAB_DIR"
	assert_eq "$DSKE_K" "$k" "DSKE_K"
	openssl x509 -in "$DSKE_CA" -noout -ext basicConstraints 2>/dev/null | grep -q "CA:TRUE" ||
		fail "DSKE_CA $DSKE_CA is not a CA certificate"
	local want=""
	for ((i = 1; i <= nh; i++)); do want+="hub$i "; done
	assert_eq "$DSKE_HUBS" "${want% }" "DSKE_HUBS"
	want=""
	for ((i = 1; i <= nc; i++)); do want+="client$i "; done
	assert_eq "$DSKE_CLIENTS" "${want% }" "DSKE_CLIENTS"
	for h in $DSKE_HUBS; do
		url=$(hub_url "$h")
		[[ $url =~ ^http://127\.0\.0\.1:([0-9]+)$ ]] || fail "$h URL '$url'"
		PORTS_SEEN+=("${BASH_REMATCH[1]}")
		[ "$(curl -s --max-time 5 "$url/healthz")" = ok ] || fail "$h: no /healthz at $url"
		pid=$(hub_pid "$h")
		grep -qaF "$d/$h/hub.conf" "/proc/$pid/cmdline" 2>/dev/null || fail "$h PID '$pid' is not the hub"
		[ -S "$(hub_ctl "$h")" ] || fail "$h CTL $(hub_ctl "$h") is not a socket"
		hub_status "$h" > /dev/null || fail "$h control socket: $CTL_CODE"
		[ "$(json .name "$CTL_BODY")" = "$h" ] || fail "$h status names $(json .name "$CTL_BODY")"
		[ "$(json .port "$CTL_BODY")" = "${url##*:}" ] || fail "$h listens on $(json .port "$CTL_BODY"), lab.env says $url"
		for v in CONF STATE LOG; do
			local n="DSKE_HUB_${h}_$v"
			[ -e "${!n}" ] || fail "$n=${!n} does not exist"
		done
	done
	for c in $DSKE_CLIENTS; do
		pid=$(client_pid "$c")
		grep -qaF "$d/$c/client.conf" "/proc/$pid/cmdline" 2>/dev/null || fail "$c PID '$pid' is not the client"
		[ -S "$(client_ctl "$c")" ] || fail "$c CTL is not a socket"
		[ -S "$(client_etsi_sock "$c")" ] || fail "$c ETSI_SOCK is not a socket"
		client_status "$c" > /dev/null || fail "$c control socket: $CTL_CODE"
		json ".hubs | length == $nh" "$CTL_BODY" > /dev/null || fail "$c does not list $nh hubs: $CTL_BODY"
		# ready meant every hub up; on a loaded machine a hub request may time out meanwhile
		# and the client marks that hub down until its next answer
		wait_for -t 15 eval 'client_status "$c" | jq -e ".hubs | all(.up)" > /dev/null' ||
			fail "$c does not see all $nh hubs up: $CTL_BODY"
		url=$(client_etsi_url "$c")
		[[ $url =~ ^https://127\.0\.0\.1:([0-9]+)$ ]] || fail "$c ETSI_URL '$url'"
		PORTS_SEEN+=("${BASH_REMATCH[1]}")
		assert_eq "$(client_saes "$c")" "${c}_sae1 ${c}_sae2" "$c SAES"
		# the server certificate: SANs 127.0.0.1 and localhost, verified by curl against the CA
		openssl x509 -in "$d/$c/kme.pem" -noout -ext subjectAltName 2>/dev/null |
			grep -q "IP Address:127.0.0.1, DNS:localhost" || fail "$c server certificate SANs"
		for s in $(client_saes "$c"); do
			[ -f "$(sae_cert "$s")" ] && [ -f "$(sae_key "$s")" ] || fail "$s CERT/KEY missing"
			openssl verify -CAfile "$DSKE_CA" "$(sae_cert "$s")" > /dev/null 2>&1 ||
				fail "$s certificate does not verify against DSKE_CA"
			cn=$(openssl x509 -in "$(sae_cert "$s")" -noout -subject -nameopt multiline | sed -n 's/ *commonName *= *//p')
			assert_eq "$cn" "$s" "$s certificate CN"
			case $s in
			*_sae1) assert_eq "$(sae_uid "$s")" 0 "$s UID";;
			*_sae2) assert_eq "$(sae_uid "$s")" 65534 "$s UID";;
			esac
		done
		etsi_https "$c" "${c}_sae1" GET "$( [ "$c" = client1 ] && echo client2_sae1 || echo client1_sae1)/status" ||
			fail "$c: ETSI over HTTPS with ${c}_sae1's certificate: $ETSI_CODE $ETSI_BODY"
	done
}

# a key pair client1 -> client2 in the current lab
key_pair() {
	local id k1
	etsi_get_key client1 client1_sae1 client2_sae1 || fail "$1: Get key: $ETSI_CODE $ETSI_BODY"
	id=$(json '.keys[0].key_ID') || fail "$1: no key_ID"
	k1=$(key_hex "$(json '.keys[0].key')")
	[[ $k1 =~ ^[0-9a-f]{64}$ ]] || fail "$1: key is not 256 bits"
	etsi_get_key_with_ids client2 client2_sae1 client1_sae1 "$id" ||
		fail "$1: Get key with key IDs: $ETSI_CODE $ETSI_BODY"
	assert_eq "$(key_hex "$(json '.keys[0].key')")" "$k1" "$1: the two ends' keys"
}

PORTS_SEEN=()
check_env "$A" 5 2 3
key_pair "lab A"
pass "lab A: lab.env complete and right (5 hubs, 2 clients, k 3), a key pair"
# uid 65534 is client1_sae2 on the unix socket
etsi_get_key client1 client1_sae2 client2_sae2 || fail "client1_sae2 (uid 65534): $ETSI_CODE $ETSI_BODY"
pass "lab A: client1_sae2 gets keys as uid 65534"
check_env "$B" 3 3 2
key_pair "lab B"
pass "lab B: lab.env complete and right (3 hubs, 3 clients, k 2), a key pair"
dups=$(printf '%s\n' "${PORTS_SEEN[@]}" | sort | uniq -d)
[ -z "$dups" ] || fail "ports used twice across the labs: $dups"
pass "no port shared between the labs (${#PORTS_SEEN[@]} ports)"

# stop-hub / start-hub in lab A
lab_use "$A"
old_pid=$(hub_pid hub2)
old_url=$(hub_url hub2)
lab_stop_hub hub2
[ -z "$(hub_pid hub2)" ] || fail "lab.env still has a PID for the stopped hub2"
pid_gone "$old_pid" || fail "hub2 (pid $old_pid) still runs after stop-hub"
curl -s --max-time 2 "$old_url/healthz" > /dev/null && fail "hub2 still answers at $old_url"
"$DSKE_LAB_CMD" status --dir "$A" | grep -q "^hub2 *stopped" || fail "dske-lab status: hub2 not stopped"
key_pair "hub2 stopped"
pass "stop-hub: hub2 gone, keys still flow through 4 of 5 hubs"
lab_start_hub hub2
pid=$(hub_pid hub2)
[ -n "$pid" ] && [ "$pid" != "$old_pid" ] || fail "start-hub: no new PID for hub2"
assert_eq "$(hub_url hub2)" "$old_url" "hub2 URL after start-hub"
[ "$(curl -s --max-time 5 "$old_url/healthz")" = ok ] || fail "hub2 does not answer after start-hub"
wait_for -t 15 eval 'client_status client1 | jq -e ".hubs[] | select(.name == \"hub2\") | .up" > /dev/null' ||
	fail "client1 does not see hub2 up again: $CTL_BODY"
key_pair "hub2 restarted"
pass "start-hub: hub2 back on the same URL, seen up by client1, keys flow"
"$DSKE_LAB_CMD" start-hub --dir "$A" hub2 > /dev/null 2>&1 && fail "start-hub of a running hub succeeded"

# the faulty hub exists only in the test build: without it, a clear error
lab_stop_hub hub3
out=$(DSKE_HUBD_FAULTY=/nonexistent "$DSKE_LAB_CMD" start-hub --dir "$A" hub3 --fault corrupt-shares 2>&1) &&
	fail "start-hub --fault without the faulty hub succeeded"
[[ $out == *dske-hubd-faulty* ]] || fail "unclear error without the faulty hub: $out"
lab_reload
[ -z "$(hub_pid hub3)" ] || fail "a failed start-hub --fault left hub3 running"
if [ -x "$DSKE_BIN/../tests/tools/dske-hubd-faulty" ]; then
	lab_start_hub hub3 --fault corrupt-shares
	grep -qaF -- "corrupt-shares" "/proc/$(hub_pid hub3)/cmdline" || fail "hub3 is not the faulty hub"
	grep -qaF -- "dske-hubd-faulty" "/proc/$(hub_pid hub3)/cmdline" || fail "hub3 is not dske-hubd-faulty"
	pass "start-hub --fault corrupt-shares runs the test build's faulty hub; a clear error without it"
else
	lab_start_hub hub3
	pass "start-hub --fault: a clear error without the test build's faulty hub"
fi
out=$("$DSKE_LAB_CMD" start-hub --dir "$A" hub9 2>&1) && fail "start-hub of an unknown hub succeeded"
[[ $out == *"no hub 'hub9'"* ]] || fail "unknown hub: $out"

# stop: nothing of lab A keeps running; lab B is untouched
pids_a=$(cat "$A"/*/pid 2>/dev/null)
"$DSKE_LAB_CMD" stop --dir "$A" || fail "dske-lab stop failed"
for p in $pids_a; do pid_gone "$p" || fail "pid $p of lab A still runs after stop"; done
left=$(procs_under "$A")
[ -z "$left" ] || fail "processes of lab A left: $left"
lab_use "$A"
[ -z "$(hub_pid hub1)$(client_pid client1)" ] || fail "lab.env of a stopped lab still has PIDs"
lab_use "$B"
key_pair "lab B after lab A stopped"
pass "dske-lab stop: no process of lab A left; lab B still works"
"$DSKE_LAB_CMD" stop --dir "$B" || fail "dske-lab stop B failed"
left=$(procs_under "$B")
[ -z "$left" ] || fail "processes of lab B left: $left"
pass "050-lab"
