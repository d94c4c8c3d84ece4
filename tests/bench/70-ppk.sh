#!/bin/bash
# 70-ppk.sh (make bench): figures for the strongSwan PPK delivery, on the lab of the 07x tests
# (3 hubs, k 2, two dske-clientd on loopback, two charons in network namespaces with
# kernel-libipsec; tests/integration/lib-ppk.sh). Prints figures only.
#   - start: lab ready -> first IKE SA with ppk=yes
#   - a PPK's way to "ready": made -> loaded by the responder -> released at the hubs (from the
#     initiator's log)
#   - rolls on demand (POST /v1/ppk/roll, sequential, BENCH_ROLLS, default 50): latency p50/p99
#     as the caller sees it, and the IKE SA setup inside it (initiate with the CHILD_SA)
#   - 10 MiB through the tunnel after the rolls
# Environment: DSKE_BIN, BUILD, BENCH_ROLLS.
set -u
cd "$(dirname "$0")/../.." || exit 1
ROLLS=${BENCH_ROLLS:-50}
echo "== PPK (tests/bench/70-ppk.sh)"
if [ "$(id -u)" != 0 ] || [ ! -e /dev/net/tun ] || [ ! -x /usr/lib/ipsec/charon ]; then
	echo "ppk bench: needs root, /dev/net/tun and strongSwan's charon; nothing measured"
	exit 0
fi
. tests/integration/lib-ppk.sh

pct() {   # P FILE: the P-th percentile of the numbers in FILE
	sort -n "$2" | awk -v p="$1" '{a[NR]=$1} END {i=int((NR*p+99)/100); if (i<1) i=1; print a[i]}'
}
ms() { local t=${EPOCHREALTIME/./}; echo $((t / 1000)); }

t0=$(ms)
ppk_lab_start "ppk_roll = 0"
t1=$(ms)
wait_for -t 30 sa_ppk a || fail "no IKE SA"
t2=$(ms)
echo "lab start (3 hubs, 2 clients, 2 charons): $((t1 - t0)) ms; then first IKE SA with ppk=yes: $((t2 - t1)) ms"

tmp=$(lib_mktemp)
for i in $(seq 1 "$ROLLS"); do
	a=$(ms)
	ppk_roll || fail "roll $i: $CTL_BODY"
	b=$(ms)
	echo $((b - a)) >> "$tmp/caller"
	jq -r '.rolled[0].ms' <<< "$CTL_BODY" >> "$tmp/sa"
done
echo "rolls on demand ($ROLLS, sequential, ppk_keep = 2): p50 $(pct 50 "$tmp/caller") ms, p99 $(pct 99 "$tmp/caller") ms;" \
	"IKE SA + CHILD_SA setup inside: p50 $(pct 50 "$tmp/sa") ms, p99 $(pct 99 "$tmp/sa") ms"
sed -n 's/.*ready: the peer.s charon holds it (\([0-9]*\) ms).*/\1/p' "$(v DSKE_CLIENT_client1_LOG)" > "$tmp/ready"
echo "PPK made -> loaded by the responder -> released at the hubs: p50 $(pct 50 "$tmp/ready") ms, p99 $(pct 99 "$tmp/ready") ms ($(wc -l < "$tmp/ready") keys)"
for s in a b; do
	n=$(grep -Ec "AUTHENTICATION_FAILED|MAC mismatched" "$(charon_log "$s")")
	echo "charon $s: $n authentication failures"
done

head -c $((10 * 1024 * 1024)) /dev/urandom > "$tmp/x"
ip netns exec "$NS_B" socat -u TCP-LISTEN:5002,bind=10.98.2.1,reuseaddr OPEN:"$tmp/y",creat,trunc &
spid=$!
wait_for -t 5 bash -c "ip netns exec $NS_B ss -Htln 'sport = :5002' | grep -q 5002" || fail "socat"
a=$(ms)
ip netns exec "$NS_A" socat -u OPEN:"$tmp/x" TCP:10.98.2.1:5002,bind=10.98.1.1 || fail "transfer"
wait_for -t 30 pid_gone "$spid"
b=$(ms)
cmp -s "$tmp/x" "$tmp/y" || fail "transfer corrupted"
echo "10 MiB through the tunnel (kernel-libipsec, userspace ESP): $((b - a)) ms = $((10 * 8 * 1000 / (b - a + 1))) Mbit/s"
exit 0
