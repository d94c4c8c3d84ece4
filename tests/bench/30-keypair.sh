#!/bin/bash
# Key pairs over ETSI 014 through 5 hubs on loopback (lib-clientlab): latency with one caller,
# throughput with 8, PSRD per key and the daemons' RssAnon. Prints figures, asserts nothing.
cd "$(dirname "$0")/../.." || exit 1
PSRD_SIZE=64M
. tests/integration/lib-clientlab.sh
LOAD=$PWD/${BUILD:-build}/tests/tools/etsi_load
lab_start_hubs
lab_start_clients
for c in 1 2; do wait_for 5 test -S "$tmp/run/etsi$c.sock" || die "no ETSI socket"; done
tx0=$(status 1 | jq '[.hubs[].psrd.tx_remaining] | add')
"$LOAD" "$tmp/run/etsi1.sock" client2_sae1 "$tmp/run/etsi2.sock" client1_sae1 1 3
cpu() { awk '{print $14 + $15}' /proc/$1/stat; }
declare -A c0
for p in "${pids[@]}"; do c0[$p]=$(cpu $p); done
"$LOAD" "$tmp/run/etsi1.sock" client2_sae1 "$tmp/run/etsi2.sock" client1_sae1 8 5
line="CPU during the 8-caller run (ticks):"
for i in $(seq 1 $((NH + 2))); do
	p=${pids[$((i - 1))]}
	[ $i -le $NH ] && n=hub$i || n=client$((i - NH))
	line="$line $n $(( $(cpu $p) - ${c0[$p]} ))"
done
echo "$line"
made=$(status 1 | jq .keys.made)
tx1=$(status 1 | jq '[.hubs[].psrd.tx_remaining] | add')
rx=$(status 2 | jq '[.hubs[].psrd.rx_remaining] | add')
echo "PSRD: initiator sent $(( (tx0 - tx1) / (made > 0 ? made : 1) )) bytes per key over 5 hubs ($made keys)"
for c in 1 2; do
	pid=${pids[$((NH + c - 1))]}
	echo "client$c: $(grep -E 'RssAnon|VmHWM|Threads' /proc/$pid/status | tr -s ' \t' ' ' | tr '\n' ' ')"
done
