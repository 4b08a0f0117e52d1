/* cli-run.h: runs the CLI in the test's own process (cli_run) and captures what it prints. */
#ifndef PW_TEST_CLI_RUN_H
#define PW_TEST_CLI_RUN_H

#include <stddef.h>

/*
 * Calls cli_run(argc, argv) with stdout and stderr going to memory; *out and
 * *err receive NUL-terminated copies (the caller frees), *out_len (may be NULL)
 * the stdout length. Returns the exit status cli_run returned.
 * Compiled into each CLI test (not libpwtest.a), since it needs the CLI library.
 */
int test_cli_run(int argc, const char *const *argv, char **out, char **err, size_t *out_len);

#endif
