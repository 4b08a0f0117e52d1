/* fuse.c: the fused match score of a listing against a catalogue product, and the title tokenizer it uses. */
#include <stdio.h>
#include <string.h>

#include "match/fuse.h"

/* Signal weights and evidence ramps; docs/matching.md explains each. */
#define W_EMBEDDING 0.45f
#define W_HISTOGRAM 0.20f
#define W_PHASH 0.20f
#define W_TITLE 0.30f
#define W_BRAND 0.10f
#define W_SUPPORT 0.50f /* total weight of present signals needed for full confidence */
#define EMB_LO 0.40f
#define EMB_HI 0.90f
#define HIST_LO 0.40f
#define HIST_HI 0.85f
#define PHASH_NEAR 6  /* Hamming distance at or below: full evidence */
#define PHASH_FAR 22  /* at or above: none (unrelated images average 32) */
#define GTIN_MISMATCH_PENALTY 0.50f
#define MPN_MISMATCH_PENALTY 0.20f
#define MPN_MIN_LEN 4

/* ---- tokens ----------------------------------------------------------------------------------------- */

/* Decodes one UTF-8 code point at *s (advancing it); malformed bytes come back as U+FFFD, one byte each. */
static uint32_t
utf8_next(const unsigned char **s)
{
	const unsigned char *p = *s;
	uint32_t cp;
	int n;

	if (p[0] < 0x80) {
		*s = p + 1;
		return p[0];
	}
	if ((p[0] & 0xe0) == 0xc0) {
		cp = p[0] & 0x1f;
		n = 1;
	} else if ((p[0] & 0xf0) == 0xe0) {
		cp = p[0] & 0x0f;
		n = 2;
	} else if ((p[0] & 0xf8) == 0xf0) {
		cp = p[0] & 0x07;
		n = 3;
	} else {
		*s = p + 1;
		return 0xfffd;
	}
	for (int i = 1; i <= n; i++) {
		if ((p[i] & 0xc0) != 0x80) { /* also stops at the NUL */
			*s = p + 1;
			return 0xfffd;
		}
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	*s = p + n + 1;
	if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0xfffd;
	return cp;
}

/* Simple lower-casing (no locale): ASCII, Latin-1, Latin Extended-A, Greek, Cyrillic; fullwidth ASCII
 * letters and digits folded to ASCII. */
static uint32_t
lower_cp(uint32_t c)
{
	if (c >= 'A' && c <= 'Z')
		return c + 32;
	if (c < 0x80)
		return c;
	if (c >= 0xff10 && c <= 0xff19)
		return '0' + (c - 0xff10);
	if (c >= 0xff21 && c <= 0xff3a)
		return 'a' + (c - 0xff21);
	if (c >= 0xff41 && c <= 0xff5a)
		return 'a' + (c - 0xff41);
	if (c >= 0xc0 && c <= 0xde && c != 0xd7)
		return c + 32;
	if (c == 0x130)
		return 'i';
	if ((c >= 0x100 && c <= 0x137) || (c >= 0x14a && c <= 0x177))
		return (c & 1) ? c : c + 1;
	if ((c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17e))
		return (c & 1) ? c + 1 : c;
	if (c == 0x178)
		return 0xff;
	if (c >= 0x391 && c <= 0x3a9 && c != 0x3a2)
		return c + 32;
	if (c == 0x386)
		return 0x3ac;
	if (c >= 0x388 && c <= 0x38a)
		return c + 37;
	if (c == 0x38c)
		return 0x3cc;
	if (c == 0x38e || c == 0x38f)
		return c + 63;
	if (c >= 0x410 && c <= 0x42f)
		return c + 32;
	if (c >= 0x400 && c <= 0x40f)
		return c + 80;
	return c;
}

/* Letters and digits of any script count; ASCII punctuation, Latin-1 symbols, the general punctuation,
 * symbol and emoji blocks, CJK and fullwidth punctuation, and malformed bytes separate tokens. */
static bool
is_word_cp(uint32_t c)
{
	if (c < 0x80)
		return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
	if (c <= 0xbf)
		return c == 0xaa || c == 0xb5 || c == 0xba;
	if (c == 0xd7 || c == 0xf7)
		return false;
	if ((c >= 0x2000 && c <= 0x2bff) || (c >= 0x3000 && c <= 0x303f) || (c >= 0xfe00 && c <= 0xfe0f) ||
	    (c >= 0xfe30 && c <= 0xfe4f) || (c >= 0xff00 && c <= 0xff0f) || (c >= 0xff1a && c <= 0xff20) ||
	    (c >= 0xff3b && c <= 0xff40) || (c >= 0xff5b && c <= 0xff65) || c >= 0xfff0 ||
	    (c >= 0x1f000 && c <= 0x1faff))
		return false; /* fullwidth digits and letters were folded to ASCII by lower_cp() already */
	return true;
}

static bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Units that stick to a preceding number: "25 kg" is one token, "25kg". */
static bool
is_unit(const char *t)
{
	static const char *const units[] = {
		"l", "ml", "cl", "dl", "kg", "g", "mg", "t", "mm", "cm", "m", "km", "in", "inch", "ft", "oz", "lb",
		"lbs", "w", "kw", "v", "mah", "wh", "kwh", "gb", "tb", "mb", "hz", "khz", "mhz", "ghz", "pcs", "pc",
		"st", "stk", "db", "mp", "p",
	};
	for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
		if (strcmp(t, units[i]) == 0)
			return true;
	return false;
}

/* A number: digits with at most '.' separators between digits. */
static bool
is_number(const char *t)
{
	if (!is_digit(t[0]))
		return false;
	for (; *t != '\0'; t++)
		if (!is_digit(*t) && *t != '.')
			return false;
	return true;
}

/* Appends cp as UTF-8 to tok (len bytes used) unless it would not fit; returns the new length. */
static size_t
tok_put(char *tok, size_t len, uint32_t cp)
{
	char b[4];
	size_t n;

	if (cp < 0x80) {
		b[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		b[0] = (char)(0xc0 | (cp >> 6));
		b[1] = (char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		b[0] = (char)(0xe0 | (cp >> 12));
		b[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		b[2] = (char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		b[0] = (char)(0xf0 | (cp >> 18));
		b[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		b[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
		b[3] = (char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	if (len + n >= FUSE_TOKEN_MAX)
		return len;
	memcpy(tok + len, b, n);
	tok[len + n] = '\0';
	return len + n;
}

/* Adds tok to the set unless it is there already or the set is full. */
static void
add_token(fuse_tokens *out, const char *tok)
{
	for (size_t i = 0; i < out->n; i++)
		if (strcmp(out->tok[i], tok) == 0)
			return;
	if (out->n < FUSE_MAX_TOKENS) {
		memcpy(out->tok[out->n], tok, strlen(tok) + 1);
		out->n++;
	}
}

/* A number is held back until the next token shows whether it is a unit to join ("25" "kg" -> "25kg"). */
static void
emit(fuse_tokens *out, const char *tok, size_t len, char pending[FUSE_TOKEN_MAX])
{
	if (pending[0] != '\0') {
		size_t pl = strlen(pending);
		if (tok != NULL && is_unit(tok) && pl + len < FUSE_TOKEN_MAX) {
			memcpy(pending + pl, tok, len + 1);
			add_token(out, pending);
			pending[0] = '\0';
			return;
		}
		add_token(out, pending);
		pending[0] = '\0';
	}
	if (tok == NULL || len == 0)
		return;
	if (is_number(tok))
		memcpy(pending, tok, len + 1);
	else
		add_token(out, tok);
}

void
fuse_tokenize(const char *title, fuse_tokens *out)
{
	const unsigned char *s = (const unsigned char *)(title != NULL ? title : "");
	char tok[FUSE_TOKEN_MAX], pending[FUSE_TOKEN_MAX];
	size_t len = 0;

	out->n = 0;
	tok[0] = pending[0] = '\0';
	while (*s != '\0') {
		uint32_t cp = lower_cp(utf8_next(&s));
		if (is_word_cp(cp)) {
			len = tok_put(tok, len, cp);
			continue;
		}
		/* A decimal separator between digits stays in the number, always as '.'. */
		if ((cp == '.' || cp == ',') && len > 0 && is_number(tok) && is_digit((char)*s)) {
			len = tok_put(tok, len, '.');
			continue;
		}
		if (len > 0)
			emit(out, tok, len, pending);
		len = 0;
		tok[0] = '\0';
	}
	if (len > 0)
		emit(out, tok, len, pending);
	emit(out, NULL, 0, pending); /* a number at the very end */
}

float
fuse_title_similarity(const char *a, const char *b)
{
	fuse_tokens ta, tb;
	size_t common = 0;

	fuse_tokenize(a, &ta);
	fuse_tokenize(b, &tb);
	if (ta.n == 0 || tb.n == 0)
		return -1.0f;
	for (size_t i = 0; i < ta.n; i++)
		for (size_t j = 0; j < tb.n; j++)
			if (strcmp(ta.tok[i], tb.tok[j]) == 0) {
				common++;
				break;
			}
	return (float)common / (float)(ta.n + tb.n - common);
}

/* ---- identifiers ------------------------------------------------------------------------------------ */

/* A GTIN as 14 digits (left-padded with zeros, so UPC-A and its EAN-13 spelling agree); spaces and hyphens
 * dropped. False for anything that is not 8..14 digits. Check digits are the extractor's job (gtin.h). */
static bool
gtin14(const char *s, char out[15])
{
	char d[15];
	size_t n = 0;

	if (s == NULL)
		return false;
	for (; *s != '\0'; s++) {
		if (*s == ' ' || *s == '-')
			continue;
		if (!is_digit(*s) || n == 14)
			return false;
		d[n++] = *s;
	}
	if (n < 8)
		return false;
	memset(out, '0', 14 - n);
	memcpy(out + 14 - n, d, n);
	out[14] = '\0';
	return true;
}

/* Lower-case ASCII letters and digits only ("XR-500/B" -> "xr500b"); returns the length. */
static size_t
ident(const char *s, char *out, size_t size)
{
	size_t n = 0;

	if (s != NULL)
		for (; *s != '\0' && n + 1 < size; s++) {
			char c = *s;
			if (c >= 'A' && c <= 'Z')
				c = (char)(c + 32);
			if (is_digit(c) || (c >= 'a' && c <= 'z'))
				out[n++] = c;
		}
	out[n] = '\0';
	return n;
}

/* ---- the score -------------------------------------------------------------------------------------- */

static float
clampf(float x, float lo, float hi)
{
	return x < lo ? lo : x > hi ? hi : x;
}

/* 0 at or below lo, 1 at or above hi, linear between. */
static float
ramp(float x, float lo, float hi)
{
	return clampf((x - lo) / (hi - lo), 0.0f, 1.0f);
}

static void
reason(fuse_result *r, const char *name, float value)
{
	if (r->nreasons < FUSE_MAX_REASONS)
		r->reasons[r->nreasons++] = (fuse_reason){ name, value };
}

/* The weighted mean of the evidence, capped when too little is present: support = weight / W_SUPPORT, at
 * most 1. */
static float
supported_mean(float esum, float wsum)
{
	return wsum > 0.0f ? (esum / wsum) * clampf(wsum / W_SUPPORT, 0.0f, 1.0f) : 0.0f;
}

/* How far the CNN embedding is trusted for an image of this size (0..1): fully without a minimum side. */
static float
cnn_trust(uint32_t side, uint32_t min_side)
{
	/* Ignored below the minimum, fully trusted from twice it, linear between. */
	uint64_t lo = min_side, hi = 2 * (uint64_t)min_side;

	if (min_side == 0 || side == 0 || side >= hi)
		return 1.0f;
	if (side < lo)
		return 0.0f;
	return (float)(side - lo) / (float)(hi - lo);
}

void
fuse_score(const fuse_input *in, fuse_result *out)
{
	char ga[15], gb[15], ma[64], mb[64], ba[64], bb[64];
	bool gtin_mismatch = false, mpn_mismatch = false, brands_known, brands_agree = false;
	float wsum = 0.0f, esum = 0.0f, score, title;

	memset(out, 0, sizeof *out);
	brands_known = ident(in->listing_brand, ba, sizeof ba) > 0 && ident(in->product_brand, bb, sizeof bb) > 0;
	if (brands_known)
		brands_agree = strcmp(ba, bb) == 0 || (strlen(ba) >= 3 && strstr(bb, ba) != NULL) ||
		    (strlen(bb) >= 3 && strstr(ba, bb) != NULL);

	/* Identifiers first: an exact GTIN (else MPN, same brand) agreement is decisive. */
	if (gtin14(in->listing_gtin, ga) && gtin14(in->product_gtin, gb)) {
		if (strcmp(ga, gb) == 0) {
			out->score = 1.0f;
			out->match = true;
			reason(out, "gtin", 1.0f);
			return;
		}
		gtin_mismatch = true;
	}
	if (!gtin_mismatch && ident(in->listing_mpn, ma, sizeof ma) >= MPN_MIN_LEN &&
	    ident(in->product_mpn, mb, sizeof mb) >= MPN_MIN_LEN && (!brands_known || brands_agree)) {
		if (strcmp(ma, mb) == 0) {
			out->score = 1.0f;
			out->match = true;
			reason(out, "mpn", 1.0f);
			return;
		}
		mpn_mismatch = true;
	}

	/* Then a weighted mean of the evidence present, each weight scaled by how far the signal is trusted. */
	if (in->has_embedding) {
		float trust = cnn_trust(in->image_side, in->cnn_min_side);
		if (trust > 0.0f) {
			wsum += W_EMBEDDING * trust;
			esum += W_EMBEDDING * trust * ramp(in->embedding_cos, EMB_LO, EMB_HI);
			reason(out, "embedding", in->embedding_cos);
		}
		if (trust < 1.0f)
			reason(out, "small-image", (float)in->image_side);
	}
	if (in->has_histogram) {
		wsum += W_HISTOGRAM;
		esum += W_HISTOGRAM * ramp(in->hist_intersection, HIST_LO, HIST_HI);
		reason(out, "histogram", in->hist_intersection);
	}
	if (in->has_phash) {
		int d = in->phash_distance < 0 ? 0 : in->phash_distance > 64 ? 64 : in->phash_distance;
		wsum += W_PHASH;
		esum += W_PHASH * (1.0f - ramp((float)d, (float)PHASH_NEAR, (float)PHASH_FAR));
		reason(out, "phash", 1.0f - (float)d / 64.0f);
	}
	title = fuse_title_similarity(in->listing_title, in->product_title);
	if (title >= 0.0f)
		reason(out, "title", title);
	if (brands_known) {
		wsum += W_BRAND;
		esum += brands_agree ? W_BRAND : 0.0f;
		reason(out, brands_agree ? "brand" : "brand-mismatch", brands_agree ? 1.0f : 0.0f);
	}
	/*
	 * The title adds evidence but never takes it away: shops name the same product differently (language,
	 * word order, marketing words), so titles sharing no word say little, while shared words say a lot.
	 * The score is the better of the mean with and without the title; both are monotonic, so is their max.
	 */
	score = supported_mean(esum, wsum);
	if (title >= 0.0f) {
		float with_title = supported_mean(esum + W_TITLE * title, wsum + W_TITLE);
		if (with_title > score)
			score = with_title;
	}
	if (gtin_mismatch) {
		score -= GTIN_MISMATCH_PENALTY;
		reason(out, "gtin-mismatch", 0.0f);
	}
	if (mpn_mismatch) {
		score -= MPN_MISMATCH_PENALTY;
		reason(out, "mpn-mismatch", 0.0f);
	}
	out->score = clampf(score, 0.0f, 1.0f);
	out->match = out->score >= FUSE_THRESHOLD;
}

size_t
fuse_reasons_format(const fuse_result *res, char *buf, size_t size)
{
	size_t need = 0;

	if (size > 0)
		buf[0] = '\0';
	for (size_t i = 0; i < res->nreasons; i++) {
		const fuse_reason *r = &res->reasons[i];
		char one[64];
		int n;
		if (strcmp(r->name, "small-image") == 0)
			n = snprintf(one, sizeof one, "%s%s=%.0f", i ? "; " : "", r->name, (double)r->value);
		else if (strcmp(r->name, "gtin") == 0 || strcmp(r->name, "mpn") == 0 ||
		    strcmp(r->name, "gtin-mismatch") == 0 || strcmp(r->name, "mpn-mismatch") == 0)
			n = snprintf(one, sizeof one, "%s%s", i ? "; " : "", r->name);
		else
			n = snprintf(one, sizeof one, "%s%s=%.2f", i ? "; " : "", r->name, (double)r->value);
		if (n < 0)
			continue;
		if (need + (size_t)n < size)
			memcpy(buf + need, one, (size_t)n + 1);
		else if (need < size)
			buf[need] = '\0'; /* keep the output ending on a whole reason */
		need += (size_t)n;
	}
	return need;
}
