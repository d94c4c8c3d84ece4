# lib-ppk.sh — the PPK lab for the 07x tests: a DSKE lab (dske-lab: 3 hubs, k = 2, two clients,
# each with a PPK sink SAE clientX_ppk) on the host's loopback, and two strongSwan gateways in
# network namespaces (lib-ipsec.sh). client1 serves gateway a (the IKE initiator: it owns the
# connection "dske" and makes the PPKs), client2 serves gateway b (the responder, ppk_id =
# *@ab.dske in its swanctl.conf). The daemons reach charon through the VICI unix sockets.
#
#   ppk_lab_start [CLIENT1_PEER_SETTING...]   everything up; extra "key = value" lines for
#                                             client1's [peer client2] (e.g. "ppk_roll = 300ms")
#   ppk_json C [FILTER]         GET /v1/ppk of client C, through jq FILTER (default .)
#   ppk_roll [JSON]             POST /v1/ppk/roll on client1; sets CTL_CODE / CTL_BODY
#   ppk_current                 client1's current PPK_ID
#   sa_ppk SIDE                 0 iff SIDE's charon has an ESTABLISHED dske SA with ppk=yes
#   creds SIDE                  the dske: credential ids loaded in SIDE's charon, sorted
#   vici SIDE ARGS...           build/tests/tools/dske-vici against SIDE's charon
# Requires root (namespaces). Sources lib.sh and lib-ipsec.sh.

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/lib-ipsec.sh"
PPK_LINK=ab.dske
VICI_TOOL=$LIB_ROOT/$BUILD/tests/tools/dske-vici

vici() { local s=$1; shift; "$VICI_TOOL" "$(vici_sock "$s")" "$@"; }

# a's connection: the file dske-clientd reads (ppk_conn_file), not in a's swanctl.conf
ppk_write_confs() {
	cat > "$IPSEC_DIR/a/dske-conn.conf" <<EOC
# the IKE initiator's connection, owned by dske-clientd (ppk_conn_file); ppk_id is set by it
connections {
    dske {
        version = 2
        local_addrs = 10.99.0.1
        remote_addrs = 10.99.0.2
        proposals = aes256-sha256-x25519
        ppk_required = yes
        local {
            auth = psk
            id = a.dske.test
        }
        remote {
            auth = psk
            id = b.dske.test
        }
        children {
            dske-child {
                local_ts = 10.98.1.0/24
                remote_ts = 10.98.2.0/24
                mode = tunnel
                esp_proposals = aes256gcm16
            }
        }
    }
}
EOC
	cat > "$IPSEC_DIR/a/swanctl/swanctl.conf" <<EOC
# gateway a: only the classical PSK; the connection is dske-clientd's
secrets {
    ike-ab {
        id-a = a.dske.test
        id-b = b.dske.test
        secret = "$IPSEC_PSK"
    }
}
EOC
	ipsec_write_swanctl b "*@$PPK_LINK"
}

ppk_lab_start() {
	local extra f1 f2 l
	[ "$(id -u)" = 0 ] || skip "needs root (network namespaces)"
	ipsec_require || { rc=$?; [ $rc = 77 ] && exit 77; fail "ipsec prerequisites"; }
	[ -x "$VICI_TOOL" ] || fail "no $VICI_TOOL (make test-build)"
	IPSEC_NO_TRAP=1
	ipsec_setup || fail "namespaces"
	on_exit 'ipsec_teardown "$rc"'
	ppk_write_confs
	ipsec_start_charon a || fail "charon a"
	ipsec_start_charon b || fail "charon b"
	for s in a b; do
		swan "$s" --load-all --file "$IPSEC_DIR/$s/swanctl/swanctl.conf" > /dev/null || fail "load-all $s"
	done
	f1=$IPSEC_DIR/client1.append
	f2=$IPSEC_DIR/client2.append
	{
		echo "[ppk]"
		echo "sae = client1_ppk"
		echo
		echo "[peer client2]"
		echo "ppk = strongswan"
		echo "ppk_sae = client2_ppk"
		echo "ppk_link = $PPK_LINK"
		echo "ppk_vici = $(vici_sock a)"
		echo "ppk_conn_file = $IPSEC_DIR/a/dske-conn.conf"
		echo "ppk_conn = dske"
		echo "ppk_child = dske-child"
		echo "ppk_check = 200ms"
		for l in "$@"; do echo "$l"; done
	} > "$f1"
	{
		echo "[ppk]"
		echo "sae = client2_ppk"
		echo
		echo "[peer client1]"
		echo "ppk = strongswan"
		echo "ppk_sae = client1_ppk"
		echo "ppk_link = $PPK_LINK"
		echo "ppk_vici = $(vici_sock b)"
		echo "ppk_check = 200ms"
	} > "$f2"
	lab_start --hubs 3 -k 2 --sae-extra ppk --client-append-to client1 "$f1" \
		--client-append-to client2 "$f2"
}

ppk_json() { ctl "$(client_ctl "$1")" GET /v1/ppk > /dev/null || return 1; jq -r "${2:-.}" <<< "$CTL_BODY"; }
ppk_roll() { ctl "$(client_ctl client1)" POST /v1/ppk/roll -H 'Content-Type: application/json' --data-binary "${1:-{\}}" > /dev/null; }
ppk_current() { ppk_json client1 '.peers[0].current'; }
sa_ppk() { local out; out=$(vici "$1" list-sas dske 2>/dev/null) || return 1; grep -q "ESTABLISHED ppk=yes" <<< "$out"; }
creds() { vici "$1" shared-list dske: | sort; }
# ppk_count C [STATE]: how many PPKs client C holds (in STATE: made, ready, current, old)
ppk_count() { ppk_json "$1" "[.peers[0].ppks[] | select(\"${2:-}\" == \"\" or .state == \"${2:-}\")] | length"; }
