/*
 * json.h -- a small streaming JSON writer into a cf_buf.
 *
 * Commas are placed automatically: call cf_json_key before each member
 * value inside an object, nothing before array items.
 */
#ifndef CF_JSON_H
#define CF_JSON_H

#include "buf.h"

#include <stdbool.h>

typedef struct cf_json {
	cf_buf *out;
	int depth;
	bool need_comma[64];
	bool after_key;
	bool is_pretty;
	void *owner;             /* whoever started the document; the writer never uses it */
} cf_json;

void cf_json_init(cf_json *j, cf_buf *out, bool pretty);
void cf_json_obj_begin(cf_json *j);
void cf_json_obj_end(cf_json *j);
void cf_json_arr_begin(cf_json *j);
void cf_json_arr_end(cf_json *j);
void cf_json_key(cf_json *j, const char *key);
void cf_json_str(cf_json *j, const char *s);        /* NULL writes null */
void cf_json_strn(cf_json *j, const char *s, size_t n);
void cf_json_int(cf_json *j, long long v);
void cf_json_num(cf_json *j, double v);             /* %.6g; NaN/Inf write null */
void cf_json_bool(cf_json *j, bool v);
void cf_json_null(cf_json *j);
/* Appends already-encoded JSON as one value. */
void cf_json_raw(cf_json *j, const char *json);

/* Shorthands for members. */
void cf_json_kv_str(cf_json *j, const char *key, const char *v);
void cf_json_kv_int(cf_json *j, const char *key, long long v);
void cf_json_kv_num(cf_json *j, const char *key, double v);
void cf_json_kv_bool(cf_json *j, const char *key, bool v);
/* A member holding an array of N strings. */
void cf_json_kv_strs(cf_json *j, const char *key, char *const *v, size_t n);
/* An integer member that is null when V is negative (not known). */
void cf_json_kv_count(cf_json *j, const char *key, long long v);

/* Appends S JSON-escaped (without quotes) to OUT. Bytes that are not valid
 * UTF-8 become the escape of U+FFFD, so the output is always valid UTF-8. */
void cf_json_escape(cf_buf *out, const char *s, size_t n);

#endif
