#!/bin/bash
# dske-hubd on a free loopback port: --check-config on good and bad files (FILE:LINE errors),
# --import before start, readiness (sd_notify READY=1 and STOPPING=1), /healthz, the control
# socket's status JSON, imports at run time (new client usable at once, re-import reported,
# foreign and client halves refused), in-band refusals (400, 413), clean stop and restart
# with the state kept.
set -u
BIN=${DSKE_BIN:-$PWD/build/bin}
tmp=$(mktemp -d /tmp/dske-020.XXXXXX)
pid=
socat_pid=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	[ -n "$socat_pid" ] && kill "$socat_pid" 2>/dev/null && wait "$socat_pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

# wait_for SECONDS CMD...: poll until CMD succeeds
wait_for() {
	local t=$(($1 * 20)); shift
	while ! "$@" >/dev/null 2>&1; do
		t=$((t - 1))
		[ "$t" -gt 0 ] || return 1
		sleep 0.05
	done
}

ctl() {  # ctl PATH [curl args]: control socket request, body on stdout, status in $tmp/code
	local path=$1; shift
	curl -s -o "$tmp/ctl.out" -w '%{http_code}' --unix-socket "$tmp/hubd.sock" "$@" \
		"http://localhost$path" >"$tmp/code"
	cat "$tmp/ctl.out"
}

conf=$tmp/hub.conf
cat >"$conf" <<EOF
; test hub
[hub]
name = hub1
listen = 127.0.0.1:0
state_dir = $tmp/state
control_socket = $tmp/hubd.sock
max_frame = 64K
share_ttl = 10m
psrd_audit = yes
log_level = info
EOF

"$BIN/dske-hubd" --version | grep -qE '^dske-hubd [0-9]' || fail "--version"
"$BIN/dske-hubd" --help | grep -q -- "--check-config" || fail "--help"
"$BIN/dske-hubd" -c "$conf" --check-config >"$tmp/out" 2>&1 || fail "good config refused: $(cat "$tmp/out")"

# bad configs: each error names file and line
check_bad() {  # check_bad LINE REGEX: the last line of $tmp/bad.conf is at fault
	if "$BIN/dske-hubd" -c "$tmp/bad.conf" --check-config >"$tmp/out" 2>&1; then
		fail "bad config accepted ($2)"
	elif ! grep -qE "$tmp/bad.conf:$1: .*$2" "$tmp/out"; then
		fail "bad config: expected $tmp/bad.conf:$1: $2, got: $(cat "$tmp/out")"
	fi
}
printf '[hub]\nname = hub1\n\nlisten_port = 7001\n' >"$tmp/bad.conf"
check_bad 4 'unknown key "listen_port"'
printf '[hub]\nname = hub1\n[client]\nname = x\n' >"$tmp/bad.conf"
check_bad 4 'unknown section \[client\]'
printf '[hub]\nname = hub1\nname = hub2\n' >"$tmp/bad.conf"
check_bad 3 'duplicate key "name"'
printf '[hub]\nname = hub1\nmax_frame = huge\n' >"$tmp/bad.conf"
check_bad 3 'max_frame'
printf '[hub]\nname = hub1\nlisten = nowhere\n' >"$tmp/bad.conf"
check_bad 3 'listen'
printf '[hub]\nlisten = 127.0.0.1:1\n' >"$tmp/bad.conf"
"$BIN/dske-hubd" -c "$tmp/bad.conf" --check-config >"$tmp/out" 2>&1 && fail "config without name accepted"
grep -q "name is required" "$tmp/out" || fail "missing name: $(cat "$tmp/out")"
"$BIN/dske-hubd" -c "$tmp/nonexistent.conf" --check-config >"$tmp/out" 2>&1 && fail "missing file accepted"
grep -q "nonexistent.conf" "$tmp/out" || fail "missing file: $(cat "$tmp/out")"

# bundles: client1 and client2 for hub1, client1 for hub2
mkdir "$tmp/b"
for c in client1 client2; do
	"$BIN/dske-psrd" make --hub hub1 --hub-index 1 --hub-url http://127.0.0.1:7001 --client $c \
		--sae ${c}_sae1 --sae ${c}_sae2 --size 64K --out "$tmp/b" >/dev/null || fail "dske-psrd $c"
done
"$BIN/dske-psrd" make --hub hub2 --hub-index 2 --hub-url http://127.0.0.1:7002 --client client1 \
	--sae client1_sae1 --size 64K --out "$tmp/b" >/dev/null || fail "dske-psrd hub2"

# --import before start
"$BIN/dske-hubd" -c "$conf" --import "$tmp/b/hub1-client1.hub.bundle" >"$tmp/out" 2>&1 ||
	fail "--import: $(cat "$tmp/out")"
grep -q "client registered" "$tmp/out" || fail "--import output: $(cat "$tmp/out")"
"$BIN/dske-hubd" -c "$conf" --import "$tmp/b/hub1-client1.hub.bundle" >"$tmp/out" 2>&1 ||
	fail "re-import is an error: $(cat "$tmp/out")"
grep -q "already imported" "$tmp/out" || fail "re-import not reported: $(cat "$tmp/out")"
"$BIN/dske-hubd" -c "$conf" --import "$tmp/b/hub2-client1.hub.bundle" >"$tmp/out" 2>&1 &&
	fail "bundle for hub2 imported on hub1"
grep -q "bundle is for hub hub2, this is hub hub1" "$tmp/out" || fail "foreign bundle: $(cat "$tmp/out")"
[ "$(stat -c %a "$tmp/state")" = 700 ] || fail "state dir mode $(stat -c %a "$tmp/state")"
[ -f "$tmp/state/psrd/client1/registration" ] || fail "no registration file"

# start, with a notify socket to see READY=1
if command -v socat >/dev/null; then
	socat -u UNIX-RECVFROM:"$tmp/notify",fork OPEN:"$tmp/notified",creat,append &
	socat_pid=$!
	wait_for 5 test -S "$tmp/notify" || fail "socat notify socket"
	export NOTIFY_SOCKET=$tmp/notify
fi
"$BIN/dske-hubd" -c "$conf" --foreground 2>"$tmp/hubd.log" &
pid=$!
unset NOTIFY_SOCKET
wait_for 10 curl -sf --unix-socket "$tmp/hubd.sock" http://localhost/v1/status ||
	{ fail "hub did not come up: $(cat "$tmp/hubd.log")"; exit 1; }
if [ -n "$socat_pid" ]; then
	wait_for 5 grep -q READY=1 "$tmp/notified" || fail "no READY=1"
fi
[ "$(stat -c %a "$tmp/hubd.sock")" = 660 ] || fail "control socket mode $(stat -c %a "$tmp/hubd.sock")"

status=$(ctl /v1/status)
port=$(jq -r .port <<<"$status")
[ "$port" -gt 0 ] 2>/dev/null || fail "no port in status: $status"
jq -e '.name == "hub1" and .role == "hub" and (.uptime | type == "number")' <<<"$status" >/dev/null ||
	fail "status header: $status"
jq -e '.clients | length == 1' <<<"$status" >/dev/null || fail "clients: $status"
jq -e '.clients[0] | .name == "client1" and .saes == ["client1_sae1","client1_sae2"] and
	.hub_index == 1 and .psrd.rx_end == 65536 and .psrd.tx_end == 65536 and
	.psrd.rx_remaining == 65536 and .psrd.low == false' <<<"$status" >/dev/null ||
	fail "client1 entry: $status"
jq -e '.shares.stored == 0 and .alarms.bad_tags == 0' <<<"$status" >/dev/null || fail "counters: $status"

# in-band HTTP
[ "$(curl -s "http://127.0.0.1:$port/healthz")" = ok ] || fail "/healthz"
code=$(curl -s -o /dev/null -w '%{http_code}' --data-binary 'not a frame' "http://127.0.0.1:$port/dske/v1")
[ "$code" = 400 ] || fail "garbage frame: HTTP $code"
head -c 70000 /dev/zero >"$tmp/big"
code=$(curl -s -o /dev/null -w '%{http_code}' --data-binary @"$tmp/big" "http://127.0.0.1:$port/dske/v1")
[ "$code" = 413 ] || fail "frame above max_frame: HTTP $code"
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/dske/v1")
[ "$code" = 405 ] || fail "GET /dske/v1: HTTP $code"
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/nope")
[ "$code" = 404 ] || fail "unknown path: HTTP $code"
jq -e '.frames.malformed == 1 and .frames.received == 1' <<<"$(ctl /v1/status)" >/dev/null ||
	fail "frame counters: $(cat "$tmp/ctl.out")"

# import at run time: usable at once
out=$(ctl /v1/import --data-binary @"$tmp/b/hub1-client2.hub.bundle")
[ "$(cat "$tmp/code")" = 200 ] || fail "runtime import: HTTP $(cat "$tmp/code"): $out"
jq -e '.client == "client2" and .new_client == true and .already == false and .block == 1' \
	<<<"$out" >/dev/null || fail "import answer: $out"
jq -e '[.clients[].name] | sort == ["client1","client2"]' <<<"$(ctl /v1/status)" >/dev/null ||
	fail "client2 not listed: $(cat "$tmp/ctl.out")"
out=$(ctl /v1/import --data-binary @"$tmp/b/hub1-client2.hub.bundle")
[ "$(cat "$tmp/code")" = 200 ] && jq -e '.already == true' <<<"$out" >/dev/null ||
	fail "re-import at run time: $out"
out=$(ctl /v1/import --data-binary @"$tmp/b/hub2-client1.hub.bundle")
[ "$(cat "$tmp/code")" = 400 ] || fail "foreign bundle at run time: HTTP $(cat "$tmp/code")"
jq -e '.error | test("bundle is for hub hub2")' <<<"$out" >/dev/null || fail "foreign bundle: $out"
out=$(ctl /v1/import --data-binary @"$tmp/b/hub1-client1.client.bundle")
[ "$(cat "$tmp/code")" = 400 ] && jq -e '.error | test("client half")' <<<"$out" >/dev/null ||
	fail "client half at run time: $out"
out=$(ctl /v1/import --data-binary 'junk')
[ "$(cat "$tmp/code")" = 400 ] || fail "junk import: HTTP $(cat "$tmp/code")"
ctl /v1/nope >/dev/null
[ "$(cat "$tmp/code")" = 404 ] || fail "unknown control path: HTTP $(cat "$tmp/code")"
grep -q "client client2" "$tmp/hubd.log" || fail "import not logged"

# one hub per state dir: --import while running is refused
"$BIN/dske-hubd" -c "$conf" --import "$tmp/b/hub1-client2.hub.bundle" >"$tmp/out" 2>&1 &&
	fail "--import while running"
grep -q "running" "$tmp/out" || fail "--import while running: $(cat "$tmp/out")"

# clean stop: STOPPING=1, socket removed, exit 0
kill -TERM "$pid"
wait "$pid"
rc=$?
pid=
[ "$rc" = 0 ] || fail "exit status $rc after SIGTERM: $(tail -3 "$tmp/hubd.log")"
[ -e "$tmp/hubd.sock" ] && fail "control socket left behind"
if [ -n "$socat_pid" ]; then
	wait_for 5 grep -q STOPPING=1 "$tmp/notified" || fail "no STOPPING=1"
fi

# restart: the clients are still there
"$BIN/dske-hubd" -c "$conf" 2>>"$tmp/hubd.log" &
pid=$!
wait_for 10 curl -sf --unix-socket "$tmp/hubd.sock" http://localhost/v1/status ||
	{ fail "restart: $(tail -3 "$tmp/hubd.log")"; exit 1; }
jq -e '.clients | length == 2' <<<"$(ctl /v1/status)" >/dev/null || fail "after restart: $(cat "$tmp/ctl.out")"
# psrd_audit = yes keeps the allocation audit files
ls "$tmp/state/psrd/client1/"*.audit >/dev/null 2>&1 || fail "psrd_audit = yes: no .audit files"

[ "$fails" -eq 0 ] || { echo "$fails failure(s); hub log:"; tail -20 "$tmp/hubd.log"; exit 1; }
echo "020-hubd-basic: all checks passed"
