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

/* pg_advisory_lock(namespace of confiture's locks, "sync") on the target. */
#define LOCK_SQL "SELECT pg_try_advisory_lock(1751936052, 1937337955)"
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

static char *run_by(cf_pg *dst)
{
	struct passwd *pw = getpwuid(getuid());
	char host[HOST_NAME_MAX + 1] = "";
	gethostname(host, sizeof(host) - 1);
	return cf_asprintf("%s@%s as %s", pw ? pw->pw_name : "?", host, cf_pg_user(dst));
}

static char *fmt_ll(long long v)
{
	return cf_asprintf("%lld", v);
}

/* ---- Preparation -------------------------------------------------------------------- */

static cf_status resolve_refs(runner *R)
{
	cf_ctx *ctx = R->ctx;
	const cf_sync_opts *o = R->o;
	if (!o->from || !*o->from || !o->to || !*o->to)
		return cf_error_set(ctx, CF_ERR_USAGE, "sync needs --from and --to");
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
	if (!st && R->jobs > 1)
		st = cf_pg_query_value(R->src, "SELECT pg_export_snapshot()", 0, NULL, &R->snapshot);
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
	if (!st)
		st = plan_split(ctx, R->src, R->p, R->jobs, R->split_rows);
	for (size_t i = 0; R->p && i < R->p->warnings.n; i++)
		cf_strv_push(&R->warnings, R->p->warnings.v[i]);
	return st;
}

/* ---- Target bookkeeping --------------------------------------------------------------- */

static cf_status take_lock(runner *R)
{
	char *v = NULL;
	cf_status st = cf_pg_query_value(R->dst, LOCK_SQL, 0, NULL, &v);
	if (!st && (!v || strcmp(v, "t") != 0)) {
		cf_error_set(R->ctx, CF_ERR_LOCK, "another confiture sync is writing to %s",
		             R->to.display);
		cf_error_hint(R->ctx, "Wait for it to finish; its progress is in "
		                      "confiture.sync_history.");
		st = CF_ERR_LOCK;
	}
	R->has_lock = !st;
	free(v);
	return st;
}

/* The run to continue: the latest one, when it did not finish. */
static cf_status find_resumable(runner *R, char **run_id)
{
	static const char sql[] =
		"SELECT h.run_id, h.source, h.anonymized, coalesce(h.rules_sha256, '') "
		"FROM confiture.sync_history h "
		"WHERE h.started_at = (SELECT max(started_at) FROM confiture.sync_history) "
		"AND h.outcome IN ('running', 'failed', 'interrupted') "
		"AND EXISTS (SELECT 1 FROM confiture.sync_progress p WHERE p.run_id = h.run_id "
		"AND p.state <> 'done') LIMIT 1";
	*run_id = NULL;
	cf_pgres *r = NULL;
	cf_status st = cf_pg_query(R->dst, sql, 0, NULL, &r);
	if (st || cf_pgres_nrows(r) == 0) {
		cf_pgres_free(r);
		return st;
	}
	const char *src = cf_pgres_get(r, 0, 1);
	bool anon = strcmp(cf_pgres_get(r, 0, 2), "t") == 0;
	const char *sha = cf_pgres_get(r, 0, 3);
	const char *now_sha = R->rules ? R->rules->sha256 : "";
	if (strcmp(src, R->from.display) != 0) {
		st = cf_error_set(R->ctx, CF_ERR_VALIDATION, "cannot resume: the interrupted run copied "
		                  "from another source");
		cf_error_detail(R->ctx, "It copied from %s.", src);
	} else if (anon != R->anonymize || strcmp(sha, now_sha) != 0) {
		st = cf_error_set(R->ctx, CF_ERR_VALIDATION, "cannot resume: the interrupted run used "
		                  "other anonymization rules");
		cf_error_detail(R->ctx, "Resuming with other rules would mix two maskings in one "
		                        "target.");
	}
	if (st)
		cf_error_hint(R->ctx, "Run without --resume to copy everything again.");
	else
		*run_id = cf_strdup(cf_pgres_get(r, 0, 0));
	cf_pgres_free(r);
	return st;
}

static cf_status start_history(runner *R)
{
	static const char sql[] =
		"INSERT INTO confiture.sync_history (run_id, run_by, source, target_env, tables, n_tables, "
		"anonymized, outcome, resumed_from, rules_sha256, confiture_version) "
		"VALUES ($1, $2, $3, $4, ARRAY(SELECT json_array_elements_text($5::json)), $6, $7, "
		"'running', $8, $9, $10)";
	cf_buf tables;
	cf_buf_init(&tables);
	cf_json j;
	cf_json_init(&j, &tables, false);
	cf_json_arr_begin(&j);
	for (size_t i = 0; i < R->p->n; i++)
		cf_json_str(&j, R->p->tables[i].st->qname);
	cf_json_arr_end(&j);
	char *by = run_by(R->dst), *n = fmt_ll((long long)R->p->n);
	const char *params[] = {R->run_id, by, R->from.display, R->to.env, tables.data, n,
	                        R->anonymize ? "true" : "false", R->resumed_from,
	                        R->rules ? R->rules->sha256 : NULL, CONFITURE_VERSION};
	cf_status st = cf_pg_exec_params(R->dst, sql, 10, params);
	R->history_started = !st;
	free(by);
	free(n);
	cf_buf_release(&tables);
	return st;
}

static void item_json(cf_json *j, const plan_table *t, int range, const char *state)
{
	char *key = plan_item_key(t, range);
	cf_json_obj_begin(j);
	cf_json_kv_str(j, "item", key);
	cf_json_kv_str(j, "table_name", t->st->qname);
	cf_json_kv_int(j, "range_no", range);
	cf_json_kv_str(j, "range_lo", range > 0 ? t->bounds[range - 1] : NULL);
	cf_json_kv_str(j, "range_hi", range >= 0 && range < t->n_ranges - 1 ? t->bounds[range] : NULL);
	cf_json_kv_str(j, "state", state);
	cf_json_obj_end(j);
	free(key);
}

static char *truncate_key(const plan_table *t)
{
	return cf_asprintf("%s#truncate", t->st->qname);
}

/* The plan's items, pending, in one statement. */
static cf_status insert_items(runner *R)
{
	static const char sql[] =
		"INSERT INTO confiture.sync_progress (run_id, item, table_name, range_no, range_lo, "
		"range_hi, state) SELECT $1, x.item, x.table_name, x.range_no, x.range_lo, x.range_hi, "
		"x.state FROM json_to_recordset($2::json) AS x(item text, table_name text, range_no int, "
		"range_lo text, range_hi text, state text) ON CONFLICT (run_id, item) DO NOTHING";
	cf_buf b;
	cf_buf_init(&b);
	cf_json j;
	cf_json_init(&j, &b, false);
	cf_json_arr_begin(&j);
	for (size_t i = 0; i < R->p->n; i++) {
		const plan_table *t = &R->p->tables[i];
		if (t->n_ranges <= 1) {
			item_json(&j, t, -1, "pending");
			continue;
		}
		char *tk = truncate_key(t);
		cf_json_obj_begin(&j);
		cf_json_kv_str(&j, "item", tk);
		cf_json_kv_str(&j, "table_name", t->st->qname);
		cf_json_kv_int(&j, "range_no", -2);
		cf_json_kv_str(&j, "state", "pending");
		cf_json_obj_end(&j);
		free(tk);
		for (int r = 0; r < t->n_ranges; r++)
			item_json(&j, t, r, "pending");
	}
	cf_json_arr_end(&j);
	const char *params[] = {R->run_id, b.data};
	cf_status st = cf_pg_exec_params(R->dst, sql, 2, params);
	cf_buf_release(&b);
	return st;
}

/* Resuming: the same ranges as the interrupted run, and its done items. */
static cf_status adopt_ranges(runner *R, const char *old)
{
	static const char sql[] =
		"SELECT table_name, range_no, range_hi FROM confiture.sync_progress "
		"WHERE run_id = $1 AND range_no >= -1 ORDER BY table_name, range_no";
	cf_pgres *r = NULL;
	const char *params[] = {old};
	cf_status st = cf_pg_query(R->dst, sql, 1, params, &r);
	for (size_t i = 0; !st && i < R->p->n; i++) {
		plan_table *t = &R->p->tables[i];
		cf_strv bounds;
		cf_strv_init(&bounds);
		bool found = false, whole = false;
		for (int k = 0; k < cf_pgres_nrows(r); k++) {
			if (strcmp(cf_pgres_get(r, k, 0), t->st->qname) != 0)
				continue;
			found = true;
			whole = whole || atoi(cf_pgres_get(r, k, 1)) == -1;
			if (cf_pgres_get(r, k, 2))
				cf_strv_push(&bounds, cf_pgres_get(r, k, 2));
		}
		if (!found) {
			cf_strv_release(&bounds);
			continue;
		}
		for (int k = 0; k + 1 < t->n_ranges; k++)
			free(t->bounds[k]);
		free(t->bounds);
		t->bounds = NULL;
		t->n_ranges = 1;
		if (!whole && bounds.n > 0) {
			t->bounds = bounds.v;
			t->n_ranges = (int)bounds.n + 1;
			t->range_col = t->st->pk[0];
			bounds.v = NULL;
			bounds.n = 0;
		}
		cf_strv_release(&bounds);
	}
	cf_pgres_free(r);
	return st;
}

static cf_status copy_old_items(runner *R, const char *old)
{
	static const char sql[] =
		"INSERT INTO confiture.sync_progress (run_id, item, table_name, range_no, range_lo, "
		"range_hi, state, rows, bytes, duration_s, finished_at) SELECT $1, item, table_name, "
		"range_no, range_lo, range_hi, state, rows, bytes, duration_s, finished_at "
		"FROM confiture.sync_progress WHERE run_id = $2";
	static const char mark[] =
		"UPDATE confiture.sync_history SET outcome = 'resumed' WHERE run_id = $1";
	const char *params[] = {R->run_id, old};
	cf_status st = cf_pg_exec_params(R->dst, sql, 2, params);
	if (!st)
		st = cf_pg_exec_params(R->dst, mark, 1, params + 1);
	return st;
}

static cf_status load_done(runner *R, cf_strv *done)
{
	static const char sql[] = "SELECT item, coalesce(rows, 0), coalesce(bytes, 0) "
	                          "FROM confiture.sync_progress WHERE run_id = $1 AND state = 'done'";
	cf_pgres *r = NULL;
	const char *params[] = {R->run_id};
	cf_status st = cf_pg_query(R->dst, sql, 1, params, &r);
	for (int k = 0; !st && k < cf_pgres_nrows(r); k++)
		cf_strv_push(done, cf_pgres_get(r, k, 0));
	cf_pgres_free(r);
	return st;
}

/* Drops the foreign keys touching the copied tables and disables their user
 * triggers, recording both first (one transaction). */
static cf_status disable_constraints(runner *R)
{
	static const char rec[] =
		"INSERT INTO confiture.sync_restore (kind, table_name, name, definition, run_id) "
		"VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING";
	cf_ctx *ctx = R->ctx;
	bool *copied = cf_calloc(R->dcat->n_tables + 1, sizeof(bool));
	for (size_t i = 0; i < R->p->n; i++)
		copied[R->p->tables[i].di] = true;
	cf_status st = cf_pg_begin(R->dst);
	for (size_t f = 0; !st && f < R->dcat->n_fks; f++) {
		const fk_info *fk = &R->dcat->fks[f];
		bool touches = (fk->child >= 0 && copied[fk->child]) ||
		               (fk->parent >= 0 && copied[fk->parent]);
		if (!touches)
			continue;
		const char *params[] = {"fk", fk->child_q, fk->name, fk->def, R->run_id};
		st = cf_pg_exec_params(R->dst, rec, 5, params);
		if (!st) {
			char *sql = cf_sql_format(R->dst, "ALTER TABLE %s DROP CONSTRAINT %I", fk->child_q,
			                          fk->name);
			st = cf_pg_exec(R->dst, sql);
			free(sql);
		}
	}
	cf_pgres *tr = NULL;
	if (!st)
		st = cf_pg_query(R->dst, cf_sql_sync_triggers, 0, NULL, &tr);
	for (int k = 0; !st && k < cf_pgres_nrows(tr); k++) {
		int di = catalog_find(R->dcat, cf_pgres_get(tr, k, 0), cf_pgres_get(tr, k, 1));
		if (di < 0 || !copied[di])
			continue;
		const table_info *t = &R->dcat->tables[di];
		const char *params[] = {"trigger", t->quoted, cf_pgres_get(tr, k, 2),
		                        cf_pgres_get(tr, k, 3), R->run_id};
		st = cf_pg_exec_params(R->dst, rec, 5, params);
		if (!st) {
			char *sql = cf_sql_format(R->dst, "ALTER TABLE %s DISABLE TRIGGER %I", t->quoted,
			                          cf_pgres_get(tr, k, 2));
			st = cf_pg_exec(R->dst, sql);
			free(sql);
		}
	}
	cf_pgres_free(tr);
	if (!st)
		st = cf_pg_commit(R->dst);
	if (st) {
		cf_pg_rollback(R->dst);
		cf_error_context(ctx, "while dropping the target's foreign keys for the load");
	}
	free(copied);
	return st;
}

/* Puts back what disable_constraints (of this or an interrupted run) took
 * away; foreign keys come back NOT VALID, then are validated one by one. */
static cf_status restore_constraints(runner *R)
{
	cf_ctx *ctx = R->ctx;
	/* A table dropped since it was recorded has nothing to get back. */
	cf_pgres *r = NULL;
	cf_status st = cf_pg_exec(R->dst, "DELETE FROM confiture.sync_restore "
	                          "WHERE to_regclass(table_name) IS NULL");
	if (!st)
		st = cf_pg_query(R->dst, "SELECT kind, table_name, name, definition FROM "
		                 "confiture.sync_restore ORDER BY kind DESC, table_name, name", 0, NULL, &r);
	if (st)
		return st;
	cf_strv validate;
	cf_strv_init(&validate);
	st = cf_pg_begin(R->dst);
	for (int k = 0; !st && k < cf_pgres_nrows(r); k++) {
		const char *kind = cf_pgres_get(r, k, 0), *table = cf_pgres_get(r, k, 1),
		           *name = cf_pgres_get(r, k, 2), *def = cf_pgres_get(r, k, 3);
		char *sql;
		if (strcmp(kind, "trigger") == 0) {
			const char *mode = def[0] == 'A' ? "ALWAYS " : def[0] == 'R' ? "REPLICA " : "";
			sql = cf_sql_format(R->dst, "ALTER TABLE %s ENABLE %sTRIGGER %I", table, mode, name);
		} else {
			size_t dl = strlen(def);
			bool not_valid = dl >= 9 && strcmp(def + dl - 9, "NOT VALID") == 0;
			sql = cf_sql_format(R->dst, "ALTER TABLE %s ADD CONSTRAINT %I %s%s", table, name, def,
			                    not_valid ? "" : " NOT VALID");
			if (!not_valid)
				cf_strv_push_owned(&validate, cf_sql_format(R->dst, "ALTER TABLE %s VALIDATE "
				                                            "CONSTRAINT %I", table, name));
		}
		st = cf_pg_exec(R->dst, sql);
		free(sql);
		if (!st) {
			const char *params[] = {kind, table, name};
			st = cf_pg_exec_params(R->dst, "DELETE FROM confiture.sync_restore WHERE kind = $1 "
			                       "AND table_name = $2 AND name = $3", 3, params);
		}
		if (st)
			cf_error_context(ctx, "while restoring %s \"%s\" on %s", kind, name, table);
	}
	cf_pgres_free(r);
	if (!st)
		st = cf_pg_commit(R->dst);
	else
		cf_pg_rollback(R->dst);
	if (!st && validate.n)
		cf_prog_phase(R->prog, "validating foreign keys", (long)validate.n);
	for (size_t i = 0; !st && i < validate.n; i++) {
		cf_prog_phase_step(R->prog, (long)i);
		st = cf_pg_exec(R->dst, validate.v[i]);
		if (st) {
			cf_error_recode(ctx, CF_ERR_CHECK);
			st = CF_ERR_CHECK;
			cf_error_context(ctx, "while validating a foreign key after the load: %s",
			                 validate.v[i]);
			cf_error_hint(ctx, "A table outside the sync references rows the sync replaced; the "
			                   "constraint stays NOT VALID. Include that table, or fix its rows.");
		}
	}
	cf_strv_release(&validate);
	return st;
}

/* Sequences owned by copied columns follow the source's. */
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
		char *key = truncate_key(t);
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

static work_item *next_item(runner *R)
{
	work_item *it = NULL;
	pthread_mutex_lock(&R->mu);
	while (R->next_item < R->n_items && !it) {
		work_item *c = &R->items[R->next_item++];
		if (!c->is_done)
			it = c;
	}
	pthread_mutex_unlock(&R->mu);
	return it;
}

/* The first failure stops every worker: their statements are cancelled. */
static void runner_fail(runner *R)
{
	if (atomic_exchange(&R->stop, true))
		return;
	pthread_mutex_lock(&R->mu);
	for (long i = 0; R->workers && i < R->jobs; i++) {
		worker *w = &R->workers[i];
		if (!w->owns_conns)
			continue;
		if (w->src)
			cf_pg_cancel_shared(w->src);
		if (w->dst)
			cf_pg_cancel_shared(w->dst);
	}
	pthread_mutex_unlock(&R->mu);
}

static cf_status worker_connect(worker *w)
{
	runner *R = w->R;
	cf_pg *src = NULL, *dst = NULL;
	cf_status st = cf_pg_connect(R->ctx, R->from.conninfo, &src);
	if (!st)
		st = cf_pg_connect(R->ctx, R->to.conninfo, &dst);
	if (!st)
		st = sync_session_setup(R, src, true);
	if (!st)
		st = sync_session_setup(R, dst, false);
	if (!st)
		st = cf_pg_exec(src, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
	if (!st) {
		char *sql = cf_sql_format(src, "SET TRANSACTION SNAPSHOT %L", R->snapshot);
		st = cf_pg_exec(src, sql);
		free(sql);
	}
	pthread_mutex_lock(&R->mu);
	w->src = src;
	w->dst = dst;
	pthread_mutex_unlock(&R->mu);
	return st;
}

static void worker_disconnect(worker *w)
{
	runner *R = w->R;
	pthread_mutex_lock(&R->mu);
	cf_pg *src = w->src, *dst = w->dst;
	w->src = w->dst = NULL;
	pthread_mutex_unlock(&R->mu);
	if (src)
		cf_pg_rollback(src);
	cf_pg_close(src);
	cf_pg_close(dst);
}

static void *worker_main(void *arg)
{
	worker *w = arg;
	runner *R = w->R;
	cf_status st = w->owns_conns ? worker_connect(w) : CF_OK;
	while (!st && !atomic_load(&R->stop) && !cf_ctx_is_cancelled(R->ctx)) {
		work_item *it = next_item(R);
		if (!it)
			break;
		st = copy_item(w, it);
	}
	if (!st && cf_ctx_is_cancelled(R->ctx))
		st = cf_error_set(R->ctx, CF_ERR_CANCELLED, "interrupted");
	if (st)
		runner_fail(R);
	if (w->owns_conns)
		worker_disconnect(w);
	w->status = st;
	return NULL;
}

static cf_status run_workers(runner *R)
{
	R->workers = cf_calloc((size_t)R->jobs + 1, sizeof(worker));
	if (R->jobs == 1) {
		worker *w = &R->workers[0];
		*w = (worker){.R = R, .src = R->src, .dst = R->dst};
		worker_main(w);
		return w->status;
	}
	long started = 0;
	for (long i = 0; i < R->jobs; i++) {
		worker *w = &R->workers[i];
		*w = (worker){.R = R, .id = (int)i, .owns_conns = true};
		if (pthread_create(&w->thread, NULL, worker_main, w) != 0) {
			cf_error_set(R->ctx, CF_ERR_INTERNAL, "could not start a worker thread");
			runner_fail(R);
			break;
		}
		started++;
	}
	cf_status st = CF_OK;
	for (long i = 0; i < started; i++) {
		pthread_join(R->workers[i].thread, NULL);
		if (!st)
			st = R->workers[i].status;
	}
	if (!st && started < R->jobs)
		st = CF_ERR_INTERNAL;
	/* The first error recorded is the one to report. */
	return st ? (cf_error_code(R->ctx) ? cf_error_code(R->ctx) : st) : CF_OK;
}

/* ---- The run -------------------------------------------------------------------------------- */

static cf_status finish_history(runner *R, cf_status st)
{
	if (!R->history_started)
		return CF_OK;
	static const char sql[] =
		"UPDATE confiture.sync_history SET finished_at = now(), rows = $2, bytes = $3, "
		"duration_s = $4, outcome = $5, error = $6, n_tables = $7 WHERE run_id = $1";
	long long rows = 0, bytes = 0;
	for (size_t i = 0; i < R->p->n; i++) {
		rows += R->p->tables[i].rows;
		bytes += R->p->tables[i].bytes;
	}
	char *r = fmt_ll(rows), *b = fmt_ll(bytes), *n = fmt_ll((long long)R->p->n);
	char *d = cf_asprintf("%.3f", cf_now() - R->t0);
	const char *outcome = !st ? "success"
	                      : st == CF_ERR_CANCELLED ? "interrupted"
	                      : st == CF_ERR_CHECK ? "verify_failed"
	                                           : "failed";
	const char *params[] = {R->run_id, r, b, d, outcome, st ? cf_last_error(R->ctx) : NULL, n};
	/* Runs after a Ctrl-C too: the history must say how the run ended. */
	cf_status hs = cf_pg_exec_always(R->dst, sql, 7, params);
	free(r);
	free(b);
	free(n);
	free(d);
	return hs;
}

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
	cf_status st = take_lock(R);
	if (!st)
		st = fire_run_hook(R, "before_sync", -1);
	if (!st)
		st = cf_pg_exec(R->dst, cf_sql_sync_schema);
	if (!st)
		st = cf_pg_exec(R->dst, "UPDATE confiture.sync_history SET outcome = 'interrupted', "
		                "finished_at = coalesce(finished_at, now()) WHERE outcome = 'running'");
	char *old = NULL;
	if (!st && R->o->resume) {
		st = find_resumable(R, &old);
		if (!st && !old) {
			cf_log_info(ctx, "no interrupted sync to resume in %s", R->to.display);
			R->res->message = cf_strdup("no interrupted sync to resume");
			return CF_OK;
		}
		if (!st) {
			R->resumed_from = old;
			R->res->resumed_from = cf_strdup(old);
			st = adopt_ranges(R, old);
		}
	}
	/* The run's id is the progress stream's, so events and history agree. */
	memcpy(R->run_id, cf_prog_run_id(R->prog), sizeof(R->run_id));
	R->res->run_id = cf_strdup(R->run_id);
	if (!st)
		st = start_history(R);
	if (!st && old)
		st = copy_old_items(R, old);
	if (!st)
		st = insert_items(R);
	cf_strv done;
	cf_strv_init(&done);
	if (!st)
		st = load_done(R, &done);
	if (!st)
		make_items(R, &done);
	if (!st) {
		plan_progress(R);
		cf_prog_phase(R->prog, "preparing the target", -1);
		st = disable_constraints(R);
	}
	if (!st)
		st = truncate_split(R, &done);
	cf_strv_release(&done);
	if (!st) {
		cf_prog_phase(R->prog, "copying", -1);
		st = run_workers(R);
	}
	if (!st) {
		cf_prog_phase(R->prog, "setting sequences", -1);
		st = sync_sequences(R);
	}
	if (!st) {
		cf_prog_phase(R->prog, "restoring constraints and triggers", -1);
		st = restore_constraints(R);
	}
	if (!st && R->o->verify) {
		cf_prog_phase(R->prog, "verifying", -1);
		st = sync_verify(R);
	}
	if (st && st != CF_ERR_CHECK && R->history_started)
		cf_error_hint(ctx, "Tables copied so far are complete; the others are untouched. Run "
		                   "\"confiture sync --resume\" with the same options to finish (the "
		                   "target's foreign keys and triggers come back when a sync completes).");
	return st;
}

/* ---- Result -------------------------------------------------------------------------------- */

static void fill_result(runner *R, cf_status st)
{
	cf_sync_result *res = R->res;
	res->success = st == CF_OK;
	res->duration_s = cf_now() - R->t0;
	res->is_anonymized = R->anonymize;
	res->is_dry_run = R->o->dry_run;
	plan *p = R->p;
	if (p) {
		res->tables = cf_calloc(p->n + 1, sizeof(cf_sync_table));
		res->n_tables = p->n;
		for (size_t i = 0; i < p->n; i++) {
			plan_table *t = &p->tables[i];
			cf_sync_table *o = &res->tables[i];
			o->name = cf_strdup(t->st->qname);
			o->format = t->is_binary ? "binary" : "text";
			o->est_rows = t->est_rows;
			o->rows = t->rows;
			o->bytes = t->bytes;
			o->duration_s = t->duration_s;
			o->n_ranges = t->n_ranges;
			o->is_skipped = t->is_skipped;
			o->is_subset = t->is_subset;
			o->where = cf_strdup(t->pred);
			o->verified = t->verified;
			o->masked = cf_calloc(t->n_cols + 1, sizeof(char *));
			for (size_t k = 0; k < t->n_cols; k++)
				if (t->cols[k].rule)
					o->masked[o->n_masked++] = cf_asprintf("%s: %s", t->cols[k].sc->name,
					                                       t->cols[k].rule->strategy);
			if (t->is_skipped)
				res->n_skipped++;
			else if (!R->o->dry_run && (t->rows > 0 || t->ranges_done > 0 || t->duration_s > 0))
				res->n_copied++;
			res->rows += t->rows;
			res->bytes += t->bytes;
		}
		res->issues = p->issues;
		res->n_issues = p->n_issues;
		p->issues = NULL;
		p->n_issues = 0;
	}
	res->changes_detected = res->rows > 0;
	res->is_verified = R->o->verify && st == CF_OK;
	res->warnings = cf_calloc(R->warnings.n + 1, sizeof(char *));
	for (size_t i = 0; i < R->warnings.n; i++)
		res->warnings[res->n_warnings++] = cf_strdup(R->warnings.v[i]);
	if (!res->message)
		res->message = st ? cf_strdup(cf_last_error(R->ctx))
		               : R->o->dry_run ? cf_asprintf("plan: %zu tables", res->n_tables)
		                               : cf_asprintf("synced %ld tables, %lld rows", res->n_copied,
		                                             res->rows);
	if (st) {
		cf_errlist l = {0};
		cf_errlist_push_ctx(&l, R->ctx);
		res->errors = l.v;
		res->n_errors = l.n;
	}
}

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
	free(R->items);
	free(R->workers);
	free(R->resumed_from);
	cf_strv_release(&R->warnings);
	pthread_mutex_destroy(&R->mu);
}

cf_status cf_sync(cf_ctx *ctx, const cf_sync_opts *o, cf_sync_result **out)
{
	cf_ctx_clear_error(ctx);
	cf_sync_result *res = cf_calloc(1, sizeof(*res));
	*out = res;
	runner R = {.ctx = ctx, .o = o, .res = res, .t0 = cf_now(),
	            .prog = cf_prog_new(ctx, "sync", "rows", "table")};
	pthread_mutex_init(&R.mu, NULL);
	atomic_init(&R.stop, false);
	cf_strv_init(&R.warnings);
	R.jobs = o->jobs > 0 ? o->jobs : ctx->cfg->sync.jobs > 0 ? ctx->cfg->sync.jobs : 1;
	if (R.jobs > 32)
		R.jobs = 32;
	R.split_rows = o->split_rows > 0 ? o->split_rows : 1000000;
	cf_status st = resolve_refs(&R);
	if (!st)
		st = load_rules(&R);
	if (!st)
		st = connect_both(&R);
	if (!st)
		st = build_plan(&R);
	if (!st && o->dry_run)
		st = sync_pii_scan(&R);
	else if (!st)
		st = execute(&R);
	if (st == CF_ERR_CANCELLED || (st && cf_ctx_is_cancelled(ctx)))
		st = CF_ERR_CANCELLED;
	if (R.history_started)
		finish_history(&R, st);
	if (!st && !o->dry_run && R.history_started)
		st = fire_run_hook(&R, "after_sync", 1);
	if (st) {
		if (R.history_started && st != CF_ERR_CHECK)
			fire_run_hook(&R, "after_sync", 0);
		cf_hooks_fire_on_error(ctx, R.dst && !cf_pg_is_bad(R.dst) ? R.dst : NULL);
	}
	cf_prog_free(R.prog, st == CF_OK);
	fill_result(&R, st);
	runner_release(&R);
	return st;
}

void cf_sync_result_free(cf_sync_result *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n_tables; i++) {
		cf_sync_table *t = &r->tables[i];
		free(t->name);
		free(t->where);
		for (size_t k = 0; k < t->n_masked; k++)
			free(t->masked[k]);
		free(t->masked);
	}
	free(r->tables);
	for (size_t i = 0; i < r->n_issues; i++) {
		free(r->issues[i].table);
		free(r->issues[i].column);
		free(r->issues[i].kind);
		free(r->issues[i].message);
	}
	free(r->issues);
	for (size_t i = 0; i < r->n_warnings; i++)
		free(r->warnings[i]);
	free(r->warnings);
	for (size_t i = 0; i < r->n_errors; i++)
		cf_error_item_release(&r->errors[i]);
	free(r->errors);
	free(r->message);
	free(r->run_id);
	free(r->resumed_from);
	free(r->source);
	free(r->target);
	free(r);
}
