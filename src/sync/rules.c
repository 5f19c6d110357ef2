/*
 * rules.c -- the rules file (db/sync/anonymization.yaml) and the key.
 *
 * The precursor's format, {table: [{column, strategy, seed?}]}, extended:
 * each rule may carry its strategy's parameters, a table may be written as
 * {where: SQL, columns: [rules]} to keep a subset of its rows, and a top-level
 * key_env: names the variable holding the key.
 */
#include "sync.h"
#include "ctx.h"
#include "error.h"
#include "fs.h"
#include "hash.h"
#include "log.h"

#include <stdlib.h>
#include <string.h>

static void table_rules_release(table_rules *t)
{
	for (size_t i = 0; i < t->n_rules; i++)
		strat_release(&t->rules[i]);
	free(t->rules);
	free(t->name);
	free(t->where);
}

void rules_free(sync_rules *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n_tables; i++)
		table_rules_release(&r->tables[i]);
	free(r->tables);
	free(r->shown);
	free(r->key_env);
	cf_memzero(r->master, sizeof(r->master));
	free(r);
}

static cf_status rule_from_node(cf_ctx *ctx, const cf_ydoc *doc, const cf_ynode *n,
                                table_rules *t)
{
	if (n->kind != CF_Y_MAP)
		return cf_ynode_type_error(ctx, doc, n, "rule", "{column: ..., strategy: ...}");
	const cf_ynode *col = cf_ynode_get(n, "column");
	if (!col || col->kind != CF_Y_SCALAR || !*col->str) {
		cf_error_set(ctx, CF_ERR_CONFIG, "rule for table \"%s\" has no \"column\"", t->name);
		cf_error_at(ctx, doc->file, n->line, n->column);
		cf_error_hint(ctx, "Write e.g. {column: email, strategy: email}.");
		return CF_ERR_CONFIG;
	}
	for (size_t i = 0; i < t->n_rules; i++)
		if (strcmp(t->rules[i].column, col->str) == 0) {
			cf_error_set(ctx, CF_ERR_CONFIG, "column \"%s\" of table \"%s\" has two rules",
			             col->str, t->name);
			cf_error_at(ctx, doc->file, col->line, col->column);
			cf_error_detail(ctx, "The first one is at line %d.", t->rules[i].line);
			return CF_ERR_CONFIG;
		}
	mask_rule *r = &t->rules[t->n_rules];
	memset(r, 0, sizeof(*r));
	static const char *const skip[] = {"column"};
	cf_status st = strat_parse(ctx, doc, n, skip, 1, r);
	if (st) {
		strat_release(r);
		return st;
	}
	r->column = cf_strdup(col->str);
	t->n_rules++;
	return CF_OK;
}

static cf_status rules_list(cf_ctx *ctx, const cf_ydoc *doc, const cf_ynode *list, table_rules *t)
{
	if (list->kind == CF_Y_NULL)
		return CF_OK;
	if (list->kind != CF_Y_SEQ)
		return cf_ynode_type_error(ctx, doc, list, t->name, "a list of rules");
	t->rules = cf_calloc(list->n + 1, sizeof(mask_rule));
	for (size_t i = 0; i < list->n; i++) {
		cf_status st = rule_from_node(ctx, doc, list->v[i], t);
		if (st)
			return st;
	}
	return CF_OK;
}

static cf_status table_from_map(cf_ctx *ctx, const cf_ydoc *doc, const cf_ynode *m, table_rules *t)
{
	static const char *const known[] = {"where", "columns"};
	for (size_t i = 0; i < m->n; i++) {
		const char *k = m->k[i]->str;
		const cf_ynode *v = m->v[i];
		cf_status st = CF_OK;
		if (strcmp(k, "where") == 0) {
			st = v->kind == CF_Y_SCALAR && *v->str
			         ? CF_OK
			         : cf_ynode_type_error(ctx, doc, v, "where", "an SQL condition");
			if (!st) {
				t->where = cf_strdup(v->str);
				t->where_line = v->line;
			}
		} else if (strcmp(k, "columns") == 0) {
			st = rules_list(ctx, doc, v, t);
		} else {
			char *where = cf_asprintf("table \"%s\"", t->name);
			st = cf_ynode_unknown_key(ctx, doc, m->k[i], where, known, 2);
			free(where);
		}
		if (st)
			return st;
	}
	return CF_OK;
}

/* A canonical text of a YAML node (for the fingerprint of a table's rules:
 * comments, spacing and quoting do not count, values and order do). */
static void node_text(const cf_ynode *n, cf_buf *b)
{
	switch (n->kind) {
	case CF_Y_NULL:
		cf_buf_puts(b, "~");
		break;
	case CF_Y_SCALAR:
		cf_buf_printf(b, "%zu:%s", strlen(n->str), n->str);
		break;
	case CF_Y_MAP:
		cf_buf_putc(b, '{');
		for (size_t i = 0; i < n->n; i++) {
			node_text(n->k[i], b);
			cf_buf_putc(b, '=');
			node_text(n->v[i], b);
			cf_buf_putc(b, ';');
		}
		cf_buf_putc(b, '}');
		break;
	case CF_Y_SEQ:
		cf_buf_putc(b, '[');
		for (size_t i = 0; i < n->n; i++) {
			node_text(n->v[i], b);
			cf_buf_putc(b, ';');
		}
		cf_buf_putc(b, ']');
		break;
	}
}

static cf_status rules_from_doc(cf_ctx *ctx, const cf_ydoc *doc, sync_rules *r)
{
	const cf_ynode *root = doc->root;
	if (!root)
		return CF_OK;
	if (root->kind != CF_Y_MAP)
		return cf_ynode_type_error(ctx, doc, root, "the rules file",
		                           "a mapping of tables to lists of rules");
	r->tables = cf_calloc(root->n + 1, sizeof(table_rules));
	for (size_t i = 0; i < root->n; i++) {
		const cf_ynode *k = root->k[i], *v = root->v[i];
		if (strcmp(k->str, "key_env") == 0 && v->kind == CF_Y_SCALAR) {
			r->key_env = cf_strdup(v->str);
			r->key_env_line = v->line;
			continue;
		}
		table_rules *t = &r->tables[r->n_tables++];
		t->name = cf_strdup(k->str);
		t->line = k->line;
		t->col = k->column;
		cf_buf canon;
		cf_buf_init(&canon);
		node_text(v, &canon);
		cf_sha256_hex(canon.data, canon.len, t->sha256);
		cf_buf_release(&canon);
		cf_status st;
		if (v->kind == CF_Y_MAP) {
			st = table_from_map(ctx, doc, v, t);
		} else if (v->kind == CF_Y_SEQ || v->kind == CF_Y_NULL) {
			st = rules_list(ctx, doc, v, t);
		} else {
			char *what = cf_asprintf("table \"%s\"", k->str);
			st = cf_ynode_type_error(ctx, doc, v, what,
			                         "a list of rules, or {where: ..., columns: [...]}");
			free(what);
		}
		if (st)
			return st;
	}
	return CF_OK;
}

cf_status rules_load(cf_ctx *ctx, const char *path, const char *shown, sync_rules **out)
{
	*out = NULL;
	char *text = NULL;
	size_t len = 0;
	if (!cf_is_file(path)) {
		cf_error_set(ctx, CF_ERR_CONFIG, "rules file \"%s\" does not exist", shown);
		cf_error_hint(ctx, "Create it (see docs/anonymization.md), pass --rules FILE, or set "
		                   "sync.rules in the configuration.");
		return CF_ERR_CONFIG;
	}
	cf_status st = cf_file_read(ctx, path, &text, &len);
	if (st) {
		cf_error_recode(ctx, CF_ERR_CONFIG);
		return CF_ERR_CONFIG;
	}
	sync_rules *r = cf_calloc(1, sizeof(*r));
	r->shown = cf_strdup(shown);
	cf_sha256_hex(text, len, r->sha256);
	cf_ydoc *doc = NULL;
	st = cf_yaml_parse(ctx, shown, text, len, CF_YAML_EXPAND_VARS, &doc);
	free(text);
	if (!st)
		st = rules_from_doc(ctx, doc, r);
	cf_ydoc_free(doc);
	if (st) {
		rules_free(r);
		return st;
	}
	*out = r;
	return CF_OK;
}

cf_status rules_set_key(cf_ctx *ctx, sync_rules *r, const char *default_env, bool allow_random)
{
	const char *var = r->key_env ? r->key_env : default_env;
	const char *val = var ? getenv(var) : NULL;
	if (!val || !*val) {
		if (allow_random) {
			cf_random_bytes(r->master, sizeof(r->master));
			r->is_random = true;
			cf_log_warning(ctx, "no anonymization key in %s: masking with a random key; this "
			                    "run's output cannot be reproduced", var ? var : "the environment");
		} else {
			cf_error_set(ctx, CF_ERR_CONFIG, "no anonymization key: environment variable "
			             "\"%s\" is not set", var ? var : "CONFITURE_ANON_KEY");
			if (r->key_env)
				cf_error_at(ctx, r->shown, r->key_env_line, 0);
			cf_error_detail(ctx, "Masking is deterministic under a secret key, so that joins "
			                     "survive and reruns agree.");
			cf_error_hint(ctx, "Export %s with a long random secret (openssl rand -hex 32), "
			                   "or pass --allow-random to mask with a random key.",
			              var ? var : "CONFITURE_ANON_KEY");
			return CF_ERR_CONFIG;
		}
	} else {
		char *key = cf_strdup(val);
		cf_ctx_add_secret(ctx, key);
		static const char tag[] = "confiture anonymization master key v1";
		cf_keyed_hash(key, strlen(key), tag, sizeof(tag) - 1, r->master, sizeof(r->master));
		if (strlen(key) < 16)
			cf_log_warning(ctx, "the anonymization key in %s is short (%zu characters); use "
			                    "32 random bytes or more", var, strlen(key));
		cf_secret_free(key);
		r->has_key = true;
	}
	for (size_t i = 0; i < r->n_tables; i++)
		for (size_t k = 0; k < r->tables[i].n_rules; k++)
			strat_prime(&r->tables[i].rules[k], r->master);
	/* Tells one key from another (an incremental sync must mask every row
	 * again under a new key), revealing nothing of it. */
	static const char ftag[] = "confiture key fingerprint v1";
	unsigned char fp[16];
	cf_keyed_hash(r->master, sizeof(r->master), ftag, sizeof(ftag) - 1, fp, sizeof(fp));
	cf_hex_encode(fp, sizeof(fp), r->key_fingerprint);
	return CF_OK;
}
