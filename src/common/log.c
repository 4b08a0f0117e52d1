/* log.c: leveled logging to stderr, syslog or a file (reopened for logrotate), one whole line per message, named after the process. */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"

/* Long enough for any sane message; longer ones are cut, never overflowed. */
#define LOG_LINE_MAX 2048

static char log_progname[64] = "pricewatch";
static enum log_level log_level_cur = LOG_LEVEL_INFO;
static bool log_use_syslog;
static bool log_syslog_open;

/*
 * The log file, when one is set: its descriptor number never changes while it
 * is set (log_reopen swaps the file under it with dup2), so threads that are
 * writing need no lock; log_file_lock only serialises set/reopen.
 */
static _Atomic int log_fd = -1;
static char *log_path;
static pthread_mutex_t log_file_lock = PTHREAD_MUTEX_INITIALIZER;

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

static int
log_open_file(const char *path)
{
	return open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0640);
}

/* "2026-11-26T08:30:00.123Z pricewatchd[42]: info: message\n" in one write(2): O_APPEND keeps lines whole. */
static void
log_file_write(const char *tag, const char *msg)
{
	char line[LOG_LINE_MAX + 160], stamp[40];
	struct timespec ts;
	struct tm tm;
	int n;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	if (strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm) == 0)
		stamp[0] = '\0';
	n = snprintf(line, sizeof(line), "%s.%03ldZ %s[%ld]: %s%s\n", stamp, ts.tv_nsec / 1000000L, log_progname,
	    (long)getpid(), tag, msg);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line)) {
		n = (int)sizeof(line) - 1;
		line[n - 1] = '\n';
	}
	/* Nothing sensible to do when the log itself cannot be written. */
	if (write(atomic_load(&log_fd), line, (size_t)n) < 0)
		return;
}

bool
log_set_file(const char *path, char *err, size_t errlen)
{
	int fd = -1, old;

	if (path != NULL && (fd = log_open_file(path)) < 0) {
		snprintf(err, errlen, "%s: cannot open the log file: %s (see daemon.log-file in pricewatch.conf)",
		    path, strerror(errno));
		return false;
	}
	pthread_mutex_lock(&log_file_lock);
	old = atomic_exchange(&log_fd, fd);
	free(log_path);
	log_path = path != NULL ? strdup(path) : NULL;
	pthread_mutex_unlock(&log_file_lock);
	/* A thread may be inside write() on the old descriptor; closing it only makes that write fail. */
	if (old >= 0)
		close(old);
	return true;
}

bool
log_reopen(char *err, size_t errlen)
{
	bool ok = true;
	int fd;

	pthread_mutex_lock(&log_file_lock);
	if (log_path != NULL) {
		fd = log_open_file(log_path);
		if (fd < 0 || dup2(fd, atomic_load(&log_fd)) < 0) {
			snprintf(err, errlen, "%s: cannot reopen the log file: %s; still writing to the old one",
			    log_path, strerror(errno));
			ok = false;
		}
		if (fd >= 0)
			close(fd);
	}
	pthread_mutex_unlock(&log_file_lock);
	return ok;
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

	if (atomic_load(&log_fd) >= 0) {
		log_file_write(tag, msg);
		return;
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
