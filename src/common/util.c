/* util.c: checked allocation, bounded strings, clocks, and strict parsers for durations, sizes, booleans and integers. */
#include <config.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/util.h"

void *
xmalloc(size_t n)
{
	/* malloc(0) may return NULL; ask for one byte so NULL always means exhaustion. */
	void *p = malloc(n ? n : 1);

	if (p == NULL)
		fatalx("out of memory allocating %zu bytes", n);
	return p;
}

void *
xcalloc(size_t nmemb, size_t size)
{
	void *p;

	if (nmemb == 0 || size == 0)
		nmemb = size = 1;
	p = calloc(nmemb, size);
	if (p == NULL)
		fatalx("out of memory allocating %zu x %zu bytes", nmemb, size);
	return p;
}

void *
xreallocarray(void *p, size_t nmemb, size_t size)
{
	size_t total;
	void *np;

	if (__builtin_mul_overflow(nmemb, size, &total))
		fatalx("allocation size overflow: %zu x %zu bytes", nmemb, size);
	np = realloc(p, total ? total : 1);
	if (np == NULL)
		fatalx("out of memory allocating %zu x %zu bytes", nmemb, size);
	return np;
}

char *
xstrdup(const char *s)
{
	char *p = strdup(s);

	if (p == NULL)
		fatalx("out of memory copying a string");
	return p;
}

char *
xstrndup(const char *s, size_t n)
{
	char *p = strndup(s, n);

	if (p == NULL)
		fatalx("out of memory copying a string");
	return p;
}

char *
xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *out;
	int r;

	va_start(ap, fmt);
	r = vasprintf(&out, fmt, ap);
	va_end(ap);
	if (r < 0)
		fatalx("out of memory formatting a string");
	return out;
}

size_t
pw_strlcpy(char *dst, const char *src, size_t dstsize)
{
	size_t len = strlen(src);

	if (dstsize > 0) {
		size_t n = len < dstsize - 1 ? len : dstsize - 1;
		memcpy(dst, src, n);
		dst[n] = '\0';
	}
	return len;
}

bool
pw_snprintf(char *dst, size_t dstsize, const char *fmt, ...)
{
	va_list ap;
	int r;

	if (dstsize == 0)
		return false;
	va_start(ap, fmt);
	r = vsnprintf(dst, dstsize, fmt, ap);
	va_end(ap);
	if (r < 0) {
		dst[0] = '\0';
		return false;
	}
	return (size_t)r < dstsize;
}

static int64_t
timespec_ms(clockid_t clock)
{
	struct timespec ts;

	if (clock_gettime(clock, &ts) != 0)
		fatal("clock_gettime");
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
time_now_ms(void)
{
	return timespec_ms(CLOCK_REALTIME);
}

int64_t
time_mono_ms(void)
{
	return timespec_ms(CLOCK_MONOTONIC);
}

void
time_format_iso(int64_t ms, char *buf, size_t buflen)
{
	/* Floor division so times before 1970 land on the right second. */
	time_t secs = (time_t)(ms / 1000 - (ms % 1000 < 0 ? 1 : 0));
	struct tm tm;

	if (buflen == 0)
		return;
	if (gmtime_r(&secs, &tm) == NULL ||
	    strftime(buf, buflen, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		buf[0] = '\0';
}

/* Reads exactly n decimal digits at *sp into *out and advances; false otherwise. */
static bool
take_digits(const char **sp, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)(*sp)[i]))
			return false;
		v = v * 10 + ((*sp)[i] - '0');
	}
	*sp += n;
	*out = v;
	return true;
}

bool
time_parse_iso(const char *s, int64_t *ms_out)
{
	int year, mon, day, hour = 0, min = 0, sec = 0;
	const char *p = s;
	struct tm tm, check;
	time_t t;

	if (s == NULL || *s == '\0')
		return false;

	/* All digits and not a date: epoch seconds. */
	if (strspn(s, "0123456789") == strlen(s)) {
		int64_t secs;

		if (!parse_int64(s, 0, INT64_MAX / 1000, &secs))
			return false;
		*ms_out = secs * 1000;
		return true;
	}

	if (!take_digits(&p, 4, &year) || *p++ != '-' || !take_digits(&p, 2, &mon) ||
	    *p++ != '-' || !take_digits(&p, 2, &day))
		return false;
	if (*p == 'T') {
		p++;
		if (!take_digits(&p, 2, &hour) || *p++ != ':' || !take_digits(&p, 2, &min))
			return false;
		if (*p == ':') {
			p++;
			if (!take_digits(&p, 2, &sec))
				return false;
		}
		if (*p == 'Z')
			p++;
	}
	if (*p != '\0')
		return false;
	if (mon < 1 || mon > 12 || day < 1 || day > 31 || hour > 23 || min > 59 || sec > 59)
		return false;

	memset(&tm, 0, sizeof(tm));
	tm.tm_year = year - 1900;
	tm.tm_mon = mon - 1;
	tm.tm_mday = day;
	tm.tm_hour = hour;
	tm.tm_min = min;
	tm.tm_sec = sec;
	t = timegm(&tm);
	/* timegm normalises "02-31" to March; a round trip catches such dates. */
	if (gmtime_r(&t, &check) == NULL || check.tm_mday != day || check.tm_mon != mon - 1)
		return false;
	*ms_out = (int64_t)t * 1000;
	return true;
}

/* Parses a run of decimal digits into an unsigned value; false on overflow or no digits. */
static bool
take_uint(const char **sp, uint64_t *out)
{
	const char *p = *sp;
	uint64_t v = 0;

	if (!isdigit((unsigned char)*p))
		return false;
	while (isdigit((unsigned char)*p)) {
		if (__builtin_mul_overflow(v, 10, &v) ||
		    __builtin_add_overflow(v, (uint64_t)(*p - '0'), &v))
			return false;
		p++;
	}
	*sp = p;
	*out = v;
	return true;
}

bool
parse_duration_ms(const char *s, int64_t *ms_out)
{
	static const struct {
		const char *unit;
		uint64_t ms;
	} units[] = {
		/* "ms" before "m" so the longest unit wins. */
		{ "ms", 1 },
		{ "s", 1000 },
		{ "m", 60 * 1000 },
		{ "h", 3600 * 1000 },
		{ "d", 86400 * 1000 },
		{ "w", 7 * 86400 * 1000 },
	};
	const char *p = s;
	uint64_t total = 0;

	if (s == NULL || *s == '\0')
		return false;

	/* A bare number counts seconds. */
	if (strspn(s, "0123456789") == strlen(s)) {
		uint64_t v;

		if (!take_uint(&p, &v) || __builtin_mul_overflow(v, 1000, &total) ||
		    total > INT64_MAX)
			return false;
		*ms_out = (int64_t)total;
		return true;
	}

	/* Otherwise one or more NUMBER UNIT pairs, summed: "1h30m". */
	while (*p != '\0') {
		uint64_t v, part;
		size_t i;

		if (!take_uint(&p, &v))
			return false;
		for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
			size_t n = strlen(units[i].unit);
			if (strncmp(p, units[i].unit, n) == 0 && !isalpha((unsigned char)p[n]))
				break;
		}
		if (i == sizeof(units) / sizeof(units[0]))
			return false;
		p += strlen(units[i].unit);
		if (__builtin_mul_overflow(v, units[i].ms, &part) ||
		    __builtin_add_overflow(total, part, &total) || total > INT64_MAX)
			return false;
	}
	*ms_out = (int64_t)total;
	return true;
}

bool
parse_size(const char *s, uint64_t *bytes_out)
{
	static const struct {
		const char *unit;
		uint64_t mult;
	} units[] = {
		{ "", 1 },
		{ "B", 1 },
		{ "kB", 1000ULL },
		{ "KB", 1000ULL },
		{ "KiB", 1024ULL },
		{ "MB", 1000ULL * 1000 },
		{ "MiB", 1024ULL * 1024 },
		{ "GB", 1000ULL * 1000 * 1000 },
		{ "GiB", 1024ULL * 1024 * 1024 },
		{ "TB", 1000ULL * 1000 * 1000 * 1000 },
		{ "TiB", 1024ULL * 1024 * 1024 * 1024 },
	};
	const char *p = s;
	uint64_t v;

	if (s == NULL || !take_uint(&p, &v))
		return false;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(p, units[i].unit) == 0)
			return !__builtin_mul_overflow(v, units[i].mult, bytes_out);
	}
	return false;
}

bool
parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };

	if (s == NULL)
		return false;
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = true;
			return true;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = false;
			return true;
		}
	}
	return false;
}

bool
parse_int64(const char *s, int64_t min, int64_t max, int64_t *out)
{
	const char *digits;
	char *end;
	long long v;

	if (s == NULL)
		return false;
	/* strtoll would skip leading blanks and accept "+-"; insist on [-+]?DIGITS. */
	digits = (*s == '-' || *s == '+') ? s + 1 : s;
	if (!isdigit((unsigned char)*digits))
		return false;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return false;
	*out = (int64_t)v;
	return true;
}

char *
read_file(const char *path, size_t maxlen, size_t *len_out)
{
	struct stat st;
	size_t cap, len = 0;
	char *buf;
	int fd, saved;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) != 0) {
		saved = errno;
		close(fd);
		errno = saved;
		return NULL;
	}
	if (S_ISREG(st.st_mode) && (uint64_t)st.st_size > maxlen) {
		close(fd);
		errno = EFBIG;
		return NULL;
	}
	if (maxlen == SIZE_MAX) {
		close(fd);
		errno = EINVAL;
		return NULL;
	}

	/* Read up to maxlen+1 bytes: the extra byte tells a file that grew (or a pipe) is too big. */
	cap = S_ISREG(st.st_mode) ? (size_t)st.st_size + 1 : 4096;
	if (cap > maxlen + 1)
		cap = maxlen + 1;
	buf = xmalloc(cap + 1);
	for (;;) {
		ssize_t n;

		if (len == cap) {
			if (cap == maxlen + 1)
				break;
			cap = cap > (maxlen + 1) / 2 ? maxlen + 1 : cap * 2;
			buf = xreallocarray(buf, cap + 1, 1);
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			saved = errno;
			free(buf);
			close(fd);
			errno = saved;
			return NULL;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	if (len > maxlen) {
		free(buf);
		errno = EFBIG;
		return NULL;
	}
	buf[len] = '\0';
	if (len_out != NULL)
		*len_out = len;
	return buf;
}
