/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Shared between lxc-conf.c and the table in lxc-conf-props.c: the value
 * checks of PVE's container formats (messages as PVE::JSONSchema's). */
#pragma once

#include "lxc-conf.h"
#include "property.h"

/* pve-lxc-mp-string: no "/./", "/../", trailing "/." or "/..", leading
 * "../" ("<x> contains illegal character sequences"). */
conf_check_fn lxc_check_mp_string;
/* pve-lxc-dev-string: /dev/..., no "." or ".." components. */
conf_check_fn lxc_check_dev_string;
/* dns-name, and dns-name-list (searchdomain) */
conf_check_fn lxc_check_dns_name;
conf_check_fn lxc_check_dns_name_list;
/* lxc-ip-with-ll-iface-list (nameserver): IPv4 or IPv6 addresses, a
 * link-local IPv6 one with %iface */
conf_check_fn lxc_check_nameserver_list;
/* pve-ipv4-config (CIDR|dhcp|manual), ipv4, pve-ipv6-config
 * (CIDR|auto|dhcp|manual), ipv6 */
conf_check_fn lxc_check_ipv4_config;
conf_check_fn lxc_check_ipv4;
conf_check_fn lxc_check_ipv6_config;
conf_check_fn lxc_check_ipv6;
/* pve-ct-timezone: "host", "UTC" or a zone name as zone.tab has them */
conf_check_fn lxc_check_timezone;
/* pve-tag-list */
conf_check_fn lxc_check_tags;
/* pve-startup-order (guest_startup_parse()) */
conf_check_fn lxc_check_startup;
