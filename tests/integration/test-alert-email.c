/* test-alert-email.c: alert mail to a real SMTP server (python3-aiosmtpd, maildir) on 127.0.0.1, parsed back with Python's email package. */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <curl/curl.h>
#include <hiredis/hiredis.h>
#include <json-c/json.h>

#include "alert/alert.h"
#include "alert/email.h"
#include "common/config.h"
#include "common/util.h"
#include "harness/redis.h"
#include "store/store.h"

#define T0 1790000000000LL
#define LID "shop:sku:M1"

static struct test_redis redis;
static struct store *st;
static struct config cfg;
static struct alert_engine *eng;
static pid_t smtpd_pid = -1;
static int smtp_port;
static char maildir[400];

static const char *
python(void)
{
	const char *p = getenv("PW_PYTHON");

	if (p != NULL && p[0] != '\0')
		return p;
	/* Debian's interpreter, where python3-aiosmtpd installs; a pyenv shim on PATH would not see it. */
	return access("/usr/bin/python3", X_OK) == 0 ? "/usr/bin/python3" : "python3";
}

static int
free_port(void)
{
	struct sockaddr_in a;
	socklen_t al = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	cr_assert(fd >= 0);
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	cr_assert_eq(getsockname(fd, (struct sockaddr *)&a, &al), 0);
	port = ntohs(a.sin_port);
	close(fd);
	return port;
}

static bool
port_open(int port)
{
	struct sockaddr_in a;
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	bool ok;

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a.sin_port = htons((uint16_t)port);
	ok = connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
	close(fd);
	return ok;
}

/* Starts aiosmtpd with the Mailbox handler (a maildir) and waits until it accepts connections. */
static void
smtpd_start(void)
{
	char listen_at[64];

	cr_assert(pw_snprintf(listen_at, sizeof(listen_at), "127.0.0.1:%d", smtp_port));
	smtpd_pid = fork();
	cr_assert(smtpd_pid >= 0);
	if (smtpd_pid == 0) {
		execlp(python(), python(), "-m", "aiosmtpd", "-n", "-l", listen_at, "-c",
		    "aiosmtpd.handlers.Mailbox", maildir, (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 300; i++) {
		int status;

		if (port_open(smtp_port))
			return;
		if (waitpid(smtpd_pid, &status, WNOHANG) == smtpd_pid) {
			smtpd_pid = -1;
			cr_assert_fail("aiosmtpd exited (status %d): install python3-aiosmtpd "
			    "(apt-get install python3-aiosmtpd) or set PW_PYTHON", status);
		}
		usleep(50 * 1000);
	}
	cr_assert_fail("aiosmtpd did not start listening on %s", listen_at);
}

static void
setup(void)
{
	struct store_opts so;
	char err[512], path[400];
	FILE *f;

	cr_assert_eq(curl_global_init(CURL_GLOBAL_DEFAULT), CURLE_OK);
	test_redis_start(&redis);
	memset(&so, 0, sizeof(so));
	so.url = redis.url;
	so.prefix = "pw:";
	so.connect_timeout_ms = 2000;
	so.command_timeout_ms = 5000;
	cr_assert_eq(store_open(&st, &so, err, sizeof(err)), STORE_OK, "%s", err);
	cr_assert_eq(alert_queue_init(st), STORE_OK, "%s", store_error(st));
	cr_assert(pw_snprintf(maildir, sizeof(maildir), "%s/maildir", redis.dir));
	smtp_port = free_port();
	cr_assert(pw_snprintf(path, sizeof(path), "%s/pricewatch.conf", redis.dir));
	f = fopen(path, "w");
	cr_assert_not_null(f);
	fprintf(f, "[crawl]\nconnect-timeout = 2s\n"
	    "[notifier \"mail\"]\ntype = email\nurl = smtp://127.0.0.1:%d\n"
	    "to = buyer@example.com, ops@example.org\n"
	    "[rule \"any\"]\nkind = any-change\ncooldown = 0\nnotify = mail\nscope = listing:" LID "\n"
	    "[notifier \"digest\"]\ntype = email\nurl = smtp://127.0.0.1:%d\nto = buyer@example.com\n"
	    "from = alerts@shop.example\ndigest = 15m\ntimeout = 5s\n"
	    "[source \"digested\"]\nurl = https://shop.example/\n"
	    "[rule \"any-d\"]\nkind = any-change\ncooldown = 0\nnotify = digest\nscope = source:digested\n",
	    smtp_port, smtp_port);
	fclose(f);
	cr_assert(config_load(&cfg, path, err, sizeof(err)), "%s", err);
	cr_assert(alert_engine_new(&eng, &cfg, err, sizeof(err)), "%s", err);
}

static void
teardown(void)
{
	if (smtpd_pid > 0) {
		kill(smtpd_pid, SIGTERM);
		waitpid(smtpd_pid, NULL, 0);
	}
	alert_engine_free(eng);
	config_free(&cfg);
	store_close(st);
	test_redis_stop(&redis);
	curl_global_cleanup();
}

TestSuite(alert_email, .init = setup, .fini = teardown);

/* One alert of the listing lid of source at t (source "digested": rule any-d, the digest notifier). */
static void
raise_alert_at(const char *source, const char *lid, int64_t t)
{
	struct change c;
	size_t fired = 0;

	memset(&c, 0, sizeof(c));
	c.listing_id = lid;
	c.source = source;
	c.url = "https://shop.example/p/m1?x=<1>&y=2";
	c.title = "Caf\xc3\xa9 grinder \xe2\x80\x94 \xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e edition with a long name to fold";
	c.old_price = (struct money){ .minor = 2500, .currency = "EUR" };
	c.new_price = (struct money){ .minor = 1999, .currency = "EUR" };
	c.old_avail = AVAIL_IN_STOCK;
	c.new_avail = AVAIL_IN_STOCK;
	c.time_ms = t;
	cr_assert_eq(alert_on_change(eng, st, &c, &fired), STORE_OK, "%s", store_error(st));
	cr_assert_eq(fired, 1);
}

static void
raise_alert(void)
{
	raise_alert_at("shop", LID, T0);
}

/* Path of the only message in maildir/new; caller frees. */
static char *
only_message(void)
{
	char dir[450];
	DIR *d;
	struct dirent *e;
	char *found = NULL;
	int n = 0;

	cr_assert(pw_snprintf(dir, sizeof(dir), "%s/new", maildir));
	d = opendir(dir);
	cr_assert_not_null(d, "%s: %s", dir, strerror(errno));
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		n++;
		free(found);
		found = xasprintf("%s/%s", dir, e->d_name);
	}
	closedir(d);
	cr_assert_eq(n, 1, "%d messages in %s", n, dir);
	return found;
}

/* Python's email package (an independent parser) turns the message into JSON. */
static const char parse_py[] =
	"import sys, json, email\n"
	"from email import policy\n"
	"raw = open(sys.argv[1], 'rb').read()\n"
	"m = email.message_from_bytes(raw, policy=policy.default)\n"
	"parts = []\n"
	"for p in m.walk():\n"
	"    if p.is_multipart(): continue\n"
	"    parts.append({'type': p.get_content_type(), 'charset': p.get_content_charset(),\n"
	"                  'cte': p.get('Content-Transfer-Encoding'), 'text': p.get_content()})\n"
	"# RFC 5322 2.1.1: 78 characters a line, save the idempotency header (one unbreakable 64-char token)\n"
	"lines = [l.decode('ascii', 'replace') for l in raw.splitlines() if not l.startswith(b'X-Pricewatch-Delivery:')]\n"
	"raw_subject = [l for l in email.message_from_bytes(raw).get_all('Subject')][0]\n"
	"print(json.dumps({'subject': str(m['Subject']), 'raw_subject': raw_subject,\n"
	"  'from': str(m['From']), 'to': [str(a.addr_spec) for a in m['To'].addresses],\n"
	"  'message_id': str(m['Message-ID']), 'date': m['Date'].datetime.timestamp(),\n"
	"  'mime': m.get_content_type(), 'delivery': str(m['X-Pricewatch-Delivery']),\n"
	"  'rcpt': str(m['X-RcptTo']), 'defects': len(m.defects), 'parts': parts,\n"
	"  'longest_line': max(len(l) for l in lines), 'longest': max(lines, key=len)}))\n";

static json_object *
parse_message(const char *path)
{
	char cmd[1200], *out = NULL;
	size_t len = 0;
	FILE *p, *o;
	json_object *j;
	int c;

	cr_assert(pw_snprintf(cmd, sizeof(cmd), "%s -c \"$PW_PARSE_PY\" '%s'", python(), path));
	setenv("PW_PARSE_PY", parse_py, 1);
	p = popen(cmd, "r");
	cr_assert_not_null(p);
	o = open_memstream(&out, &len);
	while ((c = fgetc(p)) != EOF)
		fputc(c, o);
	fclose(o);
	cr_assert_eq(pclose(p), 0, "parser failed: %s", out);
	j = json_tokener_parse(out);
	cr_assert_not_null(j, "%s", out);
	free(out);
	return j;
}

static const char *
jstr(json_object *o, const char *k)
{
	json_object *v;

	cr_assert(json_object_object_get_ex(o, k, &v), "no %s", k);
	return json_object_get_string(v);
}

Test(alert_email, multipart_mail_with_encoded_subject_reaches_every_recipient)
{
	struct alert_worker_opts o = { .consumer = "w1", .base_delay_ms = -1, .now_ms = T0 + 1000 };
	struct alert_worker_stats s;
	char key[65], want[120], *path;
	json_object *j, *parts, *p;

	smtpd_start();
	raise_alert();
	alert_key("any", LID, T0, key);
	cr_assert_eq(alert_engine_work(eng, st, &o, &s), STORE_OK, "%s", store_error(st));
	cr_assert_eq(s.delivered, 1);
	cr_assert_eq(s.acked, 1);
	path = only_message();
	j = parse_message(path);
	free(path);
	cr_assert_str_eq(jstr(j, "subject"), "[pricewatch] Caf\xc3\xa9 grinder \xe2\x80\x94 \xe6\x97\xa5\xe6\x9c\xac"
	    "\xe8\xaa\x9e edition with a long name to fold: 25.00 EUR \xe2\x86\x92 19.99 EUR (-20.04%)");
	cr_assert(strncmp(jstr(j, "raw_subject"), "=?UTF-8?B?", 10) == 0, "%s", jstr(j, "raw_subject"));
	cr_assert_eq(json_object_get_int(json_object_object_get(j, "defects")), 0);
	cr_assert_leq(json_object_get_int(json_object_object_get(j, "longest_line")), 78, "%s", jstr(j, "longest"));
	cr_assert_str_eq(jstr(j, "mime"), "multipart/alternative");
	cr_assert(pw_snprintf(want, sizeof(want), "<%.32s@pricewatch>", key));
	cr_assert_str_eq(jstr(j, "message_id"), want);
	cr_assert_str_eq(jstr(j, "delivery"), key);
	cr_assert_eq(json_object_get_int64(json_object_object_get(j, "date")), 1790000001);
	cr_assert(strstr(jstr(j, "rcpt"), "buyer@example.com") != NULL && strstr(jstr(j, "rcpt"), "ops@example.org"),
	    "%s", jstr(j, "rcpt"));
	cr_assert_eq(json_object_array_length(json_object_object_get(j, "to")), 2);
	parts = json_object_object_get(j, "parts");
	cr_assert_eq(json_object_array_length(parts), 2);
	p = json_object_array_get_idx(parts, 0);
	cr_assert_str_eq(jstr(p, "type"), "text/plain");
	cr_assert_str_eq(jstr(p, "charset"), "utf-8");
	cr_assert_str_eq(jstr(p, "cte"), "base64");
	cr_assert(strstr(jstr(p, "text"), "Price: 25.00 EUR -> 19.99 EUR (-20.04%)") != NULL, "%s", jstr(p, "text"));
	cr_assert(strstr(jstr(p, "text"), "Caf\xc3\xa9 grinder") != NULL);
	cr_assert(strstr(jstr(p, "text"), key) != NULL);
	p = json_object_array_get_idx(parts, 1);
	cr_assert_str_eq(jstr(p, "type"), "text/html");
	cr_assert(strstr(jstr(p, "text"), "href=\"https://shop.example/p/m1?x=&lt;1&gt;&amp;y=2\"") != NULL, "%s",
	    jstr(p, "text"));
	cr_assert(strstr(jstr(p, "text"), "25.00 EUR &rarr; 19.99 EUR") != NULL);
	json_object_put(j);
}

Test(alert_email, mail_waits_while_the_server_is_down_then_arrives)
{
	struct alert_worker_opts o = { .consumer = "w1", .base_delay_ms = -1, .now_ms = T0 + 1000 };
	struct alert_worker_stats s;
	char *path;
	json_object *j;
	char key[65];

	raise_alert();
	alert_key("any", LID, T0, key);
	cr_assert_eq(alert_engine_work(eng, st, &o, &s), STORE_OK, "%s", store_error(st));
	cr_assert_eq(s.retried, 1);
	cr_assert_eq(s.acked, 0);
	smtpd_start();
	cr_assert_eq(alert_engine_work(eng, st, &o, &s), STORE_OK, "%s", store_error(st));
	cr_assert_eq(s.delivered, 1);
	cr_assert_eq(s.acked, 1);
	path = only_message();
	j = parse_message(path);
	free(path);
	cr_assert_str_eq(jstr(j, "delivery"), key);
	json_object_put(j);
}

Test(alert_email, header_encoding_never_splits_utf8)
{
	/* 38 ASCII bytes then a 3-byte character straddling the 39-byte word boundary. */
	char *h = email_encode_header("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\xe2\x86\x92z");

	cr_assert_str_eq(h, "=?UTF-8?B?YWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWE=?=\r\n"
	    " =?UTF-8?B?4oaSeg==?=");
	free(h);
	h = email_encode_header("plain ascii");
	cr_assert_str_eq(h, "plain ascii");
	free(h);
}

Test(alert_email, digest_is_one_multipart_mail_listing_every_alert)
{
	struct alert_worker_opts o = { .consumer = "w1", .base_delay_ms = -1, .now_ms = T0 + 1000 };
	struct alert_worker_stats s;
	char ids[200], key[65], want[120], *path;
	redisReply *r;
	redisContext *raw;
	json_object *j, *p;

	smtpd_start();
	raise_alert_at("digested", "shop:sku:G1", T0);
	raise_alert_at("digested", "shop:sku:G2", T0 + 10);
	cr_assert_eq(alert_engine_work(eng, st, &o, &s), STORE_OK, "%s", store_error(st));
	cr_assert_eq(s.delivered + s.acked, 0);
	o.now_ms += 15 * 60 * 1000;
	cr_assert_eq(alert_engine_work(eng, st, &o, &s), STORE_OK, "%s", store_error(st));
	cr_assert_eq(s.digests, 1);
	cr_assert_eq(s.delivered, 2);
	cr_assert_eq(s.acked, 2);
	raw = redisConnectUnix(redis.socket_path);
	cr_assert(raw != NULL && raw->err == 0);
	r = redisCommand(raw, "XRANGE pw:alerts - +");
	cr_assert(r != NULL && r->type == REDIS_REPLY_ARRAY && r->elements == 2);
	cr_assert(pw_snprintf(ids, sizeof(ids), "%s,%s", r->element[0]->element[0]->str,
	    r->element[1]->element[0]->str));
	freeReplyObject(r);
	redisFree(raw);
	alert_digest_key("digest", ids, key);
	path = only_message();
	j = parse_message(path);
	free(path);
	cr_assert_str_eq(jstr(j, "subject"), "[pricewatch] 2 alerts");
	cr_assert_str_eq(jstr(j, "from"), "pricewatch <alerts@shop.example>");
	cr_assert_str_eq(jstr(j, "delivery"), key);
	cr_assert(pw_snprintf(want, sizeof(want), "<%.32s@pricewatch>", key));
	cr_assert_str_eq(jstr(j, "message_id"), want);
	cr_assert_eq(json_object_get_int(json_object_object_get(j, "defects")), 0);
	cr_assert_str_eq(jstr(j, "mime"), "multipart/alternative");
	p = json_object_array_get_idx(json_object_object_get(j, "parts"), 0);
	cr_assert_str_eq(jstr(p, "type"), "text/plain");
	cr_assert(strstr(jstr(p, "text"), "2 alerts (digest ") != NULL, "%s", jstr(p, "text"));
	cr_assert(strstr(jstr(p, "text"), "1. Rule any-d (any-change) fired.") != NULL, "%s", jstr(p, "text"));
	cr_assert(strstr(jstr(p, "text"), "2. Rule any-d (any-change) fired.") != NULL);
	cr_assert(strstr(jstr(p, "text"), "Listing id: shop:sku:G2") != NULL);
	p = json_object_array_get_idx(json_object_object_get(j, "parts"), 1);
	cr_assert_str_eq(jstr(p, "type"), "text/html");
	cr_assert(strstr(jstr(p, "text"), "<h3>2 alerts</h3>") != NULL);
	json_object_put(j);
}
