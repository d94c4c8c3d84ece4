/* vici_client.c — see vici_client.h */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <sodium.h>
#include "vici_client.h"

struct vici_conn {
	int fd;
	int timeout_ms;
	char event[256];
	vici_event_cb_t cb;
	void *userdata;
};

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int vici_connect(const char *path, int timeout_ms, struct vici_conn **ret)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct vici_conn *c;
	int fd, r;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		close(fd);
		return -ENOMEM;
	}
	c->fd = fd;
	c->timeout_ms = timeout_ms > 0 ? timeout_ms : 10000;
	*ret = c;
	return 0;
}

void vici_close(struct vici_conn *c)
{
	if (!c)
		return;
	close(c->fd);
	free(c);
}

static int io_wait(int fd, short events, long long deadline)
{
	struct pollfd p = { .fd = fd, .events = events };
	long long left = deadline - now_ms();
	int r;

	if (left <= 0)
		return -ETIMEDOUT;
	r = poll(&p, 1, (int)left);
	if (r < 0)
		return errno == EINTR ? 0 : -errno;
	return r == 0 ? -ETIMEDOUT : 0;
}

static int write_all(struct vici_conn *c, const uint8_t *buf, size_t len, long long deadline)
{
	while (len) {
		ssize_t n = send(c->fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0) {
			int r;
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				return errno == ECONNRESET ? -EPIPE : -errno;
			if ((r = io_wait(c->fd, POLLOUT, deadline)) < 0)
				return r;
			continue;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

static int read_all(struct vici_conn *c, uint8_t *buf, size_t len, long long deadline)
{
	while (len) {
		ssize_t n = recv(c->fd, buf, len, MSG_DONTWAIT);
		if (n == 0)
			return -EPIPE;
		if (n < 0) {
			int r;
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				return -errno;
			if ((r = io_wait(c->fd, POLLIN, deadline)) < 0)
				return r;
			continue;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Read one segment into a malloc'd buffer (caller wipes and frees). */
static int read_segment(struct vici_conn *c, long long deadline, uint8_t **ret, size_t *ret_len)
{
	uint8_t hdr[4], *buf;
	size_t len;
	int r;

	if ((r = read_all(c, hdr, 4, deadline)) < 0)
		return r;
	len = (size_t)hdr[0] << 24 | (size_t)hdr[1] << 16 | (size_t)hdr[2] << 8 | hdr[3];
	if (len == 0 || len > VICI_SEGMENT_MAX)
		return -EBADMSG;
	buf = malloc(len);
	if (!buf)
		return -ENOMEM;
	if ((r = read_all(c, buf, len, deadline)) < 0) {
		free(buf);
		return r;
	}
	*ret = buf;
	*ret_len = len;
	return 0;
}

static void wipe_free(uint8_t *buf, size_t len)
{
	if (!buf)
		return;
	sodium_memzero(buf, len);
	free(buf);
}

static void deliver_event(struct vici_conn *c, const struct vici_packet *p)
{
	struct vici_msg m;

	if (!c->cb || strcmp(p->name, c->event) != 0)
		return;
	if (vici_msg_parse(p->msg, p->msg_len, &m, NULL) < 0)
		return;
	c->cb(p->name, &m, c->userdata);
	vici_msg_free(&m);
}

/* Read packets until one of the wanted type arrives; events are delivered or skipped. */
static int read_until(struct vici_conn *c, uint8_t want, uint8_t unknown, long long deadline,
                      uint8_t **ret, size_t *ret_len, struct vici_packet *ret_pkt)
{
	for (;;) {
		struct vici_packet p;
		uint8_t *buf;
		size_t len;
		int r = read_segment(c, deadline, &buf, &len);

		if (r < 0)
			return r;
		if (vici_packet_parse(buf, len, &p) < 0) {
			wipe_free(buf, len);
			return -EBADMSG;
		}
		if (p.type == VICI_EVENT) {
			deliver_event(c, &p);
			wipe_free(buf, len);
			continue;
		}
		if (p.type == want) {
			*ret = buf;
			*ret_len = len;
			*ret_pkt = p;
			return 0;
		}
		wipe_free(buf, len);
		return p.type == unknown ? -EOPNOTSUPP : -EBADMSG;
	}
}

int vici_request(struct vici_conn *c, const uint8_t *segment, size_t len, struct vici_reply *ret)
{
	long long deadline = now_ms() + c->timeout_ms;
	struct vici_reply rep = { 0 };
	struct vici_packet p;
	int r;

	if (len < 5 || segment[4] != VICI_CMD_REQUEST)
		return -EINVAL;
	if ((r = write_all(c, segment, len, deadline)) < 0)
		return r;
	r = read_until(c, VICI_CMD_RESPONSE, VICI_CMD_UNKNOWN, deadline, &rep.buf, &rep.len, &p);
	if (r < 0)
		return r;
	r = vici_msg_parse(p.msg, p.msg_len, &rep.msg, NULL);
	if (r < 0) {
		wipe_free(rep.buf, rep.len);
		return r;
	}
	*ret = rep;
	return 0;
}

void vici_reply_free(struct vici_reply *r)
{
	if (!r)
		return;
	vici_msg_free(&r->msg);
	wipe_free(r->buf, r->len);
	r->buf = NULL;
	r->len = 0;
}

static int event_packet(struct vici_conn *c, enum vici_packet_type type, const char *event)
{
	long long deadline = now_ms() + c->timeout_ms;
	struct vici_builder b;
	struct vici_packet p;
	const uint8_t *seg;
	uint8_t *buf = NULL;
	size_t len, rlen;
	int r;

	vici_builder_init(&b, type, event);
	r = vici_builder_finish(&b, &seg, &len);
	if (r == 0)
		r = write_all(c, seg, len, deadline);
	if (r == 0)
		r = read_until(c, VICI_EVENT_CONFIRM, VICI_EVENT_UNKNOWN, deadline, &buf, &rlen, &p);
	wipe_free(buf, buf ? rlen : 0);
	vici_builder_clear(&b);
	return r;
}

int vici_register(struct vici_conn *c, const char *event, vici_event_cb_t cb, void *userdata)
{
	int r;

	if (strlen(event) >= sizeof(c->event))
		return -EINVAL;
	if ((r = event_packet(c, VICI_EVENT_REGISTER, event)) < 0)
		return r;
	strcpy(c->event, event);
	c->cb = cb;
	c->userdata = userdata;
	return 0;
}

int vici_unregister(struct vici_conn *c, const char *event)
{
	int r = event_packet(c, VICI_EVENT_UNREGISTER, event);

	if (r == 0 && strcmp(c->event, event) == 0) {
		c->cb = NULL;
		c->event[0] = '\0';
	}
	return r;
}

int vici_wait_event(struct vici_conn *c, int timeout_ms)
{
	long long deadline = now_ms() + timeout_ms;
	struct vici_packet p;
	uint8_t *buf;
	size_t len;
	int r;

	if ((r = read_segment(c, deadline, &buf, &len)) < 0)
		return r;
	r = vici_packet_parse(buf, len, &p);
	if (r == 0 && p.type != VICI_EVENT)
		r = -EBADMSG;
	if (r == 0)
		deliver_event(c, &p);
	wipe_free(buf, len);
	return r;
}

int vici_request_checked(struct vici_conn *c, struct vici_builder *b, char *err, size_t errlen)
{
	struct vici_reply rep;
	const uint8_t *seg;
	size_t len;
	int r;

	if (err && errlen)
		err[0] = '\0';
	r = vici_builder_finish(b, &seg, &len);
	if (r == 0)
		r = vici_request(c, seg, len, &rep);
	if (r == 0) {
		if (!vici_msg_success(&rep.msg, err, errlen))
			r = -EREMOTEIO;
		vici_reply_free(&rep);
	}
	vici_builder_clear(b);
	return r;
}

int vici_command(struct vici_conn *c, const char *cmd, struct vici_reply *ret)
{
	struct vici_builder b;
	const uint8_t *seg;
	size_t len;
	int r;

	vici_builder_init(&b, VICI_CMD_REQUEST, cmd);
	r = vici_builder_finish(&b, &seg, &len);
	if (r == 0)
		r = vici_request(c, seg, len, ret);
	vici_builder_clear(&b);
	return r;
}
