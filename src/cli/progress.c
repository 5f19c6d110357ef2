/*
 * progress.c -- showing the library's progress reports to people.
 *
 * On a terminal: a block of bars redrawn in place, one per open item and one
 * for the run (totals, percent, rate, ETA, phase), cleared before any log
 * line. Off a terminal: plain lines, one per finished table and one at least
 * every CONFITURE_PROGRESS_INTERVAL seconds (default 10) while work goes on.
 * Nothing with -q, nor off a terminal with -f json. The reports also feed --events (events.c).
 */
#include "cli.h"

#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define MAX_BARS 8
#define REDRAW_S 0.1
#define BAR_WIDTH 16

typedef struct bar {
	char *name;
	char *phase;
	cf_progress p;           /* its last report (strings cleared) */
} bar;

struct cli_bars {
	bool is_tty;
	int lines;               /* lines of the block on screen */
	double last_draw, last_line, interval;
	cf_progress run;         /* the last report (strings cleared) */
	char *medium, *unit, *item_kind, *phase;
	bar bars[MAX_BARS];
	int n_bars;
};

/* ---- Formatting -------------------------------------------------------------------- */

static void human(char *out, size_t n, double v)
{
	if (v >= 1e9)
		snprintf(out, n, "%.1fG", v / 1e9);
	else if (v >= 1e6)
		snprintf(out, n, "%.1fM", v / 1e6);
	else if (v >= 1e4)
		snprintf(out, n, "%.0fk", v / 1e3);
	else
		snprintf(out, n, "%.0f", v);
}

static void duration(char *out, size_t n, double s)
{
	if (s >= 3600)
		snprintf(out, n, "%dh%02dm", (int)(s / 3600), (int)(s / 60) % 60);
	else if (s >= 60)
		snprintf(out, n, "%dm%02ds", (int)(s / 60), (int)s % 60);
	else if (s >= 10)
		snprintf(out, n, "%.0fs", s);
	else
		snprintf(out, n, "%.1fs", s);
}

static void eta_text(char *out, size_t n, double s)
{
	if (s < 1)
		snprintf(out, n, "<1s");
	else
		duration(out, n, s);
}

/* "40%  400k/1.0M rows  120k rows/s  ETA 5s" for done/total/rate/eta. */
static void counts(cf_buf *b, long long done, long long total, const char *unit, double rate,
                   double eta)
{
	char d[16], t[16], r[16], e[16];
	human(d, sizeof(d), (double)done);
	if (total >= 0) {
		human(t, sizeof(t), (double)total);
		cf_buf_printf(b, "  %s/%s %s", d, t, unit);
	} else {
		cf_buf_printf(b, "  %s %s", d, unit);
	}
	if (rate > 0) {
		human(r, sizeof(r), rate);
		cf_buf_printf(b, "  %s %s/s", r, unit);
	}
	if (eta >= 0) {
		eta_text(e, sizeof(e), eta);
		cf_buf_printf(b, "  ETA %s", e);
	}
}

static void bar_graph(cf_buf *b, double percent)
{
	cf_buf_puts(b, " [");
	int fill = percent < 0 ? 0 : (int)(percent * BAR_WIDTH / 100.0 + 0.5);
	for (int i = 0; i < BAR_WIDTH; i++)
		cf_buf_putc(b, i < fill ? '#' : percent < 0 ? ' ' : '-');
	if (percent < 0)
		cf_buf_puts(b, "]     ");
	else
		cf_buf_printf(b, "] %3d%%", (int)percent);
}

/* An item's line: name, bar, its units, rate, ETA (or its phase). */
static void item_line(cf_buf *b, const struct cli_bars *s, const bar *it)
{
	const cf_progress *p = &it->p;
	cf_buf_printf(b, "  %-24s", it->name);
	if (it->phase) {
		char e[16];
		duration(e, sizeof(e), p->item_elapsed_s);
		cf_buf_printf(b, " %s  %s", it->phase, e);
		return;
	}
	bar_graph(b, p->item_percent);
	counts(b, p->item_done, p->item_total, s->unit ? s->unit : "", p->item_rate, p->item_eta_s);
}

/* The run's line: medium, bar, items, units, rate, ETA, phase. */
static void run_line(cf_buf *b, const struct cli_bars *s)
{
	const cf_progress *p = &s->run;
	cf_buf_printf(b, "%s", s->medium ? s->medium : "");
	if (s->phase) {
		cf_buf_printf(b, " %s", s->phase);
		if (p->phase_total > 0)
			cf_buf_printf(b, " %ld/%ld", p->phase_done, p->phase_total);
	}
	bar_graph(b, p->percent);
	if (p->total >= 0)
		cf_buf_printf(b, "  %ld/%ld %ss", p->done, p->total, s->item_kind ? s->item_kind : "item");
	bool same = s->unit && s->item_kind && strncmp(s->unit, s->item_kind, strlen(s->item_kind)) == 0;
	if (!same && p->units_total != 0)
		counts(b, p->units_done, p->units_total, s->unit ? s->unit : "", p->rate, p->eta_s);
	else if (p->eta_s >= 0) {
		char e[16];
		eta_text(e, sizeof(e), p->eta_s);
		cf_buf_printf(b, "  ETA %s", e);
	}
	if (p->run_rows > 0 && s->unit && strcmp(s->unit, "rows") != 0 && p->rows_per_s > 0) {
		char r[16], n[16];
		human(n, sizeof(n), (double)p->run_rows);
		human(r, sizeof(r), p->rows_per_s);
		cf_buf_printf(b, "  %s rows (%s rows/s)", n, r);
	}
	char e[16];
	duration(e, sizeof(e), p->elapsed_s);
	cf_buf_printf(b, "  %s", e);
}

/* ---- Terminal block ------------------------------------------------------------------ */

static int term_cols(void)
{
	struct winsize ws;
	if (ioctl(2, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 20)
		return ws.ws_col;
	return 80;
}

/* Cuts LINE to COLS - 1 columns (a wrapped line would break the redraw),
 * never inside a UTF-8 sequence. */
static void fit(cf_buf *line, int cols)
{
	size_t max = (size_t)cols - 1, w = 0, i = 0;
	for (; i < line->len; i++) {
		if (((unsigned char)line->data[i] & 0xC0) != 0x80 && ++w > max)
			break;
	}
	line->len = i;
	line->data[i] = '\0';
}

void cli_progress_clear(cli *c)
{
	struct cli_bars *s = c->bars;
	if (!s || !s->lines)
		return;
	if (s->lines > 1)
		fprintf(stderr, "\033[%dA", s->lines - 1);
	fputs("\r\033[J", stderr);
	fflush(stderr);
	s->lines = 0;
	c->progress_open = false;
}

static void draw(cli *c)
{
	struct cli_bars *s = c->bars;
	int cols = term_cols();
	cf_buf out, line;
	cf_buf_init(&out);
	cf_buf_init(&line);
	int n = 0;
	for (int i = 0; i < s->n_bars; i++, n++) {
		cf_buf_reset(&line);
		item_line(&line, s, &s->bars[i]);
		fit(&line, cols);
		cf_buf_printf(&out, "%s\n", line.data);
	}
	cf_buf_reset(&line);
	run_line(&line, s);
	fit(&line, cols);
	cf_buf_puts(&out, line.data);
	n++;
	cli_progress_clear(c);
	fputs(out.data, stderr);
	fflush(stderr);
	s->lines = n;
	c->progress_open = true;
	cf_buf_release(&out);
	cf_buf_release(&line);
}

/* ---- State ---------------------------------------------------------------------------- */

static bar *find_bar(struct cli_bars *s, const char *name, bool create)
{
	for (int i = 0; i < s->n_bars; i++)
		if (strcmp(s->bars[i].name, name) == 0)
			return &s->bars[i];
	if (!create || s->n_bars == MAX_BARS)
		return NULL;
	bar *b = &s->bars[s->n_bars++];
	*b = (bar){.name = cf_strdup(name)};
	return b;
}

static void drop_bar(struct cli_bars *s, const char *name)
{
	bar *b = find_bar(s, name, false);
	if (!b)
		return;
	free(b->name);
	free(b->phase);
	*b = s->bars[--s->n_bars];
}

static void keep(struct cli_bars *s, const cf_progress *p)
{
	cf_str_set(&s->medium, p->medium);
	cf_str_set(&s->unit, p->unit);
	cf_str_set(&s->item_kind, p->item_kind);
	s->run = *p;
	s->run.item = s->run.phase = s->run.message = NULL;
	s->run.medium = s->run.unit = s->run.item_kind = s->run.run_id = NULL;
	if (p->kind == CF_PROGRESS_PHASE && !p->item)
		cf_str_set(&s->phase, p->phase);
	if (!p->item)
		return;
	if (p->kind == CF_PROGRESS_ITEM_DONE || p->kind == CF_PROGRESS_ERROR) {
		drop_bar(s, p->item);
		return;
	}
	bar *b = find_bar(s, p->item, true);
	if (!b)
		return;
	b->p = *p;
	b->p.item = b->p.phase = b->p.message = NULL;
	b->p.medium = b->p.unit = b->p.item_kind = b->p.run_id = NULL;
	if (p->kind == CF_PROGRESS_PHASE)
		cf_str_set(&b->phase, p->phase);
}

static void bars_reset(struct cli_bars *s)
{
	while (s->n_bars)
		drop_bar(s, s->bars[0].name);
	free(s->medium);
	free(s->unit);
	free(s->item_kind);
	free(s->phase);
	s->medium = s->unit = s->item_kind = s->phase = NULL;
}

/* ---- Lines that stay -------------------------------------------------------------------- */

static bool is_table(const cf_progress *p)
{
	return p->item_kind && strcmp(p->item_kind, "table") == 0;
}

/* "sync: public.users: 1000 rows in 0.52s (1.9k rows/s); 3 of 8 tables, 37%, ETA 5s" */
static void table_done_line(cli *c, const cf_progress *p)
{
	cf_buf b;
	cf_buf_init(&b);
	char n[16], r[16], e[16];
	human(n, sizeof(n), (double)p->rows);
	duration(e, sizeof(e), p->item_elapsed_s);
	cf_buf_printf(&b, "%s: %s: %s rows", p->medium, p->item, n);
	if (p->unit && strcmp(p->unit, "rows") != 0)
		cf_buf_printf(&b, ", %lld %s", p->item_done, p->unit);
	cf_buf_printf(&b, " in %s", e);
	if (p->item_elapsed_s > 0 && p->rows > 0) {
		human(r, sizeof(r), (double)p->rows / p->item_elapsed_s);
		cf_buf_printf(&b, " (%s rows/s)", r);
	}
	cf_buf_printf(&b, "; %ld of %ld tables", p->done, p->total);
	if (p->percent >= 0)
		cf_buf_printf(&b, ", %d%%", (int)p->percent);
	if (p->eta_s >= 0) {
		eta_text(e, sizeof(e), p->eta_s);
		cf_buf_printf(&b, ", ETA %s", e);
	}
	cli_logger(c, CF_LOG_INFO, b.data);
	cf_buf_release(&b);
}

/* The run's state as one line, off a terminal. */
static void status_line(cli *c, const cf_progress *p)
{
	struct cli_bars *s = c->bars;
	cf_buf b;
	cf_buf_init(&b);
	cf_buf_printf(&b, "%s:", s->medium ? s->medium : c->command);
	if (s->phase)
		cf_buf_printf(&b, " %s", s->phase);
	if (p->phase_total > 0)
		cf_buf_printf(&b, " %ld/%ld", p->phase_done, p->phase_total);
	if (p->total >= 0)
		cf_buf_printf(&b, "; %ld of %ld %ss done", p->done, p->total,
		              s->item_kind ? s->item_kind : "item");
	if (p->units_total > 0)
		cf_buf_printf(&b, ", %lld of %lld %s", p->units_done, p->units_total, s->unit);
	if (p->percent >= 0)
		cf_buf_printf(&b, " (%d%%)", (int)p->percent);
	char r[16], e[16];
	if (p->rows_per_s > 0) {
		human(r, sizeof(r), p->rows_per_s);
		cf_buf_printf(&b, ", %s rows/s", r);
	}
	if (p->eta_s >= 0) {
		eta_text(e, sizeof(e), p->eta_s);
		cf_buf_printf(&b, ", ETA %s", e);
	}
	duration(e, sizeof(e), p->elapsed_s);
	cf_buf_printf(&b, ", %s elapsed", e);
	for (int i = 0; i < s->n_bars; i++) {
		const bar *it = &s->bars[i];
		cf_buf_printf(&b, "%s %s", i ? "," : ";", it->name);
		if (it->phase)
			cf_buf_printf(&b, " %s", it->phase);
		else if (it->p.item_percent >= 0)
			cf_buf_printf(&b, " %d%%", (int)it->p.item_percent);
	}
	cli_logger(c, CF_LOG_INFO, b.data);
	cf_buf_release(&b);
}

static void retry_line(cli *c, const cf_progress *p)
{
	char *msg = cf_asprintf("%s: retrying %s (attempt %d of %d) in %.1fs: %s", p->medium,
	                        p->item ? p->item : "the run", p->attempt, p->max_attempts,
	                        p->delay_s, p->message ? p->message : "transient failure");
	cli_logger(c, CF_LOG_WARNING, msg);
	free(msg);
}

/* ---- The callback ------------------------------------------------------------------------ */

static void show(cli *c, const cf_progress *p)
{
	struct cli_bars *s = c->bars;
	double now = cf_now();
	if (p->kind == CF_PROGRESS_START)
		s->last_line = now;
	keep(s, p);
	if (p->kind == CF_PROGRESS_RETRY)
		retry_line(c, p);
	if (p->kind == CF_PROGRESS_ITEM_DONE && p->is_ok && is_table(p)) {
		table_done_line(c, p);
		s->last_line = now;
	}
	if (p->kind == CF_PROGRESS_DONE) {
		cli_progress_clear(c);
		bars_reset(s);
		return;
	}
	if (s->is_tty) {
		bool is_news = p->kind == CF_PROGRESS_START || p->kind == CF_PROGRESS_PHASE;
		if (is_news || now - s->last_draw >= REDRAW_S) {
			s->last_draw = now;
			draw(c);
		}
		return;
	}
	if (p->kind == CF_PROGRESS_PHASE && !p->item && is_table(p)) {
		status_line(c, p);
		s->last_line = now;
	} else if (now - s->last_line >= s->interval) {
		status_line(c, p);
		s->last_line = now;
	}
}

void cli_progress(void *ud, const cf_progress *p)
{
	cli *c = ud;
	if (c->events)
		cli_events_progress(c, p);
	if (c->bars)
		show(c, p);
}

void cli_progress_setup(cli *c)
{
	/* Off a terminal, -f json keeps stderr quiet: machines have --events. */
	if (c->is_quiet || (!c->is_tty && c->format == CLI_JSON))
		return;
	struct cli_bars *s = cf_calloc(1, sizeof(*s));
	s->is_tty = c->is_tty;
	s->interval = 10;
	const char *env = getenv("CONFITURE_PROGRESS_INTERVAL");
	if (env && *env) {
		char *end;
		double v = strtod(env, &end);
		if (!*end && v > 0)
			s->interval = v;
	}
	c->bars = s;
}

void cli_progress_release(cli *c)
{
	if (!c->bars)
		return;
	cli_progress_clear(c);
	bars_reset(c->bars);
	free(c->bars);
	c->bars = NULL;
}
