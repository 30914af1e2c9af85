/* evtrack/sdk/json_write.h -- msgpack to JSON text, byte for byte as
 * Python's json.dumps writes it (the form lmms-eval, lm-evaluation-harness
 * and lighteval files use; docs: shared/reference/formats.md section 1).
 *
 * Compact form: one line, separators ", " and ": ". Pretty form (indent N):
 * one member per line, "," at line ends, N spaces per level, empty
 * containers as {} and []. Floats are Python repr(float). Strings are
 * escaped as json.dumps(..., ensure_ascii=False) does (lowercase \u00XX for
 * control characters, everything else raw) or, on request, as with
 * ensure_ascii=True. No trailing newline is ever written: a JSONL writer
 * appends its own '\n'.
 *
 * Everything here is locale-independent and thread-safe (no global
 * state). */
#ifndef EVTRACK_SDK_JSON_WRITE_H
#define EVTRACK_SDK_JSON_WRITE_H

#include <stddef.h>

#include <msgpack.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A growable byte buffer. data is NULL until the first put, and stays
 * NUL-terminated after every put (data[len] == 0), so it can be used as a
 * C string when the content has no NUL. oom is set once an allocation
 * failed; later puts are then ignored (check oom once at the end). */
struct evt_buf {
    char *data;
    size_t len, cap;
    int oom;
};

/* An empty buffer (no allocation). */
void evt_buf_init(struct evt_buf *b);

/* Free the memory and leave b empty (as after evt_buf_init). */
void evt_buf_free(struct evt_buf *b);

/* Append p[0..n). p may be NULL when n is 0. On allocation failure sets
 * b->oom and leaves the content as it was. */
void evt_buf_put(struct evt_buf *b, const void *p, size_t n);

/* Append the C string s (without its NUL). */
void evt_buf_puts(struct evt_buf *b, const char *s);

/* When b ran out of memory, cut it back to mark (its len before a group
 * of puts), so a failed group leaves no partial bytes; oom stays set. */
void evt_buf_rollback_oom(struct evt_buf *b, size_t mark);

/* Python repr(float) of d: the shortest digit string that reads back as d
 * (the one nearest to d when several have that length, as CPython's
 * dtoa mode 0), laid out as Python does: positional with at least one
 * digit after the point ("1.0", "0.0001", "1000000000000000.0") while the
 * decimal exponent x of the first digit is -4 <= x < 16, otherwise
 * scientific with a signed exponent of at least 2 digits ("1e-05",
 * "1.5e-07", "1e+16", "1.7976931348623157e+308"). Negative zero gives
 * "-0.0". The JSON writer never passes a non-finite value; for one this
 * writes Python's repr too: "nan", "inf" or "-inf".
 * Writes a NUL-terminated string into out and returns its length (< 32).
 * Locale-independent: the host's LC_NUMERIC does not matter. */
size_t evt_py_float_repr(double d, char out[32]);

/* How non-finite floats are written. */
enum evt_nan_mode {
    EVT_NAN_BARE, /* NaN, Infinity, -Infinity, as json.dumps (not JSON) */
    EVT_NAN_NULL  /* null (strict JSON) */
};

/* Output options. A zero-initialised style is the JSONL form of the
 * tools: compact, bare NaN tokens, UTF-8 written raw. */
struct evt_json_style {
    int indent;              /* <= 0: compact one line with ", " and ": ";
                                N > 0: pretty with N spaces per level */
    enum evt_nan_mode nan;
    int ensure_ascii;        /* 0: as the tools (UTF-8 raw); 1: every
                                non-ASCII character and DEL as \uXXXX,
                                surrogate pairs above U+FFFF, lowercase */
};

/* Deepest container nesting evt_json_write accepts. */
#define EVT_JSON_WRITE_MAX_DEPTH 256

/* Append obj as JSON to b the way Python's
 * json.dumps(obj, indent=..., ensure_ascii=...) writes it:
 *   str -> JSON string (must be valid UTF-8); int/uint -> decimal;
 *   float32/float64 -> repr of the value as a double (style->nan for
 *   NaN/Infinity); nil/bool -> null/true/false; arrays and maps keep their
 *   order (duplicate map keys are written as they are).
 *   Non-str map keys are converted as Python does: int -> "123",
 *   true -> "true", false -> "false", nil -> "null", float -> its repr
 *   ("NaN", "Infinity", "-Infinity" for non-finite ones, in both NaN
 *   modes: as keys they are strings, hence valid JSON).
 * Rejected, with nothing appended: bin, ext, an array/map/bin/ext map key,
 * a string that is not valid UTF-8, nesting deeper than
 * EVT_JSON_WRITE_MAX_DEPTH, and out of memory. Returns 0, or -1 with a
 * message in err (may be NULL) naming the JSON path of the bad value,
 * e.g. "$.resps[0][1]: msgpack bin has no JSON form" or
 * "$.results['acc,none']: ..." (RFC 9535 style: .name for identifiers,
 * ['...'] otherwise, [i] for array elements). On failure b->len is put
 * back to its value on entry. style may be NULL: the zero style. */
int evt_json_write(struct evt_buf *b, const msgpack_object *obj,
                   const struct evt_json_style *style, char *err,
                   size_t errlen);

#ifdef __cplusplus
}
#endif
#endif /* EVTRACK_SDK_JSON_WRITE_H */
