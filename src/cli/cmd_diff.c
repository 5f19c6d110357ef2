/* cmd_diff.c -- confiture diff --from X --to Y: text, json or the SQL script. */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { O_FROM = 1000, O_TO, O_SCHEMA, O_EXCLUDE_SCHEMA, O_NO_PRIVILEGES, O_SCRATCH_URL };

typedef struct diff_args {
	cf_diff_opts o;
	cf_strv schemas, excluded;
} diff_args;

static const struct option OPTIONS[] = {
	{"from", required_argument, 0, O_FROM},
	{"to", required_argument, 0, O_TO},
	{"schema", required_argument, 0, O_SCHEMA},
	{"exclude-schema", required_argument, 0, O_EXCLUDE_SCHEMA},
	{"no-privileges", no_argument, 0, O_NO_PRIVILEGES},
	{"scratch-url", required_argument, 0, O_SCRATCH_URL},
	{"help", no_argument, 0, 'h'},
	{0, 0, 0, 0},
};

const cli_opts cli_diff_opts = {"h", OPTIONS};

static cf_status parse(cli *c, int argc, char **argv, diff_args *a, bool *is_help)
{
	int ch;
	while ((ch = cli_getopt(c, argc, argv, cli_diff_opts.shortopts, OPTIONS)) != -1) {
		switch (ch) {
		case 'h': *is_help = true; return cli_help(c);
		case O_FROM: a->o.from = optarg; break;
		case O_TO: a->o.to = optarg; break;
		case O_SCHEMA: cf_strv_push(&a->schemas, optarg); break;
		case O_EXCLUDE_SCHEMA: cf_strv_push(&a->excluded, optarg); break;
		case O_NO_PRIVILEGES: a->o.no_privileges = true; break;
		case O_SCRATCH_URL: a->o.scratch_url = optarg; break;
		default: return CF_ERR_USAGE;
		}
	}
	if (optind < argc)
		return cli_usage(c, "unexpected argument \"%s\"", argv[optind]);
	if (!a->o.from || !a->o.to)
		return cli_usage(c, "diff needs --from X and --to Y");
	a->o.schemas = (const char *const *)a->schemas.v;
	a->o.n_schemas = a->schemas.n;
	a->o.exclude_schemas = (const char *const *)a->excluded.v;
	a->o.n_exclude_schemas = a->excluded.n;
	return CF_OK;
}

/* ---- Rendering ------------------------------------------------------------------- */

void cli_json_changes(cf_json *j, const cf_schema_change *v, size_t n)
{
	cf_json_key(j, "changes");
	cf_json_arr_begin(j);
	for (size_t i = 0; i < n; i++) {
		cf_json_obj_begin(j);
		cf_json_kv_str(j, "action", v[i].action);
		cf_json_kv_str(j, "kind", v[i].kind);
		cf_json_kv_str(j, "object", v[i].object);
		cf_json_kv_str(j, "group", v[i].group);
		cf_json_kv_str(j, "hazard", cf_hazard_name(v[i].hazard));
		cf_json_kv_bool(j, "refused", v[i].is_refused);
		cf_json_kv_str(j, "note", v[i].note);
		cf_json_kv_str(j, "sql", v[i].sql);
		cf_json_obj_end(j);
	}
	cf_json_arr_end(j);
}

static void json_result(cli *c, const cf_diff_result *r, cf_status st)
{
	bool failed = st && st != CF_ERR_CHECK;
	cf_buf b;
	cf_json j;
	cli_json_begin(c, &j, &b, !failed);
	cf_json_kv_str(&j, "from", r->from);
	cf_json_kv_str(&j, "to", r->to);
	cf_json_kv_bool(&j, "equal", r->is_equal && !failed);
	cf_json_kv_str(&j, "message", r->message);
	cf_json_key(&j, "hazards");
	cf_json_obj_begin(&j);
	for (int h = 0; h < 5; h++)
		cf_json_kv_int(&j, cf_hazard_name((cf_hazard)h), (long long)r->n_by_hazard[h]);
	cf_json_kv_int(&j, "refused", (long long)r->n_refused);
	cf_json_obj_end(&j);
	cli_json_changes(&j, r->changes, r->n_changes);
	cf_json_kv_strs(&j, "notes", r->notes, r->n_notes);
	cf_json_kv_strs(&j, "not_compared", r->not_compared, r->n_not_compared);
	cli_json_errors(&j, r->errors, r->n_errors);
	cli_json_end(c, &j, &b);
}

static char action_mark(const cf_schema_change *ch)
{
	if (ch->is_refused)
		return '!';
	switch (ch->action[0]) {
	case 'c': return '+';
	case 'd': return '-';
	case 'r': return '*';
	default: return '~';
	}
}

/* One line per change; a table's columns, constraints and indexes indented
 * under it. */
static void text_result(cli *c, const cf_diff_result *r)
{
	printf("from: %s\nto:   %s\n\n", r->from, r->to);
	const char *group = NULL;
	for (size_t i = 0; i < r->n_changes; i++) {
		const cf_schema_change *ch = &r->changes[i];
		char *self = cf_asprintf("%s %s", ch->kind, ch->object);
		bool is_top = strcmp(self, ch->group) == 0;
		free(self);
		if (!group || strcmp(group, ch->group) != 0) {
			group = ch->group;
			if (!is_top)
				printf("%s\n", group);
		}
		const char *hz = ch->is_refused ? "refused" : cf_hazard_name(ch->hazard);
		bool loud = ch->is_refused || ch->hazard >= CF_HAZARD_LOCK_RISKY;
		printf("%s%c %s %s %s  %s[%s]%s\n", is_top ? "" : "    ", action_mark(ch), ch->action,
		       ch->kind, ch->object, loud ? cli_color(c, "warn") : "", hz,
		       loud ? cli_color(c, "reset") : "");
		if (ch->note && loud)
			printf("%s      %s\n", is_top ? "" : "    ", ch->note);
	}
	printf("%s%s\n", r->n_changes ? "\n" : "", r->message);
	for (size_t i = 0; i < r->n_notes; i++)
		printf("note: %s\n", r->notes[i]);
	for (size_t i = 0; i < r->n_not_compared; i++)
		printf("not compared: %s\n", r->not_compared[i]);
}

cf_status cmd_diff(cli *c, int argc, char **argv)
{
	diff_args a = {0};
	cf_strv_init(&a.schemas);
	cf_strv_init(&a.excluded);
	bool is_help = false;
	cf_status st = parse(c, argc, argv, &a, &is_help);
	if (!st && !is_help)
		st = cli_load(c);
	cf_diff_result *r = NULL;
	if (!st && !is_help) {
		st = cf_diff(c->ctx, &a.o, &r);
		bool failed = st && st != CF_ERR_CHECK;
		if (c->format == CLI_JSON)
			json_result(c, r, st);
		else if (c->format == CLI_SQL && !failed) {
			char *script = cf_diff_result_script(r);
			fputs(script, stdout);
			free(script);
		} else if (!failed)
			text_result(c, r);
		cf_diff_result_free(r);
	}
	cf_strv_release(&a.schemas);
	cf_strv_release(&a.excluded);
	return st;
}
