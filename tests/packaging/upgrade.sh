#!/bin/bash
# Scenario "upgrade" (inside the throwaway root): install VERSION~upgrade0, run a lab (3 hubs,
# 2 clients) on the packaged programs, make keys, leave one key's shares waiting at the hubs,
# edit the conffiles; stop the nodes, upgrade to VERSION, start them again on the new programs:
# the conffile edits, the PSRD state (byte for byte across the upgrade itself), the marks (no
# stream goes back, none is reset) survive, the waiting key is still delivered, new keys flow.
. /root/t/lib.sh
LABSMOKE_RUN=no . /root/t/labsmoke.sh
OLD=${VERSION}~upgrade0
pkgs="dske-client dske-hub dske-tools"
for p in dske-hubd dske-clientd dske-lab; do
	prog_expected $p || { echo "   ($p not in the tree yet: upgrade test not run)"; bad "upgrade test needs $p"; finish; }
done
echo "-- install $OLD"
apt_install $T/old $pkgs || die "apt-get install of $OLD failed"
for p in $pkgs; do
	check "$p $OLD installed" test "$(dpkg-query -W -f='${Version}' $p)" = "$OLD"
done
check "dske-clientd --version says $OLD" grep -qF -- "$OLD" <<< "$(dske-clientd --version)"
D=/tmp/lab
lab_start $D || die "dske-lab start on $OLD failed"
. $D/lab.env
check "keys with $OLD" key_pair $D
# a key whose other end has not fetched it yet: its shares wait at the hubs across the upgrade
pending=$(curl -sf --max-time 30 --unix-socket "$DSKE_CLIENT_client1_ETSI_SOCK" \
	'http://localhost/api/v1/keys/client2_sae1/enc_keys?number=1&size=256')
pend_id=$(jq -r '.keys[0].key_ID' <<< "$pending")
pend_key=$(jq -r '.keys[0].key' <<< "$pending")
check "a key left for client2 to fetch after the upgrade ($pend_id)" test -n "$pend_key" -a "$pend_key" != null

# the administrator's edits of the conffiles
echo "; local edit before the upgrade" >> /etc/dske/client.conf
echo "; local edit before the upgrade" >> /etc/dske/hub.conf
conf_sums=$(sha256sum /etc/dske/client.conf /etc/dske/hub.conf /etc/request-key.d/dske.conf)

echo "-- stop the nodes, upgrade to $VERSION"
psrd_marks() {   # client hub tx_end rx_end tx_remaining rx_remaining, for every client and hub
	local c
	for c in $DSKE_CLIENTS; do
		node_status "$D/$c/ctl.sock" | jq -r --arg c "$c" \
			'.hubs[] | "\($c) \(.name) \(.psrd.tx_end) \(.psrd.rx_end) \(.psrd.tx_remaining) \(.psrd.rx_remaining)"'
	done
}
before=$(psrd_marks)
check "PSRD marks read from both clients (${before//$'\n'/; })" test "$(wc -l <<< "$before")" = 6
for c in $DSKE_CLIENTS; do dske-lab stop-client --dir $D $c >/dev/null; done
for h in $DSKE_HUBS; do dske-lab stop-hub --dir $D $h >/dev/null; done
state_sums=$(cd $D && find . -path './*/state/*' -type f ! -name lock -exec sha256sum {} + | sort -k2)
check "state files recorded ($(wc -l <<< "$state_sums"))" test "$(wc -l <<< "$state_sums")" -gt 10

apt_install $T/new $pkgs || die "upgrade to $VERSION failed"
for p in $pkgs; do
	check "$p upgraded to $VERSION" test "$(dpkg-query -W -f='${Version}' $p)" = "$VERSION"
done
check "dske-clientd --version says $VERSION" grep -qF -- "$VERSION ($OLD)" <<< "$(dske-clientd --version) ($OLD)"
check "conffiles kept with the local edits" test "$(sha256sum /etc/dske/client.conf /etc/dske/hub.conf /etc/request-key.d/dske.conf)" = "$conf_sums"
check "no .dpkg-new/.dpkg-dist left beside them" test -z "$(find /etc/dske /etc/request-key.d -name '*.dpkg-*')"
check "/etc/dske/hub.conf still root:dske-hub 0640" test "$(stat -c '%a %U:%G' /etc/dske/hub.conf)" = "640 root:dske-hub"
check "user dske-hub still there" getent passwd dske-hub
check "PSRD state untouched by the upgrade (byte for byte)" \
	test "$(cd $D && find . -path './*/state/*' -type f ! -name lock -exec sha256sum {} + | sort -k2)" = "$state_sums"

echo "-- start the nodes on $VERSION"
for h in $DSKE_HUBS; do check "start-hub $h" dske-lab start-hub --dir $D $h; done
for c in $DSKE_CLIENTS; do check "start-client $c" dske-lab start-client --dir $D $c; done
. $D/lab.env
check "hub1 runs the new program" test "$(readlink /proc/$DSKE_HUB_hub1_PID/exe)" = /usr/sbin/dske-hubd
after=$(psrd_marks)
marks_ok() {   # same streams (ends), and no stream went back (remaining never grew)
	local c h te re tr rr c2 h2 te2 re2 tr2 rr2
	while read -r c h te re tr rr <&3 && read -r c2 h2 te2 re2 tr2 rr2 <&4; do
		[ "$c $h $te $re" = "$c2 $h2 $te2 $re2" ] || { echo "stream changed: $c $h $te $re -> $c2 $h2 $te2 $re2"; return 1; }
		[ "$tr2" -le "$tr" ] && [ "$rr2" -le "$rr" ] || { echo "went back: $c $h tx $tr -> $tr2, rx $rr -> $rr2"; return 1; }
	done 3<<< "$before" 4<<< "$after"
}
check "PSRD marks survive (same ends, nothing reused: ${after//$'\n'/; })" marks_ok
fetch_pending() {
	local dec
	dec=$(curl -sf --max-time 30 --unix-socket "$DSKE_CLIENT_client2_ETSI_SOCK" \
		"http://localhost/api/v1/keys/client1_sae1/dec_keys?key_ID=$pend_id") || {
		curl -s --unix-socket "$DSKE_CLIENT_client2_ETSI_SOCK" \
			"http://localhost/api/v1/keys/client1_sae1/dec_keys?key_ID=$pend_id"; return 1; }
	[ "$(jq -r '.keys[0].key' <<< "$dec")" = "$pend_key" ]
}
check "the key made before the upgrade is delivered after it, same bytes" fetch_pending
check "keys flow on $VERSION" key_pair $D
check "and again" key_pair $D
dske-lab stop --dir $D >/dev/null 2>&1
finish
