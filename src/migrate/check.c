/*
 * check.c -- the read-only checks: verify (.verify.sql sidecars),
 * verify-checksums, and preflight.
 */
#include "migrate_int.h"
#include "ctx.h"
#include "dbref.h"
#include "fs.h"
#include "log.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* Moves the recorded error into the result's list and clears it. */
static void keep_error(mig_op *op)
{
	cf_errlist_push_ctx(&op->m.errs, op->ctx);
	cf_ctx_clear_error(op->ctx);
}

/* ---- verify ------------------------------------------------------------------- */

/* Runs one sidecar; *VALUE gets the first column of the first row. */
static cf_status run_verify(mig_op *op, const mig_file *f, char **value)
{
	cf_ctx *ctx = op->ctx;
	char *text = NULL;
	size_t len = 0;
	*value = NULL;
	cf_status st = cf_file_read(ctx, f->verify_abs, &text, &len);
	if (st)
		return st;
	cf_pg *pg = op->sess.pg;
	/* Read-only and rolled back: a verify query must not change anything. */
	st = cf_pg_exec(pg, "BEGIN READ ONLY");
	cf_pgres *r = NULL;
	if (!st) {
		st = cf_pg_query(pg, text, 0, NULL, &r);
		if (st)
			cf_error_locate(ctx, f->verify, text, 0);
	}
	if (!st && cf_pgres_nrows(r) > 0 && cf_pgres_ncols(r) > 0)
		*value = cf_strdup(cf_pgres_get(r, 0, 0) ? cf_pgres_get(r, 0, 0) : "NULL");
	cf_pgres_free(r);
	cf_pg_rollback(pg);
	free(text);
	return st;
}

cf_status cf_migrate_verify(cf_ctx *ctx, const cf_migrate_opts *opts, cf_migrate_result **out)
{
	(void)opts;
	mig_op op;
	cf_status st = mig_op_begin(&op, ctx, "verify", out, false);
	if (!st)
		st = mig_op_connect(&op, NULL, false, true);
	size_t n_run = 0, n_false = 0, n_err = 0;
	for (size_t i = 0; !st && i < op.sess.ledger.n; i++) {
		const mig_row *row = &op.sess.ledger.v[i];
		const mig_file *f = mig_set_find(&op.set, row->version);
		if (!f || !f->verify)
			continue;
		char *value = NULL;
		cf_status vs = run_verify(&op, f, &value);
		if (vs == CF_ERR_CANCELLED || vs == CF_ERR_CONNECT || cf_pg_is_bad(op.sess.pg)) {
			st = vs;
			break;
		}
		cf_migration *e = mig_res_add(&op.m, f->version, f->name);
		mig_entry_fill(e, f, row);
		n_run++;
		if (vs) {
			e->status = "verify_failed";
			const cf_error_info *ei = cf_last_error_info(ctx);
			e->note = ei && ei->file ? cf_asprintf("%s:%d:%d: %s", ei->file, ei->line, ei->column,
			                                        ei->message)
			                         : cf_strdup(cf_last_error(ctx));
			keep_error(&op);
			n_err++;
		} else if (!value || strcmp(value, "t") != 0) {
			e->status = "verify_failed";
			e->note = value ? cf_asprintf("returned %s", value) : cf_strdup("returned no row");
			n_false++;
		} else {
			e->status = "verified";
		}
		free(value);
	}
	op.m.r->n_failed = (long)(n_false + n_err);
	if (!st && n_err) {
		st = cf_error_set(ctx, CF_ERR_SQL, "%zu verify quer%s failed", n_err,
		                  n_err > 1 ? "ies" : "y");
	} else if (!st && n_false) {
		st = cf_error_set(ctx, CF_ERR_CHECK, "%zu of %zu verification%s did not return true",
		                  n_false, n_run, n_run > 1 ? "s" : "");
		cf_error_hint(ctx, "Each .verify.sql must return true in the first column of its first "
		                   "row when its migration's effect is in place.");
	}
	return mig_op_end(&op, st, "%zu verification%s passed", n_run, n_run == 1 ? "" : "s");
}

/* ---- verify-checksums -------------------------------------------------------------- */

static cf_status fix_checksums(mig_op *op)
{
	mig_session *s = &op->sess;
	char *sql = cf_sql_format(s->pg, "UPDATE %Q SET checksum = $1 WHERE version = $2", s->qtable);
	cf_status st = cf_pg_begin(s->pg);
	cf_migrate_result *r = op->m.r;
	for (size_t i = 0; !st && i < r->n_migrations; i++) {
		cf_migration *e = &r->migrations[i];
		if (strcmp(e->status, "checksum_mismatch") != 0 && strcmp(e->status, "no_checksum") != 0)
			continue;
		const char *params[] = {e->checksum, e->version};
		st = cf_pg_exec_params(s->pg, sql, 2, params);
	}
	if (!st)
		st = cf_pg_commit(s->pg);
	if (st) {
		cf_pg_rollback(s->pg);
	} else {
		for (size_t i = 0; i < r->n_migrations; i++) {
			cf_migration *e = &r->migrations[i];
			if (strcmp(e->status, "checksum_mismatch") == 0 ||
			    strcmp(e->status, "no_checksum") == 0) {
				e->status = "checksum_fixed";
				r->n_applied++;
				r->changes_detected = true;
			}
		}
	}
	free(sql);
	return st;
}

cf_status cf_verify_checksums(cf_ctx *ctx, const cf_migrate_opts *opts, cf_migrate_result **out)
{
	bool fix = opts && opts->fix;
	mig_op op;
	cf_status st = mig_op_begin(&op, ctx, "verify-checksums", out, false);
	if (!st)
		st = mig_op_connect(&op, NULL, fix, true);
	cf_strv bad;
	cf_strv_init(&bad);
	size_t n_missing = 0;
	for (size_t i = 0; !st && i < op.sess.ledger.n; i++) {
		const mig_row *row = &op.sess.ledger.v[i];
		mig_file *f = mig_set_find(&op.set, row->version);
		if (f)
			st = mig_file_read(ctx, f);
		cf_migration *e = mig_res_add(&op.m, row->version, row->name);
		mig_entry_fill(e, f, row);
		if (!f) {
			e->status = "missing";
			n_missing++;
		} else if (!row->checksum) {
			e->status = "no_checksum";
		} else if (strcmp(row->checksum, f->checksum) == 0) {
			e->status = "checksum_ok";
		} else {
			e->status = "checksum_mismatch";
			cf_strv_push(&bad, f->up);
		}
	}
	if (n_missing)
		mig_res_warn(&op.m, ctx, "%zu applied migration%s ha%s no file in \"%s\"", n_missing,
		             n_missing > 1 ? "s" : "", n_missing > 1 ? "ve" : "s", op.set.dir);
	op.m.r->n_failed = (long)bad.n;
	if (!st && fix)
		st = fix_checksums(&op);
	else if (!st && bad.n) {
		char *list = cf_strv_join(&bad, ", ");
		st = cf_error_set(ctx, CF_ERR_CHECK, "checksum mismatch in %zu applied migration%s: %s",
		                  bad.n, bad.n > 1 ? "s" : "", list);
		cf_error_hint(ctx, "Restore the files, or record their current content with "
		                   "confiture verify-checksums --fix.");
		free(list);
	}
	size_t n = op.sess.ledger.n, nbad = bad.n;
	cf_strv_release(&bad);
	if (fix && !st)
		return mig_op_end(&op, st, "fixed %ld stored checksum%s", op.m.r->n_applied,
		                  op.m.r->n_applied == 1 ? "" : "s");
	return mig_op_end(&op, st, "%zu applied migration%s checked, %zu mismatch%s", n,
	                  n == 1 ? "" : "s", nbad, nbad == 1 ? "" : "es");
}

/* ---- preflight ------------------------------------------------------------------- */

/* Records a finding as an error item (located at FILE:LINE when given). */
static void finding(mig_op *op, const char *file, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void finding(mig_op *op, const char *file, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *msg = cf_vasprintf(fmt, ap);
	va_end(ap);
	cf_error_set(op->ctx, CF_ERR_PREFLIGHT, "%s", msg);
	if (file)
		cf_error_at(op->ctx, file, 0, 0);
	keep_error(op);
	free(msg);
}

/* Reads and prepares every file; keeps the scripts of those that parse. */
static void static_checks(mig_op *op, mig_script *scripts, bool *ok)
{
	cf_ctx *ctx = op->ctx;
	for (size_t i = 0; i < op->set.dups.n; i++)
		finding(op, NULL, "duplicate migration version %s", op->set.dups.v[i]);
	for (size_t i = 0; i < op->set.orphans.n; i++) {
		if (ctx->cfg->migration.strict_mode)
			finding(op, op->set.orphans.v[i], "orphan file (strict mode)");
		else if (!ctx->cfg->migration.ignore_unmatched)
			finding(op, op->set.orphans.v[i], "not named as a migration: it would never run");
		else
			mig_res_warn(&op->m, ctx, "%s: not a migration (not named VERSION_NAME.up.sql)",
			             op->set.orphans.v[i]);
	}
	for (size_t i = 0; i < op->set.n; i++) {
		mig_file *f = &op->set.v[i];
		cf_status st = mig_file_read(ctx, f);
		if (!st) {
			char *text = cf_strndup(f->text, f->len);
			st = mig_script_prepare(ctx, f->up, text, f->len, &scripts[i]);
		}
		if (st) {
			keep_error(op);
			continue;
		}
		ok[i] = true;
		if (!f->down)
			mig_res_warn(&op->m, ctx, "%s has no .down.sql: it cannot be rolled back", f->up);
		if (scripts[i].is_nontx)
			mig_res_warn(&op->m, ctx, "%s runs statement by statement outside a transaction (%s)",
			             f->up, scripts[i].nontx_why);
	}
}

static void drift_checks(mig_op *op)
{
	for (size_t i = 0; i < op->sess.ledger.n; i++) {
		const mig_row *row = &op->sess.ledger.v[i];
		const mig_file *f = mig_set_find(&op->set, row->version);
		if (f && f->checksum && row->checksum && strcmp(f->checksum, row->checksum) != 0)
			finding(op, f->up, "checksum drift: the file changed after it was applied to \"%s\"",
			        op->sess.dbname);
	}
}

/* Replays the pending migrations that parse as the real run would run them
 * (dryrun.c), then rolls everything back. */
static cf_status replay(mig_op *op, mig_script *scripts, const bool *ok, mig_dry *d)
{
	mig_session *s = &op->sess;
	size_t n = 0;
	mig_file **files = cf_calloc(op->set.n + 1, sizeof(mig_file *));
	mig_script *pending = cf_calloc(op->set.n + 1, sizeof(mig_script));
	for (size_t i = 0; i < op->set.n; i++) {
		if (!ok[i] || mig_ledger_find(&s->ledger, op->set.v[i].version))
			continue;
		files[n] = &op->set.v[i];
		pending[n++] = scripts[i]; /* a view: the scripts stay the caller's */
	}
	cf_status st = cf_pg_begin(s->pg);
	if (!st)
		st = mig_dry_run(d, files, pending, n);
	cf_pg_rollback(s->pg);
	free(files);
	free(pending);
	return st;
}

static cf_status preflight_db(mig_op *op, const cf_migrate_opts *o, mig_script *scripts,
                              const bool *ok, mig_dry *d)
{
	cf_ctx *ctx = op->ctx;
	cf_dbref ref = {0};
	cf_status st = o->against ? cf_dbref_resolve(ctx, o->against, &ref) : CF_OK;
	if (!st)
		st = mig_op_connect(op, ref.conninfo, false, false);
	cf_dbref_release(&ref);
	if (st && !o->against && st != CF_ERR_CANCELLED) {
		mig_res_warn(&op->m, ctx, "checksum drift not checked: %s", cf_last_error(ctx));
		cf_ctx_clear_error(ctx);
		return CF_OK;
	}
	if (!st)
		drift_checks(op);
	if (!st && o->against)
		st = replay(op, scripts, ok, d);
	return st;
}

cf_status cf_migrate_preflight(cf_ctx *ctx, const cf_migrate_opts *opts, cf_migrate_result **out)
{
	cf_migrate_opts none = {0};
	const cf_migrate_opts *o = opts ? opts : &none;
	mig_op op;
	cf_status st = mig_op_begin(&op, ctx, "preflight", out, false);
	size_t n = op.set.n;
	mig_script *scripts = cf_calloc(n + 1, sizeof(mig_script));
	bool *ok = cf_calloc(n + 1, sizeof(bool));
	mig_dry d = {.op = &op, .what = "preflight", .keep_going = true};
	if (!st) {
		static_checks(&op, scripts, ok);
		st = preflight_db(&op, o, scripts, ok, &d);
	}
	for (size_t i = 0; i < n; i++)
		mig_script_release(&scripts[i]);
	free(scripts);
	free(ok);
	size_t n_err = op.m.errs.n;
	op.m.r->n_failed = (long)n_err;
	if (!st && n_err)
		st = cf_error_set(ctx, CF_ERR_PREFLIGHT, "preflight found %zu error%s", n_err,
		                  n_err > 1 ? "s" : "");
	if (st)
		return mig_op_end(&op, st, "preflight failed");
	if (d.n_not_tried)
		return mig_op_end(&op, st, "preflight passed: %zu migration%s checked, %zu pending "
		                  "replayed and rolled back, %zu not replayed (see the warning)",
		                  n, n == 1 ? "" : "s", d.n_tried, d.n_not_tried);
	return mig_op_end(&op, st, "preflight passed: %zu migration%s checked%s", n, n == 1 ? "" : "s",
	                  o->against ? ", pending ones replayed and rolled back" : "");
}
