# lib-clientlab.sh — a hand-built lab for the client tests: NH dske-hubd on free loopback ports,
# two dske-clientd configurations (client1, client2; SAEs clientN_sae1 = uid 0 and
# clientN_sae2 = uid 65534; ETSI unix sockets), PSRD bundles made with dske-psrd and imported.
# Sourcing it builds the lab (configs written, bundles imported); then lab_start_hubs and
# lab_start_clients start the daemons (waiting by polling). Cleans up on EXIT (only its PIDs).
# Variables: tmp, NH, ports[], pids[]; functions fail, die, wait_for, status.
# Knobs: NH, PSRD_SIZE (or PSRD_SIZE_CLIENT1/2), LAB_CLIENT_EXTRA ([client] lines), LAB_TMPDIR.
set -u
NH=${NH:-5}
BIN=${DSKE_BIN:-$PWD/build/bin}
tmp=$(mktemp -d "${LAB_TMPDIR:-/tmp}/dske-clientlab.XXXXXX")
chmod 755 "$tmp"
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
	rm -rf "$tmp"
}
trap cleanup EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
die() { echo "FAIL: $*"; for f in "$tmp"/*.log; do echo "--- $f"; tail -20 "$f"; done; exit 1; }

# wait_for SECONDS CMD...: poll until CMD succeeds
wait_for() {
	local t=$1; shift
	local end=$((SECONDS + t))
	until "$@" >/dev/null 2>&1; do
		[ $SECONDS -lt $end ] || return 1
		sleep 0.05
	done
}

free_ports() {
	python3 - "$1" <<'EOF'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket(); s.bind(("127.0.0.1", 0)); socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
EOF
}

read -r -a ports <<<"$(free_ports $NH)"
mkdir -p "$tmp/bundles" "$tmp/run"
chmod 755 "$tmp/run"

for i in $(seq 1 $NH); do
	port=${ports[$((i - 1))]}
	cat >"$tmp/hub$i.conf" <<EOF
[hub]
name = hub$i
listen = 127.0.0.1:$port
state_dir = $tmp/hub$i
control_socket = $tmp/run/hub$i.sock
log_level = info
EOF
	for c in 1 2; do
		size_var=PSRD_SIZE_CLIENT$c
		size=${!size_var:-${PSRD_SIZE:-4M}}
		"$BIN/dske-psrd" make --hub hub$i --hub-index $i --hub-url http://127.0.0.1:$port \
			--client client$c --sae client${c}_sae1 --sae client${c}_sae2 --size "$size" \
			--out "$tmp/bundles" >/dev/null || die "dske-psrd make hub$i client$c"
	done
	"$BIN/dske-hubd" -c "$tmp/hub$i.conf" --import "$tmp"/bundles/hub$i-client1.hub.bundle \
		"$tmp"/bundles/hub$i-client2.hub.bundle >/dev/null || die "hub$i import"
done

for c in 1 2; do
	o=$((3 - c))
	{
		cat <<EOF
[client]
name = client$c
state_dir = $tmp/client$c
control_socket = $tmp/run/client$c.sock
k = 3
ack_margin = 1
hub_timeout = 2s
poll_wait = 5s
fetch_deadline = 3s
log_level = info
${LAB_CLIENT_EXTRA:-}

[peer client$o]
saes = client${o}_sae1 client${o}_sae2

[sae client${c}_sae1]
uid = 0

[sae client${c}_sae2]
uid = 65534

[etsi]
unix_socket = $tmp/run/etsi$c.sock
EOF
		for i in $(seq 1 $NH); do
			printf '\n[hub hub%d]\nindex = %d\nurl = http://127.0.0.1:%s\n' $i $i "${ports[$((i - 1))]}"
		done
	} >"$tmp/client$c.conf"
	"$BIN/dske-clientd" -c "$tmp/client$c.conf" --check-config >/dev/null || die "client$c config"
	"$BIN/dske-clientd" -c "$tmp/client$c.conf" --import "$tmp"/bundles/hub*-client$c.client.bundle \
		>/dev/null || die "client$c import"
done

lab_start_hubs() {
	for i in $(seq 1 $NH); do
		"$BIN/dske-hubd" -c "$tmp/hub$i.conf" 2>"$tmp/hub$i.log" &
		pids+=($!)
	done
	for i in $(seq 1 $NH); do
		wait_for 10 curl -sf "http://127.0.0.1:${ports[$((i - 1))]}/healthz" || die "hub$i not up"
	done
}

status() { curl -sf --unix-socket "$tmp/run/client$1.sock" http://localhost/v1/status; }
synced() { [ "$(status "$1" | jq '[.hubs[] | select(.synced)] | length')" = $NH ]; }

lab_start_clients() {
	for c in 1 2; do
		"$BIN/dske-clientd" -c "$tmp/client$c.conf" 2>"$tmp/client$c.log" &
		pids+=($!)
	done
	for c in 1 2; do
		wait_for 15 synced $c || die "client$c: hubs not synchronised: $(status $c)"
	done
}
