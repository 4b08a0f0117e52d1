/* heuristic.c: the fallback for pages without markup: the price next to the product title (h1) or the buy button, the current price over a struck-through one; nothing when unsure. */
#include <config.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libxml/tree.h>

#include "common/util.h"
#include "extract/extractor.h"
#include "extract/price.h"
#include "store/store.h"

/* An element whose visible text is longer than this is a block of prose, not a price. */
#define H_PRICE_TEXT 96
/* Nodes read for one element's text: deep nesting around a price is cut short, never walked to the end. */
#define H_TEXT_NODES 48
/* Tree steps (up to the common ancestor and down) between a price and the title or buy button. */
#define H_MAX_DISTANCE 12
#define H_MAX_CANDIDATES 512
#define H_MAX_AVAIL 16
/* Elements visited per page: a 30 MB page of tags is cut here. */
#define H_MAX_ELEMENTS ((size_t)2 * 1000 * 1000)
#define H_TITLE_TEXT 512
/* Elements tried as prices are remembered this far back, so a price box is not tried once per digit. */
#define H_SEEN 64
/* A number's element and this many enclosing ones are tried as the price ("<b>€</b><i>19.99</i>"). */
#define H_PRICE_LEVELS 3

/* A price found in the page, with what its markup says about it. */
struct candidate {
	xmlNodePtr node;
	struct money price, high;
	bool struck;                   /* <del>, <s>, class "old-price", "was": a list price */
	bool after_title;              /* after the h1 in document order */
};

struct scan {
	const struct extract_ctx *ctx;
	const char *hint;              /* the default currency when it is a valid code */
	xmlNodePtr title, button;      /* first h1 and first buy button outside site chrome */
	size_t n_buttons;
	struct candidate cand[H_MAX_CANDIDATES];
	size_t n_cand;
	xmlNodePtr avail[H_MAX_AVAIL];
	enum availability avail_value[H_MAX_AVAIL];
	size_t n_avail;
	xmlNodePtr seen[H_SEEN];       /* elements already tried as a price, most recent ones */
	size_t n_seen;
};

static bool
is_tag(xmlNodePtr n, const char *name)
{
	return n->type == XML_ELEMENT_NODE && n->name != NULL && xmlStrcasecmp(n->name, (const xmlChar *)name) == 0;
}

static bool
tag_in(xmlNodePtr n, const char *const *names)
{
	for (; *names != NULL; names++)
		if (is_tag(n, *names))
			return true;
	return false;
}

/* Does attribute attr of n contain one of words (case-insensitive substrings)? */
static bool
attr_has(xmlNodePtr n, const char *attr, const char *const *words)
{
	xmlChar *v = xmlGetProp(n, (const xmlChar *)attr);
	bool found = false;

	for (; v != NULL && *words != NULL && !found; words++)
		found = strcasestr((const char *)v, *words) != NULL;
	xmlFree(v);
	return found;
}

/* class or id contains one of words. */
static bool
named(xmlNodePtr n, const char *const *words)
{
	return attr_has(n, "class", words) || attr_has(n, "id", words);
}

static bool
text_has(const char *text, const char *const *words)
{
	for (; *words != NULL; words++)
		if (strcasestr(text, *words) != NULL)
			return true;
	return false;
}

/* Not rendered, or not for sighted readers: its text is not "the price on the page". */
static bool
is_hidden(xmlNodePtr n)
{
	static const char *const tags[] = { "script", "style", "noscript", "template", "svg", "select", "option",
	    "textarea", "head", "iframe", "object", NULL };
	static const char *const hidden_classes[] = { "visually-hidden", "visuallyhidden", "sr-only",
	    "screen-reader", "d-none", "u-hidden", NULL };
	static const char *const none[] = { "display:none", "display: none", "visibility:hidden", NULL };

	if (tag_in(n, tags))
		return true;
	if (xmlHasProp(n, (const xmlChar *)"hidden") != NULL)
		return true;
	/* aria-hidden is not here: shops put it on visible struck-through prices. */
	return attr_has(n, "class", hidden_classes) || attr_has(n, "style", none);
}

/* Site chrome (navigation, footer, sidebars, the page header) holds mini-carts and teasers, not the product. */
static bool
is_chrome(xmlNodePtr n)
{
	static const char *const tags[] = { "nav", "footer", "aside", NULL };

	if (tag_in(n, tags))
		return true;
	return is_tag(n, "header") && n->parent != NULL && is_tag(n->parent, "body");
}

/* The next node after n in document order under top; descend=false skips n's subtree. */
static xmlNodePtr
next_node(xmlNodePtr n, xmlNodePtr top, bool descend)
{
	if (descend && n->children != NULL && n->type == XML_ELEMENT_NODE)
		return n->children;
	for (; n != NULL && n != top; n = n->parent)
		if (n->next != NULL)
			return n->next;
	return NULL;
}

/*
 * The visible text under n into buf (NUL-terminated, whitespace as found). False
 * when it is longer than buflen - 1 or spread over more than max_nodes nodes, unless
 * cut is set: then the text is cut there.
 */
static bool
bounded_text(xmlNodePtr n, char *buf, size_t buflen, size_t max_nodes, bool cut)
{
	size_t o = 0, nodes = 0;

	buf[0] = '\0';
	for (xmlNodePtr c = n->children; c != NULL; ) {
		bool descend = true;
		if (++nodes > max_nodes)
			return cut;
		if (c->type == XML_TEXT_NODE || c->type == XML_CDATA_SECTION_NODE) {
			size_t l = c->content != NULL ? strlen((const char *)c->content) : 0;
			if (o + l >= buflen) {
				if (!cut)
					return false;
				l = buflen - 1 - o;
			}
			memcpy(buf + o, c->content, l);
			buf[o += l] = '\0';
			if (o + 1 >= buflen && cut)
				return true;
		} else if (c->type == XML_ELEMENT_NODE && is_hidden(c)) {
			descend = false;
		}
		c = next_node(c, n, descend);
	}
	return true;
}

static bool
has_digit(const char *s)
{
	for (; *s != '\0'; s++)
		if ((*s >= '0' && *s <= '9') || (unsigned char)*s >= 0x80)
			return true;
	return false;
}

/* Does n or one of its nearest ancestors say (by tag or name) that its price is a list price? */
static bool
struck_markup(xmlNodePtr n)
{
	static const char *const tags[] = { "del", "s", "strike", NULL };
	static const char *const names[] = { "old-price", "old_price", "oldprice", "price-old", "price--old",
	    "price_old", "was-price", "was_price", "wasprice", "price-was", "compare", "strike", "crossed", "before",
	    "uvp", "rrp", "msrp", "list-price", "list_price", "listprice", "regular-price", "regular_price",
	    "regularprice", "original-price", "original_price", "price--original", "previous", NULL };

	for (int i = 0; i < 4 && n != NULL && n->type == XML_ELEMENT_NODE; i++, n = n->parent)
		if (tag_in(n, tags) || named(n, names))
			return true;
	return false;
}

/* n or a near ancestor is named like a price box ("price", "preis", "prix", ...). */
static bool
price_named(xmlNodePtr n)
{
	static const char *const names[] = { "price", "preis", "prix", "precio", "prezzo", "cena", "prijs", "pris",
	    "amount", NULL };

	for (int i = 0; i < 3 && n != NULL && n->type == XML_ELEMENT_NODE; i++, n = n->parent)
		if (named(n, names))
			return true;
	return false;
}

/* Is the text around a number about something else than the item's price (shipping, savings, instalments, units)? */
static bool
other_amount(const char *text)
{
	static const char *const words[] = { "shipping", "delivery", "versand", "livraison", "envío", "envio",
	    "spedizione", "dostawa", "verzend", "frakt", "porto", "save ", "saving", "spare", "économ", "ahorr",
	    "rispar", "oszczęd", "bespaar", "payment", "instal", "raten", "/", " per ", "month", "monat", "mois",
	    "klarna", "afterpay", "coupon", "gutschein", "voucher", " off", "total", "subtotal", "summe", "cart",
	    "warenkorb", "panier", "basket", "%", NULL };

	return text_has(text, words);
}

static bool
was_words(const char *text)
{
	static const char *const words[] = { "was ", "was:", "statt", "uvp", "rrp", "msrp", "avant", "antes", "prima",
	    "regular", "originally", "list price", "zuvor", "vorher", "tidigare", "ord.", "bisher", NULL };

	return text_has(text, words);
}

/* Parses the visible text of n as a price (false when it is too long or holds none). */
static bool
parse_text(const struct scan *s, xmlNodePtr n, struct price *p, char **text_out)
{
	char raw[H_PRICE_TEXT + 1], *text;
	struct price_opts o = { .currency_hint = s->hint, .decimal_separator = s->ctx->decimal_separator };
	bool ok;

	if (!bounded_text(n, raw, sizeof raw, H_TEXT_NODES, false) || !has_digit(raw))
		return false;
	if ((text = extract_clean_text(raw, H_PRICE_TEXT)) == NULL)
		return false;
	ok = price_parse(text, strlen(text), &o, p);
	if (text_out != NULL)
		*text_out = text;
	else
		free(text);
	return ok;
}

/*
 * Is n one piece of a range or a "from" price ("ab <span>89,00 €</span> bis
 * <span>139,95 €</span>")? A piece alone is not the price: the enclosing range is.
 */
static bool
in_range(const struct scan *s, xmlNodePtr n)
{
	struct price p;

	for (int i = 0; i < H_PRICE_LEVELS && (n = n->parent) != NULL && n->type == XML_ELEMENT_NODE; i++)
		if (parse_text(s, n, &p, NULL) && (p.is_from || p.has_high))
			return true;
	return false;
}

/* A candidate price at n when its visible text is short, about a price, and parses with a currency. */
static void
consider_price(struct scan *s, xmlNodePtr n)
{
	char *text = NULL;
	struct price p;
	struct candidate *c;
	bool ok = parse_text(s, n, &p, &text);

	if (!ok || other_amount(text) || p.minor.currency[0] == '\0' || p.is_free || p.is_from ||
	    (p.currency_text[0] == '\0' && !price_named(n)) || (!p.has_high && in_range(s, n))) {
		free(text);
		return;
	}
	/* The innermost element holding the price wins: drop the enclosing ones found before it. */
	while (s->n_cand > 0) {
		xmlNodePtr a = n->parent;
		for (size_t up = 0; a != NULL && a != s->cand[s->n_cand - 1].node && up < H_TEXT_NODES; up++)
			a = a->parent;
		if (a == NULL || a != s->cand[s->n_cand - 1].node)
			break;
		s->n_cand--;
	}
	if (s->n_cand == H_MAX_CANDIDATES) {
		free(text);
		return;
	}
	c = &s->cand[s->n_cand++];
	memset(c, 0, sizeof *c);
	c->node = n;
	c->price = p.minor;
	if (p.has_high && p.minor_high.currency[0] != '\0')
		c->high = p.minor_high;
	c->struck = struck_markup(n) || was_words(text);
	c->after_title = s->title != NULL;
	free(text);
}

/* A button or link that puts the product in the cart, in any of several languages. */
static bool
is_buy_button(xmlNodePtr n)
{
	static const char *const tags[] = { "button", "a", "input", NULL };
	static const char *const names[] = { "add-to-cart", "add_to_cart", "addtocart", "tocart", "buy-now",
	    "buynow", "buy_now", NULL };
	static const char *const words[] = { "add to cart", "add to basket", "add to bag", "add to trolley",
	    "buy now", "buy it now", "in den warenkorb", "in den einkaufswagen", "jetzt kaufen", "ajouter au panier",
	    "acheter", "añadir al carrito", "añadir a la cesta", "agregar al carrito", "comprar", "aggiungi al carrello",
	    "acquista", "in winkelwagen", "in de winkelwagen", "do koszyka", "kup teraz", "lägg i varukorgen",
	    "köp nu", "læg i kurv", "legg i handlekurv", "lisää ostoskoriin", "sepete ekle", "в корзину", "купить",
	    "カートに入れる", "購入する", "加入购物车", "立即购买", "장바구니", "adicionar ao carrinho",
	    "do košíku", "kosárba", NULL };
	char text[H_PRICE_TEXT + 1];

	if (!tag_in(n, tags))
		return false;
	if (named(n, names) || attr_has(n, "name", names))
		return true;
	if (attr_has(n, "value", words) || attr_has(n, "aria-label", words) || attr_has(n, "title", words))
		return true;
	bounded_text(n, text, sizeof text, H_TEXT_NODES, true);
	return text_has(text, words);
}

/* Elements that state stock ("In stock", "Ausverkauft", a "Sold out" button) are remembered with their value. */
static void
consider_availability(struct scan *s, xmlNodePtr n)
{
	static const char *const names[] = { "stock", "availab", "lieferbar", "verfueg", "disponib", "lager", NULL };
	char text[H_PRICE_TEXT + 1];
	enum availability a;

	if (s->n_avail == H_MAX_AVAIL || (!is_tag(n, "button") && !named(n, names)))
		return;
	if (!bounded_text(n, text, sizeof text, H_TEXT_NODES, false))
		return;
	a = extract_availability_text(text);
	if (a == AVAIL_UNKNOWN)
		return;
	s->avail[s->n_avail] = n;
	s->avail_value[s->n_avail++] = a;
}

static bool
seen_before(struct scan *s, xmlNodePtr n)
{
	for (size_t i = 0; i < H_SEEN && i < s->n_seen; i++)
		if (s->seen[i] == n)
			return true;
	s->seen[s->n_seen++ % H_SEEN] = n;
	return false;
}

/*
 * A text node with a digit: its element and a few enclosing ones may be the price.
 * Outermost first, so that enclosing candidates come before (and give way to) inner ones.
 */
static void
consider_text(struct scan *s, xmlNodePtr t)
{
	xmlNodePtr up[H_PRICE_LEVELS];
	int n = 0;

	if (t->content == NULL || !has_digit((const char *)t->content) ||
	    strlen((const char *)t->content) > H_PRICE_TEXT)
		return;
	for (xmlNodePtr e = t->parent; e != NULL && e->type == XML_ELEMENT_NODE && n < H_PRICE_LEVELS; e = e->parent)
		up[n++] = e;
	while (n-- > 0)
		if (!seen_before(s, up[n]))
			consider_price(s, up[n]);
}

static void
visit(struct scan *s, xmlNodePtr n)
{
	if (s->title == NULL && is_tag(n, "h1")) {
		char t[H_TITLE_TEXT + 1];
		bounded_text(n, t, sizeof t, 256, true);
		for (const char *p = t; *p != '\0'; p++)
			if (*p != ' ' && *p != '\n' && *p != '\t' && *p != '\r') {
				s->title = n;
				break;
			}
	}
	if (is_buy_button(n)) {
		if (s->button == NULL)
			s->button = n;
		s->n_buttons++;
	}
	consider_availability(s, n);
}

/* Steps between a and b through their nearest common ancestor; INT_MAX when more than H_MAX_DISTANCE. */
static int
distance(xmlNodePtr a, xmlNodePtr b)
{
	if (a == NULL || b == NULL)
		return INT_MAX;
	for (int i = 0; i <= H_MAX_DISTANCE && a != NULL; i++, a = a->parent) {
		xmlNodePtr pb = b;
		for (int j = 0; i + j <= H_MAX_DISTANCE && pb != NULL; j++, pb = pb->parent)
			if (pb == a)
				return i + j;
	}
	return INT_MAX;
}

/* How far a node is from the product: from the title, or from the only buy button. */
static int
anchor_distance(const struct scan *s, xmlNodePtr n)
{
	int d = distance(n, s->title), b = s->n_buttons == 1 ? distance(n, s->button) : INT_MAX;

	return d < b ? d : b;
}

static bool
same_money(const struct money *a, const struct money *b)
{
	return strcmp(a->currency, b->currency) == 0 && a->minor == b->minor;
}

/*
 * Picks the current price: the nearest non-struck candidate (after the title when
 * there is one). Several at that distance with different amounts, or three or more
 * (a category grid), is too unsure: NULL.
 */
static const struct candidate *
pick_price(const struct scan *s, int *dist)
{
	const struct candidate *best = NULL;
	int bd = INT_MAX, at_best = 0;

	for (size_t i = 0; i < s->n_cand; i++) {
		const struct candidate *c = &s->cand[i];
		int d;
		if (c->struck || (s->title != NULL && !c->after_title))
			continue;
		d = anchor_distance(s, c->node);
		if (d == INT_MAX)
			continue;
		if (d < bd) {
			best = c;
			bd = d;
			at_best = 1;
		} else if (d == bd) {
			if (!same_money(&c->price, &best->price))
				return NULL;
			at_best++;
		}
	}
	if (best == NULL || at_best >= 3)
		return NULL;
	*dist = bd;
	return best;
}

/* The struck-through price next to the current one: higher, same currency, about as near. */
static const struct money *
pick_list_price(const struct scan *s, const struct candidate *cur, int dist)
{
	const struct money *best = NULL;
	int bd = INT_MAX;

	for (size_t i = 0; i < s->n_cand; i++) {
		const struct candidate *c = &s->cand[i];
		int d;
		if (!c->struck || strcmp(c->price.currency, cur->price.currency) != 0 || c->price.minor <= cur->price.minor)
			continue;
		d = anchor_distance(s, c->node);
		if (d <= dist + 2 && d < bd) {
			best = &c->price;
			bd = d;
		}
	}
	return best;
}

static enum availability
pick_availability(const struct scan *s)
{
	enum availability a = AVAIL_UNKNOWN;
	int bd = INT_MAX;

	for (size_t i = 0; i < s->n_avail; i++) {
		int d = anchor_distance(s, s->avail[i]);
		if (d < bd) {
			bd = d;
			a = s->avail_value[i];
		}
	}
	return a;
}

/* Runs only where the markup gave no price: no record yet, or one without a price and without errors. */
static bool
wanted(const struct extract_result *result)
{
	if (result->n_records == 0)
		return true;
	return result->n_records == 1 && result->records[0].price.currency[0] == '\0' && result->n_errors == 0;
}

void
heuristic_extract(htmlDocPtr doc, const struct extract_ctx *ctx, struct extract_result *result)
{
	xmlNodePtr root = xmlDocGetRootElement(doc);
	struct scan *s;
	const struct candidate *cur;
	const struct money *list;
	struct extract_record *rec;
	size_t visited = 0;
	int dist = 0;

	if (root == NULL || !wanted(result))
		return;
	s = xcalloc(1, sizeof *s);
	s->ctx = ctx;
	if (ctx->default_currency != NULL && money_currency_valid(ctx->default_currency))
		s->hint = ctx->default_currency;
	for (xmlNodePtr n = root; n != NULL && visited < H_MAX_ELEMENTS; ) {
		bool descend = true;
		if (n->type == XML_ELEMENT_NODE) {
			visited++;
			if (is_hidden(n) || is_chrome(n))
				descend = false;
			else
				visit(s, n);
		} else if (n->type == XML_TEXT_NODE) {
			consider_text(s, n);
		}
		n = next_node(n, root, descend);
	}
	if (s->title == NULL && s->n_buttons != 1)
		goto out;
	cur = pick_price(s, &dist);
	if (cur == NULL)
		goto out;
	rec = extract_add_record(result);
	rec->extractor = "heuristic";
	rec->price = cur->price;
	rec->price_high = cur->high;
	if ((list = pick_list_price(s, cur, dist)) != NULL)
		rec->list_price = *list;
	rec->availability = pick_availability(s);
	if (s->title != NULL) {
		char t[H_TITLE_TEXT + 1];
		bounded_text(s->title, t, sizeof t, 256, true);
		rec->title = extract_clean_text(t, H_TITLE_TEXT);
	}
	rec->url = extract_canonical_url(doc, ctx->page_url);
	if (rec->url == NULL && ctx->page_url != NULL)
		rec->url = xstrdup(ctx->page_url);
out:
	free(s);
}

/* Visible stock texts; out-of-stock words first, since "nicht verfügbar" contains "verfügbar". */
enum availability
extract_availability_text(const char *text)
{
	static const struct {
		const char *word;
		enum availability a;
	} words[] = {
		{ "out of stock", AVAIL_OUT_OF_STOCK }, { "sold out", AVAIL_OUT_OF_STOCK },
		{ "currently unavailable", AVAIL_OUT_OF_STOCK }, { "not available", AVAIL_OUT_OF_STOCK },
		{ "unavailable", AVAIL_OUT_OF_STOCK }, { "no stock", AVAIL_OUT_OF_STOCK },
		{ "ausverkauft", AVAIL_OUT_OF_STOCK }, { "nicht verfügbar", AVAIL_OUT_OF_STOCK },
		{ "nicht auf lager", AVAIL_OUT_OF_STOCK }, { "nicht lieferbar", AVAIL_OUT_OF_STOCK }, { "nicht vorrätig", AVAIL_OUT_OF_STOCK },
		{ "vergriffen", AVAIL_OUT_OF_STOCK }, { "puisé", AVAIL_OUT_OF_STOCK }, { "epuise", AVAIL_OUT_OF_STOCK },
		{ "rupture de stock", AVAIL_OUT_OF_STOCK }, { "indisponible", AVAIL_OUT_OF_STOCK },
		{ "agotado", AVAIL_OUT_OF_STOCK }, { "sin stock", AVAIL_OUT_OF_STOCK },
		{ "no disponible", AVAIL_OUT_OF_STOCK }, { "esaurito", AVAIL_OUT_OF_STOCK },
		{ "non disponibile", AVAIL_OUT_OF_STOCK }, { "niedostępny", AVAIL_OUT_OF_STOCK },
		{ "brak w magazynie", AVAIL_OUT_OF_STOCK }, { "wyprzedan", AVAIL_OUT_OF_STOCK },
		{ "uitverkocht", AVAIL_OUT_OF_STOCK }, { "niet op voorraad", AVAIL_OUT_OF_STOCK },
		{ "slutsåld", AVAIL_OUT_OF_STOCK }, { "slut i lager", AVAIL_OUT_OF_STOCK }, { "ej i lager", AVAIL_OUT_OF_STOCK },
		{ "utsolgt", AVAIL_OUT_OF_STOCK }, { "udsolgt", AVAIL_OUT_OF_STOCK }, { "esgotado", AVAIL_OUT_OF_STOCK },
		{ "indisponível", AVAIL_OUT_OF_STOCK }, { "нет в наличии", AVAIL_OUT_OF_STOCK },
		{ "tükendi", AVAIL_OUT_OF_STOCK }, { "vyprodáno", AVAIL_OUT_OF_STOCK }, { "在庫切れ", AVAIL_OUT_OF_STOCK },
		{ "売り切れ", AVAIL_OUT_OF_STOCK }, { "品切れ", AVAIL_OUT_OF_STOCK }, { "缺货", AVAIL_OUT_OF_STOCK },
		{ "售罄", AVAIL_OUT_OF_STOCK }, { "discontinued", AVAIL_DISCONTINUED },
		{ "pre-order", AVAIL_PREORDER }, { "preorder", AVAIL_PREORDER }, { "vorbestell", AVAIL_PREORDER },
		{ "précommande", AVAIL_PREORDER }, { "pré-commande", AVAIL_PREORDER }, { "preventa", AVAIL_PREORDER },
		{ "preordina", AVAIL_PREORDER }, { "przedsprzedaż", AVAIL_PREORDER }, { "予約", AVAIL_PREORDER },
		{ "backorder", AVAIL_BACKORDER }, { "back order", AVAIL_BACKORDER }, { "nachbestellt", AVAIL_BACKORDER },
		{ "only a few left", AVAIL_LIMITED }, { "low stock", AVAIL_LIMITED }, { "limited stock", AVAIL_LIMITED },
		{ "nur noch", AVAIL_LIMITED }, { "left in stock", AVAIL_LIMITED }, { "solo quedan", AVAIL_LIMITED }, { "in stock", AVAIL_IN_STOCK }, { "instock", AVAIL_IN_STOCK },
		{ "auf lager", AVAIL_IN_STOCK }, { "sofort lieferbar", AVAIL_IN_STOCK }, { "lieferbar", AVAIL_IN_STOCK },
		{ "verfügbar", AVAIL_IN_STOCK }, { "vorrätig", AVAIL_IN_STOCK }, { "en stock", AVAIL_IN_STOCK }, { "disponible", AVAIL_IN_STOCK },
		{ "en existencia", AVAIL_IN_STOCK }, { "disponibile", AVAIL_IN_STOCK }, { "dostępny", AVAIL_IN_STOCK },
		{ "na stanie", AVAIL_IN_STOCK }, { "op voorraad", AVAIL_IN_STOCK }, { "i lager", AVAIL_IN_STOCK },
		{ "på lager", AVAIL_IN_STOCK }, { "em estoque", AVAIL_IN_STOCK }, { "в наличии", AVAIL_IN_STOCK },
		{ "stokta", AVAIL_IN_STOCK }, { "skladem", AVAIL_IN_STOCK }, { "在庫あり", AVAIL_IN_STOCK },
		{ "有货", AVAIL_IN_STOCK }, { "available", AVAIL_IN_STOCK },
	};
	enum availability a;

	if (text == NULL)
		return AVAIL_UNKNOWN;
	/* Machine values first: "InStock", "https://schema.org/OutOfStock", "in_stock". */
	if ((a = availability_parse(text)) != AVAIL_UNKNOWN)
		return a;
	for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
		if (strcasestr(text, words[i].word) != NULL)
			return words[i].a;
	return AVAIL_UNKNOWN;
}
