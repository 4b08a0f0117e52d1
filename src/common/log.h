/* log.h: leveled logging to stderr, syslog or a file that names the process on every line. */
#ifndef PW_COMMON_LOG_H
#define PW_COMMON_LOG_H

#include <stdarg.h>
#include <stdbool.h>

enum log_level { LOG_LEVEL_ERROR = 0, LOG_LEVEL_WARN, LOG_LEVEL_INFO, LOG_LEVEL_DEBUG };

/* Sets the name printed on each line and the destination; callable again on reload. */
void log_init(const char *progname, enum log_level level, bool use_syslog);
void log_set_level(enum log_level level);
/*
 * Sends every line to path (appended, created 0640, each line time-stamped)
 * instead of stderr or syslog; NULL goes back to them. False with a sentence in
 * err when the file cannot be opened (the destination is then unchanged).
 */
bool log_set_file(const char *path, char *err, size_t errlen);
/*
 * Opens the log file's path again and swaps it in (SIGUSR1 after logrotate
 * renamed the old file). No-op without a log file. False with err set when the
 * path cannot be opened: lines keep going to the old file.
 */
bool log_reopen(char *err, size_t errlen);
enum log_level log_get_level(void);
/* Parses "error|warn|info|debug"; returns -1 on an unknown name. */
int log_level_parse(const char *name);

/* log_warn appends ": strerror(errno)"; the x variants do not (OpenSMTPD's convention). */
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_errorx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
_Noreturn void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
_Noreturn void fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
