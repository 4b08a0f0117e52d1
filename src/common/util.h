/* util.h: small helpers every module uses: checked allocation, bounded strings, time, durations and sizes. */
#ifndef PW_COMMON_UTIL_H
#define PW_COMMON_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Allocation that aborts with a log line on exhaustion; sizes are overflow-checked. */
void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t size);
void *xreallocarray(void *p, size_t nmemb, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* Returns a newly allocated formatted string; the caller frees it. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Copies at most dstsize-1 bytes and always terminates; returns strlen(src) (truncation if >= dstsize). */
size_t pw_strlcpy(char *dst, const char *src, size_t dstsize);
/* Formats into a fixed buffer, always terminated; returns false on truncation. */
bool pw_snprintf(char *dst, size_t dstsize, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Wall-clock time in milliseconds since the epoch, and a monotonic clock in milliseconds. */
int64_t time_now_ms(void);
int64_t time_mono_ms(void);
/* Formats epoch ms as "2026-11-26T05:39:29Z" (UTC) into buf (at least 32 bytes). */
void time_format_iso(int64_t ms, char *buf, size_t buflen);
/* Parses an absolute time: epoch seconds, "YYYY-MM-DD", or "YYYY-MM-DDTHH:MM[:SS][Z]" (UTC). */
bool time_parse_iso(const char *s, int64_t *ms_out);

/* "250ms", "30s", "15m", "1h", "7d", "2w", or a bare number of seconds; fails on overflow or junk. */
bool parse_duration_ms(const char *s, int64_t *ms_out);
/* "512", "64KiB", "8MiB", "1GiB", "10kB", "5MB" (SI = powers of 1000); fails on overflow or junk. */
bool parse_size(const char *s, uint64_t *bytes_out);
/* "yes/no", "true/false", "on/off", "1/0" (case-insensitive). */
bool parse_bool(const char *s, bool *out);
/* Strict base-10 integer within [min, max]; no trailing junk. */
bool parse_int64(const char *s, int64_t min, int64_t max, int64_t *out);

/* Reads a whole small file (secrets, fixtures) into a NUL-terminated buffer, at most maxlen bytes. */
char *read_file(const char *path, size_t maxlen, size_t *len_out);

#endif
