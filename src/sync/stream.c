/*
 * stream.c -- rewriting a COPY stream row by row.
 *
 * Data arrives as the source sends it (one row per CopyData message, the
 * binary header in front of the first), is rewritten into s->out, and leaves
 * for the target. Unmasked fields are copied in runs, without being decoded;
 * a masked field is decoded to its text form, masked, and encoded again. A
 * row split across chunks waits in s->carry, so memory stays at one row.
 */
#include "sync.h"

#include <stdint.h>
#include <string.h>

static const char SIGNATURE[11] = {'P', 'G', 'C', 'O', 'P', 'Y', '\n', '\377', '\r', '\n', '\0'};

void stream_init(stream *s, const plan_table *t)
{
	memset(s, 0, sizeof(*s));
	s->t = t;
	cf_buf_init(&s->out);
	cf_buf_init(&s->carry);
	cf_buf_init(&s->val);
	cf_buf_init(&s->masked);
	cf_buf_init(&s->bin);
	s->fail_col = -1;
	cf_buf_reserve(&s->out, 256 * 1024);
}

void stream_release(stream *s)
{
	/* Scratch buffers held masked and unmasked values: wipe them. */
	cf_memzero(s->val.data, s->val.cap);
	cf_memzero(s->masked.data, s->masked.cap);
	cf_buf_release(&s->out);
	cf_buf_release(&s->carry);
	cf_buf_release(&s->val);
	cf_buf_release(&s->masked);
	cf_buf_release(&s->bin);
}

static int32_t rd32(const char *p)
{
	const unsigned char *u = (const unsigned char *)p;
	return (int32_t)(((uint32_t)u[0] << 24) | ((uint32_t)u[1] << 16) | ((uint32_t)u[2] << 8) | u[3]);
}

static int16_t rd16(const char *p)
{
	const unsigned char *u = (const unsigned char *)p;
	return (int16_t)((u[0] << 8) | u[1]);
}

static void wr32(cf_buf *b, int32_t v)
{
	uint32_t u = (uint32_t)v; /* shifting a negative int is implementation-defined */
	char c[4] = {(char)(u >> 24), (char)(u >> 16), (char)(u >> 8), (char)u};
	cf_buf_append(b, c, 4);
}

/* Masks one value (text form IN) of column I; the result in s->masked. */
static mask_rc mask_one(stream *s, size_t i, const char *in, size_t n)
{
	const plan_col *c = &s->t->cols[i];
	vcol vc = {c->vt, c->dc->precision, c->dc->scale};
	cf_buf_reset(&s->masked);
	const char *why = NULL;
	mask_rc rc = strat_mask(c->rule, vc, in, n, &s->masked, &why);
	if (rc == MASK_FAIL) {
		s->fail_col = (int)i;
		s->fail_why = why ? why : "the value cannot be masked";
	}
	return rc;
}

/* ---- Binary ---------------------------------------------------------------------------- */

/* Length of the binary header at P (N bytes available), or 0 when incomplete,
 * or -1 when it is not a COPY header. */
static long header_len(const char *p, size_t n)
{
	if (n < 19)
		return 0;
	if (memcmp(p, SIGNATURE, 11) != 0)
		return -1;
	int32_t ext = rd32(p + 15);
	if (ext < 0)
		return -1;
	return n < 19 + (size_t)ext ? 0 : 19 + ext;
}

/* End of the tuple at P, 0 when incomplete, -1 when malformed. */
static long tuple_len(const stream *s, const char *p, size_t n)
{
	if (n < 2)
		return 0;
	int16_t nf = rd16(p);
	if (nf == -1)
		return 2;
	if (nf != (int16_t)s->t->n_cols)
		return -1;
	size_t off = 2;
	for (int f = 0; f < nf; f++) {
		if (n < off + 4)
			return 0;
		int32_t len = rd32(p + off);
		off += 4;
		if (len > 0) {
			if (n < off + (size_t)len)
				return 0;
			off += (size_t)len;
		}
	}
	return (long)off;
}

static bool rewrite_tuple(stream *s, const char *p, size_t len)
{
	const plan_table *t = s->t;
	if (rd16(p) == -1) {
		s->trailer_seen = true;
		cf_buf_append(&s->out, p, len);
		return true;
	}
	const char *run = p;
	size_t off = 2;
	for (size_t i = 0; i < t->n_cols; i++) {
		int32_t flen = rd32(p + off);
		const char *field = p + off;
		off += 4;
		const char *val = p + off;
		if (flen > 0)
			off += (size_t)flen;
		const plan_col *c = &t->cols[i];
		if (!c->rule || !c->in_stream || flen < 0)
			continue;
		cf_buf_append(&s->out, run, (size_t)(field - run));
		run = p + off;
		const char *text = val;
		size_t tn = (size_t)flen;
		if (!vtype_is_textlike(c->vt) && c->vt != VT_JSON) {
			cf_buf_reset(&s->val);
			if (!value_bin_to_text(c->vt, val, (size_t)flen, &s->val)) {
				s->fail_col = (int)i;
				s->fail_why = "the source sent a value that cannot be read";
				return false;
			}
			text = s->val.data;
			tn = s->val.len;
		}
		mask_rc rc = mask_one(s, i, text, tn);
		if (rc == MASK_FAIL)
			return false;
		if (rc == MASK_NULL) {
			wr32(&s->out, -1);
			continue;
		}
		if (vtype_is_textlike(c->vt) || c->vt == VT_JSON) {
			wr32(&s->out, (int32_t)s->masked.len);
			cf_buf_append(&s->out, s->masked.data, s->masked.len);
			continue;
		}
		cf_buf_reset(&s->bin);
		if (!value_text_to_bin(c->vt, s->masked.data, s->masked.len, &s->bin)) {
			s->fail_col = (int)i;
			s->fail_why = "the masked value is not valid for the column's type";
			return false;
		}
		wr32(&s->out, (int32_t)s->bin.len);
		cf_buf_append(&s->out, s->bin.data, s->bin.len);
	}
	cf_buf_append(&s->out, run, (size_t)(p + len - run));
	s->rows++;
	return true;
}

/* Consumes whole tuples of P[0..N); returns bytes used, or -1 on failure. */
static long feed_binary(stream *s, const char *p, size_t n)
{
	size_t used = 0;
	if (!s->header_done) {
		long h = header_len(p, n);
		if (h < 0) {
			s->fail_why = "the source did not send a binary COPY header";
			return -1;
		}
		if (h == 0)
			return 0;
		cf_buf_append(&s->out, p, (size_t)h);
		s->header_done = true;
		used = (size_t)h;
	}
	while (used < n && !s->trailer_seen) {
		long l = tuple_len(s, p + used, n - used);
		if (l < 0) {
			s->fail_why = "the source sent a malformed binary row";
			return -1;
		}
		if (l == 0)
			break;
		if (!rewrite_tuple(s, p + used, (size_t)l))
			return -1;
		used += (size_t)l;
	}
	return (long)used;
}

/* ---- Text -------------------------------------------------------------------------------- */

static bool rewrite_row(stream *s, const char *p, size_t len)
{
	const plan_table *t = s->t;
	const char *end = p + len, *run = p, *f = p;
	for (size_t i = 0; i < t->n_cols; i++) {
		const char *tab = i + 1 < t->n_cols ? memchr(f, '\t', (size_t)(end - f)) : NULL;
		const char *fe = tab ? tab : end - 1; /* the last field ends at '\n' */
		if (i + 1 < t->n_cols && !tab) {
			s->fail_why = "the source sent a row with too few fields";
			return false;
		}
		const plan_col *c = &t->cols[i];
		bool is_null = fe - f == 2 && f[0] == '\\' && f[1] == 'N';
		if (c->rule && c->in_stream && !is_null) {
			cf_buf_append(&s->out, run, (size_t)(f - run));
			cf_buf_reset(&s->val);
			copy_text_unescape(f, (size_t)(fe - f), &s->val);
			mask_rc rc = mask_one(s, i, s->val.data, s->val.len);
			if (rc == MASK_FAIL)
				return false;
			if (rc == MASK_NULL)
				cf_buf_puts(&s->out, "\\N");
			else
				copy_text_escape(s->masked.data, s->masked.len, &s->out);
			run = fe;
		}
		f = fe + 1;
	}
	cf_buf_append(&s->out, run, (size_t)(end - run));
	s->rows++;
	return true;
}

static long feed_text(stream *s, const char *p, size_t n)
{
	size_t used = 0;
	while (used < n) {
		const char *nl = memchr(p + used, '\n', n - used);
		if (!nl)
			break;
		size_t len = (size_t)(nl - (p + used)) + 1;
		if (!rewrite_row(s, p + used, len))
			return -1;
		used += len;
	}
	return (long)used;
}

bool stream_feed(stream *s, const char *data, size_t n)
{
	long (*feed)(stream *, const char *, size_t) = s->t->is_binary ? feed_binary : feed_text;
	if (s->carry.len == 0) {
		long used = feed(s, data, n);
		if (used < 0)
			return false;
		if ((size_t)used < n)
			cf_buf_append(&s->carry, data + used, n - (size_t)used);
		return true;
	}
	cf_buf_append(&s->carry, data, n);
	long used = feed(s, s->carry.data, s->carry.len);
	if (used < 0)
		return false;
	size_t rest = s->carry.len - (size_t)used;
	memmove(s->carry.data, s->carry.data + used, rest);
	s->carry.len = rest;
	s->carry.data[rest] = '\0';
	return true;
}
