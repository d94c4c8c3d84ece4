/* test_etsi_request.c — clientd/etsi_request.c: every ETSI GS QKD 014 request form the KME must
 * serve (etsi014.md 1.2-1.6, 1.10) and every bad input, each with its exact HTTP status and
 * Error "message". Table-driven: one row per case. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "clientd/etsi_request.h"

#define CALLER "sae_a"
#define UUID1 "550e8400-e29b-41d4-a716-446655440000"
#define UUID2 "6ba7b810-9dad-11d1-80b4-00c04fd430c8"
#define P "/api/v1/keys/sae_b"
#define PD "/api/v1/keys/remote_sae/dec_keys"

#define NUMBER_MSG "number must be a positive integer"
#define SIZE_MSG "size must be a positive integer"
#define MULT8 "size shall be a multiple of 8"
#define NOTFOUND "one or more keys specified are not found on KME"
#define EXT_MAND "not all extension_mandatory parameters are supported"
#define BAD_SLAVE "slave_SAE_ID in the path is not a valid SAE ID (1 to 64 of A-Z a-z 0-9 . _ @ : + -)"
#define NOT_FOUND_PATH "unknown path: the API is /api/v1/keys/{SAE_ID}/status, enc_keys or dec_keys"
#define MISSING_ID "each key_IDs entry needs a key_ID string"
#define ADD_TYPE "additional_slave_SAE_IDs must be an array of strings"
#define ADD_BAD "additional_slave_SAE_IDs contains an empty, blank or invalid SAE ID"
#define ADD_SELF "additional_slave_SAE_IDs must not name the slave or the master SAE"

struct req_case {
	const char *name;
	const char *method, *target, *body;
	unsigned status;            /* 200: parses */
	const char *msg;            /* the exact message when status != 200 */
	enum etsi_op op;            /* when 200 */
	const char *sae;
	unsigned number, size;
	size_t n_ids;
};

#define OK_STATUS(n, t, s) { n, "GET", t, NULL, 200, NULL, ETSI_OP_STATUS, s, 1, 0, 0 }
#define OK_ENC(n, m, t, b, num, sz) { n, m, t, b, 200, NULL, ETSI_OP_ENC_KEYS, "sae_b", num, sz, 0 }
#define OK_DEC(n, m, t, b, ids) { n, m, t, b, 200, NULL, ETSI_OP_DEC_KEYS, "remote_sae", 1, 0, ids }
#define BAD(n, m, t, b, st, msg) { n, m, t, b, st, msg, 0, NULL, 0, 0, 0 }

static const struct req_case cases[] = {
	/* --- E14-03/04: the forms that must be served */
	OK_STATUS("status", P "/status", "sae_b"),
	OK_STATUS("status of a remote SAE", "/api/v1/keys/remote_sae/status", "remote_sae"),
	OK_STATUS("percent-encoded path SAE", "/api/v1/keys/sae%5Fb/status", "sae_b"),
	OK_STATUS("percent-encoded @ and :", "/api/v1/keys/a%40b%3Ac/status", "a@b:c"),
	OK_STATUS("literal plus stays plus", "/api/v1/keys/a+b/status", "a+b"),
	OK_STATUS("64-byte SAE ID", "/api/v1/keys/"
	          "0123456789012345678901234567890123456789012345678901234567890123/status",
	          "0123456789012345678901234567890123456789012345678901234567890123"),
	OK_ENC("GET enc_keys, no parameters", "GET", P "/enc_keys", NULL, 1, 0),
	OK_ENC("GET enc_keys, number and size", "GET", P "/enc_keys?number=3&size=1024", NULL, 3, 1024),
	OK_ENC("GET enc_keys, size first", "GET", P "/enc_keys?size=512&number=100", NULL, 100, 512),
	OK_ENC("GET enc_keys, number only", "GET", P "/enc_keys?number=100", NULL, 100, 0),
	OK_ENC("GET enc_keys, size only", "GET", P "/enc_keys?size=352", NULL, 1, 352),
	OK_ENC("GET enc_keys, percent-encoded value", "GET", P "/enc_keys?number=%33", NULL, 3, 0),
	OK_ENC("GET enc_keys, empty query", "GET", P "/enc_keys?", NULL, 1, 0),
	OK_ENC("GET enc_keys, stray ampersands", "GET", P "/enc_keys?&number=2&&", NULL, 2, 0),
	OK_ENC("GET enc_keys, max number, max size", "GET", P "/enc_keys?number=1024&size=8192", NULL,
	       1024, 8192),
	OK_ENC("GET enc_keys, min size", "GET", P "/enc_keys?size=64", NULL, 1, 64),
	OK_ENC("GET enc_keys, leading zeros", "GET", P "/enc_keys?number=007", NULL, 7, 0),
	OK_ENC("GET with a blank body", "GET", P "/enc_keys", " \r\n", 1, 0),
	OK_ENC("POST enc_keys, empty body", "POST", P "/enc_keys", NULL, 1, 0),
	OK_ENC("POST enc_keys, whitespace body", "POST", P "/enc_keys", " \n\t", 1, 0),
	OK_ENC("POST enc_keys, {}", "POST", P "/enc_keys", "{}", 1, 0),
	OK_ENC("POST enc_keys, number and size", "POST", P "/enc_keys", "{\"number\":2,\"size\":352}",
	       2, 352),
	OK_ENC("POST enc_keys, number=100 size=512", "POST", P "/enc_keys",
	       "{\"number\":100,\"size\":512}", 100, 512),
	OK_ENC("POST enc_keys, null members are absent", "POST", P "/enc_keys",
	       "{\"number\":null,\"size\":null,\"additional_slave_SAE_IDs\":null,"
	       "\"extension_mandatory\":null,\"extension_optional\":null}", 1, 0),
	/* E14-16: unknown members are ignored */
	OK_ENC("POST enc_keys, unknown members", "POST", P "/enc_keys",
	       "{\"number\":1,\"vendor_thing\":{\"x\":[1,2]},\"key_container_extension\":{}}", 1, 0),
	/* E14-13 */
	OK_ENC("extension_optional is ignored", "POST", P "/enc_keys",
	       "{\"extension_optional\":[{\"abc_route_type\":\"direct\"},{\"abc_max_age\":30}]}", 1, 0),
	OK_ENC("empty extension_mandatory", "POST", P "/enc_keys", "{\"extension_mandatory\":[]}", 1, 0),
	OK_ENC("extension_mandatory naming nothing", "POST", P "/enc_keys",
	       "{\"extension_mandatory\":[{}]}", 1, 0),
	/* E14-14: an empty list is valid */
	OK_ENC("empty additional_slave_SAE_IDs", "POST", P "/enc_keys",
	       "{\"additional_slave_SAE_IDs\":[]}", 1, 0),
	OK_DEC("GET dec_keys", "GET", PD "?key_ID=" UUID1, NULL, 1),
	OK_DEC("GET dec_keys, uppercase UUID", "GET", PD "?key_ID=550E8400-E29B-41D4-A716-446655440000",
	       NULL, 1),
	OK_DEC("GET dec_keys, percent-encoded key_ID", "GET",
	       PD "?key_ID=550e8400%2De29b-41d4-a716-446655440000", NULL, 1),
	OK_DEC("POST dec_keys, one", "POST", PD, "{\"key_IDs\":[{\"key_ID\":\"" UUID1 "\"}]}", 1),
	OK_DEC("POST dec_keys, two with extras (QuKayDee master_SAE_ID)", "POST", PD,
	       "{\"key_IDs\":[{\"key_ID\":\"" UUID1 "\"},{\"key_ID\":\"" UUID2 "\","
	       "\"master_SAE_ID\":\"x\",\"key_ID_extension\":{}}],\"key_IDs_extension\":{}}", 2),

	/* --- routing and methods */
	BAD("PUT enc_keys", "PUT", P "/enc_keys", NULL, 405,
	    "method PUT is not allowed here; use GET or POST"),
	BAD("DELETE dec_keys", "DELETE", PD, NULL, 405, "method DELETE is not allowed here; use GET or POST"),
	BAD("POST status", "POST", P "/status", "{}", 405, "method POST is not allowed here; use GET"),
	BAD("HEAD status", "HEAD", P "/status", NULL, 405, "method HEAD is not allowed here; use GET"),
	BAD("lowercase method", "get", P "/status", NULL, 405, "method get is not allowed here; use GET"),
	BAD("unknown endpoint", "GET", P "/keys", NULL, 404, NOT_FOUND_PATH),
	BAD("other version", "GET", "/api/v2/keys/sae_b/status", NULL, 404, NOT_FOUND_PATH),
	BAD("root", "GET", "/", NULL, 404, NOT_FOUND_PATH),
	BAD("empty target", "GET", "", NULL, 404, NOT_FOUND_PATH),
	BAD("no endpoint", "GET", P, NULL, 404, NOT_FOUND_PATH),
	BAD("prefix only", "GET", "/api/v1/keys/", NULL, 404, NOT_FOUND_PATH),
	BAD("trailing slash", "GET", P "/status/", NULL, 404, NOT_FOUND_PATH),
	BAD("extra segment", "GET", P "/status/x", NULL, 404, NOT_FOUND_PATH),
	BAD("case of endpoint", "GET", P "/STATUS", NULL, 404, NOT_FOUND_PATH),
	BAD("endpoint with query-less junk", "GET", P "/status;x", NULL, 404, NOT_FOUND_PATH),

	/* --- E14-15: path SAE */
	BAD("empty path SAE", "GET", "/api/v1/keys//status", NULL, 400, "slave_SAE_ID in the path is empty"),
	BAD("space as path SAE", "GET", "/api/v1/keys/%20/status", NULL, 400, BAD_SLAVE),
	BAD("space in path SAE", "GET", "/api/v1/keys/sae%20b/enc_keys", NULL, 400, BAD_SLAVE),
	BAD("tab in path SAE", "GET", "/api/v1/keys/sae%09b/status", NULL, 400, BAD_SLAVE),
	BAD("encoded slash in path SAE", "GET", "/api/v1/keys/sae%2Fb/status", NULL, 400, BAD_SLAVE),
	BAD("encoded percent in path SAE", "GET", "/api/v1/keys/sae%25b/status", NULL, 400, BAD_SLAVE),
	BAD("non-ASCII path SAE", "GET", "/api/v1/keys/s%C3%A4e/status", NULL, 400, BAD_SLAVE),
	BAD("bad escape", "GET", "/api/v1/keys/sae%zzb/status", NULL, 400,
	    "slave_SAE_ID in the path has a malformed percent-encoding"),
	BAD("truncated escape", "GET", "/api/v1/keys/sae%2/status", NULL, 400,
	    "slave_SAE_ID in the path has a malformed percent-encoding"),
	BAD("escape at the end", "GET", "/api/v1/keys/sae%/status", NULL, 400,
	    "slave_SAE_ID in the path has a malformed percent-encoding"),
	BAD("NUL escape", "GET", "/api/v1/keys/sae%00b/status", NULL, 400,
	    "slave_SAE_ID in the path has a malformed percent-encoding"),
	BAD("65-byte path SAE", "GET", "/api/v1/keys/"
	    "01234567890123456789012345678901234567890123456789012345678901234/enc_keys", NULL, 400,
	    "slave_SAE_ID in the path is longer than 64 bytes"),
	BAD("65-byte master SAE", "GET", "/api/v1/keys/"
	    "01234567890123456789012345678901234567890123456789012345678901234/dec_keys?key_ID=" UUID1,
	    NULL, 400, "master_SAE_ID in the path is longer than 64 bytes"),
	BAD("caller is the slave (status)", "GET", "/api/v1/keys/sae_a/status", NULL, 400,
	    "slave_SAE_ID in the path is the calling SAE; keys need two SAEs"),
	BAD("caller is the slave (enc_keys)", "POST", "/api/v1/keys/sae_a/enc_keys", "{}", 400,
	    "slave_SAE_ID in the path is the calling SAE; keys need two SAEs"),
	BAD("caller is the slave, encoded", "GET", "/api/v1/keys/sae%5Fa/enc_keys", NULL, 400,
	    "slave_SAE_ID in the path is the calling SAE; keys need two SAEs"),
	BAD("caller is the master (dec_keys)", "GET", "/api/v1/keys/sae_a/dec_keys?key_ID=" UUID1, NULL,
	    400, "master_SAE_ID in the path is the calling SAE; keys need two SAEs"),

	/* --- E14-06/07: number and size in the query */
	BAD("number=0", "GET", P "/enc_keys?number=0", NULL, 400, NUMBER_MSG),
	BAD("number=-1", "GET", P "/enc_keys?number=-1", NULL, 400, NUMBER_MSG),
	BAD("number=+1", "GET", P "/enc_keys?number=+1", NULL, 400, NUMBER_MSG),
	BAD("number=abc", "GET", P "/enc_keys?number=abc", NULL, 400, NUMBER_MSG),
	BAD("number=1.5", "GET", P "/enc_keys?number=1.5", NULL, 400, NUMBER_MSG),
	BAD("number=1e3", "GET", P "/enc_keys?number=1e3", NULL, 400, NUMBER_MSG),
	BAD("number empty", "GET", P "/enc_keys?number=", NULL, 400, NUMBER_MSG),
	BAD("number without =", "GET", P "/enc_keys?number", NULL, 400, NUMBER_MSG),
	BAD("number=0x10", "GET", P "/enc_keys?number=0x10", NULL, 400, NUMBER_MSG),
	BAD("number with space", "GET", P "/enc_keys?number=%201", NULL, 400, NUMBER_MSG),
	BAD("number=1025", "GET", P "/enc_keys?number=1025", NULL, 400,
	    "number exceeds max_key_per_request (1024)"),
	BAD("number huge", "GET", P "/enc_keys?number=99999999999999999999999999999999", NULL, 400,
	    "number exceeds max_key_per_request (1024)"),
	BAD("number 2^32+1", "GET", P "/enc_keys?number=4294967297", NULL, 400,
	    "number exceeds max_key_per_request (1024)"),
	BAD("size=0", "GET", P "/enc_keys?size=0", NULL, 400, SIZE_MSG),
	BAD("size=-8", "GET", P "/enc_keys?size=-8", NULL, 400, SIZE_MSG),
	BAD("size=abc", "GET", P "/enc_keys?size=abc", NULL, 400, SIZE_MSG),
	BAD("size=256.0", "GET", P "/enc_keys?size=256.0", NULL, 400, SIZE_MSG),
	BAD("size=12", "GET", P "/enc_keys?size=12", NULL, 400, MULT8),
	BAD("size=257", "GET", P "/enc_keys?size=257", NULL, 400, MULT8),
	BAD("size=8193", "GET", P "/enc_keys?size=8193", NULL, 400, MULT8),
	BAD("size=8200", "GET", P "/enc_keys?size=8200", NULL, 400, "size exceeds max_key_size (8192)"),
	BAD("size huge", "GET", P "/enc_keys?size=99999999999999999999999999", NULL, 400,
	    "size exceeds max_key_size (8192)"),
	BAD("size 2^32+8", "GET", P "/enc_keys?size=4294967304", NULL, 400,
	    "size exceeds max_key_size (8192)"),
	BAD("size=56 (below min)", "GET", P "/enc_keys?size=56", NULL, 400, "size is below min_key_size (64)"),
	BAD("size=32 (bytes, not bits)", "GET", P "/enc_keys?size=32", NULL, 400,
	    "size is below min_key_size (64)"),
	BAD("duplicate number", "GET", P "/enc_keys?number=1&number=2", NULL, 400,
	    "duplicate query parameter number"),
	BAD("duplicate size", "GET", P "/enc_keys?size=64&size=64", NULL, 400,
	    "duplicate query parameter size"),
	BAD("unknown query parameter", "GET", P "/enc_keys?foo=1", NULL, 400,
	    "unknown query parameter 'foo' (GET enc_keys takes number and size)"),
	BAD("additional slaves in the query", "GET", P "/enc_keys?additional_slave_SAE_IDs=x", NULL, 400,
	    "unknown query parameter 'additional_slave_SAE_IDs' (GET enc_keys takes number and size)"),
	BAD("key_ID on enc_keys", "GET", P "/enc_keys?key_ID=" UUID1, NULL, 400,
	    "unknown query parameter 'key_ID' (GET enc_keys takes number and size)"),
	BAD("parameter on status", "GET", P "/status?number=1", NULL, 400,
	    "unknown query parameter 'number' (status takes none)"),
	BAD("unprintable parameter name", "GET", P "/status?%01=1", NULL, 400, "unknown query parameter"),
	BAD("bad escape in a parameter name", "GET", P "/status?%zz=1", NULL, 400,
	    "malformed percent-encoding in the query"),
	BAD("bad escape in a value", "GET", P "/enc_keys?number=1%zz", NULL, 400,
	    "query parameter number has a malformed percent-encoding"),
	BAD("GET with a JSON body", "GET", P "/enc_keys", "{\"number\":2}", 400,
	    "a GET request takes no body; use POST"),
	BAD("POST with a query", "POST", P "/enc_keys?number=2", "{}", 400,
	    "a POST request takes its parameters in the JSON body, not in the query"),

	/* --- E14-06/07 in JSON */
	BAD("JSON number 0", "POST", P "/enc_keys", "{\"number\":0}", 400, NUMBER_MSG),
	BAD("JSON number -3", "POST", P "/enc_keys", "{\"number\":-3}", 400, NUMBER_MSG),
	BAD("JSON number as string", "POST", P "/enc_keys", "{\"number\":\"3\"}", 400, NUMBER_MSG),
	BAD("JSON number as real", "POST", P "/enc_keys", "{\"number\":3.0}", 400, NUMBER_MSG),
	BAD("JSON number as bool", "POST", P "/enc_keys", "{\"number\":true}", 400, NUMBER_MSG),
	BAD("JSON number as array", "POST", P "/enc_keys", "{\"number\":[3]}", 400, NUMBER_MSG),
	BAD("JSON number 1025", "POST", P "/enc_keys", "{\"number\":1025}", 400,
	    "number exceeds max_key_per_request (1024)"),
	BAD("JSON number 2^62", "POST", P "/enc_keys", "{\"number\":4611686018427387904}", 400,
	    "number exceeds max_key_per_request (1024)"),
	BAD("JSON number beyond int64", "POST", P "/enc_keys", "{\"number\":99999999999999999999}", 400,
	    "malformed JSON body: too big integer near '99999999999999999999'"),
	BAD("JSON number huge negative", "POST", P "/enc_keys", "{\"number\":-99999999999999999999}", 400,
	    "malformed JSON body: too big negative integer"),
	BAD("JSON number 1e400", "POST", P "/enc_keys", "{\"number\":1e400}", 400,
	    "malformed JSON body: real number overflow near '1e400'"),
	BAD("JSON size 0", "POST", P "/enc_keys", "{\"size\":0}", 400, SIZE_MSG),
	BAD("JSON size -256", "POST", P "/enc_keys", "{\"size\":-256}", 400, SIZE_MSG),
	BAD("JSON size as string", "POST", P "/enc_keys", "{\"size\":\"256\"}", 400, SIZE_MSG),
	BAD("JSON size as real", "POST", P "/enc_keys", "{\"size\":256.5}", 400, SIZE_MSG),
	BAD("JSON size as object", "POST", P "/enc_keys", "{\"size\":{}}", 400, SIZE_MSG),
	BAD("JSON size 12", "POST", P "/enc_keys", "{\"size\":12}", 400, MULT8),
	BAD("JSON size 100", "POST", P "/enc_keys", "{\"number\":1,\"size\":100}", 400, MULT8),
	BAD("JSON size 8200", "POST", P "/enc_keys", "{\"size\":8200}", 400, "size exceeds max_key_size (8192)"),
	BAD("JSON size 2^40", "POST", P "/enc_keys", "{\"size\":1099511627776}", 400,
	    "size exceeds max_key_size (8192)"),
	BAD("JSON size 32", "POST", P "/enc_keys", "{\"size\":32}", 400, "size is below min_key_size (64)"),

	/* --- malformed bodies */
	BAD("truncated JSON", "POST", P "/enc_keys", "{", 400,
	    "malformed JSON body: string or '}' expected near end of file"),
	BAD("trailing garbage", "POST", P "/enc_keys", "{} x", 400,
	    "malformed JSON body: end of file expected near 'x'"),
	BAD("not JSON", "POST", P "/enc_keys", "number=3", 400,
	    "malformed JSON body: invalid token near 'number'"),
	BAD("JSON array body", "POST", P "/enc_keys", "[]", 400, "the request body must be a JSON object"),
	BAD("JSON number body", "POST", P "/enc_keys", "3", 400, "the request body must be a JSON object"),
	BAD("JSON string body", "POST", P "/enc_keys", "\"x\"", 400, "the request body must be a JSON object"),
	BAD("JSON null body", "POST", P "/enc_keys", "null", 400, "the request body must be a JSON object"),
	BAD("duplicate member", "POST", P "/enc_keys", "{\"number\":1,\"number\":2}", 400,
	    "malformed JSON body: duplicate object key near '\"number\"'"),
	BAD("invalid UTF-8", "POST", P "/enc_keys", "{\"x\":\"\xff\"}", 400,
	    "malformed JSON body: unable to decode byte 0xff near '\"'"),
	BAD("NUL escape in a string", "POST", PD, "{\"key_IDs\":[{\"key_ID\":\"\\u0000\"}]}", 400,
	    "malformed JSON body: \\u0000 is not allowed without JSON_ALLOW_NUL near '\"\\u0000\"'"),

	/* --- E14-13: extensions */
	BAD("unsupported extension_mandatory", "POST", P "/enc_keys",
	    "{\"extension_mandatory\":[{\"abc_route_type\":\"direct\"}]}", 400, EXT_MAND),
	BAD("unsupported extension_mandatory after an empty one", "POST", P "/enc_keys",
	    "{\"extension_mandatory\":[{},{\"abc_max_age\":{\"s\":1}}]}", 400, EXT_MAND),
	BAD("extension_mandatory not an array", "POST", P "/enc_keys",
	    "{\"extension_mandatory\":{\"abc_route_type\":\"direct\"}}", 400,
	    "extension_mandatory must be an array of objects"),
	BAD("extension_mandatory of strings", "POST", P "/enc_keys",
	    "{\"extension_mandatory\":[\"abc_route_type\"]}", 400,
	    "extension_mandatory must be an array of objects"),
	BAD("extension_optional not an array", "POST", P "/enc_keys", "{\"extension_optional\":1}", 400,
	    "extension_optional must be an array of objects"),

	/* --- E14-14: additional_slave_SAE_IDs (max_SAE_ID_count is 0) */
	BAD("additional slaves: one", "POST", P "/enc_keys",
	    "{\"additional_slave_SAE_IDs\":[\"sae_x\"]}", 400,
	    "additional_slave_SAE_IDs lists 1 SAE(s) but max_SAE_ID_count is 0 (no key multicast)"),
	BAD("additional slaves: two", "POST", P "/enc_keys",
	    "{\"additional_slave_SAE_IDs\":[\"sae_x\",\"sae_y\"]}", 400,
	    "additional_slave_SAE_IDs lists 2 SAE(s) but max_SAE_ID_count is 0 (no key multicast)"),
	BAD("additional slaves: empty string", "POST", P "/enc_keys",
	    "{\"additional_slave_SAE_IDs\":[\"\"]}", 400, ADD_BAD),
	BAD("additional slaves: blank", "POST", P "/enc_keys",
	    "{\"additional_slave_SAE_IDs\":[\" \"]}", 400, ADD_BAD),
	BAD("additional slaves: duplicates", "POST", P "/enc_keys",
	    "{\"additional_slave_SAE_IDs\":[\"sae_x\",\"sae_x\"]}", 400,
	    "additional_slave_SAE_IDs contains a duplicate SAE ID"),
	BAD("additional slaves: the slave", "POST", P "/enc_keys",
	    "{\"additional_slave_SAE_IDs\":[\"sae_b\"]}", 400, ADD_SELF),
	BAD("additional slaves: the master", "POST", P "/enc_keys",
	    "{\"additional_slave_SAE_IDs\":[\"sae_a\"]}", 400, ADD_SELF),
	BAD("additional slaves: not an array", "POST", P "/enc_keys",
	    "{\"additional_slave_SAE_IDs\":\"sae_x\"}", 400, ADD_TYPE),
	BAD("additional slaves: numbers", "POST", P "/enc_keys",
	    "{\"additional_slave_SAE_IDs\":[1]}", 400, ADD_TYPE),

	/* --- E14-09/11: key IDs */
	BAD("GET dec_keys without key_ID", "GET", PD, NULL, 400,
	    "GET dec_keys needs a key_ID query parameter (or POST key_IDs)"),
	BAD("GET dec_keys with key_IDs", "GET", PD "?key_IDs=" UUID1, NULL, 400,
	    "unknown query parameter 'key_IDs' (GET dec_keys takes key_ID)"),
	BAD("GET dec_keys, two key_IDs", "GET", PD "?key_ID=" UUID1 "&key_ID=" UUID2, NULL, 400,
	    "duplicate query parameter key_ID"),
	BAD("GET dec_keys, not a UUID", "GET", PD "?key_ID=zzz", NULL, 400, NOTFOUND),
	BAD("GET dec_keys, empty key_ID", "GET", PD "?key_ID=", NULL, 400, NOTFOUND),
	BAD("GET dec_keys, UUID without dashes", "GET", PD "?key_ID=550e8400e29b41d4a716446655440000",
	    NULL, 400, NOTFOUND),
	BAD("GET dec_keys, UUID in braces", "GET", PD "?key_ID=%7B" UUID1 "%7D", NULL, 400, NOTFOUND),
	BAD("GET dec_keys, UUID plus junk", "GET", PD "?key_ID=" UUID1 "0", NULL, 400, NOTFOUND),
	BAD("GET dec_keys, number", "GET", PD "?number=1", NULL, 400,
	    "unknown query parameter 'number' (GET dec_keys takes key_ID)"),
	BAD("POST dec_keys, empty body", "POST", PD, NULL, 400, "key_IDs is required"),
	BAD("POST dec_keys, {}", "POST", PD, "{}", 400, "key_IDs is required"),
	BAD("POST dec_keys, empty list", "POST", PD, "{\"key_IDs\":[]}", 400, "key_IDs must not be empty"),
	BAD("POST dec_keys, key_IDs a string", "POST", PD, "{\"key_IDs\":\"" UUID1 "\"}", 400,
	    "key_IDs must be an array of objects"),
	BAD("POST dec_keys, list of strings", "POST", PD, "{\"key_IDs\":[\"" UUID1 "\"]}", 400,
	    "key_IDs must be an array of objects"),
	BAD("POST dec_keys, entry without key_ID", "POST", PD, "{\"key_IDs\":[{}]}", 400, MISSING_ID),
	BAD("POST dec_keys, key_ID a number", "POST", PD, "{\"key_IDs\":[{\"key_ID\":5}]}", 400, MISSING_ID),
	BAD("POST dec_keys, key_ID null", "POST", PD, "{\"key_IDs\":[{\"key_ID\":null}]}", 400, MISSING_ID),
	BAD("POST dec_keys, wrong member name", "POST", PD, "{\"key_IDs\":[{\"key_id\":\"" UUID1 "\"}]}",
	    400, MISSING_ID),
	BAD("POST dec_keys, not a UUID", "POST", PD, "{\"key_IDs\":[{\"key_ID\":\"nope\"}]}", 400, NOTFOUND),
	BAD("POST dec_keys, one good one bad", "POST", PD,
	    "{\"key_IDs\":[{\"key_ID\":\"" UUID1 "\"},{\"key_ID\":\"" UUID1 "x\"}]}", 400, NOTFOUND),
	BAD("POST dec_keys, duplicate", "POST", PD,
	    "{\"key_IDs\":[{\"key_ID\":\"" UUID1 "\"},{\"key_ID\":\"550E8400-E29B-41D4-A716-446655440000\"}]}",
	    400, "key_IDs names the same key_ID twice"),
};

/* Returns true when the case holds; prints why not. */
static bool check_case(const struct req_case *c, const struct etsi_limits *lim)
{
	struct etsi_http_in in = {
		.method = c->method, .target = c->target, .body = (const uint8_t *)c->body,
		.body_len = c->body ? strlen(c->body) : 0,
	};
	struct etsi_request r;
	struct etsi_error err = { 0 };
	int rc;

	memset(&r, 0xa5, sizeof(r));
	rc = etsi_request_parse(&in, CALLER, lim, &r, &err);
	if (c->status == 200) {
		bool ok;

		if (rc != 0) {
			print_error("%s: expected to parse, got %u '%s'\n", c->name, err.status, err.msg);
			return false;
		}
		ok = r.op == c->op && strcmp(r.sae, c->sae) == 0 &&
		     (c->op != ETSI_OP_ENC_KEYS || (r.number == c->number && r.size == c->size)) &&
		     (c->op == ETSI_OP_DEC_KEYS ? r.n_ids == c->n_ids && r.ids
		                                : r.n_ids == 0 && !r.ids);
		if (!ok)
			print_error("%s: parsed as op %d sae '%s' number %u size %u ids %zu\n", c->name,
			            (int)r.op, r.sae, r.number, r.size, r.n_ids);
		etsi_request_free(&r);
		return ok;
	}
	if (rc != -EINVAL || err.status != c->status || strcmp(err.msg, c->msg) != 0) {
		print_error("%s: expected %u '%s', got rc %d: %u '%s'\n", c->name, c->status, c->msg,
		            rc, err.status, err.msg);
		return false;
	}
	if (r.op != (enum etsi_op)0xa5a5a5a5) {     /* *ret untouched on failure */
		print_error("%s: *ret was written on failure\n", c->name);
		return false;
	}
	return true;
}

static void run_case(const struct req_case *c, const struct etsi_limits *lim)
{
	assert_true(check_case(c, lim));
}

static void test_table(void **state)
{
	size_t failed = 0;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		failed += !check_case(&cases[i], NULL);
	if (failed)
		fail_msg("%zu of %zu cases failed", failed, sizeof(cases) / sizeof(cases[0]));
}

static void test_key_id_bytes(void **state)
{
	static const uint8_t want1[16] = { 0x55, 0x0e, 0x84, 0x00, 0xe2, 0x9b, 0x41, 0xd4,
	                                   0xa7, 0x16, 0x44, 0x66, 0x55, 0x44, 0x00, 0x00 };
	static const uint8_t want2[16] = { 0x6b, 0xa7, 0xb8, 0x10, 0x9d, 0xad, 0x11, 0xd1,
	                                   0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4, 0x30, 0xc8 };
	const char *body = "{\"key_IDs\":[{\"key_ID\":\"" UUID2 "\"},{\"key_ID\":\"" UUID1 "\"}]}";
	struct etsi_http_in in = { .method = "POST", .target = PD, .body = (const uint8_t *)body,
	                           .body_len = strlen(body) };
	struct etsi_request r;
	struct etsi_error err;

	assert_int_equal(etsi_request_parse(&in, CALLER, NULL, &r, &err), 0);
	assert_int_equal(r.n_ids, 2);
	assert_memory_equal(r.ids[0], want2, 16);    /* request order kept */
	assert_memory_equal(r.ids[1], want1, 16);
	etsi_request_free(&r);
	assert_null(r.ids);
	etsi_request_free(NULL);

	in = (struct etsi_http_in){ .method = "GET",
	                            .target = PD "?key_ID=550E8400-E29B-41D4-A716-446655440000" };
	assert_int_equal(etsi_request_parse(&in, CALLER, NULL, &r, &err), 0);
	assert_int_equal(r.n_ids, 1);
	assert_memory_equal(r.ids[0], want1, 16);
	etsi_request_free(&r);
}

/* Configured limits replace the defaults in every check and message. */
static void test_limits(void **state)
{
	const struct etsi_limits lim = { .default_key_size = 128, .min_key_size = 128,
	                                 .max_key_size = 512, .max_keys_per_request = 10 };
	static const struct req_case lc[] = {
		OK_ENC("at max", "GET", P "/enc_keys?number=10&size=512", NULL, 10, 512),
		OK_ENC("at min", "POST", P "/enc_keys", "{\"size\":128}", 1, 128),
		BAD("number 11", "GET", P "/enc_keys?number=11", NULL, 400,
		    "number exceeds max_key_per_request (10)"),
		BAD("size 520", "POST", P "/enc_keys", "{\"size\":520}", 400, "size exceeds max_key_size (512)"),
		BAD("size 120", "GET", P "/enc_keys?size=120", NULL, 400, "size is below min_key_size (128)"),
		BAD("size 130", "GET", P "/enc_keys?size=130", NULL, 400, MULT8),
	};
	struct etsi_limits r;
	char body[4096];
	size_t o;

	for (size_t i = 0; i < sizeof(lc) / sizeof(lc[0]); i++)
		run_case(&lc[i], &lim);
	/* 11 key IDs > max_keys_per_request 10 */
	o = (size_t)snprintf(body, sizeof(body), "{\"key_IDs\":[");
	for (int i = 0; i < 11; i++)
		o += (size_t)snprintf(body + o, sizeof(body) - o, "%s{\"key_ID\":\"%08x-e29b-41d4-a716-446655440000\"}",
		                      i ? "," : "", i);
	snprintf(body + o, sizeof(body) - o, "]}");
	{
		const struct req_case c = BAD("11 key IDs", "POST", PD, body, 400,
		                              "key_IDs has 11 entries, max_key_per_request is 10");
		run_case(&c, &lim);
	}
	etsi_limits_resolve(NULL, &r);
	assert_int_equal(r.default_key_size, 256);
	assert_int_equal(r.min_key_size, 64);
	assert_int_equal(r.max_key_size, 8192);
	assert_int_equal(r.max_keys_per_request, 1024);
	etsi_limits_resolve(&lim, &r);
	assert_int_equal(r.max_key_size, 512);
}

/* Over-long targets (414) and bodies (413); 1025 key IDs at the default limit. */
static void test_sizes(void **state)
{
	size_t big = ETSI_BODY_MAX + 1, o;
	char *body = malloc(big + 1), *target = malloc(ETSI_TARGET_MAX + 2);
	struct etsi_http_in in = { .method = "POST", .target = P "/enc_keys" };
	struct etsi_request r;
	struct etsi_error err;

	assert_non_null(body);
	assert_non_null(target);
	memset(body, ' ', big);
	body[0] = '{';
	body[big - 1] = '}';
	body[big] = '\0';
	in.body = (const uint8_t *)body;
	in.body_len = big;
	assert_int_equal(etsi_request_parse(&in, CALLER, NULL, &r, &err), -EINVAL);
	assert_int_equal(err.status, 413);
	assert_string_equal(err.msg, "request body larger than 262144 bytes");
	in.body_len = ETSI_BODY_MAX;           /* at the limit: fine */
	body[ETSI_BODY_MAX - 1] = '}';
	assert_int_equal(etsi_request_parse(&in, CALLER, NULL, &r, &err), 0);
	etsi_request_free(&r);

	/* 2048 bytes of target is accepted (and fails for its junk), 2049 is 414 */
	memset(target, 'a', ETSI_TARGET_MAX + 1);
	memcpy(target, P "/enc_keys?x=", strlen(P "/enc_keys?x="));
	target[ETSI_TARGET_MAX] = '\0';
	in = (struct etsi_http_in){ .method = "GET", .target = target };
	assert_int_equal(etsi_request_parse(&in, CALLER, NULL, &r, &err), -EINVAL);
	assert_int_equal(err.status, 400);
	target[ETSI_TARGET_MAX] = 'a';
	target[ETSI_TARGET_MAX + 1] = '\0';
	assert_int_equal(etsi_request_parse(&in, CALLER, NULL, &r, &err), -EINVAL);
	assert_int_equal(err.status, 414);
	assert_string_equal(err.msg, "request target longer than 2048 bytes");

	/* 1025 key IDs */
	o = (size_t)snprintf(body, big, "{\"key_IDs\":[");
	for (int i = 0; i < 1025; i++)
		o += (size_t)snprintf(body + o, big - o, "%s{\"key_ID\":\"%08x-e29b-41d4-a716-446655440000\"}",
		                      i ? "," : "", i);
	snprintf(body + o, big - o, "]}");
	in = (struct etsi_http_in){ .method = "POST", .target = PD, .body = (const uint8_t *)body,
	                            .body_len = strlen(body) };
	assert_int_equal(etsi_request_parse(&in, CALLER, NULL, &r, &err), -EINVAL);
	assert_int_equal(err.status, 400);
	assert_string_equal(err.msg, "key_IDs has 1025 entries, max_key_per_request is 1024");
	free(body);
	free(target);
}

static void test_percent_decode(void **state)
{
	char out[8];

	assert_int_equal(etsi_percent_decode("a%41b", 5, out, sizeof(out)), 0);
	assert_string_equal(out, "aAb");
	assert_int_equal(etsi_percent_decode("%7e%7E", 6, out, sizeof(out)), 0);
	assert_string_equal(out, "~~");
	assert_int_equal(etsi_percent_decode("a+b", 3, out, sizeof(out)), 0);
	assert_string_equal(out, "a+b");
	assert_int_equal(etsi_percent_decode("", 0, out, sizeof(out)), 0);
	assert_string_equal(out, "");
	assert_int_equal(etsi_percent_decode("1234567", 7, out, sizeof(out)), 0);
	assert_int_equal(etsi_percent_decode("12345678", 8, out, sizeof(out)), -E2BIG);
	assert_int_equal(etsi_percent_decode("%41%41%41%41%41%41%41%41", 24, out, sizeof(out)), -E2BIG);
	assert_int_equal(etsi_percent_decode("%4", 2, out, sizeof(out)), -EINVAL);
	assert_int_equal(etsi_percent_decode("%", 1, out, sizeof(out)), -EINVAL);
	assert_int_equal(etsi_percent_decode("%g1", 3, out, sizeof(out)), -EINVAL);
	assert_int_equal(etsi_percent_decode("%00", 3, out, sizeof(out)), -EINVAL);
	/* the length bounds the input: "%41" cut after 2 bytes is a truncated escape */
	assert_int_equal(etsi_percent_decode("%41", 2, out, sizeof(out)), -EINVAL);
	assert_int_equal(etsi_percent_decode("ab", 2, out, 0), -E2BIG);
}

static void test_error_set(void **state)
{
	struct etsi_error err = { .allow = "GET" };

	assert_int_equal(etsi_error_set(&err, 400, "x%sy", "\x01\xff\n"), -EINVAL);
	assert_int_equal(err.status, 400);
	assert_string_equal(err.msg, "x???y");
	assert_null(err.allow);
}

static void test_method_allow(void **state)
{
	struct etsi_http_in in = { .method = "PUT", .target = P "/enc_keys" };
	struct etsi_request r;
	struct etsi_error err;

	assert_int_equal(etsi_request_parse(&in, CALLER, NULL, &r, &err), -EINVAL);
	assert_string_equal(err.allow, "GET, POST");
	in.target = P "/status";
	assert_int_equal(etsi_request_parse(&in, CALLER, NULL, &r, &err), -EINVAL);
	assert_string_equal(err.allow, "GET");
	in.method = "P\x01T";
	assert_int_equal(etsi_request_parse(&in, CALLER, NULL, &r, &err), -EINVAL);
	assert_string_equal(err.msg, "method (unprintable) is not allowed here; use GET");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_key_id_bytes),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_sizes),
		cmocka_unit_test(test_percent_decode),
		cmocka_unit_test(test_error_set),
		cmocka_unit_test(test_method_allow),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
