/* progress.c: draws the CLI progress bar on a terminal and stays silent (line-oriented callers) otherwise. */
#include <config.h>

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/progress.h"
#include "common/util.h"

#define BAR_COLS 24
#define REDRAW_MS 100

void
progress_start(struct progress *p, FILE *f, const char *label, uint64_t total, int force_tty)
{
	const char *term = getenv("TERM");

	memset(p, 0, sizeof(*p));
	p->f = f;
	if (force_tty >= 0)
		p->tty = force_tty == 1;
	else
		p->tty = isatty(fileno(f)) && getenv("NO_COLOR") == NULL &&
		    !(term != NULL && strcmp(term, "dumb") == 0);
	pw_snprintf(p->label, sizeof(p->label), "%s", label != NULL ? label : "");
	p->total = total;
	p->start_ms = time_mono_ms();
	p->last_draw_ms = -REDRAW_MS;
}

/* Appends formatted text at *off, never past len. */
static void
put(char *buf, size_t len, size_t *off, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void
put(char *buf, size_t len, size_t *off, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (*off + 1 >= len)
		return;
	va_start(ap, fmt);
	n = vsnprintf(buf + *off, len - *off, fmt, ap);
	va_end(ap);
	if (n > 0)
		*off = *off + (size_t)n >= len ? len - 1 : *off + (size_t)n;
}

char *
progress_render(char *buf, size_t len, const char *label, uint64_t done, uint64_t total,
    int64_t elapsed_ms, const char *item, size_t width)
{
	size_t off = 0;
	double rate = elapsed_ms > 0 ? (double)done * 1000.0 / (double)elapsed_ms : 0.0;

	if (len == 0)
		return buf;
	buf[0] = '\0';
	put(buf, len, &off, "%s ", label);
	if (total > 0) {
		uint64_t shown = done > total ? total : done;
		size_t fill = (size_t)(shown * BAR_COLS / total);

		put(buf, len, &off, "[");
		for (size_t i = 0; i < BAR_COLS; i++)
			put(buf, len, &off, "%s", i < fill ? "#" : " ");
		put(buf, len, &off, "] %llu/%llu %3u%%", (unsigned long long)done,
		    (unsigned long long)total, (unsigned)(shown * 100 / total));
		if (rate > 0.0 && shown < total)
			put(buf, len, &off, "  eta %.0fs", (double)(total - shown) / rate);
	} else {
		put(buf, len, &off, "%llu", (unsigned long long)done);
	}
	put(buf, len, &off, "  %.1f/s", rate);
	if (item != NULL && *item != '\0') {
		size_t room = width > off + 3 ? width - off - 2 : 0;

		if (width == 0 || room >= 4) {
			char *clip = out_display_clip(item, width == 0 ? 0 : room);

			put(buf, len, &off, "  %s", clip);
			free(clip);
		}
	}
	return buf;
}

static void
draw(struct progress *p, const char *item, bool force)
{
	int64_t now = time_mono_ms();
	size_t width = out_terminal_width(fileno(p->f));
	char line[512];
	size_t w;

	if (!p->tty || (!force && now - p->last_draw_ms < REDRAW_MS))
		return;
	p->last_draw_ms = now;
	progress_render(line, sizeof(line), p->label, p->done, p->total, now - p->start_ms, item,
	    width > 1 ? width - 1 : 79);
	w = out_display_width(line);
	fprintf(p->f, "\r%s", line);
	for (size_t i = w; i < p->last_width; i++)
		fputc(' ', p->f);
	p->last_width = w;
	fflush(p->f);
}

void
progress_update(struct progress *p, uint64_t done, const char *item)
{
	p->done = done;
	draw(p, item, p->total > 0 && done >= p->total);
}

void
progress_step(struct progress *p, const char *item)
{
	progress_update(p, p->done + 1, item);
}

void
progress_done(struct progress *p)
{
	if (!p->tty || p->last_width == 0)
		return;
	fputc('\r', p->f);
	for (size_t i = 0; i < p->last_width; i++)
		fputc(' ', p->f);
	fputc('\r', p->f);
	fflush(p->f);
	p->last_width = 0;
}
