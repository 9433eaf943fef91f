/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * api-console-rows: the pieces of method rows the console tables share
 * (api-console.c's guest consoles, api-acl.c's node shell): the ticket
 * rows and their vncwebsocket give the same parameters the same words
 * wherever PVE does, so they are written once, as api-guest-rows.h does
 * for the guest kinds. Rows only: data for api_method tables, no handler.
 */
#pragma once

#include "api-method.h"

/* The node shell's check (termproxy, vncshell, vncwebsocket): a pam
 * user's Sys.Console on the node; the rows also carry API_NO_TOKEN. */
#define PERM_NODE_CONSOLE                                                          \
	API_CHECK_DESC(API_PERM("/nodes/{node}", "Sys.Console"),                   \
	               "Restricted to users of a pam realm with 'Sys.Console' on " \
	               "/nodes/<node>; never API tokens.")

/* vncwebsocket's port and vncticket, as the ticket row (proxy: its name,
 * "vncproxy" or "termproxy") answered them. */
#define P_VNCWEBSOCKET(proxy)                                                    \
	{.name = "port",                                                         \
	 .type = API_TYPE_INTEGER,                                               \
	 .minimum = 5900,                                                        \
	 .maximum = 5999,                                                        \
	 .has_min = true,                                                        \
	 .has_max = true,                                                        \
	 .description = "The port " proxy " answered."},                         \
	{                                                                        \
		.name = "vncticket", .type = API_TYPE_STRING, .max_length = 512, \
		.description = "The ticket " proxy " answered."                  \
	}

/* A ticket row's websocket flag; PVE words it per row (d). */
#define P_WEBSOCKET(d)                                                           \
	{                                                                        \
		.name = "websocket", .type = API_TYPE_BOOLEAN, .optional = true, \
		.description = (d)                                               \
	}

/* vncproxy's and vncshell's width and height: taken and bounded, not used,
 * since ctvm's terminal takes the client's size. */
#define P_TERM_SIZE                                                                          \
	{.name = "width",                                                                    \
	 .type = API_TYPE_INTEGER,                                                           \
	 .optional = true,                                                                   \
	 .minimum = 16,                                                                      \
	 .maximum = 4096,                                                                    \
	 .has_min = true,                                                                    \
	 .has_max = true,                                                                    \
	 .description = "Not used: the terminal takes the client's size."},                  \
	{                                                                                    \
		.name = "height", .type = API_TYPE_INTEGER, .optional = true, .minimum = 16, \
		.maximum = 2160, .has_min = true, .has_max = true,                           \
		.description = "Not used: the terminal takes the client's size."             \
	}

/* /nodes/{node}/<kind>/{vmid}/<nm> (vncproxy, termproxy, vncwebsocket):
 * a guest's console row under VM.Console, answering an object; the
 * parameters after node and vmid are the rest, each followed by a comma
 * (none: a trailing empty argument). */
#define GUEST_CONSOLE_ROW(kind, nm, verb_, flags_, desc, fn, ...)                          \
	{                                                                                  \
		.path = "/nodes/{node}/" kind "/{vmid}/" nm, .verb = verb_, .name = nm,    \
		.description = desc,                                                       \
		.params = (const struct api_param[]){API_PARAM_NODE, API_PARAM_VMID,       \
		                                     __VA_ARGS__ API_END},                 \
		.returns = {.type = API_TYPE_OBJECT},                                      \
		.perm = API_CHECK(API_PERM("/vms/{vmid}", "VM.Console")), .flags = flags_, \
		.handler = fn,                                                             \
	}
