/* guard.c: classifies resolved addresses and refuses the ones a page-supplied URL must not reach (SSRF). */
#include "config.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <curl/curl.h>

#include "common/util.h"
#include "crawl/guard.h"

/* Error messages keep at most this much of a hostile, very long URL. */
#define GUARD_MAX_URL_SHOWN 80

const char *
guard_class_name(enum guard_class c)
{
	switch (c) {
	case GUARD_PUBLIC: return "public";
	case GUARD_LOOPBACK: return "loopback";
	case GUARD_UNSPECIFIED: return "the unspecified address (this host)";
	case GUARD_PRIVATE: return "a private address";
	case GUARD_CGNAT: return "shared address space (CGNAT)";
	case GUARD_LINK_LOCAL: return "link-local";
	case GUARD_METADATA: return "a cloud metadata address";
	case GUARD_MULTICAST: return "multicast";
	case GUARD_RESERVED: return "a reserved address";
	}
	return "an unknown kind of address";
}

bool
guard_class_allowed(enum guard_class c, const struct guard_policy *p)
{
	static const struct guard_policy public_only = { 0 };

	if (p == NULL)
		p = &public_only;
	switch (c) {
	case GUARD_PUBLIC:
		return true;
	case GUARD_LOOPBACK:
	case GUARD_UNSPECIFIED:
		return p->allow_loopback;
	case GUARD_PRIVATE:
	case GUARD_CGNAT:
		return p->allow_private;
	case GUARD_LINK_LOCAL:
		return p->allow_link_local;
	case GUARD_METADATA:
		return p->allow_metadata;
	case GUARD_MULTICAST:
	case GUARD_RESERVED:
		break;
	}
	return false;
}

/* True when addr is inside net/prefix (all host byte order). */
static bool
in4(uint32_t addr, uint32_t net, int prefix)
{
	uint32_t mask = prefix == 0 ? 0 : 0xFFFFFFFFu << (32 - prefix);
	return (addr & mask) == (net & mask);
}

#define IP4(a, b, c, d) (((uint32_t)(a) << 24) | ((uint32_t)(b) << 16) | ((uint32_t)(c) << 8) | (uint32_t)(d))

enum guard_class
guard_classify_ipv4(uint32_t a)
{
	if (in4(a, IP4(0, 0, 0, 0), 8))
		return GUARD_UNSPECIFIED;
	if (in4(a, IP4(127, 0, 0, 0), 8))
		return GUARD_LOOPBACK;
	if (a == IP4(169, 254, 169, 254) || a == IP4(100, 100, 100, 200))   /* AWS/GCP/Azure, Alibaba */
		return GUARD_METADATA;
	if (in4(a, IP4(10, 0, 0, 0), 8) || in4(a, IP4(172, 16, 0, 0), 12) || in4(a, IP4(192, 168, 0, 0), 16))
		return GUARD_PRIVATE;
	if (in4(a, IP4(100, 64, 0, 0), 10))
		return GUARD_CGNAT;
	if (in4(a, IP4(169, 254, 0, 0), 16))
		return GUARD_LINK_LOCAL;
	if (in4(a, IP4(224, 0, 0, 0), 4))
		return GUARD_MULTICAST;
	/* Never public on the internet, so a DNS answer naming one points inside somebody's network. */
	if (in4(a, IP4(240, 0, 0, 0), 4) || in4(a, IP4(192, 0, 0, 0), 24) || in4(a, IP4(198, 18, 0, 0), 15) ||
	    in4(a, IP4(192, 0, 2, 0), 24) || in4(a, IP4(198, 51, 100, 0), 24) || in4(a, IP4(203, 0, 113, 0), 24))
		return GUARD_RESERVED;
	return GUARD_PUBLIC;
}

static uint32_t
v4_at(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static bool
all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != 0)
			return false;
	return true;
}

enum guard_class
guard_classify_ipv6(const uint8_t a[16])
{
	static const uint8_t aws_metadata[16] = { 0xfd, 0x00, 0x0e, 0xc2, [14] = 0x02, [15] = 0x54 };
	static const uint8_t nat64[12] = { 0x00, 0x64, 0xff, 0x9b };

	if (all_zero(a, 15)) {
		if (a[15] == 0)
			return GUARD_UNSPECIFIED;
		if (a[15] == 1)
			return GUARD_LOOPBACK;
	}
	/* IPv4-compatible (::a.b.c.d, deprecated) and IPv4-mapped (::ffff:a.b.c.d). */
	if (all_zero(a, 12) || (all_zero(a, 10) && a[10] == 0xff && a[11] == 0xff))
		return guard_classify_ipv4(v4_at(a + 12));
	/* NAT64: 64:ff9b::/96 and the local-use 64:ff9b:1::/48 carry the IPv4 address last. */
	if (memcmp(a, nat64, 12) == 0 || (a[0] == 0x00 && a[1] == 0x64 && a[2] == 0xff && a[3] == 0x9b &&
	    a[4] == 0x00 && a[5] == 0x01))
		return guard_classify_ipv4(v4_at(a + 12));
	/* 6to4 (2002::/16) embeds the IPv4 address in bits 16-47. */
	if (a[0] == 0x20 && a[1] == 0x02)
		return guard_classify_ipv4(v4_at(a + 2));
	/* Teredo (2001:0::/32): the client's IPv4 address, inverted, is last. */
	if (a[0] == 0x20 && a[1] == 0x01 && a[2] == 0x00 && a[3] == 0x00) {
		uint32_t v = ~v4_at(a + 12);
		return guard_classify_ipv4(v);
	}
	if (memcmp(a, aws_metadata, 16) == 0)
		return GUARD_METADATA;
	if ((a[0] & 0xfe) == 0xfc)
		return GUARD_PRIVATE;                       /* fc00::/7 unique local */
	if (a[0] == 0xfe && (a[1] & 0xc0) == 0x80)
		return GUARD_LINK_LOCAL;                    /* fe80::/10 */
	if (a[0] == 0xfe && (a[1] & 0xc0) == 0xc0)
		return GUARD_PRIVATE;                       /* fec0::/10, deprecated site-local */
	if (a[0] == 0xff)
		return GUARD_MULTICAST;
	if ((a[0] == 0x01 && all_zero(a + 1, 7)) ||                      /* 100::/64 discard */
	    (a[0] == 0x20 && a[1] == 0x01 && a[2] == 0x0d && a[3] == 0xb8)) /* 2001:db8::/32 docs */
		return GUARD_RESERVED;
	return GUARD_PUBLIC;
}

enum guard_class
guard_classify_sockaddr(const struct sockaddr *sa, socklen_t len)
{
	if (sa == NULL)
		return GUARD_RESERVED;
	if (sa->sa_family == AF_INET && len >= (socklen_t)sizeof(struct sockaddr_in)) {
		struct sockaddr_in sin;
		memcpy(&sin, sa, sizeof sin);
		return guard_classify_ipv4(ntohl(sin.sin_addr.s_addr));
	}
	if (sa->sa_family == AF_INET6 && len >= (socklen_t)sizeof(struct sockaddr_in6)) {
		struct sockaddr_in6 sin6;
		memcpy(&sin6, sa, sizeof sin6);
		return guard_classify_ipv6(sin6.sin6_addr.s6_addr);
	}
	return GUARD_RESERVED;
}

/* One dotted part of a loose IPv4 spelling: decimal, 0-prefixed octal or 0x hex. */
static bool
parse_ipv4_part(const char *s, size_t len, uint64_t *out)
{
	uint64_t v = 0;
	unsigned base = 10;
	size_t i = 0;

	if (len == 0)
		return false;
	if (len >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		i = 2;
		if (len == 2)
			return false;
	} else if (len >= 2 && s[0] == '0') {
		base = 8;
		i = 1;
	}
	for (; i < len; i++) {
		unsigned d;
		char c = s[i];
		if (c >= '0' && c <= '9')
			d = (unsigned)(c - '0');
		else if (base == 16 && c >= 'a' && c <= 'f')
			d = (unsigned)(c - 'a' + 10);
		else if (base == 16 && c >= 'A' && c <= 'F')
			d = (unsigned)(c - 'A' + 10);
		else
			return false;
		if (d >= base)
			return false;
		v = v * base + d;
		if (v > 0xFFFFFFFFu)
			return false;
	}
	*out = v;
	return true;
}

bool
guard_parse_ipv4(const char *host, uint32_t *addr_out)
{
	uint64_t part[4];
	size_t n = 0, len;
	const char *p = host;
	uint64_t v;

	if (host == NULL || (len = strlen(host)) == 0)
		return false;
	if (host[len - 1] == '.')
		len--;                 /* "127.0.0.1." is the same host to a resolver */
	for (;;) {
		const char *dot = memchr(p, '.', (size_t)(host + len - p));
		size_t plen = dot != NULL ? (size_t)(dot - p) : (size_t)(host + len - p);
		if (n == 4 || !parse_ipv4_part(p, plen, &part[n]))
			return false;  /* a fifth part, or not a number */
		n++;
		if (dot == NULL)
			break;
		p = dot + 1;
	}
	/* The last part fills the remaining bytes: a.b.c.d, a.b.c(16), a.b(24), a(32). */
	for (size_t i = 0; i + 1 < n; i++)
		if (part[i] > 255)
			return false;
	if (part[n - 1] > (0xFFFFFFFFu >> (8 * (n - 1))))
		return false;
	v = part[n - 1];
	for (size_t i = 0; i + 1 < n; i++)
		v |= part[i] << (24 - 8 * i);
	*addr_out = (uint32_t)v;
	return true;
}

static void
set_error(char *err, size_t errlen, const char *url, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
set_error(char *err, size_t errlen, const char *url, const char *fmt, ...)
{
	char reason[256];
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(reason, sizeof reason, fmt, ap);
	va_end(ap);
	if (strlen(url) > GUARD_MAX_URL_SHOWN)
		snprintf(err, errlen, "%.*s...: %s", GUARD_MAX_URL_SHOWN, url, reason);
	else
		snprintf(err, errlen, "%s: %s", url, reason);
}

/* Formats a socket address as text ("127.0.0.1", "::1") into buf. */
static void
addr_text(const struct sockaddr *sa, char *buf, size_t buflen)
{
	const void *src = NULL;

	if (sa->sa_family == AF_INET)
		src = &((const struct sockaddr_in *)(const void *)sa)->sin_addr;
	else if (sa->sa_family == AF_INET6)
		src = &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
	if (src == NULL || inet_ntop(sa->sa_family, src, buf, (socklen_t)buflen) == NULL)
		pw_strlcpy(buf, "(address)", buflen);
}

/* Checks one literal or resolved address; fills err when it is refused. */
static enum guard_result
check_one(const char *url, const char *host, const struct sockaddr *sa, socklen_t salen,
    const struct guard_policy *policy, char *err, size_t errlen)
{
	enum guard_class c = guard_classify_sockaddr(sa, salen);
	char text[INET6_ADDRSTRLEN];

	if (guard_class_allowed(c, policy))
		return GUARD_ALLOWED;
	addr_text(sa, text, sizeof text);
	if (strcmp(text, host) == 0)
		set_error(err, errlen, url, "blocked by the SSRF guard: %s is %s", text, guard_class_name(c));
	else
		set_error(err, errlen, url, "blocked by the SSRF guard: %s is %s, %s", host, text,
		    guard_class_name(c));
	return GUARD_BLOCKED;
}

enum guard_result
guard_check_url(const char *url, const struct guard_policy *policy, char *err, size_t errlen)
{
	CURLU *u;
	char *host = NULL;
	enum guard_result res = GUARD_ERROR;
	uint32_t v4;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (url == NULL)
		url = "";
	u = curl_url();
	if (u == NULL) {
		set_error(err, errlen, url, "out of memory");
		return GUARD_ERROR;
	}
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK || host == NULL || host[0] == '\0') {
		set_error(err, errlen, url, "not a URL with a host name");
		goto out;
	}

	if (host[0] == '[') {
		/* curl gives "[v6]" without the zone; an address with a zone is link-local anyway. */
		struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6 };
		size_t hl = strlen(host);
		char *inner = xstrndup(host + 1, hl >= 2 ? hl - 2 : 0);
		bool ok = inet_pton(AF_INET6, inner, &sin6.sin6_addr) == 1;
		free(inner);
		if (!ok) {
			set_error(err, errlen, url, "bad IPv6 address %s", host);
			goto out;
		}
		res = check_one(url, host, (struct sockaddr *)&sin6, sizeof sin6, policy, err, errlen);
	} else if (guard_parse_ipv4(host, &v4)) {
		/* "2130706433", "0x7f.1": what curl (and inet_aton) would connect to. */
		struct sockaddr_in sin = { .sin_family = AF_INET };
		sin.sin_addr.s_addr = htonl(v4);
		res = check_one(url, host, (struct sockaddr *)&sin, sizeof sin, policy, err, errlen);
	} else {
		struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };
		struct addrinfo *ai = NULL;
		int gai = getaddrinfo(host, NULL, &hints, &ai);
		if (gai != 0) {
			set_error(err, errlen, url, "cannot resolve %s: %s", host, gai_strerror(gai));
			goto out;
		}
		/* Every address must pass: curl may connect to any of them. */
		res = GUARD_ALLOWED;
		for (struct addrinfo *p = ai; p != NULL && res == GUARD_ALLOWED; p = p->ai_next)
			res = check_one(url, host, p->ai_addr, p->ai_addrlen, policy, err, errlen);
		freeaddrinfo(ai);
	}
out:
	curl_free(host);
	curl_url_cleanup(u);
	return res;
}

/*
 * CURLOPT_OPENSOCKETFUNCTION: runs for every address curl is about to connect to,
 * after its own DNS lookup, so the check covers the address actually used.
 */
static curl_socket_t
guard_opensocket(void *clientp, curlsocktype purpose, struct curl_sockaddr *address)
{
	const struct guard_policy *policy = clientp;
	struct sockaddr_storage ss;
	size_t n = address->addrlen < sizeof ss ? address->addrlen : sizeof ss;
	/* curl's struct declares a plain sockaddr but holds the whole address: copy by its length. */
	const unsigned char *src = (const unsigned char *)address + offsetof(struct curl_sockaddr, addr);
	enum guard_class c;

	memset(&ss, 0, sizeof ss);
	memcpy(&ss, src, n);
	c = guard_classify_sockaddr((const struct sockaddr *)&ss, (socklen_t)n);
	if (purpose == CURLSOCKTYPE_IPCXN && !guard_class_allowed(c, policy)) {
		if (policy != NULL && policy->report != NULL) {
			char text[INET6_ADDRSTRLEN];
			addr_text((const struct sockaddr *)&ss, text, sizeof text);
			policy->report->refused++;
			snprintf(policy->report->reason, sizeof policy->report->reason,
			    "blocked by the SSRF guard: %s is %s", text, guard_class_name(c));
		}
		return CURL_SOCKET_BAD;
	}
	return socket(address->family, address->socktype | SOCK_CLOEXEC, address->protocol);
}

CURLcode
guard_install(CURL *curl, const struct guard_policy *policy)
{
	CURLcode rc;

	rc = curl_easy_setopt(curl, CURLOPT_OPENSOCKETFUNCTION, guard_opensocket);
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(curl, CURLOPT_OPENSOCKETDATA, (void *)(uintptr_t)policy);
	return rc;
}
