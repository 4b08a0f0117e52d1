/* pricewatch.c: the pricewatch CLI entry point; everything else lives in libpwcli (cmd.c and cmd-*.c). */
#include "config.h"

#include <signal.h>
#include <stdio.h>

#include "cli/cli.h"
#include "common/log.h"

int
main(int argc, char **argv)
{
	/*
	 * A closed pipe ("pricewatch listings | head") must not kill us before the
	 * private redis-server we may have started is shut down; writes then fail
	 * with EPIPE, which cli_run handles.
	 */
	signal(SIGPIPE, SIG_IGN);
	log_init("pricewatch", LOG_LEVEL_WARN, false);
	return cli_run(argc, argv, stdout, stderr);
}
