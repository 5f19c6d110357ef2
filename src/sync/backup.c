/*
 * backup.c -- the target's contents, kept before a sync overwrites them
 * (--backup, --backup-dir).
 *
 * --backup keeps them in the target, in a schema confiture_backup_<run>:
 * each table's old rows are copied there (CREATE TABLE ... AS, on the server)
 * in the very transaction that then replaces them, so that a table is
 * either untouched or replaced with its backup taken. Why a copy and not a
 * rename of the table into the backup schema? A renamed table takes its
 * identity along: views, foreign keys of other tables, grants, owner,
 * triggers, policies and publications would follow it into the backup, and
 * the application would find a new, bare table in its place. The copy is
 * made by the server, without a round trip; an incremental run copies only
 * the tables it changes.
 *
 * --backup-dir DIR dumps the tables (pg_dump's custom format, data only)
 * into DIR/confiture_backup_<run>.dump before anything changes. pg_dump gets
 * the connection without its password on its command line; the password,
 * if any, goes through its environment.
 *
 * Either way, confiture.sync_backups records the run's backup: its kind,
 * where it is, its tables, and the values of the sequences the sync sets, so
 * that `sync restore` (restore.c) can put everything back.
 */
#include "sync.h"
#include "error.h"
#include "fs.h"
#include "json.h"
#include "log.h"
#include "proc.h"
#include "embedded.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern char **environ;

char *sync_backup_schema(const char *run_id)
{
	cf_buf b;
	cf_buf_init(&b);
	cf_buf_puts(&b, "confiture_backup_");
	for (const char *p = run_id; *p; p++)
		if (*p != '-')
			cf_buf_putc(&b, *p);
	return b.data;
}

/* {"\"public\".\"t_id_seq\"": [last_value, is_called], ...} of the
 * sequences the sync will set, as they are now. */
static cf_status sequences_json(runner *R, char **out)
{
	cf_buf b;
	cf_buf_init(&b);
	cf_json j;
	cf_json_init(&j, &b, false);
	cf_json_obj_begin(&j);
	cf_status st = CF_OK;
	for (size_t i = 0; !st && i < R->p->n; i++) {
		const plan_table *t = &R->p->tables[i];
		for (size_t k = 0; !st && k < t->n_cols; k++) {
			const char *seq = t->cols[k].dc->seq;
			if (!seq || !t->cols[k].sc->seq)
				continue;
			char *sql = cf_sql_format(R->dst, "SELECT last_value::text, is_called::text FROM %s",
			                          seq);
			cf_pgres *r = NULL;
			st = cf_pg_query(R->dst, sql, 0, NULL, &r);
			free(sql);
			if (!st && cf_pgres_nrows(r) == 1) {
				cf_json_key(&j, seq);
				cf_json_arr_begin(&j);
				cf_json_str(&j, cf_pgres_get(r, 0, 0));
				cf_json_str(&j, cf_pgres_get(r, 0, 1));
				cf_json_arr_end(&j);
			}
			cf_pgres_free(r);
		}
	}
	cf_json_obj_end(&j);
	*out = b.data;
	return st;
}

/* The plan's tables as a JSON array (for the record of a dump). */
static char *tables_json(const runner *R)
{
	cf_buf b;
	cf_buf_init(&b);
	cf_json j;
	cf_json_init(&j, &b, false);
	cf_json_arr_begin(&j);
	for (size_t i = 0; i < R->p->n; i++)
		cf_json_str(&j, R->p->tables[i].st->qname);
	cf_json_arr_end(&j);
	return b.data;
}

/* The environment of pg_dump/pg_restore: ours, with PGPASSWORD set from
 * CONNINFO's password when it has one. Free with env_free. */
char **sync_tool_env(const char *conninfo)
{
	size_t n = 0;
	while (environ[n])
		n++;
	char **env = cf_calloc(n + 2, sizeof(char *));
	size_t k = 0;
	char *pw = cf_dsn_password(conninfo);
	for (size_t i = 0; i < n; i++)
		if (!pw || strncmp(environ[i], "PGPASSWORD=", 11) != 0)
			env[k++] = cf_strdup(environ[i]);
	if (pw) {
		env[k++] = cf_asprintf("PGPASSWORD=%s", pw);
		cf_secret_free(pw);
	}
	return env;
}

void sync_tool_env_free(char **env)
{
	for (size_t i = 0; env && env[i]; i++)
		cf_secret_free(env[i]);
	free(env);
}

/* Runs the server tool NAME (pg_dump, pg_restore) from the server binaries'
 * directory with ARGV[1..] (ARGV[0] is filled in). */
cf_status sync_run_tool(cf_ctx *ctx, const char *name, const char **argv, const char *conninfo)
{
	char *dir = cf_pg_bindir(ctx);
	if (!dir)
		return CF_ERR_IO;
	char *path = cf_path_join(dir, name);
	free(dir);
	argv[0] = path;
	char **env = sync_tool_env(conninfo);
	cf_buf out;
	cf_buf_init(&out);
	cf_proc_opts o = {.argv = argv, .envp = (const char *const *)env, .output = &out};
	cf_proc_result r;
	cf_status st = cf_proc_run(ctx, &o, &r);
	if (!st && r.exit_code != 0) {
		cf_error_set(ctx, CF_ERR_IO, "%s failed (exit %d)", name, r.exit_code);
		if (out.len)
			cf_error_detail(ctx, "%s", out.data);
		st = CF_ERR_IO;
	}
	sync_tool_env_free(env);
	cf_buf_release(&out);
	free(path);
	return st;
}

/* --backup-dir: every table of the plan, dumped before anything changes. */
static cf_status dump_tables(runner *R, const char *path)
{
	char *conn = cf_dsn_without_password(R->to.conninfo);
	size_t n = R->p->n;
	const char **argv = cf_calloc(2 * n + 10, sizeof(char *));
	char **pats = cf_calloc(n + 1, sizeof(char *));
	size_t a = 1;
	argv[a++] = "--format=custom";
	argv[a++] = "--data-only";
	argv[a++] = "--no-sync";
	argv[a++] = "--file";
	argv[a++] = path;
	argv[a++] = "--dbname";
	argv[a++] = conn;
	for (size_t i = 0; i < n; i++) {
		/* Double quotes make pg_dump match the names exactly. */
		const table_info *t = R->p->tables[i].dt;
		cf_buf q;
		cf_buf_init(&q);
		cf_buf_putc(&q, '"');
		for (const char *p = t->schema; *p; p++)
			cf_buf_puts(&q, *p == '"' ? "\"\"" : (char[]){*p, 0});
		cf_buf_puts(&q, "\".\"");
		for (const char *p = t->name; *p; p++)
			cf_buf_puts(&q, *p == '"' ? "\"\"" : (char[]){*p, 0});
		cf_buf_putc(&q, '"');
		pats[i] = q.data;
		argv[a++] = "--table";
		argv[a++] = pats[i];
	}
	cf_status st = sync_run_tool(R->ctx, "pg_dump", argv, R->to.conninfo);
	if (st)
		cf_error_context(R->ctx, "while dumping the target's tables into %s", path);
	for (size_t i = 0; i < n; i++)
		free(pats[i]);
	free(pats);
	free(argv);
	free(conn);
	return st;
}

static const char SQL_RECORD[] =
	"INSERT INTO confiture.sync_backups (run_id, kind, location, tables, sequences) "
	"VALUES ($1, $2, $3, ARRAY(SELECT json_array_elements_text($4::json)), $5::jsonb)";

cf_status sync_backup_begin(runner *R)
{
	const char *dir = R->o->backup_dir;
	char *location = NULL, *seqs = NULL, *tables = NULL;
	cf_status st = sequences_json(R, &seqs);
	if (!st && dir) {
		char real[PATH_MAX];
		if (!realpath(dir, real) || !cf_is_dir(real)) {
			st = cf_error_set(R->ctx, CF_ERR_USAGE, "backup directory \"%s\" does not exist", dir);
			cf_error_hint(R->ctx, "Create it first; confiture writes one dump file per run in it.");
		} else {
			char *name = sync_backup_schema(R->run_id);
			location = cf_asprintf("%s/%s.dump", real, name);
			free(name);
			st = dump_tables(R, location);
		}
		tables = tables_json(R);
	} else if (!st) {
		location = sync_backup_schema(R->run_id);
		char *sql = cf_sql_format(R->dst, "CREATE SCHEMA %I", location);
		st = cf_pg_exec(R->dst, sql);
		free(sql);
		tables = cf_strdup("[]");
	}
	if (!st) {
		const char *params[] = {R->run_id, dir ? "dir" : "schema", location, tables, seqs};
		st = cf_pg_exec_params(R->dst, SQL_RECORD, 5, params);
	}
	if (!st) {
		R->res->backup_kind = dir ? "dir" : "schema";
		R->res->backup_location = cf_strdup(location);
		cf_log_info(R->ctx, "backup of the target's tables: %s", location);
	}
	free(location);
	free(seqs);
	free(tables);
	return st;
}

cf_status sync_backup_table(runner *R, cf_pg *dst, const plan_table *t)
{
	if (!R->o->backup || R->o->backup_dir)
		return CF_OK;
	char *schema = sync_backup_schema(R->run_id);
	char *sql = cf_sql_format(dst, "CREATE TABLE %I.%I AS SELECT * FROM ONLY %s", schema,
	                          t->st->qname, t->dt->quoted);
	cf_status st = cf_pg_exec(dst, sql);
	free(sql);
	free(schema);
	if (!st) {
		const char *params[] = {R->run_id, t->st->qname};
		st = cf_pg_exec_params(dst, "UPDATE confiture.sync_backups SET tables = "
		                       "array_append(tables, $2) WHERE run_id = $1 AND NOT $2 = ANY(tables)",
		                       2, params);
	}
	if (st)
		cf_error_context(cf_pg_ctx(dst), "while keeping a backup of \"%s\"", t->st->qname);
	return st;
}
