/* cli-run.c: runs the CLI in the test's own process (cli_run) and captures what it prints. */
#include <criterion/criterion.h>

#include <stdio.h>

#include "cli/cli.h"
#include "harness/cli-run.h"

int
test_cli_run(int argc, const char *const *argv, char **out, char **err, size_t *out_len)
{
	size_t olen = 0, elen = 0;
	FILE *fo = open_memstream(out, &olen), *fe = open_memstream(err, &elen);
	int rc;

	cr_assert(fo != NULL && fe != NULL);
	rc = cli_run(argc, (char **)argv, fo, fe);
	fclose(fo);
	fclose(fe);
	if (out_len != NULL)
		*out_len = olen;
	return rc;
}
