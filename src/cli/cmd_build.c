/* cmd_build.c -- confiture build */
#include "cli.h"

#include <stdio.h>
#include <string.h>

static void json_timings(cf_json *j, const cf_build_result *r)
{
	const cf_build_timings *t = &r->timings;
	cf_json_key(j, "timings");
	cf_json_obj_begin(j);
	cf_json_kv_num(j, "discover_s", t->discover_s);
	cf_json_kv_num(j, "load_s", t->load_s);
	cf_json_kv_num(j, "hash_s", t->hash_s);
	cf_json_kv_num(j, "prepare_s", t->prepare_s);
	cf_json_kv_num(j, "apply_s", t->apply_s);
	cf_json_kv_num(j, "seeds_s", t->seeds_s);
	cf_json_kv_num(j, "write_s", t->write_s);
	cf_json_obj_end(j);
}

static void json_files(cf_json *j, const cf_build_result *r)
{
	cf_json_key(j, "files");
	cf_json_arr_begin(j);
	for (size_t i = 0; i < r->n_files; i++) {
		const cf_build_file *f = &r->files[i];
		cf_json_obj_begin(j);
		cf_json_kv_str(j, "path", f->path);
		cf_json_kv_str(j, "relpath", f->relpath);
		cf_json_kv_int(j, "bytes", (long long)f->bytes);
		cf_json_kv_int(j, "statements", (long long)f->n_statements);
		cf_json_kv_bool(j, "seed", f->is_seed);
		cf_json_obj_end(j);
	}
	cf_json_arr_end(j);
}

static void build_json(cli *c, const cf_build_result *r, cf_status st)
{
	cf_buf b;
	cf_json j;
	cli_json_begin(c, &j, &b, st == CF_OK);
	cf_json_kv_str(&j, "message", r->message);
	cf_json_kv_str(&j, "env", r->env);
	cf_json_kv_str(&j, "hash", r->hash);
	cf_json_kv_str(&j, "output", r->output_path);
	cf_json_kv_bool(&j, "output_written", r->is_output_written);
	cf_json_kv_int(&j, "n_files", (long long)r->n_files);
	cf_json_kv_int(&j, "schema_files", (long long)r->n_schema_files);
	cf_json_kv_int(&j, "seed_files", (long long)r->n_seed_files);
	cf_json_kv_int(&j, "bytes", (long long)r->bytes);
	cf_json_kv_int(&j, "parsed", (long long)r->n_parsed);
	cf_json_kv_int(&j, "statements", (long long)r->n_statements);
	cf_json_kv_bool(&j, "applied", r->is_applied);
	cf_json_kv_str(&j, "database", r->database);
	cf_json_kv_bool(&j, "recreated", r->is_recreated);
	cf_json_kv_bool(&j, "cloned", r->is_cloned);
	cf_json_kv_str(&j, "template", r->template_name);
	cf_json_kv_int(&j, "templates_dropped", (long long)r->n_templates_dropped);
	cf_json_kv_int(&j, "nontx_statements", (long long)r->n_nontx);
	cf_json_kv_int(&j, "skipped_statements", (long long)r->n_skipped);
	cf_json_kv_bool(&j, "changes_detected", r->changes_detected);
	json_timings(&j, r);
	json_files(&j, r);
	cli_json_errors(&j, r->errors, r->n_errors);
	cli_json_end(c, &j, &b);
}

static void build_text(cli *c, const cf_build_result *r, bool show_hash)
{
	if (show_hash)
		printf("%s\n", r->hash);
	if (c->is_quiet)
		return;
	fprintf(stderr, "confiture: %s%s%s (%.2fs)\n", cli_color(c, "ok"), r->message,
	        cli_color(c, "reset"), r->duration_s);
	if (!show_hash && c->is_verbose)
		fprintf(stderr, "confiture: schema hash %s\n", r->hash);
}

enum { OPT_APPLY = 256, OPT_RECREATE, OPT_TEMPLATE, OPT_SCHEMA_ONLY, OPT_SHOW_HASH,
       OPT_NO_OUTPUT, OPT_SEPARATOR, OPT_SEQUENTIAL, OPT_CONTINUE };

typedef struct build_args {
	cf_build_options o;
	bool show_hash, is_help;
	const char *separator;
	bool sequential, cont;
} build_args;

static const struct option OPTIONS[] = {
	{"output", required_argument, 0, 'o'},
	{"apply", no_argument, 0, OPT_APPLY},
	{"recreate", no_argument, 0, OPT_RECREATE},
	{"template", no_argument, 0, OPT_TEMPLATE},
	{"schema-only", no_argument, 0, OPT_SCHEMA_ONLY},
	{"show-hash", no_argument, 0, OPT_SHOW_HASH},
	{"no-output", no_argument, 0, OPT_NO_OUTPUT},
	{"separator-style", required_argument, 0, OPT_SEPARATOR},
	{"sequential", no_argument, 0, OPT_SEQUENTIAL},
	{"continue-on-error", no_argument, 0, OPT_CONTINUE},
	{"help", no_argument, 0, 'h'},
	{0, 0, 0, 0}};
const cli_opts cli_build_opts = {"ho:", OPTIONS};

static cf_status parse_args(cli *c, int argc, char **argv, build_args *a)
{
	int ch;
	while ((ch = cli_getopt(c, argc, argv, cli_build_opts.shortopts, cli_build_opts.longopts)) != -1) {
		switch (ch) {
		case 'h': a->is_help = true; return CF_OK;
		case 'o': a->o.output = optarg; break;
		case OPT_APPLY: a->o.is_apply = true; break;
		case OPT_RECREATE: a->o.is_recreate = true; break;
		case OPT_TEMPLATE: a->o.is_template = true; break;
		case OPT_SCHEMA_ONLY: a->o.is_schema_only = true; break;
		case OPT_SHOW_HASH: a->show_hash = true; break;
		case OPT_NO_OUTPUT: a->o.is_no_output = true; break;
		case OPT_SEPARATOR: a->separator = optarg; break;
		case OPT_SEQUENTIAL: a->sequential = true; break;
		case OPT_CONTINUE: a->cont = true; break;
		default: return CF_ERR_USAGE;
		}
	}
	if (optind < argc)
		return cli_usage(c, "unexpected argument \"%s\"", argv[optind]);
	if (a->o.output && a->o.is_no_output)
		return cli_usage(c, "--output and --no-output cannot be used together");
	if (a->cont && !a->sequential)
		return cli_usage(c, "--continue-on-error needs --sequential");
	return CF_OK;
}

/* Flags that are config keys go in at flag level, above every file. */
static cf_status set_flags(cli *c, const build_args *a)
{
	cf_status st = CF_OK;
	if (a->separator)
		st = cf_ctx_set_option(c->ctx, "build.separators.style", a->separator,
		                       "--separator-style");
	if (!st && a->sequential)
		st = cf_ctx_set_option(c->ctx, "seed.execution_mode", "sequential", "--sequential");
	if (!st && a->cont)
		st = cf_ctx_set_option(c->ctx, "seed.continue_on_error", "true", "--continue-on-error");
	return st;
}

cf_status cmd_build(cli *c, int argc, char **argv)
{
	build_args a = {0};
	cf_status st = parse_args(c, argc, argv, &a);
	if (!st && a.is_help)
		return cli_help(c);
	if (!st)
		st = set_flags(c, &a);
	if (!st)
		st = cli_load(c);
	if (!st && (a.o.is_apply || a.o.is_recreate || a.o.is_template))
		st = cli_target(c, NULL);
	if (st)
		return st;
	cf_build_result *r = NULL;
	st = cf_build(c->ctx, &a.o, &r);
	if (cli_wants_json(c))
		build_json(c, r, st);
	if (c->format != CLI_JSON && !st)
		build_text(c, r, a.show_hash);
	cf_build_result_free(r);
	return st;
}
