/* cmd_check.c -- confiture check: the CI gate, as text, json or junit. */
#include "cli.h"
#include "findings.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { O_DOWNS = 1000, O_SCRATCH_URL };

static const struct option OPTIONS[] = {
	{"downs", no_argument, 0, O_DOWNS},
	{"scratch-url", required_argument, 0, O_SCRATCH_URL},
	{"help", no_argument, 0, 'h'},
	{0, 0, 0, 0},
};

const cli_opts cli_check_opts = {"h", OPTIONS};

static cf_status parse(cli *c, int argc, char **argv, cf_check_opts *o, bool *is_help)
{
	int ch;
	while ((ch = cli_getopt(c, argc, argv, cli_check_opts.shortopts, OPTIONS)) != -1) {
		switch (ch) {
		case 'h': *is_help = true; return cli_help(c);
		case O_DOWNS: o->downs = true; break;
		case O_SCRATCH_URL: o->scratch_url = optarg; break;
		default: return CF_ERR_USAGE;
		}
	}
	if (optind < argc)
		return cli_usage(c, "unexpected argument \"%s\"", argv[optind]);
	/* A database given with -e (or -d) is read for its checksums, nothing else. */
	o->checksums = c->env || c->database_url;
	return CF_OK;
}

/* ---- text -------------------------------------------------------------------------- */

static void text_error(const cf_error_item *e)
{
	if (e->file && e->line > 0)
		printf("      %s:%d:%d: %s\n", e->file, e->line, e->column, e->message);
	else if (e->file)
		printf("      %s: %s\n", e->file, e->message);
	else
		printf("      %s\n", e->message);
}

static void text_result(cli *c, const cf_check_result *r, bool failed)
{
	for (size_t i = 0; i < r->n_steps; i++) {
		const cf_check_step *s = &r->steps[i];
		bool failed = strcmp(s->status, "failed") == 0;
		printf("%s%-7s%s %-9s %s: %s\n", cli_color(c, failed ? "error" : "ok"),
		       failed ? "FAILED" : s->status, cli_color(c, "reset"), s->name, s->title,
		       s->message);
		for (size_t e = 0; e < s->n_errors; e++)
			text_error(&s->errors[e]);
	}
	if (r->lint && r->lint->n_findings) {
		/* Warnings and notes too: they do not fail the step, but are worth a look. */
		cli_finding *v = cli_lint_findings(r->lint);
		printf("\nlint:\n");
		fflush(stdout);
		cli_findings_text(stdout, v, r->lint->n_findings, c->has_color);
		free(v);
	}
	for (size_t i = 0; i < r->n_steps; i++)
		if (r->steps[i].sql)
			printf("\n-- drift: the SQL that brings the migrations to db/schema, for a new "
			       "migration:\n%s", r->steps[i].sql);
	for (size_t i = 0; i < r->n_migrations; i++)
		if (r->migrations[i].sql)
			printf("\n-- %s_%s: what its down leaves different:\n%s", r->migrations[i].version,
			       r->migrations[i].name, r->migrations[i].sql);
	if (!failed) /* else the error on stderr says what stopped it */
		printf("\n%s (%.2f s)\n", r->message, r->duration_s);
}

/* ---- json ------------------------------------------------------------------------------ */

static void json_result(cli *c, const cf_check_result *r, cf_status st)
{
	bool failed = st && st != CF_ERR_CHECK;
	cf_buf b;
	cf_json j;
	cli_json_begin(c, &j, &b, !failed);
	cf_json_kv_str(&j, "message", r->message);
	cf_json_kv_str(&j, "scratch", r->scratch);
	cf_json_kv_int(&j, "failed_count", (long long)r->n_failed);
	cf_json_key(&j, "steps");
	cf_json_arr_begin(&j);
	for (size_t i = 0; i < r->n_steps; i++) {
		const cf_check_step *s = &r->steps[i];
		cf_json_obj_begin(&j);
		cf_json_kv_str(&j, "name", s->name);
		cf_json_kv_str(&j, "title", s->title);
		cf_json_kv_str(&j, "status", s->status);
		cf_json_kv_str(&j, "message", s->message);
		cf_json_kv_num(&j, "duration_s", s->duration_s);
		cf_json_kv_str(&j, "sql", s->sql);
		cli_json_error_items(&j, "errors", s->errors, s->n_errors);
		cf_json_obj_end(&j);
	}
	cf_json_arr_end(&j);
	cf_json_key(&j, "migrations");
	cf_json_arr_begin(&j);
	for (size_t i = 0; i < r->n_migrations; i++) {
		const cf_check_migration *m = &r->migrations[i];
		cf_json_obj_begin(&j);
		cf_json_kv_str(&j, "version", m->version);
		cf_json_kv_str(&j, "name", m->name);
		cf_json_kv_str(&j, "file", m->file);
		cf_json_kv_str(&j, "down_file", m->down_file);
		cf_json_kv_str(&j, "replay", m->replay);
		cf_json_kv_str(&j, "down", m->down);
		cf_json_kv_str(&j, "message", m->message);
		cf_json_kv_str(&j, "sql", m->sql);
		cf_json_kv_num(&j, "duration_s", m->duration_s);
		cf_json_obj_end(&j);
	}
	cf_json_arr_end(&j);
	cf_json_key(&j, "lint");
	if (r->lint) {
		cli_finding *v = cli_lint_findings(r->lint);
		cli_findings_json(&j, v, r->lint->n_findings);
		free(v);
	} else {
		cf_json_null(&j);
	}
	cli_json_end(c, &j, &b);
}

/* ---- github, sarif: the shared finding writers --------------------------------------- */

/* Each failure of a step as a finding (rule: the step's name), then lint's own
 * findings. Strings are borrowed from R; the caller frees the array. */
static cli_finding *check_findings(const cf_check_result *r, size_t *n)
{
	size_t cap = 1 + (r->lint ? r->lint->n_findings : 0);
	for (size_t i = 0; i < r->n_steps; i++)
		cap += r->steps[i].n_errors;
	cli_finding *v = cf_calloc(cap, sizeof(*v));
	*n = 0;
	for (size_t i = 0; i < r->n_steps; i++) {
		const cf_check_step *s = &r->steps[i];
		if (strcmp(s->name, "lint") == 0)
			continue; /* its errors are lint's findings, below */
		for (size_t e = 0; e < s->n_errors; e++) {
			const cf_error_item *it = &s->errors[e];
			v[(*n)++] = (cli_finding){.file = it->file, .line = it->line > 0 ? it->line : 0,
			                          .column = it->column > 0 ? it->column : 0,
			                          .severity = CLI_SEV_ERROR, .rule = s->name,
			                          .message = it->message, .help = it->hint,
			                          .statement = strcmp(s->name, "drift") == 0 ? s->sql : NULL};
		}
	}
	if (r->lint && r->lint->n_findings) {
		cli_finding *lint = cli_lint_findings(r->lint);
		memcpy(v + *n, lint, r->lint->n_findings * sizeof(*v));
		*n += r->lint->n_findings;
		free(lint);
	}
	return v;
}

static void sarif_result(const cf_check_result *r, const cli_finding *v, size_t n)
{
	size_t n_lint = 0;
	cli_rule_info *lint = cli_lint_rule_infos(&n_lint);
	cli_rule_info *rules = cf_calloc(r->n_steps + n_lint + 1, sizeof(*rules));
	size_t k = 0;
	for (size_t i = 0; i < r->n_steps; i++)
		if (strcmp(r->steps[i].name, "lint") != 0)
			rules[k++] = (cli_rule_info){r->steps[i].name, r->steps[i].title, NULL,
			                             CLI_SEV_ERROR};
	memcpy(rules + k, lint, n_lint * sizeof(*rules));
	cli_tool_info tool = {"confiture", CONFITURE_VERSION, NULL, rules, k + n_lint};
	cli_findings_sarif(stdout, &tool, v, n);
	free(rules);
	free(lint);
}

/* ---- junit ----------------------------------------------------------------------------- */

static void xml(const char *s)
{
	for (const char *p = s ? s : ""; *p; p++) {
		switch (*p) {
		case '&': fputs("&amp;", stdout); break;
		case '<': fputs("&lt;", stdout); break;
		case '>': fputs("&gt;", stdout); break;
		case '"': fputs("&quot;", stdout); break;
		default:
			if ((unsigned char)*p < 0x20 && *p != '\n' && *p != '\t')
				putchar(' ');
			else
				putchar(*p);
		}
	}
}

static void junit_case(const char *classname, const char *name, double time,
                       const char *status, const char *message, const char *body)
{
	printf("    <testcase classname=\"%s\" name=\"", classname);
	xml(name);
	printf("\" time=\"%.3f\"", time);
	if (strcmp(status, "passed") == 0) {
		printf("/>\n");
		return;
	}
	bool skipped = strcmp(status, "skipped") == 0;
	printf(">\n      <%s message=\"", skipped ? "skipped" : "failure");
	xml(message);
	if (skipped) {
		printf("\"/>\n    </testcase>\n");
		return;
	}
	printf("\" type=\"%s\">", status);
	xml(body);
	printf("</failure>\n    </testcase>\n");
}

static char *step_body(const cf_check_step *s)
{
	cf_buf b;
	cf_buf_init(&b);
	for (size_t i = 0; i < s->n_errors; i++) {
		const cf_error_item *e = &s->errors[i];
		if (e->file && e->line > 0)
			cf_buf_printf(&b, "%s:%d:%d: ", e->file, e->line, e->column);
		else if (e->file)
			cf_buf_printf(&b, "%s: ", e->file);
		cf_buf_printf(&b, "%s\n", e->message);
	}
	if (s->sql)
		cf_buf_puts(&b, s->sql);
	return cf_buf_detach(&b);
}

static size_t count(const cf_check_result *r, const char *status, bool downs)
{
	size_t n = 0;
	for (size_t i = 0; i < r->n_migrations; i++) {
		n += strcmp(r->migrations[i].replay, status) == 0;
		if (downs)
			n += strcmp(r->migrations[i].down, status) == 0 ||
			     (strcmp(status, "failed") == 0 && strcmp(r->migrations[i].down, "missing") == 0);
	}
	return n;
}

static void junit_result(const cf_check_result *r)
{
	bool downs = false;
	size_t failed_steps = 0, skipped_steps = 0;
	for (size_t i = 0; i < r->n_steps; i++) {
		downs |= strcmp(r->steps[i].name, "downs") == 0;
		failed_steps += strcmp(r->steps[i].status, "failed") == 0;
		skipped_steps += strcmp(r->steps[i].status, "skipped") == 0;
	}
	size_t n_mig = r->n_migrations * (downs ? 2 : 1);
	printf("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
	printf("<testsuites name=\"confiture check\" tests=\"%zu\" failures=\"%zu\" time=\"%.3f\">\n",
	       r->n_steps + n_mig, failed_steps + count(r, "failed", downs), r->duration_s);
	printf("  <testsuite name=\"confiture.check\" tests=\"%zu\" failures=\"%zu\" skipped=\"%zu\">\n",
	       r->n_steps, failed_steps, skipped_steps);
	for (size_t i = 0; i < r->n_steps; i++) {
		const cf_check_step *s = &r->steps[i];
		char *name = cf_asprintf("%s: %s", s->name, s->title), *body = step_body(s);
		junit_case("confiture.check", name, s->duration_s, s->status, s->message, body);
		free(name);
		free(body);
	}
	printf("  </testsuite>\n");
	printf("  <testsuite name=\"confiture.check.migrations\" tests=\"%zu\" failures=\"%zu\" "
	       "skipped=\"%zu\">\n", n_mig, count(r, "failed", downs), count(r, "skipped", downs));
	for (size_t i = 0; i < r->n_migrations; i++) {
		const cf_check_migration *m = &r->migrations[i];
		char *name = cf_asprintf("%s_%s: replay", m->version, m->name);
		junit_case("confiture.check.migrations", name, m->duration_s, m->replay,
		           m->message ? m->message : "not replayed", m->message);
		free(name);
		if (!downs)
			continue;
		name = cf_asprintf("%s_%s: down", m->version, m->name);
		const char *status = strcmp(m->down, "missing") == 0 ? "missing" : m->down;
		junit_case("confiture.check.migrations", name, 0, status,
		           m->message ? m->message : "not checked", m->sql ? m->sql : m->message);
		free(name);
	}
	printf("  </testsuite>\n</testsuites>\n");
}

cf_status cmd_check(cli *c, int argc, char **argv)
{
	cf_check_opts o = {0};
	bool is_help = false;
	cf_status st = parse(c, argc, argv, &o, &is_help);
	if (st || is_help)
		return st;
	st = cli_load(c);
	if (st)
		return st;
	cf_check_result *r = NULL;
	st = cf_check(c->ctx, &o, &r);
	bool failed = st && st != CF_ERR_CHECK;
	if (c->format == CLI_JSON)
		json_result(c, r, st);
	else if (c->format == CLI_JUNIT)
		junit_result(r);
	else if (!failed && (c->format == CLI_GITHUB || c->format == CLI_SARIF)) {
		size_t n;
		cli_finding *v = check_findings(r, &n);
		if (c->format == CLI_GITHUB)
			cli_findings_github(stdout, v, n);
		else
			sarif_result(r, v, n);
		free(v);
	}
	else if (!failed || r->n_steps)
		text_result(c, r, failed);
	cf_check_result_free(r);
	return st;
}
