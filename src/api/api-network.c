/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * GET /nodes/{node}/network: the host's bridges and interfaces as the
 * kernel has them (netif.h), in Proxmox's shape.  ctvm does not write
 * /etc/network/interfaces: the list is what exists, not what is planned,
 * so there are no pending changes and every entry has exists=1.
 */
#include "common.h"

#include "api-internal.h"
#include "api.h"
#include "error.h"
#include "netif.h"

static const char *const network_types[] = {
    "bridge",           "bond",        "eth",     "alias",      "vlan", "fabric",
    "OVSBridge",        "OVSBond",     "OVSPort", "OVSIntPort", "vnet", "any_bridge",
    "any_local_bridge", "include_sdn", NULL,
};

static bool type_matches(const char *want, const char *type)
{
	if (!want || streq(want, "include_sdn"))
		return true;
	if (streq(want, "any_bridge") || streq(want, "any_local_bridge"))
		return streq(type, "bridge") || streq(type, "OVSBridge");
	return streq(want, type);
}

static int api_network_index(struct api_call *call, json_t **ret, struct error **err)
{
	json_t *all = NULL;
	int r = netif_list("/sys", &all, err);
	if (r < 0)
		return r;
	const char *want = api_param_str(call, "type");
	json_t *a = json_array();
	size_t i;
	json_t *e;
	json_array_foreach (all, i, e) {
		if (type_matches(want, json_string_value(json_object_get(e, "type"))))
			json_array_append(a, e);
	}
	json_decref(all);
	*ret = a;
	return 0;
}

const struct api_method api_methods_network[] = {
    {
        .path = "/nodes/{node}/network",
        .verb = "GET",
        .name = "index",
        .description = "List available networks",
        .params = (const struct api_param[]){API_PARAM_NODE,
                                             {.name = "type",
                                              .type = API_TYPE_STRING,
                                              .optional = true,
                                              .enum_values = network_types,
                                              .description = "Only list specific interface types."},
                                             API_END},
        .returns = {.type = API_TYPE_ARRAY, .items = API_TYPE_OBJECT},
        .perm = API_CHECK(API_PERM("/nodes/{node}", "Sys.Audit")),
        .handler = api_network_index,
    },
    {.path = NULL},
};
