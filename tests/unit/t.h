/*
 * t.h -- the unit and integration test harness.
 *
 * Each check prints one line: "ok NAME: what" or "FAIL NAME: what (file:line)".
 * A test file is a main() calling static test functions; it exits non-zero
 * when a check failed. Integration tests get a server from the environment
 * (PGHOST, PGPORT, PGUSER) set by tests/run, and make their own databases.
 */
#ifndef CF_TEST_T_H
#define CF_TEST_T_H

#include "confiture.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int t_failures;
static const char *t_file_name = "test";

static inline void t_init(const char *argv0)
{
	const char *env = getenv("CF_TEST_NAME");
	const char *slash = strrchr(argv0, '/');
	t_file_name = env ? env : slash ? slash + 1 : argv0;
}

static inline bool t_report(bool ok, const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static inline bool t_report(bool ok, const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	printf("%s %s: ", ok ? "ok" : "FAIL", t_file_name);
	vprintf(fmt, ap);
	if (!ok)
		printf(" (%s:%d)", file, line);
	printf("\n");
	fflush(stdout);
	va_end(ap);
	if (!ok)
		t_failures++;
	return ok;
}

#define CHECK(cond, ...) t_report((cond), __FILE__, __LINE__, __VA_ARGS__)

#define CHECK_STR(actual, expected, what)                                                  \
	do {                                                                                   \
		const char *a_ = (actual), *e_ = (expected);                                       \
		bool ok_ = (a_ == NULL && e_ == NULL) || (a_ && e_ && strcmp(a_, e_) == 0);        \
		if (!t_report(ok_, __FILE__, __LINE__, "%s", what))                                \
			printf("    expected: %s\n    actual:   %s\n", e_ ? e_ : "(null)",            \
			       a_ ? a_ : "(null)");                                                    \
	} while (0)

#define CHECK_INT(actual, expected, what)                                                  \
	do {                                                                                   \
		long long a_ = (long long)(actual), e_ = (long long)(expected);                    \
		if (!t_report(a_ == e_, __FILE__, __LINE__, "%s", what))                           \
			printf("    expected: %lld\n    actual:   %lld\n", e_, a_);                    \
	} while (0)

static inline int t_done(void)
{
	return t_failures ? 1 : 0;
}

#endif
