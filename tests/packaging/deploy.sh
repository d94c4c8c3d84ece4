#!/bin/bash
# Scenario "deploy": the README's deployment ("Deploying: three hubs, two gateways"), step by step
# with its commands, on five throwaway roots (hub1 hub2 hub3 gw1 gw2) in a private network
# namespace where 127.0.0.11-13 stand for hub1-3.example.net. Run by tests/packaging/in-ns
# outside the roots: deploy.sh BASE WORK VERSION. "systemctl enable --now" is emulated from the
# unit file itself (not by systemd: no PID 1 here): StateDirectory=/RuntimeDirectory= with their
# modes and owners, User=/Group=/SupplementaryGroups=, UMask=, an empty CapabilityBoundingSet=
# and NoNewPrivileges= (setpriv), Type=notify (READY=1 awaited on NOTIFY_SOCKET), ExecStart=.
if [ -z "${DEPLOY_NETNS:-}" ]; then
	DEPLOY_NETNS=1 exec unshare -n "$0" "$@"
fi
base=$1 work=$2 version=$3
T=$work/deploy-t
mkdir -p "$T"
echo "$version" > "$T/version"
. "$(dirname "$0")/lib.sh"
ip link set lo up
arch=$(dpkg --print-architecture)
hosts="hub1 hub2 hub3 gw1 gw2"
root() { echo "$work/deploy/$1/root"; }
on() {   # on HOST CMD: a root shell command on that host
	local h=$1; shift
	chroot "$(root "$h")" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 \
		/bin/bash -c "cd /root && $*"
}
for h in $hosts; do
	d=$work/deploy/$h R=$(root "$h")
	mkdir -p "$d/upper" "$d/ovl" "$R"
	mount -t overlay overlay -o "lowerdir=$base,upperdir=$d/upper,workdir=$d/ovl" "$R" || die "overlay $h"
	mount -t proc proc "$R/proc"
	mount -t tmpfs -o mode=1777 tmpfs "$R/tmp"
	mount -t tmpfs -o mode=755 tmpfs "$R/run"
	mkdir -p "$R/run/lock" "$R/media/psrd"
	cp "$work"/new/*.deb "$R/root/"
	printf '127.0.0.11 hub1.example.net\n127.0.0.12 hub2.example.net\n127.0.0.13 hub3.example.net\n' >> "$R/etc/hosts"
	echo "$h" > "$R/etc/hostname"
done

# systemctl enable --now UNIT on HOST, from the unit file
start_unit() {
	local h=$1 name=$2 R u sock out user group sd sdm rd rdm sg um ex priv
	R=$(root "$h") u=$(root "$h")/lib/systemd/system/$2.service
	get() { sed -n "s/^$1=//p" "$u" | tail -n 1; }
	user=$(get User) group=$(get Group) sd=$(get StateDirectory) sdm=$(get StateDirectoryMode)
	rd=$(get RuntimeDirectory) rdm=$(get RuntimeDirectoryMode) sg=$(get SupplementaryGroups)
	um=$(get UMask) ex=$(get ExecStart)
	[ "$(get Type)" = notify ] && [ "$(get NoNewPrivileges)" = yes ] && grep -qx 'CapabilityBoundingSet=' "$u" || {
		bad "$h: $name.service is not Type=notify, NoNewPrivileges=yes, CapabilityBoundingSet= (empty)"; return 1; }
	on "$h" "install -d -m ${sdm:-0755} -o ${user:-root} -g ${group:-root} /var/lib/$sd && \
		install -d -m ${rdm:-0755} -o ${user:-root} -g ${group:-root} /run/$rd" || return 1
	priv="setpriv --no-new-privs --bounding-set=-all --inh-caps=-all"
	if [ -n "$user" ]; then priv="$priv --reuid=$user --regid=${group:-$user} --init-groups"
	elif [ -n "$sg" ]; then priv="$priv --groups=$(on "$h" "getent group $sg" | cut -d: -f3)"; fi
	sock=/run/notify-$name.sock out=$work/deploy/$h/notify-$name
	socat -u UNIX-RECV:"$R$sock" STDOUT > "$out" 2>/dev/null < /dev/null &
	PIDS+=($!)
	wait_for 5 test -S "$R$sock" && chmod 666 "$R$sock"
	chroot "$R" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin NOTIFY_SOCKET=$sock \
		$priv /bin/sh -c "umask ${um:-0022}; exec $ex" > "$work/deploy/$h/$name.log" 2>&1 < /dev/null &
	PIDS+=($!)
	wait_for 30 grep -qa READY=1 "$out" || { echo "$(tail -n 5 "$work/deploy/$h/$name.log")"; return 1; }
}

echo "-- 2. install"
for h in hub1 hub2 hub3; do
	check "$h: apt install dske-hub dske-tools" on $h "apt_out=\$(DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
		./dske-hub_${version}_$arch.deb ./dske-tools_${version}_$arch.deb 2>&1) || { echo \"\$apt_out\" | tail -n 20; false; }"
done
for h in gw1 gw2; do
	check "$h: apt install dske-client dske-tools" on $h "apt_out=\$(DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
		./dske-client_${version}_$arch.deb ./dske-tools_${version}_$arch.deb 2>&1) || { echo \"\$apt_out\" | tail -n 20; false; }"
done

echo "-- 3. hubs: configure and start"
for i in 1 2 3; do
	h=hub$i
	on $h "sed -i 's/^name = .*/name = hub$i/' /etc/dske/hub.conf"
	# three hosts on one network namespace: each hub listens on its own address
	on $h "sed -i 's/^listen = .*/listen = 127.0.0.1$i:7001/' /etc/dske/hub.conf"
	check "$h: dske-hubd --check-config" on $h "dske-hubd --check-config | grep -q 'hub hub$i'"
	# not through check: start_unit leaves processes behind (check's output capture would wait on them)
	if start_unit $h dske-hubd; then ok "$h: systemctl enable --now dske-hubd (emulated from the unit: READY=1)"
	else bad "$h: dske-hubd did not start (READY=1)"; fi
done

echo "-- 4. gateways: configure and start"
on gw2 "sed -i -e 's/^name = gw1/name = gw2/' -e 's/^\[peer gw2\]/[peer gw1]/' \
       -e 's/^saes = gw2_sae1/saes = gw1_sae1/' -e 's/^\[sae gw1_sae1\]/[sae gw2_sae1]/' \
       /etc/dske/client.conf"
for h in gw1 gw2; do
	check "$h: dske-clientd --check-config" on $h "dske-clientd --check-config | grep -q 'client $h, 3 hubs, k = 2'"
	if start_unit $h dske-clientd; then ok "$h: systemctl enable --now dske-clientd (emulated from the unit: READY=1)"
	else bad "$h: dske-clientd did not start (READY=1)"; fi
done

echo "-- 5. provision PSRD (gw1 stands in for the offline provisioning machine)"
check "dske-psrd make: 6 bundle pairs" on gw1 'mkdir -m 700 /root/psrd
for g in gw1 gw2; do for i in 1 2 3; do
  dske-psrd make --hub hub$i --hub-index $i --hub-url http://hub$i.example.net:7001 \
      --client $g --sae ${g}_sae1 --size 4M --out /root/psrd || exit 1
done; done
dske-psrd inspect /root/psrd/*.bundle >/dev/null && test $(ls /root/psrd/*.bundle | wc -l) = 12'
P=$(root gw1)/root/psrd
for i in 1 2 3; do cp "$P"/hub$i-gw?.hub.bundle "$(root hub$i)/media/psrd/"; done
for g in gw1 gw2; do cp "$P"/hub?-$g.client.bundle "$(root $g)/media/psrd/"; done
for i in 1 2 3; do
	check "hub$i: dskectl --hub import (2 bundles)" on hub$i 'for b in /media/psrd/hub'$i'-*.hub.bundle; do dskectl --hub import $b || exit 1; done'
done
for g in gw1 gw2; do
	check "$g: dskectl import (3 bundles)" on $g 'for b in /media/psrd/hub*-'$g'.client.bundle; do dskectl import $b || exit 1; done'
done
for h in $hosts; do on $h 'shred -u /media/psrd/*.bundle; rm -rf /root/psrd'; done

echo "-- 6. verify"
check "hub2: dskectl --hub status" on hub2 'dskectl --hub status'
check "hub2: both gateways registered" on hub2 "dskectl --hub --json status | jq -e '[.clients[].name] | sort == [\"gw1\",\"gw2\"]'"
hubs_up() { on "$1" "dskectl --json status | jq -e '[.hubs[] | select(.up)] | length == 3'" >/dev/null; }
check "gw1: 3 of 3 hubs up" wait_for 30 hubs_up gw1
check "gw2: 3 of 3 hubs up" wait_for 30 hubs_up gw2
check "gw1: dskectl status" on gw1 'dskectl status'
pair=$(on gw1 'dskectl get-key --sae gw1_sae1 gw2_sae1' 2>&1)
read -r id hex <<< "$pair"
check "gw1: dskectl get-key --sae gw1_sae1 gw2_sae1 -> KEY_ID KEY_HEX ($pair)" test -n "$id" -a "${#hex}" = 64
other=$(on gw2 "dskectl get-key-with-ids --sae gw2_sae1 gw1_sae1 $id" 2>&1)
check "gw2: dskectl get-key-with-ids gives the same key" test "$other" = "$id $hex"
check "the three hub processes run as dske-hub" test "$(on hub1 "ps -o user= -C dske-hubd" | sort | uniq -c | tr -s " ")" = " 3 dske-hub"
check "the state dirs are 0700" on hub1 'test "$(stat -c %a:%U /var/lib/dske-hub)" = 700:dske-hub'
finish
