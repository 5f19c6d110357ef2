/* output.c -- logging, progress, errors and JSON documents of the binary. */
#include "cli.h"
#include "dbref.h"

#include <stdlib.h>
#include <string.h>

const char *cli_color(const cli *c, const char *what)
{
	if (!c->has_color)
		return "";
	if (strcmp(what, "error") == 0)
		return "\033[1;31m";
	if (strcmp(what, "warn") == 0)
		return "\033[1;33m";
	if (strcmp(what, "ok") == 0)
		return "\033[32m";
	if (strcmp(what, "hint") == 0)
		return "\033[36m";
	if (strcmp(what, "dim") == 0)
		return "\033[2m";
	return "\033[0m";
}

/* Prints each line of TEXT as "confiture: LABEL: line". */
static void print_lines(cli *c, const char *label, const char *color, const char *text)
{
	const char *p = text;
	while (p) {
		const char *nl = strchr(p, '\n');
		int n = nl ? (int)(nl - p) : (int)strlen(p);
		fprintf(stderr, "confiture: %s%s:%s %.*s\n", color, label,
		        *color ? cli_color(c, "reset") : "", n, p);
		p = nl ? nl + 1 : NULL;
	}
}

static void add_warning(cli *c, const char *msg);

void cli_logger(void *ud, cf_log_level level, const char *msg)
{
	cli *c = ud;
	if ((level == CF_LOG_DEBUG && !c->is_verbose) || (level == CF_LOG_INFO && c->is_quiet))
		return;
	cli_progress_clear(c);
	switch (level) {
	case CF_LOG_ERROR:
		print_lines(c, "error", cli_color(c, "error"), msg);
		break;
	case CF_LOG_WARNING:
		add_warning(c, msg);
		print_lines(c, "warning", cli_color(c, "warn"), msg);
		break;
	case CF_LOG_INFO:
		fprintf(stderr, "confiture: %s\n", msg);
		break;
	case CF_LOG_DEBUG:
		fprintf(stderr, "confiture: %sdebug: %s%s\n", cli_color(c, "dim"), msg,
		        cli_color(c, "reset"));
		break;
	}
}

void cli_set_target(cli *c, const char *url, const char *env, bool is_protected)
{
	cf_str_set(&c->target_url, url);
	cf_str_set(&c->target_env, env);
	c->target_protected = is_protected;
}

cf_status cli_target(cli *c, const char *ref)
{
	cf_target_desc d;
	cf_status st = cf_target_describe(c->ctx, ref, &d);
	if (st)
		return st;
	cli_set_target(c, d.where, d.env, d.is_protected);
	/* JSON carries it in the envelope, and keeps stderr quiet. */
	if (!c->is_quiet && c->format != CLI_JSON) {
		cli_progress_clear(c);
		if (d.env)
			fprintf(stderr, "confiture: target: %s (env %s%s)\n", d.where, d.env,
			        d.is_protected ? ", protected" : "");
		else
			fprintf(stderr, "confiture: target: %s\n", d.where);
	}
	cf_target_desc_release(&d);
	return CF_OK;
}

void cli_json_begin(cli *c, cf_json *j, cf_buf *b, bool ok)
{
	(void)ok;
	cf_buf_init(b);
	cf_json_init(j, b, false);
	j->owner = c;
	cf_json_obj_begin(j);
}

void cli_json_end(cli *c, cf_json *j, cf_buf *b)
{
	(void)j;
	/* The members stay open ("{..."): the envelope is put around them later. */
	cf_buf_release(&c->doc);
	c->doc = *b;
	/* Empty, not re-initialized: callers do not release B after this. */
	*b = (cf_buf){0};
	c->has_output = true;
}

/* One error as a JSON object: the envelope's "error", or an item of "errors". */
static void json_error_object(cf_json *j, cf_status code, const char *message, const char *detail,
                              const char *hint, const char *context, const char *file, int line,
                              int column, const char *sqlstate)
{
	cf_json_obj_begin(j);
	cf_json_kv_int(j, "code", cli_exit_code(code));
	cf_json_kv_str(j, "status", cf_status_name(code));
	cf_json_kv_str(j, "message", message);
	cf_json_kv_str(j, "detail", detail);
	cf_json_kv_str(j, "hint", hint);
	cf_json_kv_str(j, "context", context);
	cf_json_kv_str(j, "file", file);
	cf_json_kv_count(j, "line", line > 0 ? line : -1);
	cf_json_kv_count(j, "column", column > 0 ? column : -1);
	cf_json_kv_str(j, "sqlstate", sqlstate);
	cf_json_obj_end(j);
}

void cli_json_error_member(cli *c, cf_json *j, cf_status st)
{
	(void)c;
	(void)j;
	(void)st;
}

void cli_json_error_value(cli *c, cf_json *j, cf_status st)
{
	const cf_error_info *e = cf_last_error_info(c->ctx);
	if (e)
		json_error_object(j, st, e->message, e->detail, e->hint, e->context, e->file, e->line,
		                  e->column, e->sqlstate);
	else
		json_error_object(j, st, cf_status_name(st), NULL, NULL, NULL, NULL, 0, 0, NULL);
}

void cli_json_error_items(cf_json *j, const char *key, const cf_error_item *v, size_t n)
{
	cf_json_key(j, key);
	cf_json_arr_begin(j);
	for (size_t i = 0; i < n; i++)
		json_error_object(j, v[i].code, v[i].message, v[i].detail, v[i].hint, NULL, v[i].file,
		                  v[i].line, v[i].column, v[i].sqlstate);
	cf_json_arr_end(j);
}

void cli_json_errors(cf_json *j, const cf_error_item *v, size_t n)
{
	cli *c = j->owner;
	cf_json e;
	cf_json_init(&e, &c->doc_errors, false);
	/* Items after the ones already given: a comma is needed between calls. */
	e.depth = 1;
	e.need_comma[1] = c->doc_errors.len > 0;
	for (size_t i = 0; i < n; i++)
		json_error_object(&e, v[i].code, v[i].message, v[i].detail, v[i].hint, NULL, v[i].file,
		                  v[i].line, v[i].column, v[i].sqlstate);
	c->has_doc_errors = true;
}

static void add_warning(cli *c, const char *msg)
{
	if (!cf_strv_contains(&c->warnings, msg))
		cf_strv_push(&c->warnings, msg);
}

void cli_json_warnings(cf_json *j, char *const *v, size_t n)
{
	cli *c = j->owner;
	for (size_t i = 0; i < n; i++)
		add_warning(c, v[i]);
}

static void json_target(cli *c, cf_json *j)
{
	cf_json_key(j, "target");
	if (!c->target_url && !c->target_env) {
		cf_json_null(j);
		return;
	}
	cf_json_obj_begin(j);
	cf_json_kv_str(j, "url", c->target_url);
	cf_json_kv_str(j, "env", c->target_env);
	cf_json_kv_bool(j, "protected", c->target_protected);
	cf_json_obj_end(j);
}

/* "error" and "errors": the recorded error of a failure, the result's list. */
static void json_errors(cli *c, cf_json *j, cf_status st)
{
	const cf_error_info *e = st ? cf_last_error_info(c->ctx) : NULL;
	cf_json_key(j, "error");
	if (e)
		json_error_object(j, st, e->message, e->detail, e->hint, e->context, e->file, e->line,
		                  e->column, e->sqlstate);
	else
		cf_json_null(j);
	cf_json_key(j, "errors");
	if (c->doc_errors.len) {
		cf_json_raw(j, "[");
		cf_buf_puts(j->out, c->doc_errors.data);
		cf_buf_putc(j->out, ']');
	} else {
		cf_json_arr_begin(j);
		if (e)
			json_error_object(j, st, e->message, e->detail, e->hint, e->context, e->file,
			                  e->line, e->column, e->sqlstate);
		cf_json_arr_end(j);
	}
}

bool cli_wants_json(const cli *c)
{
	return c->format == CLI_JSON || c->events;
}

void cli_json_envelope(cli *c, cf_status st, cf_buf *out)
{
	cf_buf b = *out;
	cf_json j;
	cf_json_init(&j, &b, false);
	cf_json_obj_begin(&j);
	cf_json_kv_str(&j, "command", c->command);
	cf_json_kv_str(&j, "action", c->action);
	cf_json_kv_bool(&j, "success", st == CF_OK);
	/* ok (from 0.1): no error; a finding such as a pending migration is none. */
	cf_json_kv_bool(&j, "ok", st == CF_OK || !cf_last_error_info(c->ctx));
	cf_json_kv_int(&j, "exit_code", cli_exit_code(st));
	cf_json_kv_num(&j, "duration_s", cf_now() - c->started_at);
	json_target(c, &j);
	if (c->doc.len > 1) {
		/* The command's members, without their opening brace. */
		cf_buf_putc(&b, ',');
		cf_buf_puts(&b, c->doc.data + 1);
	}
	json_errors(c, &j, st);
	cf_json_key(&j, "warnings");
	cf_json_arr_begin(&j);
	for (size_t i = 0; i < c->warnings.n; i++)
		cf_json_str(&j, c->warnings.v[i]);
	cf_json_arr_end(&j);
	cf_json_obj_end(&j);
	*out = b;
}

void cli_json_emit(cli *c, cf_status st)
{
	if (!c->has_output && !st)
		return; /* no document (help text): nothing to wrap */
	cf_buf b;
	cf_buf_init(&b);
	cli_json_envelope(c, st, &b);
	fputs(b.data, stdout);
	fputc('\n', stdout);
	cf_buf_release(&b);
}

void cli_print_error(cli *c, cf_status st)
{
	(void)st;
	const cf_error_info *e = cf_last_error_info(c->ctx);
	if (!e)
		return;
	cli_progress_clear(c);
	if (c->format == CLI_JSON)
		return; /* the envelope carries it (cli_json_emit) */
	char *where = NULL;
	if (e->file && e->line > 0 && e->column > 0)
		where = cf_asprintf("%s:%d:%d: ", e->file, e->line, e->column);
	else if (e->file && e->line > 0)
		where = cf_asprintf("%s:%d: ", e->file, e->line);
	else if (e->file)
		where = cf_asprintf("%s: ", e->file);
	char *msg = cf_asprintf("%s%s", where ? where : "", e->message);
	print_lines(c, "error", cli_color(c, "error"), msg);
	if (e->detail)
		print_lines(c, "detail", "", e->detail);
	if (e->hint)
		print_lines(c, "hint", cli_color(c, "hint"), e->hint);
	if (e->context)
		print_lines(c, "context", "", e->context);
	if (e->sqlstate)
		print_lines(c, "sqlstate", "", e->sqlstate);
	free(msg);
	free(where);
}

void cli_csv_field(FILE *f, const char *s, bool last)
{
	s = s ? s : "";
	if (strpbrk(s, ",\"\n\r")) {
		fputc('"', f);
		for (const char *p = s; *p; p++) {
			if (*p == '"')
				fputc('"', f);
			fputc(*p, f);
		}
		fputc('"', f);
	} else {
		fputs(s, f);
	}
	fputc(last ? '\n' : ',', f);
}
