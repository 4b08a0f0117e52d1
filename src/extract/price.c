/* price.c: turns shop price text in any common locale into an exact decimal and an ISO 4217 code (see price.h, docs/extract.md). */
#include <config.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/money.h"
#include "common/util.h"
#include "extract/price.h"

/* A number is at most this many digits (int64 holds 18 safely) and this many groups. */
#define MAX_DIGITS 40
#define MAX_GROUPS 16

/* Separator classes inside a number. */
enum sep {
	SEP_DOT,        /* '.'   decimal or grouping, decided from the digits */
	SEP_COMMA,      /* ','   decimal or grouping */
	SEP_APOS,       /* "'"   grouping only (Swiss) */
	SEP_SPACE,      /* ' ', NBSP, narrow NBSP, thin space: grouping only */
	SEP_AR_DEC,     /* U+066B Arabic decimal separator */
	SEP_AR_GROUP,   /* U+066C Arabic thousands separator */
};

/* A number as written, before the separators are interpreted. */
struct rawnum {
	char digits[MAX_DIGITS];
	int ndigits;
	int group_end[MAX_GROUPS];      /* digit index where group k ends */
	enum sep sep[MAX_GROUPS];       /* separator after group k */
	int ngroups;
	bool too_long;                  /* more digits or groups than kept */
	bool dash_decimals;             /* "12,-" / "12.–": a whole amount */
	bool negative;                  /* "-5.00": a discount, not a price */
};

/* A currency symbol or word; ambiguous ones list what a hint may choose. */
struct cur_sym {
	const char *text;       /* UTF-8 as written */
	const char *code;       /* default ISO code; NULL: ambiguous without a hint */
	const char *alts;       /* space-separated codes a hint may pick; NULL: unambiguous */
	bool ci;                /* ASCII letters compare case-insensitively */
	bool nobound;           /* may be followed directly by a letter (CJK) */
};

#define DOLLARS "USD CAD AUD NZD MXN HKD SGD TWD ARS CLP COP UYU BSD BBD BZD BMD BND FJD GYD JMD KYD LRD NAD SBD SRD TTD XCD ZWL"
#define KRONER "SEK NOK DKK ISK"

/* Longest texts first where one is a prefix of another ("US$" before "US"). */
static const struct cur_sym symbols[] = {
	{ "US $", "USD", NULL, false, false }, { "US$", "USD", NULL, false, false },
	{ "U$S", "USD", NULL, false, false },
	{ "CA$", "CAD", NULL, false, false }, { "C$", "CAD", NULL, false, false },
	{ "AU$", "AUD", NULL, false, false }, { "A$", "AUD", NULL, false, false },
	{ "NZ$", "NZD", NULL, false, false }, { "HK$", "HKD", NULL, false, false },
	{ "S$", "SGD", NULL, false, false }, { "NT$", "TWD", NULL, false, false },
	{ "MX$", "MXN", NULL, false, false }, { "R$", "BRL", NULL, false, false },
	{ "CN¥", "CNY", NULL, false, false }, { "JP¥", "JPY", NULL, false, false },
	{ "RMB", "CNY", NULL, false, false },
	{ "SFr.", "CHF", NULL, false, false }, { "Fr.", "CHF", NULL, false, false },
	{ "kr.", NULL, KRONER, true, false }, { "kr", NULL, KRONER, true, false },
	{ "zł", "PLN", NULL, true, false }, { "Kč", "CZK", NULL, true, false },
	{ "Ft", "HUF", NULL, false, false }, { "lei", "RON", NULL, true, false },
	{ "Rp", "IDR", NULL, false, false }, { "RM", "MYR", NULL, false, false },
	{ "Rs.", NULL, "INR PKR LKR NPR MUR SCR", false, false },
	{ "Rs", NULL, "INR PKR LKR NPR MUR SCR", false, false },
	{ "S/.", "PEN", NULL, false, false }, { "S/", "PEN", NULL, false, false },
	{ "KD", "KWD", NULL, false, false }, { "BD", "BHD", NULL, false, false },
	{ "TL", "TRY", NULL, false, false }, { "R", "ZAR", NULL, false, false },
	{ "лв.", "BGN", NULL, false, false }, { "лв", "BGN", NULL, false, false },
	{ "руб.", "RUB", NULL, true, false }, { "руб", "RUB", NULL, true, false },
	{ "грн.", "UAH", NULL, true, false }, { "грн", "UAH", NULL, true, false },
	{ "د.ك", "KWD", NULL, false, false }, { "د.ب", "BHD", NULL, false, false },
	{ "ر.س", "SAR", NULL, false, false }, { "د.إ", "AED", NULL, false, false },
	{ "ر.ق", "QAR", NULL, false, false }, { "ج.م", "EGP", NULL, false, false },
	{ "ر.ع.", "OMR", NULL, false, false }, { "ر.ع", "OMR", NULL, false, false },
	{ "円", "JPY", NULL, false, true }, { "元", "CNY", NULL, false, true },
	{ "원", "KRW", NULL, false, true },
	{ "$", "USD", DOLLARS, false, false }, { "€", "EUR", NULL, false, false },
	{ "£", "GBP", NULL, false, false }, { "¥", "JPY", "JPY CNY", false, false },
	{ "￥", "JPY", "JPY CNY", false, false }, { "₹", "INR", NULL, false, false },
	{ "₽", "RUB", NULL, false, false }, { "₩", "KRW", NULL, false, false },
	{ "₺", "TRY", NULL, false, false }, { "₪", "ILS", NULL, false, false },
	{ "₫", "VND", NULL, false, false }, { "₴", "UAH", NULL, false, false },
	{ "₱", "PHP", NULL, false, false }, { "฿", "THB", NULL, false, false },
	{ "₦", "NGN", NULL, false, false }, { "₲", "PYG", NULL, false, false },
	{ "₡", "CRC", NULL, false, false }, { "₸", "KZT", NULL, false, false },
	{ "₾", "GEL", NULL, false, false }, { "₼", "AZN", NULL, false, false },
	{ "₭", "LAK", NULL, false, false }, { "৳", "BDT", NULL, false, false },
	{ "₨", NULL, "INR PKR LKR NPR MUR SCR", false, false },
};

/* Words around a number that change its meaning; compared case-insensitively. */
static const char *const from_words[] = {
	"from", "ab", "partir", "desde", "od", "från", "fra", "vanaf", "da", "от", "starting",
	"starts", "low", "dès", "des", "since", "vaf",
};
static const char *const old_words[] = {
	"was", "rrp", "uvp", "statt", "regular", "reg", "list", "msrp", "compare", "before",
	"old", "instead", "avant", "prima", "antes", "vorher", "ehemals", "war", "orig",
	"original", "normalpreis", "retail", "zuvor", "alt", "previous", "prev", "avv", "ancien",
	"barré", "streichpreis", "was:", "voorheen", "było", "bylo", "было",
};
static const char *const now_words[] = {
	"now", "sale", "jetzt", "nu", "ahora", "maintenant", "nur", "only", "special", "our",
	"today", "deal", "ora", "teraz", "nyní", "сейчас", "offer", "current", "aktuell",
};
static const char *const range_words[] = {
	"to", "bis", "a", "à", "al", "až", "do", "till", "til", "tot", "до", "au",
};
static const char *const free_words[] = {
	"free", "gratis", "kostenlos", "gratuit", "gratuite", "gratuito", "gratuita", "darmowy",
	"darmowe", "zdarma", "ilmainen", "ingyenes", "бесплатно", "無料", "免费", "무료", "δωρεάν",
};
/* "Free shipping" is not a price of zero. */
static const char *const not_free_words[] = {
	"shipping", "delivery", "versand", "livraison", "envío", "envio", "spedizione", "returns",
	"lieferung", "dostawa", "verzending", "frakt", "trial",
};

enum tok_kind { T_SPACE, T_NUM, T_CUR, T_WORD, T_DASH, T_PERCENT, T_OTHER };

struct tok {
	enum tok_kind kind;
	size_t start, end;              /* code point indices [start, end) */
	const struct cur_sym *sym;      /* T_CUR from the symbol table */
	char code[4];                   /* T_CUR: an ISO code written as such ("EUR") */
	struct rawnum num;              /* T_NUM */
};

/* One number that may be a price, with what surrounds it. */
struct cand {
	size_t tok;                     /* index of its T_NUM */
	const struct tok *cur;          /* its currency token, or NULL */
	const struct tok *cur_inherited;/* from its range partner */
	enum { MARK_NONE, MARK_NOW, MARK_OLD } mark;
	bool range_next;                /* joined to the next candidate by "-", "to", ... */
};

struct parser {
	uint32_t *cp;
	size_t *off;                    /* byte offset of each code point (n + 1 entries) */
	size_t n;
	const char *text;
	struct tok *toks;
	size_t ntoks;
};

static void
set_error(struct price *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
set_error(struct price *out, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(out->error, sizeof out->error, fmt, ap);
	va_end(ap);
}

/* Decodes one UTF-8 sequence; invalid or overlong input gives U+FFFD and consumes one byte. */
static uint32_t
utf8_next(const unsigned char *s, size_t len, size_t *used)
{
	uint32_t c;
	size_t need;

	if (s[0] < 0x80) {
		*used = 1;
		return s[0];
	}
	if ((s[0] & 0xE0) == 0xC0) {
		c = s[0] & 0x1F;
		need = 1;
	} else if ((s[0] & 0xF0) == 0xE0) {
		c = s[0] & 0x0F;
		need = 2;
	} else if ((s[0] & 0xF8) == 0xF0) {
		c = s[0] & 0x07;
		need = 3;
	} else {
		*used = 1;
		return 0xFFFD;
	}
	if (need >= len) {
		*used = 1;
		return 0xFFFD;
	}
	for (size_t i = 1; i <= need; i++) {
		if ((s[i] & 0xC0) != 0x80) {
			*used = 1;
			return 0xFFFD;
		}
		c = (c << 6) | (s[i] & 0x3F);
	}
	if ((need == 1 && c < 0x80) || (need == 2 && c < 0x800) || (need == 3 && c < 0x10000) ||
	    c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) {
		*used = 1;
		return 0xFFFD;
	}
	*used = need + 1;
	return c;
}

/* The value of a decimal digit in any of the digit systems shops use, and which system; -1 if none. */
static int
digit_value(uint32_t c, int *system)
{
	static const uint32_t zeros[] = { '0', 0x0660, 0x06F0, 0x0966, 0xFF10, 0x09E6, 0x0E50 };

	for (size_t i = 0; i < sizeof zeros / sizeof zeros[0]; i++)
		if (c >= zeros[i] && c <= zeros[i] + 9) {
			if (system != NULL)
				*system = (int)i;
			return (int)(c - zeros[i]);
		}
	return -1;
}

static bool
is_digit(uint32_t c)
{
	return digit_value(c, NULL) >= 0;
}

static bool
is_space_cp(uint32_t c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v' ||
	    c == 0x00A0 || c == 0x202F || c == 0x2009 || c == 0x2007 || c == 0x200A || c == 0x2002 ||
	    c == 0x2003 || c == 0x3000 || c == 0x200B;
}

/* Letters of scripts that put spaces between words: a number glued to one is a model or a unit. */
static bool
is_spaced_letter(uint32_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= 0xC0 && c <= 0x24F && c != 0xD7 && c != 0xF7) ||
	    (c >= 0x370 && c <= 0x3FF) || (c >= 0x400 && c <= 0x52F);
}

static bool
is_letter(uint32_t c)
{
	return is_spaced_letter(c) || (c >= 0x5D0 && c <= 0x5EA) ||
	    (c >= 0x620 && c <= 0x64A) || (c >= 0x671 && c <= 0x6D3) ||
	    (c >= 0x904 && c <= 0x963) || (c >= 0xE01 && c <= 0xE30) ||
	    (c >= 0x3040 && c <= 0x30FF) || (c >= 0x4E00 && c <= 0x9FFF) ||
	    (c >= 0xAC00 && c <= 0xD7A3);
}

static bool
is_dash(uint32_t c)
{
	return c == '-' || c == 0x2010 || c == 0x2011 || c == 0x2012 || c == 0x2013 || c == 0x2014 ||
	    c == 0x2212 || c == '~' || c == 0x301C || c == 0xFF5E;
}

/* The separator class of c inside a number, or -1. */
static int
sep_class(uint32_t c)
{
	switch (c) {
	case '.': case 0xFF0E:
		return SEP_DOT;
	case ',': case 0xFF0C: case 0x060C:
		return SEP_COMMA;
	case '\'': case 0x2019: case 0x02BC: case 0x00B4:
		return SEP_APOS;
	case ' ': case 0x00A0: case 0x202F: case 0x2009: case 0x2007:
		return SEP_SPACE;
	case 0x066B:
		return SEP_AR_DEC;
	case 0x066C:
		return SEP_AR_GROUP;
	default:
		return -1;
	}
}

static uint32_t
fold(uint32_t c)
{
	if (c >= 'A' && c <= 'Z')
		return c + 32;
	if ((c >= 0xC0 && c <= 0xDE && c != 0xD7) || (c >= 0x410 && c <= 0x42F))
		return c + 32;
	if (c >= 0x391 && c <= 0x3A9)
		return c + 32;
	return c;
}

/* Matches UTF-8 s against the code points at p->cp[i...]; returns the code points matched or 0. */
static size_t
match_at(const struct parser *p, size_t i, const char *s, bool ci)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t len = strlen(s), k = 0, j = i;

	while (k < len) {
		size_t used;
		uint32_t c = utf8_next(u + k, len - k, &used);
		if (j >= p->n)
			return 0;
		if (ci ? fold(p->cp[j]) != fold(c) : p->cp[j] != c)
			return 0;
		k += used;
		j++;
	}
	return j - i;
}

static bool
word_is(const struct parser *p, const struct tok *t, const char *const *words, size_t nwords)
{
	for (size_t w = 0; w < nwords; w++)
		if (match_at(p, t->start, words[w], true) == t->end - t->start)
			return true;
	return false;
}

#define WORD_IN(p, t, list) word_is(p, t, list, sizeof list / sizeof list[0])

/* Reads a number starting at cp[i]; returns the index after it. */
static size_t
scan_number(const struct parser *p, size_t i, struct rawnum *num)
{
	int system = -1, sys;

	memset(num, 0, sizeof *num);
	for (;;) {
		/* One group of digits (all from the same digit system). */
		while (i < p->n && digit_value(p->cp[i], &sys) >= 0 && (system < 0 || sys == system)) {
			system = sys;
			if (num->ndigits < MAX_DIGITS)
				num->digits[num->ndigits++] = (char)('0' + digit_value(p->cp[i], NULL));
			else
				num->too_long = true;
			i++;
		}
		if (num->ngroups < MAX_GROUPS)
			num->group_end[num->ngroups++] = num->ndigits;
		else
			num->too_long = true;
		if (i + 1 >= p->n)
			break;
		int sc = sep_class(p->cp[i]);
		if (sc < 0 || digit_value(p->cp[i + 1], &sys) < 0 || sys != system)
			break;
		if (sc == SEP_SPACE) {
			/* A space groups only exactly three digits: "2 499" but not "2 for 5" or "Pack 2 12.99". */
			size_t run = 0;
			while (i + 1 + run < p->n && is_digit(p->cp[i + 1 + run]))
				run++;
			if (run != 3)
				break;
		}
		if (num->ngroups <= MAX_GROUPS)
			num->sep[num->ngroups - 1] = (enum sep)sc;
		i++;
	}
	/* "12,-", "12.–", "12,--", "1 299:-": a whole amount, Scandinavian/German/Swiss style. */
	if (i + 1 < p->n && (p->cp[i] == ',' || p->cp[i] == '.' || p->cp[i] == ':') && is_dash(p->cp[i + 1]) &&
	    p->cp[i + 1] != '~') {
		num->dash_decimals = true;
		i += 2;
		while (i < p->n && is_dash(p->cp[i]) && p->cp[i] != '~')
			i++;
	}
	return i;
}

/* Tries the currency table (and ISO codes) at cp[i]; fills t and returns its length or 0. */
static size_t
scan_currency(const struct parser *p, size_t i, struct tok *t)
{
	bool word_start = i == 0 || !is_letter(p->cp[i - 1]);

	bool letters = is_letter(p->cp[i]);

	for (size_t s = 0; s < sizeof symbols / sizeof symbols[0]; s++) {
		size_t m;
		if (letters && !word_start && !symbols[s].nobound)
			continue;
		m = match_at(p, i, symbols[s].text, symbols[s].ci);
		if (m == 0)
			continue;
		/* "Rs" must not be the start of "Rsomething"; CJK symbols may touch text. */
		if (!symbols[s].nobound && is_letter(p->cp[i + m - 1]) && i + m < p->n && is_letter(p->cp[i + m]))
			continue;
		t->sym = &symbols[s];
		return m;
	}
	/* An ISO 4217 code: exactly three ASCII capitals standing alone. */
	if (word_start && i + 3 <= p->n) {
		char code[4];
		for (size_t k = 0; k < 3; k++) {
			if (p->cp[i + k] < 'A' || p->cp[i + k] > 'Z')
				return 0;
			code[k] = (char)p->cp[i + k];
		}
		code[3] = '\0';
		if (i + 3 < p->n && is_letter(p->cp[i + 3]))
			return 0;
		if (!money_currency_valid(code))
			return 0;
		memcpy(t->code, code, sizeof code);
		return 3;
	}
	return 0;
}

static void
tokenize(struct parser *p)
{
	size_t i = 0, cap = 0;

	while (i < p->n) {
		struct tok t;
		size_t m;

		memset(&t, 0, sizeof t);
		t.start = i;
		if (is_space_cp(p->cp[i])) {
			t.kind = T_SPACE;
			while (i < p->n && is_space_cp(p->cp[i]))
				i++;
		} else if (is_digit(p->cp[i])) {
			t.kind = T_NUM;
			i = scan_number(p, i, &t.num);
		} else if ((m = scan_currency(p, i, &t)) > 0) {
			t.kind = T_CUR;
			i += m;
		} else if (is_letter(p->cp[i])) {
			t.kind = T_WORD;
			while (i < p->n && is_letter(p->cp[i]))
				i++;
			/* "was:" and "reg." keep their punctuation out of the word. */
		} else if (is_dash(p->cp[i])) {
			t.kind = T_DASH;
			i++;
		} else if (p->cp[i] == '%' || p->cp[i] == 0xFF05 || p->cp[i] == 0x066A) {
			t.kind = T_PERCENT;
			i++;
		} else {
			t.kind = T_OTHER;
			i++;
		}
		t.end = i;
		if (p->ntoks == cap) {
			cap = cap ? cap * 2 : 16;
			p->toks = xreallocarray(p->toks, cap, sizeof *p->toks);
		}
		p->toks[p->ntoks++] = t;
	}
}

/* The token before k, skipping one run of spaces when skip_space; NULL at the start. */
static const struct tok *
tok_before(const struct parser *p, size_t k, bool skip_space, bool *gap)
{
	*gap = false;
	if (k == 0)
		return NULL;
	k--;
	if (skip_space && p->toks[k].kind == T_SPACE) {
		*gap = true;
		if (k == 0)
			return NULL;
		k--;
	}
	return &p->toks[k];
}

static const struct tok *
tok_after(const struct parser *p, size_t k, bool skip_space, bool *gap)
{
	*gap = false;
	if (k + 1 >= p->ntoks)
		return NULL;
	k++;
	if (skip_space && p->toks[k].kind == T_SPACE) {
		*gap = true;
		if (k + 1 >= p->ntoks)
			return NULL;
		k++;
	}
	return &p->toks[k];
}

/* True when code appears in the space-separated list. */
static bool
code_in(const char *list, const char *code)
{
	size_t l = strlen(code);

	for (const char *s = list; s != NULL && *s != '\0';) {
		if (strncmp(s, code, l) == 0 && (s[l] == ' ' || s[l] == '\0'))
			return true;
		s = strchr(s, ' ');
		if (s != NULL)
			s++;
	}
	return false;
}

/* True when t names a definite currency (a code, or a symbol that is not ambiguous). */
static bool
cur_specific(const struct tok *t)
{
	return t->sym == NULL || t->sym->alts == NULL;
}

/* Two currency tokens that can name the same currency ("$" and "CAD", "€" and "EUR"). */
static bool
cur_compatible(const struct tok *a, const struct tok *b)
{
	const char *ca = a->sym ? a->sym->code : a->code;
	const char *cb = b->sym ? b->sym->code : b->code;

	if (cur_specific(a) && cur_specific(b))
		return strcmp(ca, cb) == 0;
	if (!cur_specific(a) && cur_specific(b))
		return code_in(a->sym->alts, cb);
	if (cur_specific(a) && !cur_specific(b))
		return code_in(b->sym->alts, ca);
	return a->sym == b->sym;
}

/*
 * The currency token of the number at toks[k]: the symbol or code right before or
 * after it. When both are there and agree, the more specific wins ("$12 CAD" -> CAD);
 * when they disagree, the one touching the number wins, then the one before.
 */
static const struct tok *
attached_currency(const struct parser *p, size_t k)
{
	bool gb, ga;
	const struct tok *b = tok_before(p, k, true, &gb), *a = tok_after(p, k, true, &ga);

	if (b != NULL && b->kind != T_CUR)
		b = NULL;
	if (a != NULL && a->kind != T_CUR)
		a = NULL;
	if (b == NULL || a == NULL)
		return b != NULL ? b : a;
	if (cur_compatible(b, a))
		return cur_specific(a) && !cur_specific(b) ? a : b;
	if (ga && !gb)
		return b;
	if (gb && !ga)
		return a;
	return b;
}

/*
 * Resolves a currency token with the hint to an ISO code. Returns false (with the
 * error set) for an ambiguous symbol that neither the hint nor a default settles.
 */
static bool
resolve_currency(const struct parser *p, const struct tok *t, const char *hint, struct price *out)
{
	const char *code;

	if (t == NULL) {
		if (hint != NULL && money_currency_valid(hint))
			pw_strlcpy(out->currency, hint, sizeof out->currency);
		return true;
	}
	if (t->sym == NULL)
		code = t->code;
	else if (t->sym->alts != NULL && hint != NULL && code_in(t->sym->alts, hint))
		code = hint;
	else
		code = t->sym->code;
	if (code == NULL) {
		set_error(out, "ambiguous currency \"%.*s\" (one of %s): set a currency hint",
		    (int)(p->off[t->end] - p->off[t->start]), p->text + p->off[t->start], t->sym->alts);
		return false;
	}
	pw_strlcpy(out->currency, code, sizeof out->currency);
	{
		size_t bytes = p->off[t->end] - p->off[t->start];
		if (bytes >= sizeof out->currency_text)
			bytes = sizeof out->currency_text - 1;
		memcpy(out->currency_text, p->text + p->off[t->start], bytes);
		out->currency_text[bytes] = '\0';
	}
	return true;
}

/* Group lengths for a grouping separator: Western (3s) or Indian (2s, then a final 3). */
static bool
grouping_valid(const int *len, int n)
{
	bool western = true, indian = true;

	if (n < 2)
		return true;
	if (len[0] < 1 || len[0] > 3)
		return false;
	for (int k = 1; k < n; k++)
		if (len[k] != 3)
			western = false;
	if (len[0] > 2 || len[n - 1] != 3)
		indian = false;
	for (int k = 1; k < n - 1; k++)
		if (len[k] != 2)
			indian = false;
	return western || indian;
}

static const char *
sep_name(enum sep s)
{
	switch (s) {
	case SEP_DOT: return "'.'";
	case SEP_COMMA: return "','";
	case SEP_APOS: return "apostrophe";
	case SEP_SPACE: return "space";
	case SEP_AR_DEC: return "Arabic decimal separator";
	case SEP_AR_GROUP: return "Arabic thousands separator";
	}
	return "?";
}

/*
 * Decides which separator (if any) is the decimal point and checks the grouping.
 * exponent is the currency's (-1: unknown); hint is '.', ',' or 0. Returns false with
 * the error set when the digits cannot be a well-formed amount.
 */
static bool
interpret(const struct rawnum *num, int exponent, char hint, struct price_decimal *d, struct price *out,
    const char *shown, int shown_len)
{
	int nsep = num->ngroups - 1, dec = -1;  /* dec: index of the decimal separator */
	int glen[MAX_GROUPS], ng = 0;
	int ndot = 0, ncomma = 0, last_dot = -1, last_comma = -1, n_other_group = 0, n_ardec = 0;

	if (num->too_long) {
		set_error(out, "\"%.*s\": number too long", shown_len, shown);
		return false;
	}
	for (int k = 0; k < nsep; k++) {
		switch (num->sep[k]) {
		case SEP_DOT: ndot++; last_dot = k; break;
		case SEP_COMMA: ncomma++; last_comma = k; break;
		case SEP_AR_DEC: n_ardec++; dec = k; break;
		default: n_other_group++; break;
		}
	}
	if (num->dash_decimals) {
		if (n_ardec > 0) {
			set_error(out, "\"%.*s\": decimals and a dash", shown_len, shown);
			return false;
		}
		dec = -1;
	} else if (n_ardec > 0) {
		if (n_ardec > 1 || dec != nsep - 1 || ndot + ncomma > 0) {
			set_error(out, "\"%.*s\": misplaced Arabic decimal separator", shown_len, shown);
			return false;
		}
	} else if (ndot > 0 && ncomma > 0) {
		/* Both: the last one is the decimal point and appears once ("1.299,00", "1,299.00"). */
		int last = last_dot > last_comma ? last_dot : last_comma;
		int count = last_dot > last_comma ? ndot : ncomma;
		if (last != nsep - 1 || count != 1) {
			set_error(out, "\"%.*s\": both '.' and ',' but neither is a clear decimal point",
			    shown_len, shown);
			return false;
		}
		dec = last;
	} else if (ndot + ncomma == 1) {
		int k = ndot ? last_dot : last_comma;
		int frac = num->group_end[k + 1] - num->group_end[k];
		int intdigits = num->group_end[k];
		bool int_zero = true;
		for (int q = 0; q < intdigits; q++)
			if (num->digits[q] != '0')
				int_zero = false;
		if (k != nsep - 1) {
			dec = -1;               /* "1.299 999"? only grouping is possible */
		} else if (n_other_group > 0 || frac != 3) {
			dec = k;                /* "1 299,00", "1'299.50", "19.99", "29.1583" */
		} else if (int_zero || num->group_end[0] > 3) {
			dec = k;                /* "0.125"; "1234,567" cannot be grouping */
		} else if (hint == '.' || hint == ',') {
			dec = hint == (ndot ? '.' : ',') ? k : -1;
		} else {
			/* One separator then exactly three digits: the currency's exponent decides. */
			dec = exponent >= 3 ? k : -1;
		}
	} else {
		dec = -1;                       /* repeated '.' or ',' ("1.299.000"): grouping */
	}

	/* Every other separator groups digits, all of one kind, in valid group lengths. */
	{
		int grouping_kind = -1, start = 0;
		int end_int = dec >= 0 ? dec + 1 : num->ngroups;
		for (int k = 0; k < end_int; k++) {
			glen[ng++] = num->group_end[k] - start;
			start = num->group_end[k];
			if (k < end_int - 1) {
				int kind = num->sep[k] == SEP_APOS || num->sep[k] == SEP_AR_GROUP ? SEP_APOS : (int)num->sep[k];
				if (grouping_kind >= 0 && kind != grouping_kind) {
					set_error(out, "\"%.*s\": mixed digit grouping (%s and %s)", shown_len, shown,
					    sep_name((enum sep)grouping_kind), sep_name(num->sep[k]));
					return false;
				}
				grouping_kind = kind;
			}
		}
		if (!grouping_valid(glen, ng)) {
			set_error(out, "\"%.*s\": digit groups are not thousands (or Indian lakh) groups",
			    shown_len, shown);
			return false;
		}
	}

	d->value = 0;
	d->scale = dec >= 0 ? num->group_end[dec + 1] - num->group_end[dec] : 0;
	if (d->scale > PRICE_MAX_SCALE) {
		set_error(out, "\"%.*s\": more than %d decimals", shown_len, shown, PRICE_MAX_SCALE);
		return false;
	}
	for (int q = 0; q < num->ndigits; q++) {
		int v = num->digits[q] - '0';
		if (d->value > (INT64_MAX - v) / 10) {
			set_error(out, "\"%.*s\": number too large", shown_len, shown);
			return false;
		}
		d->value = d->value * 10 + v;
	}
	return true;
}

/* Converts an exact decimal to minor units of code; false when it has more decimals or overflows. */
static bool
to_minor(struct price_decimal d, const char *code, struct money *m)
{
	int exp = money_exponent(code);

	if (exp < 0)
		return false;
	while (d.scale > exp && d.value % 10 == 0) {
		d.value /= 10;
		d.scale--;
	}
	if (d.scale > exp)
		return false;
	for (int k = d.scale; k < exp; k++) {
		if (d.value > INT64_MAX / 10)
			return false;
		d.value *= 10;
	}
	m->minor = d.value;
	pw_strlcpy(m->currency, code, sizeof m->currency);
	return true;
}

/* Compares two decimals exactly (they may differ in scale). */
static int
decimal_cmp(struct price_decimal a, struct price_decimal b)
{
	/* Bring both to the larger scale; on overflow the larger-scaled value is the big one. */
	while (a.scale < b.scale) {
		if (a.value > INT64_MAX / 10)
			return 1;
		a.value *= 10;
		a.scale++;
	}
	while (b.scale < a.scale) {
		if (b.value > INT64_MAX / 10)
			return -1;
		b.value *= 10;
		b.scale++;
	}
	return a.value < b.value ? -1 : a.value > b.value;
}

/* True when the tokens between candidates a and b make a range ("12 - 15", "€10 to €20"). */
static bool
joined_as_range(const struct parser *p, size_t ta, size_t tb)
{
	int dashes = 0, words = 0, curs = 0;

	for (size_t k = ta + 1; k < tb; k++) {
		const struct tok *t = &p->toks[k];
		switch (t->kind) {
		case T_SPACE:
			break;
		case T_DASH:
			dashes++;
			break;
		case T_CUR:
			curs++;
			break;
		case T_WORD:
			if (!WORD_IN(p, t, range_words))
				return false;
			words++;
			break;
		default:
			return false;
		}
	}
	return dashes + words == 1 && curs <= 2;
}

static bool
is_negative(const struct parser *p, size_t k)
{
	bool gap;
	const struct tok *d = tok_before(p, k, false, &gap);
	const struct tok *before;

	if (d == NULL || d->kind != T_DASH || (p->cp[d->start] == '~'))
		return false;
	/* "10-20" is a range, "€10 - -5" nonsense; a dash after a number or currency joins. */
	before = tok_before(p, (size_t)(d - p->toks), true, &gap);
	return before == NULL || (before->kind != T_NUM && before->kind != T_CUR);
}

/* Finishes one side of the result: decimal from raw digits, minor units when exact. */
static bool
finish_amount(const struct parser *p, const struct tok *t, const struct price_opts *o, struct price *out,
    struct price_decimal *d, struct money *m)
{
	int exp = out->currency[0] ? money_exponent(out->currency) : -1;
	const char *shown = p->text + p->off[t->start];
	int shown_len = (int)(p->off[t->end] - p->off[t->start]);

	if (!interpret(&t->num, exp, o->decimal_separator, d, out, shown, shown_len))
		return false;
	if (out->currency[0] != '\0' && !to_minor(*d, out->currency, m)) {
		memset(m, 0, sizeof *m);
		if (out->error[0] == '\0')
			set_error(out, "\"%.*s\" has more decimals than %s allows (%d); kept as an exact scaled amount",
			    shown_len, shown, out->currency, exp);
	}
	return true;
}

/* The free-of-charge case: only when the text has a free word and no number at all. */
static bool
parse_free(const struct parser *p, const struct price_opts *o, struct price *out)
{
	bool free_word = false;
	const struct tok *cur = NULL;

	for (size_t k = 0; k < p->ntoks; k++) {
		const struct tok *t = &p->toks[k];
		if (t->kind == T_NUM)
			return false;
		if (t->kind == T_CUR && cur == NULL)
			cur = t;
		if (t->kind == T_WORD) {
			if (WORD_IN(p, t, not_free_words))
				return false;
			if (WORD_IN(p, t, free_words))
				free_word = true;
		}
	}
	if (!free_word)
		return false;
	if (!resolve_currency(p, cur, o->currency_hint, out)) {
		/* An ambiguous symbol next to "free" still means zero; leave the currency open. */
		out->error[0] = '\0';
	}
	out->is_free = true;
	out->amount.value = 0;
	out->amount.scale = 0;
	if (out->currency[0] != '\0')
		to_minor(out->amount, out->currency, &out->minor);
	return true;
}

static bool
parse_tokens(struct parser *p, const struct price_opts *o, struct price *out)
{
	struct cand *c = NULL;
	size_t nc = 0, cap = 0, pick;
	const char *rejected = NULL;
	bool any_cur = false, gap;

	for (size_t k = 0; k < p->ntoks; k++) {
		const struct tok *t = &p->toks[k], *b, *a;
		if (t->kind != T_NUM)
			continue;
		b = tok_before(p, k, false, &gap);
		a = tok_after(p, k, false, &gap);
		if (b != NULL && b->kind == T_WORD && is_spaced_letter(p->cp[b->end - 1])) {
			rejected = "a number glued to a word (a model or size, not a price)";
			continue;
		}
		/* "2L", "18V", "56cm" are sizes; "$19.99Regular price" is a price run into the next label. */
		if (a != NULL && a->kind == T_WORD && is_spaced_letter(p->cp[a->start]) &&
		    !WORD_IN(p, a, old_words) && !WORD_IN(p, a, now_words)) {
			rejected = "a number followed by a unit (a size, not a price)";
			continue;
		}
		a = tok_after(p, k, true, &gap);
		if (a != NULL && a->kind == T_PERCENT) {
			rejected = "a percentage, not a price";
			continue;
		}
		if (is_negative(p, k)) {
			rejected = "a negative amount (a discount, not a price)";
			continue;
		}
		if (nc == cap) {
			cap = cap ? cap * 2 : 8;
			c = xreallocarray(c, cap, sizeof *c);
		}
		memset(&c[nc], 0, sizeof c[nc]);
		c[nc].tok = k;
		c[nc].cur = attached_currency(p, k);
		if (c[nc].cur != NULL)
			any_cur = true;
		/* The nearest marker word since the previous number says now/was. */
		for (size_t q = k; q-- > 0;) {
			const struct tok *w = &p->toks[q];
			if (w->kind == T_NUM)
				break;
			if (w->kind != T_WORD)
				continue;
			if (WORD_IN(p, w, old_words)) {
				c[nc].mark = MARK_OLD;
				break;
			}
			if (WORD_IN(p, w, now_words)) {
				c[nc].mark = MARK_NOW;
				break;
			}
		}
		nc++;
	}
	if (nc == 0) {
		free(c);
		if (parse_free(p, o, out))
			return true;
		set_error(out, "no price in text%s%s", rejected ? ": only " : "", rejected ? rejected : "");
		return false;
	}
	/* Ranges, and the currency one side of a range lends the other ("12.50 - 15.00 €"). */
	for (size_t i = 0; i + 1 < nc; i++) {
		struct cand *x = &c[i], *y = &c[i + 1];
		if (!joined_as_range(p, x->tok, y->tok) || y->mark == MARK_OLD || y->mark == MARK_NOW)
			continue;
		if (x->cur != NULL && y->cur != NULL && !cur_compatible(x->cur, y->cur))
			continue;
		x->range_next = true;
		if (x->cur == NULL)
			x->cur_inherited = y->cur;
		if (y->cur == NULL)
			y->cur_inherited = x->cur;
	}
	/* Prefer: a "now" price, then one not marked as an old price; currency-bearing ones when any have it. */
	pick = nc;
	for (int pass = 0; pass < 3 && pick == nc; pass++)
		for (size_t i = 0; i < nc && pick == nc; i++) {
			bool has_cur = c[i].cur != NULL || c[i].cur_inherited != NULL;
			if (any_cur && !has_cur)
				continue;
			if (i > 0 && c[i - 1].range_next)
				continue;       /* the high end of a range is not a price of its own */
			if ((pass == 0 && c[i].mark == MARK_NOW) || (pass == 1 && c[i].mark != MARK_OLD) || pass == 2)
				pick = i;
		}
	if (pick == nc)
		pick = 0;

	{
		const struct tok *cur = c[pick].cur ? c[pick].cur : c[pick].cur_inherited;
		bool ok = resolve_currency(p, cur, o->currency_hint, out);
		if (ok)
			ok = finish_amount(p, &p->toks[c[pick].tok], o, out, &out->amount, &out->minor);
		if (ok && c[pick].range_next) {
			struct price_decimal hi;
			struct money mhi = { 0 };
			char saved[sizeof out->error];
			memcpy(saved, out->error, sizeof saved);
			out->error[0] = '\0';
			if (finish_amount(p, &p->toks[c[pick + 1].tok], o, out, &hi, &mhi) &&
			    decimal_cmp(hi, out->amount) >= 0) {
				out->high = hi;
				out->minor_high = mhi;
				out->has_high = true;
			}
			if (saved[0] != '\0' || !out->has_high)
				memcpy(out->error, saved, sizeof saved);
		}
		/* A "from" word before the price (and no range) makes it a lower bound. */
		if (ok && !out->has_high)
			for (size_t q = c[pick].tok; q-- > 0;) {
				const struct tok *w = &p->toks[q];
				if (w->kind == T_NUM)
					break;
				if (w->kind == T_WORD && WORD_IN(p, w, from_words))
					out->is_from = true;
			}
		free(c);
		return ok;
	}
}

bool
price_parse(const char *text, size_t len, const struct price_opts *opts, struct price *out)
{
	static const struct price_opts none = { 0 };
	struct parser p = { 0 };
	bool ok;

	memset(out, 0, sizeof *out);
	if (opts == NULL)
		opts = &none;
	if (text == NULL || len == 0) {
		set_error(out, "no price in text: empty");
		return false;
	}
	if (len > PRICE_MAX_TEXT) {
		set_error(out, "price text too long (%zu bytes, limit %d)", len, PRICE_MAX_TEXT);
		return false;
	}
	if (opts->decimal_separator != 0 && opts->decimal_separator != '.' && opts->decimal_separator != ',') {
		set_error(out, "decimal separator hint must be '.' or ','");
		return false;
	}
	p.text = text;
	p.cp = xreallocarray(NULL, len + 1, sizeof *p.cp);
	p.off = xreallocarray(NULL, len + 1, sizeof *p.off);
	for (size_t i = 0; i < len;) {
		size_t used;
		p.off[p.n] = i;
		p.cp[p.n++] = utf8_next((const unsigned char *)text + i, len - i, &used);
		i += used;
	}
	p.off[p.n] = len;
	tokenize(&p);
	ok = parse_tokens(&p, opts, out);
	if (!ok) {
		char err[sizeof out->error];
		memcpy(err, out->error, sizeof err);
		memset(out, 0, sizeof *out);
		memcpy(out->error, err, sizeof err);
	}
	free(p.toks);
	free(p.cp);
	free(p.off);
	return ok;
}

bool
price_decimal_format(const struct price_decimal *d, char *buf, size_t buflen)
{
	char digits[32];
	int n, s = d->scale;

	if (d->value < 0 || s < 0 || s > PRICE_MAX_SCALE)
		return false;
	n = snprintf(digits, sizeof digits, "%0*lld", s + 1, (long long)d->value);
	if (n < 0 || (size_t)n >= sizeof digits)
		return false;
	if (s == 0)
		return pw_snprintf(buf, buflen, "%s", digits);
	return pw_snprintf(buf, buflen, "%.*s.%s", n - s, digits, digits + (n - s));
}

bool
price_format_amount(const struct price *p, bool high, char *buf, size_t buflen)
{
	const struct money *m = high ? &p->minor_high : &p->minor;

	if (high && !p->has_high)
		return false;
	if (m->currency[0] != '\0')
		return money_format_decimal(m, buf, buflen);
	return price_decimal_format(high ? &p->high : &p->amount, buf, buflen);
}
