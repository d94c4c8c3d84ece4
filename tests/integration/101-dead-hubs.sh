#!/bin/bash
# Dead hubs (issue 4), a lab of 5 hubs with k = 3:
# - two hubs stopped: keys still flow;
# - three stopped: Get key answers 503 naming how many hubs answered; no key is handed out;
# - the hubs restarted: keys flow again without restarting any client;
# - no PSRD offset was handed out twice (the allocation audit of every stream).
. "$(dirname "$0")/lib-robust.sh"

lab_start --audit
c1=$(client_pid client1); c2=$(client_pid client2)
pairs 2 client1 client1_sae1 client2 client2_sae1
pass "5 hubs up: key pairs"

lab_stop_hub hub4
lab_stop_hub hub5
pairs 3 client1 client1_sae1 client2 client2_sae1
pairs 2 client2 client2_sae1 client1 client1_sae1
pass "hub4 and hub5 stopped: key pairs both ways (3 hubs answer, k = 3)"

lab_stop_hub hub3 --kill    # SIGKILL: it dies with the clients' long polls accepted, unanswered
made=$(client_status client1 | jq -r .keys.made)
for i in 1 2; do
	etsi_get_key client1 client1_sae1 client2_sae1 > /dev/null && fail "a key was handed out with 2 of 5 hubs up: $ETSI_BODY"
	assert_eq "$ETSI_CODE" 503 "Get key with 3 hubs down"
	assert_match "$ETSI_BODY" '2 of 5 hubs' "the 503 names how many hubs answered"
	json '.keys' > /dev/null && fail "the 503 carries keys: $ETSI_BODY"
done
note "503: $(json .message)"
assert_eq "$(client_status client1 | jq -r .keys.made)" "$made" "keys made while 3 hubs were down"
pass "hub3 stopped too: 503 naming 2 of 5 hubs, no key handed out"

lab_start_hub hub3
lab_start_hub hub4
lab_start_hub hub5
assert_eq "$(client_pid client1) $(client_pid client2)" "$c1 $c2" "client PIDs"
# both clients' long polls were in flight when hub3 was killed: it had accepted their PSRD and
# died with no answer cached, so their byte-identical retries get 409; the clients must give
# those frames up and poll again on fresh PSRD, at once (not after poll_wait)
for h in hub3 hub4 hub5; do
	wait_for -t 5 bash -c ". '$LAB_DIR/lab.env'; [ \"\$(curl -s --unix-socket \$DSKE_HUB_${h}_CTL http://l/v1/status | jq -r .frames.waiting_polls)\" = 2 ]" ||
		fail "$h restarted: the clients' long polls did not come back within 5 s ($(hub_status $h | jq -c .frames))"
done
pass "restarted hubs: both clients poll them again within 5 s"
# the clients find the hubs again by themselves (dske-lab start-hub waited until they report
# them up); keys use all five again
before=$(hub_status hub5 | jq -r .shares.last_seq)
pairs 3 client1 client1_sae1 client2 client2_sae1
pairs 2 client2 client2_sae1 client1 client1_sae1
after=$(hub_status hub5 | jq -r .shares.last_seq)
[ "$after" -gt "$before" ] || fail "hub5 stored no share after its restart ($before -> $after)"
pass "hubs restarted: key pairs flow again through all 5 hubs, no client restarted"

assert_eq "$MISMATCHES" 0 "key mismatches"
n=$(audit_check "$LAB_DIR") || exit 1
pass "allocation audit: $n allocations, no PSRD offset handed out twice"
