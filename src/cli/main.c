/*
 * main.c -- the confiture binary: global options, the command table, and the
 * one place where a status becomes an exit code.
 */
#include "cli.h"

#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- Exit codes (frozen; compatible with the Python precursor) ---------- */

typedef struct exit_code {
	int code;
	const char *name;
	const char *meaning;
} exit_code;

static const exit_code EXIT_CODES[] = {
	{0, "success", "success, or nothing to do"},
	{1, "check_failed", "a check found something: pending migrations, checksum mismatch, "
	                    "lint findings, verify mismatch, drift"},
	{2, "usage", "usage error, or the tracking table is absent where it is required"},
	{3, "failed", "could not connect, or a migration or SQL statement failed (rolled back)"},
	{4, "schema_error", "schema or build error, e.g. a DDL file that does not parse"},
	{5, "invalid", "configuration invalid, rules invalid, or a validation failure"},
	{6, "lock_held", "lock held by another process (retriable)"},
	{7, "preflight_failed", "preflight found errors"},
	{8, "irreversible", "irreversible: a needed .down.sql is missing, or the state is "
	                    "inconsistent"},
	{130, "interrupted", "interrupted: the running statement was cancelled and rolled back"},
};

int cli_exit_code(cf_status st)
{
	switch (st) {
	case CF_OK: return 0;
	case CF_ERR_CHECK: return 1;
	case CF_ERR_USAGE: return 2;
	case CF_ERR_NO_LEDGER: return 2;
	case CF_ERR_CONNECT: return 3;
	case CF_ERR_SQL: return 3;
	case CF_ERR_INTERNAL: return 3;
	case CF_ERR_SCHEMA: return 4;
	case CF_ERR_CONFIG: return 5;
	case CF_ERR_VALIDATION: return 5;
	case CF_ERR_IO: return 5;
	case CF_ERR_LOCK: return 6;
	case CF_ERR_PREFLIGHT: return 7;
	case CF_ERR_IRREVERSIBLE: return 8;
	case CF_ERR_CANCELLED: return 130;
	}
	return 3;
}

static int print_exit_codes(bool json)
{
	size_t n = sizeof(EXIT_CODES) / sizeof(*EXIT_CODES);
	if (!json) {
		printf("%-5s %-17s %s\n", "exit", "name", "meaning");
		for (size_t i = 0; i < n; i++)
			printf("%-5d %-17s %s\n", EXIT_CODES[i].code, EXIT_CODES[i].name,
			       EXIT_CODES[i].meaning);
		return 0;
	}
	cf_buf b;
	cf_buf_init(&b);
	cf_json j;
	cf_json_init(&j, &b, false);
	cf_json_obj_begin(&j);
	cf_json_kv_str(&j, "version", CONFITURE_VERSION);
	cf_json_key(&j, "exit_codes");
	cf_json_arr_begin(&j);
	for (size_t i = 0; i < n; i++) {
		cf_json_obj_begin(&j);
		cf_json_kv_int(&j, "code", EXIT_CODES[i].code);
		cf_json_kv_str(&j, "name", EXIT_CODES[i].name);
		cf_json_kv_str(&j, "meaning", EXIT_CODES[i].meaning);
		cf_json_obj_end(&j);
	}
	cf_json_arr_end(&j);
	cf_json_obj_end(&j);
	puts(b.data);
	cf_buf_release(&b);
	return 0;
}

/* ---- Commands ------------------------------------------------------------ */

static cf_status cmd_help(cli *c, int argc, char **argv);
static cf_status cmd_version(cli *c, int argc, char **argv);

#define HELP_GLOBAL                                                                     \
	"Global options (before or after the command):\n"                                 \
	"  -c, --config FILE        project file (default: confiture.yaml)\n"             \
	"  -e, --env NAME           environment (default: CONFITURE_ENV, default_env, local)\n" \
	"  -d, --database-url URL   database, overriding the environment's (a URL, a\n"  \
	"                           key=value string, or a database name)\n"            \
	"      --project-dir DIR    project directory (default: .)\n"                   \
	"  -f, --format FMT         text, json, csv where the output is a table, sarif or\n" \
	"                           github where it is findings (lint, check), sql (diff),\n" \
	"                           junit (check)\n"                                      \
	"  -q, --quiet              only errors and warnings on stderr\n"                 \
	"  -v, --verbose            debug messages on stderr\n"                           \
	"      --no-color           no color (also when NO_COLOR is set)\n"                \
	"      --events TARGET      JSON Lines progress events to a file, - (stdout) or fd:N\n"

static const cli_command COMMANDS[] = {
	/* -- medium 1: build -- */
	{"build", cmd_build, "build the schema file from db/schema/, and a database with --apply",
	 "usage: confiture build [--output FILE] [--apply] [--recreate] [--template]\n"
	 "                       [--schema-only] [--show-hash] [--no-output]\n\n"
	 "Collects the .sql files of include_dirs (default db/schema and db/seeds) in\n"
	 "order, parses every one of them, and writes db/generated/schema_ENV.sql with\n"
	 "a header (environment, schema hash, file count) and a separator per file.\n"
	 "Seed files (a \"seed\" or \"seeds\" path component) come after the schema.\n\n"
	 "  -o, --output FILE         write the schema here (default: build.output, else\n"
	 "                            db/generated/schema_ENV.sql)\n"
	 "      --apply               also run the files on the environment's database,\n"
	 "                            in one transaction (the embedded cluster by default)\n"
	 "      --recreate            drop and re-create the database first (refused on a\n"
	 "                            protected environment)\n"
	 "      --template            keep the built database as a template named after the\n"
	 "                            schema hash; while the hash is unchanged, clone it\n"
	 "                            instead of running the files (re-creates the database)\n"
	 "      --schema-only         leave the seed files out\n"
	 "      --show-hash           print the schema hash on stdout\n"
	 "      --no-output           do not write the schema file\n"
	 "      --separator-style S   block_comment, line_comment, mysql, custom or none\n"
	 "      --sequential          run each seed file in its own savepoint\n"
	 "      --continue-on-error   with --sequential: roll back a failing seed file, go on\n\n"
	 "Exit codes: 0 built; 4 a file does not parse, a statement fails (rolled back),\n"
	 "or no files; 5 protected environment; 3 connection failure.\n",
	 .formats = CLI_FMTS_DOC, .opts = &cli_build_opts},
	{"seed", cmd_seed, "apply the seed files of the build to the database",
	 "usage: confiture seed apply [--sequential] [--continue-on-error]\n"
	 "                            [--yes-i-mean-production]\n\n"
	 "Runs the seed files of the build (paths with a \"seed\" or \"seeds\" component,\n"
	 "such as db/seeds/*.sql), in build order, on the environment's database: all\n"
	 "in one transaction, or with --sequential each file in its own savepoint\n"
	 "(seed.transaction_mode: transaction gives each file a transaction of its own).\n\n"
	 "      --sequential          one savepoint per file\n"
	 "      --continue-on-error   roll back a failing file, report it, and go on\n"
	 "      --yes-i-mean-production  run on a protected database (refused otherwise)\n\n"
	 "Exit codes: 0 applied; 3 a statement failed; 4 a file does not parse or\n"
	 "there are no seed files; 5 a protected database.\n",
	 .formats = CLI_FMTS_DOC, .opts = &cli_seed_opts, .actions = cli_seed_actions},
	/* -- medium 2: migrate -- */
	{"migrate", cmd_migrate, "apply, roll back and inspect tracked migrations",
	 "usage: confiture migrate ACTION [OPTIONS]\n\n"
	 "Migrations are db/migrations/{VERSION}_{name}.up.sql, with optional .down.sql\n"
	 "and .verify.sql (migration.dir). The ledger is migration.tracking_table.\n\n"
	 "Actions:\n"
	 "  status                   applied, pending and orphan files; exit 0 nothing\n"
	 "                           pending, 1 pending, 2 no ledger, 3 cannot connect\n"
	 "      --offline            list the files only, never connect\n"
	 "  up                       apply pending migrations, each in its own transaction\n"
	 "      --target VER         stop after VER\n"
	 "      --dry-run            list what would run\n"
	 "      --dry-run-execute    run in one transaction, then roll it back\n"
	 "      --on-checksum-mismatch fail|warn|ignore   (default: fail, exit 1)\n"
	 "  down [-n N]              roll back the newest N migrations (default 1)\n"
	 "  down-to VER              roll back every migration newer than VER\n"
	 "      --yes-i-mean-production  down, down-to on a protected database (refused\n"
	 "                           otherwise, except --dry-run)\n"
	 "  current                  the newest applied version\n"
	 "  generate NAME            create VERSION_NAME.up.sql and .down.sql\n"
	 "      --version-id VER     use VER instead of the current time (YYYYMMDDHHMMSS)\n"
	 "  baseline                 record migrations as applied without running them\n"
	 "      --through VER        every local migration up to VER\n"
	 "      --from-db ENV|URL    copy the ledger of another database\n"
	 "      --import TOOL        dbmate, golang-migrate or flyway history (of\n"
	 "                           --from-db, else of this database)\n"
	 "  verify                   run the .verify.sql of each applied migration\n"
	 "  preflight                check files, downs, checksums; exit 7 on errors\n"
	 "      --against ENV|URL    also replay pending migrations there, rolled back\n\n"
	 "Every action:\n"
	 "      --migrations-dir DIR the migrations directory (migration.dir)\n\n"
	 "Locking (up, down, down-to, baseline):\n"
	 "      --lock-timeout MS    wait this long for the lock (default 30000); exit 6\n"
	 "      --no-lock            do not take the advisory lock\n"
	 "Dry runs: --dry-run with up, down, down-to and baseline.\n\n"
	 "Exit codes: 0 ok, 1 pending/checksum mismatch/verify failed, 2 no ledger,\n"
	 "3 connection or migration failed, 5 invalid config or a protected database,\n"
	 "6 lock held, 7 preflight errors, 8 missing .down.sql, 130 interrupted.\n"
	 "See docs/migrate.md.\n",
	 .formats = CLI_FMTS_DOC, .opts = &cli_migrate_opts, .actions = cli_migrate_actions},
	{"verify-checksums", cmd_verify_checksums, "compare applied migrations with their files",
	 "usage: confiture verify-checksums [--fix]\n\n"
	 "Compares the SHA-256 stored in the ledger for each applied migration with its\n"
	 ".up.sql (CRLF counted as LF). Exit 0 all match, 1 a mismatch, 2 no ledger.\n\n"
	 "  --fix      rewrite the stored checksums of changed (or unrecorded) files\n",
	 .formats = CLI_FMTS_DOC, .opts = &cli_verify_checksums_opts},
	/* -- medium 3: sync -- */
	{"sync", cmd_sync, "copy data between databases, masking PII in the stream",
	 "usage: confiture sync --from ENV|URL --to ENV|URL [OPTIONS]\n"
	 "       confiture sync history [--to ENV|URL] [--limit N]\n"
	 "       confiture sync restore --to ENV|URL --run RUN_ID\n"
	 "       confiture sync backups [list|prune --keep N] [--to ENV|URL]\n\n"
	 "Streams every table (all non-system schemas) from the source into the\n"
	 "target with COPY, in foreign-key order, each table truncated and loaded\n"
	 "in one target transaction. With --anonymize, columns named in the rules\n"
	 "file are masked inside the stream, deterministically under the key in\n"
	 "$CONFITURE_ANON_KEY (or the variable named by sync.key_env / key_env:).\n"
	 "Refuses a protected target and a target that is the source (exit 5).\n\n"
	 "  --from ENV|URL       source: an environment name or a connection URL\n"
	 "  --to ENV|URL         target: an environment name or a connection URL\n"
	 "  --anonymize          mask with the rules file (db/sync/anonymization.yaml)\n"
	 "  --rules FILE         another rules file (implies --anonymize)\n"
	 "  --allow-random       with no key set, mask with a random per-run key\n"
	 "  --allow-unmasked     copy columns that look personal and have no rule\n"
	 "                       (refused otherwise)\n"
	 "  --tables GLOB,...    only these tables (\"users\", \"sales.*\")\n"
	 "  --exclude GLOB,...   leave these tables out\n"
	 "  -j, --jobs N         tables (and primary-key ranges) copied in parallel\n"
	 "  --split-rows N       with --jobs, split tables above N rows (default 1000000)\n"
	 "  --dry-run            compare, write nothing; exit 1 if something would change\n"
	 "  --resume             continue the last interrupted run\n"
	 "  --verify             check counts, checksums, masking and foreign keys after\n"
	 "  --verify-sample N    source values sampled per masked column (default 100)\n"
	 "  --continue-on-error  record a table that keeps failing, copy the others (exit 3)\n"
	 "  --no-analyze         do not ANALYZE the loaded tables\n"
	 "  --incremental        move only the rows changed since the last sync\n"
	 "  --backup             keep the overwritten tables in a schema confiture_backup_<run>\n"
	 "  --backup-dir DIR     or dump them (pg_dump custom format) into DIR\n\n"
	 "history lists the runs recorded in the target (default: the environment\n"
	 "chosen with --env), and which have a backup; restore puts a run's backup\n"
	 "back; backups lists them, backups prune --keep N removes the older ones.\n\n"
	 "Exit: 0 done (or in line), 1 verify found problems or a dry run found\n"
	 "changes, 2 usage, 3 connection or copy\n"
	 "failed (rolled back), 5 rules/key/columns invalid or target refused,\n"
	 "6 another sync holds the target, 130 interrupted.\n",
	 .formats = CLI_FMTS_DOC, .opts = &cli_sync_opts, .actions = cli_sync_actions,
	 .is_action_optional = true},
	/* -- medium 4: s2s -- */
	{"s2s", cmd_s2s, "move data between schemas or databases over postgres_fdw (schema-to-schema)",
	 "usage: confiture s2s setup   --source ENV|URL --target ENV|URL [--schema S]...\n"
	 "                             [--staging-schema NAME] [--skip-import]\n"
	 "       confiture s2s analyze --source ENV|URL --target ENV|URL [--mapping FILE]\n"
	 "                             [--schema S]...\n"
	 "       confiture s2s migrate --source ENV|URL --target ENV|URL --mapping FILE\n"
	 "                             [--jobs N] [--batch-size N] [--table ENTRY]...\n"
	 "                             [--resume | --restart | --upsert]\n"
	 "       confiture s2s verify  --source ENV|URL --target ENV|URL --mapping FILE\n"
	 "                             [--table ENTRY]...\n"
	 "       confiture s2s cleanup --target ENV|URL [--source ENV|URL]\n"
	 "                             [--yes-i-mean-production]\n"
	 "(alias: confiture schema-to-schema ...)\n\n"
	 "Moves data from a source database or schema into a target one over\n"
	 "postgres_fdw. Everything runs on the target: setup creates a foreign server\n"
	 "(from the source connection as libpq resolved it), a user mapping and a\n"
	 "staging schema of foreign tables; migrate copies each mapping entry with\n"
	 "INSERT ... SELECT in primary-key ranges, one transaction per range, and\n"
	 "records each finished range so that a rerun continues without duplicates;\n"
	 "verify compares row counts and checksums on both sides (exit 1 on a\n"
	 "difference); cleanup removes what setup created.\n\n"
	 "  --source ENV|URL         the database to read (an environment or a URL)\n"
	 "  --target ENV|URL         the database to fill; setup's objects live here\n"
	 "  --staging-schema NAME    schema of the foreign tables (s2s.staging_schema,\n"
	 "                           default confiture_src); the server is NAME_server\n"
	 "  --schema S               source schema to import or analyze (repeatable;\n"
	 "                           default public)\n"
	 "  --skip-import            setup: server and user mapping only\n"
	 "  --mapping FILE           {entry: {source_table, target_table, columns:\n"
	 "                           {src: tgt}, expressions, defaults, where, key,\n"
	 "                           batch_size}}\n"
	 "  --table ENTRY            only these mapping entries (repeatable, or a,b)\n"
	 "  -j, --jobs N             tables copied in parallel (s2s.jobs)\n"
	 "  --batch-size N           rows per key range (s2s.batch_size)\n"
	 "  --resume                 continue an earlier run; fails if none is recorded\n"
	 "  --restart                empty the target tables first (not on protected\n"
	 "                           environments)\n"
	 "  --upsert                 a catch-up pass: ON CONFLICT (pk) DO UPDATE\n"
	 "  --yes-i-mean-production  cleanup: on a protected database (refused otherwise)\n\n"
	 "Exit codes: 1 verify found a difference; 2 usage, or setup missing;\n"
	 "3 a connection failed (also from the target server to the source) or a\n"
	 "range failed (rolled back); 5 the mapping is wrong, or a target table\n"
	 "holds rows confiture did not copy; 6 another s2s run holds the lock.\n",
	 .formats = CLI_FMTS_DOC, .opts = &cli_s2s_opts, .actions = cli_s2s_actions},
	{"lint", cmd_lint, "migration safety rules on PostgreSQL's parse tree (Squawk's and more)",
	 "usage: confiture lint [PATH...] [--all | --schema] [OPTIONS]\n\n"
	 "Lints SQL with PostgreSQL's own parser: Squawk's rules under Squawk's names,\n"
	 "and rules that need the project: what is pending, whether a migration runs in\n"
	 "a transaction, what would lose data. Without paths it lints the pending\n"
	 "migrations (asking the ledger when a database is reachable). Paths may be\n"
	 "files or directories of .sql files, inside a project or not.\n\n"
	 "      --all                  every migration, applied or not\n"
	 "      --schema               the schema files (include_dirs, seeds left out)\n"
	 "      --pg-version V         the PostgreSQL version to assume (default:\n"
	 "                             lint.pg_version, the server's, else 13)\n"
	 "      --select R,...         only these rules or families (\"default\" names the\n"
	 "                             default set; \"all\" every rule)\n"
	 "      --ignore R,...         not these rules or families (--exclude works too)\n"
	 "      --assume-in-transaction  plain files run inside a transaction\n"
	 "      --offline              never connect: every migration counts as pending\n"
	 "      --list-rules           the rules, their families and severities\n\n"
	 "In SQL: \"-- confiture:lint-ignore RULE[,RULE]\" before a statement, and\n"
	 "\"-- confiture:lint-ignore-file RULE\" anywhere (squawk-ignore works too).\n"
	 "Output: -f text (file:line:col: severity rule: message), json, sarif, github.\n\n"
	 "Exit codes: 0 no error-level finding; 1 an error-level finding; 2 usage;\n"
	 "5 invalid lint: config; see docs/lint.md.\n",
	 .formats = CLI_FMTS_DOC | CLI_FMT(CLI_SARIF) | CLI_FMT(CLI_GITHUB), .opts = &cli_lint_opts,
	 .operand = CLI_V_FILE},
	/* -- schema diff and the CI gate -- */
	{"diff", cmd_diff, "compare two schemas and write the SQL between them",
	 "usage: confiture diff --from X --to Y [--schema S]... [--exclude-schema S]...\n"
	 "                      [--no-privileges] [--scratch-url URL]\n\n"
	 "Compares two schemas by their catalogs and lists what turns X into Y, in\n"
	 "dependency order, each change tagged additive, reversible, lock_risky,\n"
	 "destructive or non_transactional. X and Y are each an environment name, a\n"
	 "connection URL, \"schema\" (db/schema built in a scratch database),\n"
	 "\"migrations\" (db/migrations replayed from empty in a scratch database), or\n"
	 "a path to a .sql file or a directory of them. A database is only read, in\n"
	 "one read-only transaction: a protected environment can be compared.\n\n"
	 "  --from X                 the schema as it is\n"
	 "  --to Y                   the schema as it should be\n"
	 "  --schema S               compare only this schema (repeatable)\n"
	 "  --exclude-schema S       leave this schema out (repeatable)\n"
	 "  --no-privileges          leave GRANTs and default privileges out\n"
	 "  --scratch-url URL        server for scratch databases (default: the\n"
	 "                           project's embedded cluster); always dropped after\n\n"
	 "Output (-f): text (grouped by object, hazards marked), json (the change\n"
	 "list), sql (the script from X to Y, hazards listed in its header).\n\n"
	 "Exit codes: 0 equal; 1 they differ; 2 usage; 3 connection or a migration\n"
	 "failed; 4 db/schema or a .sql file does not build; 5 configuration.\n",
	 .formats = CLI_FMTS_DOC | CLI_FMT(CLI_SQL), .opts = &cli_diff_opts},
	{"check", cmd_check, "the CI gate: DDL, build, replay, drift, downs, checksums, lint",
	 "usage: confiture check [--downs] [--scratch-url URL]\n\n"
	 "Runs every step and reports every failure, with no configuration: each DDL\n"
	 "and migration file parses; db/schema builds; db/migrations replay from\n"
	 "empty; the replay equals the build (else the drift is printed as SQL for a\n"
	 "new migration); with --downs, each .down.sql undoes its .up.sql exactly;\n"
	 "with -e ENV, the checksums of the migrations applied there match their files\n"
	 "(read only); lint passes on the pending migrations (every migration without\n"
	 "-e). Work happens in scratch databases on the project's embedded\n"
	 "cluster (or --scratch-url), dropped afterwards; nothing else is touched.\n\n"
	 "  --downs                  check that each down undoes its up, and that\n"
	 "                           every migration has one\n"
	 "  --scratch-url URL        server for scratch databases\n\n"
	 "Output (-f): text, json, junit (a test case per step and per migration),\n"
	 "github (workflow annotations), sarif (code scanning).\n\n"
	 "Exit codes: 0 every step passed; 1 a step failed; 2 usage; 3 the scratch\n"
	 "server is unreachable; 130 interrupted (scratch databases are dropped).\n",
	 .formats = CLI_FMTS_DOC | CLI_FMT(CLI_JUNIT) | CLI_FMT(CLI_SARIF) | CLI_FMT(CLI_GITHUB),
	 .opts = &cli_check_opts},
	{"init", cmd_init, "scaffold a project that builds as generated",
	 "usage: confiture init [DIR] [--force]\n\n"
	 "Creates db/schema/ (numbered example folders), db/seeds/, db/migrations/,\n"
	 "db/environments/local.yaml (embedded cluster), db/sync/anonymization.yaml,\n"
	 "confiture.yaml, and .gitignore entries. Existing files are never\n"
	 "overwritten unless --force.\n\n"
	 "  --force    overwrite existing files\n",
	 .formats = CLI_FMTS_DOC, .opts = &cli_init_opts, .operand = CLI_V_DIR},
	{"doctor", cmd_doctor, "show the resolved environment, connection and ledger",
	 "usage: confiture doctor\n\n"
	 "Shows each setting and where it came from, the connection (password\n"
	 "masked), the server version, whether postgres_fdw is available, and the\n"
	 "tracking table. Exits 3 when the connection fails.\n",
	 .formats = CLI_FMTS_DOC, .opts = &cli_doctor_opts},
	{"validate-config", cmd_validate_config, "check the configuration without connecting",
	 "usage: confiture validate-config [--all]\n\n"
	 "Loads the project file and the environment (with --all: every environment),\n"
	 "expanding ${VAR}, and checks every key, connection string and hook file.\n"
	 "Exits 5 on the first problem, naming file, line and key.\n\n"
	 "  --all      check every environment the project defines\n",
	 .formats = CLI_FMTS_DOC, .opts = &cli_validate_config_opts},
	{"embedded", cmd_embedded, "manage the project-local PostgreSQL cluster",
	 "usage: confiture embedded start|stop|status|url|destroy\n\n"
	 "The embedded cluster lives in .confiture/pg/ and listens only on a unix\n"
	 "socket. It is used when database_url is \"embedded\", or unset in \"local\".\n\n"
	 "  start      initialize (first time) and start it\n"
	 "  stop       stop it\n"
	 "  status     tell whether it is initialized and running\n"
	 "  url        print the connection string of the environment's database\n"
	 "  destroy    stop it and delete its files\n",
	 .formats = CLI_FMTS_DOC, .opts = &cli_embedded_opts, .actions = cli_embedded_actions},
	{"hooks", cmd_hooks, "list hooks, or run one event's hooks with a sample context",
	 "usage: confiture hooks list\n"
	 "       confiture hooks test EVENT\n\n"
	 "Events: before_build after_build before_migrate before_migration\n"
	 "after_migration migration_failed after_migrate before_sync\n"
	 "before_sync_table after_sync_table after_sync before_s2s_step\n"
	 "after_s2s_step on_error\n",
	 .formats = CLI_FMTS_DOC, .opts = &cli_hooks_opts, .actions = cli_hooks_actions},
	{"help", cmd_help, "show help for a command, or every config key (help config)",
	 "usage: confiture help [COMMAND]\n"
	 "       confiture help config     every configuration key, its default and variable\n",
	 .formats = CLI_FMTS_DOC, .operand = CLI_V_COMMAND},
	{"completion", cmd_completion, "print a shell completion script (bash, zsh or fish)",
	 "usage: confiture completion bash|zsh|fish\n\n"
	 "Prints the completion script of the shell, generated from the command table:\n"
	 "every command, action and option, environment names from db/environments/\n"
	 "and migration versions from db/migrations/.\n\n"
	 "  bash   source it, or install as bash-completion/completions/confiture\n"
	 "  zsh    install as _confiture in a directory of $fpath\n"
	 "  fish   install as ~/.config/fish/completions/confiture.fish\n\n"
	 "make install puts all three in place. See docs/completion.md.\n",
	 .formats = CLI_FMT(CLI_TEXT), .actions = cli_completion_actions},
	{"version", cmd_version, "print the version", "usage: confiture version\n",
	 .formats = CLI_FMTS_DOC},
};

const cli_command *cli_commands(size_t *n)
{
	*n = sizeof(COMMANDS) / sizeof(*COMMANDS);
	return COMMANDS;
}

const cli_command *cli_find_command(const char *name)
{
	size_t n;
	const cli_command *cmds = cli_commands(&n);
	for (size_t i = 0; i < n; i++)
		if (strcmp(cmds[i].name, name) == 0)
			return &cmds[i];
	if (strcmp(name, "schema-to-schema") == 0)
		return cli_find_command("s2s");
	return NULL;
}

const cli_action *cli_find_action(const cli_command *cmd, const char *name)
{
	for (const cli_action *a = cmd ? cmd->actions : NULL; a && a->name; a++)
		if (strcmp(a->name, name) == 0)
			return a;
	return NULL;
}

bool cli_action_takes(const cli_action *a, const char *opt)
{
	if (!a || !a->flags || strcmp(opt, "help") == 0)
		return true;
	size_t n = strlen(opt);
	for (const char *p = a->flags; (p = strstr(p, opt)); p += n)
		if ((p == a->flags || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0'))
			return true;
	return false;
}

/* ---- Formats ---------------------------------------------------------------- */

static const cli_format_name FORMATS[] = {
	{"text", CLI_TEXT}, {"table", CLI_TEXT}, {"json", CLI_JSON}, {"csv", CLI_CSV},
	{"sarif", CLI_SARIF}, {"github", CLI_GITHUB}, {"sql", CLI_SQL}, {"junit", CLI_JUNIT},
};

const cli_format_name *cli_format_names(size_t *n)
{
	*n = sizeof(FORMATS) / sizeof(*FORMATS);
	return FORMATS;
}

/* "text, json or csv": the names of the formats in SET, for messages. */
static char *format_list(unsigned set)
{
	cf_strv names;
	cf_strv_init(&names);
	for (size_t i = 0; i < sizeof(FORMATS) / sizeof(*FORMATS); i++)
		if ((set & CLI_FMT(FORMATS[i].format)) && strcmp(FORMATS[i].name, "table") != 0)
			cf_strv_push(&names, FORMATS[i].name);
	cf_buf b;
	cf_buf_init(&b);
	for (size_t i = 0; i < names.n; i++)
		cf_buf_printf(&b, "%s%s", i == 0 ? "" : i + 1 == names.n ? " or " : ", ", names.v[i]);
	cf_strv_release(&names);
	return cf_buf_detach(&b);
}

/* The one refusal of a format a command (or its action) does not write: exit 2. */
static cf_status check_format(cli *c, const cli_command *cmd, const cli_action *a)
{
	unsigned set = a && a->formats ? a->formats : cmd->formats;
	if (set & CLI_FMT(c->format))
		return CF_OK;
	char *what = a ? cf_asprintf("%s %s", cmd->name, a->name) : cf_strdup(cmd->name);
	char *list = format_list(set);
	cf_status st = cf_error_set(c->ctx, CF_ERR_USAGE, "format \"%s\" is not available for \"%s\"",
	                            c->format_name, what);
	cf_error_hint(c->ctx, "\"confiture %s\" writes %s.", what, list);
	free(list);
	free(what);
	return st;
}

/* ---- Completion values ---------------------------------------------------------- */

/* What the values of options are, so that completion can offer them. An option
 * that takes a value and is not listed here completes file names. */
static const cli_option_value OPTION_VALUES[] = {
	{NULL, "env", CLI_V_ENV},
	{NULL, "format", CLI_V_FORMAT},
	{NULL, "project-dir", CLI_V_DIR},
	{NULL, "database-url", CLI_V_NONE},
	{"migrate", "target", CLI_V_VERSION},
	{"migrate", "through", CLI_V_VERSION},
	{"migrate", "version-id", CLI_V_NONE},
	{"migrate", "from-db", CLI_V_ENV},
	{"migrate", "against", CLI_V_ENV},
	{"migrate", "import", CLI_V_NONE},
	{"migrate", "lock-timeout", CLI_V_NONE},
	{"migrate", "on-checksum-mismatch", CLI_V_NONE},
	{"migrate", "steps", CLI_V_NONE},
	{"migrate", "migrations-dir", CLI_V_DIR},
	{"lint", "pg-version", CLI_V_NONE},
	{"lint", "select", CLI_V_NONE},
	{"lint", "ignore", CLI_V_NONE},
	{"lint", "exclude", CLI_V_NONE},
	{"sync", "from", CLI_V_ENV},
	{"sync", "to", CLI_V_ENV},
	{"sync", "tables", CLI_V_NONE},
	{"sync", "exclude", CLI_V_NONE},
	{"sync", "jobs", CLI_V_NONE},
	{"sync", "limit", CLI_V_NONE},
	{"sync", "split-rows", CLI_V_NONE},
	{"sync", "verify-sample", CLI_V_NONE},
	{"sync", "backup-dir", CLI_V_DIR},
	{"sync", "run", CLI_V_NONE},
	{"sync", "keep", CLI_V_NONE},
	{"s2s", "source", CLI_V_ENV},
	{"s2s", "target", CLI_V_ENV},
	{"s2s", "staging-schema", CLI_V_NONE},
	{"s2s", "schema", CLI_V_NONE},
	{"s2s", "table", CLI_V_NONE},
	{"s2s", "tables", CLI_V_NONE},
	{"s2s", "jobs", CLI_V_NONE},
	{"s2s", "batch-size", CLI_V_NONE},
	{"build", "separator-style", CLI_V_NONE},
};

const cli_option_value *cli_option_values(size_t *n)
{
	*n = sizeof(OPTION_VALUES) / sizeof(*OPTION_VALUES);
	return OPTION_VALUES;
}

/*
 * Prints help TEXT; with -f json, the help document instead (command "help",
 * however it was asked for: TOPIC is the command, or null).
 */
static cf_status show_help(cli *c, const char *topic, const char *text)
{
	if (c->format != CLI_JSON) {
		fputs(text, stdout);
		return CF_OK;
	}
	c->command = "help";
	c->action = NULL;
	cf_buf b;
	cf_json j;
	cli_json_begin(c, &j, &b, true);
	cf_json_kv_str(&j, "topic", topic);
	cf_json_kv_str(&j, "usage", text);
	cli_json_end(c, &j, &b);
	return CF_OK;
}

static cf_status main_help(cli *c)
{
	cf_buf b;
	cf_buf_init(&b);
	cf_buf_printf(&b, "confiture %s -- PostgreSQL migration toolkit\n\n"
	              "usage: confiture [OPTIONS] COMMAND [ARGS]\n\nCommands:\n",
	              CONFITURE_VERSION);
	size_t n;
	const cli_command *cmds = cli_commands(&n);
	for (size_t i = 0; i < n; i++)
		cf_buf_printf(&b, "  %-17s %s\n", cmds[i].name, cmds[i].summary);
	cf_buf_printf(&b, "\n%s"
	              "      --version            print the version\n"
	              "      --exit-codes         print the exit codes (--exit-codes-json for JSON)\n"
	              "  -h, --help               this help; `confiture help COMMAND` for a command\n\n"
	              "Docs: docs/ in the source tree, and `man confiture`.\n",
	              HELP_GLOBAL);
	cf_status st = show_help(c, NULL, b.data);
	cf_buf_release(&b);
	return st;
}

/* `confiture help config`: every key, its default and what it does. */
static cf_status help_config(cli *c)
{
	size_t n;
	const cf_key_doc *docs = cf_config_key_docs(&n);
	if (c->format == CLI_JSON) {
		cf_buf b;
		cf_json j;
		cli_json_begin(c, &j, &b, true);
		cf_json_key(&j, "keys");
		cf_json_arr_begin(&j);
		for (size_t i = 0; i < n; i++) {
			cf_json_obj_begin(&j);
			cf_json_kv_str(&j, "key", docs[i].key);
			cf_json_kv_str(&j, "default", docs[i].dflt);
			cf_json_kv_str(&j, "doc", docs[i].doc);
			cf_json_obj_end(&j);
		}
		cf_json_arr_end(&j);
		cli_json_end(c, &j, &b);
		return CF_OK;
	}
	printf("Configuration keys (confiture.yaml, db/environments/NAME.yaml, CONFITURE_*):\n\n");
	for (size_t i = 0; i < n; i++) {
		char *var = cf_asprintf("CONFITURE_%s", docs[i].key);
		for (char *p = var; *p; p++)
			*p = *p == '.' ? '_' : (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p);
		printf("%s\n    default: %s\n    %s%s\n    %s\n\n", docs[i].key,
		       docs[i].dflt ? docs[i].dflt : "(unset)",
		       strcmp(docs[i].key, "hooks") == 0 ? "" : "variable: ",
		       strcmp(docs[i].key, "hooks") == 0 ? "(YAML only)" : var, docs[i].doc);
		free(var);
	}
	return CF_OK;
}

static cf_status cmd_help(cli *c, int argc, char **argv)
{
	if (argc < 2)
		return main_help(c);
	if (argc > 2)
		return cli_usage(c, "unexpected argument \"%s\"", argv[2]);
	if (strcmp(argv[1], "config") == 0)
		return help_config(c);
	const cli_command *cmd = cli_find_command(argv[1]);
	if (!cmd)
		return cli_usage(c, "unknown command \"%s\"", argv[1]);
	c->command = cmd->name;
	return cli_help(c);
}

static cf_status cmd_version(cli *c, int argc, char **argv)
{
	if (argc > 2 && strcmp(argv[1], "-h") == 0)
		return cli_help_host(c, argv[2]);
	if (argc > 1 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0))
		return cli_help(c);
	if (argc > 1)
		return cli_usage(c, "unexpected argument \"%s\"", argv[1]);
	if (c->format == CLI_JSON) {
		cf_buf b;
		cf_json j;
		cli_json_begin(c, &j, &b, true);
		cf_json_kv_str(&j, "version", CONFITURE_VERSION);
		cli_json_end(c, &j, &b);
	} else {
		printf("confiture %s\n", CONFITURE_VERSION);
	}
	return CF_OK;
}

cf_status cli_help(cli *c)
{
	const cli_command *cmd = cli_find_command(c->command);
	if (!cmd)
		return CF_OK;
	char *text = cf_asprintf("%s\n%s", cmd->help, HELP_GLOBAL);
	cf_status st = show_help(c, cmd->name, text);
	free(text);
	return st;
}

/* ---- Options ------------------------------------------------------------- */

cf_status cli_usage(cli *c, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *msg = cf_vasprintf(fmt, ap);
	va_end(ap);
	cf_status st = cf_error_set(c->ctx, CF_ERR_USAGE, "%s", msg);
	if (c->command && strcmp(c->command, "confiture") != 0)
		cf_error_hint(c->ctx, "Try \"confiture %s --help\".", c->command);
	else
		cf_error_hint(c->ctx, "Try \"confiture --help\".");
	free(msg);
	return st;
}

cf_status cli_help_host(cli *c, const char *next)
{
	cf_status st = cf_error_set(c->ctx, CF_ERR_USAGE, "unexpected argument \"%s\" after \"-h\"",
	                            next);
	cf_error_detail(c->ctx, "-h asks for help and takes no value; it is not a host name as in "
	                        "psql.");
	cf_error_hint(c->ctx, "-h is --help. To choose the server, give -d postgresql://HOST/DB (or "
	                      "-d \"host=HOST dbname=DB\"), or set PGHOST.");
	return st;
}

int cli_getopt(cli *c, int argc, char **argv, const char *shortopts, const struct option *opts)
{
	opterr = 0;
	int idx = -1;
	/* "+" stops at the first operand, so a subcommand's options are its own.
	 * Commands whose options may follow operands consume the operand and call
	 * again (see cmd_init.c). */
	char *spec = cf_asprintf("+:%s", shortopts);
	int ch = getopt_long(argc, argv, spec, opts, &idx);
	free(spec);
	if (ch == '?') {
		const char *bad = argv[optind - 1];
		if (optopt && !(bad[0] == '-' && bad[1] == '-'))
			cli_usage(c, "unknown option \"-%c\"", optopt);
		else
			cli_usage(c, "unknown option \"%s\"", bad);
		return '?';
	}
	if (ch == ':') {
		cli_usage(c, "option \"%s\" needs a value", argv[optind - 1]);
		return '?';
	}
	/* "-h db.prod": psql's habit must not become a green help screen. */
	if (ch == 'h' && strcmp(argv[optind - 1], "-h") == 0 && optind < argc) {
		cli_help_host(c, argv[optind]);
		return '?';
	}
	return ch;
}

cf_status cli_parse_long(cli *c, const char *opt, const char *text, long *out)
{
	char *end;
	long v = strtol(text, &end, 10);
	if (!*text || *end || v < 0)
		return cli_usage(c, "option \"%s\" needs a non-negative integer, got \"%s\"", opt, text);
	*out = v;
	return CF_OK;
}

cf_status cli_load(cli *c)
{
	cf_status st = CF_OK;
	if (c->config_file)
		st = cf_ctx_set_config_file(c->ctx, c->config_file);
	if (!st && c->database_url)
		st = cf_ctx_set_database_url(c->ctx, c->database_url);
	if (!st)
		st = cf_ctx_load(c->ctx, c->project_dir, c->env);
	return st;
}

/* Global options may come before or after the command; they are taken out
 * of argv here, and what remains is the command and its own arguments. */
static const struct option GLOBALS[] = {
	{"config", required_argument, 0, 'c'},  {"env", required_argument, 0, 'e'},
	{"database-url", required_argument, 0, 'd'}, {"project-dir", required_argument, 0, 0},
	{"format", required_argument, 0, 'f'},  {"quiet", no_argument, 0, 'q'},
	{"verbose", no_argument, 0, 'v'},       {"no-color", no_argument, 0, 0},
	{"version", no_argument, 0, 0},         {"exit-codes", no_argument, 0, 0},
	{"exit-codes-json", no_argument, 0, 0}, {"help", no_argument, 0, 'h'},
	{"events", required_argument, 0, 0},
	{0, 0, 0, 0},
};

static const cli_opts GLOBAL_OPTS = {"c:e:d:f:qvh", GLOBALS};

const cli_opts *cli_global_opts(void)
{
	return &GLOBAL_OPTS;
}

typedef struct globals {
	const char *format;
	bool want_version, want_exit_codes, want_exit_codes_json, want_no_color;
} globals;

static void set_global(cli *c, globals *g, const struct option *o, const char *val)
{
	switch (o->val) {
	case 'c': c->config_file = val; return;
	case 'e': c->env = val; return;
	case 'd': c->database_url = val; return;
	case 'f': g->format = val; return;
	case 'q': c->is_quiet = true; return;
	case 'v': c->is_verbose = true; return;
	default: break;
	}
	if (strcmp(o->name, "project-dir") == 0)
		c->project_dir = val;
	else if (strcmp(o->name, "no-color") == 0)
		g->want_no_color = true;
	else if (strcmp(o->name, "version") == 0)
		g->want_version = true;
	else if (strcmp(o->name, "exit-codes") == 0)
		g->want_exit_codes = true;
	else if (strcmp(o->name, "exit-codes-json") == 0)
		g->want_exit_codes_json = true;
	else if (strcmp(o->name, "events") == 0)
		c->events_target = val;
}

/* Matches ARG against the globals; returns how many argv slots it used (0: not global). */
static int match_global(cli *c, globals *g, char **argv, int i, int argc, cf_status *st)
{
	const char *a = argv[i];
	/* -h/--help belongs to the command: it is listed for completion only. */
	for (const struct option *o = GLOBALS; o->name; o++) {
		if (o->val == 'h')
			continue;
		const char *val = NULL;
		int used = 0;
		size_t ll = strlen(o->name);
		if (a[0] == '-' && a[1] == '-' && strncmp(a + 2, o->name, ll) == 0 &&
		    (a[2 + ll] == '\0' || (a[2 + ll] == '=' && o->has_arg))) {
			val = a[2 + ll] == '=' ? a + 3 + ll : NULL;
			used = 1;
		} else if (o->val && a[0] == '-' && a[1] == o->val &&
		           (a[2] == '\0' || o->has_arg)) {
			val = a[2] ? a + 2 : NULL;
			used = 1;
		}
		if (!used)
			continue;
		if (o->has_arg && !val) {
			if (i + 1 >= argc) {
				*st = cli_usage(c, "option \"%s\" needs a value", a);
				return 1;
			}
			val = argv[i + 1];
			used = 2;
		}
		set_global(c, g, o, val);
		return used;
	}
	return 0;
}

static cf_status parse_globals(cli *c, globals *g, int *argc, char **argv)
{
	int out = 1;
	cf_status st = CF_OK;
	bool rest = false;
	for (int i = 1; i < *argc; i++) {
		if (!rest && strcmp(argv[i], "--") == 0) {
			rest = true;
			argv[out++] = argv[i];
			continue;
		}
		int used = rest || argv[i][0] != '-' ? 0 : match_global(c, g, argv, i, *argc, &st);
		if (st)
			return st;
		if (used == 0)
			argv[out++] = argv[i];
		else
			i += used - 1;
	}
	*argc = out;
	argv[out] = NULL;
	if (!g->format)
		return CF_OK;
	for (size_t i = 0; i < sizeof(FORMATS) / sizeof(*FORMATS); i++)
		if (strcmp(g->format, FORMATS[i].name) == 0) {
			c->format = FORMATS[i].format;
			c->format_name = FORMATS[i].name;
			return CF_OK;
		}
	char *list = format_list(~0u);
	st = cli_usage(c, "unknown format \"%s\" (use %s)", g->format, list);
	free(list);
	return st;
}

/* ---- Signals --------------------------------------------------------------- */

/*
 * SIGINT and SIGTERM are blocked in every thread and taken by this one, which
 * cancels the running statements through the library (PQcancel). A second
 * signal exits at once.
 */
static void *signal_thread(void *arg)
{
	cli *c = arg;
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	for (int n = 0;; n++) {
		int sig;
		if (sigwait(&set, &sig) != 0)
			continue;
		if (n > 0)
			_exit(130);
		static const char msg[] = "\nconfiture: interrupted, cancelling (again to force)\n";
		ssize_t w = write(2, msg, sizeof(msg) - 1);
		(void)w;
		cf_ctx_cancel(c->ctx);
	}
	return NULL;
}

static void setup_signals(cli *c)
{
	/* An inherited "ignore" (background jobs of a shell) would discard the
	 * signal before sigwait could take it. */
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	pthread_t t;
	if (pthread_create(&t, NULL, signal_thread, c) == 0)
		pthread_detach(t);
}

/* ---- main ---------------------------------------------------------------- */

static cf_status dispatch(cli *c, int argc, char **argv)
{
	if (argc < 2) {
		if (c->format != CLI_JSON) /* one document: the error's */
			main_help(c);
		return cli_usage(c, "no command given");
	}
	const char *name = argv[1];
	if (strcmp(name, "-h") == 0 && argc > 2)
		return cli_help_host(c, argv[2]);
	if (strcmp(name, "-h") == 0 || strcmp(name, "--help") == 0)
		return main_help(c);
	const cli_command *cmd = cli_find_command(name);
	if (!cmd) {
		size_t n;
		const cli_command *cmds = cli_commands(&n);
		const char *names[64];
		for (size_t i = 0; i < n && i < 64; i++)
			names[i] = cmds[i].name;
		const char *best = name[0] == '-' ? NULL : cf_closest(name, names, n);
		cf_status st = cf_error_set(c->ctx, CF_ERR_USAGE, "unknown %s \"%s\"",
		                            name[0] == '-' ? "option" : "command", name);
		if (best)
			cf_error_hint(c->ctx, "Did you mean \"confiture %s\"? See \"confiture --help\".",
			              best);
		else
			cf_error_hint(c->ctx, "See \"confiture --help\".");
		return st;
	}
	c->command = cmd->name;
	const cli_action *a = argc > 2 ? cli_find_action(cmd, argv[2]) : NULL;
	c->action = a ? a->name : NULL;
	cf_status st = check_format(c, cmd, a);
	if (st)
		return st;
	cf_ctx_set_app_name(c->ctx, cmd->name);
	optind = 0; /* GNU getopt: full reset for the command's own parsing */
	return cmd->fn(c, argc - 1, argv + 1);
}

static void cli_release(cli *c)
{
	cf_ctx_free(c->ctx);
	cf_buf_release(&c->doc);
	cf_buf_release(&c->doc_errors);
	cf_strv_release(&c->warnings);
	free(c->target_url);
	free(c->target_env);
}

int main(int argc, char **argv)
{
	cli c = {.format = CLI_TEXT, .command = "confiture", .started_at = cf_now()};
	c.ctx = cf_ctx_new();
	cf_buf_init(&c.doc);
	cf_buf_init(&c.doc_errors);
	cf_strv_init(&c.warnings);
	globals g = {0};
	cf_status st = parse_globals(&c, &g, &argc, argv);
	c.is_tty = isatty(2);
	c.has_color = c.is_tty && !g.want_no_color && !getenv("NO_COLOR");
	cf_ctx_set_logger(c.ctx, cli_logger, &c);
	if (!st && c.events_target)
		st = cli_events_open(&c, c.events_target);
	cli_progress_setup(&c);
	if (c.bars || c.events)
		cf_ctx_set_progress(c.ctx, cli_progress, &c);
	if (!st && (g.want_exit_codes || g.want_exit_codes_json)) {
		int code = print_exit_codes(g.want_exit_codes_json || c.format == CLI_JSON);
		cli_events_finish(&c, CF_OK);
		cli_progress_release(&c);
		cli_release(&c);
		return code;
	}
	if (!st && g.want_version)
		st = cmd_version(&c, 0, NULL);
	else if (!st) {
		setup_signals(&c);
		st = dispatch(&c, argc, argv);
	}
	if (c.format == CLI_JSON)
		cli_json_emit(&c, st);
	else if (st && cf_last_error_info(c.ctx))
		cli_print_error(&c, st);
	cli_events_finish(&c, st);
	cli_progress_release(&c);
	int code = cli_exit_code(st);
	fflush(stdout);
	cli_release(&c);
	return code;
}
