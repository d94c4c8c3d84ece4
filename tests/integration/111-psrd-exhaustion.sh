#!/bin/bash
# PSRD exhaustion (issue 4), with 64 KiB of PSRD per stream: client1 makes keys until its PSRD
# runs out.
# - dskectl status warns first, at the configured low-water mark (low_water = 40K);
# - then Get key answers a clear 503 "PSRD exhausted for hub NAME", before any offset is used
#   twice (allocation audit) and while psrd_reserve is left for acks and releases;
# - importing a new block (dske-psrd make --block-id 2) into the running daemons makes keys flow
#   again, without restarting anything.
. "$(dirname "$0")/lib-robust.sh"

lab_start --audit --psrd 64K --client-set low_water=40K --client-set psrd_reserve=4K \
	--hub-set low_water=8K
W=$(lib_mktemp)
pids="$(client_pid client1) $(client_pid client2)"
pairs 1 client1 client1_sae1 client2 client2_sae1

min_tx() { client_status client1 | jq '[.hubs[].psrd.tx_remaining] | min'; }
warned=""; n=0; made=0
while :; do
	n=$((n + 1))
	[ $n -le 200 ] || fail "no 503 after 200 requests"
	left=$(min_tx)
	if [ -z "$warned" ] && [ "$left" -lt 40960 ]; then
		"$DSKE_BIN/dskectl" --socket "$(client_ctl client1)" status > "$W/st" 2>&1 || fail "dskectl status"
		grep -qi 'PSRD low' "$W/st" || fail "client1 has $left bytes of PSRD left for a hub (low_water 40K), dskectl status does not warn: $(cat "$W/st")"
		warned=$left
		note "dskectl status at $left bytes left: $(grep -i 'PSRD low' "$W/st" | head -1 | sed 's/^ *//')"
	fi
	if etsi_get_key client1 client1_sae1 client2_sae1 20; then
		made=$((made + 20))
		continue
	fi
	break
done
[ -n "$warned" ] || fail "the 503 came before any low-water warning"
assert_eq "$ETSI_CODE" 503 "Get key with PSRD exhausted"
msg=$(json .message)
assert_match "$msg" 'PSRD exhausted for hub hub[0-9]' "the 503 says which hub's PSRD is exhausted"
note "after $made keys: 503 $msg"
left=$(min_tx)
[ "$left" -ge 0 ] || fail "negative PSRD left: $left"
n=$(audit_check "$LAB_DIR") || exit 1
pass "warning at the low-water mark ($warned bytes left), then 503 '$msg' with $left bytes left; audit: $n allocations, none twice"
# the reserve still authenticates the answers the client owes: a pair whose key was made before
client_status client1 | jq -e '.warnings | length > 0' > /dev/null || fail "no warning in the status once exhausted"

# new PSRD for every (hub, client) pair, imported into the running daemons
i=0
for h in $DSKE_HUBS; do
	i=$((i + 1))
	for c in client1 client2; do
		"$DSKE_BIN/dske-psrd" make --hub "$h" --hub-index "$i" --hub-url "$(hub_url "$h")" \
			--client "$c" --sae "${c}_sae1" --sae "${c}_sae2" --size 256K --block-id 2 \
			--offset 65536 --out "$W" > /dev/null || fail "dske-psrd make $h $c"
		ctl "$(hub_ctl "$h")" POST /v1/import --data-binary "@$W/$h-$c.block2.hub.bundle" > /dev/null ||
			fail "import into $h: $CTL_CODE $CTL_BODY"
		ctl "$(client_ctl "$c")" POST /v1/import --data-binary "@$W/$h-$c.block2.client.bundle" > /dev/null ||
			fail "import into $c: $CTL_CODE $CTL_BODY"
	done
done
wait_for -t 10 bash -c "[ \$(curl -s --unix-socket '$(client_ctl client1)' http://l/v1/status | jq '[.hubs[].psrd.tx_remaining] | min') -gt 100000 ]" ||
	fail "client1 does not use the new block: $(client_status client1 | jq -c '[.hubs[].psrd]')"
pairs 3 client1 client1_sae1 client2 client2_sae1
pairs 3 client2 client2_sae1 client1 client1_sae1
assert_eq "$(client_pid client1) $(client_pid client2)" "$pids" "client PIDs (no restart)"
n=$(audit_check "$LAB_DIR") || exit 1
pass "block 2 imported into the running daemons: keys flow again, no restart; audit: $n allocations, none twice"
