/* run.c: runs a built program of the project for a test and captures its exit status, stdout and stderr. */
#include <config.h>

#include <criterion/criterion.h>

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/util.h"
#include "harness/run.h"

#define MAX_ARGS 64

/* Reads a temporary file back from its start; the caller frees. */
static char *
slurp_fd(int fd)
{
	char *buf = NULL;
	size_t len = 0, cap = 0;
	ssize_t n;

	lseek(fd, 0, SEEK_SET);
	for (;;) {
		if (cap - len < 4096) {
			cap = cap == 0 ? 8192 : cap * 2;
			buf = xreallocarray(buf, cap, 1);
		}
		n = read(fd, buf + len, cap - len - 1);
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	return buf;
}

static void
apply_env(const char *const *env)
{
	for (; env != NULL && *env != NULL; env++) {
		const char *eq = strchr(*env, '=');

		if (eq == NULL)
			unsetenv(*env);
		else {
			char *name = xstrndup(*env, (size_t)(eq - *env));

			setenv(name, eq + 1, 1);
			free(name);
		}
	}
}

void
test_run(struct test_run *r, const char *prog, const char *cwd, const char *const *env, const char *const *args)
{
	const char *top = getenv("PW_TOP_BUILDDIR");
	char bin[1024], out_path[] = "/tmp/pw-run-out-XXXXXX", err_path[] = "/tmp/pw-run-err-XXXXXX";
	char *argv[MAX_ARGS];
	int out_fd, err_fd, status, argc = 0;
	pid_t pid;

	if (top != NULL)
		cr_assert(pw_snprintf(bin, sizeof bin, "%s/%s", top, prog));
	else {
		/* Absolute, so a cwd for the child does not change which binary runs. */
		char *here = getcwd(NULL, 0);

		cr_assert_not_null(here);
		cr_assert(pw_snprintf(bin, sizeof bin, "%s/%s", here, prog));
		free(here);
	}
	argv[argc++] = bin;
	for (; args[argc - 1] != NULL; argc++) {
		cr_assert(argc < MAX_ARGS - 1, "too many arguments for %s", prog);
		argv[argc] = (char *)args[argc - 1];
	}
	argv[argc] = NULL;
	out_fd = mkstemp(out_path);
	err_fd = mkstemp(err_path);
	cr_assert(out_fd >= 0 && err_fd >= 0);
	unlink(out_path);
	unlink(err_path);

	pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0) {
		dup2(out_fd, STDOUT_FILENO);
		dup2(err_fd, STDERR_FILENO);
		if (cwd != NULL && chdir(cwd) != 0)
			_exit(126);
		apply_env(env);
		execv(bin, argv);
		_exit(127);
	}
	cr_assert(waitpid(pid, &status, 0) == pid);
	r->out = slurp_fd(out_fd);
	r->err = slurp_fd(err_fd);
	close(out_fd);
	close(err_fd);
	cr_assert(WIFEXITED(status), "%s died (status %d): %s", prog, status, r->err);
	r->rc = WEXITSTATUS(status);
	cr_assert_neq(r->rc, 127, "cannot run %s (set PW_TOP_BUILDDIR)", bin);
	cr_assert_neq(r->rc, 126, "cannot enter %s to run %s", cwd != NULL ? cwd : ".", prog);
}

void
test_run_free(struct test_run *r)
{
	free(r->out);
	free(r->err);
	r->out = r->err = NULL;
}

static int
rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	(void)remove(path);
	return 0;
}

void
test_remove_tree(const char *dir)
{
	if (dir[0] != '\0')
		(void)nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}
