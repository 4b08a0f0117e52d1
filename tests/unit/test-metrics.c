/* test-metrics.c: the metrics registry, its Prometheus text output read back by a strict exposition-format checker, and promtool when installed. */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "daemon/metrics.h"

/* ---- a strict reader of text exposition format 0.0.4 ------------------------ */

#define MAX_LABELS 8
#define MAX_SAMPLES 512

struct sample {
	char name[128];
	size_t nlabels;
	char keys[MAX_LABELS][64];
	char values[MAX_LABELS][256];  /* unescaped */
	double value;
};

struct family {
	char name[128];
	char type[16];
	char help[256];                /* unescaped */
};

struct exposition {
	struct sample samples[MAX_SAMPLES];
	size_t nsamples;
	struct family families[64];
	size_t nfamilies;
};

static bool
is_name_char(char c, bool first, bool colon)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (colon && c == ':') ||
	    (!first && c >= '0' && c <= '9');
}

/* Reads [a-zA-Z_:][a-zA-Z0-9_:]* (or the label-name form without ':'); returns its length. */
static size_t
read_name(const char *p, bool colon, char *out, size_t outlen)
{
	size_t n = 0;

	while (is_name_char(p[n], n == 0, colon))
		n++;
	if (n == 0 || n >= outlen)
		return 0;
	memcpy(out, p, n);
	out[n] = '\0';
	return n;
}

/* A Go float: NaN, +Inf, -Inf or a decimal/exponent number, nothing else. */
static bool
read_float(const char *p, size_t n, double *out)
{
	char buf[64], *end;

	if (n == 0 || n >= sizeof(buf))
		return false;
	memcpy(buf, p, n);
	buf[n] = '\0';
	if (strcmp(buf, "NaN") == 0) {
		*out = NAN;
		return true;
	}
	if (strcmp(buf, "+Inf") == 0 || strcmp(buf, "-Inf") == 0) {
		*out = buf[0] == '+' ? INFINITY : -INFINITY;
		return true;
	}
	/* strtod also takes hex, "inf" and "nan(...)": the format does not. */
	if (strspn(buf, "0123456789.eE+-") != n)
		return false;
	errno = 0;
	*out = strtod(buf, &end);
	return *end == '\0' && errno == 0;
}

/* Unescapes HELP text (\\ and \n only) or a label value (also \"); false on any other escape. */
static bool
unescape(const char *p, size_t n, bool quote, char *out, size_t outlen)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		char c = p[i];

		if (c == '\\') {
			if (++i >= n)
				return false;
			if (p[i] == '\\')
				c = '\\';
			else if (p[i] == 'n')
				c = '\n';
			else if (quote && p[i] == '"')
				c = '"';
			else
				return false;
		} else if (c == '\n' || (quote && c == '"')) {
			return false;
		}
		if (o + 1 >= outlen)
			return false;
		out[o++] = c;
	}
	out[o] = '\0';
	return true;
}

static struct family *
find_family(struct exposition *e, const char *name)
{
	for (size_t i = 0; i < e->nfamilies; i++)
		if (strcmp(e->families[i].name, name) == 0)
			return &e->families[i];
	return NULL;
}

/* The family a sample name belongs to: histograms own name_bucket, name_sum and name_count. */
static struct family *
family_of(struct exposition *e, const char *sample)
{
	static const char *const suffixes[] = { "_bucket", "_sum", "_count" };
	struct family *f = find_family(e, sample);
	size_t n = strlen(sample);

	if (f != NULL && strcmp(f->type, "histogram") != 0)
		return f;
	for (size_t i = 0; i < 3; i++) {
		size_t sl = strlen(suffixes[i]);
		char base[128];

		if (n <= sl || strcmp(sample + n - sl, suffixes[i]) != 0)
			continue;
		memcpy(base, sample, n - sl);
		base[n - sl] = '\0';
		f = find_family(e, base);
		if (f != NULL && strcmp(f->type, "histogram") == 0)
			return f;
	}
	return NULL;
}

static bool
fail_at(char *err, size_t errlen, int line, const char *what)
{
	snprintf(err, errlen, "line %d: %s", line, what);
	return false;
}

static bool
parse_sample(const char *p, size_t n, struct sample *s, char *err, size_t errlen, int line)
{
	size_t i, k;
	const char *end = p + n, *sp;

	memset(s, 0, sizeof(*s));
	if ((i = read_name(p, true, s->name, sizeof(s->name))) == 0)
		return fail_at(err, errlen, line, "bad metric name");
	p += i;
	if (*p == '{') {
		p++;
		while (*p != '}') {
			if (s->nlabels == MAX_LABELS)
				return fail_at(err, errlen, line, "too many labels");
			if ((k = read_name(p, false, s->keys[s->nlabels], sizeof(s->keys[0]))) == 0)
				return fail_at(err, errlen, line, "bad label name");
			p += k;
			if (p[0] != '=' || p[1] != '"')
				return fail_at(err, errlen, line, "expected =\" after a label name");
			p += 2;
			/* Find the closing quote, stepping over escapes. */
			for (sp = p; sp < end && *sp != '"'; sp++)
				if (*sp == '\\')
					sp++;
			if (sp >= end)
				return fail_at(err, errlen, line, "unterminated label value");
			if (!unescape(p, (size_t)(sp - p), true, s->values[s->nlabels], sizeof(s->values[0])))
				return fail_at(err, errlen, line, "bad escape in a label value");
			for (size_t j = 0; j < s->nlabels; j++)
				if (strcmp(s->keys[j], s->keys[s->nlabels]) == 0)
					return fail_at(err, errlen, line, "label given twice");
			s->nlabels++;
			p = sp + 1;
			if (*p == ',')
				p++;
			else if (*p != '}')
				return fail_at(err, errlen, line, "expected , or } after a label");
		}
		p++;
	}
	if (*p != ' ')
		return fail_at(err, errlen, line, "expected one space before the value");
	p++;
	sp = memchr(p, ' ', (size_t)(end - p));
	if (!read_float(p, (size_t)((sp != NULL ? sp : end) - p), &s->value))
		return fail_at(err, errlen, line, "bad value");
	if (sp != NULL) {
		/* Optional timestamp: an integer of milliseconds. */
		sp++;
		if (sp == end || strspn(sp, "-0123456789") != (size_t)(end - sp))
			return fail_at(err, errlen, line, "bad timestamp");
	}
	return true;
}

static const char *
label(const struct sample *s, const char *key)
{
	for (size_t i = 0; i < s->nlabels; i++)
		if (strcmp(s->keys[i], key) == 0)
			return s->values[i];
	return NULL;
}

/* True when a and b have the same labels, ignoring "le". */
static bool
same_series(const struct sample *a, const struct sample *b)
{
	size_t na = 0, nb = 0;

	for (size_t i = 0; i < a->nlabels; i++) {
		const char *v;

		if (strcmp(a->keys[i], "le") == 0)
			continue;
		na++;
		v = label(b, a->keys[i]);
		if (v == NULL || strcmp(v, a->values[i]) != 0)
			return false;
	}
	for (size_t i = 0; i < b->nlabels; i++)
		if (strcmp(b->keys[i], "le") != 0)
			nb++;
	return na == nb;
}

/* Histogram rules: le on every bucket, increasing bounds, cumulative counts, +Inf == _count, _sum present. */
static bool
check_histograms(struct exposition *e, char *err, size_t errlen)
{
	for (size_t i = 0; i < e->nsamples; i++) {
		struct sample *s = &e->samples[i];
		struct family *f = family_of(e, s->name);
		char count_name[160], sum_name[160];
		double last_le = -INFINITY, last_count = 0;
		bool inf = false, have_count = false, have_sum = false;
		double inf_count = 0, count = -1;

		if (f == NULL || strcmp(f->type, "histogram") != 0 || label(s, "le") == NULL)
			continue;
		/* Only start at the first bucket of each series. */
		if (i > 0 && strcmp(e->samples[i - 1].name, s->name) == 0 && same_series(&e->samples[i - 1], s))
			continue;
		snprintf(count_name, sizeof(count_name), "%s_count", f->name);
		snprintf(sum_name, sizeof(sum_name), "%s_sum", f->name);
		for (size_t j = i; j < e->nsamples; j++) {
			struct sample *b = &e->samples[j];
			double le;

			if (!same_series(s, b))
				continue;
			if (strcmp(b->name, s->name) == 0) {
				const char *lt = label(b, "le");

				if (lt == NULL || !read_float(lt, strlen(lt), &le)) {
					snprintf(err, errlen, "%s: bucket without a valid le", f->name);
					return false;
				}
				if (!(le > last_le) || b->value < last_count) {
					snprintf(err, errlen, "%s: buckets not increasing/cumulative", f->name);
					return false;
				}
				last_le = le;
				last_count = b->value;
				if (isinf(le)) {
					inf = true;
					inf_count = b->value;
				}
			} else if (strcmp(b->name, count_name) == 0) {
				have_count = true;
				count = b->value;
			} else if (strcmp(b->name, sum_name) == 0) {
				have_sum = true;
			}
		}
		if (!inf || !have_count || !have_sum || inf_count != count) {
			snprintf(err, errlen, "%s: needs a +Inf bucket equal to _count, and _sum", f->name);
			return false;
		}
	}
	return true;
}

/*
 * Parses text strictly: every line is "# HELP name text", "# TYPE name type"
 * or a sample; TYPE comes before the family's samples and at most once; a
 * family's lines are contiguous; no series appears twice; counters are >= 0;
 * histograms are well formed; the text ends with a newline. Returns false with
 * the reason in err.
 */
static bool
parse_exposition(const char *text, struct exposition *e, char *err, size_t errlen)
{
	const char *p = text;
	int line = 0;
	char current[128] = "";

	memset(e, 0, sizeof(*e));
	if (text[0] != '\0' && text[strlen(text) - 1] != '\n')
		return fail_at(err, errlen, 0, "text does not end with a newline");
	while (*p != '\0') {
		const char *nl = strchr(p, '\n');
		size_t n = (size_t)(nl - p);
		char name[128];

		line++;
		if (n == 0)
			return fail_at(err, errlen, line, "empty line");
		if (strncmp(p, "# HELP ", 7) == 0 || strncmp(p, "# TYPE ", 7) == 0) {
			bool help = p[2] == 'H';
			size_t k = read_name(p + 7, true, name, sizeof(name));
			const char *rest = p + 7 + k;
			struct family *f;

			if (k == 0 || *rest != ' ')
				return fail_at(err, errlen, line, "bad metric name in a comment");
			rest++;
			f = find_family(e, name);
			if (f == NULL) {
				if (e->nfamilies == 64)
					return fail_at(err, errlen, line, "too many families");
				f = &e->families[e->nfamilies++];
				snprintf(f->name, sizeof(f->name), "%s", name);
			} else if (strcmp(current, name) != 0) {
				return fail_at(err, errlen, line, "family lines are not contiguous");
			}
			snprintf(current, sizeof(current), "%s", name);
			if (help) {
				if (f->help[0] != '\0')
					return fail_at(err, errlen, line, "HELP given twice");
				if (!unescape(rest, (size_t)(nl - rest), false, f->help, sizeof(f->help)))
					return fail_at(err, errlen, line, "bad escape in HELP");
			} else {
				size_t tl = (size_t)(nl - rest);

				if (f->type[0] != '\0')
					return fail_at(err, errlen, line, "TYPE given twice");
				if (tl >= sizeof(f->type))
					return fail_at(err, errlen, line, "unknown TYPE");
				memcpy(f->type, rest, tl);
				f->type[tl] = '\0';
				if (strcmp(f->type, "counter") != 0 && strcmp(f->type, "gauge") != 0 &&
				    strcmp(f->type, "histogram") != 0 && strcmp(f->type, "summary") != 0 &&
				    strcmp(f->type, "untyped") != 0)
					return fail_at(err, errlen, line, "unknown TYPE");
				/* A TYPE after samples of the family is an error. */
				for (size_t i = 0; i < e->nsamples; i++)
					if (family_of(e, e->samples[i].name) == f)
						return fail_at(err, errlen, line, "TYPE after samples");
			}
		} else if (p[0] == '#') {
			return fail_at(err, errlen, line, "unexpected comment");
		} else {
			struct sample *s;
			struct family *f;

			if (e->nsamples == MAX_SAMPLES)
				return fail_at(err, errlen, line, "too many samples");
			s = &e->samples[e->nsamples];
			if (!parse_sample(p, n, s, err, errlen, line))
				return false;
			f = family_of(e, s->name);
			if (f == NULL || f->type[0] == '\0')
				return fail_at(err, errlen, line, "sample without a TYPE line before it");
			if (strcmp(current, f->name) != 0)
				return fail_at(err, errlen, line, "family lines are not contiguous");
			if (strcmp(f->type, "counter") == 0 && !(s->value >= 0))
				return fail_at(err, errlen, line, "negative counter");
			if (strcmp(f->type, "histogram") == 0 && strcmp(s->name, f->name) == 0)
				return fail_at(err, errlen, line, "histogram sample without a suffix");
			for (size_t i = 0; i < e->nsamples; i++) {
				const struct sample *o = &e->samples[i];
				const char *la = label(o, "le"), *lb = label(s, "le");

				if (strcmp(o->name, s->name) == 0 && same_series(o, s) &&
				    ((la == NULL && lb == NULL) || (la != NULL && lb != NULL && strcmp(la, lb) == 0)))
					return fail_at(err, errlen, line, "series given twice");
			}
			e->nsamples++;
		}
		p = nl + 1;
	}
	return check_histograms(e, err, errlen);
}

/* The sample with this name whose labels include every key=value pair given (NULL-terminated). */
static const struct sample *
find_sample(const struct exposition *e, const char *name, ...)
{
	for (size_t i = 0; i < e->nsamples; i++) {
		const struct sample *s = &e->samples[i];
		va_list ap;
		const char *k;
		bool match = strcmp(s->name, name) == 0;

		va_start(ap, name);
		while (match && (k = va_arg(ap, const char *)) != NULL) {
			const char *v = va_arg(ap, const char *), *have = label(s, k);
			match = have != NULL && strcmp(have, v) == 0;
		}
		va_end(ap);
		if (match)
			return s;
	}
	return NULL;
}

static struct exposition E;

/* Renders m and parses it back, failing the test on any format error. */
static char *
render_and_parse(struct metrics *m)
{
	char err[256] = "";
	size_t len = 0;
	char *text = metrics_render(m, &len);

	cr_assert_not_null(text);
	cr_assert_eq(len, strlen(text));
	cr_assert(parse_exposition(text, &E, err, sizeof(err)), "%s in:\n%s", err, text);
	return text;
}

/* ---- the checker itself must catch malformed text ------------------------------ */

Test(checker, rejects_malformed_text)
{
	static const char *const bad[] = {
		"x 1\n",                                              /* no TYPE */
		"# TYPE x counter\nx -1\n",                           /* negative counter */
		"# TYPE x gauge\nx{a=\"b} 1\n",                       /* unterminated value */
		"# TYPE x gauge\nx{a=\"\\t\"} 1\n",                   /* bad escape */
		"# TYPE x gauge\nx{a=\"1\",a=\"2\"} 1\n",             /* duplicate label */
		"# TYPE x gauge\nx 1 \n",                             /* trailing space */
		"# TYPE x gauge\nx  1\n",                             /* two spaces */
		"# TYPE x gauge\nx one\n",                            /* bad value */
		"# TYPE x gauge\nx 0x10\n",                           /* hex */
		"# TYPE x gauge\nx 1\nx 2\n",                         /* duplicate series */
		"# TYPE x gauge\nx 1",                                /* no final newline */
		"# TYPE x gauge\n\nx 1\n",                            /* empty line */
		"# TYPE x gauge\n# TYPE x gauge\nx 1\n",              /* TYPE twice */
		"# TYPE x gauge\n# TYPE y gauge\ny 1\nx 1\n",         /* interleaved families */
		"# TYPE x thing\nx 1\n",                              /* unknown type */
		"# HELP x a \\q b\n# TYPE x gauge\nx 1\n",            /* bad HELP escape */
		"# TYPE 1x gauge\n1x 1\n",                            /* bad name */
		"# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_sum 1\nh_count 1\n",      /* no +Inf */
		"# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1\n",
		"# TYPE h histogram\nh_bucket{le=\"+Inf\"} 2\nh_sum 1\nh_count 1\n",  /* +Inf != count */
		"# TYPE h histogram\nh_bucket{le=\"+Inf\"} 1\nh_count 1\n",            /* no _sum */
	};
	char err[256];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_expect_not(parse_exposition(bad[i], &E, err, sizeof(err)), "accepted case %zu: %s", i,
		    bad[i]);
	cr_assert(parse_exposition("# HELP x a \\\\ b\\n c\n# TYPE x gauge\nx{a=\"q\\\"\"} -Inf 123\n",
	    &E, err, sizeof(err)), "%s", err);
	cr_assert_str_eq(E.families[0].help, "a \\ b\n c");
	cr_assert_str_eq(E.samples[0].values[0], "q\"");
}

/* ---- the registry -------------------------------------------------------------- */

Test(metrics, counters_with_labels_and_escaping)
{
	struct metrics *m = metrics_new();
	static const char *const names[] = { "source", "outcome" };
	struct metric *c = metrics_counter(m, "pw_fetches_total", "Fetches \\ by source\nand outcome.",
	    2, names);
	const char *odd = "a\\b\"c\nd";
	const struct sample *s;
	double v;
	char *text;

	cr_assert_not_null(c);
	metric_inc(c, METRIC_LABELS("shopa", "ok"));
	metric_inc(c, METRIC_LABELS("shopa", "ok"));
	metric_add(c, METRIC_LABELS("shopa", "failed"), 3);
	metric_inc(c, METRIC_LABELS(odd, "ok"));
	metric_add(c, METRIC_LABELS("shopa", "ok"), -5);     /* ignored: counters only go up */
	metric_add(c, METRIC_LABELS("shopa", "ok"), NAN);    /* ignored */

	text = render_and_parse(m);
	cr_assert_eq(E.nfamilies, 1);
	cr_assert_str_eq(E.families[0].type, "counter");
	cr_assert_str_eq(E.families[0].help, "Fetches \\ by source\nand outcome.");
	cr_assert_eq(E.nsamples, 3);
	s = find_sample(&E, "pw_fetches_total", "source", "shopa", "outcome", "ok", NULL);
	cr_assert_not_null(s);
	cr_assert_eq(s->value, 2);
	s = find_sample(&E, "pw_fetches_total", "source", "shopa", "outcome", "failed", NULL);
	cr_assert_not_null(s);
	cr_assert_eq(s->value, 3);
	s = find_sample(&E, "pw_fetches_total", "source", odd, NULL);
	cr_assert_not_null(s, "escaped label value did not read back:\n%s", text);
	cr_assert_eq(s->value, 1);
	/* The raw text carries the escapes themselves. */
	cr_assert_not_null(strstr(text, "source=\"a\\\\b\\\"c\\nd\""), "%s", text);
	cr_assert(metric_value(c, METRIC_LABELS("shopa", "ok"), &v));
	cr_assert_eq(v, 2);
	cr_assert_not(metric_value(c, METRIC_LABELS("shopb", "ok"), &v));
	free(text);
	metrics_free(m);
}

Test(metrics, gauges_and_number_formatting)
{
	struct metrics *m = metrics_new();
	static const char *const q[] = { "queue" };
	struct metric *g = metrics_gauge(m, "pw_queue_depth", "Queue depth.", 1, q);
	struct metric *t = metrics_gauge(m, "pw_values", "Odd values.", 1, (const char *const[]){ "k" });
	const struct sample *s;
	char *text;

	metric_set(g, METRIC_LABELS("jobs"), 7);
	metric_add(g, METRIC_LABELS("jobs"), -2);
	metric_inc(g, METRIC_LABELS("alerts"));
	metric_set(t, METRIC_LABELS("tenth"), 0.1);
	metric_set(t, METRIC_LABELS("tiny"), 1e-9);
	metric_set(t, METRIC_LABELS("big"), 1764000000.123);
	metric_set(t, METRIC_LABELS("neg"), -42.5);
	metric_set(t, METRIC_LABELS("inf"), INFINITY);       /* not finite: ignored, never created */

	text = render_and_parse(m);
	s = find_sample(&E, "pw_queue_depth", "queue", "jobs", NULL);
	cr_assert(s != NULL && s->value == 5);
	s = find_sample(&E, "pw_queue_depth", "queue", "alerts", NULL);
	cr_assert(s != NULL && s->value == 1);
	cr_assert_not_null(strstr(text, "pw_values{k=\"tenth\"} 0.1\n"), "%s", text);
	cr_assert_not_null(strstr(text, "pw_values{k=\"tiny\"} 1e-09\n"), "%s", text);
	cr_assert_not_null(strstr(text, "pw_values{k=\"big\"} 1764000000.123\n"), "%s", text);
	cr_assert_not_null(strstr(text, "pw_values{k=\"neg\"} -42.5\n"), "%s", text);
	cr_assert_null(find_sample(&E, "pw_values", "k", "inf", NULL));
	free(text);
	metrics_free(m);
}

Test(metrics, counter_mirrors_only_move_up)
{
	struct metrics *m = metrics_new();
	struct metric *c = metrics_counter(m, "pw_records_total", "Records.", 0, NULL);
	double v = -1;

	cr_assert(metric_value(c, NULL, &v));
	cr_assert_eq(v, 0, "a family without labels starts at 0");
	metric_set(c, NULL, 10);
	metric_set(c, NULL, 4);
	cr_assert(metric_value(c, NULL, &v));
	cr_assert_eq(v, 10);
	metrics_free(m);
}

Test(metrics, histogram_buckets_sum_count)
{
	struct metrics *m = metrics_new();
	static const double bounds[] = { 0.001, 0.01, 0.1, 1 };
	struct metric *h = metrics_histogram(m, "pw_inference_duration_seconds", "Inference time.", 1,
	    (const char *const[]){ "backend" }, 4, bounds);
	static const double obs[] = { 0.0005, 0.001, 0.003, 0.2, 0.9, 20 };
	static const struct { const char *le; double count; } want[] = {
		{ "0.001", 2 }, { "0.01", 3 }, { "0.1", 3 }, { "1", 5 }, { "+Inf", 6 },
	};
	const struct sample *s;
	char *text;

	cr_assert_not_null(h);
	for (size_t i = 0; i < sizeof(obs) / sizeof(obs[0]); i++)
		metric_observe(h, METRIC_LABELS("cpu"), obs[i]);
	metric_observe(h, METRIC_LABELS("cpu"), NAN);           /* ignored */
	metric_inc(h, METRIC_LABELS("cpu"));                    /* wrong kind: ignored */
	metric_observe(h, METRIC_LABELS("reference"), 0.05);

	text = render_and_parse(m);
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		s = find_sample(&E, "pw_inference_duration_seconds_bucket", "backend", "cpu", "le", want[i].le, NULL);
		cr_assert_not_null(s, "le=%s missing:\n%s", want[i].le, text);
		cr_assert_eq(s->value, want[i].count, "le=%s: %g", want[i].le, s->value);
	}
	s = find_sample(&E, "pw_inference_duration_seconds_count", "backend", "cpu", NULL);
	cr_assert(s != NULL && s->value == 6);
	s = find_sample(&E, "pw_inference_duration_seconds_sum", "backend", "cpu", NULL);
	cr_assert(s != NULL && fabs(s->value - 21.1045) < 1e-9, "sum %g", s != NULL ? s->value : -1);
	s = find_sample(&E, "pw_inference_duration_seconds_bucket", "backend", "reference", "le", "0.01", NULL);
	cr_assert(s != NULL && s->value == 0);
	s = find_sample(&E, "pw_inference_duration_seconds_bucket", "backend", "reference", "le", "0.1", NULL);
	cr_assert(s != NULL && s->value == 1);
	free(text);
	metrics_free(m);
}

Test(metrics, bad_registrations_are_refused_and_harmless)
{
	struct metrics *m = metrics_new();
	static const double bounds[] = { 1, 0.5 };
	static const double good[] = { 1 };
	struct metric *a, *b;
	char *text;

	cr_assert_null(metrics_counter(m, "1bad", "x", 0, NULL));
	cr_assert_null(metrics_counter(m, "bad-name", "x", 0, NULL));
	cr_assert_null(metrics_counter(m, "", "x", 0, NULL));
	cr_assert_null(metrics_gauge(m, "ok_name", "x", 1, (const char *const[]){ "__reserved" }));
	cr_assert_null(metrics_gauge(m, "ok_name", "x", 1, (const char *const[]){ "with:colon" }));
	cr_assert_null(metrics_gauge(m, "ok_name", "x", 2, (const char *const[]){ "a", "a" }));
	cr_assert_null(metrics_histogram(m, "h", "x", 1, (const char *const[]){ "le" }, 1, good));
	cr_assert_null(metrics_histogram(m, "h", "x", 0, NULL, 2, bounds));
	cr_assert_null(metrics_histogram(m, "h", "x", 0, NULL, 0, NULL));

	a = metrics_counter(m, "pw_twice_total", "x", 1, (const char *const[]){ "k" });
	b = metrics_counter(m, "pw_twice_total", "x", 1, (const char *const[]){ "k" });
	cr_assert_not_null(a);
	cr_assert_eq(a, b, "same registration returns the same family");
	cr_assert_null(metrics_gauge(m, "pw_twice_total", "x", 1, (const char *const[]){ "k" }));
	cr_assert_null(metrics_counter(m, "pw_twice_total", "x", 1, (const char *const[]){ "j" }));

	/* Updates on a refused family are no-ops, not crashes. */
	metric_inc(NULL, NULL);
	metric_set(NULL, NULL, 1);
	metric_observe(NULL, NULL, 1);
	/* A NULL label value counts as "". */
	metric_inc(a, (const char *const[]){ NULL });
	text = render_and_parse(m);
	cr_assert_eq(E.nfamilies, 1);
	cr_assert_not_null(find_sample(&E, "pw_twice_total", "k", "", NULL));
	free(text);
	metrics_free(m);
}

Test(metrics, invalid_utf8_in_label_values_is_replaced)
{
	struct metrics *m = metrics_new();
	struct metric *g = metrics_gauge(m, "pw_g", "x", 1, (const char *const[]){ "v" });
	char *text;

	metric_set(g, METRIC_LABELS("caf\xc3\xa9 \xff\xfe ok"), 1);
	text = render_and_parse(m);
	cr_assert_not_null(find_sample(&E, "pw_g", "v", "caf\xc3\xa9 ?? ok", NULL), "%s", text);
	free(text);
	metrics_free(m);
}

Test(metrics, clear_drops_series)
{
	struct metrics *m = metrics_new();
	struct metric *g = metrics_gauge(m, "pw_last", "x", 1, (const char *const[]){ "source" });
	struct metric *plain = metrics_gauge(m, "pw_plain", "x", 0, NULL);
	double v;
	char *text;

	metric_set(g, METRIC_LABELS("a"), 1);
	metric_set(g, METRIC_LABELS("b"), 2);
	metric_set(plain, NULL, 5);
	metric_clear(g);
	metric_clear(plain);              /* no labels: nothing to drop, keeps its one series */
	metric_set(g, METRIC_LABELS("b"), 3);
	cr_assert_not(metric_value(g, METRIC_LABELS("a"), &v));
	cr_assert(metric_value(g, METRIC_LABELS("b"), &v));
	cr_assert_eq(v, 3);
	text = render_and_parse(m);
	cr_assert_null(find_sample(&E, "pw_last", "source", "a", NULL), "%s", text);
	cr_assert_eq(find_sample(&E, "pw_plain", NULL)->value, 5);
	free(text);
	metrics_free(m);
}

Test(metrics, series_cap)
{
	struct metrics *m = metrics_new();
	struct metric *g = metrics_gauge(m, "pw_many", "x", 1, (const char *const[]){ "id" });
	char id[32];
	double v;

	for (int i = 0; i < METRICS_MAX_SERIES + 5; i++) {
		snprintf(id, sizeof(id), "%d", i);
		metric_set(g, METRIC_LABELS(id), i);
	}
	cr_assert(metric_value(g, METRIC_LABELS("0"), &v));
	snprintf(id, sizeof(id), "%d", METRICS_MAX_SERIES - 1);
	cr_assert(metric_value(g, METRIC_LABELS(id), &v));
	snprintf(id, sizeof(id), "%d", METRICS_MAX_SERIES);
	cr_assert_not(metric_value(g, METRIC_LABELS(id), &v));
	metrics_free(m);
}

struct worker {
	struct metric *c, *h;
	const char *name;
};

static void *
hammer(void *arg)
{
	struct worker *w = arg;

	for (int i = 0; i < 20000; i++) {
		metric_inc(w->c, METRIC_LABELS(i % 2 ? "odd" : "even"));
		metric_observe(w->h, NULL, 0.002);
	}
	return NULL;
}

Test(metrics, concurrent_updates_are_exact)
{
	struct metrics *m = metrics_new();
	struct worker w = {
		.c = metrics_counter(m, "pw_hits_total", "x", 1, (const char *const[]){ "parity" }),
		.h = metrics_histogram(m, "pw_lat_seconds", "x", 0, NULL, metrics_latency_nbuckets,
		    metrics_latency_buckets),
	};
	pthread_t t[4];
	double v;
	char *text;

	for (int i = 0; i < 4; i++)
		cr_assert_eq(pthread_create(&t[i], NULL, hammer, &w), 0);
	/* Render while they write: must stay well formed. */
	for (int i = 0; i < 20; i++)
		free(render_and_parse(m));
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	cr_assert(metric_value(w.c, METRIC_LABELS("odd"), &v));
	cr_assert_eq(v, 40000);
	cr_assert(metric_value(w.c, METRIC_LABELS("even"), &v));
	cr_assert_eq(v, 40000);
	cr_assert(metric_value(w.h, NULL, &v));
	cr_assert_eq(v, 80000);
	text = render_and_parse(m);
	cr_assert_not_null(find_sample(&E, "pw_lat_seconds_bucket", "le", "0.0025", NULL));
	cr_assert_eq(find_sample(&E, "pw_lat_seconds_bucket", "le", "0.0025", NULL)->value, 80000);
	cr_assert_eq(find_sample(&E, "pw_lat_seconds_bucket", "le", "0.001", NULL)->value, 0);
	free(text);
	metrics_free(m);
}

/* pricewatchd's own families, filled as the daemon would. */
static struct metrics *
daemon_like(void)
{
	struct metrics *m = metrics_new();
	struct pw_metrics pm;

	pw_metrics_register(m, &pm, 1764000000);
	cr_assert(pm.fetches && pm.fetch_seconds && pm.last_success && pm.error_streak && pm.observations &&
	    pm.price_changes && pm.extract_errors && pm.queue_depth && pm.inference_seconds &&
	    pm.inferences && pm.alerts && pm.redis_errors && pm.start_time && pm.build_info);
	metric_inc(pm.fetches, METRIC_LABELS("shopa", "shop-a.example", "ok"));
	metric_inc(pm.fetches, METRIC_LABELS("shopa", "cdn.shop-a.example", "http_5xx"));
	metric_observe(pm.fetch_seconds, NULL, 0.3);
	metric_set(pm.last_success, METRIC_LABELS("shopa"), 1764000123.5);
	metric_set(pm.observations, NULL, 12);
	metric_set(pm.queue_depth, METRIC_LABELS("jobs"), 3);
	metric_observe(pm.inference_seconds, METRIC_LABELS("cpu"), 0.042);
	metric_inc(pm.inferences, METRIC_LABELS("cpu"));
	metric_inc(pm.alerts, METRIC_LABELS("sent"));
	metric_inc(pm.alerts, METRIC_LABELS("dead"));
	metric_inc(pm.redis_errors, NULL);
	return m;
}

Test(metrics, pricewatchd_families)
{
	struct metrics *m = daemon_like();
	char *text = render_and_parse(m);
	const struct sample *s;

	cr_assert_eq(E.nfamilies, 14);
	s = find_sample(&E, "pricewatch_build_info", "version", PACKAGE_VERSION, NULL);
	cr_assert(s != NULL && s->value == 1);
	s = find_sample(&E, "pricewatch_alerts_total", "outcome", "dead", NULL);
	cr_assert(s != NULL && s->value == 1);
	s = find_sample(&E, "pricewatch_fetches_total", "source", "shopa", "host", "cdn.shop-a.example",
	    "outcome", "http_5xx", NULL);
	cr_assert(s != NULL && s->value == 1);
	s = find_sample(&E, "pricewatch_inference_duration_seconds_bucket", "backend", "cpu", "le", "0.05", NULL);
	cr_assert(s != NULL && s->value == 1);
	free(text);
	metrics_free(m);
}

/* Runs promtool (Debian package prometheus) on the daemon's output when it is installed. */
Test(metrics, promtool_check_metrics)
{
	static const char *const dirs[] = { "/usr/bin/promtool", "/usr/local/bin/promtool" };
	const char *promtool = NULL;
	struct metrics *m;
	char *text, tmpl[] = "/tmp/pw-metrics-XXXXXX";
	char cmd[512];
	int fd, status;
	FILE *f;

	for (size_t i = 0; i < 2; i++)
		if (access(dirs[i], X_OK) == 0)
			promtool = dirs[i];
	if (promtool == NULL)
		cr_skip_test("promtool not installed (apt-get install prometheus)");
	m = daemon_like();
	text = render_and_parse(m);
	fd = mkstemp(tmpl);
	cr_assert(fd >= 0);
	f = fdopen(fd, "w");
	cr_assert_not_null(f);
	fputs(text, f);
	fclose(f);
	/* promtool reads the metrics on stdin; its lint warnings also make it fail. */
	snprintf(cmd, sizeof(cmd), "%s check metrics < %s 2>&1", promtool, tmpl);
	status = system(cmd);
	unlink(tmpl);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "promtool check metrics failed (%d) on:\n%s",
	    status, text);
	free(text);
	metrics_free(m);
}
