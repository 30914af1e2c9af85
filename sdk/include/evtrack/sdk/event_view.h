/* evtrack/sdk/event_view.h -- read an event's fields in a sink.
 *
 * An event is one msgpack map (docs/EVENTS.md). evt_view_open decodes it
 * with msgpack-c into a zone the view owns; the lookups below then read
 * fields without copying. */
#ifndef EVTRACK_SDK_EVENT_VIEW_H
#define EVTRACK_SDK_EVENT_VIEW_H

#include <msgpack.h>
#include <stddef.h>
#include <stdint.h>

#include "evtrack/sink.h"

struct evt_view {
    msgpack_zone zone;
    msgpack_object root; /* the event's map */
    int open;
};

/* Decode event e. Returns 0, or -1 if its bytes are not one map (cannot
 * happen for events made by the core). Close with evt_view_close. */
int evt_view_open(struct evt_view *v, const struct evt_host_api *api,
                  const evt_event *e);

/* The same for raw msgpack bytes (e.g. a spool record or a test). */
int evt_view_open_bytes(struct evt_view *v, const void *buf, size_t len);

void evt_view_close(struct evt_view *v);

/* The value of key in map (a msgpack map object), or NULL. */
const msgpack_object *evt_mp_get(const msgpack_object *map, const char *key);

/* 1 when o is a str equal to s. */
int evt_mp_str_eq(const msgpack_object *o, const char *s);

/* A str's bytes copied to a NUL-terminated heap string; NULL if o is not
 * a str (or on OOM). */
char *evt_mp_strdup(const msgpack_object *o);

/* Numbers of any msgpack numeric type: 0 and *out set, or -1. */
int evt_mp_double(const msgpack_object *o, double *out);
int evt_mp_int64(const msgpack_object *o, int64_t *out);

/* Append Python's str() of a number to b (evtrack/sdk/json_write.h): an
 * int in decimal, a float as repr ("0.81", "1.0", "nan"). 0, or -1 when
 * o is not a number (nothing appended). */
struct evt_buf;
int evt_mp_py_number(struct evt_buf *b, const msgpack_object *o);

#endif
