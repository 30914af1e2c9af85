/* wb_json.h -- the JSON text the wandb sink sends and writes: values as
 * Python's json.dumps writes them (evtrack/sdk/json_write.h: ", " and ": "
 * separators, bare NaN / Infinity, UTF-8 raw), and an ordered key -> JSON
 * text map (struct wb_kvs) for history rows, the summary and the config.
 *
 * Every function appends to a struct evt_buf; on allocation failure the
 * buffer's oom flag is set (check it once at the end). */
#ifndef WB_JSON_H
#define WB_JSON_H

#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

#include "evtrack/sdk/json_write.h"

/* The JSON string of s[0..n). Invalid UTF-8 bytes become U+FFFD, so the
 * text is always valid JSON. */
void wb_json_str(struct evt_buf *b, const char *s, size_t n);
/* The same for a C string; NULL writes null. */
void wb_json_cstr(struct evt_buf *b, const char *s);
/* A msgpack value (compact, bare NaN). bin and ext, which have no JSON
 * form, are written as null. */
void wb_json_obj(struct evt_buf *b, const msgpack_object *o);
/* o's JSON text (wb_json_obj) as a JSON string: how W&B cells and
 * history values show a container. */
void wb_json_obj_text(struct evt_buf *b, const msgpack_object *o);
/* A double as Python repr, NaN / Infinity / -Infinity for non-finite. */
void wb_json_double(struct evt_buf *b, double d);
void wb_json_int(struct evt_buf *b, int64_t v);

/* An ordered map of keys to JSON texts (both heap, NUL-terminated). */
struct wb_kv {
    char *key;
    char *json;
};
struct wb_kvs {
    struct wb_kv *v;
    size_t n, cap;
};

/* Set key (klen bytes) to json (jlen bytes): replaces the value in place
 * when the key exists, else appends. 0, or -1 on OOM (map unchanged). */
int wb_kvs_set(struct wb_kvs *m, const char *key, size_t klen,
               const char *json, size_t jlen);
/* The JSON text of key, or NULL. */
const char *wb_kvs_get(const struct wb_kvs *m, const char *key);
/* Set every entry of src into dst, in src's order. 0 or -1 (OOM). */
int wb_kvs_merge(struct wb_kvs *dst, const struct wb_kvs *src);
/* Remove every entry (keeps the allocation of the array). */
void wb_kvs_clear(struct wb_kvs *m);
void wb_kvs_free(struct wb_kvs *m);

/* Append the members "key": json, separated by ", ", to b; *first is 1
 * before the first member of an object and 0 afterwards. */
void wb_kvs_members(const struct wb_kvs *m, struct evt_buf *b, int *first);
/* {"key": json, ...} */
void wb_kvs_object(const struct wb_kvs *m, struct evt_buf *b);

/* Append ", " unless *first, then clear *first. */
void wb_json_sep(struct evt_buf *b, int *first);
/* "key": (with the separator before it). */
void wb_json_key(struct evt_buf *b, int *first, const char *key);

#endif /* WB_JSON_H */
