/* progress.h: a progress bar for long CLI operations on a terminal, and plain lines when output is not a tty. */
#ifndef PW_CLI_PROGRESS_H
#define PW_CLI_PROGRESS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/*
 * One progress display on a stream (stderr in the CLI). On a terminal it
 * redraws one line, "label [#####     ] 12/40  30%  3.1/s  eta 9s  current item",
 * at most ten times a second; otherwise it prints nothing until progress_done,
 * so logs and pipes stay line-oriented (callers print their own per-item lines).
 * NO_COLOR and TERM=dumb turn the bar into plain mode as well.
 */
struct progress {
	FILE *f;                   /* borrowed */
	bool tty;                  /* drawing a bar */
	char label[48];
	uint64_t total;            /* 0: unknown (a counter with a rate instead of a bar) */
	uint64_t done;
	int64_t start_ms, last_draw_ms;
	size_t last_width;         /* columns drawn last time, to blank leftovers */
};

/* Starts a display of total items (0: unknown) on f. force_tty < 0: detect, 0: plain, 1: bar (tests). */
void progress_start(struct progress *p, FILE *f, const char *label, uint64_t total, int force_tty);
/* Sets the done count and the item being worked on (may be NULL); redraws when due. */
void progress_update(struct progress *p, uint64_t done, const char *item);
/* Adds one to the done count. */
void progress_step(struct progress *p, const char *item);
/* Clears the bar line on a tty; the caller prints the summary afterwards. */
void progress_done(struct progress *p);
/* Renders the bar line into buf for done/total at elapsed_ms with width columns (for tests); returns buf. */
char *progress_render(char *buf, size_t len, const char *label, uint64_t done, uint64_t total,
    int64_t elapsed_ms, const char *item, size_t width);

#endif
