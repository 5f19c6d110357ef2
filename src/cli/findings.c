/*
 * findings.c -- writers for findings: text, JSON, SARIF 2.1.0, GitHub.
 */
#include "findings.h"
#include "buf.h"

#include <stdlib.h>
#include <string.h>

const char *cli_severity_name(cli_severity s)
{
	switch (s) {
	case CLI_SEV_ERROR: return "error";
	case CLI_SEV_WARNING: return "warning";
	case CLI_SEV_INFO: return "info";
	}
	return "warning";
}

bool cli_severity_parse(const char *text, cli_severity *out)
{
	if (strcmp(text, "error") == 0)
		*out = CLI_SEV_ERROR;
	else if (strcmp(text, "warning") == 0)
		*out = CLI_SEV_WARNING;
	else if (strcmp(text, "info") == 0 || strcmp(text, "note") == 0 ||
	         strcmp(text, "notice") == 0)
		*out = CLI_SEV_INFO;
	else
		return false;
	return true;
}

/* ---- Text ------------------------------------------------------------------ */

static const char *sev_color(cli_severity s)
{
	return s == CLI_SEV_ERROR ? "\033[1;31m" : s == CLI_SEV_WARNING ? "\033[1;33m" : "\033[36m";
}

/* The statement's lines, numbered from FIRST_LINE, under a gutter. */
static void text_statement(FILE *out, const char *stmt, int first_line)
{
	int width = 1;
	int last = first_line;
	for (const char *p = stmt; *p; p++)
		last += *p == '\n';
	for (int v = last; v >= 10; v /= 10)
		width++;
	int line = first_line;
	for (const char *p = stmt; p;) {
		const char *nl = strchr(p, '\n');
		int len = nl ? (int)(nl - p) : (int)strlen(p);
		if (len > 0 && p[len - 1] == '\r')
			len--;
		if (first_line > 0)
			fprintf(out, "  %*d | %.*s\n", width, line, len, p);
		else
			fprintf(out, "  | %.*s\n", len, p);
		line++;
		p = nl ? nl + 1 : NULL;
	}
}

void cli_findings_text(FILE *out, const cli_finding *v, size_t n, bool color)
{
	for (size_t i = 0; i < n; i++) {
		const cli_finding *f = &v[i];
		if (f->file && f->line > 0 && f->column > 0)
			fprintf(out, "%s:%d:%d: ", f->file, f->line, f->column);
		else if (f->file && f->line > 0)
			fprintf(out, "%s:%d: ", f->file, f->line);
		else if (f->file)
			fprintf(out, "%s: ", f->file);
		fprintf(out, "%s%s%s %s: %s\n", color ? sev_color(f->severity) : "",
		        cli_severity_name(f->severity), color ? "\033[0m" : "", f->rule, f->message);
		if (f->help)
			fprintf(out, "  help: %s\n", f->help);
		if (f->statement && *f->statement)
			text_statement(out, f->statement, f->line);
	}
}

/* ---- JSON ------------------------------------------------------------------ */

void cli_findings_json(cf_json *j, const cli_finding *v, size_t n)
{
	cf_json_arr_begin(j);
	for (size_t i = 0; i < n; i++) {
		const cli_finding *f = &v[i];
		cf_json_obj_begin(j);
		cf_json_kv_str(j, "file", f->file);
		cf_json_kv_count(j, "line", f->line > 0 ? f->line : -1);
		cf_json_kv_count(j, "column", f->column > 0 ? f->column : -1);
		cf_json_kv_count(j, "end_line", f->end_line > 0 ? f->end_line : -1);
		cf_json_kv_count(j, "end_column", f->end_column > 0 ? f->end_column : -1);
		cf_json_kv_str(j, "severity", cli_severity_name(f->severity));
		cf_json_kv_str(j, "rule", f->rule);
		cf_json_kv_str(j, "message", f->message);
		cf_json_kv_str(j, "help", f->help);
		cf_json_kv_str(j, "statement", f->statement);
		cf_json_kv_strs(j, "objects", (char *const *)f->objects, f->n_objects);
		cf_json_obj_end(j);
	}
	cf_json_arr_end(j);
}

/* ---- SARIF 2.1.0 ----------------------------------------------------------- */

static const char *sarif_level(cli_severity s)
{
	return s == CLI_SEV_ERROR ? "error" : s == CLI_SEV_WARNING ? "warning" : "note";
}

/* A relative path as a URI reference: unreserved characters and "/" stay. */
static char *uri_encode(const char *path)
{
	cf_buf b;
	cf_buf_init(&b);
	for (const unsigned char *p = (const unsigned char *)path; *p; p++) {
		bool keep = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		            (*p >= '0' && *p <= '9') || strchr("-._~/", *p);
		if (keep)
			cf_buf_putc(&b, (char)*p);
		else
			cf_buf_printf(&b, "%%%02X", *p);
	}
	char *out = cf_buf_detach(&b);
	return out;
}

static void sarif_text(cf_json *j, const char *key, const char *text)
{
	cf_json_key(j, key);
	cf_json_obj_begin(j);
	cf_json_kv_str(j, "text", text);
	cf_json_obj_end(j);
}

static void sarif_rules(cf_json *j, const cli_tool_info *tool)
{
	cf_json_key(j, "rules");
	cf_json_arr_begin(j);
	for (size_t i = 0; i < tool->n_rules; i++) {
		const cli_rule_info *r = &tool->rules[i];
		cf_json_obj_begin(j);
		cf_json_kv_str(j, "id", r->id);
		if (r->summary)
			sarif_text(j, "shortDescription", r->summary);
		if (r->help_uri)
			cf_json_kv_str(j, "helpUri", r->help_uri);
		cf_json_key(j, "defaultConfiguration");
		cf_json_obj_begin(j);
		cf_json_kv_str(j, "level", sarif_level(r->severity));
		cf_json_obj_end(j);
		cf_json_obj_end(j);
	}
	cf_json_arr_end(j);
}

static long rule_index(const cli_tool_info *tool, const char *id)
{
	for (size_t i = 0; i < tool->n_rules; i++)
		if (strcmp(tool->rules[i].id, id) == 0)
			return (long)i;
	return -1;
}

static void sarif_location(cf_json *j, const cli_finding *f)
{
	cf_json_key(j, "locations");
	cf_json_arr_begin(j);
	cf_json_obj_begin(j);
	cf_json_key(j, "physicalLocation");
	cf_json_obj_begin(j);
	cf_json_key(j, "artifactLocation");
	cf_json_obj_begin(j);
	char *uri = uri_encode(f->file);
	cf_json_kv_str(j, "uri", uri);
	free(uri);
	cf_json_obj_end(j);
	if (f->line > 0) {
		cf_json_key(j, "region");
		cf_json_obj_begin(j);
		cf_json_kv_int(j, "startLine", f->line);
		if (f->column > 0)
			cf_json_kv_int(j, "startColumn", f->column);
		if (f->end_line >= f->line && f->end_line > 0)
			cf_json_kv_int(j, "endLine", f->end_line);
		if (f->end_column > 0 && f->end_line > 0)
			cf_json_kv_int(j, "endColumn", f->end_column);
		if (f->statement && *f->statement)
			sarif_text(j, "snippet", f->statement);
		cf_json_obj_end(j);
	}
	cf_json_obj_end(j);
	cf_json_obj_end(j);
	cf_json_arr_end(j);
}

static void sarif_result(cf_json *j, const cli_tool_info *tool, const cli_finding *f)
{
	cf_json_obj_begin(j);
	cf_json_kv_str(j, "ruleId", f->rule);
	long idx = rule_index(tool, f->rule);
	if (idx >= 0)
		cf_json_kv_int(j, "ruleIndex", idx);
	cf_json_kv_str(j, "level", sarif_level(f->severity));
	char *text = f->help ? cf_asprintf("%s\n%s", f->message, f->help) : NULL;
	cf_json_key(j, "message");
	cf_json_obj_begin(j);
	cf_json_kv_str(j, "text", text ? text : f->message);
	cf_json_obj_end(j);
	free(text);
	if (f->file)
		sarif_location(j, f);
	if (f->n_objects) {
		cf_json_key(j, "properties");
		cf_json_obj_begin(j);
		cf_json_kv_strs(j, "objects", (char *const *)f->objects, f->n_objects);
		cf_json_obj_end(j);
	}
	cf_json_obj_end(j);
}

void cli_findings_sarif(FILE *out, const cli_tool_info *tool, const cli_finding *v, size_t n)
{
	cf_buf b;
	cf_buf_init(&b);
	cf_json j;
	cf_json_init(&j, &b, false);
	cf_json_obj_begin(&j);
	cf_json_kv_str(&j, "$schema", "https://json.schemastore.org/sarif-2.1.0.json");
	cf_json_kv_str(&j, "version", "2.1.0");
	cf_json_key(&j, "runs");
	cf_json_arr_begin(&j);
	cf_json_obj_begin(&j);
	cf_json_key(&j, "tool");
	cf_json_obj_begin(&j);
	cf_json_key(&j, "driver");
	cf_json_obj_begin(&j);
	cf_json_kv_str(&j, "name", tool->name);
	if (tool->version)
		cf_json_kv_str(&j, "version", tool->version);
	if (tool->info_uri)
		cf_json_kv_str(&j, "informationUri", tool->info_uri);
	sarif_rules(&j, tool);
	cf_json_obj_end(&j);
	cf_json_obj_end(&j);
	cf_json_key(&j, "results");
	cf_json_arr_begin(&j);
	for (size_t i = 0; i < n; i++)
		sarif_result(&j, tool, &v[i]);
	cf_json_arr_end(&j);
	cf_json_obj_end(&j);
	cf_json_arr_end(&j);
	cf_json_obj_end(&j);
	fputs(b.data, out);
	fputc('\n', out);
	cf_buf_release(&b);
}

/* ---- GitHub workflow commands ----------------------------------------------- */

/* Escapes a workflow command's message (DATA) or property value (PROP). */
static void gh_escape(FILE *out, const char *s, bool prop)
{
	for (; s && *s; s++) {
		if (*s == '%')
			fputs("%25", out);
		else if (*s == '\r')
			fputs("%0D", out);
		else if (*s == '\n')
			fputs("%0A", out);
		else if (prop && *s == ':')
			fputs("%3A", out);
		else if (prop && *s == ',')
			fputs("%2C", out);
		else
			fputc(*s, out);
	}
}

void cli_findings_github(FILE *out, const cli_finding *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const cli_finding *f = &v[i];
		const char *cmd = f->severity == CLI_SEV_ERROR     ? "error"
		                  : f->severity == CLI_SEV_WARNING ? "warning"
		                                                   : "notice";
		fprintf(out, "::%s ", cmd);
		bool comma = false;
		if (f->file) {
			fputs("file=", out);
			gh_escape(out, f->file, true);
			comma = true;
		}
		if (f->line > 0) {
			fprintf(out, "%sline=%d", comma ? "," : "", f->line);
			comma = true;
			if (f->column > 0)
				fprintf(out, ",col=%d", f->column);
			if (f->end_line > 0)
				fprintf(out, ",endLine=%d", f->end_line);
			if (f->end_line == f->line && f->end_column > 0)
				fprintf(out, ",endColumn=%d", f->end_column);
		}
		fprintf(out, "%stitle=", comma ? "," : "");
		gh_escape(out, f->rule, true);
		fputs("::", out);
		gh_escape(out, f->message, false);
		if (f->help) {
			fputs("%0A", out); /* a second line of the same annotation */
			gh_escape(out, f->help, false);
		}
		fputc('\n', out);
	}
}
