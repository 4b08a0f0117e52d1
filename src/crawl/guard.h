/* guard.h: the SSRF guard: refuses URLs and connections that reach loopback, private, link-local or metadata addresses. */
#ifndef PW_CRAWL_GUARD_H
#define PW_CRAWL_GUARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <curl/curl.h>

/* What an address is; every class but GUARD_PUBLIC is refused unless the policy allows it. */
enum guard_class {
	GUARD_PUBLIC = 0,
	GUARD_LOOPBACK,            /* 127/8, ::1 */
	GUARD_UNSPECIFIED,         /* 0/8, :: (Linux connects 0.0.0.0 to this host): allowed with loopback */
	GUARD_PRIVATE,             /* 10/8, 172.16/12, 192.168/16, fc00::/7 */
	GUARD_CGNAT,               /* 100.64/10 (shared address space): allowed with private */
	GUARD_LINK_LOCAL,          /* 169.254/16, fe80::/10 */
	GUARD_METADATA,            /* 169.254.169.254, fd00:ec2::254: cloud instance credentials */
	GUARD_MULTICAST,           /* 224/4, ff00::/8: never */
	GUARD_RESERVED,            /* 240/4, 255.255.255.255, 192.0.0/24, 198.18/15, other IPv6 oddities: never */
};

/* Which non-public classes a source may reach (tests and intranet sources); zero = public only. */
struct guard_policy {
	bool allow_loopback;       /* also the unspecified address */
	bool allow_private;        /* also CGNAT */
	bool allow_link_local;     /* not the metadata address: that needs allow_metadata */
	bool allow_metadata;
	/*
	 * Optional: where the connection callback of guard_install records a refusal,
	 * so that the fetch error can say why. Written from the thread running the
	 * transfer; may be NULL.
	 */
	struct guard_report *report;
};

struct guard_report {
	unsigned refused;          /* connections refused so far */
	char reason[160];          /* the last refusal: "127.0.0.1 is loopback" */
};

enum guard_result { GUARD_ALLOWED = 0, GUARD_BLOCKED, GUARD_ERROR };

/* Short name of a class ("loopback", "a cloud metadata address", ...), for messages. */
const char *guard_class_name(enum guard_class c);
bool guard_class_allowed(enum guard_class c, const struct guard_policy *policy);

/* Classifies one IPv4 address (host byte order). */
enum guard_class guard_classify_ipv4(uint32_t addr);
/* Classifies one IPv6 address; IPv4-mapped, -compatible, NAT64 and 6to4 forms by their IPv4 address. */
enum guard_class guard_classify_ipv6(const uint8_t addr[16]);
/* Classifies a socket address; anything but AF_INET/AF_INET6 is GUARD_RESERVED. */
enum guard_class guard_classify_sockaddr(const struct sockaddr *sa, socklen_t len);

/*
 * Parses the IPv4 spellings inet_aton (and so curl and browsers) accept: 1 to 4
 * parts, each decimal, octal (leading 0) or hex (0x): "2130706433", "0x7f.1",
 * "0177.0.0.1", "127.1". A trailing dot is accepted as browsers do. Returns false
 * for anything else (host names).
 */
bool guard_parse_ipv4(const char *host, uint32_t *addr_out);

/*
 * Checks the host of url: a literal address (any IPv4 spelling, [IPv6] with an
 * optional zone) is classified directly; a name is resolved with getaddrinfo and
 * EVERY address must be allowed (a name that also resolves to a private address is
 * refused). Writes "URL: blocked by the SSRF guard: HOST is ADDRESS, CLASS" or the
 * resolution error into err. This answers for the name now; guard_install makes
 * the connection itself obey the policy (DNS rebinding, redirects).
 */
enum guard_result guard_check_url(const char *url, const struct guard_policy *policy,
    char *err, size_t errlen);

/*
 * Makes every connection curl opens for this handle (the first and any after a
 * redirect, every address tried) pass the policy: a CURLOPT_OPENSOCKETFUNCTION
 * that refuses the socket before connect(), so curl fails with
 * CURLE_COULDNT_CONNECT and policy->report (if set) says why. The policy is
 * borrowed: it must outlive the handle's transfers. With a proxy configured, the
 * proxy's address is what gets checked (the proxy reaches the target): use
 * guard_check_url for the target in that case.
 */
CURLcode guard_install(CURL *curl, const struct guard_policy *policy);

#endif
