#!/bin/bash
# PPK delivery end to end: two dske-clientd (DSKE lab on the host's loopback) load DSKE keys as
# PPKs into two real charons in network namespaces; the IKE SA comes up with ppk=yes on both
# sides (asserted on the SA itself), with the PPK_ID <key_id>@<link> both charons log, and a key
# both daemons got from DSKE (same fingerprint); real traffic crosses the CHILD_SA as ESP only.
set -u
. "$(dirname "$0")/lib-ppk.sh"

ppk_lab_start
wait_for -t 20 sa_ppk a || fail "no IKE SA with ppk=yes on gateway a: $(ppk_json client1 '.peers[0].last_error')"
wait_for -t 5 sa_ppk b || fail "no IKE SA with ppk=yes on gateway b"
pass "IKE SA up with ppk=yes on both gateways (VICI list-sas)"
for s in a b; do
	out=$(swan "$s" --list-sas --raw) || fail "swanctl --list-sas on $s"
	assert_match "$out" "ppk=yes" "swanctl --list-sas --raw on $s"
	out=$(swan "$s" --list-sas) || fail "swanctl --list-sas on $s"
	assert_match "$out" "/PPK" "swanctl --list-sas on $s shows /PPK"
done
pass "swanctl --list-sas --raw shows ppk=yes, --list-sas /PPK, on both gateways"

cur=$(ppk_current)
assert_match "$cur" "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}@$PPK_LINK\$" "PPK_ID format"
for s in a b; do
	wait_log "$s" "using PPK for PPK_ID '$cur'" || fail "charon $s does not log using PPK for PPK_ID '$cur'"
done
pass "both charons: using PPK for PPK_ID '$cur'"

# the same key on both sides, from DSKE: both daemons hold it, with the same fingerprint
f1=$(ppk_json client1 ".peers[0].ppks[] | select(.ppk_id == \"$cur\") | .fingerprint")
f2=$(ppk_json client2 ".peers[0].ppks[] | select(.ppk_id == \"$cur\") | .fingerprint")
assert_match "$f1" "^[0-9a-f]{8}$" "fingerprint on client1"
assert_eq "$f1" "$f2" "fingerprints of $cur"
assert_eq "$(ppk_json client1 '.peers[0].role')" initiator "client1 role"
assert_eq "$(ppk_json client2 '.peers[0].role')" responder "client2 role"
assert_eq "$(ppk_json client1 '.peers[0].sa.ppk')" true "client1 reports its SA with ppk"
pass "both daemons hold $cur from DSKE (fingerprint $f1 on both)"
grep -q "PPK_ID $cur (fingerprint $f1" "$(v DSKE_CLIENT_client1_LOG)" || fail "client1 log lacks PPK_ID and fingerprint"
grep -q "PPK_ID $cur (fingerprint $f1" "$(v DSKE_CLIENT_client2_LOG)" || fail "client2 log lacks PPK_ID and fingerprint"
pass "both daemons log the PPK_ID and its fingerprint"

# ppk_keep = 2: the current PPK and two ready ones, loaded in both charons, nothing else
wait_for -t 5 eval '[ "$(ppk_count client1 ready)" = 2 ]' || fail "client1: $(ppk_count client1 ready) PPKs ready"
want=$(ppk_json client1 '[.peers[0].ppks[] | .id] | sort | .[]')
assert_eq "$(wc -l <<< "$want")" 3 "PPKs held by client1"
assert_eq "$(creds a)" "$want" "charon a holds exactly client1's PPKs"
wait_for -t 5 eval '[ "$(creds b)" = "$want" ]' || fail "charon b holds $(creds b | tr '\n' ' '), want $want"
pass "ppk_keep = 2: current + 2 ready PPKs in both charons"

# real traffic through the CHILD_SA (tunnel mode, kernel-libipsec), captured on the veth
pcap=$IPSEC_DIR/veth.pcap
ip netns exec "$NS_B" tcpdump -Z root -n -U --immediate-mode -s 128 -B 32768 -i vB -w "$pcap" \
	> "$IPSEC_DIR/tcpdump.out" 2>&1 &
tcpdump_pid=$!
on_exit "kill $tcpdump_pid 2>/dev/null; wait $tcpdump_pid 2>/dev/null"
wait_for -t 5 grep -q "listening on" "$IPSEC_DIR/tcpdump.out" || fail "tcpdump did not start"
ip netns exec "$NS_A" ping -c 3 -i 0.2 -W 2 -I 10.98.1.1 10.98.2.1 > /dev/null || fail "ping through the tunnel"
pass "ping 10.98.1.1 -> 10.98.2.1 through the CHILD_SA"
head -c $((10 * 1024 * 1024)) /dev/urandom > "$IPSEC_DIR/xfer.bin"
ip netns exec "$NS_B" socat -u TCP-LISTEN:5001,bind=10.98.2.1,reuseaddr OPEN:"$IPSEC_DIR/recv.bin",creat,trunc &
socat_pid=$!
on_exit "kill $socat_pid 2>/dev/null"
wait_for -t 5 bash -c "ip netns exec $NS_B ss -Htln 'sport = :5001' | grep -q 5001" || fail "socat listener"
ip netns exec "$NS_A" socat -u OPEN:"$IPSEC_DIR/xfer.bin" TCP:10.98.2.1:5001,bind=10.98.1.1 || fail "10 MiB transfer"
wait_for -t 20 pid_gone "$socat_pid" || fail "receiver did not finish"
assert_eq "$(sha256sum < "$IPSEC_DIR/recv.bin")" "$(sha256sum < "$IPSEC_DIR/xfer.bin")" "10 MiB checksum"
pass "10 MiB transfer through the tunnel, sha256 equal"
kill -INT "$tcpdump_pid"
wait "$tcpdump_pid" 2>/dev/null
grep -q "^0 packets dropped by kernel" "$IPSEC_DIR/tcpdump.out" || fail "tcpdump dropped packets: $(cat "$IPSEC_DIR/tcpdump.out")"
n4500=$(tcpdump -n -r "$pcap" 'udp port 4500' 2>/dev/null | wc -l)
nesp=$(tcpdump -n -r "$pcap" 'udp port 4500' 2>/dev/null | grep -c "UDP-encap: ESP")
nplain=$(tcpdump -n -r "$pcap" 'icmp or tcp or net 10.98.0.0/16' 2>/dev/null | wc -l)
nother=$(tcpdump -n -r "$pcap" 'not (udp port 4500 or udp port 500 or arp or ip6)' 2>/dev/null | wc -l)
[ "$nesp" -gt 7000 ] || fail "only $nesp ESP packets on the veth for 10 MiB"
assert_eq "$nplain" 0 "plaintext packets of the inner networks on the veth"
assert_eq "$nother" 0 "packets other than IKE/ESP-in-UDP on the veth"
assert_eq "$((n4500 - nesp))" "$(tcpdump -n -r "$pcap" 'udp port 4500' 2>/dev/null | grep -c 'NONESP-encap: isakmp')" "udp 4500 = ESP + IKE"
pass "the veth carried only ESP-in-UDP on port 4500 ($nesp ESP packets), no plaintext"

# PPK bytes never in the daemons' logs: no long hex or base64 runs at all
for c in client1 client2; do
	if grep -Eq '[0-9a-fA-F]{32,}|[A-Za-z0-9+/]{40,}={0,2}' "$(v DSKE_CLIENT_${c}_LOG)"; then
		fail "$c log has a long hex/base64 string"
	fi
done
pass "no key-sized hex or base64 in the daemons' logs"
exit 0
