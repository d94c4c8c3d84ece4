#!/bin/bash
# dske-psrd: make writes two 0600 bundles with the same data and checksum; inspect shows it on
# both halves (text and JSON) and detects damage; bad sizes, names, directories and existing
# files are refused with a clear message, and nothing is overwritten.
set -u
BIN=${DSKE_BIN:-$PWD/build/bin}/dske-psrd
tmp=$(mktemp -d /tmp/dske-010.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

# run CMD...: expect a non-zero exit and stderr matching $expect
expect_error() {
	local expect=$1; shift
	if "$@" >"$tmp/cmd.out" 2>"$tmp/cmd.err"; then
		fail "succeeded: $*"
	elif ! grep -qE -- "$expect" "$tmp/cmd.err"; then
		fail "$*: stderr lacks /$expect/: $(cat "$tmp/cmd.err")"
	fi
}

mk() {  # mk OUTDIR [extra args]
	local out=$1; shift
	"$BIN" make --hub hub1 --hub-index 2 --hub-url http://127.0.0.1:7001 --client client1 \
		--sae client1_sae1 --sae ppk@client1 --size 1M --out "$out" "$@"
}

# --help labels the default entropy source computational; --version prints the version
"$BIN" --help | grep -q "computational" || fail "--help does not label the default source"
"$BIN" --version | grep -qE '^dske-psrd [0-9]' || fail "--version"

mkdir "$tmp/out"
mk "$tmp/out" >"$tmp/make.out" 2>"$tmp/make.err" || fail "make: $(cat "$tmp/make.err")"
hub=$tmp/out/hub1-client1.hub.bundle
client=$tmp/out/hub1-client1.client.bundle
for f in "$hub" "$client"; do
	[ -f "$f" ] || { fail "$f missing"; continue; }
	[ "$(stat -c %a "$f")" = 600 ] || fail "$f mode $(stat -c %a "$f")"
	# both streams of 1 MiB plus a header
	size=$(stat -c %s "$f")
	[ "$size" -gt $((2 * 1048576)) ] && [ "$size" -lt $((2 * 1048576 + 4096)) ] || fail "$f size $size"
done

"$BIN" inspect "$hub" >"$tmp/hub.txt" || fail "inspect hub"
"$BIN" inspect "$client" >"$tmp/client.txt" || fail "inspect client"
sum_hub=$(sed -n 's/^checksum: *blake2b-256:\([0-9a-f]\{64\}\) (verified)$/\1/p' "$tmp/hub.txt")
sum_client=$(sed -n 's/^checksum: *blake2b-256:\([0-9a-f]\{64\}\) (verified)$/\1/p' "$tmp/client.txt")
[ -n "$sum_hub" ] || fail "no checksum in inspect output"
[ "$sum_hub" = "$sum_client" ] || fail "checksums differ: $sum_hub $sum_client"
grep -q "checksum blake2b-256:$sum_hub" "$tmp/make.out" || fail "make did not print the checksum"
grep -qE '^role: +hub ' "$tmp/hub.txt" || fail "hub role"
grep -qE '^role: +client ' "$tmp/client.txt" || fail "client role"
grep -q 'client1_sae1 ppk@client1' "$tmp/hub.txt" || fail "SAE IDs not shown"
grep -q 'index 2, http://127.0.0.1:7001' "$tmp/hub.txt" || fail "hub index/url not shown"
grep -q 'computational' "$tmp/hub.txt" || fail "source label not shown"
# the same data in both halves: identical bytes after the header
cmp -s <(tail -c $((2 * 1048576)) "$hub") <(tail -c $((2 * 1048576)) "$client") ||
	fail "the halves hold different data"
# and the data is not all zeros (a broken generator would still pass the checksum)
[ "$(tail -c 1048576 "$hub" | tr -d '\0' | wc -c)" -gt 1000000 ] || fail "data looks non-random"

# JSON
if command -v jq >/dev/null; then
	"$BIN" inspect --json "$client" >"$tmp/client.json" || fail "inspect --json"
	[ "$(jq -r .checksum "$tmp/client.json")" = "$sum_hub" ] || fail "JSON checksum"
	[ "$(jq -r .role "$tmp/client.json")" = client ] || fail "JSON role"
	[ "$(jq -r '.saes | length' "$tmp/client.json")" = 2 ] || fail "JSON saes"
	[ "$(jq -r .c2h.length "$tmp/client.json")" = 1048576 ] || fail "JSON c2h length"
	[ "$(jq -r .hub_index "$tmp/client.json")" = 2 ] || fail "JSON hub_index"
fi

# existing files: refused, named, not overwritten
before=$(sha256sum "$hub" "$client")
expect_error "hub1-client1.hub.bundle exists" mk "$tmp/out"
[ "$(sha256sum "$hub" "$client")" = "$before" ] || fail "existing bundles changed"
# only the client half exists: still refused, naming it, and no hub half appears
mkdir "$tmp/half" && touch "$tmp/half/hub1-client1.client.bundle"
expect_error "hub1-client1.client.bundle exists" mk "$tmp/half"
[ -e "$tmp/half/hub1-client1.hub.bundle" ] && fail "half pair written"
[ -s "$tmp/half/hub1-client1.client.bundle" ] && fail "existing client half overwritten"

# bad sizes
for s in 0 abc 12Q -1 2G 65G 100000000000000000000; do
	expect_error "bad --size" "$BIN" make --hub hub1 --hub-index 1 --hub-url http://h:1 \
		--client c1 --sae s --size "$s" --out "$tmp/out"
done
# bad names and fields
expect_error "bad hub name 'Hub1'" "$BIN" make --hub Hub1 --hub-index 1 --hub-url http://h:1 \
	--client c1 --sae s --size 1M --out "$tmp/out"
expect_error "bad client name 'c 1'" "$BIN" make --hub hub9 --hub-index 1 --hub-url http://h:1 \
	--client 'c 1' --sae s --size 1M --out "$tmp/out"
expect_error "bad SAE ID 'a/b'" "$BIN" make --hub hub9 --hub-index 1 --hub-url http://h:1 \
	--client c1 --sae a/b --size 1M --out "$tmp/out"
expect_error "bad --hub-index '0'" "$BIN" make --hub hub9 --hub-index 0 --hub-url http://h:1 \
	--client c1 --sae s --size 1M --out "$tmp/out"
expect_error "bad --hub-url" "$BIN" make --hub hub9 --hub-index 1 --hub-url ftp://h \
	--client c1 --sae s --size 1M --out "$tmp/out"
expect_error "needs --offset" "$BIN" make --hub hub9 --hub-index 1 --hub-url http://h:1 \
	--client c1 --sae s --size 1M --block-id 2 --out "$tmp/out"
expect_error "make needs" "$BIN" make --hub hub9 --size 1M --out "$tmp/out"
ls "$tmp/out" | grep -q hub9 && fail "a refused make wrote a file"

# directories: missing, not a directory, not writable (as nobody)
expect_error "No such file or directory" mk "$tmp/missing"
expect_error "not a directory" mk "$hub"
if command -v setpriv >/dev/null && [ "$(id -u)" = 0 ]; then
	mkdir "$tmp/ro" && chmod 755 "$tmp" "$tmp/ro"
	expect_error "hub1-client1.hub.bundle: Permission denied" \
		setpriv --reuid=nobody --regid=nogroup --clear-groups "$BIN" make --hub hub1 \
		--hub-index 1 --hub-url http://h:1 --client client1 --sae s --size 4K --out "$tmp/ro"
	[ -z "$(ls "$tmp/ro")" ] || fail "files left in the unwritable directory"
fi

# a device or file as the source: its bytes are the data; a short source is an error
head -c $((2 * 4096)) /dev/urandom >"$tmp/pool"
mkdir "$tmp/src"
"$BIN" make --hub hub1 --hub-index 1 --hub-url http://h:1 --client client1 --sae s --size 4K \
	--source "$tmp/pool" --out "$tmp/src" >/dev/null || fail "make --source"
cmp -s <(tail -c 8192 "$tmp/src/hub1-client1.hub.bundle") "$tmp/pool" || fail "--source bytes not used"
"$BIN" inspect "$tmp/src/hub1-client1.hub.bundle" | grep -q "source: *$tmp/pool" || fail "source label"
mkdir "$tmp/short"
expect_error "short read" "$BIN" make --hub hub1 --hub-index 1 --hub-url http://h:1 \
	--client client1 --sae s --size 8K --source "$tmp/pool" --out "$tmp/short"
[ -z "$(ls "$tmp/short")" ] || fail "files left after a short source"

# a second block goes to its own files
"$BIN" make --hub hub1 --hub-index 2 --hub-url http://127.0.0.1:7001 --client client1 --sae s \
	--size 4K --block-id 2 --offset 1M --out "$tmp/out" >/dev/null || fail "block 2"
"$BIN" inspect --json "$tmp/out/hub1-client1.block2.hub.bundle" >"$tmp/b2.json" || fail "inspect block 2"
if command -v jq >/dev/null; then
	[ "$(jq -r '.block_id, .c2h.start, .h2c.start' "$tmp/b2.json" | tr '\n' ' ')" = "2 1048576 1048576 " ] ||
		fail "block 2 fields: $(cat "$tmp/b2.json")"
fi

# inspect detects damage: a flipped data byte, a truncation, a malformed header line
cp "$hub" "$tmp/damaged" && printf '\x01' | dd of="$tmp/damaged" bs=1 seek=$(( $(stat -c %s "$hub") - 1 )) conv=notrunc status=none
expect_error "does not match" "$BIN" inspect "$tmp/damaged"
head -c $(( $(stat -c %s "$hub") - 10 )) "$hub" >"$tmp/truncated"
expect_error "truncated or corrupted" "$BIN" inspect "$tmp/truncated"
sed '4s/hub-index: 2/hub-index: 0/' "$hub" >"$tmp/badline" 2>/dev/null
expect_error "line 4: malformed" "$BIN" inspect "$tmp/badline"
expect_error "No such file" "$BIN" inspect "$tmp/none"
expect_error "unknown command" "$BIN" frobnicate

[ "$fails" -eq 0 ] || { echo "$fails check(s) failed"; exit 1; }
echo "dske-psrd: all checks passed"
