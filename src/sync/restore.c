/*
 * restore.c -- `confiture sync restore --to ENV|URL --run RUN_ID`: puts back
 * the tables a sync overwrote, from the backup it kept (backup.c).
 *
 * Like a sync, it refuses a protected target, holds the one-sync-at-a-time
 * lock, takes the target's foreign keys and triggers away while it loads
 * (recorded, with a guard process, restored and validated at the end), and
 * loads each table in one transaction: TRUNCATE, then the backup's rows
 * (from the backup schema, or streamed out of the dump by pg_restore), then
 * COMMIT, so that a table is either as it was or restored entirely. The
 * sequences the sync set get their old values back. The restore is
 * recorded in the history (mode "restore").
 */
#include "sync.h"
#include "ctx.h"
#include "error.h"
#include "fs.h"
#include "json.h"
#include "log.h"

#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LOCK_SQL "SELECT pg_try_advisory_lock(1751936052, 1937337955)"
#define UNLOCK_SQL "SELECT pg_advisory_unlock(1751936052, 1937337955)"

typedef struct restorer {
	cf_ctx *ctx;
	cf_sync_result *res;
	cf_dbref to;
	bool has_to;
	cf_pg *pg;
	bool has_lock;
	char run_id[37];         /* the restore's own run */
	const char *of;          /* the run whose backup is restored */
	char *kind, *location;
	cf_strv tables;
	char *sequences;         /* JSON */
	catalog *cat;
	int guard_fd;
	bool is_disabled, is_restored, history_started;
	double t0;
} restorer;

static cf_status open_target(restorer *X, const char *target)
{
	cf_status st = cf_dbref_resolve(X->ctx, target, &X->to);
	if (st)
		return st;
	X->has_to = true;
	X->res->target = cf_strdup(X->to.display);
	st = sync_refuse_protected(X->ctx, &X->to, "restore into");
	if (st)
		return st;
	st = cf_pg_connect(X->ctx, X->to.conninfo, &X->pg);
	if (!st)
		st = cf_pg_exec(X->pg, "SET DateStyle = 'ISO, YMD'; SET IntervalStyle = 'postgres'; "
		                "SET TimeZone = 'UTC'; SET extra_float_digits = 3; "
		                "SET statement_timeout = 0");
	char *v = NULL;
	if (!st)
		st = cf_pg_query_value(X->pg, LOCK_SQL, 0, NULL, &v);
	if (!st && (!v || strcmp(v, "t") != 0)) {
		st = cf_error_set(X->ctx, CF_ERR_LOCK, "another confiture sync is writing to %s",
		                  X->to.display);
		cf_error_hint(X->ctx, "Wait for it to finish.");
	}
	X->has_lock = !st;
	free(v);
	return st;
}

static cf_status read_record(restorer *X)
{
	char *exists = NULL;
	cf_status st = cf_pg_query_value(X->pg, "SELECT to_regclass('confiture.sync_backups') IS NOT "
	                                 "NULL", 0, NULL, &exists);
	bool has = !st && exists && strcmp(exists, "t") == 0;
	free(exists);
	cf_pgres *r = NULL;
	const char *params[] = {X->of};
	if (has)
		st = cf_pg_query(X->pg, "SELECT kind, location, tables::text, sequences::text FROM "
		                 "confiture.sync_backups WHERE run_id::text = $1", 1, params, &r);
	if (!st && (!has || cf_pgres_nrows(r) == 0)) {
		st = cf_error_set(X->ctx, CF_ERR_VALIDATION, "no backup of run \"%s\" in %s", X->of,
		                  X->to.display);
		cf_error_hint(X->ctx, "\"confiture sync history --to ...\" lists the runs and their "
		                      "backups; a sync keeps one with --backup or --backup-dir.");
	}
	if (!st) {
		X->kind = cf_strdup(cf_pgres_get(r, 0, 0));
		X->location = cf_strdup(cf_pgres_get(r, 0, 1));
		parse_text_array(cf_pgres_get(r, 0, 2), &X->tables);
		X->sequences = cf_strdup(cf_pgres_get(r, 0, 3));
	}
	cf_pgres_free(r);
	return st;
}

static cf_status check_present(restorer *X)
{
	bool ok = true;
	if (strcmp(X->kind, "dir") == 0) {
		ok = cf_is_file(X->location);
	} else {
		char *v = NULL;
		const char *params[] = {X->location};
		cf_status st = cf_pg_query_value(X->pg, "SELECT to_regnamespace(quote_ident($1)) IS NOT "
		                                 "NULL", 1, params, &v);
		ok = !st && v && strcmp(v, "t") == 0;
		free(v);
		if (st)
			return st;
	}
	if (ok)
		return CF_OK;
	cf_error_set(X->ctx, CF_ERR_VALIDATION, "the backup of run \"%s\" is gone: %s", X->of,
	             X->location);
	cf_error_hint(X->ctx, "It was pruned, or the dump file was moved.");
	return CF_ERR_VALIDATION;
}

/* ---- One table ---------------------------------------------------------------------------- */

/* Columns the backup table and the target share (the target's generated
 * ones are left to it). */
static cf_status shared_columns(restorer *X, const table_info *t, cf_buf *cols)
{
	const char *schema = X->location;
	cf_pgres *r = NULL;
	char *sql = cf_sql_format(X->pg, "SELECT a.attname FROM pg_attribute a JOIN pg_class c ON c.oid = "
	                    "a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE "
	                    "n.nspname = %L AND c.relname = %L AND a.attnum > 0 AND NOT "
	                    "a.attisdropped ORDER BY a.attnum", schema, t->qname);
	cf_status st = cf_pg_query(X->pg, sql, 0, NULL, &r);
	free(sql);
	for (int i = 0; !st && i < cf_pgres_nrows(r); i++) {
		int ci = table_col(t, cf_pgres_get(r, i, 0));
		if (ci < 0 || t->cols[ci].is_generated)
			continue;
		cf_sql_appendf(X->pg, cols, "%s%I", cols->len ? ", " : "", t->cols[ci].name);
	}
	cf_pgres_free(r);
	return st;
}

static cf_status load_from_schema(restorer *X, const table_info *t, long long *rows)
{
	cf_buf cols;
	cf_buf_init(&cols);
	cf_status st = shared_columns(X, t, &cols);
	if (!st) {
		char *sql = cf_sql_format(X->pg, "INSERT INTO %s (%s) SELECT %s FROM %I.%I", t->quoted,
		                          cols.data, cols.data, X->location, t->qname);
		cf_pgres *r = NULL;
		st = cf_pg_query(X->pg, sql, 0, NULL, &r);
		if (!st)
			*rows = cf_pgres_cmd_tuples(r);
		cf_pgres_free(r);
		free(sql);
	}
	cf_buf_release(&cols);
	return st;
}

/* Runs the statements and COPY blocks of pg_restore's script FILE. */
static cf_status run_script(restorer *X, const char *file, long long *rows)
{
	FILE *f = fopen(file, "r");
	if (!f)
		return cf_error_set(X->ctx, CF_ERR_IO, "could not read \"%s\": %s", file, strerror(errno));
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	bool in_copy = false;
	cf_status st = CF_OK;
	while (!st && (n = getline(&line, &cap, f)) > 0) {
		if (in_copy) {
			if (strcmp(line, "\\.\n") == 0) {
				long long k = 0;
				st = cf_pg_copy_in_finish(X->pg, &k);
				*rows += k;
				in_copy = false;
			} else {
				st = cf_pg_copy_in_put(X->pg, line, (size_t)n);
			}
		} else if (strncmp(line, "COPY ", 5) == 0) {
			st = cf_pg_copy_in_start(X->pg, line);
			in_copy = !st;
		} else if (strncmp(line, "SET ", 4) == 0 ||
		           strncmp(line, "SELECT pg_catalog.set_config(", 29) == 0) {
			st = cf_pg_exec(X->pg, line);
		}
	}
	if (in_copy && !st)
		st = cf_error_set(X->ctx, CF_ERR_IO, "the dump's data for this table ends early");
	if (in_copy)
		cf_pg_copy_in_end(X->pg, "aborted by confiture");
	cf_memzero(line, cap);
	free(line);
	fclose(f);
	return st;
}

static cf_status load_from_dump(restorer *X, const table_info *t, long long *rows)
{
	char dir[] = "/tmp/confiture-restore.XXXXXX";
	if (!mkdtemp(dir))
		return cf_error_set(X->ctx, CF_ERR_IO, "could not make a temporary directory: %s",
		                    strerror(errno));
	char *file = cf_asprintf("%s/table.sql", dir);
	const char *argv[] = {NULL, "--data-only", "--schema", t->schema, "--table", t->name,
	                      "--file", file, X->location, NULL};
	cf_status st = sync_run_tool(X->ctx, "pg_restore", argv, X->to.conninfo);
	if (!st)
		st = run_script(X, file, rows);
	unlink(file);
	rmdir(dir);
	free(file);
	return st;
}

static cf_status restore_table(restorer *X, const char *name, cf_sync_table *out)
{
	const char *dot = strchr(name, '.');
	char *schema = cf_strndup(name, dot ? (size_t)(dot - name) : 0);
	int ti = catalog_find(X->cat, schema, dot ? dot + 1 : name);
	free(schema);
	if (ti < 0) {
		cf_error_set(X->ctx, CF_ERR_VALIDATION, "table \"%s\" of the backup is missing in the "
		             "target", name);
		return CF_ERR_VALIDATION;
	}
	const table_info *t = &X->cat->tables[ti];
	double t0 = cf_now();
	long long rows = 0;
	cf_status st = cf_pg_begin(X->pg);
	if (!st) {
		char *sql = cf_sql_format(X->pg, "TRUNCATE ONLY %s", t->quoted);
		st = cf_pg_exec(X->pg, sql);
		free(sql);
	}
	if (!st)
		st = strcmp(X->kind, "dir") == 0 ? load_from_dump(X, t, &rows)
		                                 : load_from_schema(X, t, &rows);
	/* The table no longer holds the source as of the last sync: the next
	 * incremental run copies it in full. */
	if (!st) {
		const char *params[] = {name};
		st = cf_pg_exec_params(X->pg, "DELETE FROM confiture.sync_table_state WHERE table_name = "
		                       "$1", 1, params);
	}
	if (!st)
		st = cf_pg_commit(X->pg);
	if (st) {
		cf_pg_rollback(X->pg);
		cf_error_context(X->ctx, "while restoring \"%s\" (its transaction was rolled back)", name);
		return st;
	}
	out->name = cf_strdup(name);
	out->format = "text";
	out->mode = "restore";
	out->rows = rows;
	out->n_ranges = 1;
	out->verified = -1;
	out->duration_s = cf_now() - t0;
	out->masked = cf_calloc(1, sizeof(char *));
	out->kept = cf_calloc(1, sizeof(char *));
	return CF_OK;
}

/* ---- The whole restore ----------------------------------------------------------------------- */

static cf_status set_sequences(restorer *X)
{
	if (!X->sequences)
		return CF_OK;
	const char *params[] = {X->sequences};
	return cf_pg_exec_params(X->pg, "SELECT setval(s.key::regclass, (s.value->>0)::bigint, "
	                         "(s.value->>1)::bool) FROM jsonb_each($1::jsonb) s "
	                         "WHERE to_regclass(s.key) IS NOT NULL", 1, params);
}

static cf_status history_start(restorer *X)
{
	struct passwd *pw = getpwuid(getuid());
	char host[HOST_NAME_MAX + 1] = "";
	gethostname(host, sizeof(host) - 1);
	char *by = cf_asprintf("%s@%s as %s", pw ? pw->pw_name : "?", host, cf_pg_user(X->pg));
	char *src = cf_asprintf("backup of run %s", X->of);
	char *tables = cf_strv_join(&X->tables, ",");
	const char *params[] = {X->run_id, by, src, X->to.env, tables, CONFITURE_VERSION};
	cf_status st = cf_pg_exec_params(X->pg, "INSERT INTO confiture.sync_history (run_id, run_by, "
	                                 "source, target_env, tables, n_tables, anonymized, outcome, "
	                                 "confiture_version, mode) VALUES ($1, $2, $3, $4, "
	                                 "string_to_array($5, ','), cardinality(string_to_array($5, "
	                                 "',')), false, 'running', $6, 'restore')", 6, params);
	X->history_started = !st;
	free(by);
	free(src);
	free(tables);
	return st;
}

static void history_finish(restorer *X, cf_status st)
{
	if (!X->history_started)
		return;
	char rows[32], dur[32];
	snprintf(rows, sizeof(rows), "%lld", X->res->rows);
	snprintf(dur, sizeof(dur), "%.3f", cf_now() - X->t0);
	const char *params[] = {X->run_id, rows, dur, st ? "failed" : "success",
	                        st ? cf_last_error(X->ctx) : NULL};
	cf_pg_exec_always(X->pg, "UPDATE confiture.sync_history SET finished_at = now(), rows = $2, "
	                  "duration_s = $3, outcome = $4, error = $5 WHERE run_id = $1", 5, params);
}

static cf_status take_constraints(restorer *X)
{
	bool *copied = cf_calloc(X->cat->n_tables + 1, sizeof(bool));
	for (size_t i = 0; i < X->tables.n; i++) {
		const char *name = X->tables.v[i], *dot = strchr(name, '.');
		char *schema = cf_strndup(name, dot ? (size_t)(dot - name) : 0);
		int ti = catalog_find(X->cat, schema, dot ? dot + 1 : name);
		free(schema);
		if (ti >= 0)
			copied[ti] = true;
	}
	cf_status st = sync_guard_spawn(X->ctx, X->to.conninfo, X->run_id, &X->guard_fd);
	if (!st) {
		X->is_disabled = true;
		st = sync_constraints_take(X->ctx, X->pg, X->cat, copied, X->run_id);
	}
	free(copied);
	return st;
}

static cf_status give_back(restorer *X)
{
	cf_strv failed;
	cf_strv_init(&failed);
	char *why = NULL;
	cf_status st = sync_constraints_restore_anew(X->to.conninfo, &failed, &why);
	X->is_restored = st == CF_OK;
	for (size_t i = 0; i < failed.n; i++)
		cf_log_warning(X->ctx, "foreign key %s stays NOT VALID", failed.v[i]);
	cf_strv_release(&failed);
	free(why);
	return st;
}

static cf_status run_restore(restorer *X)
{
	cf_status st = read_record(X);
	if (!st)
		st = check_present(X);
	if (!st)
		st = catalog_load(X->ctx, X->pg, &X->cat);
	if (!st)
		st = history_start(X);
	if (!st)
		st = take_constraints(X);
	X->res->tables = cf_calloc(X->tables.n + 1, sizeof(cf_sync_table));
	for (size_t i = 0; !st && i < X->tables.n; i++) {
		st = restore_table(X, X->tables.v[i], &X->res->tables[X->res->n_tables]);
		if (!st) {
			X->res->rows += X->res->tables[X->res->n_tables].rows;
			X->res->n_copied++;
			X->res->n_tables++;
		}
	}
	if (!st)
		st = set_sequences(X);
	return st;
}

cf_status cf_sync_restore(cf_ctx *ctx, const char *target, const char *run_id,
                          cf_sync_result **out)
{
	cf_ctx_clear_error(ctx);
	cf_sync_result *res = cf_calloc(1, sizeof(*res));
	*out = res;
	restorer X = {.ctx = ctx, .res = res, .of = run_id, .guard_fd = -1, .t0 = cf_now()};
	cf_strv_init(&X.tables);
	cf_uuid_v4(X.run_id);
	res->run_id = cf_strdup(X.run_id);
	res->restored_from = cf_strdup(run_id);
	cf_status st = !target || !*target || !run_id || !*run_id
	                   ? cf_error_set(ctx, CF_ERR_USAGE, "sync restore needs --to and --run")
	                   : open_target(&X, target);
	if (!st)
		st = run_restore(&X);
	if (X.is_disabled && give_back(&X) && !st)
		st = cf_error_code(ctx) ? cf_error_code(ctx) : CF_ERR_SQL;
	sync_guard_done(&X.guard_fd, X.is_restored);
	if (X.pg)
		history_finish(&X, st);
	res->success = st == CF_OK;
	res->duration_s = cf_now() - X.t0;
	res->message = st ? cf_strdup(cf_last_error(ctx))
	                  : cf_asprintf("restored %zu table%s, %lld rows from the backup of run %s",
	                                res->n_tables, res->n_tables == 1 ? "" : "s", res->rows,
	                                run_id);
	if (st) {
		cf_errlist l = {0};
		cf_errlist_push_ctx(&l, ctx);
		res->errors = l.v;
		res->n_errors = l.n;
	}
	if (X.pg && X.has_lock)
		cf_pg_exec_always(X.pg, UNLOCK_SQL, 0, NULL);
	cf_pg_close(X.pg);
	catalog_free(X.cat);
	if (X.has_to)
		cf_dbref_release(&X.to);
	free(X.kind);
	free(X.location);
	free(X.sequences);
	cf_strv_release(&X.tables);
	return st;
}
