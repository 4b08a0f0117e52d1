/* metrics.c: the metrics registry (one mutex, families in a list) and its Prometheus text format 0.0.4 writer. */
#include "config.h"

#include <inttypes.h>
#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/util.h"
#include "daemon/metrics.h"

enum metric_type { METRIC_COUNTER, METRIC_GAUGE, METRIC_HISTOGRAM };

static const char *const type_names[] = { "counter", "gauge", "histogram" };

/* One labelled series of a family. */
struct series {
	char **values;             /* nlabels copies */
	double value;              /* counter or gauge */
	uint64_t *buckets;         /* histogram: per-bucket (not cumulative) counts, nbounds + 1 */
	double sum;
	uint64_t count;
	struct series *next;
};

struct metric {
	struct metrics *reg;
	char *name, *help;
	enum metric_type type;
	size_t nlabels;
	char **labels;
	size_t nbounds;
	double *bounds;
	struct series *first, *last;
	size_t nseries;
	bool overflow_logged;
	struct metric *next;
};

struct metrics {
	pthread_mutex_t mu;
	struct metric *first, *last;
};

const double metrics_latency_buckets[] = {
	0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
};
const size_t metrics_latency_nbuckets = sizeof(metrics_latency_buckets) / sizeof(metrics_latency_buckets[0]);

struct metrics *
metrics_new(void)
{
	struct metrics *m = xcalloc(1, sizeof(*m));

	pthread_mutex_init(&m->mu, NULL);
	return m;
}

static void
series_free(struct series *s, size_t nlabels)
{
	for (size_t i = 0; i < nlabels; i++)
		free(s->values[i]);
	free(s->values);
	free(s->buckets);
	free(s);
}

static void
family_free(struct metric *f)
{
	struct series *s, *next;

	for (s = f->first; s != NULL; s = next) {
		next = s->next;
		series_free(s, f->nlabels);
	}
	for (size_t i = 0; i < f->nlabels; i++)
		free(f->labels[i]);
	free(f->labels);
	free(f->bounds);
	free(f->name);
	free(f->help);
	free(f);
}

void
metrics_free(struct metrics *m)
{
	struct metric *f, *next;

	if (m == NULL)
		return;
	for (f = m->first; f != NULL; f = next) {
		next = f->next;
		family_free(f);
	}
	pthread_mutex_destroy(&m->mu);
	free(m);
}

static bool
valid_ident(const char *s, bool colon)
{
	if (s == NULL || s[0] == '\0')
		return false;
	for (size_t i = 0; s[i] != '\0'; i++) {
		char c = s[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
		    (colon && c == ':') || (i > 0 && c >= '0' && c <= '9');
		if (!ok)
			return false;
	}
	return true;
}

static bool
same_labels(const struct metric *f, size_t nlabels, const char *const *labels)
{
	if (f->nlabels != nlabels)
		return false;
	for (size_t i = 0; i < nlabels; i++)
		if (strcmp(f->labels[i], labels[i]) != 0)
			return false;
	return true;
}

static bool
same_bounds(const struct metric *f, size_t nbounds, const double *bounds)
{
	if (f->nbounds != nbounds)
		return false;
	for (size_t i = 0; i < nbounds; i++)
		if (f->bounds[i] != bounds[i])
			return false;
	return true;
}

/* Checks names and bounds; logs and returns false on a mistake. */
static bool
check_family(const char *name, enum metric_type type, size_t nlabels, const char *const *labels,
    size_t nbounds, const double *bounds)
{
	if (!valid_ident(name, true)) {
		log_warnx("metrics: bad metric name '%s': expected [a-zA-Z_:][a-zA-Z0-9_:]*",
		    name != NULL ? name : "(null)");
		return false;
	}
	if (nlabels > 0 && labels == NULL) {
		log_warnx("metrics: %s: %zu label names expected, none given", name, nlabels);
		return false;
	}
	for (size_t i = 0; i < nlabels; i++) {
		if (!valid_ident(labels[i], false) || strncmp(labels[i], "__", 2) == 0 ||
		    (type == METRIC_HISTOGRAM && strcmp(labels[i], "le") == 0)) {
			log_warnx("metrics: %s: bad label name '%s'", name,
			    labels[i] != NULL ? labels[i] : "(null)");
			return false;
		}
		for (size_t j = 0; j < i; j++)
			if (strcmp(labels[i], labels[j]) == 0) {
				log_warnx("metrics: %s: label '%s' given twice", name, labels[i]);
				return false;
			}
	}
	if (type == METRIC_HISTOGRAM) {
		if (nbounds == 0 || bounds == NULL) {
			log_warnx("metrics: %s: a histogram needs at least one bucket bound", name);
			return false;
		}
		for (size_t i = 0; i < nbounds; i++)
			if (!isfinite(bounds[i]) || (i > 0 && !(bounds[i] > bounds[i - 1]))) {
				log_warnx("metrics: %s: bucket bounds must be finite and increasing", name);
				return false;
			}
	}
	return true;
}

static struct series *series_new(struct metric *f, const char *const *values);

static struct metric *
family_register(struct metrics *m, const char *name, const char *help, enum metric_type type,
    size_t nlabels, const char *const *labels, size_t nbounds, const double *bounds)
{
	struct metric *f;

	if (m == NULL || !check_family(name, type, nlabels, labels, nbounds, bounds))
		return NULL;
	pthread_mutex_lock(&m->mu);
	for (f = m->first; f != NULL; f = f->next) {
		if (strcmp(f->name, name) != 0)
			continue;
		if (f->type != type || !same_labels(f, nlabels, labels) ||
		    (type == METRIC_HISTOGRAM && !same_bounds(f, nbounds, bounds))) {
			log_warnx("metrics: %s registered twice with different type, labels or buckets",
			    name);
			f = NULL;
		}
		pthread_mutex_unlock(&m->mu);
		return f;
	}
	f = xcalloc(1, sizeof(*f));
	f->reg = m;
	f->name = xstrdup(name);
	f->help = xstrdup(help != NULL ? help : "");
	f->type = type;
	f->nlabels = nlabels;
	if (nlabels > 0) {
		f->labels = xcalloc(nlabels, sizeof(*f->labels));
		for (size_t i = 0; i < nlabels; i++)
			f->labels[i] = xstrdup(labels[i]);
	}
	if (type == METRIC_HISTOGRAM) {
		f->nbounds = nbounds;
		f->bounds = xcalloc(nbounds, sizeof(*f->bounds));
		memcpy(f->bounds, bounds, nbounds * sizeof(*bounds));
	}
	/* A family without labels has exactly one series: show it as 0 from the start. */
	if (nlabels == 0)
		series_new(f, NULL);
	if (m->last != NULL)
		m->last->next = f;
	else
		m->first = f;
	m->last = f;
	pthread_mutex_unlock(&m->mu);
	return f;
}

struct metric *
metrics_counter(struct metrics *m, const char *name, const char *help, size_t nlabels,
    const char *const *labels)
{
	return family_register(m, name, help, METRIC_COUNTER, nlabels, labels, 0, NULL);
}

struct metric *
metrics_gauge(struct metrics *m, const char *name, const char *help, size_t nlabels,
    const char *const *labels)
{
	return family_register(m, name, help, METRIC_GAUGE, nlabels, labels, 0, NULL);
}

struct metric *
metrics_histogram(struct metrics *m, const char *name, const char *help, size_t nlabels,
    const char *const *labels, size_t nbounds, const double *bounds)
{
	return family_register(m, name, help, METRIC_HISTOGRAM, nlabels, labels, nbounds, bounds);
}

/* Called with the mutex held. */
static struct series *
series_new(struct metric *f, const char *const *values)
{
	struct series *s = xcalloc(1, sizeof(*s));

	if (f->nlabels > 0) {
		s->values = xcalloc(f->nlabels, sizeof(*s->values));
		for (size_t i = 0; i < f->nlabels; i++)
			s->values[i] = xstrdup(values != NULL && values[i] != NULL ? values[i] : "");
	}
	if (f->type == METRIC_HISTOGRAM)
		s->buckets = xcalloc(f->nbounds + 1, sizeof(*s->buckets));
	if (f->last != NULL)
		f->last->next = s;
	else
		f->first = s;
	f->last = s;
	f->nseries++;
	return s;
}

/* Finds the series for values, creating it when create is set; called with the mutex held. */
static struct series *
series_find(struct metric *f, const char *const *values, bool create)
{
	struct series *s;

	for (s = f->first; s != NULL; s = s->next) {
		size_t i;

		for (i = 0; i < f->nlabels; i++) {
			const char *v = values != NULL && values[i] != NULL ? values[i] : "";
			if (strcmp(s->values[i], v) != 0)
				break;
		}
		if (i == f->nlabels)
			return s;
	}
	if (!create)
		return NULL;
	if (f->nseries >= METRICS_MAX_SERIES) {
		if (!f->overflow_logged)
			log_warnx("metrics: %s has %d series; updates for new label values are dropped",
			    f->name, METRICS_MAX_SERIES);
		f->overflow_logged = true;
		return NULL;
	}
	return series_new(f, values);
}

enum op { OP_ADD, OP_SET, OP_OBSERVE };

static void
update(struct metric *f, const char *const *values, enum op op, double v)
{
	struct series *s;

	if (f == NULL || !isfinite(v))
		return;
	if (op == OP_OBSERVE ? f->type != METRIC_HISTOGRAM : f->type == METRIC_HISTOGRAM)
		return;
	if (op == OP_ADD && f->type == METRIC_COUNTER && v < 0)
		return;
	pthread_mutex_lock(&f->reg->mu);
	s = series_find(f, values, true);
	if (s != NULL) {
		switch (op) {
		case OP_ADD:
			s->value += v;
			break;
		case OP_SET:
			if (f->type == METRIC_GAUGE || v >= s->value)
				s->value = v;
			break;
		case OP_OBSERVE: {
			size_t i = 0;

			while (i < f->nbounds && v > f->bounds[i])
				i++;
			s->buckets[i]++;
			s->sum += v;
			s->count++;
			break;
		}
		}
	}
	pthread_mutex_unlock(&f->reg->mu);
}

void
metric_inc(struct metric *f, const char *const *values)
{
	update(f, values, OP_ADD, 1);
}

void
metric_add(struct metric *f, const char *const *values, double v)
{
	update(f, values, OP_ADD, v);
}

void
metric_set(struct metric *f, const char *const *values, double v)
{
	update(f, values, OP_SET, v);
}

void
metric_observe(struct metric *f, const char *const *values, double v)
{
	update(f, values, OP_OBSERVE, v);
}

void
metric_clear(struct metric *f)
{
	struct series *s, *next;

	if (f == NULL || f->nlabels == 0)
		return;
	pthread_mutex_lock(&f->reg->mu);
	for (s = f->first; s != NULL; s = next) {
		next = s->next;
		series_free(s, f->nlabels);
	}
	f->first = f->last = NULL;
	f->nseries = 0;
	pthread_mutex_unlock(&f->reg->mu);
}

bool
metric_value(struct metric *f, const char *const *values, double *out)
{
	struct series *s;

	if (f == NULL)
		return false;
	pthread_mutex_lock(&f->reg->mu);
	s = series_find(f, values, false);
	if (s != NULL)
		*out = f->type == METRIC_HISTOGRAM ? (double)s->count : s->value;
	pthread_mutex_unlock(&f->reg->mu);
	return s != NULL;
}

/*
 * Writes v as Prometheus expects a Go float: NaN, +Inf, -Inf, or the shortest
 * of %.15g / %.17g that reads back exactly. The caller has the C locale in force.
 */
static void
format_double(double v, char *buf, size_t len)
{
	if (isnan(v)) {
		pw_strlcpy(buf, "NaN", len);
		return;
	}
	if (isinf(v)) {
		pw_strlcpy(buf, v > 0 ? "+Inf" : "-Inf", len);
		return;
	}
	snprintf(buf, len, "%.15g", v);
	if (strtod(buf, NULL) != v)
		snprintf(buf, len, "%.17g", v);
}

/* Length of a valid UTF-8 sequence at s (n bytes left), or 0 for a byte that does not start one. */
static size_t
utf8_len(const unsigned char *s, size_t n)
{
	size_t need;
	uint32_t cp, min;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		need = 2; cp = s[0] & 0x1f; min = 0x80;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		need = 3; cp = s[0] & 0x0f; min = 0x800;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		need = 4; cp = s[0] & 0x07; min = 0x10000;
	} else {
		return 0;
	}
	if (n < need)
		return 0;
	for (size_t i = 1; i < need; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return need;
}

/* Writes text escaped for a HELP line (quote false) or a label value (quote true). */
static void
write_escaped(FILE *out, const char *text, bool quote)
{
	const unsigned char *s = (const unsigned char *)text;
	size_t n = strlen(text);

	while (n > 0) {
		size_t k;

		if (*s == '\\')
			fputs("\\\\", out);
		else if (*s == '\n')
			fputs("\\n", out);
		else if (quote && *s == '"')
			fputs("\\\"", out);
		else if ((k = utf8_len(s, n)) == 0)
			fputc('?', out);
		else {
			fwrite(s, 1, k, out);
			s += k;
			n -= k;
			continue;
		}
		s++;
		n--;
	}
}

/* Writes "name{l1="v1",...,extra}" for one sample line, without the value. */
static void
write_sample_name(FILE *out, const struct metric *f, const struct series *s, const char *suffix,
    const char *le)
{
	bool any = f->nlabels > 0 || le != NULL;

	fputs(f->name, out);
	fputs(suffix, out);
	if (!any)
		return;
	fputc('{', out);
	for (size_t i = 0; i < f->nlabels; i++) {
		if (i > 0)
			fputc(',', out);
		fprintf(out, "%s=\"", f->labels[i]);
		write_escaped(out, s->values[i], true);
		fputc('"', out);
	}
	if (le != NULL)
		fprintf(out, "%sle=\"%s\"", f->nlabels > 0 ? "," : "", le);
	fputc('}', out);
}

static void
write_family(FILE *out, const struct metric *f)
{
	char num[64], le[64];

	fprintf(out, "# HELP %s ", f->name);
	write_escaped(out, f->help, false);
	fprintf(out, "\n# TYPE %s %s\n", f->name, type_names[f->type]);
	for (const struct series *s = f->first; s != NULL; s = s->next) {
		uint64_t cumulative = 0;

		if (f->type != METRIC_HISTOGRAM) {
			format_double(s->value, num, sizeof(num));
			write_sample_name(out, f, s, "", NULL);
			fprintf(out, " %s\n", num);
			continue;
		}
		for (size_t i = 0; i <= f->nbounds; i++) {
			cumulative += s->buckets[i];
			if (i < f->nbounds)
				format_double(f->bounds[i], le, sizeof(le));
			else
				pw_strlcpy(le, "+Inf", sizeof(le));
			write_sample_name(out, f, s, "_bucket", le);
			fprintf(out, " %" PRIu64 "\n", cumulative);
		}
		format_double(s->sum, num, sizeof(num));
		write_sample_name(out, f, s, "_sum", NULL);
		fprintf(out, " %s\n", num);
		write_sample_name(out, f, s, "_count", NULL);
		fprintf(out, " %" PRIu64 "\n", s->count);
	}
}

char *
metrics_render(struct metrics *m, size_t *len)
{
	char *buf = NULL;
	size_t size = 0;
	FILE *out;
	locale_t c_locale, old = (locale_t)0;

	out = open_memstream(&buf, &size);
	if (out == NULL)
		return NULL;
	/* Numbers must use '.', whatever locale the process runs in; this thread only. */
	c_locale = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
	if (c_locale != (locale_t)0)
		old = uselocale(c_locale);
	pthread_mutex_lock(&m->mu);
	for (const struct metric *f = m->first; f != NULL; f = f->next)
		write_family(out, f);
	pthread_mutex_unlock(&m->mu);
	if (c_locale != (locale_t)0) {
		uselocale(old);
		freelocale(c_locale);
	}
	if (ferror(out)) {
		fclose(out);
		free(buf);
		return NULL;
	}
	if (fclose(out) != 0) {
		free(buf);
		return NULL;
	}
	if (len != NULL)
		*len = size;
	return buf;
}

void
pw_metrics_register(struct metrics *m, struct pw_metrics *pm, double start_time_s)
{
	static const char *const source[] = { "source" };
	static const char *const source_host_outcome[] = { "source", "host", "outcome" };
	static const char *const queue[] = { "queue" };
	static const char *const backend[] = { "backend" };
	static const char *const outcome[] = { "outcome" };
	static const char *const version[] = { "version" };

	memset(pm, 0, sizeof(*pm));
	pm->fetches = metrics_counter(m, "pricewatch_fetches_total",
	    "Fetches by source, host and outcome (ok, not_modified, http_4xx, http_5xx, timeout, too_large, "
	    "robots_denied, blocked_by_guard, error).", 3, source_host_outcome);
	pm->fetch_seconds = metrics_histogram(m, "pricewatch_fetch_duration_seconds",
	    "Time to fetch one page, redirects included.", 0, NULL,
	    metrics_latency_nbuckets, metrics_latency_buckets);
	pm->last_success = metrics_gauge(m, "pricewatch_source_last_success_timestamp_seconds",
	    "When each source was last crawled without error (Unix time).", 1, source);
	pm->error_streak = metrics_gauge(m, "pricewatch_source_error_streak",
	    "Failed crawls in a row of each source (0 after a success).", 1, source);
	pm->observations = metrics_counter(m, "pricewatch_observations_total",
	    "Listing observations recorded in Redis.", 0, NULL);
	pm->price_changes = metrics_counter(m, "pricewatch_price_changes_total",
	    "Price or availability change points written to a history.", 0, NULL);
	pm->extract_errors = metrics_counter(m, "pricewatch_extract_errors_total",
	    "Pages whose extraction failed.", 0, NULL);
	pm->queue_depth = metrics_gauge(m, "pricewatch_queue_depth",
	    "Entries in each Redis queue (jobs, jobs_claimed, alerts, alerts_dead).", 1, queue);
	pm->inference_seconds = metrics_histogram(m, "pricewatch_inference_duration_seconds",
	    "Time for one model run (a batch of up to 8 images), by backend.", 1, backend,
	    metrics_latency_nbuckets, metrics_latency_buckets);
	pm->inferences = metrics_counter(m, "pricewatch_inferences_total",
	    "Image embeddings computed, by backend.", 1, backend);
	pm->alerts = metrics_counter(m, "pricewatch_alerts_total",
	    "Alert deliveries by outcome (sent, failed, dead).", 1, outcome);
	pm->redis_errors = metrics_counter(m, "pricewatch_redis_errors_total",
	    "Redis commands or connects that failed.", 0, NULL);
	pm->start_time = metrics_gauge(m, "pricewatch_start_time_seconds",
	    "Start time of the process (Unix time).", 0, NULL);
	pm->build_info = metrics_gauge(m, "pricewatch_build_info",
	    "Always 1; the version is in the label.", 1, version);
	metric_set(pm->start_time, NULL, start_time_s);
	metric_set(pm->build_info, METRIC_LABELS(PACKAGE_VERSION), 1);
}
