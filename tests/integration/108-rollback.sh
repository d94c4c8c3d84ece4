#!/bin/bash
# Rollback (issue 4): an older copy of client1's state directory is restored, as a backup or a
# VM snapshot would, and client1 started on it. Its PSRD streams then point at offsets it has
# already used since the copy was taken (protocol.md section 3, rule 7). It must resynchronise
# from the hubs' marks (STREAM_STATUS: move its allocation past what each hub accepted) and
# reuse no pad: no allocation after the restore may overlap a pad (any allocation other than a
# 32-byte MAC key) handed out between the copy and the restore, and no frame carrying a pad may
# be refused by a hub as stale. A MAC key of a STREAM_STATUS refused as stale is the one thing
# that may repeat: the hub refuses the frame, so the key authenticates nothing.
. "$(dirname "$0")/lib-robust.sh"

lab_start --audit
W=$(lib_mktemp)
st=$(v DSKE_CLIENT_client1_STATE)
pairs 2 client1 client1_sae1 client2 client2_sae1

lab_stop_client client1
cp -a "$st" "$W/backup" || fail "backup copy"
for h in $DSKE_HUBS; do wc -l < "$st/psrd/$h/c2h.audit" > "$W/$h.lines"; done
note "backup of client1's state taken"

# life goes on after the backup: keys, and two restarts (each moves the reservation mark on)
for round in 1 2 3; do
	lab_start_client client1
	pairs 3 client1 client1_sae1 client2 client2_sae1
	pairs 2 client2 client2_sae1 client1 client1_sae1
	lab_stop_client client1
done
for h in $DSKE_HUBS; do
	tail -n +$(($(cat "$W/$h.lines") + 1)) "$st/psrd/$h/c2h.audit" > "$W/$h.future"
done
# SHARE_PUT is the only request that carries a pad on client->hub PSRD
puts_refused() { for h in $DSKE_HUBS; do cat "$(v DSKE_HUB_${h}_LOG)"; done | grep -c 'SHARE_PUT frame refused'; }
refused0=$(puts_refused)

# restore the old copy and start client1 on it
rm -rf "$st" && cp -a "$W/backup" "$st" || fail "restore"
t0=$(now_ms)
lab_start_client client1
note "client1 started on the restored state in $(($(now_ms) - t0)) ms"
for h in $DSKE_HUBS; do
	wait_for -t 20 bash -c "[ \"\$(curl -s --unix-socket '$(client_ctl client1)' http://l/v1/status | jq -r '.hubs[] | select(.name == \"$h\") | .synced')\" = true ]" ||
		fail "client1 on restored state: $h not synchronised: $(client_status client1 | jq -c ".hubs[] | select(.name == \"$h\")")"
done
pass "client1 on the restored state resynchronised with all 5 hubs in $(($(now_ms) - t0)) ms"
pairs 3 client1 client1_sae1 client2 client2_sae1
pairs 3 client2 client2_sae1 client1 client1_sae1
pass "key pairs both ways after the rollback"

# no pad reused: allocations after the restore against allocations of the lost future
for h in $DSKE_HUBS; do
	tail -n +$(($(cat "$W/$h.lines") + 1)) "$st/psrd/$h/c2h.audit" > "$W/$h.after"
	out=$(awk 'FNR == NR { fo[NR] = $1; fl[NR] = $2; n = NR; next }
		{ for (i = 1; i <= n; i++) if ($1 < fo[i] + fl[i] && fo[i] < $1 + $2) {
			if ($2 != 32 || fl[i] != 32) { printf "pad reused: %d+%d overlaps %d+%d\n", $1, $2, fo[i], fl[i]; bad = 1 }
			else mac++ } }
		END { printf "%d\n", mac; exit bad }' "$W/$h.future" "$W/$h.after") ||
		fail "$h: $out"
	note "$h: $(wc -l < "$W/$h.after") allocations after the restore, $(tail -1 <<< "$out") refused 32-byte MAC keys in reused space, no pad reused"
done
assert_eq "$(puts_refused)" "$refused0" "SHARE_PUT frames (they carry pads) refused by the hubs as stale after the rollback"
assert_eq "$MISMATCHES" 0 "key mismatches"
pass "rollback: no pad reused"
