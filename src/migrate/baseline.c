/*
 * baseline.c -- adopting a database whose schema is already there: record
 * migrations as applied without running them. The versions come from the
 * local files (--through), from another database's ledger (--from-db), or
 * from the history table of the tool used so far (--import): dbmate and
 * golang-migrate keep schema_migrations, Flyway flyway_schema_history.
 */
#include "migrate_int.h"
#include "ctx.h"
#include "dbref.h"
#include "log.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A row to record: from a local file, or copied from another ledger. */
typedef struct mark {
	const mig_file *f;   /* the local file, or NULL */
	const mig_row *row;  /* the source row (--from-db), or NULL */
} mark;

static bool is_numeric(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!isdigit((unsigned char)*s) && *s != '.')
			return false;
	return true;
}

/* Another tool's version V names local version L when the strings are
 * equal, or both are numbers that are equal (Flyway "1" and local "001"). */
static const mig_file *match_local(const mig_set *set, const char *v)
{
	const mig_file *f = mig_set_find(set, v);
	if (f || !is_numeric(v))
		return f;
	for (size_t i = 0; i < set->n; i++)
		if (is_numeric(set->v[i].version) && mig_num_cmp(set->v[i].version, v) == 0)
			return &set->v[i];
	return NULL;
}

static cf_status table_exists(cf_pg *pg, const char *name, bool *out)
{
	char *v = NULL;
	const char *params[] = {name};
	cf_status st = cf_pg_query_value(pg, "SELECT to_regclass($1) IS NOT NULL", 1, params, &v);
	*out = v && strcmp(v, "t") == 0;
	free(v);
	return st;
}

static cf_status no_history(cf_ctx *ctx, const char *tool, const char *table, const char *db)
{
	cf_error_set(ctx, CF_ERR_VALIDATION, "no %s history in \"%s\": table \"%s\" does not exist",
	             tool, db, table);
	cf_error_hint(ctx, "Point --from-db at the database %s managed.", tool);
	return CF_ERR_VALIDATION;
}

/* Reads another tool's applied versions from PG into VERSIONS. */
static cf_status read_tool(cf_ctx *ctx, cf_pg *pg, const char *tool, const mig_set *set,
                           cf_strv *versions)
{
	bool golang = strcmp(tool, "golang-migrate") == 0, flyway = strcmp(tool, "flyway") == 0;
	const char *table = flyway ? "flyway_schema_history" : "schema_migrations";
	bool exists = false;
	cf_status st = table_exists(pg, table, &exists);
	if (!st && !exists)
		return no_history(ctx, tool, table, cf_pg_dbname(pg));
	const char *sql = flyway ? "SELECT version FROM flyway_schema_history "
	                           "WHERE success AND version IS NOT NULL ORDER BY installed_rank"
	                : golang ? "SELECT version::text, dirty::text FROM schema_migrations LIMIT 1"
	                         : "SELECT version::text FROM schema_migrations ORDER BY version";
	cf_pgres *r = NULL;
	if (!st)
		st = cf_pg_query(pg, sql, 0, NULL, &r);
	if (st)
		return st;
	if (golang && cf_pgres_nrows(r) > 0) {
		/* golang-migrate keeps one row: the current version; all before it ran. */
		const char *cur = cf_pgres_get(r, 0, 0);
		if (strcmp(cf_pgres_get(r, 0, 1), "true") == 0) {
			st = cf_error_set(ctx, CF_ERR_VALIDATION, "golang-migrate history is dirty at "
			                                          "version %s", cur);
			cf_error_hint(ctx, "A golang-migrate run failed half way; repair the database and "
			                   "its history (migrate force) first.");
		}
		for (size_t i = 0; !st && i < set->n; i++)
			if (is_numeric(set->v[i].version) && mig_num_cmp(set->v[i].version, cur) <= 0)
				cf_strv_push(versions, set->v[i].version);
	} else {
		for (int i = 0; i < cf_pgres_nrows(r); i++)
			cf_strv_push(versions, cf_pgres_get(r, i, 0));
	}
	cf_pgres_free(r);
	return st;
}

static cf_status insert_mark(mig_op *op, const mark *k)
{
	mig_session *s = &op->sess;
	/* Slugs stay unique, as on every path that writes the ledger: a history
	 * with 001_client and 002_client is common, and copied slugs may meet
	 * ours. The server knows them all. */
	char *sql = cf_sql_format(s->pg,
	                          "INSERT INTO %Q (slug, version, name, applied_at, execution_time_ms, "
	                          "checksum, applied_by) VALUES (CASE WHEN EXISTS (SELECT 1 FROM %Q "
	                          "WHERE slug = $1) THEN $1 || '_' || $2 ELSE $1 END, $2, $3, "
	                          "coalesce($4::timestamptz, now()), $5::integer, $6, "
	                          "coalesce($7, current_user))",
	                          s->qtable, s->qtable);
	char *slug = NULL, ms[32];
	const char *params[7];
	if (k->row) {
		const mig_row *r = k->row;
		snprintf(ms, sizeof(ms), "%ld", r->execution_time_ms);
		const char *p[7] = {r->slug, r->version, r->name, r->applied_at,
		                    r->execution_time_ms >= 0 ? ms : NULL, r->checksum, r->applied_by};
		memcpy(params, p, sizeof(p));
	} else {
		slug = mig_slug(k->f->name, "baseline");
		const char *p[7] = {slug, k->f->version, k->f->name, NULL, NULL, k->f->checksum, NULL};
		memcpy(params, p, sizeof(p));
	}
	cf_status st = cf_pg_exec_params(s->pg, sql, 7, params);
	free(slug);
	free(sql);
	return st;
}

/* Collects what to record; versions already in the ledger are skipped. */
static cf_status collect(mig_op *op, const cf_migrate_opts *o, mig_ledger *src, mark **out,
                         size_t *n)
{
	cf_ctx *ctx = op->ctx;
	*out = cf_calloc(op->set.n + src->n + 1, sizeof(mark));
	const mig_ledger *l = &op->sess.ledger;
	if (o->through) {
		if (!mig_set_find(&op->set, o->through)) {
			cf_error_set(ctx, CF_ERR_SQL, "unknown migration version \"%s\"", o->through);
			cf_error_hint(ctx, "--through takes the version of a file in \"%s\".", op->set.dir);
			return CF_ERR_SQL;
		}
		for (size_t i = 0; i < op->set.n && strcmp(op->set.v[i].version, o->through) <= 0; i++)
			if (!mig_ledger_find(l, op->set.v[i].version))
				(*out)[(*n)++] = (mark){&op->set.v[i], NULL};
		return CF_OK;
	}
	for (size_t i = 0; i < src->n; i++)
		if (!mig_ledger_find(l, src->v[i].version))
			(*out)[(*n)++] = (mark){mig_set_find(&op->set, src->v[i].version), &src->v[i]};
	return CF_OK;
}

/* Turns another tool's versions into marks of matching local files. */
static cf_status collect_tool(mig_op *op, const cf_strv *versions, mark **out, size_t *n)
{
	*out = cf_calloc(versions->n + 1, sizeof(mark));
	cf_strv unmatched;
	cf_strv_init(&unmatched);
	for (size_t i = 0; i < versions->n; i++) {
		const mig_file *f = match_local(&op->set, versions->v[i]);
		if (!f) {
			cf_strv_push(&unmatched, versions->v[i]);
			continue;
		}
		bool dup = mig_ledger_find(&op->sess.ledger, f->version) != NULL;
		for (size_t k = 0; k < *n && !dup; k++)
			dup = (*out)[k].f == f;
		if (!dup)
			(*out)[(*n)++] = (mark){f, NULL};
	}
	if (unmatched.n) {
		char *list = cf_strv_join(&unmatched, ", ");
		mig_res_warn(&op->m, op->ctx, "%zu imported version%s ha%s no local migration file and "
		                              "%s not recorded: %s",
		             unmatched.n, unmatched.n > 1 ? "s" : "", unmatched.n > 1 ? "ve" : "s",
		             unmatched.n > 1 ? "were" : "was", list);
		free(list);
	}
	cf_strv_release(&unmatched);
	return CF_OK;
}

static cf_status check_opts(cf_ctx *ctx, const cf_migrate_opts *o)
{
	int n = (o->through != NULL) + (o->from_db != NULL || o->import_tool != NULL);
	if (n != 1)
		return cf_error_set(ctx, CF_ERR_USAGE,
		                    n ? "baseline takes --through, or --from-db/--import, not both"
		                      : "baseline needs --through VERSION, --from-db ENV|URL or "
		                        "--import TOOL");
	const char *t = o->import_tool;
	if (t && strcmp(t, "dbmate") != 0 && strcmp(t, "golang-migrate") != 0 &&
	    strcmp(t, "flyway") != 0) {
		cf_error_set(ctx, CF_ERR_USAGE, "unknown tool \"%s\" for --import", t);
		cf_error_hint(ctx, "Use dbmate, golang-migrate or flyway.");
		return CF_ERR_USAGE;
	}
	return CF_OK;
}

/* Reads the source: another ledger, or another tool's history. */
static cf_status read_source(mig_op *op, const cf_migrate_opts *o, mig_session *src,
                             cf_strv *versions)
{
	cf_ctx *ctx = op->ctx;
	cf_status st = CF_OK;
	cf_pg *pg = op->sess.pg;
	if (o->from_db) {
		cf_dbref ref = {0};
		st = cf_dbref_resolve(ctx, o->from_db, &ref);
		if (!st)
			st = mig_session_open(ctx, ref.conninfo, src);
		cf_dbref_release(&ref);
		if (st)
			return st;
		pg = src->pg;
		if (!o->import_tool) {
			if (!src->has_ledger)
				return no_history(ctx, "confiture", src->table, src->dbname);
			return mig_ledger_read(src, true);
		}
	}
	return read_tool(ctx, pg, o->import_tool, &op->set, versions);
}

static cf_status record(mig_op *op, const mark *marks, size_t n, bool dry_run)
{
	cf_status st = CF_OK;
	if (!dry_run && n) {
		st = cf_pg_begin(op->sess.pg);
		if (!st)
			st = mig_ledger_ensure(&op->sess);
		for (size_t i = 0; !st && i < n; i++)
			st = insert_mark(op, &marks[i]);
		if (!st)
			st = cf_pg_commit(op->sess.pg);
		if (st)
			cf_pg_rollback(op->sess.pg);
		mig_ledger_created(&op->sess, st == CF_OK);
	}
	for (size_t i = 0; !st && i < n; i++) {
		const mark *k = &marks[i];
		cf_migration *e = mig_res_add(&op->m, k->row ? k->row->version : k->f->version,
		                              k->row ? k->row->name : k->f->name);
		mig_entry_fill(e, k->f, k->row);
		e->status = dry_run ? "would_baseline" : "baselined";
		op->m.r->n_applied++;
	}
	op->m.r->changes_detected = n > 0;
	return st;
}

cf_status cf_migrate_baseline(cf_ctx *ctx, const cf_migrate_opts *opts, cf_migrate_result **out)
{
	cf_migrate_opts none = {0};
	const cf_migrate_opts *o = opts ? opts : &none;
	mig_op op;
	mig_session src = {0};
	cf_strv versions;
	cf_strv_init(&versions);
	mark *marks = NULL;
	size_t n = 0;
	cf_status st = mig_op_begin(&op, ctx, "baseline", out, true);
	op.m.r->is_dry_run = o->dry_run;
	if (!st)
		st = check_opts(ctx, o);
	for (size_t i = 0; !st && i < op.set.n; i++)
		st = mig_file_read(ctx, &op.set.v[i]);
	if (!st)
		st = mig_op_connect(&op, NULL, !o->dry_run, false);
	if (!st && !o->through)
		st = read_source(&op, o, &src, &versions);
	if (!st)
		st = o->import_tool ? collect_tool(&op, &versions, &marks, &n)
		                    : collect(&op, o, &src.ledger, &marks, &n);
	if (!st)
		st = record(&op, marks, n, o->dry_run);
	free(marks);
	mig_session_close(&src);
	cf_strv_release(&versions);
	if (st)
		return mig_op_end(&op, st, "migrate baseline failed");
	return mig_op_end(&op, st, "%s %zu migration%s as applied", o->dry_run ? "would mark" : "marked",
	                  n, n == 1 ? "" : "s");
}
