/*
 * setup.c -- s2s setup and s2s cleanup.
 *
 * Setup runs on the target, in one transaction: the extension, a foreign
 * server built from the source connection as libpq resolved it (so a socket
 * directory, a non-default port or a second cluster all work), a user
 * mapping with the credentials libpq used, and the staging schema of foreign
 * tables. Each object is compared with what it should be and only touched
 * when it differs, so a second run changes nothing.
 */
#include "s2s.h"
#include "log.h"
#include "secret.h"
#include "sql_embed.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define COMMENT_OURS "confiture s2s"
#define COMMENT_OURS_EXT "confiture s2s; created postgres_fdw"
/* Rows postgres_fdw fetches per round trip (its default, 100, makes a
 * million-row copy cost ten thousand round trips). */
#define FETCH_SIZE "10000"
/* Settings of the server's sessions on the source: verify's checksum is a
 * short, wide aggregate, where JIT compilation costs more than it saves. */
#define REMOTE_OPTIONS "-c jit=off"

/* ---- Relations on both sides -------------------------------------------------- */

typedef struct srel {
	char *schema, *name;   /* the remote relation */
	char *local;           /* the foreign table's name (staging only) */
	char *server;          /* staging only */
	s2s_col *cols;
	size_t n_cols;
	bool is_wanted;        /* staging: still matches a source relation */
} srel;

typedef struct srelv {
	srel *v;
	size_t n;
} srelv;

static void srelv_release(srelv *l)
{
	for (size_t i = 0; i < l->n; i++) {
		srel *r = &l->v[i];
		for (size_t j = 0; j < r->n_cols; j++) {
			free(r->cols[j].name);
			free(r->cols[j].type);
		}
		free(r->cols);
		free(r->schema);
		free(r->name);
		free(r->local);
		free(r->server);
	}
	free(l->v);
	memset(l, 0, sizeof(*l));
}

/* Groups the rows of RES into relations: columns LOCAL (or -1), SCHEMA, NAME,
 * SERVER (or -1), then attname, type, notnull at ATT, ATT+1, ATT+2. */
static void srelv_fill(srelv *l, cf_pgres *res, int local, int schema, int name, int server,
                       int att)
{
	int n = cf_pgres_nrows(res);
	l->v = cf_calloc((size_t)n + 1, sizeof(srel));
	for (int i = 0; i < n; i++) {
		const char *key = cf_pgres_get(res, i, local >= 0 ? local : name);
		const char *skey = cf_pgres_get(res, i, schema);
		srel *r = l->n ? &l->v[l->n - 1] : NULL;
		bool same = r && strcmp(local >= 0 ? r->local : r->name, key) == 0 &&
		            (local >= 0 || strcmp(r->schema, skey) == 0);
		if (!same) {
			r = &l->v[l->n++];
			r->schema = cf_strdup(skey);
			r->name = cf_strdup(cf_pgres_get(res, i, name));
			r->local = local >= 0 ? cf_strdup(key) : NULL;
			r->server = server >= 0 ? cf_strdup(cf_pgres_get(res, i, server)) : NULL;
			r->cols = cf_calloc((size_t)n, sizeof(s2s_col));
		}
		if (cf_pgres_isnull(res, i, att))
			continue;
		s2s_col *c = &r->cols[r->n_cols++];
		c->name = cf_strdup(cf_pgres_get(res, i, att));
		c->type = cf_strdup(cf_pgres_get(res, i, att + 1));
		c->is_notnull = cf_pgres_get(res, i, att + 2)[0] == 't';
	}
}

static cf_status load_source(s2s_run *run, const char *const *schemas, size_t n, srelv *out)
{
	char *arr = s2s_text_array(schemas, n);
	const char *p[] = {arr};
	cf_pgres *res = NULL;
	char *missing = NULL;
	cf_status st = cf_pg_query_value(
		run->src,
		"SELECT s FROM pg_catalog.unnest($1::text[]) s"
		" WHERE NOT EXISTS (SELECT FROM pg_catalog.pg_namespace WHERE nspname = s) LIMIT 1",
		1, p, &missing);
	if (!st && missing) {
		st = cf_error_set(run->ctx, CF_ERR_VALIDATION,
		                  "schema \"%s\" does not exist in the source \"%s\"", missing,
		                  cf_pg_display(run->src));
		cf_error_hint(run->ctx, "Name the source schemas to import with --schema.");
	}
	if (!st)
		st = s2s_query_catalog(run->src, cf_sql_s2s_src_columns, 1, p, &res);
	if (!st)
		srelv_fill(out, res, -1, 0, 1, -1, 2);
	cf_pgres_free(res);
	free(missing);
	free(arr);
	return st;
}

static cf_status load_staging(s2s_run *run, srelv *out)
{
	const char *p[] = {run->staging};
	cf_pgres *res = NULL;
	cf_status st = s2s_query_catalog(run->tgt, cf_sql_s2s_staging_columns, 1, p, &res);
	if (!st)
		srelv_fill(out, res, 0, 1, 2, 3, 4);
	cf_pgres_free(res);
	return st;
}

/* ---- Objects ------------------------------------------------------------------- */

static cf_status query_bool(cf_pg *pg, const char *sql, int n, const char *const *p, bool *out)
{
	char *v = NULL;
	cf_status st = cf_pg_query_value(pg, sql, n, p, &v);
	*out = v && v[0] == 't';
	free(v);
	return st;
}

static cf_status ensure_extension(s2s_run *run, bool *created)
{
	bool has = false;
	cf_status st = query_bool(run->tgt,
	                          "SELECT EXISTS (SELECT FROM pg_catalog.pg_extension"
	                          "               WHERE extname = 'postgres_fdw')",
	                          0, NULL, &has);
	*created = false;
	if (st || has)
		return st;
	st = cf_pg_exec(run->tgt, "CREATE EXTENSION IF NOT EXISTS postgres_fdw");
	if (st) {
		cf_error_context(run->ctx, "while creating the postgres_fdw extension on the target");
		if (cf_error_sqlstate_get(run->ctx) &&
		    strcmp(cf_error_sqlstate_get(run->ctx), "42501") != 0)
			cf_error_hint(run->ctx, "Install postgres_fdw on the target server; it ships with "
			                        "PostgreSQL's contrib modules.");
		return st;
	}
	*created = true;
	s2s_result_action(run, "created extension postgres_fdw");
	return CF_OK;
}

typedef struct kv {
	const char *key;
	const char *value;
} kv;

/* CREATE SERVER, or ALTER SERVER with only the options that differ. */
static cf_status ensure_server(s2s_run *run, const kv *want, size_t n_want, bool ext_created)
{
	cf_pg *pg = run->tgt;
	const char *p[] = {run->server};
	cf_pgres *res = NULL;
	cf_status st = cf_pg_query(
		pg,
		"SELECT w.fdwname, o.option_name, o.option_value"
		"  FROM pg_catalog.pg_foreign_server s"
		"  JOIN pg_catalog.pg_foreign_data_wrapper w ON w.oid = s.srvfdw"
		"  LEFT JOIN LATERAL pg_catalog.pg_options_to_table(s.srvoptions) o ON true"
		" WHERE s.srvname = $1",
		1, p, &res);
	if (st)
		return st;
	int n = cf_pgres_nrows(res);
	cf_buf sql;
	cf_buf_init(&sql);
	if (n == 0) {
		cf_sql_appendf(pg, &sql, "CREATE SERVER %I FOREIGN DATA WRAPPER postgres_fdw OPTIONS (",
		               run->server);
		for (size_t i = 0; i < n_want; i++)
			cf_sql_appendf(pg, &sql, "%s%I %L", i ? ", " : "", want[i].key, want[i].value);
		cf_sql_appendf(pg, &sql, "); COMMENT ON SERVER %I IS %L", run->server,
		               ext_created ? COMMENT_OURS_EXT : COMMENT_OURS);
		st = cf_pg_exec(pg, sql.data);
		if (!st)
			s2s_result_action(run, "created foreign server \"%s\"", run->server);
	} else if (strcmp(cf_pgres_get(res, 0, 0), "postgres_fdw") != 0) {
		st = cf_error_set(run->ctx, CF_ERR_VALIDATION,
		                  "foreign server \"%s\" exists on the target and does not use "
		                  "postgres_fdw",
		                  run->server);
		cf_error_hint(run->ctx, "Drop it, or choose another --staging-schema (the server is "
		                        "named after it).");
	} else {
		cf_buf changed;
		cf_buf_init(&changed);
		for (size_t i = 0; i < n_want; i++) {
			const char *have = NULL;
			for (int r = 0; r < n; r++)
				if (cf_pgres_get(res, r, 1) && strcmp(cf_pgres_get(res, r, 1), want[i].key) == 0)
					have = cf_pgres_get(res, r, 2);
			if (have && strcmp(have, want[i].value) == 0)
				continue;
			cf_sql_appendf(pg, &sql, "%s%s %I %L", sql.len ? ", " : "", have ? "SET" : "ADD",
			               want[i].key, want[i].value);
			cf_buf_printf(&changed, "%s%s", changed.len ? ", " : "", want[i].key);
		}
		if (sql.len) {
			char *stmt = cf_sql_format(pg, "ALTER SERVER %I OPTIONS (%s)", run->server, sql.data);
			st = cf_pg_exec(pg, stmt);
			free(stmt);
			if (!st)
				s2s_result_action(run, "updated foreign server \"%s\": %s", run->server,
				                  changed.data);
		}
		cf_buf_release(&changed);
	}
	cf_buf_release(&sql);
	cf_pgres_free(res);
	return st;
}

/* The user mapping holds the source password: it travels only as a $n
 * parameter (to compare) and as a quoted literal in the one statement that
 * stores it, which the server is asked not to log; every copy is wiped. */
static cf_status ensure_mapping(s2s_run *run, const kv *want, size_t n_want, bool is_superuser)
{
	cf_pg *pg = run->tgt;
	const char **pairs = cf_calloc(n_want + 1, sizeof(*pairs));
	for (size_t i = 0; i < n_want; i++)
		pairs[i] = cf_asprintf("%s=%s", want[i].key, want[i].value);
	char *arr = s2s_text_array(pairs, n_want);
	const char *p[] = {run->server, arr};
	bool exists = false, same = false;
	cf_status st = query_bool(pg,
	                          "SELECT EXISTS (SELECT FROM pg_catalog.pg_user_mappings"
	                          "                WHERE srvname = $1 AND usename = current_user)",
	                          1, p, &exists);
	if (!st && exists)
		st = query_bool(pg,
		                "SELECT ARRAY(SELECT x FROM pg_catalog.unnest(umoptions) x ORDER BY 1)"
		                "     = ARRAY(SELECT x FROM pg_catalog.unnest($2::text[]) x ORDER BY 1)"
		                "  FROM pg_catalog.pg_user_mappings"
		                " WHERE srvname = $1 AND usename = current_user",
		                2, p, &same);
	for (size_t i = 0; i < n_want; i++)
		cf_secret_free((char *)pairs[i]);
	free(pairs);
	cf_secret_free(arr);
	if (st || same)
		return st;
	if (is_superuser)
		st = cf_pg_exec(pg, "SET LOCAL log_statement = 'none';"
		                    "SET LOCAL log_min_duration_statement = -1;"
		                    "SET LOCAL log_min_error_statement = 'panic'");
	cf_buf sql;
	cf_buf_init(&sql);
	/* Room for everything up front: a buffer that grows leaves copies behind. */
	size_t room = 256 + 2 * strlen(run->server);
	for (size_t i = 0; i < n_want; i++)
		room += 2 * (strlen(want[i].key) + strlen(want[i].value)) + 16;
	cf_buf_reserve(&sql, room);
	if (exists)
		cf_sql_appendf(pg, &sql, "DROP USER MAPPING FOR CURRENT_USER SERVER %I; ", run->server);
	cf_sql_appendf(pg, &sql, "CREATE USER MAPPING FOR CURRENT_USER SERVER %I OPTIONS (",
	               run->server);
	for (size_t i = 0; i < n_want; i++) {
		cf_sql_appendf(pg, &sql, "%s%I ", i ? ", " : "", want[i].key);
		cf_sql_append_secret(pg, &sql, want[i].value);
	}
	cf_buf_putc(&sql, ')');
	if (!st)
		st = cf_pg_exec(pg, sql.data);
	cf_memzero(sql.data, sql.len);
	cf_buf_release(&sql);
	if (!st)
		s2s_result_action(run, "%s user mapping for the target user on \"%s\"",
		                  exists ? "updated" : "created", run->server);
	return st;
}

static cf_status ensure_schema(s2s_run *run)
{
	bool has = false;
	const char *p[] = {run->staging};
	cf_status st = query_bool(run->tgt,
	                          "SELECT EXISTS (SELECT FROM pg_catalog.pg_namespace"
	                          "               WHERE nspname = $1)",
	                          1, p, &has);
	if (st || has)
		return st;
	char *sql = cf_sql_format(run->tgt, "CREATE SCHEMA %I", run->staging);
	st = cf_pg_exec(run->tgt, sql);
	free(sql);
	if (!st)
		s2s_result_action(run, "created staging schema \"%s\"", run->staging);
	return st;
}

/* ---- Import --------------------------------------------------------------------- */

/* Types of the source that the target does not know: such columns are
 * imported as text (postgres_fdw moves values as text anyway). */
static cf_status missing_types(s2s_run *run, const srelv *src, cf_strv *out)
{
	cf_strv types;
	cf_strv_init(&types);
	for (size_t i = 0; i < src->n; i++)
		for (size_t j = 0; j < src->v[i].n_cols; j++)
			if (!cf_strv_contains(&types, src->v[i].cols[j].type))
				cf_strv_push(&types, src->v[i].cols[j].type);
	char *arr = s2s_text_array((const char *const *)types.v, types.n);
	const char *p[] = {arr};
	cf_pgres *res = NULL;
	cf_status st = cf_pg_query(run->tgt,
	                           "SELECT t FROM pg_catalog.unnest($1::text[]) t"
	                           " WHERE pg_catalog.to_regtype(t) IS NULL",
	                           1, p, &res);
	for (int i = 0; !st && i < cf_pgres_nrows(res); i++)
		cf_strv_push(out, cf_pgres_get(res, i, 0));
	cf_pgres_free(res);
	free(arr);
	cf_strv_release(&types);
	return st;
}

static bool col_matches(const s2s_col *src, const s2s_col *ft, const cf_strv *missing)
{
	if (strcmp(src->name, ft->name) != 0 || src->is_notnull != ft->is_notnull)
		return false;
	if (strcmp(src->type, ft->type) == 0)
		return true;
	return cf_strv_contains(missing, src->type) && strcmp(ft->type, "text") == 0;
}

static bool rel_matches(const srel *src, const srel *ft, const cf_strv *missing)
{
	if (src->n_cols != ft->n_cols)
		return false;
	for (size_t i = 0; i < src->n_cols; i++)
		if (!col_matches(&src->cols[i], &ft->cols[i], missing))
			return false;
	return true;
}

static bool uses_missing(const srel *r, const cf_strv *missing)
{
	for (size_t i = 0; i < r->n_cols; i++)
		if (cf_strv_contains(missing, r->cols[i].type))
			return true;
	return false;
}

/* CREATE FOREIGN TABLE by hand, for a table whose types the target lacks. */
static cf_status create_by_hand(s2s_run *run, const srel *r, const cf_strv *missing)
{
	cf_pg *pg = run->tgt;
	cf_buf sql;
	cf_buf_init(&sql);
	cf_sql_appendf(pg, &sql, "CREATE FOREIGN TABLE %I.%I (", run->staging, r->name);
	for (size_t i = 0; i < r->n_cols; i++) {
		const s2s_col *c = &r->cols[i];
		bool is_missing = cf_strv_contains(missing, c->type);
		cf_sql_appendf(pg, &sql, "%s%I %s OPTIONS (column_name %L)%s", i ? ", " : "", c->name,
		               is_missing ? "text" : c->type, c->name, c->is_notnull ? " NOT NULL" : "");
		if (is_missing)
			s2s_result_hint(run,
			                "Column \"%s\" of %s.%s has type %s, which the target does not "
			                "have: its staging column is text.",
			                c->name, r->schema, r->name, c->type);
	}
	cf_sql_appendf(pg, &sql, ") SERVER %I OPTIONS (schema_name %L, table_name %L)", run->server,
	               r->schema, r->name);
	cf_status st = cf_pg_exec(pg, sql.data);
	cf_buf_release(&sql);
	return st;
}

static cf_status import_batch(s2s_run *run, const char *schema, const cf_strv *names)
{
	if (names->n == 0)
		return CF_OK;
	cf_pg *pg = run->tgt;
	cf_buf sql;
	cf_buf_init(&sql);
	cf_sql_appendf(pg, &sql, "IMPORT FOREIGN SCHEMA %I LIMIT TO (", schema);
	for (size_t i = 0; i < names->n; i++)
		cf_sql_appendf(pg, &sql, "%s%I", i ? ", " : "", names->v[i]);
	cf_sql_appendf(pg, &sql, ") FROM SERVER %I INTO %I", run->server, run->staging);
	cf_status st = cf_pg_exec(pg, sql.data);
	cf_buf_release(&sql);
	if (st)
		st = s2s_fdw_error(run, st);
	return st;
}

static bool is_reserved(const char *name)
{
	return strcmp(name, "confiture_s2s_plan") == 0 || strcmp(name, "confiture_s2s_ranges") == 0;
}

/* Two source schemas with the same table name cannot share one staging schema. */
static cf_status check_collisions(s2s_run *run, const srelv *src)
{
	for (size_t i = 0; i < src->n; i++)
		for (size_t j = 0; j < i; j++)
			if (strcmp(src->v[i].name, src->v[j].name) == 0) {
				cf_status st = cf_error_set(
					run->ctx, CF_ERR_VALIDATION,
					"source tables \"%s.%s\" and \"%s.%s\" would share one name in the "
					"staging schema \"%s\"",
					src->v[j].schema, src->v[j].name, src->v[i].schema, src->v[i].name,
					run->staging);
				cf_error_hint(run->ctx, "Run setup once per source schema, each with its own "
				                        "--staging-schema.");
				return st;
			}
	return CF_OK;
}

static cf_status import_tables(s2s_run *run, const char *const *schemas, size_t n_schemas)
{
	srelv src = {0}, have = {0};
	cf_strv missing, names;
	cf_strv_init(&missing);
	cf_strv_init(&names);
	cf_status st = load_source(run, schemas, n_schemas, &src);
	if (!st)
		st = check_collisions(run, &src);
	if (!st)
		st = load_staging(run, &have);
	if (!st)
		st = missing_types(run, &src, &missing);
	size_t n_imported = 0, n_kept = 0;
	for (size_t s = 0; !st && s < n_schemas; s++) {
		cf_strv_release(&names);
		cf_strv_init(&names);
		for (size_t i = 0; !st && i < src.n; i++) {
			srel *r = &src.v[i];
			if (strcmp(r->schema, schemas[s]) != 0)
				continue;
			if (is_reserved(r->name)) {
				s2s_result_hint(run, "Source table %s.%s was not imported: its name is the one "
				                     "of a confiture progress table.",
				                r->schema, r->name);
				continue;
			}
			srel *ft = NULL;
			for (size_t k = 0; k < have.n; k++)
				if (strcmp(have.v[k].local, r->name) == 0)
					ft = &have.v[k];
			if (ft && strcmp(ft->server, run->server) == 0 && strcmp(ft->schema, r->schema) == 0 &&
			    strcmp(ft->name, r->name) == 0 && rel_matches(r, ft, &missing)) {
				ft->is_wanted = true;
				n_kept++;
				continue;
			}
			if (ft) {
				/* Changed on the source (or not ours): import it afresh. */
				char *sql = cf_sql_format(run->tgt, "DROP FOREIGN TABLE %I.%I", run->staging,
				                          r->name);
				st = cf_pg_exec(run->tgt, sql);
				free(sql);
				ft->is_wanted = true;
				if (!st)
					s2s_result_action(run, "refreshed foreign table \"%s.%s\" (its source "
					                       "changed)", run->staging, r->name);
			}
			if (!st && uses_missing(r, &missing))
				st = create_by_hand(run, r, &missing);
			else if (!st)
				cf_strv_push(&names, r->name);
			n_imported++;
		}
		if (!st)
			st = import_batch(run, schemas[s], &names);
	}
	/* Foreign tables whose source relation is gone. */
	for (size_t k = 0; !st && k < have.n; k++) {
		const srel *ft = &have.v[k];
		bool in_scope = false;
		for (size_t s = 0; s < n_schemas; s++)
			in_scope = in_scope || strcmp(ft->schema, schemas[s]) == 0;
		if (ft->is_wanted || !in_scope || strcmp(ft->server, run->server) != 0)
			continue;
		char *sql = cf_sql_format(run->tgt, "DROP FOREIGN TABLE %I.%I", run->staging, ft->local);
		st = cf_pg_exec(run->tgt, sql);
		free(sql);
		if (!st)
			s2s_result_action(run, "dropped foreign table \"%s.%s\" (gone from the source)",
			                  run->staging, ft->local);
	}
	if (!st && n_imported)
		s2s_result_action(run, "imported %zu foreign table%s into \"%s\"", n_imported,
		                  n_imported == 1 ? "" : "s", run->staging);
	if (!st)
		cf_log_debug(run->ctx, "%zu foreign tables already up to date", n_kept);
	srelv_release(&src);
	srelv_release(&have);
	cf_strv_release(&missing);
	cf_strv_release(&names);
	return st;
}

/* ---- setup ---------------------------------------------------------------------- */

static cf_status check_credentials(s2s_run *run, bool is_superuser, bool *no_password)
{
	const char *pw = cf_pg_password(run->src);
	bool used = cf_pg_used_password(run->src);
	*no_password = !used;
	run->res->has_password = pw && *pw;
	run->res->is_password_required = used;
	if (used || is_superuser)
		return CF_OK;
	cf_status st = cf_error_set(run->ctx, CF_ERR_VALIDATION,
	                            "the source let \"%s\" in without a password, and postgres_fdw "
	                            "lets only superusers connect that way",
	                            cf_pg_user(run->src));
	cf_error_detail(run->ctx, "The target user is not a superuser, so the foreign server must "
	                          "log in to the source with a password.");
	cf_error_hint(run->ctx, "Give \"%s\" a password on the source and require it in "
	                        "pg_hba.conf (scram-sha-256), or run setup as a superuser on the "
	                        "target.",
	              cf_pg_user(run->src));
	return st;
}

static cf_status do_setup(s2s_run *run)
{
	cf_s2s_result *r = run->res;
	const cf_s2s_opts *o = run->opts;
	r->fdw_host = cf_strdup(cf_pg_host(run->src));
	r->fdw_port = cf_strdup(cf_pg_port(run->src));
	r->fdw_dbname = cf_strdup(cf_pg_dbname(run->src));
	r->fdw_user = cf_strdup(cf_pg_user(run->src));
	bool is_super = false, no_password = false, ext_created = false;
	cf_status st = query_bool(run->tgt,
	                          "SELECT rolsuper FROM pg_catalog.pg_roles"
	                          " WHERE rolname = current_user",
	                          0, NULL, &is_super);
	if (!st)
		st = check_credentials(run, is_super, &no_password);
	if (!st)
		st = s2s_lock(run);
	if (!st)
		st = cf_pg_begin(run->tgt);
	if (!st)
		st = ensure_extension(run, &ext_created);
	kv server[] = {{"host", r->fdw_host},       {"port", r->fdw_port},
	               {"dbname", r->fdw_dbname},   {"fetch_size", FETCH_SIZE},
	               {"application_name", "confiture s2s"}, {"options", REMOTE_OPTIONS}};
	if (!st)
		st = ensure_server(run, server, sizeof(server) / sizeof(*server), ext_created);
	kv mapping[3];
	size_t n_mapping = 0;
	const char *pw = cf_pg_password(run->src);
	mapping[n_mapping++] = (kv){"user", r->fdw_user};
	if (pw && *pw)
		mapping[n_mapping++] = (kv){"password", pw};
	if (no_password)
		mapping[n_mapping++] = (kv){"password_required", "false"};
	if (!st)
		st = ensure_mapping(run, mapping, n_mapping, is_super);
	if (!st)
		st = ensure_schema(run);
	static const char *const dflt[] = {"public"};
	const char *const *schemas = o->n_schemas ? o->schemas : dflt;
	size_t n_schemas = o->n_schemas ? o->n_schemas : 1;
	if (!st && !o->is_skip_import)
		st = import_tables(run, schemas, n_schemas);
	if (!st)
		st = s2s_probe_source(run, run->tgt);
	if (!st)
		st = cf_pg_commit(run->tgt);
	else
		cf_pg_rollback(run->tgt);
	if (st) {
		/* Rolled back: nothing that was listed happened. */
		for (size_t i = 0; i < r->n_actions; i++)
			free(r->actions[i]);
		r->n_actions = 0;
		r->changes_detected = false;
		return st;
	}
	if (no_password)
		s2s_result_hint(run,
		                "The source let \"%s\" in without a password (trust), so the user "
		                "mapping has password_required 'false'. postgres_fdw allows that only "
		                "because the target user is a superuser; for anything else, give the "
		                "source role a password (in the URL, PGPASSWORD or ~/.pgpass) and run "
		                "setup again.",
		                r->fdw_user);
	if (r->changes_detected)
		s2s_result_message(run, "the target reads the source through \"%s\" and \"%s\"",
		                   run->server, run->staging);
	else
		s2s_result_message(run, "already set up: nothing changed");
	return CF_OK;
}

cf_status cf_s2s_setup(cf_ctx *ctx, const cf_s2s_opts *opts, cf_s2s_result **out)
{
	s2s_run run;
	cf_status st = s2s_run_start(&run, ctx, opts, "setup", true, out);
	if (!st)
		st = do_setup(&run);
	return s2s_run_finish(&run, st);
}

/* ---- cleanup -------------------------------------------------------------------- */

static cf_status drop_extension_if_ours(s2s_run *run, const char *comment)
{
	if (!comment || strcmp(comment, COMMENT_OURS_EXT) != 0)
		return CF_OK;
	bool used = false;
	cf_status st = query_bool(run->tgt,
	                          "SELECT EXISTS (SELECT FROM pg_catalog.pg_foreign_server s"
	                          "  JOIN pg_catalog.pg_foreign_data_wrapper w ON w.oid = s.srvfdw"
	                          " WHERE w.fdwname = 'postgres_fdw')",
	                          0, NULL, &used);
	if (st || used)
		return st;
	st = cf_pg_exec(run->tgt, "DROP EXTENSION IF EXISTS postgres_fdw");
	if (!st)
		s2s_result_action(run, "dropped extension postgres_fdw (setup had created it)");
	return st;
}

static cf_status do_cleanup(s2s_run *run)
{
	cf_pg *pg = run->tgt;
	const char *p[] = {run->staging, run->server};
	cf_pgres *res = NULL;
	cf_status st = s2s_lock(run);
	if (!st)
		st = cf_pg_begin(pg);
	if (!st)
		st = cf_pg_query(
			pg,
			"SELECT (SELECT count(*) FROM pg_catalog.pg_class c"
			"          JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
			"         WHERE n.nspname = $1 AND c.relkind = 'f'),"
			"       EXISTS (SELECT FROM pg_catalog.pg_namespace WHERE nspname = $1),"
			"       EXISTS (SELECT FROM pg_catalog.pg_user_mappings"
			"                WHERE srvname = $2 AND usename = current_user),"
			"       EXISTS (SELECT FROM pg_catalog.pg_foreign_server WHERE srvname = $2),"
			"       (SELECT pg_catalog.obj_description(oid, 'pg_foreign_server')"
			"          FROM pg_catalog.pg_foreign_server WHERE srvname = $2)",
			2, p, &res);
	if (st) {
		cf_pg_rollback(pg);
		return st;
	}
	char *comment = cf_strdup(cf_pgres_get(res, 0, 4));
	bool has_schema = cf_pgres_get(res, 0, 1)[0] == 't';
	bool has_mapping = cf_pgres_get(res, 0, 2)[0] == 't';
	bool has_server = cf_pgres_get(res, 0, 3)[0] == 't';
	const char *n_ft = cf_pgres_get(res, 0, 0);
	char *sql = NULL;
	if (has_schema) {
		sql = cf_sql_format(pg, "DROP SCHEMA %I CASCADE", run->staging);
		st = cf_pg_exec(pg, sql);
		free(sql);
		if (!st)
			s2s_result_action(run, "dropped staging schema \"%s\" (%s foreign table%s)",
			                  run->staging, n_ft, strcmp(n_ft, "1") == 0 ? "" : "s");
	}
	if (!st && has_mapping) {
		sql = cf_sql_format(pg, "DROP USER MAPPING FOR CURRENT_USER SERVER %I", run->server);
		st = cf_pg_exec(pg, sql);
		free(sql);
		if (!st)
			s2s_result_action(run, "dropped user mapping for the target user on \"%s\"",
			                  run->server);
	}
	if (!st && has_server) {
		/* CASCADE: other users' mappings of this server go with it. */
		sql = cf_sql_format(pg, "DROP SERVER %I CASCADE", run->server);
		st = cf_pg_exec(pg, sql);
		free(sql);
		if (!st)
			s2s_result_action(run, "dropped foreign server \"%s\"", run->server);
	}
	if (!st && has_server)
		st = drop_extension_if_ours(run, comment);
	cf_pgres_free(res);
	free(comment);
	if (!st)
		st = cf_pg_commit(pg);
	else
		cf_pg_rollback(pg);
	if (!st)
		s2s_result_message(run, run->res->changes_detected ? "cleaned up" : "nothing to clean up");
	return st;
}

/* Cleanup drops a schema with CASCADE: on a protected database only when
 * the user says so. */
static cf_status cleanup_allowed(s2s_run *run)
{
	if (run->opts->is_production_ok)
		return CF_OK;
	cf_protect_verdict v;
	cf_protect_target t = {.conninfo = run->tgt_ref.conninfo, .env = run->tgt_ref.env,
	                       .is_env_protected = run->tgt_ref.is_protected,
	                       .is_embedded = run->tgt_ref.is_embedded, .pg = run->tgt,
	                       .consent_flag = "--yes-i-mean-production"};
	cf_status st = cf_protect_check(run->ctx, &t, &v);
	if (!st && v.is_protected)
		st = cf_protect_refuse(run->ctx, "clean up s2s", &v,
		                       "Pass --yes-i-mean-production to clean up a protected database.");
	cf_protect_verdict_release(&v);
	return st;
}

cf_status cf_s2s_cleanup(cf_ctx *ctx, const cf_s2s_opts *opts, cf_s2s_result **out)
{
	s2s_run run;
	cf_status st = s2s_run_start(&run, ctx, opts, "cleanup", false, out);
	if (!st)
		st = cleanup_allowed(&run);
	if (!st)
		st = do_cleanup(&run);
	return s2s_run_finish(&run, st);
}
