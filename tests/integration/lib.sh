# tests/integration/lib.sh — helpers every integration test sources (bash).
#
#   #!/bin/bash
#   . "$(dirname "$0")/lib.sh"
#   lab_start                       # 5 hubs, 2 clients, k = 3 (any dske-lab start option works)
#   etsi_get_key client1 client1_sae1 client2_sae1 || fail "Get key: $ETSI_CODE $ETSI_BODY"
#   id=$(json '.keys[0].key_ID')
#   etsi_get_key_with_ids client2 client2_sae1 client1_sae1 "$id" || fail "..."
#   pass "key pair"
#
# Environment: DSKE_BIN (programs; default <repo>/$BUILD/bin, BUILD default build).
# Everything a test starts is stopped, by PID, when it exits (trap EXIT), and its temporary
# directories are removed; the test's exit status is kept. Add more cleanup with on_exit.
#
# Reporting
#   fail MSG...           print "FAIL: <test>: MSG" and exit 1
#   pass MSG...           print "ok: MSG" (one checked step; the test goes on)
#   skip MSG...           print "SKIP: <test>: MSG" and exit 77 (only for a missing kernel feature)
#   note MSG...           print "   MSG"
#   assert_eq A B MSG     fail unless A = B;  assert_ne A B MSG;  assert_match STRING REGEX MSG
#   on_exit CMD...        run CMD (eval'd) at exit, before the labs are stopped
#
# Waiting (never a bare sleep)
#   wait_for [-t SEC] CMD...   run CMD every 20 ms until it succeeds; 1 after SEC (default 10)
#   pid_gone PID               true once PID no longer exists (or is a zombie)
#   procs_under DIR            PIDs of live processes with an argument inside DIR/ (a lab's
#                              daemons: --config DIR/node/...)
#
# Labs (dske-lab, see dske-lab(1))
#   lab_start [OPTIONS]   mktemp dir, dske-lab start --dir DIR OPTIONS, source DIR/lab.env;
#                         LAB_DIR = that dir; call again for a second lab (LAB_DIRS lists all;
#                         the last one's lab.env is the one sourced)
#   lab_use DIR           source DIR/lab.env (switch between labs)
#   lab_reload            source $LAB_DIR/lab.env again (lab_*_hub/client do it for you)
#   lab_stop              dske-lab stop (the labs are stopped at exit anyway)
#   lab_stop_hub NAME [--kill]      lab_start_hub NAME [--fault corrupt-shares]
#   lab_stop_client NAME [--kill]   lab_start_client NAME
#   Variables after lab_start: everything in lab.env (see dske-lab(1)):
#     DSKE_LAB_DIR DSKE_CA DSKE_HUBS DSKE_CLIENTS DSKE_K
#     DSKE_HUB_<hub>_{URL,PID,CTL,CONF,STATE,LOG}
#     DSKE_CLIENT_<client>_{PID,CTL,ETSI_SOCK,ETSI_URL,SAES,CONF,STATE,LOG}
#     DSKE_SAE_<sae>_{CERT,KEY,UID}
#   v NAME                value of the variable NAME (e.g. v DSKE_HUB_${h}_PID)
#   hub_url H, hub_pid H, hub_ctl H, client_pid C, client_ctl C, client_etsi_sock C,
#   client_etsi_url C, client_saes C, sae_uid S, sae_cert S, sae_key S, sae_client S
#
# Control sockets (HTTP over the unix socket, as root)
#   ctl SOCKET METHOD PATH [CURL_ARGS...]  sets CTL_CODE and CTL_BODY, prints the body;
#                                          0 iff HTTP 2xx
#   client_status C / hub_status H         GET /v1/status JSON on stdout (0 iff 200)
#   dskectl ARGS...                        the built dskectl ($DSKE_BIN/dskectl)
#
# ETSI GS QKD 014 over a client's unix socket, as the SAE's uid (setpriv for uid != 0).
# Each sets ETSI_CODE (HTTP status, 000 if no answer) and ETSI_BODY (the response body, or
# curl's error), prints nothing (keys stay out of test logs; call them directly, not in $(...)),
# and returns 0 iff the status is 200:
#   etsi CLIENT SAE METHOD PATH [JSON_BODY]      any request, PATH below /api/v1/keys/
#   etsi_status CLIENT SAE SLAVE                 Get status
#   etsi_get_key CLIENT SAE SLAVE [NUMBER] [SIZE]        Get key (GET with query)
#   etsi_get_key_post CLIENT SAE SLAVE [JSON]            Get key (POST; default body {})
#   etsi_get_key_with_ids CLIENT SAE MASTER KEY_ID...    Get key with key IDs (GET for one
#                                                        ID, POST for more)
#   etsi_get_key_with_ids_post CLIENT SAE MASTER JSON    Get key with key IDs (POST, raw body)
#   etsi_https CLIENT SAE METHOD PATH [JSON_BODY]  the same over HTTPS with the SAE's
#                                                  certificate (curl --cacert $DSKE_CA)
#   as_sae SAE CMD...      run CMD with the SAE's uid (and gid)
#
# JSON
#   json FILTER [JSON]     jq -er FILTER on JSON (default $ETSI_BODY); 1 if null/false/error
#   json_ok JSON           true if JSON parses
#   key_hex BASE64         the key bytes as lowercase hex
#   key_ids [JSON]         the key_IDs of a key container, one per line

LIB_TEST=$(basename "$0")
LIB_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
: "${BUILD:=build}"
: "${DSKE_BIN:=$LIB_ROOT/$BUILD/bin}"
export DSKE_BIN
DSKE_LAB_CMD="$DSKE_BIN/dske-lab"
LAB_DIRS=()
LAB_DIR=""
LIB_EXIT_CMDS=()
LIB_TMP=()

# ---------------------------------------------------------------- reporting
fail() { echo "FAIL: $LIB_TEST: $*" >&2; exit 1; }
pass() { echo "ok: $*"; }
skip() { echo "SKIP: $LIB_TEST: $*"; exit 77; }
note() { echo "   $*"; }
assert_eq() { [ "$1" = "$2" ] || fail "${3:-values differ}: '$1' != '$2'"; }
assert_ne() { [ "$1" != "$2" ] || fail "${3:-values are equal}: '$1'"; }
assert_match() { [[ $1 =~ $2 ]] || fail "${3:-no match}: '$1' !~ /$2/"; }
on_exit() { LIB_EXIT_CMDS+=("$*"); }

# a temporary directory removed at exit
lib_mktemp() {
	local d
	d=$(mktemp -d "${TMPDIR:-/tmp}/dske-test.XXXXXX") || fail "mktemp"
	LIB_TMP+=("$d")
	echo "$d"
}

lib_cleanup() {
	local rc=$? c d f pid
	trap - EXIT
	for c in "${LIB_EXIT_CMDS[@]}"; do eval "$c" || true; done
	for d in "${LAB_DIRS[@]}"; do
		[ -f "$d/lab.state" ] && "$DSKE_LAB_CMD" stop --dir "$d" > /dev/null 2>&1
		# whatever is still running (dske-lab failed?): the PIDs this lab started
		for f in "$d"/*/pid; do
			[ -f "$f" ] || continue
			pid=$(cat "$f" 2>/dev/null)
			[ -n "$pid" ] && grep -qaF "$d/" "/proc/$pid/cmdline" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
		done
		if [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ] && [ -z "${KEEP_LOGS:-}" ]; then
			for f in "$d"/*/log; do
				[ -s "$f" ] || continue
				echo "---- $f (last lines)" >&2
				tail -n 20 "$f" >&2
			done
		fi
		if [ -n "${KEEP_LAB:-}" ]; then echo "kept $d" >&2; else rm -rf "$d"; fi
	done
	for d in "${LIB_TMP[@]}"; do rm -rf "$d"; done
	exit "$rc"
}
trap lib_cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------- waiting
wait_for() {
	local t=10 t0 now
	if [ "${1:-}" = -t ]; then t=$2; shift 2; fi
	t0=${EPOCHREALTIME/./}
	while ! "$@"; do
		now=${EPOCHREALTIME/./}
		[ $(((now - t0) / 1000)) -lt $((t * 1000)) ] || return 1
		sleep 0.02
	done
	return 0
}

pid_gone() {
	[ -e "/proc/$1" ] || return 0
	[ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" = Z ]
}

procs_under() {
	local f pid args a
	for f in /proc/[0-9]*/cmdline; do
		pid=${f#/proc/}; pid=${pid%/cmdline}
		[ "$pid" = "$BASHPID" ] && continue
		args=()
		mapfile -d "" args 2>/dev/null < "$f" || continue
		for a in "${args[@]}"; do
			if [[ $a == "$1"/* ]]; then pid_gone "$pid" || echo "$pid"; break; fi
		done
	done
}

# ---------------------------------------------------------------- labs
lab_start() {
	local d
	[ -x "$DSKE_LAB_CMD" ] || fail "no $DSKE_LAB_CMD (run make)"
	d=$(mktemp -d "${TMPDIR:-/tmp}/dske-lab.XXXXXX") || fail "mktemp"
	LAB_DIRS+=("$d")
	"$DSKE_LAB_CMD" start --dir "$d" "$@" || fail "dske-lab start $* failed"
	lab_use "$d"
}

lab_use() {
	[ -f "$1/lab.env" ] || fail "$1/lab.env missing"
	LAB_DIR=$1
	# shellcheck disable=SC1091
	. "$1/lab.env"
}

lab_reload() { lab_use "$LAB_DIR"; }
lab_stop() { "$DSKE_LAB_CMD" stop --dir "$LAB_DIR" || fail "dske-lab stop failed"; lab_reload; }
lab_stop_hub() { "$DSKE_LAB_CMD" stop-hub --dir "$LAB_DIR" "$@" || fail "dske-lab stop-hub $* failed"; lab_reload; }
lab_start_hub() { "$DSKE_LAB_CMD" start-hub --dir "$LAB_DIR" "$@" || fail "dske-lab start-hub $* failed"; lab_reload; }
lab_stop_client() { "$DSKE_LAB_CMD" stop-client --dir "$LAB_DIR" "$@" || fail "dske-lab stop-client $* failed"; lab_reload; }
lab_start_client() { "$DSKE_LAB_CMD" start-client --dir "$LAB_DIR" "$@" || fail "dske-lab start-client $* failed"; lab_reload; }

v() { printf '%s' "${!1:-}"; }
hub_url() { v "DSKE_HUB_${1}_URL"; }
hub_pid() { v "DSKE_HUB_${1}_PID"; }
hub_ctl() { v "DSKE_HUB_${1}_CTL"; }
client_pid() { v "DSKE_CLIENT_${1}_PID"; }
client_ctl() { v "DSKE_CLIENT_${1}_CTL"; }
client_etsi_sock() { v "DSKE_CLIENT_${1}_ETSI_SOCK"; }
client_etsi_url() { v "DSKE_CLIENT_${1}_ETSI_URL"; }
client_saes() { v "DSKE_CLIENT_${1}_SAES"; }
sae_uid() { v "DSKE_SAE_${1}_UID"; }
sae_cert() { v "DSKE_SAE_${1}_CERT"; }
sae_key() { v "DSKE_SAE_${1}_KEY"; }
sae_client() { printf '%s' "${1%_sae*}"; }

# ---------------------------------------------------------------- control sockets
# lib_http OUTVAR_PREFIX CURL_ARGS...: runs curl, splits body and status code.
lib_split() {   # $1 = curl output ending in "\n<code>"
	LIB_CODE=${1##*$'\n'}
	LIB_BODY=${1%$'\n'*}
	[[ $LIB_CODE =~ ^[0-9]+$ ]] || { LIB_CODE=000; LIB_BODY=$1; }
}

ctl() {
	local sock=$1 method=$2 path=$3 out
	shift 3
	out=$(curl -s --max-time 30 --unix-socket "$sock" -X "$method" -w '\n%{http_code}' \
		"$@" "http://localhost$path" 2>&1)
	lib_split "$out"
	CTL_CODE=$LIB_CODE
	CTL_BODY=$LIB_BODY
	printf '%s\n' "$CTL_BODY"
	[[ $CTL_CODE == 2?? ]]
}

client_status() { ctl "$(client_ctl "$1")" GET /v1/status; }
hub_status() { ctl "$(hub_ctl "$1")" GET /v1/status; }
dskectl() { "$DSKE_BIN/dskectl" "$@"; }

# ---------------------------------------------------------------- ETSI 014
as_sae() {
	local uid
	uid=$(sae_uid "$1")
	shift
	[ -n "$uid" ] || fail "as_sae: unknown SAE (is a lab started?)"
	if [ "$uid" = "$(id -u)" ]; then "$@"
	else setpriv --reuid="$uid" --regid="$uid" --clear-groups "$@"; fi
}

etsi() {
	local c=$1 s=$2 method=$3 path=$4 body=${5-} out args=()
	if [ $# -ge 5 ]; then args=(-H 'Content-Type: application/json' --data-binary "$body"); fi
	out=$(as_sae "$s" curl -s --max-time 30 --unix-socket "$(client_etsi_sock "$c")" \
		-X "$method" -w '\n%{http_code}' "${args[@]}" "http://localhost/api/v1/keys/$path" 2>&1)
	lib_split "$out"
	ETSI_CODE=$LIB_CODE
	ETSI_BODY=$LIB_BODY
	[ "$ETSI_CODE" = 200 ]
}

etsi_https() {
	local c=$1 s=$2 method=$3 path=$4 body=${5-} out args=()
	if [ $# -ge 5 ]; then args=(-H 'Content-Type: application/json' --data-binary "$body"); fi
	out=$(curl -s --max-time 30 --cacert "$DSKE_CA" --cert "$(sae_cert "$s")" \
		--key "$(sae_key "$s")" -X "$method" -w '\n%{http_code}' "${args[@]}" \
		"$(client_etsi_url "$c")/api/v1/keys/$path" 2>&1)
	lib_split "$out"
	ETSI_CODE=$LIB_CODE
	ETSI_BODY=$LIB_BODY
	[ "$ETSI_CODE" = 200 ]
}

etsi_status() { etsi "$1" "$2" GET "$3/status"; }

etsi_get_key() {
	local q=""
	[ -n "${4:-}" ] && q="number=$4"
	[ -n "${5:-}" ] && q="${q:+$q&}size=$5"
	etsi "$1" "$2" GET "$3/enc_keys${q:+?$q}"
}

etsi_get_key_post() { etsi "$1" "$2" POST "$3/enc_keys" "${4:-{\}}"; }

etsi_get_key_with_ids() {
	local c=$1 s=$2 m=$3 body id
	shift 3
	[ $# -ge 1 ] || fail "etsi_get_key_with_ids: no key ID"
	if [ $# -eq 1 ]; then
		etsi "$c" "$s" GET "$m/dec_keys?key_ID=$1"
		return
	fi
	body='{"key_IDs":['
	for id in "$@"; do body+="{\"key_ID\":\"$id\"},"; done
	body="${body%,}]}"
	etsi "$c" "$s" POST "$m/dec_keys" "$body"
}

etsi_get_key_with_ids_post() { etsi "$1" "$2" POST "$3/dec_keys" "$4"; }

# ---------------------------------------------------------------- JSON
json() { jq -er "$1" <<< "${2-$ETSI_BODY}" 2>/dev/null; }
json_ok() { jq -e . <<< "$1" > /dev/null 2>&1; }
key_hex() { printf '%s' "$1" | base64 -d 2>/dev/null | od -An -v -tx1 | tr -d ' \n'; }
key_ids() { jq -r '.keys[].key_ID' <<< "${1-$ETSI_BODY}"; }
