# bench/local.mk: benchmarks (not run by make check; see bench/README.md and bench/RESULTS.md).
# Files are listed one by one: the bench/ directory of a VPATH build holds build products too.
EXTRA_DIST += bench/README.md bench/RESULTS.md bench/run.sh bench/repeat.sh \
	bench/ort/setup.sh bench/ort/ort-bench.js bench/ort/ort-run.js bench/ort/ort-load.js bench/ort/npy.js

# Local product-page server for the crawl benchmark (bench/README.md): libmicrohttpd with a thread pool.
# `make bench/bench-httpd` in a build directory, then bench/bench-httpd --pages 10000 [--port N] [--threads N].
noinst_PROGRAMS += bench/bench-httpd
bench_bench_httpd_SOURCES = bench/bench-httpd.c
bench_bench_httpd_CFLAGS = $(AM_CFLAGS) $(MHD_CFLAGS)
bench_bench_httpd_LDADD = $(PW_COMMON_LIBS) $(MHD_LIBS) -lpthread

# Product-recognition evaluation (helper "model"; bench/RESULTS.md "Product recognition"): built with the check
# programs, never run by make check. bench/eval-match-gen.py writes the data set into /tmp/pw-eval, then
# `bench/eval-match /tmp/pw-eval` (recall per signal and transformation) or `--throughput N` (images/s).
check_PROGRAMS += bench/eval-match
bench_eval_match_SOURCES = bench/eval-match.c
bench_eval_match_CFLAGS = $(AM_CFLAGS) $(OPENMP_CFLAGS)
bench_eval_match_LDADD = $(PW_DESCRIPTOR_LIBS)
EXTRA_DIST += bench/eval-match-gen.py

# Crawl benchmark (helper "crawl"; bench/RESULTS.md "Crawler"): bench/crawl-bench.sh BUILD_DIR runs bench-httpd,
# this driver of the fetch engine, and curl --parallel on the same URL list.
noinst_PROGRAMS += bench/crawl-bench
bench_crawl_bench_SOURCES = bench/crawl-bench.c
bench_crawl_bench_CFLAGS = $(AM_CFLAGS) $(CURL_CFLAGS)
bench_crawl_bench_LDADD = $(PW_EXTRACT_LIBS) $(PW_CRAWL_LIBS)
EXTRA_DIST += bench/crawl-bench.sh
