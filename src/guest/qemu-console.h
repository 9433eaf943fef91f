/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * qemu-console: what ctvm adds to a VM's screen beyond Proxmox
 * (docs/consoles.md): a screenshot as PNG, and text typed as key presses.
 * Both talk QMP to the running VM; neither holds a thread or a file past
 * the call.
 */
#pragma once

#include <jansson.h>
#include <stddef.h>

struct error;
struct guest_store;

/* A screenshot's size limit: a 4096x2160 screen is about 26 MiB raw. */
#define QEMU_SCREENSHOT_MAX (32u << 20)
/* The longest text typed at once, in bytes. */
#define QEMU_TYPE_TEXT_MAX 1024

/*
 * The screen of running VM vmid as PNG: QMP screendump (format png) into a
 * file of a random name in the VM's 0700 run directory, read (at most
 * QEMU_SCREENSHOT_MAX, never through a link) and removed.  500 "VM 100 not
 * running" when it does not run.
 */
int qemu_console_screenshot(struct guest_store *gs, long vmid, char **ret_png, size_t *ret_len,
                            struct error **err);

/*
 * The QMP send-key key lists that type text (UTF-8) on a guest whose
 * keyboard layout is keymap (NULL: en-us, QEMU's and PVE's default): an
 * array of arrays of qcode names, one per character ("A" is shift + a,
 * "\n" ret, "\t" tab).  Pure.  Only en-us is known: another keymap is 501;
 * characters it cannot type are 400 (parameter text) naming each once.
 */
int qemu_console_text_keys(const char *text, const char *keymap, json_t **ret, struct error **err);

/*
 * Types text on running VM vmid: its config's keyboard as keymap, one QMP
 * send-key per character over one connection, in order.  Refused while
 * the VM is locked unless skiplock (as sendkey).  *ret_keys (may be NULL)
 * is the number of characters typed.
 */
int qemu_console_type(struct guest_store *gs, long vmid, const char *text, bool skiplock,
                      size_t *ret_keys, struct error **err);
