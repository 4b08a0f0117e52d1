/* test-notify.c: "pricewatch notify test CHANNEL" against real receivers on 127.0.0.1: delivered, HTTP refusal, connection refused, unknown channel. */
#include "config.h"

#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <json-c/json.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/cli.h"
#include "common/util.h"
#include "harness/cli-run.h"
#include "harness/httpd.h"
#include "harness/json.h"

static char dir[] = "/tmp/pw-notify-XXXXXX";
static char conf[300], body_path[300];
static struct test_httpd httpd;
static pid_t rx_pid = -1, smtpd_pid = -1;
static int rx_port, smtp_port, closed_port, closed_fd = -1;
static char mail_path[300];

/*
 * A POST receiver (Python's http.server) on a port the kernel picks, written to
 * argv[1] once it listens: answers 200 and writes two headers and the body to argv[2].
 */
static const char receiver_py[] =
	"import sys, http.server\n"
	"class H(http.server.BaseHTTPRequestHandler):\n"
	"    def do_POST(self):\n"
	"        n = int(self.headers['Content-Length'])\n"
	"        b = self.rfile.read(n)\n"
	"        with open(sys.argv[2], 'wb') as f:\n"
	"            f.write((self.headers['X-Pricewatch-Delivery'] or '').encode() + b'\\n')\n"
	"            f.write((self.headers['X-Pricewatch-Signature'] or '').encode() + b'\\n' + b)\n"
	"        self.send_response(200)\n"
	"        self.send_header('Content-Length', '0')\n"
	"        self.end_headers()\n"
	"    def log_message(self, *a):\n"
	"        pass\n"
	"s = http.server.HTTPServer(('127.0.0.1', 0), H)\n"
	"open(sys.argv[1] + '.tmp', 'w').write(str(s.server_address[1]))\n"
	"import os; os.rename(sys.argv[1] + '.tmp', sys.argv[1])\n"
	"s.serve_forever()\n";

/*
 * An SMTP server (python3-aiosmtpd) that refuses nobody@... with 550 and
 * writes accepted mail to argv[2]; its port goes to argv[1] once it listens.
 */
static const char smtpd_py[] =
	"import sys, os, socket, time\n"
	"from aiosmtpd.controller import Controller\n"
	"class H:\n"
	"    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):\n"
	"        if address.startswith('nobody@'):\n"
	"            return '550 5.1.1 no such user here'\n"
	"        envelope.rcpt_tos.append(address)\n"
	"        return '250 OK'\n"
	"    async def handle_DATA(self, server, session, envelope):\n"
	"        open(sys.argv[2], 'wb').write(envelope.content)\n"
	"        return '250 Message accepted'\n"
	"s = socket.socket(); s.bind(('127.0.0.1', 0)); port = s.getsockname()[1]; s.close()\n"
	"c = Controller(H(), hostname='127.0.0.1', port=port)\n"
	"c.start()\n"
	"open(sys.argv[1] + '.tmp', 'w').write(str(port))\n"
	"os.rename(sys.argv[1] + '.tmp', sys.argv[1])\n"
	"while True: time.sleep(3600)\n";

/* Runs a Python script (args: port file, output file) and returns the port it wrote; *pid gets the child. */
static int
python_server(const char *script, const char *name, const char *out_path, pid_t *pid)
{
	const char *py = getenv("PW_PYTHON") != NULL ? getenv("PW_PYTHON") : "/usr/bin/python3";
	char port_path[320], *text = NULL;
	size_t len;
	int64_t port = 0;

	cr_assert(pw_snprintf(port_path, sizeof(port_path), "%s/%s.port", dir, name));
	*pid = fork();
	cr_assert(*pid >= 0);
	if (*pid == 0) {
		execl(py, py, "-c", script, port_path, out_path, (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 400 && text == NULL; i++) {
		text = cli_read_input(port_path, 64, &len);
		if (text == NULL)
			usleep(25 * 1000);
	}
	cr_assert_not_null(text, "the Python %s did not start (%s)", name, py);
	cr_assert(parse_int64(text, 1, 65535, &port), "port file: %s", text);
	free(text);
	return (int)port;
}

static void
stop_child(pid_t *pid)
{
	if (*pid > 0) {
		kill(*pid, SIGTERM);
		waitpid(*pid, NULL, 0);
	}
	*pid = -1;
}

/* A port that refuses connections: bound (so nobody else takes it) but not listening. */
static void
closed_port_open(void)
{
	struct sockaddr_in a;
	socklen_t al = sizeof(a);

	closed_fd = socket(AF_INET, SOCK_STREAM, 0);
	cr_assert(closed_fd >= 0);
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert_eq(bind(closed_fd, (struct sockaddr *)&a, sizeof(a)), 0);
	cr_assert_eq(getsockname(closed_fd, (struct sockaddr *)&a, &al), 0);
	closed_port = ntohs(a.sin_port);
}

static void
setup(void)
{
	char secret[340];
	FILE *f;

	cr_assert_not_null(mkdtemp(dir));
	cr_assert(pw_snprintf(conf, sizeof(conf), "%s/pricewatch.conf", dir));
	cr_assert(pw_snprintf(body_path, sizeof(body_path), "%s/body", dir));
	cr_assert(pw_snprintf(secret, sizeof(secret), "%s/secret", dir));
	f = fopen(secret, "w");
	cr_assert_not_null(f);
	fputs("notify-secret\n", f);
	fclose(f);
	cr_assert(pw_snprintf(mail_path, sizeof(mail_path), "%s/mail", dir));
	test_httpd_start(&httpd, dir);
	rx_port = python_server(receiver_py, "receiver", body_path, &rx_pid);
	smtp_port = python_server(smtpd_py, "smtpd", mail_path, &smtpd_pid);
	closed_port_open();
	f = fopen(conf, "w");
	cr_assert_not_null(f);
	fprintf(f, "[notifier \"hook\"]\ntype = webhook\nurl = http://127.0.0.1:%d/hook\nsecret-file = %s\n"
	    "timeout = 5s\n"
	    "[notifier \"refuses\"]\ntype = webhook\nurl = %s/hook\n"
	    "[notifier \"down\"]\ntype = webhook\nurl = http://127.0.0.1:%d/hook\n"
	    "[notifier \"mail\"]\ntype = email\nurl = smtp://127.0.0.1:%d\nto = ops@example.com\ntimeout = 2s\n"
	    "[notifier \"log1\"]\ntype = log\n"
	    "[notifier \"mailok\"]\ntype = email\nurl = smtp://127.0.0.1:%d\nto = ops@example.com\n"
	    "from = pw@shop.example\n"
	    "[notifier \"mailbad\"]\ntype = email\nurl = smtp://127.0.0.1:%d\nto = nobody@example.com\n",
	    rx_port, secret, httpd.base_url, closed_port, closed_port, smtp_port, smtp_port);
	cr_assert_eq(fclose(f), 0);
	unsetenv(CLI_ENV_REDIS);
}

static void
teardown(void)
{
	char cmd[400];

	stop_child(&rx_pid);
	stop_child(&smtpd_pid);
	test_httpd_stop(&httpd);
	if (closed_fd >= 0)
		close(closed_fd);
	closed_fd = -1;
	cr_assert(pw_snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir));
	(void)!system(cmd);
	memcpy(dir + strlen(dir) - 6, "XXXXXX", 6);
}

TestSuite(notify, .init = setup, .fini = teardown);

static int
pw(char **out, char **err, const char *a1, const char *a2, const char *a3)
{
	const char *argv[] = { "pricewatch", "-c", conf, "--redis", "unix:///nonexistent/redis.sock", a1, a2, a3,
		NULL };
	int argc = 5;

	while (argv[argc] != NULL)
		argc++;
	return test_cli_run(argc, argv, out, err, NULL);
}

Test(notify, delivers_a_signed_test_message)
{
	char *out, *err, *text;
	size_t len;
	json_object *j;
	FILE *f;
	char delivery[80], sig[100];

	cr_assert_eq(pw(&out, &err, "notify", "test", "hook"), 0, "%s%s", out, err);
	cr_assert(strstr(out, "hook (webhook): delivered, HTTP 200 (key ") != NULL, "%s", out);
	free(out);
	free(err);
	f = fopen(body_path, "r");
	cr_assert_not_null(f, "the receiver got nothing");
	cr_assert_not_null(fgets(delivery, sizeof(delivery), f));
	cr_assert_not_null(fgets(sig, sizeof(sig), f));
	fclose(f);
	cr_assert_eq(strlen(delivery), 65, "%s", delivery);   /* 64 hex + newline */
	cr_assert(strncmp(sig, "sha256=", 7) == 0, "%s", sig);
	text = cli_read_input(body_path, 1 << 20, &len);
	cr_assert_not_null(text);
	j = json_tokener_parse(strchr(strchr(text, '\n') + 1, '\n') + 1);
	cr_assert_not_null(j, "%s", text);
	cr_assert_str_eq(json_object_get_string(test_json_member(j, "kind")), "test");
	cr_assert_str_eq(json_object_get_string(test_json_member(test_json_member(j, "listing"), "title")),
	    "pricewatch test message for notifier 'hook'");
	json_object_put(j);
	free(text);
}

Test(notify, json_reports_the_http_status_of_a_refusal)
{
	char *out, *err;
	json_object *j;

	/* The fixture server answers a POST with 405: the receiver's verdict, not a transport error. */
	cr_assert_eq(pw(&out, &err, "notify", "test", "refuses"), 6, "%s%s", out, err);
	cr_assert(strstr(out, "refuses (webhook): FAILED at http (not retried: fix the notifier): ") != NULL, "%s",
	    out);
	cr_assert(strstr(out, "HTTP 405") != NULL, "%s", out);
	free(out);
	free(err);
	{
		const char *argv[] = { "pricewatch", "-c", conf, "--json", "notify", "test", "refuses", NULL };

		cr_assert_eq(test_cli_run(7, argv, &out, &err, NULL), 6, "%s", err);
	}
	j = json_tokener_parse(out);
	cr_assert_not_null(j, "%s", out);
	cr_assert_eq(json_object_get_boolean(test_json_member(j, "delivered")), 0);
	cr_assert_str_eq(json_object_get_string(test_json_member(j, "stage")), "http");
	cr_assert_eq(json_object_get_int(test_json_member(j, "code")), 405);
	cr_assert_str_eq(json_object_get_string(test_json_member(j, "type")), "webhook");
	json_object_put(j);
	free(out);
	free(err);
}

Test(notify, connection_refused_is_retryable)
{
	char *out, *err;

	cr_assert_eq(pw(&out, &err, "notify", "test", "down"), 5, "%s%s", out, err);
	cr_assert(strstr(out, "down (webhook): FAILED at connect (the daemon would retry): ") != NULL, "%s", out);
	free(out);
	free(err);
	cr_assert_eq(pw(&out, &err, "notify", "test", "mail"), 5, "%s%s", out, err);
	cr_assert(strstr(out, "mail (email): FAILED at connect") != NULL, "%s", out);
	free(out);
	free(err);
}

Test(notify, log_channel_unknown_channel_and_usage)
{
	char *out, *err;

	cr_assert_eq(pw(&out, &err, "notify", "test", "log1"), 0, "%s%s", out, err);
	cr_assert(strstr(out, "log1 (log): delivered") != NULL, "%s", out);
	free(out);
	free(err);
	cr_assert_eq(pw(&out, &err, "notify", "test", "nope"), 1);
	cr_assert(strstr(err, "no [notifier \"nope\"]") != NULL, "%s", err);
	free(out);
	free(err);
	cr_assert_eq(pw(&out, &err, "notify", "send", "hook"), 2);
	cr_assert(strstr(err, "unknown subcommand 'send'") != NULL, "%s", err);
	free(out);
	free(err);
	cr_assert_eq(pw(&out, &err, "notify", NULL, NULL), 2);
	free(out);
	free(err);
	cr_assert_eq(pw(&out, &err, "notify", "test", NULL), 2);   /* no notifier named */
	cr_assert(strstr(err, "one notifier name expected") != NULL, "%s", err);
	free(out);
	free(err);
}

Test(notify, email_reports_the_smtp_reply)
{
	char *out, *err, *mail;
	size_t len;

	cr_assert_eq(pw(&out, &err, "notify", "test", "mailok"), 0, "%s%s", out, err);
	cr_assert(strstr(out, "mailok (email): delivered, SMTP reply 250") != NULL, "%s", out);
	free(out);
	free(err);
	mail = cli_read_input(mail_path, 1 << 20, &len);
	cr_assert_not_null(mail, "no mail arrived");
	cr_assert(strstr(mail, "From: pricewatch <pw@shop.example>") != NULL, "%s", mail);
	cr_assert(strstr(mail, "Subject: [pricewatch] pricewatch test message for notifier 'mailok'") != NULL, "%s",
	    mail);
	free(mail);
	cr_assert_eq(pw(&out, &err, "notify", "test", "mailbad"), 6, "%s%s", out, err);
	cr_assert(strstr(out, "mailbad (email): FAILED at smtp (not retried: fix the notifier): ") != NULL, "%s",
	    out);
	cr_assert(strstr(out, "SMTP reply 550") != NULL, "%s", out);
	free(out);
	free(err);
}
