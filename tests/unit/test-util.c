/* test-util.c: durations, sizes, booleans, integers, ISO times, bounded strings and read_file. */
#include <criterion/criterion.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "common/util.h"

Test(util, durations)
{
	static const struct {
		const char *text;
		int64_t ms;
	} ok[] = {
		{ "250ms", 250 }, { "30s", 30000 }, { "15m", 900000 }, { "1h", 3600000 },
		{ "7d", 604800000 }, { "2w", 1209600000 }, { "0", 0 }, { "45", 45000 },
		{ "0s", 0 }, { "1h30m", 5400000 }, { "1m500ms", 60500 },
		{ "9223372036854775807ms", INT64_MAX },
	};
	const char *bad[] = {
		"", "-1s", "-5", "1x", "s", "1 s", " 1s", "1s ", "1.5h", "1hh", "ms", "1mss",
		"9223372036854775808ms", "9223372036854775807s", "99999999999999999999", "1e3",
		"+1s", "1H",
	};
	int64_t v;

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		cr_assert(parse_duration_ms(ok[i].text, &v), "%s", ok[i].text);
		cr_expect_eq(v, ok[i].ms, "%s -> %lld", ok[i].text, (long long)v);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_expect_not(parse_duration_ms(bad[i], &v), "accepted '%s'", bad[i]);
	cr_expect_not(parse_duration_ms(NULL, &v));
}

Test(util, sizes)
{
	static const struct {
		const char *text;
		uint64_t bytes;
	} ok[] = {
		{ "512", 512 }, { "0", 0 }, { "512B", 512 }, { "10kB", 10000 }, { "10KB", 10000 },
		{ "64KiB", 65536 }, { "5MB", 5000000 }, { "8MiB", 8388608 },
		{ "1GB", 1000000000ULL }, { "1GiB", 1073741824ULL },
		{ "18446744073709551615", UINT64_MAX }, { "16777215TiB", 16777215ULL << 40 },
	};
	const char *bad[] = {
		"", "-1", "-1KiB", "1kib", "1 MiB", "MiB", "1.5MiB", "1Kb", "1XB", " 1", "1 ",
		"18446744073709551616", "17179869184GiB", "1e6", "+1",
	};
	uint64_t v;

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		cr_assert(parse_size(ok[i].text, &v), "%s", ok[i].text);
		cr_expect_eq(v, ok[i].bytes, "%s -> %llu", ok[i].text, (unsigned long long)v);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_expect_not(parse_size(bad[i], &v), "accepted '%s'", bad[i]);
}

Test(util, booleans)
{
	const char *yes[] = { "yes", "YES", "true", "True", "on", "1" };
	const char *no[] = { "no", "No", "false", "FALSE", "off", "0" };
	const char *bad[] = { "", "y", "n", "2", "yes ", "enable", "nope" };
	bool b;

	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		b = false;
		cr_assert(parse_bool(yes[i], &b), "%s", yes[i]);
		cr_expect(b, "%s", yes[i]);
	}
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
		b = true;
		cr_assert(parse_bool(no[i], &b), "%s", no[i]);
		cr_expect_not(b, "%s", no[i]);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_expect_not(parse_bool(bad[i], &b), "accepted '%s'", bad[i]);
}

Test(util, integers)
{
	int64_t v;

	cr_assert(parse_int64("42", 0, 100, &v));
	cr_expect_eq(v, 42);
	cr_assert(parse_int64("-7", -10, 10, &v));
	cr_expect_eq(v, -7);
	cr_assert(parse_int64("9223372036854775807", INT64_MIN, INT64_MAX, &v));
	cr_expect_eq(v, INT64_MAX);
	cr_assert(parse_int64("-9223372036854775808", INT64_MIN, INT64_MAX, &v));
	cr_expect_eq(v, INT64_MIN);
	cr_expect_not(parse_int64("9223372036854775808", INT64_MIN, INT64_MAX, &v));
	cr_expect_not(parse_int64("101", 0, 100, &v));
	cr_expect_not(parse_int64("-1", 0, 100, &v));
	cr_expect_not(parse_int64("", 0, 100, &v));
	cr_expect_not(parse_int64(" 1", 0, 100, &v));
	cr_expect_not(parse_int64("1 ", 0, 100, &v));
	cr_expect_not(parse_int64("1x", 0, 100, &v));
	cr_expect_not(parse_int64("0x10", 0, 100, &v));
	cr_expect_not(parse_int64("+-1", -5, 100, &v));
	cr_expect_not(parse_int64("-", -5, 100, &v));
}

Test(util, iso_time)
{
	char buf[32];
	int64_t ms;

	time_format_iso(0, buf, sizeof(buf));
	cr_expect_str_eq(buf, "1970-01-01T00:00:00Z");
	time_format_iso(1795671569123LL, buf, sizeof(buf));
	cr_expect_str_eq(buf, "2026-11-26T05:39:29Z");
	time_format_iso(-1, buf, sizeof(buf));
	cr_expect_str_eq(buf, "1969-12-31T23:59:59Z");

	cr_assert(time_parse_iso("2026-11-26T05:39:29Z", &ms));
	cr_expect_eq(ms, 1795671569000LL);
	cr_assert(time_parse_iso("2026-11-26T05:39:29", &ms));
	cr_expect_eq(ms, 1795671569000LL);
	cr_assert(time_parse_iso("2026-11-26T05:39", &ms));
	cr_expect_eq(ms, 1795671540000LL);
	cr_assert(time_parse_iso("2026-11-26", &ms));
	cr_expect_eq(ms, 1795651200000LL);
	cr_assert(time_parse_iso("1795671569", &ms));
	cr_expect_eq(ms, 1795671569000LL);
	cr_assert(time_parse_iso("2024-02-29", &ms));

	const char *bad[] = {
		"", "2026-13-01", "2026-02-30", "2023-02-29", "2026-1-01", "2026-11-26T5:39",
		"2026-11-26T05:39:29+01:00", "2026-11-26T24:00", "2026-11-26 05:39", "yesterday",
		"-5", "2026-11-26T05:39:29ZZ", "99999999999999999999",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_expect_not(time_parse_iso(bad[i], &ms), "accepted '%s'", bad[i]);
}

Test(util, clocks_move_forward)
{
	int64_t a = time_mono_ms(), b = time_mono_ms();

	cr_expect_geq(b, a);
	/* After 2020-01-01: the wall clock is in milliseconds, not seconds. */
	cr_expect_gt(time_now_ms(), 1577836800000LL);
}

Test(util, bounded_strings)
{
	char buf[6];
	char *s;

	cr_expect_eq(pw_strlcpy(buf, "hello world", sizeof(buf)), 11);
	cr_expect_str_eq(buf, "hello");
	cr_expect_eq(pw_strlcpy(buf, "hi", sizeof(buf)), 2);
	cr_expect_str_eq(buf, "hi");
	cr_expect(pw_snprintf(buf, sizeof(buf), "%d", 12345));
	cr_expect_str_eq(buf, "12345");
	cr_expect_not(pw_snprintf(buf, sizeof(buf), "%d", 123456));
	cr_expect_str_eq(buf, "12345");

	s = xasprintf("%s-%d", "a", 7);
	cr_expect_str_eq(s, "a-7");
	free(s);
	s = xstrndup("abcdef", 3);
	cr_expect_str_eq(s, "abc");
	free(s);
	s = xstrdup("x");
	cr_expect_str_eq(s, "x");
	free(s);
	int *arr = xreallocarray(NULL, 4, sizeof(int));
	arr[3] = 1;
	free(arr);
	arr = xcalloc(3, sizeof(int));
	cr_expect_eq(arr[2], 0);
	free(arr);
}

/* Writes content into a fresh temporary file and returns its path (caller frees). */
static char *
temp_file(const char *content, size_t len)
{
	char *path = xstrdup("/tmp/pw-util-test-XXXXXX");
	int fd = mkstemp(path);

	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, content, len), (ssize_t)len);
	close(fd);
	return path;
}

Test(util, read_file_whole_and_limits)
{
	char *path = temp_file("secret\n", 7);
	size_t len = 0;
	char *data;

	data = read_file(path, 7, &len);
	cr_assert_not_null(data);
	cr_expect_eq(len, 7);
	cr_expect_str_eq(data, "secret\n");
	free(data);

	errno = 0;
	cr_expect_null(read_file(path, 6, &len));
	cr_expect_eq(errno, EFBIG);

	errno = 0;
	cr_expect_null(read_file("/nonexistent/pw-util", 100, &len));
	cr_expect_eq(errno, ENOENT);
	unlink(path);
	free(path);

	path = temp_file("", 0);
	data = read_file(path, 0, &len);
	cr_assert_not_null(data);
	cr_expect_eq(len, 0);
	cr_expect_str_eq(data, "");
	free(data);
	unlink(path);
	free(path);
}

Test(util, read_file_larger_than_a_buffer)
{
	size_t n = 100000, len = 0;
	char *content = xmalloc(n);
	char *path, *data;

	for (size_t i = 0; i < n; i++)
		content[i] = (char)('a' + i % 26);
	path = temp_file(content, n);
	data = read_file(path, n, &len);
	cr_assert_not_null(data);
	cr_expect_eq(len, n);
	cr_expect(memcmp(data, content, n) == 0);
	free(data);
	unlink(path);
	free(path);
	free(content);
}

/* Runs the logger with stderr sent to a file and returns what it wrote (caller frees). */
static char *
capture_log(void (*emit)(void))
{
	char *path = xstrdup("/tmp/pw-log-test-XXXXXX");
	int fd = mkstemp(path), saved = dup(2);
	char *out;

	cr_assert_geq(fd, 0);
	fflush(stderr);
	dup2(fd, 2);
	emit();
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	close(fd);
	out = read_file(path, 1 << 16, NULL);
	cr_assert_not_null(out);
	unlink(path);
	free(path);
	return out;
}

static void
emit_levels(void)
{
	log_init("/usr/sbin/pricewatchd", LOG_LEVEL_INFO, false);
	errno = ENOENT;
	log_warn("cannot open %s", "x.conf");
	log_warnx("plain %d", 7);
	log_info("hello");
	log_debug("hidden at info level");
	log_errorx("bad");
}

Test(log, lines_carry_name_pid_level_and_errno)
{
	char *out = capture_log(emit_levels);
	char *want = xasprintf("pricewatchd[%ld]: warning: cannot open x.conf: %s\n"
	    "pricewatchd[%ld]: warning: plain 7\n"
	    "pricewatchd[%ld]: info: hello\n"
	    "pricewatchd[%ld]: error: bad\n",
	    (long)getpid(), strerror(ENOENT), (long)getpid(), (long)getpid(), (long)getpid());

	cr_expect_str_eq(out, want);
	free(want);
	free(out);
}

Test(log, levels_parse_and_filter)
{
	cr_expect_eq(log_level_parse("error"), LOG_LEVEL_ERROR);
	cr_expect_eq(log_level_parse("warn"), LOG_LEVEL_WARN);
	cr_expect_eq(log_level_parse("info"), LOG_LEVEL_INFO);
	cr_expect_eq(log_level_parse("debug"), LOG_LEVEL_DEBUG);
	cr_expect_eq(log_level_parse("verbose"), -1);
	cr_expect_eq(log_level_parse(NULL), -1);
	log_set_level(LOG_LEVEL_DEBUG);
	cr_expect_eq(log_get_level(), LOG_LEVEL_DEBUG);
	log_set_level(LOG_LEVEL_ERROR);
	cr_expect_eq(log_get_level(), LOG_LEVEL_ERROR);
}

Test(log, fatalx_exits_with_status_1, .exit_code = 1)
{
	log_init("pw-test", LOG_LEVEL_ERROR, false);
	fatalx("giving up on %s", "purpose");
}
