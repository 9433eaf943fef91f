/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The table of named operations (task.h): which task types exist, what
 * their arguments look like, and which function runs each.  Filled once at
 * startup by the layers that own the work; read-only afterwards, so the
 * daemon's threads and forked workers share it without a lock.
 */
#include "common.h"

#include "error.h"
#include "task-priv.h"
#include "task.h"
#include "xalloc.h"

struct task_ops_entry {
	const struct task_op *op;
	void *env;
};

struct task_ops {
	struct task_ops_entry *v;
	size_t n;
};

struct task_ops *task_ops_new(void)
{
	return xnew(struct task_ops, 1);
}

struct task_ops *task_ops_free(struct task_ops *reg)
{
	if (reg) {
		free(reg->v);
		free(reg);
	}
	return NULL;
}

const struct task_op *task_ops_find(const struct task_ops *reg, const char *type, void **ret_env)
{
	/* a linear search: a handful of types, compared once per task start */
	for (size_t i = 0; reg && i < reg->n; i++)
		if (streq(reg->v[i].op->type, type)) {
			if (ret_env)
				*ret_env = reg->v[i].env;
			return reg->v[i].op;
		}
	return NULL;
}

static int check_entry(const struct task_ops *reg, const struct task_op *table,
                       const struct task_op *op, struct error **err)
{
	if (!upid_field_valid(op->type, strlen(op->type), false))
		return error_set(err, -EINVAL, 500, "invalid task type '%s'", op->type);
	if (!op->run)
		return error_set(err, -EINVAL, 500, "task type '%s' has no run function", op->type);
	for (const struct task_op_arg *a = op->args; a && a->name; a++)
		if (a->max_len > TASK_ARG_TEXT_MAX)
			return error_set(err, -EINVAL, 500,
			                 "argument '%s' of task type '%s' too long", a->name,
			                 op->type);
	bool twice = task_ops_find(reg, op->type, NULL) != NULL;
	for (const struct task_op *o = table; !twice && o != op; o++)
		twice = streq(o->type, op->type);
	if (twice)
		return error_set(err, -EEXIST, 500, "task type '%s' registered twice", op->type);
	return 0;
}

int task_ops_register(struct task_ops *reg, const struct task_op *table, void *env,
                      struct error **err)
{
	size_t n = 0;
	for (const struct task_op *op = table; op->type; op++, n++) {
		int r = check_entry(reg, table, op, err);
		if (r < 0)
			return r;
	}
	reg->v = xrealloc(reg->v, (reg->n + n) * sizeof(*reg->v));
	for (size_t i = 0; i < n; i++)
		reg->v[reg->n++] = (struct task_ops_entry){.op = &table[i], .env = env};
	return 0;
}

static bool has_control_chars(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return true;
	return false;
}

static const struct task_op_arg *find_arg(const struct task_op *op, const char *name)
{
	for (const struct task_op_arg *a = op->args; a && a->name; a++)
		if (streq(a->name, name))
			return a;
	return NULL;
}

/* The shape is checked before the op's own check ever sees a value, so
 * check and run functions may take json_string_value() and friends as
 * given.  A failure is the caller's bug (a handler or a helper's client
 * sent what the table does not declare), hence 500. */
int task_op_check_args(const struct task_op *op, const json_t *args, struct error **err)
{
	if (!json_is_object(args))
		return error_set(err, -EINVAL, 500, "invalid arguments of task type '%s'",
		                 op->type);
	const char *key;
	json_t *v;
	json_object_foreach ((json_t *)args, key, v) {
		const struct task_op_arg *a = find_arg(op, key);
		bool ok = false;
		if (!a)
			return error_set(err, -EINVAL, 500,
			                 "unknown argument '%s' of task type '%s'", key, op->type);
		switch (a->type) {
		case TASK_ARG_STRING:
			ok = json_is_string(v) &&
			     json_string_length(v) <=
			         (a->max_len ? a->max_len : TASK_ARG_STRING_MAX) &&
			     !has_control_chars(json_string_value(v), json_string_length(v));
			break;
		case TASK_ARG_INTEGER:
			ok = json_is_integer(v);
			break;
		case TASK_ARG_BOOLEAN:
			ok = json_is_boolean(v);
			break;
		}
		if (!ok)
			return error_set(err, -EINVAL, 500,
			                 "invalid argument '%s' of task type '%s'", key, op->type);
	}
	for (const struct task_op_arg *a = op->args; a && a->name; a++)
		if (!a->optional && !json_object_get(args, a->name))
			return error_set(err, -EINVAL, 500,
			                 "missing argument '%s' of task type '%s'", a->name,
			                 op->type);
	return op->check ? op->check(args, err) : 0;
}
