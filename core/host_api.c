/* host_api.c -- the function table plugins receive (struct evt_host_api). */
#include <stdio.h>

#include "config.h"
#include "tracker.h"

static void api_log(evt_host *h, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void api_log(evt_host *h, int level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    evt__host_vlog(h, level, fmt, ap);
    va_end(ap);
}

static const char *api_instance_name(const evt_host *h) { return h->name; }
static const char *api_output_dir(const evt_host *h)
{
    return h->output_dir;
}
static const char *api_state_dir(const evt_host *h) { return h->state_dir; }
static const char *api_run_stamp(const evt_host *h) { return h->run_stamp; }

/* Called from write(), on the worker's thread: no lock needed. */
static void api_batch_done(evt_host *h, size_t n)
{
    if (h && n > h->batch_done)
        h->batch_done = n < h->batch_n ? n : h->batch_n;
}

static uint32_t ev_kind(const evt_event *e) { return e->kind; }
static uint64_t ev_seq(const evt_event *e) { return e->seq; }
static int64_t ev_time_ns(const evt_event *e) { return e->time_ns; }
static const char *ev_run_id(const evt_event *e) { return e->run_id; }

static int ev_step(const evt_event *e, int64_t *step)
{
    if (e->has_step && step)
        *step = e->step;
    return e->has_step;
}

static void ev_msgpack(const evt_event *e, const void **buf, size_t *len)
{
    *buf = e->buf;
    *len = e->len;
}

const struct evt_host_api evt__host_api = {
    .struct_size = sizeof(struct evt_host_api),
    .abi_version = EVT_SINK_ABI_VERSION,
    .log = api_log,
    .cfg_str = evt__cfg_str,
    .cfg_int = evt__cfg_int,
    .cfg_double = evt__cfg_double,
    .cfg_bool = evt__cfg_bool,
    .cfg_json = evt__cfg_json,
    .instance_name = api_instance_name,
    .output_dir = api_output_dir,
    .state_dir = api_state_dir,
    .run_stamp = api_run_stamp,
    .ev_kind = ev_kind,
    .ev_seq = ev_seq,
    .ev_time_ns = ev_time_ns,
    .ev_step = ev_step,
    .ev_run_id = ev_run_id,
    .ev_msgpack = ev_msgpack,
    .ev_retain = evt__event_retain,
    .ev_release = evt__event_release,
    .batch_done = api_batch_done,
};
