# Sourced by the scenarios: the lab smoke test on the packaged programs (dske-lab finds
# /usr/sbin/dske-hubd and dske-clientd next to itself): 3 hubs, 2 clients, one key pair over the
# ETSI 014 unix sockets, both ends get the same key.
# lab_start DIR: start a lab of 3 hubs and 2 clients (k = 2)
lab_start() {
	dske-lab start --dir "$1" --hubs 3 --clients 2 -k 2 > /tmp/lab-start.log 2>&1 || {
		tail -n 20 /tmp/lab-start.log; for l in "$1"/*/log; do echo "== $l"; tail -n 5 "$l"; done
		return 1; }
}
# key_pair DIR: one key from client1 (enc_keys for client2_sae1) fetched by ID on client2
key_pair() {
	local D=$1 enc dec id k1 k2
	. "$D/lab.env"
	enc=$(curl -sf --max-time 30 --unix-socket "$DSKE_CLIENT_client1_ETSI_SOCK" \
		'http://localhost/api/v1/keys/client2_sae1/enc_keys?number=1&size=256') || {
		echo "   enc_keys failed: $(curl -s --unix-socket "$DSKE_CLIENT_client1_ETSI_SOCK" \
			'http://localhost/api/v1/keys/client2_sae1/enc_keys?number=1&size=256')"; return 1; }
	id=$(jq -r '.keys[0].key_ID' <<< "$enc")
	k1=$(jq -r '.keys[0].key' <<< "$enc")
	dec=$(curl -sf --max-time 30 --unix-socket "$DSKE_CLIENT_client2_ETSI_SOCK" \
		"http://localhost/api/v1/keys/client1_sae1/dec_keys?key_ID=$id") || {
		echo "   dec_keys $id failed: $(curl -s --unix-socket "$DSKE_CLIENT_client2_ETSI_SOCK" \
			"http://localhost/api/v1/keys/client1_sae1/dec_keys?key_ID=$id")"; return 1; }
	k2=$(jq -r '.keys[0].key' <<< "$dec")
	[ -n "$k1" ] && [ "$k1" != null ] && [ "$k1" = "$k2" ] && [ "$(base64 -d <<< "$k1" | wc -c)" = 32 ]
}
if [ "${LABSMOKE_RUN:-yes}" = yes ]; then
	echo "-- lab smoke test on the packaged programs (a key pair through 3 hubs)"
	if check "dske-lab start: 3 hubs, 2 clients" lab_start /tmp/lab; then
		check "key pair client1 -> client2 through the hubs, same 256-bit key" key_pair /tmp/lab
		check "a second key pair" key_pair /tmp/lab
	fi
fi
