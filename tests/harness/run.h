/* run.h: runs a built program of the project for a test and captures its exit status, stdout and stderr. */
#ifndef PW_TEST_RUN_H
#define PW_TEST_RUN_H

struct test_run {
	int rc;                    /* exit status */
	char *out, *err;           /* everything it wrote, NUL-terminated; freed by test_run_free */
};

/*
 * Runs $PW_TOP_BUILDDIR/prog (else ./prog) with args (NULL-terminated, at most
 * 62), in directory cwd (NULL: the test's own), after applying env: each entry
 * "NAME=VALUE" sets a variable, a bare "NAME" unsets it (NULL: none). Fails the
 * test if the program cannot be run or dies from a signal.
 */
void test_run(struct test_run *r, const char *prog, const char *cwd, const char *const *env,
    const char *const *args);
void test_run_free(struct test_run *r);

/* Removes dir and everything below it, quietly (teardown: what is already gone is fine). */
void test_remove_tree(const char *dir);

#endif
