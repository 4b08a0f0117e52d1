/* crawl-bench.c: drives the crawl fetch engine (src/crawl/multi.c) over a URL list, streaming it, and prints throughput, CPU and peak RSS. */
#include <config.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include <curl/curl.h>

#include "common/util.h"
#include "crawl/multi.h"
#include "extract/extract.h"

struct bench {
	bool extract;
	uint64_t done, ok, failed, bytes, listings;
	uint64_t outcome[CRAWL_OUTCOME_N];
};

static void
on_done(void *arg, const struct mfetch_response *resp)
{
	struct bench *b = arg;

	b->done++;
	b->outcome[resp->outcome]++;
	if (resp->outcome != CRAWL_OK) {
		if (b->failed++ < 5)
			fprintf(stderr, "crawl-bench: %s\n", resp->error);
		return;
	}
	b->ok++;
	b->bytes += resp->len;
	if (b->extract) {
		struct extract_result er;

		memset(&er, 0, sizeof(er));
		b->listings += extract_page_ex(resp->body, resp->len, resp->url, NULL, &er);
		extract_result_free(&er);
	}
}

static void
usage(void)
{
	fprintf(stderr, "usage: crawl-bench [--concurrency N] [--per-host N] [--extract] [--robots] URLS_FILE\n"
	    "  fetches every URL of the file (one per line) with the crawler's engine, at most N at once\n"
	    "  (default 200, all on one host), and prints pages/s, CPU per page and peak RSS.\n");
	exit(2);
}

static double
tv_s(struct timeval tv)
{
	return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

int
main(int argc, char **argv)
{
	struct mfetch_config mc = {
		.concurrency = 200,
		.max_per_host = 0,
		.per_host_delay_ms = 0,
		.timeout_ms = 30000,
		.retries = 0,
		.respect_robots = false,
		.user_agent = "pricewatch-bench/" PACKAGE_VERSION,
	};
	struct bench b = { 0 };
	struct mfetch *m;
	struct rusage ru;
	const char *path = NULL;
	char line[4096];
	FILE *f;
	int64_t t0, t1;
	bool eof = false;
	int64_t v;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--concurrency") == 0 && i + 1 < argc && parse_int64(argv[i + 1], 1, 1024, &v)) {
			mc.concurrency = (long)v;
			i++;
		} else if (strcmp(argv[i], "--per-host") == 0 && i + 1 < argc && parse_int64(argv[i + 1], 1, 1024, &v)) {
			mc.max_per_host = (long)v;
			i++;
		} else if (strcmp(argv[i], "--extract") == 0)
			b.extract = true;
		else if (strcmp(argv[i], "--robots") == 0)
			mc.respect_robots = true;
		else if (argv[i][0] != '-' && path == NULL)
			path = argv[i];
		else
			usage();
	}
	if (path == NULL)
		usage();
	if (mc.max_per_host == 0)
		mc.max_per_host = mc.concurrency;
	if ((f = fopen(path, "r")) == NULL) {
		perror(path);
		return 1;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK || (m = mfetch_new(&mc)) == NULL) {
		fprintf(stderr, "crawl-bench: cannot set up libcurl\n");
		return 1;
	}
	t0 = time_mono_ms();
	/* The list is streamed: at most two rounds of requests wait in the engine, whatever its length. */
	while (!eof || mfetch_pending(m) > 0) {
		while (!eof && mfetch_pending(m) < 2 * (size_t)mc.concurrency) {
			struct mfetch_request req = { .url = line, .done = on_done, .arg = &b };

			if (fgets(line, sizeof line, f) == NULL) {
				eof = true;
				break;
			}
			line[strcspn(line, "\r\n")] = '\0';
			if (line[0] != '\0')
				mfetch_add(m, &req);
		}
		(void)mfetch_run(m, 100);
	}
	t1 = time_mono_ms();
	fclose(f);
	mfetch_free(m);
	curl_global_cleanup();
	getrusage(RUSAGE_SELF, &ru);
	{
		double wall = (double)(t1 - t0) / 1000.0, cpu = tv_s(ru.ru_utime) + tv_s(ru.ru_stime);

		printf("pages %" PRIu64 " ok %" PRIu64 " failed %" PRIu64 " bytes %" PRIu64 " listings %" PRIu64
		    " wall_s %.3f pages_per_s %.0f cpu_s %.3f cpu_ms_per_page %.3f maxrss_kib %ld\n",
		    b.done, b.ok, b.failed, b.bytes, b.listings, wall, wall > 0 ? (double)b.done / wall : 0.0, cpu,
		    b.done > 0 ? cpu * 1000.0 / (double)b.done : 0.0, ru.ru_maxrss);
	}
	return b.failed > 0 ? 1 : 0;
}
