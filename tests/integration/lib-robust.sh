# tests/integration/lib-robust.sh — helpers of the robustness tests (1NN-*.sh), on top of lib.sh.
#
#   pair CI SI CR SR [SIZE]   one key made by client CI for its SAE SI with peer SAE SR, then
#                             fetched by client CR for SR with Get key with key IDs; compares
#                             the two. Sets PAIR_ID, PAIR_KEY, PAIR_MS (both calls, in ms);
#                             returns 0 same key, 1 initiator refused (ETSI_CODE/BODY tell why),
#                             2 responder refused, 3 MISMATCH (also counted in MISMATCHES)
#   pairs N CI SI CR SR       N pairs, fail on the first that does not complete
#   audit_check DIR           every NAME.audit under DIR: no offset handed out twice; prints the
#                             number of allocations checked (fails with the overlap otherwise)
#   client_hub C H FILTER     jq FILTER on client C's status entry for hub H
#   hub_client H C FILTER     jq FILTER on hub H's status entry for client C
#   now_ms                    milliseconds (monotonic enough for durations)
#   daemons_alive             fail unless every daemon of the lab is still running

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

MISMATCHES=0
now_ms() { local t=${EPOCHREALTIME/./}; echo $((t / 1000)); }

pair() {
	local ci=$1 si=$2 cr=$3 sr=$4 size=${5:-} t0 k2
	PAIR_ID=""; PAIR_KEY=""
	t0=$(now_ms)
	etsi_get_key "$ci" "$si" "$sr" 1 $size > /dev/null || return 1
	PAIR_ID=$(json '.keys[0].key_ID') || return 1
	PAIR_KEY=$(json '.keys[0].key') || return 1
	etsi_get_key_with_ids "$cr" "$sr" "$si" "$PAIR_ID" > /dev/null || return 2
	PAIR_MS=$(($(now_ms) - t0))
	k2=$(json '.keys[0].key') || return 2
	if [ "$k2" != "$PAIR_KEY" ] || [ "$(json '.keys[0].key_ID')" != "$PAIR_ID" ]; then
		MISMATCHES=$((MISMATCHES + 1))
		echo "MISMATCH: key $PAIR_ID: $ci gave one key, $cr another" >&2
		return 3
	fi
	return 0
}

pairs() {
	local n=$1 i r
	shift
	for ((i = 1; i <= n; i++)); do
		pair "$@"
		r=$?
		case $r in
		0) ;;
		1) fail "pair $i ($1 -> $3): Get key answered $ETSI_CODE: $ETSI_BODY";;
		2) fail "pair $i ($1 -> $3): Get key with key IDs for $PAIR_ID answered $ETSI_CODE: $ETSI_BODY";;
		*) fail "pair $i ($1 -> $3): the responder delivered another key than the initiator";;
		esac
	done
}

# audit_check DIR: NAME.audit files hold one "off len" line per allocation of a sender stream,
# appended before the bytes are handed out; no two allocations of a stream may overlap.
audit_check() {
	local f out total=0 n
	for f in $(find "$1" -name '*.audit' | sort); do
		out=$(sort -n -k1,1 "$f" | awk -v f="$f" '
			NF != 2 || $1 !~ /^[0-9]+$/ || $2 !~ /^[0-9]+$/ { print "bad line " NR ": " $0; exit 1 }
			NR > 1 && $1 < end { printf "offsets %d..%d handed out twice (overlaps %d..%d)\n",
				$1, $1 + $2, pstart, end; exit 1 }
			{ pstart = $1; end = $1 + $2 } END { print NR }') ||
			fail "audit $f: $out"
		total=$((total + out))
	done
	echo "$total"
}

client_hub() { client_status "$1" | jq -er --arg h "$2" ".hubs[] | select(.name == \$h) | $3"; }
hub_client() { hub_status "$1" | jq -er --arg c "$2" ".clients[] | select(.name == \$c) | $3"; }

daemons_alive() {
	local n pid
	lab_reload
	for n in $DSKE_HUBS; do
		pid=$(hub_pid "$n")
		[ -n "$pid" ] && [ -e "/proc/$pid" ] || fail "$n is not running"
	done
	for n in $DSKE_CLIENTS; do
		pid=$(client_pid "$n")
		[ -n "$pid" ] && [ -e "/proc/$pid" ] || fail "$n is not running"
	done
}
