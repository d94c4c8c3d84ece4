#!/bin/bash
# dske-request-key under the real kernel upcall (/sbin/request-key), with a scripted stand-in
# for the daemon's POST /v1/request-key (tests/tools/reqkey_daemon). The real daemon's side is
# 061-request-key.sh. Installs a request-key.d file for a test-only description prefix and
# removes it again; runs in its own session keyring.
set -u
cd "$(dirname "$0")/../.." || exit 1
BUILD=${BUILD:-build}
BIN=${DSKE_BIN:-$PWD/$BUILD/bin}
TOOLS=$PWD/$BUILD/tests/tools

if [ "$(id -u)" != 0 ]; then
	echo "skip: request-key upcalls need root (a file in /etc/request-key.d)"; exit 77
fi
if ! keyctl show @s >/dev/null 2>&1; then
	echo "skip: the kernel keyring is not available (CONFIG_KEYS, or a seccomp filter)"; exit 77
fi
if [ -z "${DSKE_IN_SESSION:-}" ]; then
	DSKE_IN_SESSION=1 exec keyctl session - bash "$0" "$@"
fi

fail() { echo "FAIL: $*" >&2; exit 1; }
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
uuid() { cat /proc/sys/kernel/random/uuid; }

dir=$(mktemp -d /tmp/dske-rk.XXXXXX) || exit 1
prefix="dsketest$$"
conf=/etc/request-key.d/$prefix.conf
dpid=""
stop_daemon() {
	if [ -n "$dpid" ]; then
		kill -CONT "$dpid" 2>/dev/null; kill "$dpid" 2>/dev/null; wait "$dpid" 2>/dev/null
		dpid=""
	fi
}
cleanup() { stop_daemon; rm -f "$conf"; rm -rf "$dir"; }
trap cleanup EXIT

start_daemon() {   # ALLOW_UID
	stop_daemon
	rm -f "$dir/ctl.sock"
	"$TOOLS/reqkey_daemon" "$dir/ctl.sock" "$dir" "$1" 600 &
	dpid=$!
	for _ in $(seq 200); do [ -S "$dir/ctl.sock" ] && return 0; sleep 0.01; done
	fail "stand-in daemon did not start"
}

# the timeout column of the (negative) key with this description in /proc/keys
neg_timeout() { awk -v d="$prefix:client2:$1" '($9 == d || $9 == d ":") && $2 ~ /N/ { print $4 }' /proc/keys; }

# request KEY_UUID [setpriv args...]: prints the serial; stderr has keyctl's error
request() {
	local id=$1; shift
	if [ $# -gt 0 ]; then
		setpriv "$@" keyctl session - keyctl request2 user "$prefix:client2:$id" cb @s
	else
		keyctl request2 user "$prefix:client2:$id" cb @s
	fi
}

echo "create user $prefix:* * $BIN/dske-request-key --socket $dir/ctl.sock --prefix $prefix --timeout 2 %k %d %c %u %g" > "$conf"

# 1. authorised root consumer: the daemon's bytes, our permission, the daemon's timeout
k1=$(uuid); head -c 32 /dev/urandom > "$dir/$k1"
start_daemon 0
id=$(request "$k1") || fail "request for an authorised key failed"
keyctl pipe "$id" | cmp -s - "$dir/$k1" || fail "key bytes differ from the daemon's"
desc=$(keyctl rdescribe "$id") || fail "cannot describe $id"
[ "$desc" = "user;0;0;1b3f0000;$prefix:client2:$k1" ] || fail "describe: $desc"
tmo=$(awk -v s="$(printf %08x "$id")" '$1 == s { print $4 }' /proc/keys)
case "$tmo" in 9m|10m) ;; *) fail "timeout in /proc/keys is '$tmo', want about 600 s";; esac
grep -qx "client2 $k1 0 0 [0-9]*" "$dir/requests.log" || fail "daemon saw: $(cat "$dir/requests.log")"
tmo_ms=$(awk -v k="$k1" '$2 == k { print $5 }' "$dir/requests.log")
[ "$tmo_ms" -gt 0 ] && [ "$tmo_ms" -lt 2000 ] || fail "daemon deadline $tmo_ms ms not inside the 2 s bound"
# the second request is served by the keyring, no second upcall
id2=$(request "$k1") || fail "second request failed"
[ "$id2" = "$id" ] || fail "second request gave another key ($id2 != $id)"
[ "$(grep -c "$k1" "$dir/requests.log")" = 1 ] || fail "second request made an upcall"

k4=$(uuid)
# 2. unauthorised uid: EKEYREJECTED, and the negative key answers the retry without an upcall
k2=$(uuid); head -c 32 /dev/urandom > "$dir/$k2"
err=$(request "$k2" --reuid=12345 --regid=12345 --clear-groups 2>&1) && fail "uid 12345 got the key"
case "$err" in *"rejected"*) ;; *) fail "uid 12345: want EKEYREJECTED, got: $err";; esac
grep -qx "client2 $k2 12345 12345 [0-9]*" "$dir/requests.log" || fail "requester uid/gid not passed on"

# (the requester's session is gone with its process; root's own refused request shows the
# 5 s negative key)
err=$(request "$k4" 2>&1) && fail "got a key the daemon does not have"
case "$(neg_timeout "$k4")" in 4s|5s) ;; *) fail "unknown key: negative key lives '$(neg_timeout "$k4")', want 5 s";; esac

# 3. an authorised non-root consumer: the key is its own (owner = requester, no group byte)
k3=$(uuid); head -c 48 /dev/urandom > "$dir/$k3"
start_daemon 23456
out=$(setpriv --reuid=23456 --regid=23456 --clear-groups keyctl session - sh -c \
	"id=\$(keyctl request2 user $prefix:client2:$k3 cb @s) && keyctl rdescribe \$id && keyctl pipe \$id | od -An -tx1 -v") \
	|| fail "uid 23456 could not get its key"
[ "$(echo "$out" | head -n1)" = "user;23456;23456;1b3f0000;$prefix:client2:$k3" ] || fail "describe: $(echo "$out" | head -n1)"
[ "$(echo "$out" | tail -n +2 | tr -d ' \n')" = "$(od -An -tx1 -v "$dir/$k3" | tr -d ' \n')" ] || fail "uid 23456: bytes differ"

# 4. a key the daemon does not have: ENOKEY
err=$(setpriv --reuid=23456 --regid=23456 --clear-groups keyctl session - keyctl request2 user "$prefix:client2:$k4" cb @s 2>&1) \
	&& fail "got a key the daemon does not have"
case "$err" in *"not available"*) ;; *) fail "unknown key: want ENOKEY, got: $err";; esac

# 5. a description that is not a DSKE key: rejected by the handler, the daemon never asked
err=$(keyctl request2 user "$prefix:client2:not-a-uuid" cb @s 2>&1) && fail "bad description accepted"
case "$err" in *"rejected"*) ;; *) fail "bad description: want EKEYREJECTED, got: $err";; esac
grep -q "not-a-uuid" "$dir/requests.log" && fail "daemon was asked about a bad description"

# 6. daemon down: ENOKEY, fast (well inside the bound)
stop_daemon
k6=$(uuid); head -c 32 /dev/urandom > "$dir/$k6"
t0=$(now_ms)
err=$(request "$k6" 2>&1) && fail "got a key with the daemon down"
t=$(( $(now_ms) - t0 ))
case "$err" in *"not available"*) ;; *) fail "daemon down: want ENOKEY, got: $err";; esac
[ "$t" -lt 1500 ] || fail "daemon down: took $t ms (bound 2000 ms)"
case "$(neg_timeout "$k6")" in 0s|1s) ;; *) fail "daemon down: negative key lives '$(neg_timeout "$k6")', want 1 s";; esac
echo "   daemon down: ENOKEY in $t ms"

# 7. daemon wedged (SIGSTOP): the caller is back after the bound, ETIMEDOUT
start_daemon 0
kill -STOP "$dpid"
k7=$(uuid); head -c 32 /dev/urandom > "$dir/$k7"
t0=$(now_ms)
err=$(request "$k7" 2>&1) && fail "got a key from a stopped daemon"
t=$(( $(now_ms) - t0 ))
case "$err" in *"timed out"*) ;; *) fail "wedged daemon: want ETIMEDOUT, got: $err";; esac
[ "$t" -lt 3000 ] || fail "wedged daemon: the caller waited $t ms (bound 2000 ms)"
echo "   wedged daemon: ETIMEDOUT in $t ms"
stop_daemon
echo "058-request-key-handler: ok"
