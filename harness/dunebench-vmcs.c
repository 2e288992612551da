// SPDX-License-Identifier: MIT
/*
 * dunebench-vmcs.c - `dunebench vmcs` and `dunebench vmcs-diff`: a Dune
 * vCPU's VMCS, decoded, and the difference between two such snapshots.
 *
 * Snapshots come from dune.ko's debugfs (vcpus/<vcpu>/vmcs, see
 * ref-module/vmcs_dump.c) or from a file: the raw text the kernel writes
 * (ref-module/vmcs_snap.h) or the JSON of `dunebench vmcs --json`, which
 * carries the raw lines in its "snapshot" member.  docs/vmcs.md has the
 * format, the decoding and a worked example.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "vmcs_tables.h"

#define SNAP_MAGIC	"dune-vmcs-snapshot 1"
#define MAX_FIELDS	1024
#define MAX_MSRS	16384
#define CAP_FIRST	0x480
#define NCAPS		19

static const char *prog = "dunebench vmcs";

struct snap_msr {
	uint32_t msr;
	unsigned access;	/* 1: read passes, 2: write passes */
};

struct snap {
	char path[512];
	char source[32];
	long pid, tid, vcpu;
	uint64_t seq;
	uint32_t exit_reason;
	bool have_exit_reason;
	uint32_t cap_valid;
	uint64_t caps[NCAPS];
	int nconfig;
	uint32_t config_enc[32];
	uint64_t config_val[32];
	int nfields;
	uint32_t enc[MAX_FIELDS];
	uint64_t val[MAX_FIELDS];
	bool have_bitmap;	/* msr lines present (or MSR bitmaps in use) */
	int nmsrs;
	struct snap_msr *msrs;
	/* the raw lines, for --json and --raw */
	char *raw;
};

static void die(int status, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(status);
}

static void *xmalloc(size_t n)
{
	void *p = calloc(1, n ? n : 1);

	if (!p)
		die(2, "out of memory");
	return p;
}

/* ------------------------------------------------------------ tables */

static const struct vmcs_field *field_info(uint32_t enc)
{
	const struct vmcs_field *f;

	for (f = vmcs_fields; f->name; f++)
		if (f->enc == enc)
			return f;
	return NULL;
}

static const char *field_name(uint32_t enc, char *buf, size_t len)
{
	const struct vmcs_field *f = field_info(enc);

	if (f)
		return f->name;
	snprintf(buf, len, "Field 0x%04x", enc);
	return buf;
}

/* encoding bits 11:10: the field's type */
enum group { G_CONTROL, G_EXITINFO, G_GUEST, G_HOST, G_NGROUPS };
static const char *const group_names[] = {
	"controls", "exit information", "guest state", "host state"
};

static enum group field_group(uint32_t enc)
{
	return (enum group)((enc >> 10) & 3);
}

static const char *msr_name(uint32_t msr)
{
	const struct msr_name *m;

	for (m = msr_names; m->name; m++)
		if (m->msr == msr)
			return m->name;
	return NULL;
}

static const char *cap_name(uint32_t msr)
{
	const struct msr_name *m;

	for (m = cap_names; m->name; m++)
		if (m->msr == msr)
			return m->name;
	return "?";
}

static const struct vmcs_bit *bit_info(const struct vmcs_bitset *s, unsigned bit)
{
	const struct vmcs_bit *b;

	for (b = s->bits; b->name; b++)
		if (b->bit == bit)
			return b;
	return NULL;
}

static const char *bit_name(const struct vmcs_bitset *s, unsigned bit, char *buf, size_t len)
{
	const struct vmcs_bit *b = bit_info(s, bit);

	if (b)
		return b->name;
	if (bit < 32 && (s->default1 >> bit) & 1)
		snprintf(buf, len, "bit %u (reserved, default 1)", bit);
	else
		snprintf(buf, len, "bit %u", bit);
	return buf;
}

static const char *exit_reason_name(uint32_t basic)
{
	if (basic < sizeof(exit_reason_names) / sizeof(exit_reason_names[0]) &&
	    exit_reason_names[basic])
		return exit_reason_names[basic];
	return "unknown";
}

/* ------------------------------------------------------------ parsing */

static char *read_file(const char *path, size_t *lenp)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "r") : stdin;
	size_t cap = 1 << 16, len = 0, n;
	char *buf;

	if (!f)
		return NULL;
	buf = xmalloc(cap + 1);
	while ((n = fread(buf + len, 1, cap - len, f)) > 0) {
		len += n;
		if (len == cap) {
			cap *= 2;
			buf = realloc(buf, cap + 1);
			if (!buf)
				die(2, "out of memory");
		}
	}
	if (ferror(f)) {
		int e = errno;

		if (f != stdin)
			fclose(f);
		free(buf);
		errno = e ? e : EIO;
		return NULL;
	}
	if (f != stdin)
		fclose(f);
	buf[len] = '\0';
	*lenp = len;
	return buf;
}

static bool parse_u64(const char *s, uint64_t *v)
{
	char *end;

	if (!*s || *s == '-')
		return false;
	errno = 0;
	*v = strtoull(s, &end, 0);
	return !errno && *end == '\0';
}

/* Parse the raw snapshot text; on error, a message into err. */
static bool parse_raw(struct snap *s, char *text, char *err, size_t errlen)
{
	char *line, *save = NULL, *raw;
	int lineno = 0;
	bool ended = false;

	raw = strdup(text);
	if (!raw)
		die(2, "out of memory");
	s->raw = raw;
	s->msrs = xmalloc(sizeof(*s->msrs) * MAX_MSRS);
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char kw[32], a[32], b[64], c[64], d[64], e[64];
		uint64_t x, y;
		int n;

		lineno++;
		if (lineno == 1) {
			if (strcmp(line, SNAP_MAGIC)) {
				snprintf(err, errlen, "not a VMCS snapshot: the first line is not '%s' "
					 "(a snapshot is what dune.ko's vcpus/<vcpu>/vmcs or dunebench vmcs --raw/--json wrote)",
					 SNAP_MAGIC);
				return false;
			}
			continue;
		}
		if (ended)
			break;
		n = sscanf(line, "%31s %31s %63s %63s %63s %63s", kw, a, b, c, d, e);
		if (n < 1)
			continue;
		if (!strcmp(kw, "end") && n == 1) {
			ended = true;
		} else if (!strcmp(kw, "source") && n == 2) {
			snprintf(s->source, sizeof(s->source), "%s", a);
		} else if (!strcmp(kw, "pid") && n == 6 && !strcmp(b, "tid") && !strcmp(d, "vcpu")) {
			s->pid = strtol(a, NULL, 10);
			s->tid = strtol(c, NULL, 10);
			s->vcpu = strtol(e, NULL, 10);
		} else if (!strcmp(kw, "seq") && n == 2 && parse_u64(a, &x)) {
			s->seq = x;
		} else if (!strcmp(kw, "exit_reason") && n == 2 && parse_u64(a, &x)) {
			s->exit_reason = (uint32_t)x;
			s->have_exit_reason = true;
		} else if (!strcmp(kw, "cap") && n == 3 && parse_u64(a, &x) && parse_u64(b, &y)) {
			if (x >= CAP_FIRST && x < CAP_FIRST + NCAPS) {
				s->caps[x - CAP_FIRST] = y;
				s->cap_valid |= 1U << (x - CAP_FIRST);
			}
		} else if (!strcmp(kw, "config") && n == 3 && parse_u64(a, &x) && parse_u64(b, &y)) {
			if (s->nconfig < 32) {
				s->config_enc[s->nconfig] = (uint32_t)x;
				s->config_val[s->nconfig++] = y;
			}
		} else if (!strcmp(kw, "field") && n == 3 && parse_u64(a, &x) && parse_u64(b, &y) &&
			   x <= 0xffff) {
			if (s->nfields == MAX_FIELDS) {
				snprintf(err, errlen, "line %d: more than %d fields", lineno, MAX_FIELDS);
				return false;
			}
			s->enc[s->nfields] = (uint32_t)x;
			s->val[s->nfields++] = y;
		} else if (!strcmp(kw, "msr") && n == 3 && parse_u64(a, &x) && x <= 0xffffffffULL &&
			   (!strcmp(b, "r") || !strcmp(b, "w") || !strcmp(b, "rw"))) {
			if (s->nmsrs == MAX_MSRS) {
				snprintf(err, errlen, "line %d: more than %d MSR lines", lineno, MAX_MSRS);
				return false;
			}
			s->msrs[s->nmsrs].msr = (uint32_t)x;
			s->msrs[s->nmsrs++].access = (strchr(b, 'r') ? 1 : 0) | (strchr(b, 'w') ? 2 : 0);
		} else {
			snprintf(err, errlen, "line %d: not a snapshot line: '%.80s'", lineno, line);
			return false;
		}
	}
	if (lineno == 0) {
		snprintf(err, errlen, "not a VMCS snapshot: the file is empty");
		return false;
	}
	if (!ended) {
		snprintf(err, errlen, "truncated VMCS snapshot: no 'end' line");
		return false;
	}
	if (!s->nfields) {
		snprintf(err, errlen, "VMCS snapshot without fields");
		return false;
	}
	/* "Use MSR bitmaps": the msr lines (maybe none) are the bitmap's */
	for (int i = 0; i < s->nfields; i++)
		if (s->enc[i] == 0x4002 && (s->val[i] >> 28) & 1)
			s->have_bitmap = true;
	return true;
}

/*
 * JSON: just enough to take the "snapshot" member (an array of strings)
 * out of the object `dunebench vmcs --json` writes; anything else is
 * skipped after a syntax check.
 */
struct json {
	const char *p;
	const char *err;
};

static void json_ws(struct json *j)
{
	while (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r')
		j->p++;
}

/* a string; appended to out (if not NULL) with escapes decoded */
static bool json_string(struct json *j, char **out, size_t *len, size_t *cap)
{
	if (*j->p != '"')
		return j->err = "expected a string", false;
	j->p++;
	while (*j->p != '"') {
		char c = *j->p++;

		if (!c || c == '\n')
			return j->err = "unterminated string", false;
		if (c == '\\') {
			c = *j->p++;
			switch (c) {
			case 'n': c = '\n'; break;
			case 't': c = '\t'; break;
			case 'r': c = '\r'; break;
			case 'b': c = '\b'; break;
			case 'f': c = '\f'; break;
			case '"': case '\\': case '/': break;
			case 'u': {
				unsigned v = 0;
				int i;

				for (i = 0; i < 4; i++) {
					if (!isxdigit((unsigned char)j->p[i]))
						return j->err = "bad \\u escape", false;
					v = v * 16 + (unsigned)(isdigit((unsigned char)j->p[i]) ? j->p[i] - '0' :
								(tolower((unsigned char)j->p[i]) - 'a' + 10));
				}
				j->p += 4;
				c = v < 0x80 ? (char)v : '?';
				break;
			}
			default:
				return j->err = "bad escape", false;
			}
		}
		if (out) {
			if (*len + 2 > *cap) {
				*cap = *cap * 2 + 64;
				*out = realloc(*out, *cap);
				if (!*out)
					die(2, "out of memory");
			}
			(*out)[(*len)++] = c;
			(*out)[*len] = '\0';
		}
	}
	j->p++;
	return true;
}

static bool json_skip(struct json *j, int depth)
{
	json_ws(j);
	if (depth > 64)
		return j->err = "nested too deeply", false;
	if (*j->p == '"')
		return json_string(j, NULL, NULL, NULL);
	if (*j->p == '{' || *j->p == '[') {
		char close = *j->p == '{' ? '}' : ']';
		bool obj = *j->p == '{';

		j->p++;
		json_ws(j);
		if (*j->p == close) {
			j->p++;
			return true;
		}
		for (;;) {
			if (obj) {
				json_ws(j);
				if (!json_string(j, NULL, NULL, NULL))
					return false;
				json_ws(j);
				if (*j->p++ != ':')
					return j->err = "expected ':'", false;
			}
			if (!json_skip(j, depth + 1))
				return false;
			json_ws(j);
			if (*j->p == ',') {
				j->p++;
				continue;
			}
			if (*j->p++ != close)
				return j->err = "expected ',' or a closing bracket", false;
			return true;
		}
	}
	if (!strncmp(j->p, "true", 4) || !strncmp(j->p, "null", 4)) {
		j->p += 4;
		return true;
	}
	if (!strncmp(j->p, "false", 5)) {
		j->p += 5;
		return true;
	}
	if (*j->p == '-' || isdigit((unsigned char)*j->p)) {
		j->p++;
		while (isdigit((unsigned char)*j->p) || strchr(".eE+-", *j->p))
			j->p++;
		return true;
	}
	return j->err = "unexpected character", false;
}

/* The "snapshot" array of the top-level object, joined with newlines. */
static char *json_snapshot(const char *text, char *err, size_t errlen)
{
	struct json j = { text, NULL };
	char *out = NULL, *key = NULL;
	size_t len = 0, cap = 0, klen, kcap;
	bool found = false;

	json_ws(&j);
	if (*j.p++ != '{')
		goto bad;
	json_ws(&j);
	if (*j.p == '}')
		goto missing;
	for (;;) {
		json_ws(&j);
		klen = 0;
		kcap = 16;
		free(key);
		key = xmalloc(kcap);
		if (!json_string(&j, &key, &klen, &kcap))
			goto bad;
		json_ws(&j);
		if (*j.p++ != ':') {
			j.err = "expected ':'";
			goto bad;
		}
		json_ws(&j);
		if (!strcmp(key, "snapshot") && *j.p == '[') {
			j.p++;
			found = true;
			json_ws(&j);
			while (*j.p != ']') {
				json_ws(&j);
				if (!json_string(&j, &out, &len, &cap))
					goto bad;
				if (len + 2 > cap) {
					cap = cap * 2 + 64;
					out = realloc(out, cap);
					if (!out)
						die(2, "out of memory");
				}
				out[len++] = '\n';
				out[len] = '\0';
				json_ws(&j);
				if (*j.p == ',')
					j.p++;
				else if (*j.p != ']') {
					j.err = "expected ',' or ']'";
					goto bad;
				}
			}
			j.p++;
		} else if (!json_skip(&j, 1)) {
			goto bad;
		}
		json_ws(&j);
		if (*j.p == ',') {
			j.p++;
			continue;
		}
		if (*j.p != '}') {
			j.err = "expected ',' or '}'";
			goto bad;
		}
		break;
	}
	free(key);
	key = NULL;
	if (!found)
		goto missing;
	if (!out)
		out = strdup("");
	return out;
missing:
	free(key);
	free(out);
	snprintf(err, errlen, "not a VMCS snapshot: a JSON object without a \"snapshot\" member "
		 "(expected the output of dunebench vmcs --json)");
	return NULL;
bad:
	free(key);
	free(out);
	snprintf(err, errlen, "not a VMCS snapshot: bad JSON at offset %ld: %s",
		 (long)(j.p - text), j.err ? j.err : "expected an object");
	return NULL;
}

/* Load a snapshot file (raw text or JSON) or die with a clear message. */
static void load_snap(struct snap *s, const char *path)
{
	char err[256], *text, *raw;
	size_t len;

	memset(s, 0, sizeof(*s));
	s->pid = s->tid = s->vcpu = -1;
	snprintf(s->path, sizeof(s->path), "%s", path);
	text = read_file(path, &len);
	if (!text)
		die(2, "%s: cannot read: %s", path, strerror(errno));
	if (memchr(text, '\0', len))
		die(2, "%s: not a VMCS snapshot: binary data", path);
	raw = text;
	while (isspace((unsigned char)*raw))
		raw++;
	if (*raw == '{') {
		raw = json_snapshot(raw, err, sizeof(err));
		if (!raw)
			die(2, "%s: %s", path, err);
		free(text);
		text = raw;
	}
	if (!parse_raw(s, text, err, sizeof(err)))
		die(2, "%s: %s", path, err);
	free(text);
}

static void free_snap(struct snap *s)
{
	free(s->raw);
	free(s->msrs);
	free(s);
}

static bool snap_field(const struct snap *s, uint32_t enc, uint64_t *v)
{
	int i;

	for (i = 0; i < s->nfields; i++)
		if (s->enc[i] == enc) {
			*v = s->val[i];
			return true;
		}
	return false;
}

static bool snap_cap(const struct snap *s, uint32_t msr, uint64_t *v)
{
	if (msr < CAP_FIRST || msr >= CAP_FIRST + NCAPS || !(s->cap_valid & (1U << (msr - CAP_FIRST))))
		return false;
	*v = s->caps[msr - CAP_FIRST];
	return true;
}

/* ------------------------------------------------------------ decoding */

static void json_str(FILE *o, const char *s)
{
	fputc('"', o);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fprintf(o, "\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			fprintf(o, "\\u%04x", *s);
		else
			fputc(*s, o);
	}
	fputc('"', o);
}

/* A short decoding of @v for the non-bit fields that have one. */
static void decode_special(const struct vmcs_field *f, uint64_t v, char *buf, size_t len)
{
	static const char *const types[] = {
		"external interrupt", "reserved", "NMI", "hardware exception",
		"software interrupt", "privileged software exception",
		"software exception", "other event"
	};
	static const char *const acts[] = { "active", "HLT", "shutdown", "wait-for-SIPI" };
	const char *mt;

	buf[0] = '\0';
	if (!f)
		return;
	switch (f->decode) {
	case DEC_EPTP:
		switch (v & 7) {
		case 0: mt = "UC"; break;
		case 6: mt = "WB"; break;
		default: mt = "reserved"; break;
		}
		snprintf(buf, len, "memory type %s (%u), page-walk length %u, accessed/dirty flags %s%s, PML4 at 0x%" PRIx64,
			 mt, (unsigned)(v & 7), (unsigned)((v >> 3) & 7) + 1,
			 (v >> 6) & 1 ? "on" : "off",
			 (v >> 7) & 1 ? ", supervisor shadow-stack control" : "",
			 v & ~(uint64_t)0xfff);
		break;
	case DEC_EXIT_REASON:
		snprintf(buf, len, "%u %s%s%s", (unsigned)(v & 0xffff),
			 exit_reason_name((uint32_t)(v & 0xffff)),
			 (v >> 31) & 1 ? ", VM-entry failure" : "",
			 (v >> 27) & 1 ? ", pending MTF" : "");
		break;
	case DEC_INTR_INFO:
		if (!((v >> 31) & 1))
			snprintf(buf, len, "not valid");
		else
			snprintf(buf, len, "valid: vector %u, %s%s", (unsigned)(v & 0xff),
				 types[(v >> 8) & 7], (v >> 11) & 1 ? ", with error code" : "");
		break;
	case DEC_AR:
		if ((v >> 16) & 1)
			snprintf(buf, len, "unusable");
		else
			snprintf(buf, len, "type %u, %s, DPL %u, %s%s%s%s", (unsigned)(v & 15),
				 (v >> 4) & 1 ? "code/data" : "system", (unsigned)((v >> 5) & 3),
				 (v >> 7) & 1 ? "present" : "not present",
				 (v >> 13) & 1 ? ", 64-bit (L)" : "", (v >> 14) & 1 ? ", D/B" : "",
				 (v >> 15) & 1 ? ", 4K granularity" : "");
		break;
	case DEC_ACTIVITY:
		snprintf(buf, len, "%s", v < 4 ? acts[v] : "reserved");
		break;
	default:
		break;
	}
}

static int cmp_enc(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	enum group gx = field_group(x), gy = field_group(y);

	if (gx != gy)
		return (int)gx - (int)gy;
	return x < y ? -1 : x > y;
}

/* the field encodings of @s in print order: by group, then encoding */
static uint32_t *sorted_encs(const struct snap *s)
{
	uint32_t *e = xmalloc(sizeof(*e) * (size_t)(s->nfields ? s->nfields : 1));

	memcpy(e, s->enc, sizeof(*e) * (size_t)s->nfields);
	qsort(e, (size_t)s->nfields, sizeof(*e), cmp_enc);
	return e;
}

/* MSR bitmap ranges: consecutive MSRs with the same access */
struct msr_range {
	uint32_t first, last;
	unsigned access;
};

static int msr_ranges(const struct snap *s, struct msr_range *out)
{
	int i, n = 0;

	for (i = 0; i < s->nmsrs; i++) {
		if (n && out[n - 1].last + 1 == s->msrs[i].msr &&
		    out[n - 1].access == s->msrs[i].access &&
		    !msr_name(s->msrs[i].msr) && !msr_name(out[n - 1].last)) {
			out[n - 1].last = s->msrs[i].msr;
			continue;
		}
		out[n].first = out[n].last = s->msrs[i].msr;
		out[n++].access = s->msrs[i].access;
	}
	return n;
}

static const char *access_str(unsigned a)
{
	static const char *const s[] = { "both exit", "read passes, write exits",
					 "write passes, read exits", "read and write pass" };
	return s[a & 3];
}

static void print_text(const struct snap *s)
{
	uint32_t *encs = sorted_encs(s);
	struct msr_range *r;
	int i, n, g = -1;
	char buf[256], nb[64];

	printf("VMCS snapshot: source %s, pid %ld, tid %ld, vCPU %ld, snapshot #%" PRIu64 "\n",
	       s->source[0] ? s->source : "?", s->pid, s->tid, s->vcpu, s->seq);
	if (s->have_exit_reason)
		printf("taken at exit: reason %u (%s)%s\n", s->exit_reason & 0xffff,
		       exit_reason_name(s->exit_reason & 0xffff),
		       (s->exit_reason >> 31) & 1 ? ", VM-entry failure" : "");
	for (i = 0; i < s->nfields; i++) {
		uint32_t enc = encs[i];
		const struct vmcs_field *f = field_info(enc);
		uint64_t v = 0;

		snap_field(s, enc, &v);
		if ((int)field_group(enc) != g) {
			g = (int)field_group(enc);
			printf("\n== %s\n", group_names[g]);
		}
		printf("  %-50s 0x%04x  0x%" PRIx64 "\n", field_name(enc, nb, sizeof(nb)), enc, v);
		if (f && f->decode == DEC_BITS) {
			unsigned b;

			for (b = 0; b < 64; b++)
				if ((v >> b) & 1)
					printf("      bit %2u  %s\n", b, bit_name(f->bits, b, buf, sizeof(buf)));
		} else {
			decode_special(f, v, buf, sizeof(buf));
			if (buf[0])
				printf("      %s\n", buf);
		}
		if (enc == 0x2004 && s->have_bitmap) {
			r = xmalloc(sizeof(*r) * (size_t)(s->nmsrs + 1));
			n = msr_ranges(s, r);
			printf("      MSR bitmap: every MSR access exits except:%s\n", n ? "" : " none");
			for (int k = 0; k < n; k++) {
				const char *mn = msr_name(r[k].first);

				if (r[k].first == r[k].last)
					printf("        0x%08x %-24s %s\n", r[k].first, mn ? mn : "",
					       access_str(r[k].access));
				else
					printf("        0x%08x-0x%08x %-13s %s\n", r[k].first, r[k].last, "",
					       access_str(r[k].access));
			}
			free(r);
		}
	}
	if (s->cap_valid) {
		printf("\n== capability MSRs\n");
		for (i = 0; i < NCAPS; i++)
			if (s->cap_valid & (1U << i))
				printf("  %-50s 0x%03x  0x%016" PRIx64 "\n", cap_name(CAP_FIRST + (uint32_t)i),
				       CAP_FIRST + i, s->caps[i]);
	}
	free(encs);
}

static void print_json(const struct snap *s)
{
	uint32_t *encs = sorted_encs(s);
	struct msr_range *r;
	char buf[256], nb[64];
	const char *p, *q;
	int i, n;

	printf("{\n  \"format\": \"dunebench-vmcs-1\",\n  \"source\": ");
	json_str(stdout, s->source);
	printf(",\n  \"pid\": %ld,\n  \"tid\": %ld,\n  \"vcpu\": %ld,\n  \"seq\": %" PRIu64 ",\n",
	       s->pid, s->tid, s->vcpu, s->seq);
	printf("  \"exit_reason\": {\"value\": %u, \"name\": ", s->exit_reason);
	json_str(stdout, exit_reason_name(s->exit_reason & 0xffff));
	printf("},\n  \"fields\": [");
	for (i = 0; i < s->nfields; i++) {
		const struct vmcs_field *f = field_info(encs[i]);
		uint64_t v = 0;

		snap_field(s, encs[i], &v);
		printf("%s\n    {\"encoding\": \"0x%04x\", \"name\": ", i ? "," : "", encs[i]);
		json_str(stdout, field_name(encs[i], nb, sizeof(nb)));
		printf(", \"group\": ");
		json_str(stdout, group_names[field_group(encs[i])]);
		printf(", \"value\": \"0x%" PRIx64 "\"", v);
		if (f && f->decode == DEC_BITS) {
			unsigned b;
			bool first = true;

			printf(", \"bits\": [");
			for (b = 0; b < 64; b++)
				if ((v >> b) & 1) {
					printf("%s{\"bit\": %u, \"name\": ", first ? "" : ", ", b);
					json_str(stdout, bit_name(f->bits, b, buf, sizeof(buf)));
					printf("}");
					first = false;
				}
			printf("]");
		} else {
			decode_special(f, v, buf, sizeof(buf));
			if (buf[0]) {
				printf(", \"decoded\": ");
				json_str(stdout, buf);
			}
		}
		printf("}");
	}
	printf("\n  ],\n  \"msr_bitmap\": ");
	if (!s->have_bitmap) {
		printf("null");
	} else {
		r = xmalloc(sizeof(*r) * (size_t)(s->nmsrs + 1));
		n = msr_ranges(s, r);
		printf("[");
		for (i = 0; i < n; i++) {
			const char *mn = msr_name(r[i].first);

			printf("%s\n    {\"first\": \"0x%x\", \"last\": \"0x%x\", \"name\": ", i ? "," : "",
			       r[i].first, r[i].last);
			json_str(stdout, r[i].first == r[i].last && mn ? mn : "");
			printf(", \"read\": \"%s\", \"write\": \"%s\"}", r[i].access & 1 ? "pass" : "exit",
			       r[i].access & 2 ? "pass" : "exit");
		}
		printf("\n  ]");
		free(r);
	}
	printf(",\n  \"caps\": {");
	for (i = 0, n = 0; i < NCAPS; i++)
		if (s->cap_valid & (1U << i))
			printf("%s\n    \"%s\": \"0x%" PRIx64 "\"", n++ ? "," : "",
			       cap_name(CAP_FIRST + (uint32_t)i), s->caps[i]);
	printf("\n  },\n  \"snapshot\": [");
	/* the raw lines: what vmcs-diff and --file read back */
	for (p = s->raw, n = 0; *p; p = *q ? q + 1 : q) {
		char *line;

		q = strchr(p, '\n');
		if (!q)
			q = p + strlen(p);
		if (q == p)
			continue;
		line = strndup(p, (size_t)(q - p));
		if (!line)
			die(2, "out of memory");
		printf("%s\n    ", n++ ? "," : "");
		json_str(stdout, line);
		free(line);
	}
	printf("\n  ]\n}\n");
	free(encs);
}

/* ------------------------------------------------------------ checks */

struct tap {
	int n, failed;
};

static void tap_result(struct tap *t, bool ok, const char *fmt, ...)
{
	va_list ap;

	t->n++;
	if (!ok)
		t->failed++;
	printf("%s %d - ", ok ? "ok" : "not ok", t->n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

/*
 * --check: every control field against the capability MSRs (no bit set
 * that allowed-1 forbids, every bit set that allowed-0 requires) and, for
 * a snapshot with config lines, equal to what the owner configured.
 */
static int check_snap(const struct snap *s)
{
	static const struct {
		uint32_t enc;
		uint32_t cap, true_cap;
		const char *id;
	} ctl[] = {
		{ 0x4000, 0x481, 0x48d, "pin" },
		{ 0x4002, 0x482, 0x48e, "proc" },
		{ 0x401e, 0x48b, 0x48b, "proc2" },
		{ 0x400c, 0x483, 0x48f, "exit" },
		{ 0x4012, 0x484, 0x490, "entry" },
	};
	struct tap t = { 0, 0 };
	uint64_t basic = 0, cap, v, proc = 0;
	char buf[128], nb[64];
	unsigned i, b;
	int k;

	printf("1..%d\n", (int)(sizeof(ctl) / sizeof(ctl[0])) * 2 + s->nconfig);
	if (!snap_cap(s, 0x480, &basic))
		printf("# no IA32_VMX_BASIC in the snapshot: the capability checks fail\n");
	snap_field(s, 0x4002, &proc);
	for (i = 0; i < sizeof(ctl) / sizeof(ctl[0]); i++) {
		uint32_t msr = (basic >> 55) & 1 ? ctl[i].true_cap : ctl[i].cap;
		uint32_t allowed0, allowed1, bad1, miss0;
		bool have = snap_field(s, ctl[i].enc, &v);
		const struct vmcs_field *f = field_info(ctl[i].enc);

		if (ctl[i].enc == 0x401e && !((proc >> 31) & 1) && !have) {
			tap_result(&t, true, "vmcs.caps.%s.reserved # SKIP no secondary controls", ctl[i].id);
			tap_result(&t, true, "vmcs.caps.%s.required # SKIP no secondary controls", ctl[i].id);
			continue;
		}
		if (!have || !snap_cap(s, msr, &cap)) {
			tap_result(&t, false, "vmcs.caps.%s.reserved # %s", ctl[i].id,
				   have ? "capability MSR missing" : "field missing");
			tap_result(&t, false, "vmcs.caps.%s.required # %s", ctl[i].id,
				   have ? "capability MSR missing" : "field missing");
			continue;
		}
		allowed0 = (uint32_t)cap;
		allowed1 = (uint32_t)(cap >> 32);
		bad1 = (uint32_t)v & ~allowed1;
		miss0 = allowed0 & ~(uint32_t)v;
		tap_result(&t, !bad1, "vmcs.caps.%s.reserved: no bit set that %s forbids (0x%x, allowed-1 0x%x)%s",
			   ctl[i].id, cap_name(msr), (uint32_t)v, allowed1, bad1 ? " # set:" : "");
		for (b = 0; b < 32; b++)
			if ((bad1 >> b) & 1)
				printf("#   bit %u %s\n", b, bit_name(f->bits, b, buf, sizeof(buf)));
		tap_result(&t, !miss0, "vmcs.caps.%s.required: every bit set that %s requires (allowed-0 0x%x)%s",
			   ctl[i].id, cap_name(msr), allowed0, miss0 ? " # clear:" : "");
		for (b = 0; b < 32; b++)
			if ((miss0 >> b) & 1)
				printf("#   bit %u %s\n", b, bit_name(f->bits, b, buf, sizeof(buf)));
	}
	for (k = 0; k < s->nconfig; k++) {
		bool have = snap_field(s, s->config_enc[k], &v);

		tap_result(&t, have && v == s->config_val[k],
			   "vmcs.config.0x%04x: %s as configured (0x%" PRIx64 ")%s", s->config_enc[k],
			   field_name(s->config_enc[k], nb, sizeof(nb)), s->config_val[k],
			   !have ? " # not in the snapshot" : v != s->config_val[k] ? " # differs" : "");
		if (have && v != s->config_val[k])
			printf("#   snapshot 0x%" PRIx64 ", configured 0x%" PRIx64 "\n", v, s->config_val[k]);
	}
	return t.failed ? 1 : 0;
}

/* ------------------------------------------------------------ live */

static const char *debugfs_root(void)
{
	const char *d = getenv("DUNE_DEBUGFS");

	return d && *d ? d : "/sys/kernel/debug/dune";
}

struct vcpu_dir {
	long pid, tid, file, handle;
	char name[256];
};

static int vcpu_dir_cmp(const void *a, const void *b)
{
	const struct vcpu_dir *x = a, *y = b;

	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	if (x->file != y->file)
		return x->file < y->file ? -1 : 1;
	return x->handle < y->handle ? -1 : x->handle > y->handle;
}

static int list_vcpus(struct vcpu_dir *out, int max)
{
	char path[400];
	struct dirent *de;
	DIR *d;
	int n = 0;

	snprintf(path, sizeof(path), "%s/vcpus", debugfs_root());
	d = opendir(path);
	if (!d) {
		if (errno == ENOENT && access(debugfs_root(), F_OK))
			die(2, "no %s: is dune.ko loaded and debugfs mounted (mount -t debugfs none /sys/kernel/debug)?",
			    debugfs_root());
		die(2, "cannot open %s: %s%s", path, strerror(errno),
		    errno == EACCES ? " (debugfs is for root)" : "");
	}
	while ((de = readdir(d)) && n < max) {
		struct vcpu_dir *v = &out[n];

		if (sscanf(de->d_name, "%ld.%ld.%ld.%ld", &v->pid, &v->tid, &v->file, &v->handle) != 4)
			continue;
		snprintf(v->name, sizeof(v->name), "%s", de->d_name);
		n++;
	}
	closedir(d);
	qsort(out, (size_t)n, sizeof(*out), vcpu_dir_cmp);
	return n;
}

/* read the vmcs file; NULL with errno on failure */
static char *read_vmcs_file(const char *path)
{
	size_t len;

	return read_file(path, &len);
}

static void write_vmcs_file(const char *path, const char *what)
{
	int fd = open(path, O_WRONLY);

	if (fd < 0 || write(fd, what, strlen(what)) != (ssize_t)strlen(what))
		die(2, "cannot request a snapshot (%s to %s): %s", what, path, strerror(errno));
	close(fd);
}

static char *live_snapshot(long pid, long vcpu, const char *request, double wait_s, char *path, size_t pathlen)
{
	struct vcpu_dir dirs[256];
	int n = list_vcpus(dirs, 256), i, pick = -1, npid = 0;
	char *text, seqline[64] = "";
	struct timespec ts = { 0, 20 * 1000 * 1000 };
	double waited = 0;

	if (pid < 0) {
		for (i = 0; i < n; i++)
			if (i == 0 || dirs[i].pid != dirs[i - 1].pid)
				npid++;
		if (npid == 0)
			die(2, "no Dune vCPU exists (%s/vcpus is empty): start a Dune process first", debugfs_root());
		if (npid > 1) {
			fprintf(stderr, "%s: several processes have Dune vCPUs; choose one with --pid:", prog);
			for (i = 0; i < n; i++)
				if (i == 0 || dirs[i].pid != dirs[i - 1].pid)
					fprintf(stderr, " %ld", dirs[i].pid);
			fputc('\n', stderr);
			exit(2);
		}
		pid = dirs[0].pid;
	}
	for (i = 0; i < n; i++) {
		if (dirs[i].pid != pid)
			continue;
		if (vcpu < 0 || dirs[i].handle == vcpu) {
			pick = i;
			break;
		}
	}
	if (pick < 0) {
		bool any = false;
		char p[64];

		for (i = 0; i < n; i++)
			any |= dirs[i].pid == pid;
		if (!any) {
			snprintf(p, sizeof(p), "/proc/%ld", pid);
			if (access(p, F_OK))
				die(2, "no process %ld", pid);
			die(2, "process %ld has no Dune vCPU (nothing under %s/vcpus/%ld.*): it is not in Dune mode "
			    "on dune.ko (the kvm backend's vCPUs are KVM's)", pid, debugfs_root(), pid);
		}
		fprintf(stderr, "%s: process %ld has no vCPU %ld; its vCPUs:", prog, pid, vcpu);
		for (i = 0; i < n; i++)
			if (dirs[i].pid == pid)
				fprintf(stderr, " %ld (thread %ld)", dirs[i].handle, dirs[i].tid);
		fputc('\n', stderr);
		exit(2);
	}
	snprintf(path, pathlen, "%s/vcpus/%s/vmcs", debugfs_root(), dirs[pick].name);
	if (request) {
		text = read_vmcs_file(path);
		if (text) {
			char *p = strstr(text, "\nseq ");

			if (p)
				sscanf(p + 1, "%63[^\n]", seqline);
			free(text);
		}
		write_vmcs_file(path, request);
		if (!strcmp(request, "off"))
			return NULL;
		for (;;) {
			text = read_vmcs_file(path);
			if (text) {
				char *p = strstr(text, "\nseq "), now[64] = "";

				if (p)
					sscanf(p + 1, "%63[^\n]", now);
				if (strcmp(now, seqline))
					return text;
				free(text);
			} else if (errno != ENODATA) {
				die(2, "%s: %s", path, strerror(errno));
			}
			if (waited >= wait_s)
				die(1, "vCPU %ld of process %ld made no VM exit within %.1f s: no snapshot "
				    "(is it stopped outside the guest? it is taken at the next exit)",
				    dirs[pick].handle, pid, wait_s);
			nanosleep(&ts, NULL);
			waited += 0.02;
		}
	}
	text = read_vmcs_file(path);
	if (!text) {
		if (errno == ENODATA)
			die(1, "vCPU %ld of process %ld: no snapshot taken yet; --request takes one at its next VM exit",
			    dirs[pick].handle, pid);
		die(2, "%s: %s", path, strerror(errno));
	}
	return text;
}

/* ------------------------------------------------------------ diff */

struct diff_item {
	enum group g;
	char text[1024];
};

struct diff {
	int n, cap;
	struct diff_item *items;
	int fields[G_NGROUPS + 1];	/* [G_NGROUPS]: MSR bitmap and caps */
	int bits[G_NGROUPS + 1];
};

static void diff_add(struct diff *d, enum group g, const char *fmt, ...)
{
	va_list ap;

	if (d->n == d->cap) {
		d->cap = d->cap * 2 + 32;
		d->items = realloc(d->items, sizeof(*d->items) * (size_t)d->cap);
		if (!d->items)
			die(2, "out of memory");
	}
	d->items[d->n].g = g;
	va_start(ap, fmt);
	vsnprintf(d->items[d->n].text, sizeof(d->items[d->n].text), fmt, ap);
	va_end(ap);
	d->n++;
}

static unsigned msr_access(const struct snap *s, uint32_t msr)
{
	int i;

	for (i = 0; i < s->nmsrs; i++)
		if (s->msrs[i].msr == msr)
			return s->msrs[i].access;
	return 0;
}

/*
 * Fields the CPU uses only under a control bit: a value that differs
 * where one side does not use the field says nothing, and the diff says so.
 */
static const struct {
	uint32_t enc, ctl;
	unsigned bit;
} field_uses[] = {
	{ 0x0000, 0x401e, 5 },		/* VPID: Enable VPID */
	{ 0x0812, 0x401e, 17 },		/* PML index: Enable PML */
	{ 0x2004, 0x4002, 28 },		/* MSR bitmaps: Use MSR bitmaps */
	{ 0x2000, 0x4002, 25 },		/* I/O bitmaps: Use I/O bitmaps */
	{ 0x2002, 0x4002, 25 },
	{ 0x200e, 0x401e, 17 },		/* PML address */
	{ 0x2010, 0x4002, 3 },		/* TSC offset: Use TSC offsetting */
	{ 0x2012, 0x4002, 21 },		/* virtual-APIC page: Use TPR shadow */
	{ 0x2014, 0x401e, 0 },		/* APIC-access page */
	{ 0x201a, 0x401e, 1 },		/* EPTP: Enable EPT */
	{ 0x2026, 0x401e, 14 },		/* VMREAD/VMWRITE bitmaps: VMCS shadowing */
	{ 0x2028, 0x401e, 14 },
	{ 0x2032, 0x401e, 25 },		/* TSC multiplier: Use TSC scaling */
	{ 0x2804, 0x4012, 14 },		/* guest PAT: Load IA32_PAT (entry) */
	{ 0x2806, 0x4012, 15 },		/* guest EFER: Load IA32_EFER (entry) */
	{ 0x2c00, 0x400c, 19 },		/* host PAT: Load IA32_PAT (exit) */
	{ 0x2c02, 0x400c, 21 },		/* host EFER: Load IA32_EFER (exit) */
	{ 0x4020, 0x401e, 10 },		/* PLE gap/window: PAUSE-loop exiting */
	{ 0x4022, 0x401e, 10 },
	{ 0x482e, 0x4000, 6 },		/* preemption timer value */
};

/* " (not used by B: its ... is clear)" for a field B does not use, or "" */
static void field_unused(const struct snap *a, const struct snap *b, uint32_t enc, char *buf, size_t len)
{
	const struct vmcs_field *cf;
	uint64_t ca = 0, cb = 0;
	bool ua, ub;
	size_t i;
	char nb[64];

	buf[0] = '\0';
	for (i = 0; i < sizeof(field_uses) / sizeof(field_uses[0]); i++) {
		if (field_uses[i].enc != enc)
			continue;
		snap_field(a, field_uses[i].ctl, &ca);
		snap_field(b, field_uses[i].ctl, &cb);
		ua = (ca >> field_uses[i].bit) & 1;
		ub = (cb >> field_uses[i].bit) & 1;
		if (ua && ub)
			return;
		cf = field_info(field_uses[i].ctl);
		snprintf(buf, len, " (not used by %s: %s bit %u %s is clear%s)",
			 !ua && !ub ? "A or B" : !ua ? "A" : "B", cf ? cf->name : "control",
			 field_uses[i].bit, bit_name(cf->bits, field_uses[i].bit, nb, sizeof(nb)),
			 !ua && !ub ? " in both" : "");
		return;
	}
}

static void diff_snaps(const struct snap *a, const struct snap *b, struct diff *d)
{
	uint32_t *encs = xmalloc(sizeof(*encs) * (size_t)(a->nfields + b->nfields + 1));
	int n = 0, i, j;
	char buf[256], nb[64];

	for (i = 0; i < a->nfields; i++)
		encs[n++] = a->enc[i];
	for (i = 0; i < b->nfields; i++) {
		for (j = 0; j < a->nfields && a->enc[j] != b->enc[i]; j++)
			;
		if (j == a->nfields)
			encs[n++] = b->enc[i];
	}
	qsort(encs, (size_t)n, sizeof(*encs), cmp_enc);
	for (i = 0; i < n; i++) {
		uint32_t enc = encs[i];
		const struct vmcs_field *f = field_info(enc);
		enum group g = field_group(enc);
		const char *name = field_name(enc, nb, sizeof(nb));
		const char *meaning = f ? f->meaning : "not in dunebench's table";
		uint64_t va = 0, vb = 0, x;
		bool ha = snap_field(a, enc, &va), hb = snap_field(b, enc, &vb);

		char unused[256];

		if (ha && hb && va == vb)
			continue;
		d->fields[g]++;
		field_unused(a, b, enc, unused, sizeof(unused));
		if (!ha || !hb) {
			diff_add(d, g, "%s (0x%04x): only in %s (0x%" PRIx64 "): %s", name, enc,
				 ha ? "A" : "B", ha ? va : vb, meaning);
			continue;
		}
		if (f && f->decode == DEC_BITS) {
			unsigned bit;

			diff_add(d, g, "%s (0x%04x): A 0x%" PRIx64 ", B 0x%" PRIx64 ": %s%s", name, enc, va, vb,
				 meaning, unused);
			x = va ^ vb;
			for (bit = 0; bit < 64; bit++) {
				const struct vmcs_bit *bi;

				if (!((x >> bit) & 1))
					continue;
				d->bits[g]++;
				bi = bit_info(f->bits, bit);
				diff_add(d, g, "  bit %u %s: %s in A, %s in B%s%s", bit,
					 bit_name(f->bits, bit, buf, sizeof(buf)),
					 (va >> bit) & 1 ? "set" : "clear", (vb >> bit) & 1 ? "set" : "clear",
					 bi ? ": " : "", bi ? bi->meaning : "");
			}
		} else {
			char da[256], db[256];

			decode_special(f, va, da, sizeof(da));
			decode_special(f, vb, db, sizeof(db));
			diff_add(d, g, "%s (0x%04x): A 0x%" PRIx64 "%s%s%s, B 0x%" PRIx64 "%s%s%s: %s%s", name, enc,
				 va, da[0] ? " (" : "", da, da[0] ? ")" : "", vb, db[0] ? " (" : "", db,
				 db[0] ? ")" : "", meaning, unused);
		}
	}
	free(encs);

	/* the MSR bitmap, MSR by MSR (only what either lets through) */
	if (a->have_bitmap || b->have_bitmap) {
		uint32_t *msrs = xmalloc(sizeof(*msrs) * (size_t)(a->nmsrs + b->nmsrs + 1));
		int m = 0, nd = 0;

		for (i = 0; i < a->nmsrs; i++)
			msrs[m++] = a->msrs[i].msr;
		for (i = 0; i < b->nmsrs; i++)
			if (!msr_access(a, b->msrs[i].msr))
				msrs[m++] = b->msrs[i].msr;
		for (i = 0; i < m; i++) {
			unsigned xa = msr_access(a, msrs[i]), xb = msr_access(b, msrs[i]);
			const char *mn = msr_name(msrs[i]);

			if (xa == xb)
				continue;
			if (!nd++) {
				d->fields[G_CONTROL]++;
				diff_add(d, G_CONTROL, "MSR bitmap: MSRs whose access differs (any other is the same in both)");
			}
			d->bits[G_CONTROL]++;
			diff_add(d, G_CONTROL, "  MSR 0x%x%s%s%s: A %s, B %s", msrs[i], mn ? " (" : "",
				 mn ? mn : "", mn ? ")" : "", access_str(xa), access_str(xb));
		}
		free(msrs);
	}
	/* capability MSRs: the two snapshots should come from the same CPU */
	for (i = 0; i < NCAPS; i++) {
		bool ha = a->cap_valid & (1U << i), hb = b->cap_valid & (1U << i);

		if (ha != hb || (ha && a->caps[i] != b->caps[i])) {
			d->fields[G_NGROUPS]++;
			diff_add(d, G_NGROUPS, "%s (MSR 0x%x): A %s, B %s: the snapshots come from CPUs with different VMX capabilities",
				 cap_name(CAP_FIRST + (uint32_t)i), CAP_FIRST + i, ha ? "present" : "absent",
				 hb ? "present" : "absent");
		}
	}
}

static const char *snap_label(const struct snap *s, char *buf, size_t len)
{
	snprintf(buf, len, "%s (source %s, pid %ld, vCPU %ld, exit %u %s)", s->path,
		 s->source[0] ? s->source : "?", s->pid, s->vcpu, s->exit_reason & 0xffff,
		 exit_reason_name(s->exit_reason & 0xffff));
	return buf;
}

static void print_diff(FILE *o, const struct snap *a, const struct snap *b, const struct diff *d, bool md)
{
	static const char *const gnames[] = { "Controls", "Exit information", "Guest state",
					      "Host state", "Capability MSRs" };
	char la[700], lb[700];
	int g, i, total = 0;

	for (g = 0; g <= G_NGROUPS; g++)
		total += d->fields[g];
	if (md) {
		fprintf(o, "# VMCS difference\n\n");
		fprintf(o, "- A: `%s`\n- B: `%s`\n\n", snap_label(a, la, sizeof(la)), snap_label(b, lb, sizeof(lb)));
		fprintf(o, "Produced by `dunebench vmcs-diff`; docs/vmcs.md explains the snapshots.\n\n");
		fprintf(o, "| group | fields that differ | bits that differ |\n|---|---:|---:|\n");
		for (g = 0; g <= G_NGROUPS; g++)
			fprintf(o, "| %s | %d | %d |\n", gnames[g], d->fields[g], d->bits[g]);
		fprintf(o, "| **total** | **%d** | **%d** |\n", total,
			d->bits[0] + d->bits[1] + d->bits[2] + d->bits[3] + d->bits[4]);
	} else {
		fprintf(o, "A: %s\nB: %s\n", snap_label(a, la, sizeof(la)), snap_label(b, lb, sizeof(lb)));
		fprintf(o, "%d fields differ:", total);
		for (g = 0; g <= G_NGROUPS; g++)
			fprintf(o, " %s %d (%d bits)%s", gnames[g], d->fields[g], d->bits[g], g < G_NGROUPS ? "," : "\n");
	}
	for (g = 0; g <= G_NGROUPS; g++) {
		if (!d->fields[g])
			continue;
		fprintf(o, md ? "\n## %s\n\n" : "\n== %s\n", gnames[g]);
		for (i = 0; i < d->n; i++) {
			const char *t = d->items[i].text;

			if ((int)d->items[i].g != g)
				continue;
			if (md)
				fprintf(o, "%s- %s\n", t[0] == ' ' ? "  " : "", t[0] == ' ' ? t + 2 : t);
			else
				fprintf(o, "  %s\n", t);
		}
	}
}

/* ------------------------------------------------------------ main */

static void usage_vmcs(FILE *o)
{
	fprintf(o,
		"usage: dunebench vmcs [--pid PID] [--vcpu N] [--request|--every|--off] [--exit-reason N]\n"
		"                      [--wait SEC] [--json|--raw|--check]\n"
		"       dunebench vmcs --file SNAPSHOT [--json|--raw|--check]\n"
		"\n"
		"Print a Dune vCPU's VMCS, decoded: every field by name, grouped as\n"
		"controls, exit information, guest state and host state; the control\n"
		"fields (pin-based, primary and secondary processor-based, VM-exit and\n"
		"VM-entry controls), the exception bitmap, CR0/CR4 guest/host masks and\n"
		"read shadows bit by bit with the Intel SDM's names; the EPT pointer's\n"
		"memory type, page-walk length and accessed/dirty flag; and the MSR\n"
		"bitmap as the list of MSRs the guest may read or write without a VM exit.\n"
		"\n"
		"The snapshot comes from dune.ko (debugfs: DIR/vcpus/<pid>.<tid>.<file>.<vcpu>/vmcs,\n"
		"DIR = /sys/kernel/debug/dune or $DUNE_DEBUGFS), which takes it at a VM exit\n"
		"when asked to: at the next exit (--request) or at every exit (--every; the\n"
		"file then shows the last exit's).  Without a request the last snapshot taken\n"
		"is printed.  The snapshot lists every field the CPU's VMREAD accepts, the\n"
		"VMX capability MSRs and the control values the module configured.\n"
		"\n"
		"Options:\n"
		"  --pid PID     the Dune process (default: the only one with vCPUs)\n"
		"  --vcpu N      its vCPU with handle N (default: its first)\n"
		"  --request     take a snapshot at the vCPU's next VM exit and print it\n"
		"  --every       take one at every VM exit from now on, print the next\n"
		"  --off         stop taking snapshots (after --every)\n"
		"  --exit-reason N  with --request/--every: only at exits of basic reason N\n"
		"                (18 VMCALL, 10 CPUID, 48 EPT violation, ...): a defined point\n"
		"  --wait SEC    how long --request/--every wait for the exit (default 5)\n"
		"  --file FILE   decode a saved snapshot (raw text or --json output; - = stdin)\n"
		"  --json        one JSON object: decoded fields, MSR ranges, capability MSRs\n"
		"                and the raw snapshot lines (what vmcs-diff reads)\n"
		"  --raw         the snapshot as the kernel wrote it\n"
		"  --check       TAP: the control fields against the capability MSRs (no\n"
		"                reserved bit set, every required bit set) and against the\n"
		"                configuration the snapshot records; exit status 1 on a failure\n"
		"  -h, --help    this text\n"
		"\n"
		"Exit status: 0 on success, 1 when no snapshot could be taken or a check\n"
		"failed, 2 on bad arguments or input (not a snapshot, no such process or vCPU).\n"
		"\n"
		"See also: dunebench vmcs-diff; docs/vmcs.md.\n");
}

static void usage_diff(FILE *o)
{
	fprintf(o,
		"usage: dunebench vmcs-diff [--markdown FILE] [--title TEXT] A B\n"
		"\n"
		"Compare two VMCS snapshots (raw text from dune.ko or the kvm lab module,\n"
		"or the JSON of dunebench vmcs --json) and print the fields and bits that\n"
		"differ, grouped as controls (with the MSR bitmap, MSR by MSR), exit\n"
		"information, guest state and host state, each with a one-line meaning,\n"
		"after a summary line with the counts per group.\n"
		"\n"
		"Options:\n"
		"  --markdown FILE  also write the report as Markdown to FILE\n"
		"  --title TEXT     the Markdown report's title (default: VMCS difference)\n"
		"  -h, --help       this text\n"
		"\n"
		"Exit status: 0 when the snapshots are the same, 1 when they differ, 2 on\n"
		"bad arguments or input.\n"
		"\n"
		"See also: dunebench vmcs; docs/vmcs.md.\n");
}

static int main_diff(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "markdown", required_argument, 0, 'm' },
		{ "title", required_argument, 0, 't' },
		{ "help", no_argument, 0, 'h' },
		{ 0, 0, 0, 0 }
	};
	const char *md = NULL, *title = NULL;
	struct snap *a, *b;
	struct diff d;
	int c, total = 0, g;

	prog = "dunebench vmcs-diff";
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'm': md = optarg; break;
		case 't': title = optarg; break;
		case 'h': usage_diff(stdout); return 0;
		default: usage_diff(stderr); return 2;
		}
	}
	if (argc - optind != 2) {
		fprintf(stderr, "%s: expected two snapshot files, got %d\n", prog, argc - optind);
		usage_diff(stderr);
		return 2;
	}
	a = xmalloc(sizeof(*a));
	b = xmalloc(sizeof(*b));
	load_snap(a, argv[optind]);
	load_snap(b, argv[optind + 1]);
	memset(&d, 0, sizeof(d));
	diff_snaps(a, b, &d);
	print_diff(stdout, a, b, &d, false);
	if (md) {
		FILE *o = fopen(md, "w");

		if (!o)
			die(2, "cannot write %s: %s", md, strerror(errno));
		if (title) {
			/* the report with another title line */
			char *buf = NULL;
			size_t len = 0;
			FILE *m = open_memstream(&buf, &len);

			print_diff(m, a, b, &d, true);
			fclose(m);
			fprintf(o, "# %s%s", title, strchr(buf, '\n'));
			free(buf);
		} else {
			print_diff(o, a, b, &d, true);
		}
		if (fclose(o))
			die(2, "cannot write %s: %s", md, strerror(errno));
	}
	for (g = 0; g <= G_NGROUPS; g++)
		total += d.fields[g];
	free(d.items);
	free_snap(a);
	free_snap(b);
	return total ? 1 : 0;
}

static long parse_num_arg(const char *opt, const char *s)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v < 0)
		die(2, "%s wants a non-negative number, got '%s'", opt, s);
	return v;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "pid", required_argument, 0, 'p' },
		{ "vcpu", required_argument, 0, 'v' },
		{ "request", no_argument, 0, 'r' },
		{ "every", no_argument, 0, 'e' },
		{ "off", no_argument, 0, 'o' },
		{ "wait", required_argument, 0, 'w' },
		{ "exit-reason", required_argument, 0, 'x' },
		{ "file", required_argument, 0, 'f' },
		{ "json", no_argument, 0, 'j' },
		{ "raw", no_argument, 0, 'R' },
		{ "check", no_argument, 0, 'c' },
		{ "help", no_argument, 0, 'h' },
		{ 0, 0, 0, 0 }
	};
	const char *base = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
	const char *file = NULL, *request = NULL;
	long pid = -1, vcpu = -1, reason = -1;
	char reqbuf[32];
	double wait_s = 5;
	int c, out = 0;
	struct snap *s;
	char path[512], *text, *end;

	if (strstr(base, "vmcs-diff"))
		return main_diff(argc, argv);
	if (argc > 1 && !strcmp(argv[1], "diff"))
		return main_diff(argc - 1, argv + 1);
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'p': pid = parse_num_arg("--pid", optarg); break;
		case 'v': vcpu = parse_num_arg("--vcpu", optarg); break;
		case 'r': request = "next"; break;
		case 'e': request = "every"; break;
		case 'o': request = "off"; break;
		case 'w':
			wait_s = strtod(optarg, &end);
			if (*end || wait_s < 0)
				die(2, "--wait wants seconds, got '%s'", optarg);
			break;
		case 'x': reason = parse_num_arg("--exit-reason", optarg); break;
		case 'f': file = optarg; break;
		case 'j': case 'R': case 'c':
			if (out && out != c)
				die(2, "--json, --raw and --check exclude each other");
			out = c;
			break;
		case 'h': usage_vmcs(stdout); return 0;
		default: usage_vmcs(stderr); return 2;
		}
	}
	if (optind < argc)
		die(2, "unexpected argument '%s' (see --help)", argv[optind]);
	if (file && (pid >= 0 || vcpu >= 0 || request || reason >= 0))
		die(2, "--file decodes a saved snapshot: no --pid, --vcpu, --request, --every, --off or --exit-reason with it");
	if (reason >= 0) {
		if (!request || !strcmp(request, "off"))
			die(2, "--exit-reason goes with --request or --every");
		if (reason >= 80)
			die(2, "--exit-reason wants a basic exit reason below 80, got %ld", reason);
		snprintf(reqbuf, sizeof(reqbuf), "%s %ld", request, reason);
		request = reqbuf;
	}
	s = xmalloc(sizeof(*s));
	if (file) {
		load_snap(s, file);
	} else {
		char err[256];

		text = live_snapshot(pid, vcpu, request, wait_s, path, sizeof(path));
		if (!text)
			return 0;	/* --off */
		memset(s, 0, sizeof(*s));
		snprintf(s->path, sizeof(s->path), "%s", path);
		if (!parse_raw(s, text, err, sizeof(err)))
			die(2, "%s: %s", path, err);
		free(text);
	}
	switch (out) {
	case 'j': print_json(s); break;
	case 'R': fputs(s->raw, stdout); break;
	case 'c': c = check_snap(s); break;
	default: print_text(s); break;
	}
	free_snap(s);
	return out == 'c' ? c : 0;
}
