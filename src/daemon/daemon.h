/* daemon.h: pricewatchd's life cycle: config, store, PID file, detaching, signals and the main loop. */
#ifndef PW_DAEMON_DAEMON_H
#define PW_DAEMON_DAEMON_H

#include <stdbool.h>

struct daemon_opts {
	const char *config_path;   /* NULL: CONFIG_DEFAULT_PATH if it exists, else built-in defaults */
	bool config_explicit;      /* -c given: a missing file is an error */
	bool foreground;           /* -f: stay attached, log to stderr, no PID-file detaching */
	bool once;                 /* --once: crawl every source once, then exit */
	const char *log_level;     /* -d / --log-level override, may be NULL */
};

/* Runs the daemon until SIGTERM/SIGINT (or one pass with --once); returns the process exit code. */
int daemon_run(const struct daemon_opts *opts);

/* --check-config: prints "configuration OK" or "FILE:LINE: message"; returns the exit code. */
int daemon_check_config(const struct daemon_opts *opts);

#endif
