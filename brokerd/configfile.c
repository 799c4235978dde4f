#include "brokerd/configfile.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <yajl/yajl_parse.h>

/* ---- Parsing ------------------------------------------------------------- */

/* The first pass only validates (and bounds the nesting): yajl's tree parser
 * does not say where an error is, this pass does. */
struct configfile_scan {
	int depth;
};

static int
configfile_open(void *ctx)
{
	struct configfile_scan *s = ctx;

	return ++s->depth <= CONFIGFILE_DEPTH_MAX;
}

static int
configfile_close(void *ctx)
{
	struct configfile_scan *s = ctx;

	s->depth--;
	return 1;
}

static const yajl_callbacks configfile_scan_callbacks = {
	.yajl_start_map = configfile_open,
	.yajl_end_map = configfile_close,
	.yajl_start_array = configfile_open,
	.yajl_end_array = configfile_close,
};

/* Line and column (from 1; the column counts UTF-8 characters) of byte pos. */
static void
configfile_position(const char *text, size_t pos, size_t *line, size_t *col)
{
	*line = 1;
	*col = 1;
	for (size_t i = 0; i < pos; i++) {
		if (text[i] == '\n') {
			(*line)++;
			*col = 1;
		} else if (((unsigned char)text[i] & 0xc0) != 0x80) {
			(*col)++;
		}
	}
}

/* What lies before byte pos, skipping white space, comments and strings the
 * way yajl reads them: the last significant byte's index (SIZE_MAX if none) and
 * the innermost open bracket ('{', '[' or 0). */
struct configfile_context {
	size_t prev;
	char container;
};

static struct configfile_context
configfile_context(const char *text, size_t pos)
{
	struct configfile_context c = { SIZE_MAX, 0 };
	char stack[CONFIGFILE_DEPTH_MAX + 2];
	size_t depth = 0, i = 0;

	while (i < pos) {
		char ch = text[i];

		if (ch == '/' && i + 1 < pos && text[i + 1] == '/') {
			while (i < pos && text[i] != '\n')
				i++;
			continue;
		}
		if (ch == '/' && i + 1 < pos && text[i + 1] == '*') {
			for (i += 2; i < pos && !(text[i] == '*' && i + 1 < pos && text[i + 1] == '/');
			    i++)
				;
			i += 2;
			continue;
		}
		if (isspace((unsigned char)ch)) {
			i++;
			continue;
		}
		c.prev = i;
		if (ch == '"') {
			for (i++; i < pos && text[i] != '"'; i++)
				if (text[i] == '\\')
					i++;
		} else if ((ch == '{' || ch == '[') && depth < sizeof(stack)) {
			stack[depth++] = ch;
		} else if ((ch == '}' || ch == ']') && depth > 0) {
			depth--;
		}
		i++;
	}
	c.container = depth > 0 ? stack[depth - 1] : 0;
	return c;
}

static int
configfile_word_char(char ch)
{
	return isalnum((unsigned char)ch) || ch == '_' || ch == '$';
}

/* Writes "LINE:COL: message" for the error at byte at. */
static void __attribute__((format(printf, 5, 6)))
configfile_error(char *err, size_t errsz, const char *text, size_t at, const char *fmt, ...)
{
	size_t line, col;
	int n;
	va_list ap;

	configfile_position(text, at, &line, &col);
	n = snprintf(err, errsz, "%zu:%zu: ", line, col);
	if (n < 0 || (size_t)n >= errsz)
		return;
	va_start(ap, fmt);
	vsnprintf(err + n, errsz - (size_t)n, fmt, ap);
	va_end(ap);
}

#define CONFIGFILE_SYNTAX "clawgate reads JSON with // and /* */ comments, no other JSON5"

/* A word where yajl expected a value or a key: an unquoted key, a bare word, or
 * JSON5 number syntax. start..end is the word. */
static void
configfile_word_error(char *err, size_t errsz, const char *text, size_t start, size_t end)
{
	struct configfile_context c = configfile_context(text, start);
	int len = (int)(end - start > 64 ? 64 : end - start);
	const char *w = text + start;

	if (isdigit((unsigned char)w[0]))
		configfile_error(err, errsz, text, start, "%.*s is not a JSON number (hexadecimal "
		    "is JSON5): write it in decimal (%s)", len, w, CONFIGFILE_SYNTAX);
	else if (c.container == '{' && c.prev != SIZE_MAX &&
	    (text[c.prev] == '{' || text[c.prev] == ','))
		configfile_error(err, errsz, text, start, "the key %.*s is not in double quotes "
		    "(a JSON5 unquoted key): write \"%.*s\" (%s)", len, w, len, w,
		    CONFIGFILE_SYNTAX);
	else if ((len == 8 && memcmp(w, "Infinity", 8) == 0) || (len == 3 &&
	    memcmp(w, "NaN", 3) == 0))
		configfile_error(err, errsz, text, start, "%.*s is JSON5, not JSON: write a number "
		    "(%s)", len, w, CONFIGFILE_SYNTAX);
	else
		configfile_error(err, errsz, text, start, "%.*s is not a JSON value: put text in "
		    "double quotes (\"%.*s\"); the other words JSON has are true, false and null",
		    len, w, len, w);
}

static int
configfile_number_char(char ch)
{
	return isdigit((unsigned char)ch) || ch == '.' || ch == 'e' || ch == 'E' || ch == '+' ||
	    ch == '-';
}

/*
 * Explains the error yajl found after reading off bytes, with its message msg
 * (without the "lexical error: " or "parse error: " prefix). yajl has just read
 * the offending byte, except for a control character in a string, where it
 * stops before it.
 */
static void
configfile_explain(char *err, size_t errsz, const char *text, size_t len, size_t off,
    const char *msg, int lexical)
{
	size_t pos = off > 0 ? off - 1 : 0, start, end;
	int bad_token = lexical && (strstr(msg, "invalid char in json text") != NULL ||
	    strstr(msg, "invalid string in json text") != NULL);
	struct configfile_context c;
	char ch;

	if (strstr(msg, "invalid character inside string") != NULL) {
		configfile_error(err, errsz, text, off < len ? off : pos, "a control character "
		    "(a line break, a tab, ...) inside a string: keep a string on one line and "
		    "write such characters as \\n or \\t");
		return;
	}
	c = configfile_context(text, pos);
	ch = text[pos];
	if ((ch == '}' || ch == ']') && c.prev != SIZE_MAX && text[c.prev] == ',') {
		configfile_error(err, errsz, text, c.prev, "a comma before '%c' (a JSON5 trailing "
		    "comma): delete this comma (%s)", ch, CONFIGFILE_SYNTAX);
		return;
	}
	if (bad_token && (ch == '+' || ch == '.')) {
		configfile_error(err, errsz, text, pos, "a number with a leading '%c' (JSON5): "
		    "write a plain decimal number such as 18789 or 0.5 (%s)", ch, CONFIGFILE_SYNTAX);
		return;
	}
	if (strstr(msg, "malformed number") != NULL) {
		for (start = pos; start > 0 && configfile_number_char(text[start - 1]); start--)
			;
		configfile_error(err, errsz, text, start, "%s: write a plain decimal number such "
		    "as 18789 or 0.5 (%s)", msg, CONFIGFILE_SYNTAX);
		return;
	}
	if (strstr(msg, "trailing garbage") != NULL) {
		configfile_error(err, errsz, text, pos, "text after the end of the top-level "
		    "object: the file holds one JSON object; delete what follows it or merge it in");
		return;
	}
	if (strstr(msg, "invalid bytes in UTF8 string") != NULL) {
		configfile_error(err, errsz, text, pos, "bytes that are not UTF-8: save the file "
		    "as UTF-8");
		return;
	}
	if (strstr(msg, "inside a string, '\\' occurs before") != NULL) {
		configfile_error(err, errsz, text, pos, "a backslash escape JSON does not have: "
		    "use \\\\, \\\", \\/, \\b, \\f, \\n, \\r, \\t or \\uXXXX");
		return;
	}
	if (bad_token || (!lexical && strstr(msg, "invalid object key") != NULL)) {
		if (ch == '\'') {
			configfile_error(err, errsz, text, pos, "a single-quoted string (JSON5): use "
			    "double quotes (%s)", CONFIGFILE_SYNTAX);
			return;
		}
		if (configfile_word_char(ch)) {
			for (start = pos; start > 0 && configfile_word_char(text[start - 1]); start--)
				;
			for (end = pos; end < len && configfile_word_char(text[end]); end++)
				;
			configfile_word_error(err, errsz, text, start, end);
			return;
		}
	}
	configfile_error(err, errsz, text, pos, "%s: fix the JSON here (%s)", msg,
	    CONFIGFILE_SYNTAX);
}

/* The file ended inside a value, or holds no value at all. */
static void
configfile_premature_end(char *err, size_t errsz, const char *text, size_t len)
{
	if (configfile_context(text, len).prev == SIZE_MAX)
		configfile_error(err, errsz, text, len, "the file holds no JSON: write {} into it "
		    "(or an object with a \"gateway\" section), or delete it");
	else
		configfile_error(err, errsz, text, len, "the file ends inside an object, array, "
		    "string or comment: add the missing closing '}', ']', '\"' or '*/'");
}

/* yajl's message for the error h stopped at, explained. */
static void
configfile_yajl_error(yajl_handle h, char *err, size_t errsz, const char *text, size_t len)
{
	unsigned char *raw = yajl_get_error(h, 0, (const unsigned char *)text, len);
	char msg[160], *m = raw != NULL ? (char *)raw : "invalid JSON";
	int lexical = strncmp(m, "lexical error: ", 15) == 0;

	/* "lexical error: invalid char in json text.\n" */
	if (lexical)
		m += 15;
	else if (strncmp(m, "parse error: ", 13) == 0)
		m += 13;
	snprintf(msg, sizeof(msg), "%.*s", (int)strcspn(m, ".\n"), m);
	if (raw != NULL)
		yajl_free_error(h, raw);
	configfile_explain(err, errsz, text, len, yajl_get_bytes_consumed(h), msg, lexical);
}

yajl_val
configfile_parse(const char *text, size_t len, char *err, size_t errsz)
{
	struct configfile_scan scan = { 0 };
	yajl_handle h = yajl_alloc(&configfile_scan_callbacks, NULL, &scan);
	yajl_status st;
	size_t pos;
	yajl_val root;

	if (h == NULL) {
		snprintf(err, errsz, "out of memory");
		return NULL;
	}
	yajl_config(h, yajl_allow_comments, 1);
	st = yajl_parse(h, (const unsigned char *)text, len);
	if (st == yajl_status_ok) {
		st = yajl_complete_parse(h);
		if (st == yajl_status_error) {
			yajl_free(h);
			configfile_premature_end(err, errsz, text, len);
			return NULL;
		}
	}
	if (st != yajl_status_ok) {
		pos = yajl_get_bytes_consumed(h);
		if (st == yajl_status_client_canceled) {
			configfile_error(err, errsz, text, pos > 0 ? pos - 1 : 0, "objects and arrays "
			    "nested more than %d deep: flatten the file", CONFIGFILE_DEPTH_MAX);
		} else if (pos > len) {
			configfile_premature_end(err, errsz, text, len);
		} else {
			configfile_yajl_error(h, err, errsz, text, len);
		}
		yajl_free(h);
		return NULL;
	}
	yajl_free(h);
	/* Valid by now; the tree parser reads to the NUL, which the first pass
	 * has shown is the end (a NUL inside would have been an error there). */
	if ((root = yajl_tree_parse(text, err, errsz)) == NULL)
		err[strcspn(err, "\n")] = '\0';
	return root;
}

/* ---- Key names ----------------------------------------------------------- */

/*
 * The keys of each object clawgate reads. Keys marked ignored are OpenClaw's
 * (its gateway schema) and have no effect in clawgate; anything else is a
 * misspelling or a key of neither. Objects clawgate does not read (remote,
 * http, auth.rateLimit, ...) are not looked into.
 */
struct configfile_key {
	const char *name;
	const struct configfile_key *sub;	/* an object whose keys are checked too */
	int ignored;
};

#define CF_READ(n) { n, NULL, 0 }
#define CF_OBJECT(n, keys) { n, keys, 0 }
#define CF_IGNORED(n) { n, NULL, 1 }
#define CF_END { NULL, NULL, 0 }

static const struct configfile_key configfile_pairing[] = {
	CF_READ("autoApproveLocal"),
	CF_IGNORED("autoApproveCidrs"), CF_IGNORED("sshVerify"),
	CF_END,
};

static const struct configfile_key configfile_nodes[] = {
	CF_OBJECT("pairing", configfile_pairing),
	CF_IGNORED("browser"), CF_IGNORED("pluginTools"), CF_IGNORED("allowSkills"),
	CF_IGNORED("commands"), CF_IGNORED("skills"), CF_IGNORED("allowCommands"),
	CF_IGNORED("denyCommands"),
	CF_END,
};

static const struct configfile_key configfile_auth[] = {
	CF_READ("mode"), CF_READ("token"), CF_READ("password"),
	CF_IGNORED("rateLimit"), CF_IGNORED("trustedProxy"), CF_IGNORED("allowTailscale"),
	CF_IGNORED("identityScopes"),
	CF_END,
};

static const struct configfile_key configfile_tls[] = {
	CF_READ("enabled"), CF_READ("certPath"), CF_READ("keyPath"), CF_READ("autoGenerate"),
	CF_IGNORED("caPath"),
	CF_END,
};

static const struct configfile_key configfile_control_ui[] = {
	CF_READ("allowedOrigins"), CF_READ("dangerouslyAllowHostHeaderOriginFallback"),
	CF_READ("root"),
	CF_IGNORED("enabled"), CF_IGNORED("basePath"), CF_IGNORED("allowInsecureAuth"),
	CF_IGNORED("dangerouslyDisableDeviceAuth"), CF_IGNORED("experimental"),
	CF_IGNORED("environment"), CF_IGNORED("communityInvite"), CF_IGNORED("github"),
	CF_IGNORED("sessionObserver"), CF_IGNORED("embedSandbox"),
	CF_IGNORED("allowExternalEmbedUrls"), CF_IGNORED("automaticallyFetchFavicons"),
	CF_IGNORED("chatMessageMaxWidth"),
	CF_END,
};

static const struct configfile_key configfile_gateway[] = {
	CF_READ("port"), CF_READ("bind"), CF_READ("customBindHost"),
	CF_READ("trustedProxies"), CF_READ("allowRealIpFallback"),
	CF_OBJECT("auth", configfile_auth), CF_OBJECT("tls", configfile_tls),
	CF_OBJECT("controlUi", configfile_control_ui), CF_OBJECT("nodes", configfile_nodes),
	CF_IGNORED("mode"), CF_IGNORED("remote"), CF_IGNORED("publicOrigin"),
	CF_IGNORED("portals"), CF_IGNORED("cliAgents"), CF_IGNORED("terminal"),
	CF_IGNORED("roles"), CF_IGNORED("tools"), CF_IGNORED("tailscale"),
	CF_IGNORED("reload"), CF_IGNORED("http"), CF_IGNORED("push"),
	CF_END,
};

static const struct configfile_key configfile_relay[] = {
	CF_READ("upstream"), CF_READ("userHeader"), CF_READ("user"),
	CF_READ("requiredHeaders"), CF_READ("clientIpPlaceholder"), CF_READ("guard"),
	CF_END,
};

/* clawgate's own keys, beside OpenClaw's gateway section. */
static const struct configfile_key configfile_clawgate_pairing[] = {
	CF_READ("decisions"),
	CF_END,
};

static const struct configfile_key configfile_clawgate[] = {
	CF_READ("gatewayctl"),
	CF_OBJECT("pairing", configfile_clawgate_pairing),
	CF_OBJECT("relay", configfile_relay),
	CF_END,
};

static const struct configfile_key configfile_top[] = {
	CF_OBJECT("gateway", configfile_gateway),
	CF_OBJECT("clawgate", configfile_clawgate),
	CF_END,
};

#define CONFIGFILE_NAME_MAX 64

/* Edit distance (insertions, deletions, substitutions, adjacent swaps) between
 * a and b ignoring ASCII case; SIZE_MAX if either is longer than
 * CONFIGFILE_NAME_MAX bytes. */
static size_t
configfile_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	size_t d[CONFIGFILE_NAME_MAX + 1][CONFIGFILE_NAME_MAX + 1];

	if (la > CONFIGFILE_NAME_MAX || lb > CONFIGFILE_NAME_MAX)
		return SIZE_MAX;
	for (size_t i = 0; i <= la; i++)
		d[i][0] = i;
	for (size_t j = 0; j <= lb; j++)
		d[0][j] = j;
	for (size_t i = 1; i <= la; i++) {
		for (size_t j = 1; j <= lb; j++) {
			int ca = tolower((unsigned char)a[i - 1]), cb = tolower((unsigned char)b[j - 1]);
			size_t best = d[i - 1][j - 1] + (ca != cb);

			if (d[i - 1][j] + 1 < best)
				best = d[i - 1][j] + 1;
			if (d[i][j - 1] + 1 < best)
				best = d[i][j - 1] + 1;
			if (i > 1 && j > 1 && ca == tolower((unsigned char)b[j - 2]) &&
			    tolower((unsigned char)a[i - 2]) == cb && d[i - 2][j - 2] + 1 < best)
				best = d[i - 2][j - 2] + 1;
			d[i][j] = best;
		}
	}
	return d[la][lb];
}

/* How far a name may be from a known key and still count as its misspelling:
 * further for longer names, never so far that short names all look alike. */
static size_t
configfile_tolerance(const char *known)
{
	size_t n = strlen(known);

	return n < 5 ? 1 : n < 12 ? 2 : 3;
}

static const char *
configfile_closest(const struct configfile_key *keys, const char *name)
{
	const char *best = NULL;
	size_t best_d = SIZE_MAX;

	for (const struct configfile_key *k = keys; k->name != NULL; k++) {
		size_t d = configfile_distance(name, k->name);

		if (d <= configfile_tolerance(k->name) && d < best_d) {
			best = k->name;
			best_d = d;
		}
	}
	return best;
}

/* prefix + "." + name, the name cut to CONFIGFILE_NAME_MAX bytes (at a character
 * boundary) and control characters shown as '?', for messages. */
static void
configfile_path(char *out, size_t outsz, const char *prefix, const char *name)
{
	char shown[CONFIGFILE_NAME_MAX + 4];
	size_t n = strlen(name);

	if (n > CONFIGFILE_NAME_MAX) {
		n = CONFIGFILE_NAME_MAX;
		while (n > 0 && ((unsigned char)name[n] & 0xc0) == 0x80)
			n--;
	}
	for (size_t i = 0; i < n; i++)
		shown[i] = (unsigned char)name[i] < 0x20 || name[i] == 0x7f ? '?' : name[i];
	snprintf(shown + n, sizeof(shown) - n, "%s", n < strlen(name) ? "..." : "");
	snprintf(out, outsz, "%s%s%s", prefix, prefix[0] != '\0' ? "." : "", shown);
}

static void
configfile_walk(yajl_val obj, const struct configfile_key *keys, const char *prefix,
    configfile_note_fn fn, void *arg)
{
	char path[256], hint[256];

	for (size_t i = 0; i < obj->u.object.len; i++) {
		const char *name = obj->u.object.keys[i];
		yajl_val v = obj->u.object.values[i];
		const struct configfile_key *k = keys;
		const char *close;

		while (k->name != NULL && strcmp(k->name, name) != 0)
			k++;
		configfile_path(path, sizeof(path), prefix, name);
		if (k->name == NULL) {
			/* At the top level only a misspelt "gateway" or "clawgate" is
			 * clawgate's business. */
			close = configfile_closest(keys, name);
			if (prefix[0] == '\0' && close == NULL)
				continue;
			if (close != NULL)
				configfile_path(hint, sizeof(hint), prefix, close);
			fn(CONFIGFILE_UNKNOWN, path, close != NULL ? hint : NULL, arg);
		} else if (k->ignored) {
			fn(CONFIGFILE_IGNORED, path, NULL, arg);
		} else if (k->sub != NULL && YAJL_IS_OBJECT(v)) {
			configfile_walk(v, k->sub, path, fn, arg);
		}
	}
}

void
configfile_check_keys(yajl_val root, configfile_note_fn fn, void *arg)
{
	if (root != NULL && YAJL_IS_OBJECT(root))
		configfile_walk(root, configfile_top, "", fn, arg);
}
