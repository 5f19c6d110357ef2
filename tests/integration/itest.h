/* itest.h -- helpers for integration tests: a fresh database per test. */
#ifndef CF_ITEST_H
#define CF_ITEST_H

#include "t.h"
#include "buf.h"
#include "pg.h"

/* Creates database NAME (dropping a leftover) and returns its conninfo. */
static inline char *t_newdb(const char *name)
{
	cf_ctx *ctx = cf_ctx_new();
	cf_pg *pg = NULL;
	if (cf_pg_connect(ctx, "dbname=postgres", &pg) != CF_OK) {
		fprintf(stderr, "cannot reach the test server: %s\n", cf_last_error(ctx));
		exit(2);
	}
	char *drop = cf_sql_format(pg, "DROP DATABASE IF EXISTS %I WITH (FORCE)", name);
	char *create = cf_sql_format(pg, "CREATE DATABASE %I", name);
	cf_pg_exec(pg, drop);
	if (cf_pg_exec(pg, create) != CF_OK) {
		fprintf(stderr, "createdb %s: %s\n", name, cf_last_error(ctx));
		exit(2);
	}
	free(drop);
	free(create);
	cf_pg_close(pg);
	cf_ctx_free(ctx);
	char *q = cf_dsn_quote(name);
	char *conninfo = cf_asprintf("dbname=%s", q);
	free(q);
	return conninfo;
}


/* The first column of the first row of SQL on CONNINFO, or NULL (freed by
 * the caller). */
static inline char *t_query1(const char *conninfo, const char *sql)
{
	cf_ctx *ctx = cf_ctx_new();
	cf_pg *pg = NULL;
	char *v = NULL;
	if (cf_pg_connect(ctx, conninfo, &pg) == CF_OK)
		cf_pg_query_value(pg, sql, 0, NULL, &v);
	cf_pg_close(pg);
	cf_ctx_free(ctx);
	return v;
}

/* Runs SQL on CONNINFO; failures are the caller's assertions to find. */
static inline void t_exec(const char *conninfo, const char *sql)
{
	cf_ctx *ctx = cf_ctx_new();
	cf_pg *pg = NULL;
	if (cf_pg_connect(ctx, conninfo, &pg) == CF_OK)
		cf_pg_exec(pg, sql);
	cf_pg_close(pg);
	cf_ctx_free(ctx);
}

#endif
