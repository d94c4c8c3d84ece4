#!/bin/bash
# 10-lab.sh (make bench): figures from a real lab of 5 hubs and 2 clients on loopback, measured
# with dske-loadgen (libcurl in-process over the ETSI unix sockets). Prints figures only.
#   - dske-lab start time with the defaults (5 hubs, 2 clients, k 3, 4M PSRD per stream)
#   - key-pair latency p50/p99: Get key at client1, then Get key with key IDs at client2,
#     256-bit keys, sequential (BENCH_PAIRS, default 1000)
#   - key pairs/s with 8 concurrent callers; keys/s with number=100
#   - PSRD bytes used per key per hub (dskectl status --json before/after)
#   - VmRSS and RssAnon of each daemon after the runs
# Environment: DSKE_BIN, BUILD, BENCH_PSRD (bench lab PSRD per stream, default 64M),
# BENCH_PAIRS (default 1000), BENCH_STARTS (timed default starts, default 3).
set -u
cd "$(dirname "$0")/../.." || exit 1
BUILD=${BUILD:-build}
BIN=${DSKE_BIN:-$PWD/$BUILD/bin}
export DSKE_BIN=$BIN
LOADGEN=$PWD/$BUILD/tests/tools/dske-loadgen
PSRD=${BENCH_PSRD:-64M}
PAIRS=${BENCH_PAIRS:-1000}
STARTS=${BENCH_STARTS:-3}

echo "== lab (tests/bench/10-lab.sh)"
for p in "$BIN/dske-lab" "$BIN/dske-hubd" "$BIN/dske-clientd" "$BIN/dskectl" "$LOADGEN"; do
	[ -x "$p" ] || { echo "lab bench: $p not built; nothing measured"; exit 0; }
done
if [ "$(id -u)" != 0 ]; then
	echo "lab bench: needs root (the lab's SAEs are uid 0 and 65534); nothing measured"
	exit 0
fi

tmp=$(mktemp -d /tmp/dske-bench.XXXXXX)
labs=()
cleanup() {
	local d
	for d in "${labs[@]}"; do "$BIN/dske-lab" stop --dir "$d" > /dev/null 2>&1; done
	rm -rf "$tmp"
}
trap cleanup EXIT

ms() { local t=${EPOCHREALTIME/./}; echo $((t / 1000)); }
echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"

# ---- dske-lab start with the defaults
times=()
for ((i = 1; i <= STARTS; i++)); do
	d=$tmp/start$i
	labs+=("$d")
	t0=$(ms)
	if ! "$BIN/dske-lab" start --dir "$d" > "$tmp/start.log" 2>&1; then
		echo "dske-lab start failed: $(tail -5 "$tmp/start.log")"
		exit 0
	fi
	t1=$(ms)
	times+=($((t1 - t0)))
	"$BIN/dske-lab" stop --dir "$d" > /dev/null 2>&1
	rm -rf "$d"
done
sorted=$(printf '%s\n' "${times[@]}" | sort -n | tr '\n' ' ')
printf 'dske-lab start (defaults: 5 hubs, 2 clients, k 3, 4M per stream): %s ms (runs: %s)\n' \
	"$(printf '%s\n' "${times[@]}" | sort -n | sed -n "$(((STARTS + 1) / 2))p")" "${sorted% }"

# ---- the bench lab
d=$tmp/lab
labs+=("$d")
t0=$(ms)
"$BIN/dske-lab" start --dir "$d" --psrd "$PSRD" > "$tmp/start.log" 2>&1 ||
	{ echo "dske-lab start --psrd $PSRD failed: $(tail -5 "$tmp/start.log")"; exit 0; }
t1=$(ms)
echo "bench lab: 5 hubs, 2 clients, k 3, $PSRD per stream (start: $((t1 - t0)) ms)"
# shellcheck disable=SC1091
. "$d/lab.env"
LG=("$LOADGEN" --init-sock "$DSKE_CLIENT_client1_ETSI_SOCK" --resp-sock "$DSKE_CLIENT_client2_ETSI_SOCK"
	--master client1_sae1 --slave client2_sae1 --size 256)

snap() {   # snap NAME: both clients' status JSON
	"$BIN/dskectl" --json --socket "$DSKE_CLIENT_client1_CTL" status > "$tmp/$1.c1.json" &&
		"$BIN/dskectl" --json --socket "$DSKE_CLIENT_client2_CTL" status > "$tmp/$1.c2.json"
}

# psrd_per_key BEFORE AFTER KEYS LABEL: bytes used per key on each hub's four streams
psrd_per_key() {
	jq -rn --slurpfile a1 "$tmp/$1.c1.json" --slurpfile b1 "$tmp/$2.c1.json" \
		--slurpfile a2 "$tmp/$1.c2.json" --slurpfile b2 "$tmp/$2.c2.json" --argjson n "$3" '
		def used($a; $b; $h; $f):
			(($a.hubs[] | select(.name == $h) | .psrd[$f]) - ($b.hubs[] | select(.name == $h) | .psrd[$f]));
		$a1[0].hubs[].name as $h |
		[ used($a1[0]; $b1[0]; $h; "tx_remaining"), used($a1[0]; $b1[0]; $h; "rx_remaining"),
		  used($a2[0]; $b2[0]; $h; "tx_remaining"), used($a2[0]; $b2[0]; $h; "rx_remaining") ] as $u |
		"  \($h): \(($u | add) / $n * 10 | round / 10) B/key  (initiator c2h \($u[0] / $n * 10 | round / 10), h2c \($u[1] / $n * 10 | round / 10); responder c2h \($u[2] / $n * 10 | round / 10), h2c \($u[3] / $n * 10 | round / 10))"'
}

run() {   # run NAME ARGS...: loadgen, output kept in $tmp/NAME.out
	local name=$1
	shift
	if ! "${LG[@]}" "$@" > "$tmp/$name.out" 2> "$tmp/$name.err"; then
		echo "  (dske-loadgen reported errors: $(head -c 300 "$tmp/$name.err"))"
	fi
}
fig() { awk -v k="$2" '$1 == k { print $2 }' "$tmp/$1.out"; }

snap s0
run seq --ops "$PAIRS" --threads 1 --number 1
snap s1
echo "key pair latency (Get key at client1 + Get key with key IDs at client2, 256 bits, sequential, $PAIRS pairs):"
echo "  p50 $(fig seq latency_us_p50) us, p99 $(fig seq latency_us_p99) us, max $(fig seq latency_us_max) us, mean $(fig seq latency_us_mean) us (Get key p50 $(fig seq enc_us_p50) us, with key IDs p50 $(fig seq dec_us_p50) us); errors $(fig seq errors)"
echo "  sequential: $(fig seq ops_per_s) pairs/s"
echo "PSRD used per key pair, per hub (number=1, includes the clients' background polls):"
psrd_per_key s0 s1 "$(fig seq ops)"

run par --ops $((PAIRS * 2)) --threads 8 --number 1
echo "key pairs/s with 8 concurrent callers: $(fig par ops_per_s) (p50 $(fig par latency_us_p50) us, p99 $(fig par latency_us_p99) us; errors $(fig par errors))"

snap s2
run batch --ops 100 --threads 8 --number 100
snap s3
echo "keys/s with number=100 (8 callers, 100 requests, both ends): $(fig batch keys_per_s) (request pair p50 $(fig batch latency_us_p50) us; errors $(fig batch errors))"
echo "PSRD used per key, per hub (number=100):"
psrd_per_key s2 s3 $(( $(fig batch ops) * 100 ))

echo "daemon memory after the runs (VmRSS / RssAnon):"
for n in $DSKE_HUBS $DSKE_CLIENTS; do
	v=DSKE_HUB_${n}_PID
	[ -n "${!v:-}" ] || v=DSKE_CLIENT_${n}_PID
	pid=${!v:-}
	[ -r "/proc/$pid/status" ] || { echo "  $n: not running"; continue; }
	rss=$(awk '/^VmRSS:/ { print $2 " " $3 }' "/proc/$pid/status")
	anon=$(awk '/^RssAnon:/ { print $2 " " $3 }' "/proc/$pid/status")
	echo "  $n: $rss / $anon"
done
"$BIN/dske-lab" stop --dir "$d" > /dev/null 2>&1
exit 0
