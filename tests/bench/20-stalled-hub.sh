#!/bin/bash
# 20-stalled-hub.sh (make bench): key-pair latency with one hub stalled (SIGSTOP), next to the
# same figure with all hubs answering, on a lab of 5 hubs and 2 clients (k 3) on loopback,
# measured with dske-loadgen (sequential key pairs: Get key at client1, Get key with key IDs at
# client2, 256-bit keys). Prints figures only (tests/integration/102-stalled-hub.sh asserts the
# generous bound). Environment: DSKE_BIN, BUILD, BENCH_STALL_PAIRS (default 300).
set -u
cd "$(dirname "$0")/../.." || exit 1
BUILD=${BUILD:-build}
BIN=${DSKE_BIN:-$PWD/$BUILD/bin}
export DSKE_BIN=$BIN
LOADGEN=$PWD/$BUILD/tests/tools/dske-loadgen
PAIRS=${BENCH_STALL_PAIRS:-300}

echo "== stalled hub (tests/bench/20-stalled-hub.sh)"
for p in "$BIN/dske-lab" "$BIN/dske-hubd" "$BIN/dske-clientd" "$LOADGEN"; do
	[ -x "$p" ] || { echo "stalled-hub bench: $p not built; nothing measured"; exit 0; }
done
[ "$(id -u)" = 0 ] || { echo "stalled-hub bench: needs root (lab SAE uids); nothing measured"; exit 0; }

d=$(mktemp -d /tmp/dske-bench-stall.XXXXXX)
stalled=""
cleanup() {
	[ -n "$stalled" ] && kill -CONT "$stalled" 2> /dev/null
	"$BIN/dske-lab" stop --dir "$d" > /dev/null 2>&1
	rm -rf "$d"
}
trap cleanup EXIT
rmdir "$d"
if ! "$BIN/dske-lab" start --dir "$d" --psrd 16M > /dev/null 2> "${d}.err"; then
	echo "dske-lab start failed: $(tail -3 "${d}.err")"; rm -f "${d}.err"; exit 0
fi
rm -f "${d}.err"
# shellcheck disable=SC1091
. "$d/lab.env"

run() {   # LABEL
	local out
	out=$("$LOADGEN" --init-sock "$DSKE_CLIENT_client1_ETSI_SOCK" --resp-sock "$DSKE_CLIENT_client2_ETSI_SOCK" \
		--master client1_sae1 --slave client2_sae1 --ops "$PAIRS" --threads 1 2>&1)
	awk -v l="$1" -v n="$PAIRS" '
		/^latency_us_p50/ { p50 = $2 } /^latency_us_p99/ { p99 = $2 } /^latency_us_max/ { mx = $2 }
		/^enc_us_p50/ { e = $2 } /^dec_us_p50/ { dd = $2 } /^errors/ { err = $2 }
		END { printf "key pair, %s: p50 %.1f ms, p99 %.1f ms, max %.1f ms (Get key p50 %.1f ms, Get key with key IDs p50 %.1f ms; %d pairs, %d errors)\n",
			l, p50 / 1000, p99 / 1000, mx / 1000, e / 1000, dd / 1000, n, err }' <<< "$out"
}
run "all 5 hubs answering"
stalled=$DSKE_HUB_hub5_PID
kill -STOP "$stalled"
run "hub5 stalled (SIGSTOP)"
kill -CONT "$stalled"
stalled=""
echo "(hub_timeout 2 s; a client waiting for the stalled hub would show pairs of 2 s or more)"
