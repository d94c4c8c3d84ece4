# Sourced by the install scenario after the lab smoke test: both daemons send READY=1 to
# NOTIFY_SOCKET once they serve, and STOPPING=1 on SIGTERM, running as their units run them:
# the hub as user dske-hub (groups dske-hub, dske) on the shipped /etc/dske/hub.conf in a fresh
# network namespace, state and runtime dirs made like StateDirectory=/RuntimeDirectory=; the
# client as root with an empty capability bounding set on the lab's client1 configuration.
# Both with no_new_privs and no capabilities (setpriv), as CapabilityBoundingSet= and
# NoNewPrivileges= would. What systemd itself does (seccomp, mount namespaces) is not run here.
notify_run() {   # notify_run NAME HEALTHCHECK CMD...: checks READY=1, health, STOPPING=1, exit 0
	local name=$1 health=$2; shift 2
	local sock=/run/notify-$name.sock out=/tmp/notify-$name.out lis pid rc
	rm -f "$sock" "$out"
	socat -u UNIX-RECV:"$sock" STDOUT > "$out" & lis=$!
	PIDS+=("$lis")
	wait_for 5 test -S "$sock" || { bad "$name: notify socket"; return; }
	chmod 666 "$sock"
	NOTIFY_SOCKET=$sock "$@" > /tmp/notify-$name.log 2>&1 & pid=$!
	PIDS+=("$pid")
	if wait_for 30 grep -qa 'READY=1' "$out"; then ok "$name: READY=1 arrived"
	else bad "$name: no READY=1 within 30 s (got: $(tr '\n' ' ' < "$out"); log: $(tail -n 3 /tmp/notify-$name.log))"; fi
	check "$name: serving once ready ($health)" bash -c "$health"
	kill -TERM "$pid"
	wait "$pid"; rc=$?
	wait_for 5 grep -qa 'STOPPING=1' "$out" && ok "$name: STOPPING=1 on SIGTERM" || \
		bad "$name: no STOPPING=1 on SIGTERM (got: $(tr '\n' ' ' < "$out"))"
	check "$name: exit status 0 after SIGTERM (got $rc)" test "$rc" = 0
	kill "$lis" 2>/dev/null
}
echo "-- sd_notify readiness (Type=notify)"
nopriv="setpriv --no-new-privs --bounding-set=-all --inh-caps=-all"
# the hub: as its unit runs it
if prog_expected dske-hubd; then
install -d -m 0700 -o dske-hub -g dske-hub /var/lib/dske-hub
install -d -m 0755 -o dske-hub -g dske-hub /run/dske-hub
notify_run dske-hubd "curl -sf --unix-socket /run/dske-hub/hubd.sock http://localhost/v1/status >/dev/null && \
	test \"\$(stat -c %U:%G /run/dske-hub/hubd.sock)\" = dske-hub:dske" \
	unshare -n $nopriv --reuid=dske-hub --regid=dske-hub --init-groups \
	/usr/sbin/dske-hubd -c /etc/dske/hub.conf
check "the hub's state dir holds only files of dske-hub" \
	test -z "$(find /var/lib/dske-hub ! -user dske-hub)"
rm -rf /var/lib/dske-hub /run/dske-hub
fi
# the client: the lab's client1, restarted by hand with NOTIFY_SOCKET
if ! prog_expected dske-clientd || ! [ -f /tmp/lab/lab.env ]; then
	echo "   (dske-clientd: not in the tree yet, or no lab: readiness not run)"
	prog_expected dske-clientd && bad "dske-clientd readiness needs the lab, which did not start"
else
	. /tmp/lab/lab.env
	dske-lab stop-client --dir /tmp/lab client1 >/dev/null 2>&1
	notify_run dske-clientd "curl -sf --unix-socket $DSKE_CLIENT_client1_CTL http://localhost/v1/status >/dev/null" \
		$nopriv --groups "$(getent group dske | cut -d: -f3)" \
		/usr/sbin/dske-clientd -c "$DSKE_CLIENT_client1_CONF"
	dske-lab start-client --dir /tmp/lab client1 >/dev/null 2>&1
	check "client1 back in the lab, keys flow" key_pair /tmp/lab
fi
