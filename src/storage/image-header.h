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
 *
 * The same file holds the checks of what an image names outside itself
 * (backing, data and extent files): images from outside are refused any,
 * images of a storage only those inside it, before qemu-img opens them.
 */
#pragma once

#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>

struct error;

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

/*
 * What an image names besides its own file, as qemu reads it when it opens
 * the image with an explicit format.  A qcow2 may name a backing file (with
 * its format in a header extension) and an external data file; a vmdk may
 * name a parent (parentFileNameHint in its descriptor) and, when it is a
 * text descriptor or a sparse header with capacity 0 pointing at an
 * embedded descriptor, extent files.  Each of these is a path that qemu
 * opens (and reads, on a copy) as whoever runs it: here root.
 */
struct image_refs {
	bool backing;       /* a backing file or parent is named */
	char *backing_name; /* its name when that is clean text, else NULL */
	char *backing_fmt;  /* qcow2: the recorded backing format, else NULL */
	bool data_file;     /* qcow2: external data file (feature bit or name) */
	bool extents;       /* vmdk: extent files named by a descriptor */
};

void image_refs_clear(struct image_refs *r);

/* The most of an image's start the checks look at: the qcow2 header and its
 * extensions lie in the first cluster (at most 2 MiB), a vmdk's descriptor
 * within 10 KiB after its first sector. */
#define IMAGE_HEAD_MAX (2u << 20)

/*
 * Parses the references of an image of format fmt ("raw", "qcow2" or
 * "vmdk") from buf, its first len bytes; bytes past len read as zeros, as
 * qemu reads past the end of a file, so callers pass min(file size,
 * IMAGE_HEAD_MAX) bytes.  -EINVAL when buf is not an image of that format
 * qemu would open, -EOPNOTSUPP for any other format (neither is checked
 * here, so neither may be trusted).  A pure function, fuzzed.
 */
int image_refs_parse(const uint8_t *buf, size_t len, const char *fmt, struct image_refs *ret,
                     struct error **err);

/*
 * The check for an image that enters a storage from outside (upload,
 * download-url, a guest's import-from), before it is moved into place: the
 * format must be raw, qcow2 or vmdk, and the file a regular file of that
 * format that names nothing outside itself (no backing file, data file or
 * extent file), as Proxmox refuses them.  Our own parser decides first, so
 * qemu never opens a path the file names; then `qemu-img info -f <fmt>`
 * (10 s deadline) must agree.  -EPERM for a refused reference, -EINVAL for
 * a file that is not of the format, -EOPNOTSUPP for a format not allowed.
 */
int image_check_untrusted(const char *path, const char *fmt, struct error **err);

/*
 * A host file as the source of a disk import (root only): a regular file
 * (opened without following a link, so no device, fifo or link to one),
 * its format probed as qemu would (raw, qcow2 or vmdk; formats with
 * references refused) and then checked by image_check_untrusted().  The
 * format (a static string) and virtual size are returned.  The path is
 * checked, not held: the caller is root and owns the host's files.
 */
int image_check_host_file(const char *path, const char **ret_fmt, uint64_t *ret_size,
                          struct error **err);

/*
 * The check before qemu-img opens an image of a storage.  Always: no data
 * file and no extent files (`qemu-img info` opens those, though not the
 * backing chain).  With root (a directory): the backing chain, as qemu
 * would resolve and open it (convert, resize, snapshot, or a clone's
 * base), must lie inside root, at most 16 deep, each link named relative
 * to its image or absolute, without a protocol prefix, with a recorded
 * format or one that probes as a format without references.
 */
int image_check_confined(const char *path, const char *fmt, const char *root, struct error **err);
