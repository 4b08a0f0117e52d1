/* output.c: the CLI's shared emitters: aligned UTF-8 tables, RFC 4180 CSV and JSON through json-c. */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <json-c/json.h>

#include "cli/cli.h"
#include "common/util.h"

/* Column gap in tables, and the narrowest a clipped last column may become. */
#define OUT_GAP 2
#define OUT_MIN_CLIP 10

/*
 * Decodes one UTF-8 sequence at s (len bytes left). Returns the code point and
 * sets *n to its length, or returns -1 with *n = 1 for a byte that does not start
 * a valid, shortest-form sequence (so callers can step over bad input byte by byte).
 */
static int32_t
utf8_decode(const unsigned char *s, size_t len, size_t *n)
{
	int32_t cp, min;
	size_t need;

	*n = 1;
	if (s[0] < 0x80)
		return s[0];
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		need = 2; cp = s[0] & 0x1f; min = 0x80;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		need = 3; cp = s[0] & 0x0f; min = 0x800;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		need = 4; cp = s[0] & 0x07; min = 0x10000;
	} else {
		return -1;
	}
	if (len < need)
		return -1;
	for (size_t i = 1; i < need; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return -1;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return -1;
	*n = need;
	return cp;
}

struct cp_range {
	int32_t lo, hi;
};

/* Zero-width: combining marks, zero-width joiners/spaces and variation selectors. */
static const struct cp_range zero_width[] = {
	{ 0x0300, 0x036f }, { 0x0483, 0x0489 }, { 0x0591, 0x05bd }, { 0x0610, 0x061a },
	{ 0x064b, 0x065f }, { 0x0e31, 0x0e31 }, { 0x0e34, 0x0e3a }, { 0x0e47, 0x0e4e },
	{ 0x1ab0, 0x1aff }, { 0x1dc0, 0x1dff }, { 0x200b, 0x200d }, { 0x20d0, 0x20ff },
	{ 0x302a, 0x302f }, { 0x3099, 0x309a }, { 0xfe00, 0xfe0f }, { 0xfe20, 0xfe2f },
	{ 0xe0100, 0xe01ef },
};

/* Two columns: East Asian Wide/Fullwidth blocks and the emoji planes terminals draw wide. */
static const struct cp_range double_width[] = {
	{ 0x1100, 0x115f }, { 0x231a, 0x231b }, { 0x2329, 0x232a }, { 0x23e9, 0x23ec },
	{ 0x2e80, 0x303e }, { 0x3041, 0x33ff }, { 0x3400, 0x4dbf }, { 0x4e00, 0x9fff },
	{ 0xa000, 0xa4cf }, { 0xa960, 0xa97f }, { 0xac00, 0xd7a3 }, { 0xf900, 0xfaff },
	{ 0xfe10, 0xfe19 }, { 0xfe30, 0xfe6f }, { 0xff00, 0xff60 }, { 0xffe0, 0xffe6 },
	{ 0x1f300, 0x1f64f }, { 0x1f680, 0x1f6ff }, { 0x1f900, 0x1f9ff }, { 0x20000, 0x2fffd },
	{ 0x30000, 0x3fffd },
};

static bool
in_ranges(int32_t cp, const struct cp_range *r, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (cp >= r[i].lo && cp <= r[i].hi)
			return true;
	return false;
}

/*
 * True for characters a terminal must not receive from page data: C0/C1 controls
 * (escape sequences), DEL, and the bidi overrides that reorder what follows.
 */
static bool
is_unsafe(int32_t cp)
{
	return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || (cp >= 0x202a && cp <= 0x202e) ||
	    (cp >= 0x2066 && cp <= 0x2069);
}

/* Columns one code point takes once sanitised (an unsafe one is shown as '?'). */
static size_t
cp_width(int32_t cp)
{
	if (cp < 0 || is_unsafe(cp))
		return 1;
	if (in_ranges(cp, zero_width, sizeof zero_width / sizeof zero_width[0]))
		return 0;
	if (in_ranges(cp, double_width, sizeof double_width / sizeof double_width[0]))
		return 2;
	return 1;
}

size_t
out_display_width(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t len = strlen(s), w = 0, n;

	for (size_t i = 0; i < len; i += n)
		w += cp_width(utf8_decode(p + i, len - i, &n));
	return w;
}

char *
out_display_clip(const char *s, size_t max_width)
{
	static const char ellipsis[] = "\xe2\x80\xa6";   /* U+2026, one column */
	const unsigned char *p = (const unsigned char *)s;
	size_t len = strlen(s), n, w = 0, o = 0, limit;
	bool clip = max_width > 0 && out_display_width(s) > max_width;
	char *buf;

	/* Worst case every byte stays, plus the ellipsis and NUL. */
	buf = xmalloc(len + sizeof ellipsis);
	limit = clip ? max_width - 1 : (size_t)-1;
	for (size_t i = 0; i < len; i += n) {
		int32_t cp = utf8_decode(p + i, len - i, &n);
		size_t cw = cp_width(cp);

		if (w + cw > limit)
			break;
		w += cw;
		if (cp < 0 || is_unsafe(cp)) {
			buf[o++] = '?';
		} else {
			memcpy(buf + o, p + i, n);
			o += n;
		}
	}
	if (clip) {
		memcpy(buf + o, ellipsis, sizeof ellipsis - 1);
		o += sizeof ellipsis - 1;
	}
	buf[o] = '\0';
	return buf;
}

char *
out_utf8_fix(const char *s)
{
	static const char replacement[] = "\xef\xbf\xbd";   /* U+FFFD */
	const unsigned char *p = (const unsigned char *)s;
	size_t len = strlen(s), n, o = 0;
	char *buf;

	/* Each bad byte grows to 3 bytes at most; len <= SIZE_MAX / 4 is certain for a C string here. */
	buf = xreallocarray(NULL, len + 1, 3);
	for (size_t i = 0; i < len; i += n) {
		if (utf8_decode(p + i, len - i, &n) < 0) {
			memcpy(buf + o, replacement, 3);
			o += 3;
		} else {
			memcpy(buf + o, p + i, n);
			o += n;
		}
	}
	buf[o] = '\0';
	return buf;
}

void
out_csv_field(FILE *f, const char *s)
{
	if (s == NULL)
		return;
	/* RFC 4180: quote a field holding a comma, quote or line break, and double its quotes. */
	if (strpbrk(s, ",\"\r\n") == NULL) {
		fputs(s, f);
		return;
	}
	fputc('"', f);
	for (const char *p = s; *p != '\0'; p++) {
		if (*p == '"')
			fputc('"', f);
		fputc(*p, f);
	}
	fputc('"', f);
}

void
out_csv_row(FILE *f, const char *const *fields, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			fputc(',', f);
		out_csv_field(f, fields[i]);
	}
	fputs("\r\n", f);
}

void
out_table_init(struct out_table *t, size_t ncols, const char *const *headers,
    const enum out_align *align)
{
	memset(t, 0, sizeof *t);
	t->ncols = ncols;
	t->headers = headers;
	t->align = align;
}

void
out_table_add(struct out_table *t, const char *const *row)
{
	if (t->nrows == t->cap) {
		t->cap = t->cap == 0 ? 16 : t->cap * 2;
		t->cells = xreallocarray(t->cells, t->cap, t->ncols * sizeof *t->cells);
	}
	for (size_t c = 0; c < t->ncols; c++)
		t->cells[t->nrows * t->ncols + c] = out_display_clip(row[c] != NULL ? row[c] : "-", 0);
	t->nrows++;
}

static void
pad(FILE *f, size_t n)
{
	while (n-- > 0)
		fputc(' ', f);
}

void
out_table_print(FILE *f, const struct out_table *t, size_t width)
{
	size_t *w, fixed = 0, last_max = 0;

	if (t->ncols == 0)
		return;
	w = xcalloc(t->ncols, sizeof *w);
	for (size_t c = 0; c < t->ncols; c++) {
		w[c] = out_display_width(t->headers[c]);
		for (size_t r = 0; r < t->nrows; r++) {
			size_t cw = out_display_width(t->cells[r * t->ncols + c]);

			if (cw > w[c])
				w[c] = cw;
		}
	}
	/* Only the last column is clipped, so the columns scripts cut by position stay whole. */
	for (size_t c = 0; c + 1 < t->ncols; c++)
		fixed += w[c] + OUT_GAP;
	if (width > 0) {
		last_max = width > fixed ? width - fixed : 0;
		if (last_max < OUT_MIN_CLIP)
			last_max = OUT_MIN_CLIP;
	}

	for (size_t r = 0; r <= t->nrows; r++) {
		for (size_t c = 0; c < t->ncols; c++) {
			const char *cell = r == 0 ? t->headers[c] : t->cells[(r - 1) * t->ncols + c];
			bool right = t->align != NULL && t->align[c] == OUT_RIGHT;
			bool last = c + 1 == t->ncols;
			char *clipped = NULL;
			size_t cw;

			if (last && last_max > 0)
				cell = clipped = out_display_clip(cell, last_max);
			cw = out_display_width(cell);
			if (right)
				pad(f, w[c] - cw);
			fputs(cell, f);
			if (!last)
				pad(f, (right ? 0 : w[c] - cw) + OUT_GAP);
			free(clipped);
		}
		fputc('\n', f);
	}
	free(w);
}

void
out_table_free(struct out_table *t)
{
	for (size_t i = 0; i < t->nrows * t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
	memset(t, 0, sizeof *t);
}

size_t
out_terminal_width(int fd)
{
	struct winsize ws;
	const char *env;
	int64_t cols;

	if (fd >= 0 && isatty(fd) && ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
		return ws.ws_col;
	env = getenv("COLUMNS");
	if (env != NULL && parse_int64(env, 1, 100000, &cols))
		return (size_t)cols;
	return 0;
}

void
out_money(const struct money *m, char *buf, size_t buflen)
{
	buf[0] = '\0';
	if (m->currency[0] == '\0')
		return;
	if (!money_format_decimal(m, buf, buflen))
		buf[0] = '\0';
}

void
out_time(int64_t ms, char *buf, size_t buflen)
{
	buf[0] = '\0';
	if (ms > 0)
		time_format_iso(ms, buf, buflen);
}

int
cli_common_option(struct cli_ctx *ctx, const struct cmd_entry *entry, int c, char **argv)
{
	switch (c) {
	case CLI_OPT_JSON:
	case CLI_OPT_CSV:
		return cli_set_format(ctx, c == CLI_OPT_JSON ? CLI_FORMAT_JSON : CLI_FORMAT_CSV) ? -1 : CLI_EXIT_USAGE;
	case 'h':
		cmd_print_help(ctx->out, entry);
		return CLI_EXIT_OK;
	default:
		return cli_option_error(ctx, entry, c, argv);
	}
}

struct json_object *
out_json_str(const char *s)
{
	struct json_object *o;
	char *fixed;

	if (s == NULL)
		return NULL;
	fixed = out_utf8_fix(s);
	o = json_object_new_string(fixed);
	free(fixed);
	return o;
}

void
out_json_add_str(struct json_object *o, const char *key, const char *s)
{
	json_object_object_add(o, key, s != NULL && s[0] != '\0' ? out_json_str(s) : NULL);
}

/* Adds NAME (ISO text) and NAME_ms (integer), or nulls for a time never set. */
static void
json_add_time(struct json_object *o, const char *name, int64_t ms)
{
	char key[64], iso[32];

	out_time(ms, iso, sizeof iso);
	out_json_add_str(o, name, iso);
	if (!pw_snprintf(key, sizeof key, "%s_ms", name))
		return;
	json_object_object_add(o, key, ms > 0 ? json_object_new_int64(ms) : NULL);
}

/* Adds price (exact decimal text), price_minor (integer) and currency, or nulls with no price. */
static void
json_add_money(struct json_object *o, const struct money *m)
{
	char text[64];

	out_money(m, text, sizeof text);
	if (text[0] == '\0') {
		json_object_object_add(o, "price", NULL);
		json_object_object_add(o, "price_minor", NULL);
		json_object_object_add(o, "currency", NULL);
		return;
	}
	json_object_object_add(o, "price", json_object_new_string(text));
	json_object_object_add(o, "price_minor", json_object_new_int64(m->minor));
	json_object_object_add(o, "currency", json_object_new_string(m->currency));
}

struct json_object *
out_json_listing(const struct listing *l)
{
	struct json_object *o = json_object_new_object();

	out_json_add_str(o, "id", l->id);
	out_json_add_str(o, "source", l->source);
	out_json_add_str(o, "url", l->url);
	out_json_add_str(o, "title", l->title);
	out_json_add_str(o, "brand", l->brand);
	out_json_add_str(o, "sku", l->sku);
	out_json_add_str(o, "gtin", l->gtin);
	out_json_add_str(o, "mpn", l->mpn);
	out_json_add_str(o, "image_url", l->image_url);
	out_json_add_str(o, "extractor", l->extractor);
	json_add_money(o, &l->price);
	json_object_object_add(o, "availability",
	    json_object_new_string(availability_name(l->availability)));
	json_add_time(o, "first_seen", l->first_seen_ms);
	json_add_time(o, "last_seen", l->last_seen_ms);
	json_add_time(o, "last_change", l->last_change_ms);
	return o;
}

struct json_object *
out_json_history_point(const struct history_point *p)
{
	struct json_object *o = json_object_new_object();
	char iso[32];

	time_format_iso(p->time_ms, iso, sizeof iso);
	json_object_object_add(o, "time", json_object_new_string(iso));
	json_object_object_add(o, "time_ms", json_object_new_int64(p->time_ms));
	json_add_money(o, &p->price);
	json_object_object_add(o, "availability",
	    json_object_new_string(availability_name(p->availability)));
	return o;
}

void
out_json_print(FILE *f, struct json_object *obj)
{
	fputs(json_object_to_json_string_ext(obj,
	    JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE), f);
	fputc('\n', f);
	json_object_put(obj);
}

bool
out_color_wanted(FILE *f, enum out_color mode)
{
	const char *no_color = getenv("NO_COLOR");
	int fd;

	/* https://no-color.org: any non-empty NO_COLOR turns colour off, whatever else asks for it. */
	if (mode == OUT_COLOR_NEVER || (no_color != NULL && no_color[0] != '\0'))
		return false;
	if (mode == OUT_COLOR_ALWAYS)
		return true;
	fd = fileno(f);
	return fd >= 0 && isatty(fd);
}

bool
out_color_parse(const char *text, enum out_color *mode)
{
	if (text == NULL || strcmp(text, "auto") == 0)
		*mode = OUT_COLOR_AUTO;
	else if (strcmp(text, "always") == 0 || strcmp(text, "yes") == 0)
		*mode = OUT_COLOR_ALWAYS;
	else if (strcmp(text, "never") == 0 || strcmp(text, "no") == 0)
		*mode = OUT_COLOR_NEVER;
	else
		return false;
	return true;
}

size_t
out_sparkline(const int64_t *values, const bool *present, size_t n, char *buf, size_t buflen)
{
	/* U+2581..U+2588, three bytes each in UTF-8. */
	static const char *const bars[] = { "▁", "▂", "▃", "▄", "▅", "▆", "▇", "█" };
	int64_t lo = INT64_MAX, hi = INT64_MIN;
	size_t used = 0, drawn = 0;

	if (buflen == 0)
		return 0;
	buf[0] = '\0';
	for (size_t i = 0; i < n; i++)
		if (present[i]) {
			lo = values[i] < lo ? values[i] : lo;
			hi = values[i] > hi ? values[i] : hi;
		}
	for (size_t i = 0; i < n; i++) {
		const char *cell = " ";
		size_t len;

		if (present[i]) {
			/* Only the bar height is a double: the amounts themselves are never printed from it. */
			double f = hi > lo ? ((double)values[i] - (double)lo) / ((double)hi - (double)lo) : 0.5;
			int level = (int)(f * 7.0 + 0.5);

			cell = bars[level < 0 ? 0 : level > 7 ? 7 : level];
		}
		len = strlen(cell);
		if (used + len + 1 > buflen)
			break;
		memcpy(buf + used, cell, len + 1);
		used += len;
		drawn++;
	}
	return drawn;
}
