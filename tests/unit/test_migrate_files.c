/* Unit tests of the migrate medium without a server: checksums, scripts
 * (wrapper stripping, transaction control, non-transactional statements),
 * the migrations directory, slugs, and the non-transactional targets. */
#include "t.h"
#include "ctx.h"
#include "fs.h"
#include "hash.h"
#include "migrate/migrate_int.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void test_checksum(void)
{
	char a[65], b[65], c[65], raw[65];
	const char *lf = "CREATE TABLE t (id int);\nSELECT 1;\n";
	const char *crlf = "CREATE TABLE t (id int);\r\nSELECT 1;\r\n";
	mig_checksum(lf, strlen(lf), a);
	mig_checksum(crlf, strlen(crlf), b);
	cf_sha256_hex(lf, strlen(lf), raw);
	CHECK_STR(a, raw, "an LF file's checksum is the plain SHA-256 (the precursor's value)");
	CHECK_STR(b, a, "CRLF is counted as LF");
	const char *lone = "a\rb\n";
	mig_checksum(lone, strlen(lone), c);
	cf_sha256_hex(lone, strlen(lone), raw);
	CHECK_STR(c, raw, "a lone CR is kept");
	const char *tail = "a\r";
	mig_checksum(tail, strlen(tail), c);
	cf_sha256_hex(tail, strlen(tail), raw);
	CHECK_STR(c, raw, "a CR at the very end is kept");
}

static cf_status prep(cf_ctx *ctx, const char *sql, mig_script *s)
{
	cf_ctx_clear_error(ctx);
	return mig_script_prepare(ctx, "m.up.sql", cf_strdup(sql), strlen(sql), s);
}

static void test_wrappers(cf_ctx *ctx)
{
	mig_script s;
	cf_status st = prep(ctx, "BEGIN;\nCREATE TABLE t (id int);\nCOMMIT;\n", &s);
	CHECK(st == CF_OK && s.was_wrapped, "a BEGIN/COMMIT pair around the file is stripped");
	CHECK_STR(s.send, "      \nCREATE TABLE t (id int);\n       \n",
	          "stripped statements become spaces, keeping every position");
	CHECK(s.first == 1 && s.last == 2, "only the inner statements run");
	mig_script_release(&s);

	st = prep(ctx, "DO $$ BEGIN RAISE NOTICE 'x'; END $$;\nSELECT 1;\n", &s);
	CHECK(st == CF_OK && !s.was_wrapped, "DO $$ BEGIN ... END $$ is not a wrapper");
	CHECK_STR(s.send, "DO $$ BEGIN RAISE NOTICE 'x'; END $$;\nSELECT 1;\n", "and is sent as is");
	mig_script_release(&s);

	st = prep(ctx, "START TRANSACTION;\n/* é */ SELECT 'é';\nEND;", &s);
	CHECK(st == CF_OK && s.was_wrapped, "START TRANSACTION ... END is a wrapper too");
	CHECK_STR(s.send, "                  \n/* é */ SELECT 'é';\n    ",
	          "multibyte characters outside the wrapper are kept");
	mig_script_release(&s);

	st = prep(ctx, "BEGIN /* ü */;\nSELECT 1;\nCOMMIT;", &s);
	CHECK(st == CF_OK && strlen(s.send) == strlen("BEGIN /* u */;\nSELECT 1;\nCOMMIT;"),
	      "a multibyte character in a wrapper becomes one space (positions count characters)");
	mig_script_release(&s);

	st = prep(ctx, "CREATE TABLE a (id int);\nCOMMIT;\nCREATE TABLE b (id int);\n", &s);
	const cf_error_info *e = cf_last_error_info(ctx);
	CHECK(st == CF_ERR_SQL, "a COMMIT in the middle is an error");
	CHECK_STR(e ? e->message : NULL, "COMMIT in the middle of a migration is not allowed",
	          "with a clear message");
	CHECK(e && e->line == 2 && e->column == 1 && e->file && strcmp(e->file, "m.up.sql") == 0,
	      "located at m.up.sql:2:1");
	mig_script_release(&s);

	st = prep(ctx, "BEGIN;\nSELECT 1;\nROLLBACK;\n", &s);
	CHECK(st == CF_ERR_SQL, "BEGIN ... ROLLBACK is refused (the migration would do nothing)");
	mig_script_release(&s);

	st = prep(ctx, "SELECT 1;\nBEGIN;\nSELECT 2;\n", &s);
	CHECK(st == CF_ERR_SQL, "a BEGIN that does not wrap the file is refused");
	mig_script_release(&s);

	st = prep(ctx, "SAVEPOINT a; SELECT 1; RELEASE SAVEPOINT a;", &s);
	CHECK(st == CF_OK, "savepoints are allowed");
	mig_script_release(&s);

	st = prep(ctx, "COPY t FROM STDIN;", &s);
	CHECK(st == CF_ERR_SQL, "COPY FROM STDIN is refused");
	mig_script_release(&s);

	st = prep(ctx, "SELECT 1;\nSELEC 2;", &s);
	e = cf_last_error_info(ctx);
	CHECK(st == CF_ERR_SQL && e && e->line == 2, "a syntax error is a failed migration (exit 3) at its line");
	mig_script_release(&s);
}

static void test_nontx(cf_ctx *ctx)
{
	mig_script s;
	prep(ctx, "CREATE TABLE t (id int);\nCREATE INDEX CONCURRENTLY i ON t (id);\n", &s);
	CHECK(s.is_nontx, "CREATE INDEX CONCURRENTLY makes a migration non-transactional");
	CHECK_STR(s.nontx_why, "CREATE INDEX CONCURRENTLY", "and says why");
	mig_script_release(&s);
	prep(ctx, "-- confiture:no-transaction\nCREATE TABLE t (id int);\n", &s);
	CHECK(s.is_nontx, "the marker comment makes it non-transactional");
	mig_script_release(&s);
	prep(ctx, "CREATE TABLE t (id int);\nSELECT '-- confiture:no-transaction';\n", &s);
	CHECK(!s.is_nontx, "the marker inside a string literal does not count");
	mig_script_release(&s);
	prep(ctx, "ALTER TYPE mood ADD VALUE 'meh';\nSELECT 'meh'::mood;\n", &s);
	CHECK(s.is_nontx, "ALTER TYPE ... ADD VALUE used later is non-transactional");
	mig_script_release(&s);
	prep(ctx, "ALTER TYPE mood ADD VALUE 'meh';\n", &s);
	CHECK(!s.is_nontx, "ALTER TYPE ... ADD VALUE alone is transactional");
	mig_script_release(&s);
	prep(ctx, "VACUUM t;", &s);
	CHECK(s.is_nontx, "VACUUM is non-transactional");
	mig_script_release(&s);

	cf_nontx_target t;
	cf_sql_nontx_target(ctx, "CREATE INDEX CONCURRENTLY idx ON s.t (id)", &t);
	CHECK(t.kind == CF_TARGET_CREATE_INDEX && t.name && strcmp(t.name, "idx") == 0 && t.schema &&
	      strcmp(t.schema, "s") == 0, "the target of CREATE INDEX CONCURRENTLY: s.idx");
	cf_nontx_target_release(&t);
	cf_sql_nontx_target(ctx, "DROP INDEX CONCURRENTLY IF EXISTS a.b", &t);
	CHECK(t.kind == CF_TARGET_DROP_INDEX && t.name && strcmp(t.name, "b") == 0,
	      "the target of DROP INDEX CONCURRENTLY");
	cf_nontx_target_release(&t);
	cf_sql_nontx_target(ctx, "CREATE DATABASE d2", &t);
	CHECK(t.kind == CF_TARGET_CREATE_DATABASE && strcmp(t.name, "d2") == 0,
	      "the target of CREATE DATABASE");
	cf_nontx_target_release(&t);
	cf_sql_nontx_target(ctx, "VACUUM t", &t);
	CHECK(t.kind == CF_TARGET_NONE, "VACUUM leaves no catalog trace");
	cf_nontx_target_release(&t);
	cf_sql_nontx_target(ctx, "CREATE INDEX CONCURRENTLY ON t (id)", &t);
	CHECK(t.kind == CF_TARGET_CREATE_INDEX && !t.name, "an unnamed index has no name to check");
	cf_nontx_target_release(&t);
}

static void put(const char *dir, const char *name, const char *text)
{
	char *p = cf_path_join(dir, name);
	FILE *f = fopen(p, "w");
	fputs(text, f);
	fclose(f);
	free(p);
}

/* Flyway's layout: V<version>__<desc>.sql, U<version>__<desc>.sql. */
static void test_flyway(cf_ctx *ctx)
{
	char tmpl[] = "/tmp/cfmig.XXXXXX";
	char *root = mkdtemp(tmpl);
	char *dir = cf_path_join(root, "db/migrations");
	cf_mkdirs(ctx, dir, 0755);
	put(dir, "V1__init.sql", "SELECT 1;");
	put(dir, "U1__init.sql", "SELECT -1;");
	put(dir, "V1_1__add_users.sql", "SELECT 2;");
	put(dir, "V2__more.sql", "SELECT 3;");
	put(dir, "R__views.sql", "SELECT 4;");
	put(dir, "V0002.WebAuthn.up.sql", "SELECT 5;");
	cf_str_set(&ctx->project_dir, root);
	mig_set set;
	cf_status st = mig_set_load(ctx, &set);
	CHECK(st == CF_OK && set.n == 3, "Flyway: three versioned migrations");
	if (set.n == 3) {
		CHECK_STR(set.v[0].version, "1", "Flyway: V1__init.sql is version 1");
		CHECK_STR(set.v[1].version, "1.1", "Flyway: V1_1__ is version 1.1, as Flyway records it");
		CHECK_STR(set.v[1].name, "add_users", "Flyway: the description is the name");
		CHECK_STR(set.v[0].down, "db/migrations/U1__init.sql", "Flyway: U1__ is V1__'s down");
		CHECK(!set.v[2].down, "Flyway: no undo file, no down");
		char *dn = mig_down_name(&set.v[2]);
		CHECK_STR(dn, "U2__more.sql", "Flyway: the missing down is named in its layout");
		free(dn);
	}
	char *orph = cf_strv_join(&set.orphans, ",");
	CHECK_STR(orph, "db/migrations/R__views.sql,db/migrations/V0002.WebAuthn.up.sql",
	          "Flyway: repeatables and other names are not migrations");
	free(orph);
	mig_set_release(&set);
	put(dir, "V10__late.sql", "SELECT 6;");
	const char *gone[] = {"R__views.sql", "V0002.WebAuthn.up.sql"};
	for (int i = 0; i < 2; i++) {
		char *p = cf_path_join(dir, gone[i]);
		unlink(p);
		free(p);
	}
	mig_set_load(ctx, &set);
	CHECK_INT(mig_set_check(ctx, &set), CF_ERR_VALIDATION,
	          "Flyway: V10 and V2, whose text order is not their order, are refused");
	CHECK_STR(cf_last_error(ctx), "Flyway versions \"10\" and \"2\" do not sort as text the way "
	          "they sort as numbers", "Flyway: naming the pair");
	cf_ctx_clear_error(ctx);
	mig_set_release(&set);
	free(dir);
}

static void test_discover(cf_ctx *ctx)
{
	char tmpl[] = "/tmp/cfmig.XXXXXX";
	char *root = mkdtemp(tmpl);
	char *dir = cf_path_join(root, "db/migrations");
	cf_mkdirs(ctx, dir, 0755);
	put(dir, "20260102000000_b.up.sql", "SELECT 2;");
	put(dir, "20260101000000_a.up.sql", "SELECT 1;");
	put(dir, "20260101000000_a.down.sql", "SELECT -1;");
	put(dir, "20260101000000_a.verify.sql", "SELECT true;");
	put(dir, "001_x.up.sql", "SELECT 3;");
	put(dir, "notes.sql", "-- not a migration");
	put(dir, "readme.md", "ignored");
	put(dir, "999_ghost.down.sql", "SELECT 4;");
	put(dir, ".hidden.up.sql", "SELECT 5;");
	cf_str_set(&ctx->project_dir, root);
	mig_set set;
	cf_status st = mig_set_load(ctx, &set);
	CHECK(st == CF_OK && set.n == 3, "three migrations are found");
	CHECK(set.n == 3 && strcmp(set.v[0].version, "001") == 0 &&
	      strcmp(set.v[1].version, "20260101000000") == 0,
	      "versions sort as strings");
	CHECK(set.n == 3 && set.v[1].down && set.v[1].verify && !set.v[2].down,
	      "downs and verify sidecars are paired");
	CHECK(set.n == 3 && strcmp(set.v[1].name, "a") == 0 &&
	      strcmp(set.v[1].up, "db/migrations/20260101000000_a.up.sql") == 0,
	      "names and paths relative to the project");
	char *orph = cf_strv_join(&set.orphans, ",");
	CHECK_STR(orph, "db/migrations/999_ghost.down.sql,db/migrations/notes.sql",
	          "orphans: .sql files that are not migrations, and downs without ups");
	free(orph);
	CHECK(set.dups.n == 0 && mig_set_check(ctx, &set) == CF_ERR_VALIDATION,
	      "files not named as migrations are an error (exit 5)");
	CHECK_STR(cf_last_error(ctx), "2 files in \"db/migrations\" are not named as a migration and "
	          "would never run: db/migrations/999_ghost.down.sql, db/migrations/notes.sql",
	          "naming every one");
	cf_ctx_clear_error(ctx);
	ctx->cfg->migration.ignore_unmatched = true;
	CHECK(mig_set_check(ctx, &set) == CF_OK, "no duplicates; migration.ignore_unmatched lets them be");
	ctx->cfg->migration.ignore_unmatched = false;
	CHECK(mig_set_find(&set, "20260102000000") == &set.v[2] && !mig_set_find(&set, "2"),
	      "lookup by version");
	mig_set_release(&set);

	put(dir, "001_y.up.sql", "SELECT 6;");
	cf_ctx_clear_error(ctx);
	mig_set_load(ctx, &set);
	st = mig_set_check(ctx, &set);
	CHECK(st == CF_ERR_SQL, "duplicate versions are an error (exit 3)");
	CHECK_STR(cf_last_error(ctx),
	          "duplicate migration version in \"db/migrations\": 001: 001_x.up.sql, 001_y.up.sql",
	          "naming both files");
	mig_set_release(&set);

	cf_ctx_clear_error(ctx);
	char *missing = cf_path_join(root, "elsewhere");
	cf_str_set(&ctx->project_dir, missing);
	mkdir(missing, 0755);
	st = mig_set_load(ctx, &set);
	CHECK(st == CF_ERR_CONFIG, "a missing migrations directory is a config error");
	CHECK_STR(cf_last_error(ctx), "migrations directory \"db/migrations\" does not exist",
	          "with a clear message");
	mig_set_release(&set);
	free(missing);
	cf_ctx_clear_error(ctx);
	cf_remove_tree(ctx, root);
	free(dir);
}

static void test_slug(void)
{
	char *s = mig_slug("add_users", NULL);
	bool shape = strncmp(s, "add_users_", 10) == 0 && strlen(s) == 10 + 15 && s[18] == '_';
	CHECK(shape, "slug is NAME_YYYYmmdd_HHMMSS");
	free(s);
	s = mig_slug("x", "baseline");
	CHECK(strlen(s) > 9 && strcmp(s + strlen(s) - 9, "_baseline") == 0, "baseline slugs end in _baseline");
	free(s);
}

int main(int argc, char **argv)
{
	(void)argc;
	t_init(argv[0]);
	cf_ctx *ctx = cf_ctx_new();
	test_checksum();
	test_wrappers(ctx);
	test_nontx(ctx);
	test_discover(ctx);
	test_flyway(ctx);
	test_slug();
	cf_ctx_free(ctx);
	return t_done();
}
