#!/bin/bash
# The example configurations shipped as /etc/dske/{hub,client}.conf (daemon/conf/) are accepted
# by the daemons' --check-config, and a broken copy is refused with FILE:LINE (so the check can fail).
set -u
cd "$(dirname "$0")/../.." || exit 1
BIN=${DSKE_BIN:-$PWD/build/bin}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
rc=0 n=0
for pair in hub:dske-hubd client:dske-clientd; do
	conf=daemon/conf/${pair%%:*}.conf prog=$BIN/${pair#*:}
	[ -x "$prog" ] || continue        # the daemon has not landed yet
	n=$((n + 1))
	[ -f "$conf" ] || { echo "FAIL: $conf missing (installed as a conffile by make install)"; rc=1; continue; }
	if out=$("$prog" --check-config -c "$conf" 2>&1); then echo "ok: $out"
	else echo "FAIL: $prog --check-config -c $conf: $out"; rc=1; fi
	{ cat "$conf"; echo "no_such_key = 1"; } > "$tmp/bad.conf"
	if out=$("$prog" --check-config -c "$tmp/bad.conf" 2>&1); then
		echo "FAIL: $prog accepted an unknown key"; rc=1
	elif ! grep -q "bad.conf:[0-9]" <<< "$out"; then
		echo "FAIL: no FILE:LINE in: $out"; rc=1
	fi
done
echo "example configs checked: $n"
exit $rc
