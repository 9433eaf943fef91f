/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Daemon log with levels (docs/dev/LOGGING.md).
 *
 * Library layers (util, conf, access, task, storage, guest) return errors and
 * log at most at debug level; request handlers and task workers log once.
 * Each .c file names its category before including this header:
 *
 *     #define LOG_CATEGORY "http"
 *
 * Message style: lowercase, what failed first, subject in single quotes, no
 * trailing period; non-fatal warnings end with ", ignoring".
 * Never log a password, ticket, CSRF token or token secret.
 */
#pragma once

#include <stdarg.h>

enum log_level {
	LOG_LEVEL_ERROR,
	LOG_LEVEL_WARN,
	LOG_LEVEL_INFO,
	LOG_LEVEL_DEBUG,
	_LOG_LEVEL_MAX,
	_LOG_LEVEL_INVALID = -22,
};

/* path NULL: stderr.  Safe to call again (SIGHUP reopens the file). */
int log_open(const char *path, enum log_level level);
void log_close(void);
void log_set_level(enum log_level level);
enum log_level log_get_level(void);
enum log_level log_level_from_string(const char *s);

void log_write(enum log_level level, const char *category, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void log_vwrite(enum log_level level, const char *category, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

#ifndef LOG_CATEGORY
#define LOG_CATEGORY "ctvm"
#endif

#define log_error(...) log_write(LOG_LEVEL_ERROR, LOG_CATEGORY, __VA_ARGS__)
#define log_warn(...)  log_write(LOG_LEVEL_WARN, LOG_CATEGORY, __VA_ARGS__)
#define log_info(...)  log_write(LOG_LEVEL_INFO, LOG_CATEGORY, __VA_ARGS__)
#define log_debug(...)                                                         \
	do {                                                                   \
		if (log_get_level() >= LOG_LEVEL_DEBUG)                        \
			log_write(LOG_LEVEL_DEBUG, LOG_CATEGORY, __VA_ARGS__); \
	} while (0)
