/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Proxmox's terminal framing; see http-termframe.h. */
#include "common.h"

#include "http-termframe.h"

enum state {
	ST_AUTH,   /* the first line */
	ST_TYPE,   /* '0', '1' or '2' */
	ST_COLON,  /* the ':' after the type */
	ST_NUM,    /* digits of LEN, COLS or ROWS, up to ':' */
	ST_DATA,   /* LEN bytes */
	ST_FAILED, /* stays */
};

struct termframe {
	const struct termframe_callbacks *cb;
	void *userdata;
	enum state state;
	int error;
	char type;
	unsigned nums[2], n_nums; /* numbers read of this message */
	unsigned long cur;        /* the number being read */
	unsigned digits;
	size_t left; /* ST_DATA */
	size_t auth_len;
	char auth[TERMFRAME_MAX_AUTH + 1];
};

struct termframe *termframe_new(const struct termframe_callbacks *cb, void *userdata)
{
	struct termframe *t = calloc(1, sizeof(*t));
	if (t) {
		t->cb = cb;
		t->userdata = userdata;
	}
	return t;
}

struct termframe *termframe_free(struct termframe *t)
{
	free(t);
	return NULL;
}

static int fail(struct termframe *t, int e)
{
	t->state = ST_FAILED;
	t->error = e;
	return e;
}

/* A number ended (at its ':'); acts once the message has all of them. */
static int number_done(struct termframe *t)
{
	if (t->digits == 0)
		return fail(t, -EBADMSG);
	t->nums[t->n_nums++] = (unsigned)t->cur;
	t->cur = 0;
	t->digits = 0;
	if (t->type == '0') {
		t->left = t->nums[0];
		t->state = t->left ? ST_DATA : ST_TYPE;
		return 0;
	}
	/* '1': COLS then ROWS */
	if (t->n_nums < 2)
		return 0;
	t->state = ST_TYPE;
	if (t->nums[0] == 0 || t->nums[1] == 0 || t->nums[0] > TERMFRAME_MAX_SIZE ||
	    t->nums[1] > TERMFRAME_MAX_SIZE)
		return fail(t, -EBADMSG);
	int r = t->cb->resize ? t->cb->resize(t->userdata, t->nums[0], t->nums[1]) : 0;
	return r < 0 ? fail(t, r) : 0;
}

int termframe_feed(struct termframe *t, const char *data, size_t len)
{
	size_t i = 0;
	int r;
	while (i < len) {
		char c = data[i];
		switch (t->state) {
		case ST_FAILED:
			return t->error;
		case ST_AUTH:
			i++;
			if (c == '\n') {
				t->auth[t->auth_len] = '\0';
				t->state = ST_TYPE;
				r = t->cb->auth ? t->cb->auth(t->userdata, t->auth) : 0;
				if (r < 0)
					return fail(t, r);
				break;
			}
			if (c == '\0' || t->auth_len == TERMFRAME_MAX_AUTH)
				return fail(t, -EBADMSG);
			t->auth[t->auth_len++] = c;
			break;
		case ST_TYPE:
			i++;
			if (c == '2') {
				r = t->cb->ping ? t->cb->ping(t->userdata) : 0;
				if (r < 0)
					return fail(t, r);
				break;
			}
			if (c != '0' && c != '1')
				return fail(t, -EBADMSG);
			t->type = c;
			t->n_nums = 0;
			t->cur = 0;
			t->digits = 0;
			t->state = ST_COLON;
			break;
		case ST_COLON:
			i++;
			if (c != ':')
				return fail(t, -EBADMSG);
			t->state = ST_NUM;
			break;
		case ST_NUM:
			i++;
			if (c == ':') {
				if ((r = number_done(t)) < 0)
					return r;
				break;
			}
			if (c < '0' || c > '9' || t->digits == 7)
				return fail(t, -EBADMSG);
			t->cur = t->cur * 10 + (unsigned long)(c - '0');
			t->digits++;
			if (t->type == '0' && t->cur > TERMFRAME_MAX_DATA)
				return fail(t, -EBADMSG);
			break;
		case ST_DATA: {
			size_t n = len - i < t->left ? len - i : t->left;
			r = t->cb->data ? t->cb->data(t->userdata, data + i, n) : 0;
			if (r < 0)
				return fail(t, r);
			i += n;
			t->left -= n;
			if (t->left == 0)
				t->state = ST_TYPE;
			break;
		}
		}
	}
	return t->state == ST_FAILED ? t->error : 0;
}
