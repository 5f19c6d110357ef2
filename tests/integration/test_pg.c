/* Integration: connections, errors, pipelines, COPY and cancellation. */
#include "itest.h"
#include "error.h"

#include <pthread.h>
#include <unistd.h>

static char *db;

static void test_connect(void)
{
	cf_ctx *ctx = cf_ctx_new();
	cf_ctx_set_app_name(ctx, "itest");
	cf_pg *pg = NULL;
	CHECK_INT(cf_pg_connect(ctx, db, &pg), CF_OK, "connects");
	char *app = NULL;
	cf_pg_query_value(pg, "SELECT current_setting('application_name')", 0, NULL, &app);
	CHECK_STR(app, "confiture itest", "application_name names confiture and the command");
	free(app);
	CHECK(cf_pg_server_version(pg) >= 150000, "server version");
	CHECK(strstr(cf_pg_display(pg), "postgresql://postgres@/") == cf_pg_display(pg),
	      "display is a masked URI: %s", cf_pg_display(pg));
	cf_pg_close(pg);

	CHECK_INT(cf_pg_connect(ctx, "host=/nonexistent/dir port=5999 dbname=x", &pg), CF_ERR_CONNECT,
	          "a missing server is CF_ERR_CONNECT");
	const cf_error_info *e = cf_last_error_info(ctx);
	CHECK(strncmp(e->message, "could not connect to \"postgresql://", 35) == 0,
	      "message names the target: %s", e->message);
	CHECK_STR(e->hint, "Is the server running? Check host and port in database_url.", "hint");
	cf_ctx_clear_error(ctx);

	/* cf_pw_user must give its password (the test cluster uses scram for it). */
	cf_pg *admin = NULL;
	cf_pg_connect(ctx, db, &admin);
	cf_pg_exec(admin, "DROP ROLE IF EXISTS cf_pw_user");
	cf_pg_exec(admin, "CREATE ROLE cf_pw_user LOGIN PASSWORD 'right-horse'");
	cf_pg_close(admin);
	char *bad = cf_asprintf("%s user=cf_pw_user password=wrong-battery", db);
	CHECK_INT(cf_pg_connect(ctx, bad, &pg), CF_ERR_CONNECT, "a wrong password is CF_ERR_CONNECT");
	e = cf_last_error_info(ctx);
	CHECK(strstr(e->message, "password authentication failed for user \"cf_pw_user\"") != NULL,
	      "says the password failed: %s", e->message);
	CHECK(!strstr(e->message, "wrong-battery") && !(e->detail && strstr(e->detail, "wrong-battery")),
	      "the password is not in the error");
	CHECK_STR(e->hint, "Check the password in database_url, PGPASSWORD or ~/.pgpass.", "password hint");
	free(bad);
	cf_ctx_clear_error(ctx);
	char *good = cf_asprintf("%s user=cf_pw_user password=right-horse", db);
	CHECK_INT(cf_pg_connect(ctx, good, &pg), CF_OK, "the right password connects");
	CHECK(cf_pg_used_password(pg), "the server asked for the password");
	CHECK_STR(cf_pg_password(pg), "right-horse", "the password libpq used is known (for s2s)");
	cf_pg_close(pg);
	free(good);
	CHECK_INT(cf_pg_connect(ctx, "postgresql://x:y@h/d?bogus=1", &pg), CF_ERR_CONNECT,
	          "an invalid connection string is refused");
	CHECK(strstr(cf_last_error(ctx), "y@") == NULL, "without echoing its password: %s",
	      cf_last_error(ctx));
	cf_ctx_free(ctx);
}

static void test_errors(void)
{
	cf_ctx *ctx = cf_ctx_new();
	cf_pg *pg = NULL;
	cf_pg_connect(ctx, db, &pg);
	const char *file_text = "CREATE TABLE ok1 (a int);\nCREATE TABLE t (\n  b nosuchtype\n);\n";
	CHECK_INT(cf_pg_exec(pg, "CREATE TABLE t (\n  b nosuchtype\n)"), CF_ERR_SQL, "server error");
	CHECK_STR(cf_error_sqlstate_get(ctx), "42704", "SQLSTATE recorded");
	cf_error_locate(ctx, "db/schema/t.sql", file_text, 26);
	const cf_error_info *e = cf_last_error_info(ctx);
	CHECK_STR(e->message, "type \"nosuchtype\" does not exist", "server message");
	CHECK(e->line == 3 && e->column == 5, "mapped to the file's line and column (%d:%d)", e->line,
	      e->column);
	cf_ctx_clear_error(ctx);
	cf_pg_exec(pg, "CREATE TABLE u (id int PRIMARY KEY)");
	cf_pg_exec(pg, "INSERT INTO u VALUES (1)");
	CHECK_INT(cf_pg_exec(pg, "INSERT INTO u VALUES (1)"), CF_ERR_SQL, "unique violation");
	CHECK_STR(cf_last_error_info(ctx)->detail, "Key (id)=(1) already exists.", "server detail kept");
	cf_ctx_clear_error(ctx);
	const char *params[] = {"a'b"};
	char *v = NULL;
	CHECK_INT(cf_pg_query_value(pg, "SELECT $1::text || '!'", 1, params, &v), CF_OK, "$1 parameters");
	CHECK_STR(v, "a'b!", "parameters travel unquoted");
	free(v);
	cf_pg_close(pg);
	cf_ctx_free(ctx);
}

static void test_pipeline(void)
{
	cf_ctx *ctx = cf_ctx_new();
	cf_pg *pg = NULL;
	cf_pg_connect(ctx, db, &pg);
	const char *ok[] = {"CREATE TABLE p1 (a int)", "INSERT INTO p1 VALUES (1)",
	                    "INSERT INTO p1 SELECT generate_series(2, 1000)"};
	size_t failed = 99;
	cf_pg_begin(pg);
	CHECK_INT(cf_pg_pipeline(pg, ok, NULL, 3, &failed), CF_OK, "pipeline runs");
	cf_pg_commit(pg);
	char *n = NULL;
	cf_pg_query_value(pg, "SELECT count(*) FROM p1", 0, NULL, &n);
	CHECK_STR(n, "1000", "all statements ran");
	free(n);
	const char *bad[] = {"CREATE TABLE p2 (a int)", "INSERT INTO p2 VALUES ('x')",
	                     "CREATE TABLE p3 (a int)"};
	cf_pg_begin(pg);
	CHECK_INT(cf_pg_pipeline(pg, bad, NULL, 3, &failed), CF_ERR_SQL, "pipeline stops at an error");
	CHECK_INT(failed, 1, "the failing statement's index");
	CHECK_STR(cf_error_sqlstate_get(ctx), "22P02", "its SQLSTATE");
	cf_pg_rollback(pg);
	cf_ctx_clear_error(ctx);
	cf_pg_query_value(pg, "SELECT to_regclass('p3') IS NULL AND to_regclass('p2') IS NULL", 0, NULL, &n);
	CHECK_STR(n, "t", "nothing of the failed pipeline stays after rollback");
	free(n);
	/* Many statements: the send loop must not deadlock on full socket buffers. */
	enum { N = 5000 };
	const char **many = cf_calloc(N, sizeof(char *));
	for (size_t i = 0; i < N; i++)
		many[i] = "SELECT repeat('x', 200), generate_series(1, 20)";
	CHECK_INT(cf_pg_pipeline(pg, many, NULL, N, &failed), CF_OK, "5000 statements with results");
	free(many);
	cf_pg_close(pg);
	cf_ctx_free(ctx);
}

static void test_copy(void)
{
	cf_ctx *ctx = cf_ctx_new();
	cf_pg *src = NULL, *dst = NULL;
	cf_pg_connect(ctx, db, &src);
	cf_pg_connect(ctx, db, &dst);
	cf_pg_exec(src, "CREATE TABLE c1 AS SELECT g AS id, md5(g::text) AS t FROM generate_series(1, 5000) g;"
	                "CREATE TABLE c2 (id int, t text)");
	CHECK_INT(cf_pg_copy_out_start(src, "COPY c1 TO STDOUT (FORMAT binary)"), CF_OK, "copy out");
	CHECK_INT(cf_pg_copy_in_start(dst, "COPY c2 FROM STDIN (FORMAT binary)"), CF_OK, "copy in");
	char *buf;
	long n;
	while ((n = cf_pg_copy_out_read(src, &buf)) > 0) {
		cf_pg_copy_in_put(dst, buf, (size_t)n);
		cf_pg_copy_free(buf);
	}
	CHECK_INT(n, 0, "copy out ends cleanly");
	CHECK_INT(cf_pg_copy_in_end(dst, NULL), CF_OK, "copy in commits");
	char *v = NULL;
	cf_pg_query_value(dst, "SELECT count(*) || ':' || sum(id) FROM c2 JOIN c1 USING (id, t)", 0, NULL, &v);
	CHECK_STR(v, "5000:12502500", "every row arrived intact");
	free(v);
	cf_pg_copy_in_start(dst, "COPY c2 FROM STDIN");
	cf_pg_copy_in_put(dst, "1\tx\n", 4);
	CHECK_INT(cf_pg_copy_in_end(dst, "source failed"), CF_OK, "an aborted COPY returns cleanly");
	CHECK(!cf_error_is_set(ctx), "and records no error of its own");
	cf_pg_close(src);
	cf_pg_close(dst);
	cf_ctx_free(ctx);
}

static void *cancel_later(void *arg)
{
	usleep(300 * 1000);
	cf_ctx_cancel(arg);
	return NULL;
}

static void test_cancel(void)
{
	cf_ctx *ctx = cf_ctx_new();
	cf_pg *pg = NULL;
	cf_pg_connect(ctx, db, &pg);
	pthread_t t;
	pthread_create(&t, NULL, cancel_later, ctx);
	cf_status st = cf_pg_exec(pg, "SELECT pg_sleep(20)");
	pthread_join(t, NULL);
	CHECK_INT(st, CF_ERR_CANCELLED, "a cancelled statement returns CF_ERR_CANCELLED");
	CHECK_STR(cf_error_sqlstate_get(ctx), "57014", "the server cancelled it");
	CHECK_INT(cf_pg_exec(pg, "SELECT 1"), CF_ERR_CANCELLED, "no new statement starts after cancel");
	cf_pg_close(pg);
	cf_ctx_free(ctx);
}

static void test_terminated(void)
{
	cf_ctx *ctx = cf_ctx_new();
	cf_pg *pg = NULL, *killer = NULL;
	cf_pg_connect(ctx, db, &pg);
	cf_pg_connect(ctx, db, &killer);
	char *pid = cf_asprintf("%d", cf_pg_backend_pid(pg));
	const char *params[] = {pid};
	cf_pg_exec_params(killer, "SELECT pg_terminate_backend($1::int)", 1, params);
	usleep(100 * 1000);
	CHECK_INT(cf_pg_exec(pg, "SELECT 1"), CF_ERR_SQL, "a terminated connection fails with CF_ERR_SQL");
	CHECK(cf_pg_is_bad(pg), "and is reported bad");
	free(pid);
	cf_pg_close(pg);
	cf_pg_close(killer);
	cf_ctx_free(ctx);
}

int main(int argc, char **argv)
{
	(void)argc;
	t_init(argv[0]);
	db = t_newdb("itest_pg");
	test_connect();
	test_errors();
	test_pipeline();
	test_copy();
	test_cancel();
	test_terminated();
	free(db);
	return t_done();
}
