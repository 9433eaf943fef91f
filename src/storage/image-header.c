/* SPDX-License-Identifier: AGPL-3.0-or-later */
#include "common.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image-header.h"
#include "xalloc.h"

#define QCOW2_MAGIC 0x514649fbu
/* qcow2: the backing file name is at most 1023 bytes and lies in the
 * first cluster; clusters are 512 B to 2 MiB */
#define QCOW2_BACKING_MAX      1023u
#define QCOW2_CLUSTER_BITS_MIN 9u
#define QCOW2_CLUSTER_BITS_MAX 21u
/* incompatible features this reader may ignore: dirty (0), corrupt (1) is
 * refused below, compression type (3), extended L2 entries (4); an
 * external data file (2) or anything newer goes to qemu-img */
#define QCOW2_INCOMPAT_DIRTY       (1ull << 0)
#define QCOW2_INCOMPAT_COMPRESSION (1ull << 3)
#define QCOW2_INCOMPAT_EXTL2       (1ull << 4)

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t be64(const uint8_t *p)
{
	return (uint64_t)be32(p) << 32 | be32(p + 4);
}

int qcow2_header_parse(const uint8_t *buf, size_t len, struct image_header *ret)
{
	if (len < 72 || be32(buf) != QCOW2_MAGIC)
		return -EINVAL;
	uint32_t version = be32(buf + 4);
	uint64_t boff = be64(buf + 8);
	uint32_t blen = be32(buf + 16);
	uint32_t cbits = be32(buf + 20);
	uint64_t size = be64(buf + 24);
	uint32_t crypt = be32(buf + 32);

	if (version != 2 && version != 3)
		return -EOPNOTSUPP;
	if (cbits < QCOW2_CLUSTER_BITS_MIN || cbits > QCOW2_CLUSTER_BITS_MAX || crypt != 0)
		return -EOPNOTSUPP;
	if (version == 3) {
		if (len < QCOW2_HEADER_MIN)
			return -EINVAL;
		uint64_t incompat = be64(buf + 72);
		if (incompat &
		    ~(QCOW2_INCOMPAT_DIRTY | QCOW2_INCOMPAT_COMPRESSION | QCOW2_INCOMPAT_EXTL2))
			return -EOPNOTSUPP;
	}
	if (size > INT64_MAX) /* what every consumer of sizes can hold */
		return -EOPNOTSUPP;
	if (boff == 0) {
		blen = 0;
	} else if (blen == 0 || blen > QCOW2_BACKING_MAX || boff > (1ull << cbits) ||
	           boff + blen > (1ull << cbits) || boff < 72) {
		return -EOPNOTSUPP;
	}
	*ret = (struct image_header){
	    .virtual_size = size, .backing_offset = boff, .backing_len = blen};
	return 0;
}

/* No NUL (xstrndup would cut there) and no control characters. */
static bool name_clean(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] < 0x20 || p[i] == 0x7f)
			return false;
	return true;
}

char *qcow2_backing_name(const uint8_t *buf, size_t len, const struct image_header *h)
{
	if (!h->backing_offset || h->backing_offset > len ||
	    h->backing_len > len - h->backing_offset)
		return NULL;
	const uint8_t *p = buf + h->backing_offset;
	return name_clean(p, h->backing_len) ? xstrndup((const char *)p, h->backing_len) : NULL;
}

static int read_at(int fd, uint8_t *buf, size_t len, off_t off)
{
	size_t got = 0;
	while (got < len) {
		ssize_t n = pread(fd, buf + got, len - got, off + (off_t)got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EINVAL; /* shorter than its header says */
		got += (size_t)n;
	}
	return 0;
}

int image_header_read(const char *path, const char *fmt, uint64_t *ret_size, char **ret_backing)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
	struct stat s;
	if (fd < 0)
		return -errno;
	if (fstat(fd, &s) < 0)
		return -errno;
	if (!S_ISREG(s.st_mode))
		return -EOPNOTSUPP;
	if (streq(fmt, "raw")) {
		*ret_size = (uint64_t)s.st_size;
		*ret_backing = NULL;
		return 0;
	}
	if (!streq(fmt, "qcow2"))
		return -EOPNOTSUPP;

	uint8_t head[QCOW2_HEADER_MIN];
	struct image_header h;
	if (s.st_size < (off_t)sizeof(head))
		return -EOPNOTSUPP;
	int r = read_at(fd, head, sizeof(head), 0);
	if (r < 0)
		return r == -EINVAL ? -EOPNOTSUPP : r;
	r = qcow2_header_parse(head, sizeof(head), &h);
	if (r < 0)
		return -EOPNOTSUPP;
	char *backing = NULL;
	if (h.backing_offset) {
		uint8_t name[QCOW2_BACKING_MAX];
		r = read_at(fd, name, h.backing_len, (off_t)h.backing_offset);
		if (r < 0)
			return r == -EINVAL ? -EOPNOTSUPP : r;
		if (!name_clean(name, h.backing_len))
			return -EOPNOTSUPP;
		backing = xstrndup((const char *)name, h.backing_len);
	}
	*ret_size = h.virtual_size;
	*ret_backing = backing;
	return 0;
}
