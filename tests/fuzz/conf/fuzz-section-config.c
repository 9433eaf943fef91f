/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * section-config parser and writer on arbitrary bytes: parse leniently with
 * and without a schema, write, and check that writing is a fixed point
 * (parse(write(x)) writes the same text again).
 */
#include "common.h"

#include "error.h"
#include "section-config.h"
#include "strbuf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const modes[] = {"ldap", "ldaps", NULL};
static const struct conf_propstring net = {
    .default_key = "model",
    .props =
        (const struct conf_prop[]){
            {.name = "model", .type = CONF_TYPE_ENUM, .enum_values = modes},
            {.name = "m", .alias = "model"},
            {.name = "tag",
             .type = CONF_TYPE_INTEGER,
             .flags = CONF_PROP_OPTIONAL,
             .has_min = true,
             .min = 1,
             .has_max = true,
             .max = 4094},
            {.name = "fw", .type = CONF_TYPE_BOOLEAN, .flags = CONF_PROP_OPTIONAL},
            {.name = NULL},
        },
};
static const struct conf_prop keys[] = {
    {.name = "path", .type = CONF_TYPE_STRING},
    {.name = "comment", .type = CONF_TYPE_STRING},
    {.name = "default", .type = CONF_TYPE_BOOLEAN},
    {.name = "port",
     .type = CONF_TYPE_INTEGER,
     .has_min = true,
     .min = 1,
     .has_max = true,
     .max = 65535},
    {.name = "mode", .type = CONF_TYPE_ENUM, .enum_values = modes},
    {.name = "server", .type = CONF_TYPE_STRING, .flags = CONF_PROP_ARRAY},
    {.name = "net",
     .type = CONF_TYPE_PROPSTRING,
     .flags = CONF_PROP_INDEXED,
     .index_max = 31,
     .sub = &net},
    {.name = NULL},
};
static const struct section_prop props[] = {
    {.prop = &keys[0]},
    {.prop = &keys[1], .optional = true},
    {.prop = &keys[2], .optional = true},
    {.prop = &keys[3], .optional = true},
    {.prop = &keys[4], .optional = true},
    {.prop = &keys[5], .optional = true},
    {.prop = &keys[6], .optional = true},
};
static const struct section_type types[] = {{"dir", props, ARRAY_SIZE(props)},
                                            {"pve", props + 1, ARRAY_SIZE(props) - 1}};
static const struct section_schema schemas[] = {
    {.types = types, .n_types = ARRAY_SIZE(types)},
    {.types = types, .n_types = ARRAY_SIZE(types), .allow_unknown = true, .lowercase_type = true},
};

static void check(const char *data, size_t size, const struct section_schema *schema,
                  unsigned flags)
{
	struct section_config *c = NULL;
	struct error *e = NULL;
	if (section_config_parse(data, size, schema, flags, &c, &e) < 0) {
		error_free(e);
		return;
	}
	struct strbuf out = STRBUF_INIT;
	if (section_config_write(c, schema, &out, &e) == 0) {
		struct section_config *c2 = NULL;
		struct error *e2 = NULL;
		if (section_config_parse(out.buf, out.len, schema, 0, &c2, &e2) < 0)
			abort(); /* our own output must parse */
		struct strbuf out2 = STRBUF_INIT;
		if (section_config_write(c2, schema, &out2, &e2) < 0 || !streq(out.buf, out2.buf))
			abort(); /* and write back identically */
		strbuf_release(&out2);
		section_config_free(c2);
		error_free(e2);
	}
	error_free(e);
	strbuf_release(&out);
	section_config_free(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	check(s, size, NULL, 0);
	check(s, size, &schemas[0], 0);
	check(s, size, &schemas[1], 0);
	check(s, size, &schemas[1], SECTION_CONFIG_STRICT);
	return 0;
}
