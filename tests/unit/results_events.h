/* results_events.h -- shared by the sink tests (header-only): turn a real
 * results file and its samples into the events a harness would have
 * logged (run_start, task_config, result, sample, run_end). Include after
 * test_util.h. */
#ifndef EVT_TEST_RESULTS_EVENTS_H
#define EVT_TEST_RESULTS_EVENTS_H

#include <cjson/cJSON.h>

#include "event.h"
#include "evtrack/evtrack.h"
#include "evtrack/sdk/event_view.h"
#include "json_msgpack.h"
#include "tracker_util.h"

/* JSON text as msgpack, by the core's reader (ints stay ints, 1.0 stays a
 * float, member order kept). */
struct mp {
    struct evt__pool *pool;
    struct evt_event *e;
    struct evt_view view;
};

static void mp_parse(struct mp *m, const char *json)
{
    char err[256];
    m->pool = evt__pool_new("test");
    assert_non_null(m->pool);
    m->e = evt__event_get(m->pool);
    assert_non_null(m->e);
    if (evt__json_to_mp(m->e, json, strlen(json), err, sizeof err) != 0)
        fail_msg("JSON to msgpack: %s", err);
    assert_int_equal(evt_view_open_bytes(&m->view, m->e->buf, m->e->len), 0);
}

static void mp_free(struct mp *m)
{
    evt_view_close(&m->view);
    evt__event_release(m->e);
    evt__pool_release(m->pool);
}

/* Top-level members evtrack computes (never sent in events). */
static int computed_member(const msgpack_object *k)
{
    static const char *const names[] = {
        "results", "groups", "group_subtasks", "configs", "versions",
        "n-shot", "higher_is_better", "n-samples", "task_hashes",
        "model_name_sanitized", "system_instruction_sha", "chat_template_sha",
        NULL};
    for (int i = 0; names[i]; i++)
        if (evt_mp_str_eq(k, names[i]))
            return 1;
    return 0;
}

/* Members a harness only knows at the end: sent with run_end. */
static int end_member(const msgpack_object *k)
{
    static const char *const names[] = {"end_time",
                                        "total_evaluation_time_seconds",
                                        "throughput", "usage", "efficiency",
                                        NULL};
    for (int i = 0; names[i]; i++)
        if (evt_mp_str_eq(k, names[i]))
            return 1;
    return 0;
}

/* evt_msgpack(e, key, <o packed>). */
static void ev_put(evt_ev *e, const char *key, const msgpack_object *o)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    assert_int_equal(msgpack_pack_object(&pk, *o), 0);
    evt_msgpack(e, key, sb.data, sb.size);
    msgpack_sbuffer_destroy(&sb);
}

static void commit(evt_ev *e)
{
    assert_non_null(e);
    assert_int_equal(evt_commit(e), EVT_OK);
}

static void send_run(evt_tracker *t, const msgpack_object *root, int end)
{
    evt_ev *e = evt_begin(t, end ? EVT_EV_RUN_END : EVT_EV_RUN_START);
    const msgpack_object *args =
        evt_mp_get(evt_mp_get(root, "config"), "model_args");
    if (!end && args)
        ev_put(e, "model_args", args);
    for (uint32_t i = 0; i < root->via.map.size; i++) {
        const msgpack_object_kv *kv = &root->via.map.ptr[i];
        if (computed_member(&kv->key) || end_member(&kv->key) != end)
            continue;
        char *k = evt_mp_strdup(&kv->key);
        ev_put(e, k, &kv->val);
        free(k);
    }
    commit(e);
}

static void send_task_config(evt_tracker *t, const msgpack_object *root,
                             const char *task, const msgpack_object *entry)
{
    static const char *const from[][2] = {
        {"versions", "version"}, {"n-shot", "n-shot"},
        {"higher_is_better", "higher_is_better"}, {"configs", "config"},
        {"n-samples", "n-samples"}};
    evt_ev *e = evt_begin(t, EVT_EV_TASK_CONFIG);
    evt_str(e, "task", task);
    for (size_t i = 0; i < sizeof from / sizeof from[0]; i++) {
        const msgpack_object *v = evt_mp_get(evt_mp_get(root, from[i][0]), task);
        if (v)
            ev_put(e, from[i][1], v);
    }
    const msgpack_object *alias = evt_mp_get(entry, "alias");
    if (alias)
        ev_put(e, "alias", alias);
    const msgpack_object *subs =
        evt_mp_get(evt_mp_get(root, "group_subtasks"), task);
    if (subs && subs->type == MSGPACK_OBJECT_ARRAY && subs->via.array.size)
        ev_put(e, "subtasks", subs);
    commit(e);
}

static const char *const suffixes[] = {
    "stderr",            "stderr_clt",         "stderr_clustered",
    "expected_accuracy", "consensus_accuracy", "internal_variance",
    "consistency_rate",  NULL};

static int is_companion(const char *metric)
{
    size_t n = strlen(metric);
    for (int i = 0; suffixes[i]; i++) {
        size_t m = strlen(suffixes[i]);
        if (n > m + 1 && metric[n - m - 1] == '_' &&
            strcmp(metric + n - m, suffixes[i]) == 0)
            return 1;
    }
    return 0;
}

/* One result event per "<metric>,<filter>" key, with its companions
 * (absent when the file has "N/A"). */
static void send_results(evt_tracker *t, const char *task,
                         const msgpack_object *entry)
{
    for (uint32_t i = 0; i < entry->via.map.size; i++) {
        char *key = evt_mp_strdup(&entry->via.map.ptr[i].key);
        char *comma = strchr(key, ',');
        if (!comma || (*comma = '\0', is_companion(key))) {
            free(key);
            continue;
        }
        evt_ev *e = evt_begin(t, EVT_EV_RESULT);
        evt_str(e, "task", task);
        evt_str(e, "metric", key);
        evt_str(e, "filter", comma + 1);
        ev_put(e, "value", &entry->via.map.ptr[i].val);
        for (int s = 0; suffixes[s]; s++) {
            char *ck = tu_fmt("%s_%s,%s", key, suffixes[s], comma + 1);
            const msgpack_object *v = evt_mp_get(entry, ck);
            if (v && !evt_mp_str_eq(v, "N/A"))
                ev_put(e, suffixes[s], v);
            free(ck);
        }
        commit(e);
        free(key);
    }
}

/* Each line of a lmms-eval samples file as a sample event of task. */
static void send_samples(evt_tracker *t, const char *task, const char *rel)
{
    char *text = tu_read_shared(rel);
    for (char *line = text; line && *line;) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = '\0';
        if (*line == '{') {
            char *ev = tu_fmt("{\"task\": \"%s\", %s", task, line + 1);
            log_json(t, EVT_EV_SAMPLE, ev);
            free(ev);
        }
        line = nl ? nl + 1 : NULL;
    }
    free(text);
}

#endif
