# tests/packaging/lib.sh: helpers for the scenarios that run inside the throwaway root (chroot).
# /root/t holds: new/ and old/ (the .deb files), expect (tests/packaging/expect), version.
T=${T:-/root/t}
VERSION=$(cat $T/version)
FAILS=0
PIDS=()
ok() { echo "   ok   $*"; }
bad() { echo "   FAIL $*"; FAILS=$((FAILS + 1)); }
# check WHAT CMD...: CMD's output is shown only when it fails
check() {
	local what=$1 out; shift
	if out=$("$@" 2>&1); then ok "$what"
	else bad "$what${out:+ [$(head -c 400 <<< "$out" | tr '\n' ' ')]}"; fi
}
die() { echo "   FAIL $*"; exit 1; }
finish() {
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	if [ "$FAILS" = 0 ]; then echo "   all checks passed"; exit 0; fi
	echo "   $FAILS check(s) failed"; exit 1
}
# wait_for SECONDS CMD...: poll CMD every 0.1 s until it succeeds
wait_for() {
	local end=$(( $(date +%s) + $1 )); shift
	until "$@"; do
		[ "$(date +%s)" -lt "$end" ] || return 1
		sleep 0.1
	done
}
expect_lines() { grep "^$1 " $T/expect || true; }
prog_expected() { grep -q "^prog $1 " $T/expect; }
# install PKGS from DIR with apt (resolves Depends; the root caches the packages it needs)
apt_install() {
	local dir=$1; shift
	local args=() p
	for p in "$@"; do args+=("$dir/${p}_"*.deb); done
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q -o Dpkg::Options::=--force-confold \
		"${args[@]}" > /tmp/apt.log 2>&1 || { tail -n 30 /tmp/apt.log; return 1; }
}
# the files and directories of the root, outside virtual and scratch trees
snapshot() {
	find / -xdev \( -path /proc -o -path /sys -o -path /tmp -o -path /run -o -path /dev \
		-o -path /root/t \) -prune -o -print | sort
}
# status JSON of a node's control socket
node_status() { curl -sf --max-time 5 --unix-socket "$1" http://localhost/v1/status; }
