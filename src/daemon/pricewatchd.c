/* pricewatchd.c: the daemon's entry point: command-line options, then daemon.c runs it. */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/config.h"
#include "daemon/daemon.h"

static void
usage(FILE *out)
{
	fprintf(out,
	    "usage: pricewatchd [-f] [-c FILE] [--once] [-d] [--log-level LEVEL]\n"
	    "       pricewatchd --check-config [-c FILE]\n"
	    "\n"
	    "Watches supplier and marketplace listings and records every price change in Redis.\n"
	    "\n"
	    "  -c, --config FILE     configuration file (default %s;\n"
	    "                        built-in defaults when that file does not exist)\n"
	    "  -f, --foreground      stay in the foreground and log to stderr (for systemd)\n"
	    "  -n, --check-config    validate the configuration, print \"configuration OK\" or\n"
	    "                        FILE:LINE: message, and exit\n"
	    "      --once            crawl every source once, store the results, and exit\n"
	    "  -d, --debug           same as --log-level debug\n"
	    "      --log-level LEVEL error, warn, info or debug (overrides daemon.log-level)\n"
	    "  -V, --version         print the version and exit\n"
	    "  -h, --help            print this help and exit\n"
	    "\n"
	    "Signals: TERM/INT drop the transfers in flight, hand unfinished jobs back and exit;\n"
	    "HUP reloads the configuration (a bad file is refused and the running one kept);\n"
	    "USR1 reopens the log file. See pricewatchd(8).\n",
	    CONFIG_DEFAULT_PATH);
}

int
main(int argc, char **argv)
{
	enum { OPT_ONCE = 256, OPT_LOG_LEVEL };
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "foreground", no_argument, NULL, 'f' },
		{ "check-config", no_argument, NULL, 'n' },
		{ "once", no_argument, NULL, OPT_ONCE },
		{ "debug", no_argument, NULL, 'd' },
		{ "log-level", required_argument, NULL, OPT_LOG_LEVEL },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct daemon_opts opts;
	int ch, check = 0;

	memset(&opts, 0, sizeof(opts));
	while ((ch = getopt_long(argc, argv, "c:fndVh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			opts.config_path = optarg;
			opts.config_explicit = 1;
			break;
		case 'f':
			opts.foreground = 1;
			break;
		case 'n':
			check = 1;
			break;
		case OPT_ONCE:
			opts.once = 1;
			break;
		case 'd':
			opts.log_level = "debug";
			break;
		case OPT_LOG_LEVEL:
			if (strcmp(optarg, "error") != 0 && strcmp(optarg, "warn") != 0 &&
			    strcmp(optarg, "info") != 0 && strcmp(optarg, "debug") != 0) {
				fprintf(stderr, "pricewatchd: --log-level: expected error, warn, info or debug, not '%s'\n",
				    optarg);
				return 2;
			}
			opts.log_level = optarg;
			break;
		case 'V':
			printf("pricewatchd %s\n", PACKAGE_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "pricewatchd: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return 2;
	}
	if (check)
		return daemon_check_config(&opts);
	/* --once is a foreground job by nature: detaching would lose its exit status. */
	if (opts.once)
		opts.foreground = 1;
	return daemon_run(&opts);
}
