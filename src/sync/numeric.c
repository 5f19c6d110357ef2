/*
 * numeric.c -- the numeric strategy: keyed noise of +-percent on a number,
 * keeping its number of decimals and staying inside the column's type.
 */
#include "sync.h"
#include "mask.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Limits of the column's type, for numeric noise to stay storable. */
static void numeric_limits(vtype t, int precision, int scale, double *max)
{
	switch (t) {
	case VT_INT2: *max = 32767; return;
	case VT_INT4: *max = 2147483647.0; return;
	case VT_INT8: *max = 9.2233720368547e18; return;
	case VT_NUMERIC:
		if (precision > 0) {
			*max = pow(10, precision - (scale > 0 ? scale : 0)) - pow(10, -(scale > 0 ? scale : 0));
			return;
		}
		break;
	default: break;
	}
	*max = INFINITY;
}

static mask_rc numeric_masked(const mask_rule *r, vcol c, const char *buf, const char *in,
                              size_t n, cf_buf *out, const char **why);

mask_rc mask_numeric(const mask_rule *r, vcol c, const char *in, size_t n, cf_buf *out,
                         const char **why)
{
	mask_trim(&in, &n);
	if (n == 0) {
		*why = "value is not a number";
		return MASK_FAIL;
	}
	/* A numeric may have thousands of digits (and masking 1e200 gives 201):
	 * no fixed-size copy. */
	char *buf = cf_strndup(in, n);
	mask_rc rc = numeric_masked(r, c, buf, in, n, out, why);
	free(buf);
	return rc;
}

/* m_numeric on BUF, the NUL-terminated copy of IN[0..N). */
static mask_rc numeric_masked(const mask_rule *r, vcol c, const char *buf, const char *in,
                              size_t n, cf_buf *out, const char **why)
{
	vtype t = c.vt;
	char *end;
	double v = strtod(buf, &end);
	if (*end || end == buf) {
		*why = "value is not a number";
		return MASK_FAIL;
	}
	if (isnan(v) || isinf(v)) {
		cf_buf_append(out, in, n);
		return MASK_OK;
	}
	unsigned char h[32];
	mask_kh(r, &v, sizeof(v), h);
	double u = (double)(mask_u64(h, 0) >> 11) * 0x1.0p-53;
	double f = (2 * u - 1) * r->percent / 100.0;
	double nv = v * (1 + f);
	bool up = mask_u64(h, 1) & 1;
	if (t == VT_FLOAT4 || t == VT_FLOAT8) {
		if (nv == v)
			nv = nextafter(v, up ? INFINITY : -INFINITY);
		cf_buf_printf(out, "%.*g", t == VT_FLOAT4 ? 9 : 17, nv);
		return MASK_OK;
	}
	/* Decimal: the input's number of decimals, and never the input itself. */
	int scale = 0;
	const char *dot = strchr(buf, '.');
	if (dot && !strpbrk(buf, "eE"))
		scale = (int)strspn(dot + 1, "0123456789");
	if (t == VT_NUMERIC && c.scale >= 0)
		scale = c.scale;
	double unit = pow(10, -scale), max;
	numeric_limits(t, c.precision, c.scale, &max);
	double rv = round(nv / unit) * unit, ov = round(v / unit) * unit;
	if (rv == ov)
		rv = ov + (up ? unit : -unit);
	if (rv > max)
		rv = ov + unit <= max ? max : ov - unit;
	if (rv < -max)
		rv = ov - unit >= -max ? -max : ov + unit;
	if (t == VT_INT8 && fabs(rv) >= 9.2233720368547e18)
		rv = ov; /* beyond exact doubles: leave it rather than overflow */
	cf_buf_printf(out, "%.*f", scale, rv);
	return MASK_OK;
}
