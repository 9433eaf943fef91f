/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * image-header: the two facts a volume list needs of a disk image (its
 * virtual size and its backing file), read from the image's own header
 * instead of running `qemu-img info` once per image.  Listing a storage
 * with a hundred qcow2 disks was a hundred process spawns (~8 ms each
 * here) on every GET .../content and every status probe.
 *
 * Only what is simple and certain is taken: raw (the file size) and qcow2
 * versions 2 and 3 with no feature this reader does not know.  Anything
 * else is -EOPNOTSUPP and the caller asks qemu-img.  The header is data
 * inside a file a guest's disk lives in, so every offset and length is
 * checked against the qcow2 specification's bounds before use.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* The first bytes callers read: the whole fixed header of version 3. */
#define QCOW2_HEADER_MIN 104u

struct image_header {
	uint64_t virtual_size;
	uint64_t backing_offset; /* 0: no backing file */
	uint32_t backing_len;
};

/* Parses the fixed qcow2 header at the start of buf.  -EINVAL when it is
 * not qcow2, -EOPNOTSUPP when it is one this reader leaves to qemu-img. */
int qcow2_header_parse(const uint8_t *buf, size_t len, struct image_header *ret);

/* The backing file name stored at ret->backing_offset (buf holds the file
 * from offset 0 on, len bytes); NULL when the name is missing, not fully
 * inside buf, or holds a NUL or control character. */
char *qcow2_backing_name(const uint8_t *buf, size_t len, const struct image_header *h);

/* Reads virtual size and backing file name of the image at path (fmt "raw"
 * or "qcow2"); *ret_backing is NULL when there is none.  -EOPNOTSUPP for
 * anything qemu-img must look at, -errno for I/O errors. */
int image_header_read(const char *path, const char *fmt, uint64_t *ret_size, char **ret_backing);
