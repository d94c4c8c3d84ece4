/* test_keyring.c — keyring/keyring.c against the REAL kernel keyring (as root).
 * Each test runs in a fresh anonymous session keyring (like a systemd service), uses its own
 * ring name "dsketest-<pid>-<n>" in root's user keyring, and invalidates what it made.
 * Everything is read back with libkeyutils and /proc/keys. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "keyring.h"
#include "desc.h"

static unsigned test_seq;

static void ring_name_make(char *buf, size_t size)
{
	snprintf(buf, size, "dsketest-%d-%u", (int)getpid(), ++test_seq);
}

static int setup(void **state)
{
	if (keyctl_join_session_keyring(NULL) < 0)
		return -1;
	return 0;
}

/* Whatever a failed test left behind: our rings in @u and the keys in them. */
static int teardown(void **state)
{
	char prefix[32];
	key_serial_t *ids = NULL;
	int n = keyctl_read_alloc(KEY_SPEC_USER_KEYRING, (void **)&ids);

	snprintf(prefix, sizeof(prefix), "dsketest-%d-", (int)getpid());
	for (int i = 0; n > 0 && i < n / (int)sizeof(key_serial_t); i++) {
		char *d = NULL;
		struct keyring_describe kd;
		if (keyctl_describe_alloc(ids[i], &d) < 0)
			continue;
		if (keyring_describe_parse(d, &kd) == 0 && strcmp(kd.type, "keyring") == 0 &&
		    strncmp(kd.desc, prefix, strlen(prefix)) == 0) {
			struct keyring ring = { .serial = ids[i] };
			keyring_ring_remove(&ring);
		}
		free(d);
	}
	free(ids);
	return 0;
}

/* The key's line in /proc/keys, fields split: timeout column and perm column. */
static int proc_keys_line(key_serial_t id, char *timeout, size_t tsize, unsigned *perm)
{
	char line[1024], want[16];
	FILE *f = fopen("/proc/keys", "r");
	int r = -ENOENT;

	if (!f)
		return -errno;
	snprintf(want, sizeof(want), "%08x ", (unsigned)id);
	while (fgets(line, sizeof(line), f)) {
		char flags[16], tmo[16];
		unsigned usage, p;
		if (strncmp(line, want, 9) != 0)
			continue;
		if (sscanf(line + 9, "%15s %u %15s %x", flags, &usage, tmo, &p) != 4)
			break;
		snprintf(timeout, tsize, "%s", tmo);
		*perm = p;
		r = 0;
		break;
	}
	fclose(f);
	return r;
}

static bool ring_holds(key_serial_t ring, key_serial_t id)
{
	key_serial_t *ids = NULL;
	int n = keyctl_read_alloc(ring, (void **)&ids);
	bool found = false;

	for (int i = 0; n > 0 && i < n / (int)sizeof(key_serial_t); i++)
		if (ids[i] == id)
			found = true;
	free(ids);
	return found;
}

/* How many user keys sit directly in our process keyring (half-made keys left behind). */
static int process_keyring_user_keys(void)
{
	key_serial_t *ids = NULL;
	int n = keyctl_read_alloc(KEY_SPEC_PROCESS_KEYRING, (void **)&ids), count = 0;

	for (int i = 0; n > 0 && i < n / (int)sizeof(key_serial_t); i++) {
		char *d = NULL;
		struct keyring_describe kd;
		if (keyctl_describe_alloc(ids[i], &d) < 0)
			continue;
		if (keyring_describe_parse(d, &kd) == 0 && strcmp(kd.type, "user") == 0)
			count++;
		free(d);
	}
	free(ids);
	return count;
}

/* How many keyrings named name are linked directly in @u. */
static int user_keyring_count(const char *name)
{
	key_serial_t *ids = NULL;
	int n = keyctl_read_alloc(KEY_SPEC_USER_KEYRING, (void **)&ids), count = 0;

	for (int i = 0; n > 0 && i < n / (int)sizeof(key_serial_t); i++) {
		char *d = NULL;
		struct keyring_describe kd;
		if (keyctl_describe_alloc(ids[i], &d) < 0)
			continue;
		if (keyring_describe_parse(d, &kd) == 0 && strcmp(kd.type, "keyring") == 0 &&
		    strcmp(kd.desc, name) == 0)
			count++;
		free(d);
	}
	free(ids);
	return count;
}

static void test_name_valid(void **state)
{
	assert_true(keyring_name_valid("dske"));
	assert_true(keyring_name_valid("dsketest-1-2"));
	assert_false(keyring_name_valid(""));
	assert_false(keyring_name_valid(NULL));
	assert_false(keyring_name_valid(".dske"));
	assert_false(keyring_name_valid("_uid.0"));
	assert_false(keyring_name_valid("a b"));
	assert_false(keyring_name_valid("a;b"));
	char longname[KEYRING_NAME_MAX + 2];
	memset(longname, 'a', sizeof(longname) - 1);
	longname[KEYRING_NAME_MAX + 1] = '\0';
	assert_false(keyring_name_valid(longname));
	longname[KEYRING_NAME_MAX] = '\0';
	assert_true(keyring_name_valid(longname));
}

static void test_group_lookup(void **state)
{
	gid_t gid = 12345;
	assert_int_equal(keyring_group_lookup("root", &gid), 0);
	assert_int_equal(gid, 0);
	assert_int_equal(keyring_group_lookup("no-such-group-dsketest", &gid), -ENOENT);
	assert_int_equal(gid, 0);
	assert_int_equal(keyring_group_lookup("", &gid), -EINVAL);
}

static void test_ring_open_invalid(void **state)
{
	struct keyring ring;
	assert_int_equal(keyring_ring_open(".bad", NULL, &ring), -EINVAL);
	assert_int_equal(keyring_ring_open("a b", NULL, &ring), -EINVAL);
}

/* publish with a group: description, type, owner, group, permission, timeout, linkage, bytes */
static void test_publish_group(void **state)
{
	char name[64], desc[KEYRING_DESC_SIZE], *d = NULL, tmo[16];
	const uint8_t id[DSKE_KEY_ID_LEN] = { 0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0x4d, 0xef,
	                                      0x80, 1, 2, 3, 4, 5, 6, 7 };
	uint8_t key[32], back[64];
	struct keyring ring;
	struct keyring_describe kd;
	struct group *gr = getgrnam("daemon");
	key_serial_t k, found;
	unsigned perm;

	assert_non_null(gr);                       /* Debian's base-passwd always has it */
	for (size_t i = 0; i < sizeof(key); i++)
		key[i] = (uint8_t)(0xa0 + i);
	ring_name_make(name, sizeof(name));
	assert_int_equal(keyring_ring_open(name, "daemon", &ring), 0);
	assert_int_equal(ring.gid, gr->gr_gid);
	assert_int_equal(ring.perm, 0x1b3f0b00);
	assert_string_equal(ring.name, name);

	/* the ring: in @u, type keyring, uid 0, group daemon, 0x1b3f0b00 */
	assert_int_equal(keyctl_search(KEY_SPEC_USER_KEYRING, "keyring", name, 0), ring.serial);
	assert_true(ring_holds(KEY_SPEC_USER_KEYRING, ring.serial));
	assert_true(keyctl_describe_alloc(ring.serial, &d) >= 0);
	assert_int_equal(keyring_describe_parse(d, &kd), 0);
	assert_string_equal(kd.type, "keyring");
	assert_int_equal(kd.uid, 0);
	assert_int_equal(kd.gid, gr->gr_gid);
	assert_int_equal(kd.perm, 0x1b3f0b00);
	assert_string_equal(kd.desc, name);
	free(d);
	d = NULL;

	assert_int_equal(keyring_desc_format(desc, sizeof(desc), "dske", "client2", id), 0);
	assert_string_equal(desc, "dske:client2:12345678-9abc-4def-8001-020304050607");
	/* unique per run: @u is searched below */
	snprintf(desc, sizeof(desc), "dske:client2-%d:12345678-9abc-4def-8001-020304050607",
	         (int)getpid());
	assert_int_equal(keyring_key_publish(&ring, desc, key, sizeof(key), 30, &k), 0);
	assert_true(k > 0);

	assert_true(keyctl_describe_alloc(k, &d) >= 0);
	assert_int_equal(keyring_describe_parse(d, &kd), 0);
	assert_string_equal(kd.type, "user");
	assert_int_equal(kd.uid, 0);
	assert_int_equal(kd.gid, gr->gr_gid);
	assert_int_equal(kd.perm, 0x1b3f0b00);
	assert_string_equal(kd.desc, desc);
	free(d);

	/* linkage: in the ring, no longer in our process keyring */
	assert_true(ring_holds(ring.serial, k));
	assert_false(ring_holds(KEY_SPEC_PROCESS_KEYRING, k));
	assert_int_equal(keyring_key_find(&ring, desc, &found), 0);
	assert_int_equal(found, k);
	assert_int_equal(keyctl_search(KEY_SPEC_USER_KEYRING, "user", desc, 0), k);

	/* timeout: /proc/keys shows seconds left (30 s set a moment ago) */
	assert_int_equal(proc_keys_line(k, tmo, sizeof(tmo), &perm), 0);
	assert_int_equal(perm, 0x1b3f0b00);
	assert_true(tmo[strlen(tmo) - 1] == 's');
	assert_in_range(atoi(tmo), 25, 30);

	/* bytes */
	assert_int_equal(keyctl_read(k, (char *)back, sizeof(back)), sizeof(key));
	assert_memory_equal(back, key, sizeof(key));

	/* the same description again is refused and the first key is left alone */
	key[0] ^= 0xff;
	assert_int_equal(keyring_key_publish(&ring, desc, key, sizeof(key), 30, &found), -EEXIST);
	assert_int_equal(keyring_key_find(&ring, desc, &found), 0);
	assert_int_equal(found, k);
	assert_int_equal(keyctl_read(k, (char *)back, sizeof(back)), sizeof(key));
	assert_int_equal(back[0], 0xa0);
	assert_int_equal(process_keyring_user_keys(), 0);

	assert_int_equal(keyring_ring_remove(&ring), 0);
	assert_int_equal(ring.serial, 0);
	assert_int_equal(keyctl_search(KEY_SPEC_USER_KEYRING, "keyring", name, 0), -1);
	assert_true(errno == ENOKEY || errno == EKEYREVOKED);

	/* a ring of the same name can be made again at once (the dead one waits for the GC) */
	assert_int_equal(keyring_ring_open(name, "daemon", &ring), 0);
	assert_int_equal(keyctl_search(KEY_SPEC_USER_KEYRING, "keyring", name, 0), ring.serial);
	assert_int_equal(keyring_key_find(&ring, desc, &found), -ENOKEY);
	assert_int_equal(user_keyring_count(name), 1);
	assert_int_equal(keyring_ring_remove(&ring), 0);
}

/* without the group: 0x1b3f0000 and the group stays the creator's */
static void test_publish_nogroup(void **state)
{
	char name[64], *d = NULL;
	const uint8_t key[1] = { 7 };
	struct keyring ring;
	struct keyring_describe kd;
	key_serial_t k;

	ring_name_make(name, sizeof(name));
	assert_int_equal(keyring_ring_open(name, "no-such-group-dsketest", &ring), 0);
	assert_int_equal(ring.perm, 0x1b3f0000);
	assert_int_equal(ring.gid, KEYRING_NO_GROUP);
	assert_int_equal(keyring_key_publish(&ring, "dske:p:k1", key, 1, 0, &k), 0);
	assert_true(keyctl_describe_alloc(k, &d) >= 0);
	assert_int_equal(keyring_describe_parse(d, &kd), 0);
	assert_int_equal(kd.perm, 0x1b3f0000);
	assert_int_equal(kd.gid, getegid());
	free(d);
	assert_true(keyctl_describe_alloc(ring.serial, &d) >= 0);
	assert_int_equal(keyring_describe_parse(d, &kd), 0);
	assert_int_equal(kd.perm, 0x1b3f0000);
	free(d);
	{
		char tmo[16];
		unsigned perm;
		assert_int_equal(proc_keys_line(k, tmo, sizeof(tmo), &perm), 0);
		assert_string_equal(tmo, "perm");          /* timeout 0: none */
	}
	assert_int_equal(keyring_ring_remove(&ring), 0);
}

static void test_publish_invalid(void **state)
{
	char name[64], big_desc[4097];
	static uint8_t big[KEYRING_PAYLOAD_MAX + 1];
	struct keyring ring;
	key_serial_t *ids;
	size_t n;

	ring_name_make(name, sizeof(name));
	assert_int_equal(keyring_ring_open(name, NULL, &ring), 0);
	assert_int_equal(keyring_key_publish(&ring, "dske:p:x", big, 0, 0, NULL), -EINVAL);
	assert_int_equal(keyring_key_publish(&ring, "dske:p:x", big, sizeof(big), 0, NULL), -EINVAL);
	assert_int_equal(keyring_key_publish(&ring, "", big, 1, 0, NULL), -EINVAL);
	memset(big_desc, 'a', sizeof(big_desc) - 1);
	big_desc[4096] = '\0';
	assert_int_equal(keyring_key_publish(&ring, big_desc, big, 1, 0, NULL), -EINVAL);
	/* the largest payload the kernel takes */
	assert_int_equal(keyring_key_publish(&ring, "dske:p:big", big, KEYRING_PAYLOAD_MAX, 0, NULL), 0);
	assert_int_equal(keyring_ring_list(&ring, &ids, &n), 0);
	assert_int_equal(n, 1);
	free(ids);
	assert_int_equal(keyring_ring_remove(&ring), 0);
}

/* invalidation removes the key at once */
static void test_invalidate(void **state)
{
	char name[64], buf[8];
	const uint8_t key[4] = { 1, 2, 3, 4 };
	struct keyring ring;
	key_serial_t k1, k2, found, *ids;
	size_t n;

	ring_name_make(name, sizeof(name));
	assert_int_equal(keyring_ring_open(name, NULL, &ring), 0);
	assert_int_equal(keyring_key_publish(&ring, "dske:p:one", key, 4, 60, &k1), 0);
	assert_int_equal(keyring_key_publish(&ring, "dske:p:two", key, 4, 60, &k2), 0);
	assert_int_equal(keyring_ring_list(&ring, &ids, &n), 0);
	assert_int_equal(n, 2);
	free(ids);

	assert_int_equal(keyring_key_invalidate(k1), 0);
	{
		int r = keyring_key_find(&ring, "dske:p:one", &found);   /* before or after GC */
		assert_true(r == -ENOKEY || r == -EKEYREVOKED);
	}
	assert_int_equal(keyctl_read(k1, buf, sizeof(buf)), -1);
	assert_int_equal(keyring_key_find(&ring, "dske:p:two", &found), 0);
	assert_int_equal(found, k2);
	assert_int_equal(keyring_key_invalidate(0), -EINVAL);
	/* the same description can be published again once the old key is gone */
	assert_int_equal(keyring_key_publish(&ring, "dske:p:one", key, 4, 60, &found), 0);
	assert_int_not_equal(found, k1);
	assert_int_equal(keyring_ring_remove(&ring), 0);
	{
		int r = keyring_key_invalidate(k2);          /* gone with the ring */
		assert_true(r == -ENOKEY || r == -EKEYREVOKED);
	}
	assert_int_equal(keyring_ring_remove(NULL), 0);
}

/* a key whose timeout passes reads as expired */
static void test_expiry(void **state)
{
	char name[64], buf[8];
	const uint8_t key[4] = { 1, 2, 3, 4 };
	struct keyring ring;
	key_serial_t k, found;
	int r = 0, i;

	ring_name_make(name, sizeof(name));
	assert_int_equal(keyring_ring_open(name, NULL, &ring), 0);
	assert_int_equal(keyring_key_publish(&ring, "dske:p:short", key, 4, 1, &k), 0);
	for (i = 0; i < 300; i++) {                  /* at most 3 s */
		r = keyring_key_find(&ring, "dske:p:short", &found);
		if (r != 0)
			break;
		usleep(10000);
	}
	assert_int_equal(r, -EKEYEXPIRED);
	assert_int_equal(keyctl_read(k, buf, sizeof(buf)), -1);
	assert_int_equal(errno, EKEYEXPIRED);
	/* the expired key stays linked until the GC (gc_delay); a new key of that name
	 * displaces it */
	assert_true(ring_holds(ring.serial, k));
	assert_int_equal(keyring_key_publish(&ring, "dske:p:short", key, 4, 60, &found), 0);
	assert_int_not_equal(found, k);
	assert_false(ring_holds(ring.serial, k));
	assert_int_equal(keyctl_read(found, buf, sizeof(buf)), 4);
	assert_int_equal(keyring_key_find(&ring, "dske:p:short", &k), 0);
	assert_int_equal(k, found);
	/* but a live one is never displaced */
	assert_int_equal(keyring_key_publish(&ring, "dske:p:short", key, 4, 60, NULL), -EEXIST);
	assert_int_equal(keyring_ring_remove(&ring), 0);
}

/* A fresh process in a fresh session (a restarted daemon, or another daemon) finds the ring,
 * publishes into it, and a root consumer in yet another session reads the key through @u. */
static void test_reopen_other_process(void **state)
{
	char name[64], back[8];
	const uint8_t key[4] = { 9, 8, 7, 6 };
	struct keyring ring;
	key_serial_t k;
	pid_t pid;
	int status;

	ring_name_make(name, sizeof(name));
	assert_int_equal(keyring_ring_open(name, NULL, &ring), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct keyring r2;
		if (keyctl_join_session_keyring(NULL) < 0)
			_exit(10);
		if (keyring_ring_open(name, NULL, &r2) != 0 || r2.serial != ring.serial)
			_exit(11);
		if (keyring_key_publish(&r2, "dske:p:child", key, 4, 60, NULL) != 0)
			_exit(12);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);

	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {                              /* consumer: no possession, owner byte */
		char b[8];
		key_serial_t id;
		if (keyctl_join_session_keyring(NULL) < 0)
			_exit(10);
		id = keyctl_search(KEY_SPEC_USER_KEYRING, "user", "dske:p:child", 0);
		if (id < 0)
			_exit(11);
		if (keyctl_read(id, b, sizeof(b)) != 4 || memcmp(b, key, 4) != 0)
			_exit(12);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);

	assert_int_equal(keyring_key_find(&ring, "dske:p:child", &k), 0);
	assert_int_equal(keyctl_read(k, back, sizeof(back)), 4);
	assert_memory_equal(back, key, 4);
	assert_int_equal(keyring_ring_remove(&ring), 0);
}

/* N processes, each in its own session, create the same ring at the same moment: they all
 * end up with one ring, and @u holds exactly one ring of that name. Repeated. */
#define RACERS 6
#define ROUNDS 15
static void test_create_race(void **state)
{
	for (int round = 0; round < ROUNDS; round++) {
		char name[64];
		int go[2], res[2];
		pid_t pids[RACERS];
		key_serial_t serials[RACERS], mine;
		struct keyring ring;

		ring_name_make(name, sizeof(name));
		assert_int_equal(pipe(go), 0);
		assert_int_equal(pipe(res), 0);
		for (int i = 0; i < RACERS; i++) {
			pids[i] = fork();
			assert_true(pids[i] >= 0);
			if (pids[i] == 0) {
				struct keyring r;
				char c;
				key_serial_t s = -1;
				close(go[1]);
				close(res[0]);
				if (keyctl_join_session_keyring(NULL) < 0)
					_exit(10);
				if (read(go[0], &c, 1) != 0)      /* released when the parent closes */
					_exit(11);
				if (keyring_ring_open(name, NULL, &r) == 0)
					s = r.serial;
				if (write(res[1], &s, sizeof(s)) != sizeof(s))
					_exit(12);
				_exit(0);
			}
		}
		close(go[0]);
		close(res[1]);
		close(go[1]);                                /* go */
		for (int i = 0; i < RACERS; i++)
			assert_int_equal(read(res[0], &serials[i], sizeof(serials[i])),
			                 sizeof(serials[i]));
		close(res[0]);
		for (int i = 0; i < RACERS; i++) {
			int status;
			assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
			assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
		}
		for (int i = 0; i < RACERS; i++) {
			assert_true(serials[i] > 0);
			assert_int_equal(serials[i], serials[0]);
		}
		assert_int_equal(user_keyring_count(name), 1);
		assert_int_equal(keyring_ring_open(name, NULL, &ring), 0);
		mine = ring.serial;
		assert_int_equal(mine, serials[0]);
		assert_int_equal(keyring_ring_remove(&ring), 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_name_valid),
		cmocka_unit_test(test_group_lookup),
		cmocka_unit_test_setup_teardown(test_ring_open_invalid, setup, teardown),
		cmocka_unit_test_setup_teardown(test_publish_group, setup, teardown),
		cmocka_unit_test_setup_teardown(test_publish_nogroup, setup, teardown),
		cmocka_unit_test_setup_teardown(test_publish_invalid, setup, teardown),
		cmocka_unit_test_setup_teardown(test_invalidate, setup, teardown),
		cmocka_unit_test_setup_teardown(test_expiry, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reopen_other_process, setup, teardown),
		cmocka_unit_test_setup_teardown(test_create_race, setup, teardown),
	};

	if (keyctl_get_keyring_ID(KEY_SPEC_SESSION_KEYRING, 1) < 0 && errno == ENOSYS) {
		printf("test_keyring: skipped, the kernel has no keyring support (CONFIG_KEYS)\n");
		return 0;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
