/*
 * run.c -- cf_sync: the whole run.
 *
 *   1. resolve --from/--to, refuse a protected target or the source itself
 *   2. read the rules and the key (with --anonymize)
 *   3. connect; the source opens one REPEATABLE READ READ ONLY transaction
 *      whose snapshot every worker shares (pg_export_snapshot), so that all
 *      tables are copied as of one instant
 *   4. plan: tables, column comparison (exit 5 before any data moves), FK
 *      order, subsets, ranges; a dry run stops here with its warnings
 *   5. on the target, under an advisory lock: history row, progress items,
 *      foreign keys dropped and user triggers disabled (both recorded, so an
 *      interrupted run gets them back later)
 *   6. workers copy items, each in one target transaction
 *   7. sequences, foreign keys validated back, triggers enabled, --verify,
 *      history row closed
 */
#include "sync.h"
#include "ctx.h"
#include "error.h"
#include "fs.h"
#include "hooks.h"
#include "json.h"
#include "log.h"
#include "sql_embed.h"

#include <limits.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Releases the lock taken by sync_take_lock (record.c). */
#define UNLOCK_SQL "SELECT pg_advisory_unlock(1751936052, 1937337955)"

/* ---- Small helpers ---------------------------------------------------------------- */

cf_status sync_session_setup(runner *R, cf_pg *pg, bool is_source)
{
	char *sql = cf_sql_format(pg,
	                          "SET DateStyle = 'ISO, YMD'; SET IntervalStyle = 'postgres'; "
	                          "SET TimeZone = 'UTC'; SET extra_float_digits = 3; "
	                          "SET bytea_output = 'hex'; SET statement_timeout = 0; "
	                          "SET idle_in_transaction_session_timeout = 0; "
	                          "SET client_encoding = %L%s",
	                          R->encoding ? R->encoding : "UTF8",
	                          is_source ? "" : "; SET synchronous_commit = off");
	cf_status st = cf_pg_exec(pg, sql);
	free(sql);
	return st;
}

cf_status sync_fire_table_hook(runner *R, const char *event, cf_hook_part part,
                               const plan_table *t, cf_pg *pg, long long rows, int success,
                               long long elapsed_ms)
{
	if (!cf_hooks_any(R->ctx, event))
		return CF_OK;
	cf_hook_fire f = CF_HOOK_FIRE_INIT(event);
	f.part = part;
	f.table = t->st->qname;
	f.rows = rows;
	f.success = success;
	f.elapsed_ms = elapsed_ms;
	f.pg = pg;
	pthread_mutex_lock(&R->mu);
	cf_status st = cf_hooks_fire(R->ctx, &f);
	pthread_mutex_unlock(&R->mu);
	return st;
}

/* Double-quoted parts of a server message can quote a value: they go. */
void sync_scrub_error(cf_ctx *ctx)
{
	const cf_error_info *e = cf_last_error_info(ctx);
	if (!e)
		return;
	cf_status code = e->code;
	char *sqlstate = cf_strdup(e->sqlstate);
	cf_buf b;
	cf_buf_init(&b);
	for (const char *p = e->message; *p; p++) {
		if (*p != '"') {
			cf_buf_putc(&b, *p);
			continue;
		}
		const char *close = strchr(p + 1, '"');
		if (!close) {
			cf_buf_puts(&b, p);
			break;
		}
		cf_buf_puts(&b, "\"***\"");
		p = close;
	}
	cf_ctx_clear_error(ctx);
	cf_error_set(ctx, code, "%s", b.data);
	if (sqlstate)
		cf_error_sqlstate(ctx, sqlstate);
	cf_error_detail(ctx, "The source's details are withheld: this table has masked columns, and "
	                     "they could quote their values.");
	cf_memzero(b.data, b.len);
	cf_buf_release(&b);
	free(sqlstate);
}

/* ---- Preparation -------------------------------------------------------------------- */

cf_status sync_refuse_protected(cf_ctx *ctx, const cf_dbref *ref, const char *what)
{
	cf_protect_verdict v;
	cf_status st = cf_dbref_check_protected(ctx, ref, NULL, &v);
	if (!st && v.is_protected) {
		cf_error_set(ctx, CF_ERR_VALIDATION, "refusing to %s protected environment \"%s\"", what,
		             v.env);
		cf_error_detail(ctx, "%s Backups never weaken protection.", v.why);
		st = CF_ERR_VALIDATION;
	}
	cf_protect_verdict_release(&v);
	return st;
}

static cf_status resolve_refs(runner *R)
{
	cf_ctx *ctx = R->ctx;
	const cf_sync_opts *o = R->o;
	if (!o->from || !*o->from || !o->to || !*o->to)
		return cf_error_set(ctx, CF_ERR_USAGE, "sync needs --from and --to");
	for (size_t i = 0; i < o->n_tables + o->n_exclude; i++) {
		const char *g = i < o->n_tables ? o->tables[i] : o->exclude[i - o->n_tables];
		if (!g || !*g)
			return cf_error_set(ctx, CF_ERR_USAGE, "empty table pattern in %s",
			                    i < o->n_tables ? "tables" : "exclude");
	}
	cf_status st = cf_dbref_resolve(ctx, o->from, &R->from);
	if (st)
		return st;
	R->has_from = true;
	st = cf_dbref_resolve(ctx, o->to, &R->to);
	if (st)
		return st;
	R->has_to = true;
	R->res->source = cf_strdup(R->from.display);
	R->res->target = cf_strdup(R->to.display);
	cf_protect_verdict v;
	st = cf_dbref_check_protected(ctx, &R->to, NULL, &v);
	if (!st && v.is_protected) {
		cf_error_set(ctx, CF_ERR_VALIDATION, "refusing to sync into protected environment \"%s\"",
		             v.env);
		cf_error_detail(ctx, "%s", v.why);
		cf_error_hint(ctx, "Sync into a staging or local database instead.");
		st = CF_ERR_VALIDATION;
	}
	cf_protect_verdict_release(&v);
	if (st)
		return st;
	if (cf_dsn_same_db(R->from.conninfo, R->to.conninfo)) {
		cf_error_set(ctx, CF_ERR_VALIDATION, "the source and the target are the same database");
		cf_error_detail(ctx, "Both resolve to %s.", R->to.display);
		return CF_ERR_VALIDATION;
	}
	return CF_OK;
}

static cf_status load_rules(runner *R)
{
	cf_ctx *ctx = R->ctx;
	const cf_sync_opts *o = R->o;
	R->anonymize = o->anonymize || o->rules_file;
	if (!R->anonymize) {
		cf_strv_push(&R->warnings, "anonymization is off: data is copied verbatim; real PII "
		                           "would land unmasked in the target (pass --anonymize)");
		return CF_OK;
	}
	const char *rel = o->rules_file ? o->rules_file : ctx->cfg->sync.rules;
	char *path = o->rules_file ? cf_strdup(o->rules_file) : cf_path_join(ctx->project_dir, rel);
	char cwd[PATH_MAX];
	char *shown = getcwd(cwd, sizeof(cwd)) ? cf_path_relative(cwd, path) : cf_strdup(path);
	cf_status st = rules_load(ctx, path, shown, &R->rules);
	free(path);
	free(shown);
	if (st)
		return st;
	st = rules_set_key(ctx, R->rules, ctx->cfg->sync.key_env, o->allow_random || o->dry_run);
	if (!st && o->dry_run && R->rules->is_random && !o->allow_random)
		cf_strv_push(&R->warnings, "no anonymization key is set: a real run will refuse to "
		                           "start (set the key, or pass --allow-random)");
	return st;
}

/* Two connection strings can differ and still reach one database. */
static cf_status same_server_check(runner *R)
{
	static const char sql[] = "SELECT current_database() || '|' || pg_postmaster_start_time() || "
	                          "'|' || current_setting('port')";
	char *a = NULL, *b = NULL;
	cf_status st = cf_pg_query_value(R->src, sql, 0, NULL, &a);
	if (!st)
		st = cf_pg_query_value(R->dst, sql, 0, NULL, &b);
	if (!st && a && b && strcmp(a, b) == 0) {
		cf_error_set(R->ctx, CF_ERR_VALIDATION, "the source and the target are the same database");
		cf_error_detail(R->ctx, "%s and %s reach the same server and database.",
		                R->from.display, R->to.display);
		st = CF_ERR_VALIDATION;
	}
	free(a);
	free(b);
	return st;
}

static cf_status connect_both(runner *R)
{
	cf_ctx *ctx = R->ctx;
	cf_status st = cf_pg_connect(ctx, R->from.conninfo, &R->src);
	if (!st)
		st = cf_pg_connect(ctx, R->to.conninfo, &R->dst);
	if (!st)
		st = cf_pg_query_value(R->src, "SHOW server_encoding", 0, NULL, &R->encoding);
	if (!st)
		st = same_server_check(R);
	if (!st)
		st = sync_session_setup(R, R->src, true);
	if (!st)
		st = sync_session_setup(R, R->dst, false);
	if (!st)
		st = cf_pg_exec(R->src, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
	/* Every worker (even the only one) reads in this snapshot: it can also
	 * reconnect into it after a lost connection. */
	if (!st && !R->o->dry_run)
		st = cf_pg_query_value(R->src, "SELECT pg_export_snapshot()", 0, NULL, &R->snapshot);
	if (!st)
		st = delta_source_identity(R);
	return st;
}

static cf_status build_plan(runner *R)
{
	cf_ctx *ctx = R->ctx;
	cf_status st = catalog_load(ctx, R->src, &R->scat);
	if (!st)
		st = catalog_load(ctx, R->dst, &R->dcat);
	if (st)
		return st;
	plan_opts po = {.o = R->o, .rules = R->rules, .jobs = R->jobs, .split_rows = R->split_rows,
	                .ledger = ctx->cfg->migration.tracking_table};
	st = plan_build(ctx, R->src, R->scat, R->dcat, &po, &R->p);
	/* An incremental run moves few rows per table: no ranges. */
	if (!st && !R->o->incremental)
		st = plan_split(ctx, R->src, R->p, R->jobs, R->split_rows);
	if (!st)
		st = delta_plan(R);
	for (size_t i = 0; R->p && i < R->p->warnings.n; i++)
		cf_strv_push(&R->warnings, R->p->warnings.v[i]);
	return st;
}

/* ---- Target bookkeeping --------------------------------------------------------------- */

static cf_status sync_sequences(runner *R)
{
	for (size_t i = 0; i < R->p->n; i++) {
		const plan_table *t = &R->p->tables[i];
		for (size_t k = 0; k < t->n_cols; k++) {
			const plan_col *c = &t->cols[k];
			if (!c->sc->seq || !c->dc->seq)
				continue;
			cf_pgres *r = NULL;
			char *sql = cf_sql_format(R->src, "SELECT last_value, is_called FROM %s", c->sc->seq);
			cf_status st = cf_pg_query(R->src, sql, 0, NULL, &r);
			free(sql);
			if (!st && cf_pgres_nrows(r) == 1) {
				const char *params[] = {c->dc->seq, cf_pgres_get(r, 0, 0), cf_pgres_get(r, 0, 1)};
				st = cf_pg_exec_params(R->dst, "SELECT setval($1::regclass, $2::bigint, $3::bool)",
				                       3, params);
			}
			cf_pgres_free(r);
			if (st)
				return st;
		}
	}
	return CF_OK;
}

/* Split tables are truncated once, up front, in their own transactions. */
static cf_status truncate_split(runner *R, const cf_strv *done)
{
	for (size_t i = 0; i < R->p->n; i++) {
		plan_table *t = &R->p->tables[i];
		if (t->n_ranges <= 1)
			continue;
		char *key = sync_truncate_key(t);
		bool skip = cf_strv_contains(done, key);
		cf_status st = CF_OK;
		if (!skip) {
			st = sync_fire_table_hook(R, "before_sync_table", CF_HOOKS_OUTSIDE, t, R->dst, -1, -1,
			                          -1);
			if (!st)
				st = cf_pg_begin(R->dst);
			if (!st)
				st = sync_fire_table_hook(R, "before_sync_table", CF_HOOKS_SQL, t, R->dst, -1, -1,
				                          -1);
			if (!st)
				st = sync_backup_table(R, R->dst, t);
			if (!st) {
				char *sql = cf_sql_format(R->dst, "TRUNCATE ONLY %s", t->dt->quoted);
				st = cf_pg_exec(R->dst, sql);
				free(sql);
			}
			if (!st) {
				const char *params[] = {R->run_id, key};
				st = cf_pg_exec_params(R->dst, "UPDATE confiture.sync_progress SET state = 'done', "
				                       "finished_at = now() WHERE run_id = $1 AND item = $2", 2,
				                       params);
			}
			/* Incomplete until every range is in (complete_split). */
			if (!st)
				st = delta_state_save(R, R->dst, t, false);
			if (!st)
				st = cf_pg_commit(R->dst);
			if (st)
				cf_pg_rollback(R->dst);
		}
		free(key);
		if (st)
			return st;
	}
	return CF_OK;
}

/* A split table whose ranges are all in holds the source as of the run
 * that truncated it: its record says so now. */
static cf_status complete_split(runner *R)
{
	cf_status st = CF_OK;
	for (size_t i = 0; !st && i < R->p->n; i++) {
		const plan_table *t = &R->p->tables[i];
		if (t->n_ranges > 1 && !t->is_failed)
			st = delta_state_complete(R->dst, t);
	}
	return st;
}

static void make_items(runner *R, const cf_strv *done)
{
	size_t n = 0;
	for (size_t i = 0; i < R->p->n; i++)
		n += (size_t)R->p->tables[i].n_ranges;
	R->items = cf_calloc(n + 1, sizeof(work_item));
	for (size_t i = 0; i < R->p->n; i++) {
		plan_table *t = &R->p->tables[i];
		int nr = t->n_ranges;
		int skipped = 0;
		for (int r = nr > 1 ? 0 : -1; r < (nr > 1 ? nr : 0); r++) {
			char *key = plan_item_key(t, r);
			work_item *it = &R->items[R->n_items++];
			it->t = t;
			it->range = r;
			it->is_done = cf_strv_contains(done, key);
			skipped += it->is_done;
			free(key);
		}
		if (skipped == (nr > 1 ? nr : 1)) {
			t->is_skipped = true;
			R->tables_done++;
			cf_prog_item_skip(R->prog, t->st->qname, t->est_rows);
		} else if (nr > 1) {
			t->ranges_done = skipped;
		}
	}
}

/* ---- Workers ------------------------------------------------------------------------------ */

/* ---- The run -------------------------------------------------------------------------------- */

static cf_status fire_run_hook(runner *R, const char *event, int success)
{
	if (!cf_hooks_any(R->ctx, event))
		return CF_OK;
	cf_hook_fire f = CF_HOOK_FIRE_INIT(event);
	f.success = success;
	if (success >= 0) {
		long long rows = 0;
		for (size_t i = 0; R->p && i < R->p->n; i++)
			rows += R->p->tables[i].rows;
		f.rows = rows;
		f.elapsed_ms = (long long)((cf_now() - R->t0) * 1000);
	}
	f.pg = R->dst && !cf_pg_in_transaction(R->dst) ? R->dst : NULL;
	return cf_hooks_fire(R->ctx, &f);
}

/* After the load: everything back, foreign keys validated. One that does not
 * validate is a finding (exit 1): it stays NOT VALID, still enforced for new
 * rows, and recorded for the next sync to validate. */
static cf_status restore_after_load(runner *R)
{
	cf_strv failed;
	cf_strv_init(&failed);
	cf_status st = sync_constraints_restore(R->ctx, R->dst, R->prog, &failed);
	R->is_restored = st == CF_OK;
	if (!st && failed.n) {
		st = cf_error_set(R->ctx, CF_ERR_CHECK, "%zu foreign key%s could not be validated after "
		                  "the load", failed.n, failed.n == 1 ? "" : "s");
		char *list = cf_strv_join(&failed, "\n");
		cf_error_detail(R->ctx, "%s", list);
		free(list);
		cf_error_hint(R->ctx, "A table outside the sync references rows the sync replaced. The "
		                      "constraint stays NOT VALID (still enforced for new rows) and the "
		                      "next sync validates it again: include that table, or fix its rows.");
	}
	cf_strv_release(&failed);
	return st;
}

/* On the way out of a failed or interrupted run: what it took away goes back,
 * on a fresh connection (the run's may be broken, or cancelled). Should this
 * fail too, the guard process keeps trying. */
static void restore_on_failure(runner *R)
{
	cf_strv failed;
	cf_strv_init(&failed);
	char *why = NULL;
	cf_status st = sync_constraints_restore_anew(R->to.conninfo, &failed, &why);
	R->is_restored = st == CF_OK;
	if (st)
		cf_log_warning(R->ctx, "could not put back the target's foreign keys and triggers (%s); "
		               "confiture's guard process keeps trying, and the next sync puts them back",
		               why);
	for (size_t i = 0; i < failed.n; i++)
		cf_strv_push_owned(&R->warnings, cf_asprintf("foreign key %s stays NOT VALID until a "
		                                             "sync completes", failed.v[i]));
	cf_strv_release(&failed);
	free(why);
}

/* ---- Tables given up on (--continue-on-error) ---- */

static size_t failed_tables(const runner *R)
{
	size_t n = 0;
	for (size_t i = 0; i < R->p->n; i++)
		n += R->p->tables[i].is_failed;
	return n;
}

/* With failed tables, foreign keys between them and the loaded ones may not
 * validate: that is expected, so it only warns. */
static cf_status restore_around_failed(runner *R)
{
	cf_strv failed;
	cf_strv_init(&failed);
	cf_status st = sync_constraints_restore(R->ctx, R->dst, R->prog, &failed);
	R->is_restored = st == CF_OK;
	for (size_t i = 0; i < failed.n; i++)
		cf_strv_push_owned(&R->warnings, cf_asprintf("foreign key %s stays NOT VALID until the "
		                                             "failed tables are copied", failed.v[i]));
	cf_strv_release(&failed);
	return st;
}

static cf_status failed_error(runner *R, size_t n)
{
	cf_buf names, why;
	cf_buf_init(&names);
	cf_buf_init(&why);
	for (size_t i = 0; i < R->p->n; i++) {
		const plan_table *t = &R->p->tables[i];
		if (!t->is_failed)
			continue;
		cf_buf_printf(&names, "%s\"%s\"", names.len ? ", " : "", t->st->qname);
		cf_buf_printf(&why, "%s\"%s\": %s", why.len ? "\n" : "", t->st->qname, t->error);
	}
	cf_error_set(R->ctx, CF_ERR_SQL, "%zu table%s could not be copied: %s", n,
	             n == 1 ? "" : "s", names.data);
	cf_error_detail(R->ctx, "%s", why.data);
	cf_error_hint(R->ctx, "The other tables are copied (--continue-on-error); each failed one "
	                      "kept its old contents. Run \"confiture sync --resume\" with the same "
	                      "options to copy the failed tables again.");
	cf_buf_release(&names);
	cf_buf_release(&why);
	return CF_ERR_SQL;
}

/* Starts the run in the target: history row and progress items, resuming
 * OLD when given. */
static cf_status start_run(runner *R, const char *old, cf_strv *done)
{
	cf_status st = sync_history_start(R);
	if (!st && old)
		st = sync_copy_old_items(R, old);
	if (!st)
		st = sync_items_insert(R);
	if (!st)
		st = sync_load_done(R, done);
	if (!st)
		make_items(R, done);
	return st;
}

/* The planner's totals: tables, and rows as the statistics estimate them. */
static void plan_progress(runner *R)
{
	long long rows = 0;
	for (size_t i = 0; i < R->p->n; i++)
		rows += R->p->tables[i].est_rows > 0 ? R->p->tables[i].est_rows : 0;
	cf_prog_plan(R->prog, (long)R->p->n, rows);
}

static cf_status execute(runner *R)
{
	cf_ctx *ctx = R->ctx;
	cf_status st = sync_take_lock(R);
	if (!st)
		st = fire_run_hook(R, "before_sync", -1);
	if (!st)
		st = cf_pg_exec(R->dst, cf_sql_sync_schema);
	if (!st)
		st = cf_pg_exec(R->dst, "UPDATE confiture.sync_history SET outcome = 'interrupted', "
		                "finished_at = coalesce(finished_at, now()) WHERE outcome = 'running'");
	char *old = NULL;
	if (!st && R->o->resume) {
		st = sync_find_resumable(R, &old);
		if (!st && !old) {
			cf_log_info(ctx, "no interrupted sync to resume in %s", R->to.display);
			R->res->message = cf_strdup("no interrupted sync to resume");
			R->res->is_nothing_to_resume = true;
			return CF_OK;
		}
		if (!st) {
			R->resumed_from = old;
			R->res->resumed_from = cf_strdup(old);
			st = sync_adopt_ranges(R, old);
		}
	}
	cf_strv done;
	cf_strv_init(&done);
	if (!st)
		st = start_run(R, old, &done);
	if (!st && (R->o->backup || R->o->backup_dir)) {
		cf_prog_phase(R->prog, "backing up", -1);
		st = sync_backup_begin(R);
	}
	/* From here on, the target's constraints are taken away: the guard puts
	 * them back should this process die before it does. */
	if (!st)
		st = sync_guard_start(R);
	if (!st) {
		plan_progress(R);
		cf_prog_phase(R->prog, "preparing the target", -1);
		R->is_disabled = true;
		st = sync_constraints_disable(R);
	}
	if (!st)
		st = truncate_split(R, &done);
	cf_strv_release(&done);
	if (!st) {
		cf_prog_phase(R->prog, "copying", -1);
		st = sync_run_workers(R);
	}
	if (!st)
		st = complete_split(R);
	if (!st) {
		cf_prog_phase(R->prog, "setting sequences", -1);
		st = sync_sequences(R);
	}
	size_t n_failed = failed_tables(R);
	if (!st) {
		cf_prog_phase(R->prog, "restoring constraints and triggers", -1);
		st = n_failed ? restore_around_failed(R) : restore_after_load(R);
	}
	if (!st && n_failed)
		st = failed_error(R, n_failed);
	if (!st && R->o->verify) {
		cf_prog_phase(R->prog, "verifying", -1);
		st = sync_verify(R);
	}
	if (st && st != CF_ERR_CHECK && R->history_started && !n_failed)
		cf_error_hint(ctx, "Tables copied so far are complete; the others are untouched, and "
		                   "the target's foreign keys and triggers are back. Run \"confiture sync "
		                   "--resume\" with the same options to finish.");
	return st;
}

/* ---- Result -------------------------------------------------------------------------------- */

static void runner_release(runner *R)
{
	if (R->dst && R->has_lock)
		cf_pg_exec_always(R->dst, UNLOCK_SQL, 0, NULL);
	if (R->src)
		cf_pg_rollback(R->src);
	cf_pg_close(R->src);
	cf_pg_close(R->dst);
	plan_free(R->p);
	catalog_free(R->scat);
	catalog_free(R->dcat);
	rules_free(R->rules);
	if (R->has_from)
		cf_dbref_release(&R->from);
	if (R->has_to)
		cf_dbref_release(&R->to);
	free(R->snapshot);
	free(R->encoding);
	free(R->src_ident);
	free(R->src_snapshot);
	free(R->items);
	free(R->workers);
	free(R->resumed_from);
	cf_strv_release(&R->warnings);
	cf_strv_release(&R->unmasked);
	pthread_mutex_destroy(&R->mu);
	pthread_cond_destroy(&R->worker_done);
}

cf_status cf_sync(cf_ctx *ctx, const cf_sync_opts *o, cf_sync_result **out)
{
	cf_ctx_clear_error(ctx);
	cf_sync_result *res = cf_calloc(1, sizeof(*res));
	*out = res;
	runner R = {.ctx = ctx, .o = o, .res = res, .t0 = cf_now(), .guard_fd = -1,
	            .prog = cf_prog_new(ctx, "sync", "rows", "table")};
	/* Every run has its id from the start, dry runs and early failures too;
	 * it is the progress stream's, so that events, results and history agree. */
	memcpy(R.run_id, cf_prog_run_id(R.prog), sizeof(R.run_id));
	res->run_id = cf_strdup(R.run_id);
	pthread_mutex_init(&R.mu, NULL);
	pthread_cond_init(&R.worker_done, NULL);
	atomic_init(&R.stop, false);
	cf_strv_init(&R.warnings);
	cf_strv_init(&R.unmasked);
	R.jobs = o->jobs > 0 ? o->jobs : ctx->cfg->sync.jobs > 0 ? ctx->cfg->sync.jobs : 1;
	if (R.jobs > 32)
		R.jobs = 32;
	R.split_rows = o->split_rows > 0 ? o->split_rows : 1000000;
	R.retries = ctx->cfg->sync.retries >= 0 ? ctx->cfg->sync.retries : 3;
	cf_status st = resolve_refs(&R);
	if (!st)
		st = load_rules(&R);
	if (!st)
		st = connect_both(&R);
	if (!st)
		st = build_plan(&R);
	/* PII findings: listed by a dry run, and an anonymized run must have
	 * none left unruled (policy.c) before any data moves. */
	if (!st && (o->dry_run || R.anonymize))
		st = sync_pii_scan(&R);
	if (!st && R.anonymize)
		st = sync_policy_check(&R);
	if (!st && o->dry_run)
		st = sync_dry_diff(&R);
	else if (!st)
		st = execute(&R);
	if (st == CF_ERR_CANCELLED || (st && cf_ctx_is_cancelled(ctx)))
		st = CF_ERR_CANCELLED;
	if (R.is_disabled && !R.is_restored)
		restore_on_failure(&R);
	sync_guard_release(&R, R.is_restored);
	if (R.history_started)
		sync_history_finish(&R, st);
	if (!st && !o->dry_run && R.history_started)
		st = fire_run_hook(&R, "after_sync", 1);
	if (st) {
		if (R.history_started && st != CF_ERR_CHECK)
			fire_run_hook(&R, "after_sync", 0);
		cf_hooks_fire_on_error(ctx, R.dst && !cf_pg_is_bad(R.dst) ? R.dst : NULL);
	}
	cf_prog_free(R.prog, st == CF_OK);
	sync_fill_result(&R, st);
	runner_release(&R);
	return st;
}
