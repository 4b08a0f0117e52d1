/* test-alert-email.c: alert mail to a real SMTP server (python3-aiosmtpd, maildir) on 127.0.0.1, parsed back with Python's email package; SMTP AUTH over STARTTLS. */
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
#include "harness/daemon.h"
#include "harness/redis.h"
#include "harness/run.h"
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

/* Waits until the SMTP server just forked as smtpd_pid accepts connections on smtp_port. */
static void
smtpd_wait(void)
{
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
	cr_assert_fail("aiosmtpd did not start listening on port %d", smtp_port);
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
	smtpd_wait();
}

static void
setup(void)
{
	char err[512], path[400];
	FILE *f;

	cr_assert_eq(curl_global_init(CURL_GLOBAL_DEFAULT), CURLE_OK);
	test_redis_start(&redis);
	st = test_redis_open_store(&redis);
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

/* Runs a Python script (read from $PW_PARSE_PY) on the message at path; its JSON output. */
static json_object *
run_parser(const char *script, const char *path)
{
	char cmd[1200], *out = NULL;
	size_t len = 0;
	FILE *p, *o;
	json_object *j;
	int c;

	cr_assert(pw_snprintf(cmd, sizeof(cmd), "%s -c \"$PW_PARSE_PY\" '%s'", python(), path));
	setenv("PW_PARSE_PY", script, 1);
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

static json_object *
parse_message(const char *path)
{
	return run_parser(parse_py, path);
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

/* The MIME tree, the HTML, and each image/png part's Content-ID, checked PNG (signature, chunk CRCs, IHDR, the
 * inflated IDAT stream's exact size for those dimensions). */
static const char chart_py[] =
	"import sys, json, email, struct, zlib\n"
	"from email import policy\n"
	"raw = open(sys.argv[1], 'rb').read()\n"
	"m = email.message_from_bytes(raw, policy=policy.default)\n"
	"out = {'defects': len(m.defects), 'types': [], 'html': '', 'images': [],\n"
	"       'longest_line': max(len(l) for l in raw.splitlines() if not l.startswith(b'X-Pricewatch-Delivery:'))}\n"
	"def png(b):\n"
	"    if b[:8] != b'\\x89PNG\\r\\n\\x1a\\n': return {'ok': False}\n"
	"    off, idat, ihdr, ok = 8, b'', None, True\n"
	"    while off + 12 <= len(b):\n"
	"        n, t = struct.unpack('>I4s', b[off:off + 8]); d = b[off + 8:off + 8 + n]\n"
	"        ok = ok and zlib.crc32(t + d) == struct.unpack('>I', b[off + 8 + n:off + 12 + n])[0]\n"
	"        if t == b'IHDR': ihdr = struct.unpack('>IIBBBBB', d)\n"
	"        if t == b'IDAT': idat += d\n"
	"        off += 12 + n\n"
	"        if t == b'IEND': break\n"
	"    w, h, depth, ctype = ihdr[:4]\n"
	"    ch = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[ctype]\n"
	"    raw = zlib.decompress(idat)\n"
	"    return {'ok': ok and ihdr[6] == 0 and len(raw) == h * (1 + (w * ch * depth + 7) // 8), 'width': w, 'height': h}\n"
	"for p in m.walk():\n"
	"    out['types'].append(p.get_content_type())\n"
	"    if p.get_content_type() == 'text/html': out['html'] = p.get_content()\n"
	"    if p.get_content_type() == 'image/png':\n"
	"        i = png(p.get_content()); i['cid'] = str(p['Content-ID']); out['images'].append(i)\n"
	"print(json.dumps(out))\n";

Test(alert_email, mail_embeds_the_listing_chart_referenced_by_the_html)
{
	struct alert_worker_opts o = { .consumer = "w1", .base_delay_ms = -1, .now_ms = T0 + 1000 };
	struct alert_worker_stats s;
	struct observation obs = {
		.source = "shop", .listing_id = LID, .url = "https://shop.example/p/m1", .title = "Grinder",
		.price = { 2500, "EUR" }, .availability = AVAIL_IN_STOCK, .observed_ms = T0 - 10LL * 86400 * 1000,
	};
	static const char *const types[] = { "multipart/alternative", "text/plain", "multipart/related", "text/html",
		"image/png" };
	json_object *j, *img;
	char *path, *cid, ref[200];
	const char *html;

	/* The listing has a history (25.00 ten days ago, 19.99 now): the mail carries its chart. */
	cr_assert_eq(store_record(st, &obs, NULL), STORE_OK, "%s", store_error(st));
	obs.price.minor = 1999;
	obs.observed_ms = T0;
	cr_assert_eq(store_record(st, &obs, NULL), STORE_OK, "%s", store_error(st));
	smtpd_start();
	raise_alert();
	cr_assert_eq(alert_engine_work(eng, st, &o, &s), STORE_OK, "%s", store_error(st));
	cr_assert_eq(s.delivered, 1);
	path = only_message();
	j = run_parser(chart_py, path);
	free(path);
	cr_assert_eq(json_object_get_int(json_object_object_get(j, "defects")), 0);
	cr_assert_leq(json_object_get_int(json_object_object_get(j, "longest_line")), 78);
	cr_assert_eq(json_object_array_length(json_object_object_get(j, "types")), 5, "%s",
	    json_object_to_json_string(j));
	for (size_t i = 0; i < 5; i++)
		cr_assert_str_eq(json_object_get_string(json_object_array_get_idx(json_object_object_get(j, "types"), i)),
		    types[i]);
	cr_assert_eq(json_object_array_length(json_object_object_get(j, "images")), 1);
	img = json_object_array_get_idx(json_object_object_get(j, "images"), 0);
	cr_assert(json_object_get_boolean(json_object_object_get(img, "ok")), "PNG does not decode: %s",
	    json_object_to_json_string(img));
	cr_assert_eq(json_object_get_int(json_object_object_get(img, "width")), 640);
	cr_assert_eq(json_object_get_int(json_object_object_get(img, "height")), 320);
	/* Content-ID <x> is referenced as cid:x by the HTML. */
	cid = xstrdup(jstr(img, "cid"));
	cr_assert(cid[0] == '<' && cid[strlen(cid) - 1] == '>', "%s", cid);
	cid[strlen(cid) - 1] = '\0';
	cr_assert(pw_snprintf(ref, sizeof(ref), "<img src=\"cid:%s\"", cid + 1));
	html = jstr(j, "html");
	cr_assert(strstr(html, ref) != NULL, "no %s in %s", ref, html);
	free(cid);
	json_object_put(j);
}

/* ---- SMTP AUTH: the notifier's user and password-file, through `pricewatch notify test` ---- */

#define AUTH_USER "alice"
#define AUTH_PASSWORD "correct horse battery"

/*
 * aiosmtpd requiring AUTH (alice / AUTH_PASSWORD); every attempt is logged as
 * "MECHANISM LOGIN ok|refused" to argv[3]. With argv[4] and argv[5] (cert, key)
 * it offers STARTTLS, requires it, and offers AUTH only after it; without them
 * AUTH is offered in clear (auth_require_tls=False).
 */
static const char auth_smtpd_py[] =
	"import sys, ssl, time\n"
	"from aiosmtpd.controller import Controller\n"
	"from aiosmtpd.handlers import Mailbox\n"
	"from aiosmtpd.smtp import AuthResult, LoginPassword\n"
	"port, maildir, log = int(sys.argv[1]), sys.argv[2], sys.argv[3]\n"
	"def auth(server, session, envelope, mechanism, data):\n"
	"    lp = isinstance(data, LoginPassword)\n"
	"    ok = lp and data.login == b'" AUTH_USER "' and data.password == b'" AUTH_PASSWORD "'\n"
	"    with open(log, 'a') as f:\n"
	"        f.write('%s %s %s\\n' % (mechanism, data.login.decode() if lp else '?', 'ok' if ok else 'refused'))\n"
	"    return AuthResult(success=ok, handled=False)\n"
	"kw = dict(authenticator=auth, auth_required=True, auth_require_tls=len(sys.argv) > 4)\n"
	"if len(sys.argv) > 4:\n"
	"    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)\n"
	"    ctx.load_cert_chain(sys.argv[4], sys.argv[5])\n"
	"    kw.update(tls_context=ctx, require_starttls=True)\n"
	"c = Controller(Mailbox(maildir), hostname='127.0.0.1', port=port, **kw)\n"
	"c.start()\n"
	"while True: time.sleep(3600)\n";

static char auth_log[400], cert_path[400], key_path[400];

/* Starts the AUTH server, with STARTTLS on a fresh self-signed certificate for 127.0.0.1 when tls. */
static void
auth_smtpd_start(bool tls)
{
	char port[16], *cmd;

	cr_assert(pw_snprintf(auth_log, sizeof(auth_log), "%s/auth.log", redis.dir));
	cr_assert(pw_snprintf(cert_path, sizeof(cert_path), "%s/smtpd.crt", redis.dir));
	cr_assert(pw_snprintf(key_path, sizeof(key_path), "%s/smtpd.key", redis.dir));
	if (tls) {
		cmd = xasprintf("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 "
		    "-subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 -keyout '%s' -out '%s' 2>/dev/null",
		    key_path, cert_path);
		cr_assert_eq(system(cmd), 0, "openssl could not make a certificate (install openssl): %s", cmd);
		free(cmd);
	}
	cr_assert(pw_snprintf(port, sizeof(port), "%d", smtp_port));
	smtpd_pid = fork();
	cr_assert(smtpd_pid >= 0);
	if (smtpd_pid == 0) {
		if (tls)
			execlp(python(), python(), "-c", auth_smtpd_py, port, maildir, auth_log, cert_path, key_path,
			    (char *)NULL);
		else
			execlp(python(), python(), "-c", auth_smtpd_py, port, maildir, auth_log, (char *)NULL);
		_exit(127);
	}
	smtpd_wait();
}

/*
 * Writes a config whose notifier "m" logs in as AUTH_USER with password (in a
 * password-file) and trusts the test certificate; runs `pricewatch notify
 * test m` on it. The caller frees r.
 */
static void
notify_test(struct test_run *r, const char *password)
{
	char conf[400], pw[400], body[1600];
	const char *args[] = { "-c", conf, "notify", "test", "m", NULL };

	cr_assert(pw_snprintf(pw, sizeof(pw), "%s/smtp.password", redis.dir));
	cr_assert(pw_snprintf(body, sizeof(body), "%s\n", password));
	test_daemon_write_text(pw, body);
	cr_assert(pw_snprintf(conf, sizeof(conf), "%s/auth.conf", redis.dir));
	cr_assert(pw_snprintf(body, sizeof(body), "[crawl]\nconnect-timeout = 2s\n"
	    "[notifier \"m\"]\ntype = email\nurl = smtp://127.0.0.1:%d\nto = buyer@example.com\nuser = " AUTH_USER "\n"
	    "password-file = %s\nca-file = %s\ntimeout = 10s\n", smtp_port, pw, cert_path));
	test_daemon_write_text(conf, body);
	test_run(r, "pricewatch", NULL, NULL, args);
}

/* The AUTH attempts the server logged ("" when none). The caller frees. */
static char *
auth_attempts(void)
{
	char *s = read_file(auth_log, 1 << 16, NULL);

	return s != NULL ? s : xstrdup("");
}

/* The number of messages delivered to the maildir. */
static int
messages(void)
{
	char dir[450];
	DIR *d;
	struct dirent *e;
	int n = 0;

	cr_assert(pw_snprintf(dir, sizeof(dir), "%s/new", maildir));
	if ((d = opendir(dir)) == NULL)
		return 0;
	while ((e = readdir(d)) != NULL)
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

Test(alert_email, auth_uses_user_and_password_file_over_starttls, .timeout = 60)
{
	struct test_run r;
	char *log;

	auth_smtpd_start(true);
	notify_test(&r, AUTH_PASSWORD);
	cr_assert_eq(r.rc, 0, "out: %s\nerr: %s", r.out, r.err);
	cr_assert(strstr(r.out, "m (email): delivered") != NULL, "%s", r.out);
	test_run_free(&r);
	log = auth_attempts();
	cr_assert(strstr(log, " " AUTH_USER " ok\n") != NULL, "no successful login: \"%s\"", log);
	cr_assert_null(strstr(log, "refused"), "%s", log);
	free(log);
	cr_assert_eq(messages(), 1);
}

Test(alert_email, a_wrong_password_is_reported_as_auth, .timeout = 60)
{
	struct test_run r;
	char *log;

	auth_smtpd_start(true);
	notify_test(&r, "wrong horse");
	cr_assert_neq(r.rc, 0);
	cr_assert(strstr(r.out, "m (email): FAILED at auth (not retried: fix the notifier): ") != NULL,
	    "out: %s\nerr: %s", r.out, r.err);
	test_run_free(&r);
	log = auth_attempts();
	cr_assert(strstr(log, " " AUTH_USER " refused\n") != NULL, "the server saw no login: \"%s\"", log);
	free(log);
	cr_assert_eq(messages(), 0);
}

/* A server offering AUTH without TLS never gets the password: the notifier requires STARTTLS with one. */
Test(alert_email, a_password_never_goes_out_in_clear, .timeout = 60)
{
	struct test_run r;
	char *log;

	auth_smtpd_start(false);
	/* ca-file must name a readable file; the certificate is not used here. */
	test_daemon_write_text(cert_path, "");
	notify_test(&r, AUTH_PASSWORD);
	cr_assert_neq(r.rc, 0);
	cr_assert(strstr(r.out, "m (email): FAILED at tls") != NULL, "out: %s\nerr: %s", r.out, r.err);
	test_run_free(&r);
	log = auth_attempts();
	cr_assert_str_eq(log, "", "a login was attempted in clear");
	free(log);
	cr_assert_eq(messages(), 0);
}

Test(alert_email, a_chart_that_cannot_be_drawn_leaves_the_mail_without_it)
{
	struct alert_worker_opts o = { .consumer = "w1", .base_delay_ms = -1, .now_ms = T0 + 1000 };
	struct alert_worker_stats s;
	struct observation obs = {
		.source = "shop", .listing_id = LID, .url = "https://shop.example/p/m1", .title = "Grinder",
		.availability = AVAIL_OUT_OF_STOCK, .observed_ms = T0,
	};
	json_object *j;
	char *path;

	/* A history without a single price: nothing to draw, and the alert still goes out, as a plain mail. */
	cr_assert_eq(store_record(st, &obs, NULL), STORE_OK, "%s", store_error(st));
	smtpd_start();
	raise_alert();
	cr_assert_eq(alert_engine_work(eng, st, &o, &s), STORE_OK, "%s", store_error(st));
	cr_assert_eq(s.delivered, 1);
	cr_assert_eq(s.acked, 1);
	path = only_message();
	j = run_parser(chart_py, path);
	free(path);
	cr_assert_eq(json_object_array_length(json_object_object_get(j, "types")), 3, "%s",
	    json_object_to_json_string(j));
	cr_assert_eq(json_object_array_length(json_object_object_get(j, "images")), 0);
	cr_assert(strstr(jstr(j, "html"), "cid:") == NULL);
	json_object_put(j);
}
