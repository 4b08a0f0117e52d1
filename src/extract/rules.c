/* rules.c: per-source XPath rules from the config: item-xpath picks one node per listing and each field XPath is read relative to it. */
#include <config.h>

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>

#include "common/config.h"
#include "common/util.h"
#include "extract/extractor.h"

/* A search page shows dozens of listings; a hostile one is cut here (and says so). */
#define RULES_MAX_ITEMS 5000
/* Field values longer than this are cut (a title or a URL, not a page). */
#define RULES_MAX_VALUE 2048
/* XPath steps per page across all expressions: a pathological rule on a huge page stops, it does not hang. */
#define RULES_OP_LIMIT 20000000UL

/* How a field's text becomes part of a record. */
enum rule_kind { RK_TEXT, RK_LINK, RK_PRICE, RK_LIST_PRICE, RK_CURRENCY, RK_AVAILABILITY };

/* The rules table: config key, member of struct config_xpath, what the value is, where it goes. */
static const struct rule_field {
	const char *key;
	size_t offset;                 /* of the char * in struct config_xpath */
	enum rule_kind kind;
	enum extract_field field;      /* for RK_TEXT and RK_LINK */
} fields[] = {
	{ "title-xpath", offsetof(struct config_xpath, title), RK_TEXT, EXTRACT_F_TITLE },
	{ "price-xpath", offsetof(struct config_xpath, price), RK_PRICE, EXTRACT_F_PRICE },
	{ "list-price-xpath", offsetof(struct config_xpath, list_price), RK_LIST_PRICE, EXTRACT_F_LIST_PRICE },
	{ "currency-xpath", offsetof(struct config_xpath, currency), RK_CURRENCY, EXTRACT_F_PRICE },
	{ "availability-xpath", offsetof(struct config_xpath, availability), RK_AVAILABILITY, EXTRACT_F_AVAILABILITY },
	{ "sku-xpath", offsetof(struct config_xpath, sku), RK_TEXT, EXTRACT_F_SKU },
	{ "gtin-xpath", offsetof(struct config_xpath, gtin), RK_TEXT, EXTRACT_F_GTIN },
	{ "mpn-xpath", offsetof(struct config_xpath, mpn), RK_TEXT, EXTRACT_F_MPN },
	{ "brand-xpath", offsetof(struct config_xpath, brand), RK_TEXT, EXTRACT_F_BRAND },
	{ "image-xpath", offsetof(struct config_xpath, image), RK_LINK, EXTRACT_F_IMAGE },
	{ "url-xpath", offsetof(struct config_xpath, url), RK_LINK, EXTRACT_F_URL },
	{ "seller-xpath", offsetof(struct config_xpath, seller), RK_TEXT, EXTRACT_F_SELLER },
};

#define N_FIELDS (sizeof fields / sizeof fields[0])

/* One page's compiled rules and what every item needs. */
struct rules_run {
	const struct extract_ctx *ctx;
	struct extract_result *result;
	xmlXPathContextPtr xc;
	xmlXPathCompExprPtr comp[N_FIELDS];  /* NULL: field not set or not valid */
	char *base;                    /* <base> or the page URL, for relative links; may be NULL */
	char label[128];               /* "source "NAME" (line N): " */
	bool stopped;                  /* the op limit hit: no further evaluation */
	bool has_items;                /* item-xpath set: records are listings, not the page */
};

static const char *
rule_expr(const struct config_xpath *rules, size_t offset)
{
	const char *const *p = (const char *const *)(const void *)((const char *)rules + offset);

	return *p != NULL && **p != '\0' ? *p : NULL;
}

bool
rules_present(const struct config_xpath *rules)
{
	if (rules == NULL)
		return false;
	if (rules->item != NULL && *rules->item != '\0')
		return true;
	for (size_t i = 0; i < N_FIELDS; i++)
		if (rule_expr(rules, fields[i].offset) != NULL)
			return true;
	return false;
}

/* libxml2 prints XPath errors to stderr by default; they are reported through the result instead. */
static void
quiet_error(void *user, xmlErrorPtr err)
{
	(void)user;
	(void)err;
}

/* The XPath error of xc in words, with where in the expression it was found. */
static void
xpath_message(xmlXPathContextPtr xc, char *buf, size_t buflen)
{
	/* libxml2 leaves lastError.message empty when an error callback is set: only the code is known. */
	static const char *const messages[] = {
		[XPATH_NUMBER_ERROR] = "bad number", [XPATH_UNFINISHED_LITERAL_ERROR] = "unfinished literal",
		[XPATH_START_LITERAL_ERROR] = "literal expected", [XPATH_VARIABLE_REF_ERROR] = "bad variable reference",
		[XPATH_UNDEF_VARIABLE_ERROR] = "undefined variable", [XPATH_INVALID_PREDICATE_ERROR] = "invalid predicate",
		[XPATH_EXPR_ERROR] = "invalid expression", [XPATH_UNCLOSED_ERROR] = "missing closing bracket",
		[XPATH_UNKNOWN_FUNC_ERROR] = "unknown function", [XPATH_INVALID_OPERAND] = "invalid operand",
		[XPATH_INVALID_TYPE] = "invalid type", [XPATH_INVALID_ARITY] = "wrong number of function arguments",
		[XPATH_MEMORY_ERROR] = "out of memory", [XPATH_UNDEF_PREFIX_ERROR] = "undefined namespace prefix",
		[XPATH_ENCODING_ERROR] = "encoding error", [XPATH_INVALID_CHAR_ERROR] = "invalid character",
		[XPATH_STACK_ERROR] = "stack usage error", [XPATH_OP_LIMIT_EXCEEDED] = "too much work for one page",
		[XPATH_RECURSION_LIMIT_EXCEEDED] = "nested too deeply",
	};
	int code = xc->lastError.code - XML_XPATH_EXPRESSION_OK;
	const char *what = code > 0 && (size_t)code < sizeof messages / sizeof messages[0] && messages[code] != NULL ?
	    messages[code] : "invalid expression";

	if (xc->lastError.str1 != NULL && xc->lastError.int1 > 0)
		pw_snprintf(buf, buflen, "%s at character %d", what, xc->lastError.int1 + 1);
	else
		pw_strlcpy(buf, what, buflen);
}

/* True when the last error was the page's XPath budget running out. */
static bool
over_budget(xmlXPathContextPtr xc)
{
	return xc->lastError.code - XML_XPATH_EXPRESSION_OK == XPATH_OP_LIMIT_EXCEEDED;
}

static xmlXPathCompExprPtr
compile(struct rules_run *run, const char *key, const char *expr)
{
	xmlXPathCompExprPtr c;
	char msg[96];

	xmlResetError(&run->xc->lastError);
	c = xmlXPathCtxtCompile(run->xc, (const xmlChar *)expr);
	if (c == NULL) {
		xpath_message(run->xc, msg, sizeof msg);
		extract_add_error(run->result, "%s%s \"%.80s\" is not a valid XPath expression: %s", run->label, key,
		    expr, msg);
	}
	return c;
}

/* Evaluates comp with node as the context node; NULL (and an error, once) when evaluation fails. */
static xmlXPathObjectPtr
eval_at(struct rules_run *run, xmlXPathCompExprPtr comp, xmlNodePtr node, const char *key, const char *expr)
{
	xmlXPathObjectPtr obj;
	char msg[96];

	if (run->stopped)
		return NULL;
	run->xc->node = node;
	xmlResetError(&run->xc->lastError);
	obj = xmlXPathCompiledEval(comp, run->xc);
	if (obj == NULL) {
		xpath_message(run->xc, msg, sizeof msg);
		extract_add_error(run->result, "%s%s \"%.80s\" failed on %s: %s", run->label, key, expr,
		    run->ctx->page_url != NULL ? run->ctx->page_url : "the page", msg);
		/* Past the op limit every further expression fails the same way: stop here. */
		run->stopped = over_budget(run->xc);
	}
	return obj;
}

/*
 * The text of a field for one item (malloc'd, whitespace collapsed; NULL when empty):
 * the string value of the first node selected, or the string/number the expression
 * gives. *machine says the value came from an attribute (data-price="1299.00"),
 * where a plain decimal is machine notation, not visible text.
 */
static char *
field_text(struct rules_run *run, size_t i, xmlNodePtr item, bool *machine)
{
	const char *expr = rule_expr(run->ctx->rules, fields[i].offset);
	xmlXPathObjectPtr obj = eval_at(run, run->comp[i], item, fields[i].key, expr);
	xmlChar *s;
	char *text;

	*machine = false;
	if (obj == NULL)
		return NULL;
	if (obj->type == XPATH_NODESET && xmlXPathNodeSetIsEmpty(obj->nodesetval)) {
		xmlXPathFreeObject(obj);
		return NULL;
	}
	/* The cast sorts a node-set into document order and reads its first node, which is then nodeTab[0]. */
	s = xmlXPathCastToString(obj);
	if (obj->type == XPATH_NODESET)
		*machine = obj->nodesetval->nodeTab[0]->type == XML_ATTRIBUTE_NODE;
	else
		*machine = obj->type == XPATH_NUMBER;
	xmlXPathFreeObject(obj);
	text = extract_clean_text((const char *)s, RULES_MAX_VALUE);
	xmlFree(s);
	return text;
}

/* A price field into *out (and the range's high end into *high, may be NULL); problems are counted. */
static void
read_price(struct rules_run *run, size_t item_no, const char *key, const char *text, bool machine,
    const char *currency, struct money *out, struct money *high)
{
	char err[200], *joined = NULL;
	const char *code = NULL;

	/* currency-xpath may give a code ("EUR") or a symbol ("zł"): a symbol is read with the amount. */
	if (currency != NULL && strlen(currency) == 3 && money_currency_valid(currency))
		code = currency;
	else if (currency != NULL) {
		joined = xasprintf("%s %s", text, currency);
		text = joined;
		machine = false;
	}
	if (!extract_price(run->ctx, text, code, machine, out, high, err, sizeof err))
		extract_add_error(run->result, "%sitem %zu: %s: %s", run->label, item_no, key, err);
	free(joined);
}

/* Reads every field for one item; adds a record when at least one field matched. */
static void
read_item(struct rules_run *run, xmlNodePtr item, size_t item_no)
{
	struct extract_record rec;
	char *text[N_FIELDS] = { NULL };
	bool machine[N_FIELDS] = { false }, any = false;
	const char *currency = NULL;

	memset(&rec, 0, sizeof rec);
	for (size_t i = 0; i < N_FIELDS; i++) {
		if (run->comp[i] == NULL)
			continue;
		text[i] = field_text(run, i, item, &machine[i]);
		any = any || text[i] != NULL;
		if (fields[i].kind == RK_CURRENCY)
			currency = text[i];
	}
	if (!any)
		return;
	rec.extractor = "rules";
	for (size_t i = 0; i < N_FIELDS; i++) {
		if (text[i] == NULL)
			continue;
		switch (fields[i].kind) {
		case RK_TEXT:
			*extract_record_field(&rec, fields[i].field) = text[i];
			text[i] = NULL;
			break;
		case RK_LINK:
			*extract_record_field(&rec, fields[i].field) = extract_resolve_url(run->base, text[i]);
			break;
		case RK_PRICE:
			read_price(run, item_no, fields[i].key, text[i], machine[i], currency, &rec.price, &rec.price_high);
			break;
		case RK_LIST_PRICE:
			read_price(run, item_no, fields[i].key, text[i], machine[i], currency, &rec.list_price, NULL);
			break;
		case RK_AVAILABILITY:
			rec.availability = extract_availability_text(text[i]);
			break;
		case RK_CURRENCY:
			break;
		}
	}
	/* Without item-xpath the rules describe the page itself: its URL is the listing's. */
	if (rec.url == NULL && !run->has_items && run->ctx->page_url != NULL)
		rec.url = xstrdup(run->ctx->page_url);
	for (size_t i = 0; i < N_FIELDS; i++)
		free(text[i]);
	*extract_add_record(run->result) = rec;
}

/* Runs item-xpath from the document; each node it selects is one listing. */
static void
read_items(struct rules_run *run, htmlDocPtr doc)
{
	const char *expr = run->ctx->rules->item;
	xmlXPathCompExprPtr comp = compile(run, "item-xpath", expr);
	xmlXPathObjectPtr obj;
	size_t n;

	if (comp == NULL)
		return;
	obj = eval_at(run, comp, (xmlNodePtr)doc, "item-xpath", expr);
	xmlXPathFreeCompExpr(comp);
	if (obj == NULL)
		return;
	if (obj->type != XPATH_NODESET) {
		extract_add_error(run->result, "%sitem-xpath \"%.80s\" gives a value, not nodes (one node per listing)",
		    run->label, expr);
		xmlXPathFreeObject(obj);
		return;
	}
	n = obj->nodesetval != NULL ? (size_t)obj->nodesetval->nodeNr : 0;
	if (n > RULES_MAX_ITEMS) {
		extract_add_error(run->result, "%sitem-xpath \"%.80s\" matched %zu nodes; only the first %d are read",
		    run->label, expr, n, RULES_MAX_ITEMS);
		n = RULES_MAX_ITEMS;
	}
	for (size_t k = 0; k < n && !run->stopped; k++)
		read_item(run, obj->nodesetval->nodeTab[k], k + 1);
	xmlXPathFreeObject(obj);
}

void
rules_extract(htmlDocPtr doc, const struct extract_ctx *ctx, struct extract_result *result)
{
	struct rules_run run;

	if (ctx->rules == NULL || !rules_present(ctx->rules))
		return;
	memset(&run, 0, sizeof run);
	run.ctx = ctx;
	run.result = result;
	extract_source_label(ctx, run.label, sizeof run.label);
	run.xc = xmlXPathNewContext(doc);
	if (run.xc == NULL) {
		extract_add_error(result, "%sout of memory for XPath", run.label);
		return;
	}
	run.xc->error = quiet_error;
	run.xc->opLimit = RULES_OP_LIMIT;
	for (size_t i = 0; i < N_FIELDS; i++) {
		const char *expr = rule_expr(ctx->rules, fields[i].offset);
		if (expr != NULL)
			run.comp[i] = compile(&run, fields[i].key, expr);
	}
	run.base = extract_base_url(doc, ctx->page_url);
	run.has_items = ctx->rules->item != NULL && *ctx->rules->item != '\0';
	if (run.has_items)
		read_items(&run, doc);
	else
		read_item(&run, (xmlNodePtr)doc, 1);
	for (size_t i = 0; i < N_FIELDS; i++)
		if (run.comp[i] != NULL)
			xmlXPathFreeCompExpr(run.comp[i]);
	free(run.base);
	xmlXPathFreeContext(run.xc);
}
