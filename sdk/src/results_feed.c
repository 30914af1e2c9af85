/* results_feed.c -- the feeding side of an aggregating sink
 * (results_feed.h). */
#include "evtrack/sdk/results_feed.h"

#include <stdlib.h>
#include <string.h>

#include "evtrack/sdk/event_view.h"

int evt_results_feed_init(struct evt_results_feed *f, evt_host *h,
                          const struct evt_host_api *api)
{
    memset(f, 0, sizeof *f);
    f->h = h;
    f->api = api;
    const char *stamp = api->run_stamp(h);
    f->agg = evt_results_new();
    f->stamp = stamp ? strdup(stamp) : NULL;
    f->opts.run_stamp = f->stamp;
    if (!f->agg || (stamp && !f->stamp) ||
        evt_results_load_secrets(&f->opts, f->secrets) != 0) {
        api->log(h, EVT_LOG_ERROR, "out of memory");
        evt_results_feed_free(f);
        return -1;
    }
    return 0;
}

void evt_results_feed_free(struct evt_results_feed *f)
{
    evt_results_free(f->agg);
    f->agg = NULL;
    evt_results_free_secrets(f->secrets);
    memset(f->opts.secrets, 0, sizeof f->opts.secrets);
    free(f->stamp);
    f->stamp = NULL;
    f->opts.run_stamp = NULL;
}

int evt_results_feed_take(struct evt_results_feed *f, const evt_event *e)
{
    struct evt_view v;
    char err[256];
    if (evt_view_open(&v, f->api, e) != 0)
        return -2; /* msgpack-c could not allocate its zone */
    int rc = evt_results_add(f->agg, &v.root, err, sizeof err);
    evt_view_close(&v);
    if (rc == -1)
        f->api->log(f->h, EVT_LOG_WARN, "event seq %llu skipped: %s",
                    (unsigned long long)f->api->ev_seq(e), err);
    return rc;
}
