/* extract-bench.c: pages per second per core for extract_page_ex over a set of saved pages (bench/extract-bench.sh runs it beside extruct). */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/util.h"
#include "extract/extract.h"

/* One saved page, read once before timing starts. */
struct page {
	char *html;
	size_t len;
	char url[256];
};

static double
now(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One pass over every page; returns the number of records found. */
static size_t
pass(const struct page *pages, size_t n)
{
	size_t records = 0;

	for (size_t i = 0; i < n; i++) {
		struct extract_result res;
		records += extract_page_ex(pages[i].html, pages[i].len, pages[i].url, NULL, &res);
		extract_result_free(&res);
	}
	return records;
}

int
main(int argc, char **argv)
{
	double min_seconds = 5.0, wall0, cpu0, wall, cpu;
	struct page *pages;
	size_t n = 0, rounds = 0, records = 0;
	int first = 1;

	if (argc > 2 && strcmp(argv[1], "--seconds") == 0) {
		char *end;
		min_seconds = strtod(argv[2], &end);
		if (*end != '\0' || min_seconds <= 0) {
			fprintf(stderr, "extract-bench: --seconds needs a positive number\n");
			return 2;
		}
		first = 3;
	}
	if (first >= argc) {
		fprintf(stderr, "usage: extract-bench [--seconds S] PAGE.html...\n");
		return 2;
	}
	pages = xcalloc((size_t)(argc - first), sizeof *pages);
	for (int a = first; a < argc; a++) {
		struct page *p = &pages[n];
		const char *base = strrchr(argv[a], '/');
		p->html = read_file(argv[a], (size_t)32 * 1024 * 1024, &p->len);
		if (p->html == NULL) {
			fprintf(stderr, "extract-bench: cannot read %s\n", argv[a]);
			return 1;
		}
		/* A URL per page so that relative links are resolved, as in the crawler. */
		pw_snprintf(p->url, sizeof p->url, "https://bench.example/%s", base != NULL ? base + 1 : argv[a]);
		n++;
	}
	pass(pages, n);   /* warm-up: libxml2 initialisation, page cache */
	wall0 = now(CLOCK_MONOTONIC);
	cpu0 = now(CLOCK_PROCESS_CPUTIME_ID);
	do {
		records += pass(pages, n);
		rounds++;
	} while (now(CLOCK_MONOTONIC) - wall0 < min_seconds);
	wall = now(CLOCK_MONOTONIC) - wall0;
	cpu = now(CLOCK_PROCESS_CPUTIME_ID) - cpu0;
	printf("{\"engine\":\"pricewatch\",\"pages\":%zu,\"rounds\":%zu,\"records_per_round\":%zu,"
	    "\"wall_s\":%.3f,\"cpu_s\":%.3f,\"pages_per_cpu_s\":%.1f,\"pages_per_wall_s\":%.1f}\n",
	    n, rounds, records / rounds, wall, cpu, (double)(n * rounds) / cpu, (double)(n * rounds) / wall);
	for (size_t i = 0; i < n; i++)
		free(pages[i].html);
	free(pages);
	return 0;
}
