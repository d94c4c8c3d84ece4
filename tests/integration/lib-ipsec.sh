# lib-ipsec.sh — two IPsec gateways for integration tests: network namespaces A and B joined by
# a veth pair (10.99.0.1 <-> 10.99.0.2, inner networks 10.98.1.1/32 and 10.98.2.1/32 on lo), a
# real strongSwan charon in each with its own strongswan.conf, /run, VICI socket and log, and
# userspace ESP (kernel-libipsec: this kernel has no ESP; strongswan-ppk.md section 11).
# Everything stays inside the namespaces this file creates; ipsec_cleanup (on EXIT) stops only
# the charons it started, by PID, deletes the namespaces and the directory.
#
#   ipsec_setup                      make $IPSEC_DIR, namespaces $NS_A $NS_B, veth, configs
#   ipsec_write_swanctl SIDE PPK_ID  swanctl.conf of gateway a or b (conn "dske", PSK + PPK)
#   ipsec_start_charon SIDE          start charon in its namespace, wait until VICI answers
#   ipsec_stop_charon SIDE
#   swan SIDE ARGS...                swanctl against that charon
#   vici_sock SIDE                   path of its VICI socket
#   charon_log SIDE                  path of its log
#   wait_log SIDE TEXT [N]           wait until the log holds more than N lines with TEXT
# Requires root, iproute2, strongswan-charon, strongswan-swanctl, libcharon-extra-plugins.

CHARON=${CHARON:-/usr/lib/ipsec/charon}
SWANCTL=${SWANCTL:-swanctl}
IPSEC_PSK="classical-psk-for-the-dske-test"
declare -A IPSEC_PID

ipsec_require() {
	local m
	[ "$(id -u)" = 0 ] || { echo "needs root"; return 1; }
	for m in ip "$SWANCTL" tcpdump; do
		command -v "$m" >/dev/null || { echo "missing $m (make deps)"; return 1; }
	done
	[ -x "$CHARON" ] || { echo "missing $CHARON (make deps)"; return 1; }
	[ -e /usr/lib/ipsec/plugins/libstrongswan-kernel-libipsec.so ] ||
		{ echo "missing kernel-libipsec (libcharon-extra-plugins)"; return 1; }
	if [ ! -e /dev/net/tun ]; then
		echo "SKIP: the kernel has no TUN device (/dev/net/tun): kernel-libipsec needs it"
		return 77
	fi
}

ipsec_write_ssconf() {  # SIDE
	local s=$1
	cat > "$IPSEC_DIR/$s/strongswan.conf" <<EOC
charon {
    load = random nonce openssl kdf hmac sha1 sha2 aes gcm kernel-libipsec kernel-netlink socket-default vici
    install_routes = no
    install_virtual_ip = no
    plugins {
        vici {
            socket = unix://$IPSEC_DIR/$s/charon.vici
        }
    }
    filelog {
        main {
            path = $IPSEC_DIR/$s/charon.log
            time_format = %T
            default = 1
            ike = 2
            cfg = 2
            flush_line = yes
        }
    }
}
swanctl {
    load = random openssl
}
EOC
}

ipsec_setup() {
	local s
	IPSEC_DIR=$(mktemp -d /tmp/dske-ipsec.XXXXXX)
	NS_A=dskeA-$$
	NS_B=dskeB-$$
	IPSEC_NS=""
	# a test that also uses lib.sh sets IPSEC_NO_TRAP=1 and calls ipsec_teardown from on_exit
	[ -n "${IPSEC_NO_TRAP:-}" ] || trap ipsec_cleanup EXIT
	ip netns add "$NS_A" && IPSEC_NS="$NS_A" || return 1
	ip netns add "$NS_B" && IPSEC_NS="$NS_A $NS_B" || return 1
	ip link add vA netns "$NS_A" type veth peer name vB netns "$NS_B" || return 1
	ip -n "$NS_A" addr add 10.99.0.1/24 dev vA
	ip -n "$NS_B" addr add 10.99.0.2/24 dev vB
	ip -n "$NS_A" addr add 10.98.1.1/32 dev lo
	ip -n "$NS_B" addr add 10.98.2.1/32 dev lo
	for s in "$NS_A" "$NS_B"; do ip -n "$s" link set lo up; done
	ip -n "$NS_A" link set vA up
	ip -n "$NS_B" link set vB up
	for s in a b; do
		mkdir -p "$IPSEC_DIR/$s/run" "$IPSEC_DIR/$s/swanctl"
		for d in x509 x509ca x509aa x509ocsp x509crl x509ac pubkey private rsa ecdsa bliss pkcs8 pkcs12; do
			mkdir -p "$IPSEC_DIR/$s/swanctl/$d"
		done
		ipsec_write_ssconf "$s"
	done
}

# ipsec_write_swanctl SIDE PPK_ID: the gateway's swanctl.conf. a initiates (its ppk_id is what
# it sends; the DSKE daemon overrides it with load-conn), b responds with ppk_id = *@<link>.
ipsec_write_swanctl() {
	local s=$1 ppk=$2 me peer lnet rnet lid rid
	if [ "$s" = a ]; then me=10.99.0.1 peer=10.99.0.2 lnet=10.98.1.0/24 rnet=10.98.2.0/24 lid=a.dske.test rid=b.dske.test
	else me=10.99.0.2 peer=10.99.0.1 lnet=10.98.2.0/24 rnet=10.98.1.0/24 lid=b.dske.test rid=a.dske.test; fi
	cat > "$IPSEC_DIR/$s/swanctl/swanctl.conf" <<EOC
connections {
    dske {
        version = 2
        local_addrs = $me
        remote_addrs = $peer
        proposals = aes256-sha256-x25519
        ppk_id = $ppk
        ppk_required = yes
        local {
            auth = psk
            id = $lid
        }
        remote {
            auth = psk
            id = $rid
        }
        children {
            dske-child {
                local_ts = $lnet
                remote_ts = $rnet
                mode = tunnel
                esp_proposals = aes256gcm16
            }
        }
    }
}
secrets {
    ike-ab {
        id-a = a.dske.test
        id-b = b.dske.test
        secret = "$IPSEC_PSK"
    }
}
EOC
}

swan() { local s=$1; shift; STRONGSWAN_CONF="$IPSEC_DIR/$s/strongswan.conf" "$SWANCTL" "$@" --uri "unix://$IPSEC_DIR/$s/charon.vici"; }
vici_sock() { echo "$IPSEC_DIR/$1/charon.vici"; }
charon_log() { echo "$IPSEC_DIR/$1/charon.log"; }
ns_of() { if [ "$1" = a ]; then echo "$NS_A"; else echo "$NS_B"; fi; }

ipsec_start_charon() {  # SIDE
	local s=$1 i
	STRONGSWAN_CONF="$IPSEC_DIR/$s/strongswan.conf" ip netns exec "$(ns_of "$s")" \
		sh -c 'mount --bind "$1" /run && exec "$2"' sh "$IPSEC_DIR/$s/run" "$CHARON" \
		>>"$IPSEC_DIR/$s/stdout" 2>&1 &
	IPSEC_PID[$s]=$!
	for i in $(seq 1 1000); do
		kill -0 "${IPSEC_PID[$s]}" 2>/dev/null || { cat "$IPSEC_DIR/$s/stdout"; return 1; }
		[ -S "$(vici_sock "$s")" ] && swan "$s" --stats >/dev/null 2>&1 && return 0
		sleep 0.01
	done
	return 1
}

ipsec_stop_pid() {
	local pid=$1 i
	[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 0
	kill -TERM "$pid" 2>/dev/null
	for i in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
	kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	return 0
}

ipsec_stop_charon() { ipsec_stop_pid "${IPSEC_PID[$1]:-}"; IPSEC_PID[$1]=""; }

wait_log() {  # SIDE TEXT [N]
	local i
	for i in $(seq 1 200); do
		[ "$(grep -c -F -- "$2" "$(charon_log "$1")" 2>/dev/null)" -gt "${3:-0}" ] && return 0
		sleep 0.05
	done
	return 1
}

ipsec_cleanup() {
	local rc=$?
	trap - EXIT
	ipsec_teardown "$rc"
	exit "$rc"
}

ipsec_teardown() {  # [RC]: stop the charons, delete the namespaces (logs shown when RC != 0)
	local rc=${1:-0} s
	[ -n "${IPSEC_EXTRA_CLEANUP:-}" ] && eval "$IPSEC_EXTRA_CLEANUP"
	for s in a b; do ipsec_stop_charon "$s"; done
	for s in $IPSEC_NS; do ip netns del "$s" 2>/dev/null; done
	if [ "$rc" != 0 ] && [ -n "${IPSEC_DIR:-}" ]; then
		for s in a b; do
			[ -f "$IPSEC_DIR/$s/charon.log" ] && { echo "---- charon $s log (tail)"; tail -n 30 "$IPSEC_DIR/$s/charon.log"; }
		done
	fi
	[ -n "${IPSEC_DIR:-}" ] && [ "${KEEP_LOGS:-0}" != 1 ] && rm -rf "$IPSEC_DIR"
	IPSEC_NS=""
	return 0
}
