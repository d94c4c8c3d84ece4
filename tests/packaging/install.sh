#!/bin/bash
# Scenario "install" (inside the throwaway root): install, inspect, run, purge.
. /root/t/lib.sh
cd /root/t
snapshot > /tmp/before.list
pkgs="dske-client dske-hub dske-tools"
echo "-- install $pkgs $VERSION"
apt_install $T/new $pkgs || die "apt-get install of the packages failed"
for p in $pkgs; do
	check "$p $VERSION installed" test "$(dpkg-query -W -f='${Status} ${Version}' $p)" = "install ok installed $VERSION"
done

echo "-- files, modes, owners"
while read -r _ name pkg path; do
	check "$pkg: $path 0755 root:root" test "$(stat -c '%a %U:%G' "$path" 2>/dev/null)" = "755 root:root"
	check "$path belongs to $pkg" test "$(dpkg -S "$path" 2>/dev/null | cut -d: -f1)" = "$pkg"
	check "$name --version says $VERSION" grep -q -- "$VERSION" <<< "$("$path" --version 2>&1)"
	check "$name --help exits 0" "$path" --help
	check "$name: every shared library resolves" bash -c "! ldd $path | grep -q 'not found'"
	check "$name has a man page (man -w)" man -w "$name"
done < <(expect_lines prog)
while read -r _ page pkg path; do
	check "$pkg: man page $path.gz" test -f "$path.gz"
	sec=${path##*.}
	check "man -w $sec $page finds it" test "$(man -w "$sec" "$page" 2>/dev/null)" = "$path.gz"
	check "$path.gz belongs to $pkg" test "$(dpkg -S "$path.gz" 2>/dev/null | cut -d: -f1)" = "$pkg"
done < <(expect_lines man)
while read -r _ path pkg own mode; do
	check "$path $mode $own" test "$(stat -c '%a %U:%G' "$path" 2>/dev/null)" = "$mode $own"
	check "$path is a conffile of $pkg" grep -q "^ $path " <<< "$(dpkg-query -W -f='${Conffiles}\n' "$pkg")"
done < <(expect_lines conf)
check "nothing unclaimed in expect (every program and page has a package)" \
	bash -c "! grep -q unclaimed $T/expect"

echo "-- users and groups (sysusers)"
check "group dske exists" getent group dske
if prog_expected dske-hubd; then
	IFS=: read -r _ _ uid gid _ home shell <<< "$(getent passwd dske-hub)"
	check "user dske-hub exists, a system uid ($uid)" test -n "$uid" -a "${uid:-1000}" -lt 1000
	check "dske-hub: home /var/lib/dske-hub, shell /usr/sbin/nologin" test "$home $shell" = "/var/lib/dske-hub /usr/sbin/nologin"
	check "dske-hub is in group dske" grep -qw dske <<< "$(id -nG dske-hub)"
	check "dske-hub has no password (locked)" grep -q '^dske-hub:[!*]' /etc/shadow
fi
check "sysusers files" test -f /usr/lib/sysusers.d/dske-client.conf -a -f /usr/lib/sysusers.d/dske-hub.conf

echo "-- systemd units"
for u in dske-hubd dske-clientd; do
	f=/lib/systemd/system/$u.service
	check "$f" test -f "$f"
	check "$u not enabled or started on install (needs PSRD first)" \
		test ! -e /etc/systemd/system/multi-user.target.wants/$u.service
	d=${u%d}; d=${d#dske-}
	prog_expected "$u" || { echo "   ($u: not in the tree yet, verify skipped)"; continue; }
	# a Documentation= page of a program not in the tree yet is the only complaint tolerated
	out=$(systemd-analyze verify "$f" 2>&1 | while read -r l; do
		m=$(sed -n "s/.*Command 'man \([^(]*\)(.*/\1/p" <<< "$l")
		[ -n "$m" ] && ! grep -q "^man $m " $T/expect && continue
		echo "$l"; done)
	check "systemd-analyze verify $u.service: no complaint${out:+ (got: $out)}" test -z "$out"
	check "$u.service: Type=notify" grep -qx 'Type=notify' "$f"
	check "$u.service: StateDirectory 0700" grep -qx 'StateDirectoryMode=0700' "$f"
	check "$u.service: Documentation=man: pages exist" bash -c "for m in \$(sed -n 's/^Documentation=//p' $f); do \
		p=\${m#man:}; n=\${p%(*}; s=\${p#*(}; s=\${s%)}; man -w \$s \$n >/dev/null 2>&1 || \
		! grep -q \"^man \$n \" $T/expect || exit 1; done"
done
check "dske-hubd.service runs as dske-hub with no capabilities" \
	bash -c "grep -qx User=dske-hub /lib/systemd/system/dske-hubd.service && grep -qx CapabilityBoundingSet= /lib/systemd/system/dske-hubd.service"

echo "-- shipped configurations pass --check-config"
prog_expected dske-hubd && check "dske-hubd --check-config -c /etc/dske/hub.conf" \
	dske-hubd --check-config -c /etc/dske/hub.conf
prog_expected dske-clientd && check "dske-clientd --check-config -c /etc/dske/client.conf" \
	dske-clientd --check-config -c /etc/dske/client.conf

if prog_expected dske-hubd && prog_expected dske-clientd && prog_expected dske-lab; then
	. $T/labsmoke.sh
else
	echo "-- lab smoke: the daemons or dske-lab are not in the tree yet"
fi
. $T/readiness.sh
[ ! -f /tmp/lab/lab.env ] || dske-lab stop --dir /tmp/lab >/dev/null 2>&1

echo "-- purge"
# a daemon ran and made state (or make some): purge must remove it too
mkdir -p /var/lib/dske-hub /var/lib/dske-client && touch /var/lib/dske-hub/x /var/lib/dske-client/x
DEBIAN_FRONTEND=noninteractive apt-get purge -y -q $pkgs > /tmp/purge.log 2>&1 || { tail /tmp/purge.log; bad "apt-get purge"; }
DEBIAN_FRONTEND=noninteractive apt-get autoremove --purge -y -q > /dev/null 2>&1
for p in $pkgs; do
	check "$p purged" test -z "$(dpkg-query -W -f='${Status}' $p 2>/dev/null | grep -v not-installed)"
done
snapshot > /tmp/after.list
# What policy keeps: the system user and groups (policy 9.2.2; /etc/passwd etc. are modified, not
# new), dpkg/apt's own records and logs, man-db's index cache.
left=$(comm -13 /tmp/before.list /tmp/after.list | grep -Ev \
	'^/var/(lib/dpkg|lib/apt|log|cache/apt|cache/man|cache/debconf|cache/ldconfig|lib/systemd/deb-systemd)(/|$)|^/etc/(passwd|group|shadow|gshadow|subuid|subgid)-?$|^/etc/ld\.so\.cache$' || true)
check "nothing left after purge${left:+: $(echo $left)}" test -z "$left"
check "group dske and user dske-hub kept (policy)" bash -c "getent group dske >/dev/null && { ! grep -q '^prog dske-hubd ' $T/expect || getent passwd dske-hub >/dev/null; }"
finish
