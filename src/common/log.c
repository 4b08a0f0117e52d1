/* log.c: leveled logging to stderr or syslog, one whole line per message, named after the process. */
#include <config.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "common/log.h"

/* Long enough for any sane message; longer ones are cut, never overflowed. */
#define LOG_LINE_MAX 2048

static char log_progname[64] = "pricewatch";
static enum log_level log_level_cur = LOG_LEVEL_INFO;
static bool log_use_syslog;
static bool log_syslog_open;

void
log_init(const char *progname, enum log_level level, bool use_syslog)
{
	if (progname != NULL && *progname != '\0') {
		/* Keep our own copy: the caller's string (often argv[0]) may go away. */
		const char *base = strrchr(progname, '/');
		snprintf(log_progname, sizeof(log_progname), "%s", base ? base + 1 : progname);
	}
	log_set_level(level);
	if (log_syslog_open) {
		closelog();
		log_syslog_open = false;
	}
	log_use_syslog = use_syslog;
	if (use_syslog) {
		openlog(log_progname, LOG_PID | LOG_NDELAY, LOG_DAEMON);
		log_syslog_open = true;
	}
}

void
log_set_level(enum log_level level)
{
	if ((int)level < LOG_LEVEL_ERROR)
		level = LOG_LEVEL_ERROR;
	if (level > LOG_LEVEL_DEBUG)
		level = LOG_LEVEL_DEBUG;
	log_level_cur = level;
}

enum log_level
log_get_level(void)
{
	return log_level_cur;
}

int
log_level_parse(const char *name)
{
	static const struct {
		const char *name;
		enum log_level level;
	} names[] = {
		{ "error", LOG_LEVEL_ERROR },
		{ "warn", LOG_LEVEL_WARN },
		{ "warning", LOG_LEVEL_WARN },
		{ "info", LOG_LEVEL_INFO },
		{ "debug", LOG_LEVEL_DEBUG },
	};

	if (name == NULL)
		return -1;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(name, names[i].name) == 0)
			return (int)names[i].level;
	return -1;
}

/*
 * Formats one message and writes it in a single call, so lines from
 * concurrent threads do not interleave. errnum >= 0 appends strerror.
 */
__attribute__((format(printf, 3, 0)))
static void
log_vemit(enum log_level level, const char *tag, const char *fmt, va_list ap, int errnum)
{
	char msg[LOG_LINE_MAX];
	int prio;

	if (level > log_level_cur)
		return;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (errnum >= 0) {
		size_t used = strlen(msg);
		snprintf(msg + used, sizeof(msg) - used, ": %s", strerror(errnum));
	}

	if (log_use_syslog) {
		switch (level) {
		case LOG_LEVEL_ERROR: prio = LOG_ERR; break;
		case LOG_LEVEL_WARN: prio = LOG_WARNING; break;
		case LOG_LEVEL_INFO: prio = LOG_INFO; break;
		default: prio = LOG_DEBUG; break;
		}
		syslog(prio, "%s%s", tag, msg);
		return;
	}
	fprintf(stderr, "%s[%ld]: %s%s\n", log_progname, (long)getpid(), tag, msg);
}

void
log_warn(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	log_vemit(LOG_LEVEL_WARN, "warning: ", fmt, ap, saved);
	va_end(ap);
	errno = saved;
}

void
log_warnx(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	log_vemit(LOG_LEVEL_WARN, "warning: ", fmt, ap, -1);
	va_end(ap);
	errno = saved;
}

void
log_info(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	log_vemit(LOG_LEVEL_INFO, "info: ", fmt, ap, -1);
	va_end(ap);
	errno = saved;
}

void
log_debug(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	log_vemit(LOG_LEVEL_DEBUG, "debug: ", fmt, ap, -1);
	va_end(ap);
	errno = saved;
}

void
log_errorx(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	log_vemit(LOG_LEVEL_ERROR, "error: ", fmt, ap, -1);
	va_end(ap);
	errno = saved;
}

void
fatal(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	log_vemit(LOG_LEVEL_ERROR, "fatal: ", fmt, ap, saved);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vemit(LOG_LEVEL_ERROR, "fatal: ", fmt, ap, -1);
	va_end(ap);
	exit(1);
}
