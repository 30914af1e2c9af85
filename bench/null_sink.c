/* null_sink.c -- a sink that accepts every event and does nothing, so a
 * benchmark measures the host alone. */
#include <stdlib.h>

#include "evtrack/sink.h"

struct inst {
    evt_host *h;
    const struct evt_host_api *api;
    size_t last_len;
};

static int create(evt_host *h, const struct evt_host_api *api,
                  const evt_config *cfg, void **out)
{
    (void)cfg;
    struct inst *s = calloc(1, sizeof *s);
    if (!s)
        return EVT_ENOMEM;
    s->h = h;
    s->api = api;
    *out = s;
    return EVT_OK;
}

static int write_events(void *inst, const evt_event *const *ev, size_t n)
{
    struct inst *s = inst;
    const void *buf;
    s->api->ev_msgpack(ev[n - 1], &buf, &s->last_len);
    return EVT_OK;
}

/* Says the size of the last event, so a benchmark can report it. */
static void destroy(void *inst)
{
    struct inst *s = inst;
    s->api->log(s->h, EVT_LOG_INFO, "last event: %zu bytes", s->last_len);
    free(s);
}

static const struct evt_sink_vtable vtable = {
    .struct_size = sizeof(struct evt_sink_vtable),
    .abi_version = EVT_SINK_ABI_VERSION,
    .name = "null",
    .version = "1.0",
    .description = "discards every event (benchmarks)",
    .event_mask = EVT_EV_ALL,
    .create = create,
    .write = write_events,
    .destroy = destroy,
};

EVT_SINK_EXPORT const struct evt_sink_vtable *
evt_sink_entry_v1(const struct evt_host_api *api)
{
    (void)api;
    return &vtable;
}
