/* json.h: reading the JSON a command printed, in tests (json-c): a member that must be there. */
#ifndef PW_TEST_JSON_H
#define PW_TEST_JSON_H

#include <criterion/criterion.h>
#include <json-c/json.h>

/* Member k of object o, borrowed from o; fails the test (showing o) when o has no such member. */
static inline struct json_object *
test_json_member(struct json_object *o, const char *k)
{
	struct json_object *v = NULL;

	cr_assert(json_object_object_get_ex(o, k, &v), "no key %s in %s", k, json_object_to_json_string(o));
	return v;
}

#endif
