/*
 * tree.c -- helpers over libpg_query's protobuf nodes: names, types,
 * constant expressions.
 */
#include "lint_int.h"

#include <stdlib.h>
#include <string.h>

char *lint_rangevar_name(const PgQuery__RangeVar *rv)
{
	if (!rv || !rv->relname)
		return cf_strdup("?");
	if (rv->schemaname && *rv->schemaname)
		return cf_asprintf("%s.%s", rv->schemaname, rv->relname);
	return cf_strdup(rv->relname);
}

const char *lint_last_name(PgQuery__Node *const *items, size_t n)
{
	if (n == 0 || items[n - 1]->node_case != PG_QUERY__NODE__NODE_STRING)
		return NULL;
	return items[n - 1]->string->sval;
}

char *lint_join_names(PgQuery__Node *const *items, size_t n)
{
	cf_buf b;
	cf_buf_init(&b);
	for (size_t i = 0; i < n; i++) {
		if (items[i]->node_case != PG_QUERY__NODE__NODE_STRING)
			continue;
		if (b.len)
			cf_buf_putc(&b, '.');
		cf_buf_puts(&b, items[i]->string->sval);
	}
	char *out = cf_buf_detach(&b);
	return out;
}

const char *lint_type_name(const PgQuery__TypeName *t)
{
	return t ? lint_last_name(t->names, t->n_names) : NULL;
}

bool lint_type_is_catalog(const PgQuery__TypeName *t)
{
	return t && t->n_names == 2 && t->names[0]->node_case == PG_QUERY__NODE__NODE_STRING &&
	       strcmp(t->names[0]->string->sval, "pg_catalog") == 0;
}

int lint_typmod(const PgQuery__TypeName *t, size_t k)
{
	if (!t || k >= t->n_typmods)
		return -1;
	const PgQuery__Node *m = t->typmods[k];
	if (m->node_case == PG_QUERY__NODE__NODE_A_CONST &&
	    m->a_const->val_case == PG_QUERY__A__CONST__VAL_IVAL)
		return m->a_const->ival->ival;
	return -1;
}

const PgQuery__Constraint *lint_constraint(const PgQuery__Node *n)
{
	return n && n->node_case == PG_QUERY__NODE__NODE_CONSTRAINT ? n->constraint : NULL;
}

static const char *const NONVOLATILE[] = {
#include "nonvolatile.inc"
};

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

bool lint_is_nonvolatile_func(const char *name)
{
	return name && bsearch(&name, NONVOLATILE, sizeof(NONVOLATILE) / sizeof(*NONVOLATILE),
	                       sizeof(*NONVOLATILE), name_cmp) != NULL;
}

static bool all_constant(PgQuery__Node *const *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!lint_is_constant_expr(v[i]))
			return false;
	return true;
}

bool lint_is_constant_expr(const PgQuery__Node *e)
{
	if (!e)
		return false;
	switch (e->node_case) {
	case PG_QUERY__NODE__NODE_A_CONST:
		return true;
	case PG_QUERY__NODE__NODE_SQLVALUE_FUNCTION: /* CURRENT_TIMESTAMP, ...: stable */
		return true;
	case PG_QUERY__NODE__NODE_TYPE_CAST:
		return lint_is_constant_expr(e->type_cast->arg);
	case PG_QUERY__NODE__NODE_COLLATE_CLAUSE:
		return lint_is_constant_expr(e->collate_clause->arg);
	case PG_QUERY__NODE__NODE_A_ARRAY_EXPR:
		return all_constant(e->a_array_expr->elements, e->a_array_expr->n_elements);
	case PG_QUERY__NODE__NODE_A_EXPR:
		return (!e->a_expr->lexpr || lint_is_constant_expr(e->a_expr->lexpr)) &&
		       lint_is_constant_expr(e->a_expr->rexpr);
	case PG_QUERY__NODE__NODE_FUNC_CALL: {
		const PgQuery__FuncCall *fc = e->func_call;
		return !fc->agg_star && lint_is_nonvolatile_func(lint_last_name(fc->funcname,
		                                                                fc->n_funcname)) &&
		       all_constant(fc->args, fc->n_args);
	}
	default:
		return false;
	}
}
