/* conformance_events.c -- the events the conformance kit sends, built
 * with the public builder (docs/EVENTS.md): one realistic event of each
 * kind, a whole run, and hostile events. Hostile means everything the
 * core lets through to a sink (it refuses invalid UTF-8 and bad
 * structure): NaN and infinities, very long strings, control characters
 * and NUL bytes, names that are paths, the deepest nesting allowed, empty
 * containers, recommended fields of the wrong type, and msgpack types
 * only evt_log_sample_msgpack can carry (bin, ext, float32, non-string
 * keys). */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conformance_int.h"

static void keep(int *rc, int r)
{
    if (*rc == EVT_OK && r != EVT_OK)
        *rc = r;
}

/* ---- realistic events -------------------------------------------------------*/

static int run_start(evt_tracker *t)
{
    evt_ev *e = evt_begin(t, EVT_EV_RUN_START);
    evt_str(e, "model_source", "hf");
    evt_str(e, "model_name", "evtrack/conformance-model");
    evt_str(e, "model_args", "pretrained=evtrack/conformance-model");
    evt_map_begin(e, "config");
    evt_int(e, "batch_size", 1);
    evt_str(e, "device", "cpu");
    evt_null(e, "limit");
    evt_map_end(e);
    evt_str(e, "git_hash", "0000000");
    evt_str(e, "date", "20250101_120000");
    evt_int(e, "rank", 0);
    evt_int(e, "world_size", 1);
    return evt_commit(e);
}

static int task_config(evt_tracker *t, const char *task, const char *group,
                       int is_group)
{
    evt_ev *e = evt_begin(t, EVT_EV_TASK_CONFIG);
    evt_str(e, "task", task);
    evt_int(e, "version", 1);
    evt_int(e, "n-shot", 0);
    evt_map_begin(e, "higher_is_better");
    evt_bool(e, "acc", 1);
    evt_bool(e, "exact_match", 1);
    evt_map_end(e);
    evt_map_begin(e, "config");
    evt_str(e, "task", task);
    evt_str(e, "output_type", "generate_until");
    evt_map_end(e);
    evt_map_begin(e, "n-samples");
    evt_int(e, "original", 1000);
    evt_int(e, "effective", 100);
    evt_map_end(e);
    evt_str(e, "alias", task);
    evt_array_begin(e, is_group ? "subtasks" : "groups");
    if (is_group) {
        evt_str(e, NULL, "conf_mcq");
        evt_str(e, NULL, "conf_math");
    } else if (group) {
        evt_str(e, NULL, group);
    }
    evt_array_end(e);
    return evt_commit(e);
}

static int sample(evt_tracker *t, const char *task, int64_t doc_id,
                  const char *filter)
{
    evt_ev *e = evt_begin(t, EVT_EV_SAMPLE);
    evt_str(e, "task", task);
    evt_int(e, "doc_id", doc_id);
    evt_str(e, "filter", filter);
    evt_str(e, "target", "A");
    evt_map_begin(e, "doc");
    evt_str(e, "question", "Which letter comes first?");
    evt_array_begin(e, "choices");
    evt_str(e, NULL, "A");
    evt_str(e, NULL, "B");
    evt_array_end(e);
    evt_map_end(e);
    evt_array_begin(e, "resps");
    evt_array_begin(e, NULL);
    evt_str(e, NULL, doc_id % 2 ? "B" : "A");
    evt_array_end(e);
    evt_array_end(e);
    evt_array_begin(e, "filtered_resps");
    evt_str(e, NULL, doc_id % 2 ? "B" : "A");
    evt_array_end(e);
    evt_map_begin(e, "metrics");
    evt_double(e, "acc", doc_id % 2 ? 0.0 : 1.0);
    evt_map_end(e);
    evt_str(e, "input", "Which letter comes first? A or B.");
    return evt_commit(e);
}

static int result(evt_tracker *t, const char *task, const char *metric,
                  const char *filter, double value, double se, int64_t step)
{
    return evt_log_result(t, task, metric, filter, value, se, step);
}

int conf_send_kind(evt_tracker *t, uint32_t kind, int64_t n)
{
    int rc = EVT_OK;
    for (int64_t i = 0; i < n; i++) {
        switch (kind) {
        case EVT_EV_RUN_START: keep(&rc, run_start(t)); break;
        case EVT_EV_TASK_CONFIG:
            keep(&rc, task_config(t, "conf_mcq", NULL, 0));
            break;
        case EVT_EV_SAMPLE: keep(&rc, sample(t, "conf_mcq", i, "none")); break;
        case EVT_EV_RESULT:
            keep(&rc, result(t, "conf_mcq", "acc", "none", 0.5, 0.05, -1));
            break;
        case EVT_EV_SCALAR:
            keep(&rc, evt_log_scalar(t, "train/loss", 1.0 / (double)(i + 1),
                                     i));
            break;
        default: keep(&rc, evt_log_run_end(t)); break;
        }
    }
    return rc;
}

int conf_send_run(evt_tracker *t, int samples_per_task)
{
    int rc = run_start(t);
    keep(&rc, task_config(t, "conf_group", NULL, 1));
    keep(&rc, task_config(t, "conf_mcq", "conf_group", 0));
    keep(&rc, task_config(t, "conf_math", "conf_group", 0));
    for (int i = 0; i < samples_per_task; i++) {
        keep(&rc, sample(t, "conf_mcq", i, "none"));
        keep(&rc, sample(t, "conf_math", i, "strict-match"));
        keep(&rc, sample(t, "conf_math", i, "flexible-extract"));
    }
    keep(&rc, result(t, "conf_mcq", "acc", "none", 0.5, 0.05, -1));
    keep(&rc, result(t, "conf_math", "exact_match", "strict-match", 0.25,
                     0.04, -1));
    keep(&rc, result(t, "conf_math", "exact_match", "flexible-extract", 0.3,
                     0.045, -1));
    keep(&rc, result(t, "conf_group", "acc", "none", 0.4, NAN, -1));
    for (int step = 0; step < 10; step++)
        keep(&rc, evt_log_scalar(t, "train/loss", 2.0 / (step + 1), step));
    keep(&rc, result(t, "conf_mcq", "acc", "none", 0.55, 0.05, 100));
    keep(&rc, evt_log_run_end(t));
    return rc;
}

/* ---- hostile events --------------------------------------------------------*/

/* task_config, sample, result and scalar all named name. */
static int named_everywhere(evt_tracker *t, const char *name, size_t len)
{
    int rc = EVT_OK;
    evt_ev *e = evt_begin(t, EVT_EV_TASK_CONFIG);
    evt_strn(e, "task", name, len);
    evt_strn(e, "alias", name, len);
    keep(&rc, evt_commit(e));
    e = evt_begin(t, EVT_EV_SAMPLE);
    evt_strn(e, "task", name, len);
    evt_int(e, "doc_id", 0);
    evt_strn(e, "filter", name, len);
    evt_strn(e, "target", name, len);
    evt_map_begin(e, "metrics");
    evt_double(e, "acc", 1.0);
    evt_map_end(e);
    keep(&rc, evt_commit(e));
    e = evt_begin(t, EVT_EV_RESULT);
    evt_strn(e, "task", name, len);
    evt_strn(e, "metric", name, len);
    evt_strn(e, "filter", name, len);
    evt_double(e, "value", 0.5);
    evt_double(e, "stderr", 0.1);
    evt_strn(e, "alias", name, len);
    keep(&rc, evt_commit(e));
    e = evt_begin(t, EVT_EV_SCALAR);
    evt_strn(e, "tag", name, len);
    evt_double(e, "value", 1.0);
    evt_step(e, 1);
    keep(&rc, evt_commit(e));
    return rc;
}

static int nonfinite(evt_tracker *t)
{
    static const double v[] = {NAN, INFINITY, -INFINITY, -0.0, DBL_MAX,
                               -DBL_MAX, 4.9e-324};
    int rc = EVT_OK;
    keep(&rc, task_config(t, "conf_nan", NULL, 0));
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        evt_ev *e = evt_begin(t, EVT_EV_RESULT);
        evt_str(e, "task", "conf_nan");
        evt_str(e, "metric", i % 2 ? "acc" : "exact_match");
        evt_str(e, "filter", "none");
        evt_double(e, "value", v[i]);
        evt_double(e, "stderr", v[(i + 1) % 7]);
        evt_step(e, (int64_t)i);
        keep(&rc, evt_commit(e));
        keep(&rc, evt_log_scalar(t, "nan/value", v[i], (int64_t)i));
        e = evt_begin(t, EVT_EV_SAMPLE);
        evt_str(e, "task", "conf_nan");
        evt_int(e, "doc_id", (int64_t)i);
        evt_str(e, "filter", "none");
        evt_double(e, "target", v[i]);
        evt_map_begin(e, "metrics");
        evt_double(e, "acc", v[i]);
        evt_double(e, "score", v[(i + 2) % 7]);
        evt_map_end(e);
        keep(&rc, evt_commit(e));
    }
    keep(&rc, evt_log_json(t, EVT_EV_RESULT,
                           "{\"task\": \"conf_nan\", \"metric\": \"f1\", "
                           "\"filter\": \"none\", \"value\": NaN, "
                           "\"stderr\": Infinity}"));
    evt_ev *e = evt_begin(t, EVT_EV_RUN_END);
    evt_int(e, "end_time_ns", INT64_MIN);
    evt_double(e, "total_seconds", NAN);
    keep(&rc, evt_commit(e));
    return rc;
}

static char *repeat(const char *unit, size_t times)
{
    size_t ul = strlen(unit);
    char *s = malloc(ul * times + 1);
    if (!s)
        return NULL;
    for (size_t i = 0; i < times; i++)
        memcpy(s + i * ul, unit, ul);
    s[ul * times] = '\0';
    return s;
}

static int long_strings(evt_tracker *t)
{
    int rc = EVT_OK;
    char *mib = repeat("abcdefgh\xc3\xa9\xe2\x82\xac ", 1 << 16); /* 1 MiB */
    char *name300 = repeat("n", 300), *name4k = repeat("t", 4096);
    char *key64k = repeat("k", 65536), *slashy = repeat("a/", 8192);
    if (!mib || !name300 || !name4k || !key64k || !slashy) {
        rc = EVT_ENOMEM;
        goto out;
    }
    keep(&rc, named_everywhere(t, name300, strlen(name300)));
    keep(&rc, named_everywhere(t, name4k, strlen(name4k)));
    evt_ev *e = evt_begin(t, EVT_EV_SAMPLE);
    evt_str(e, "task", "conf_long");
    evt_int(e, "doc_id", 1);
    evt_str(e, "filter", "none");
    evt_str(e, "input", mib);
    evt_str(e, "target", mib);
    evt_map_begin(e, "metrics");
    evt_double(e, key64k, 1.0);
    evt_map_end(e);
    keep(&rc, evt_commit(e));
    keep(&rc, result(t, "conf_long", key64k, slashy, 0.5, 0.1, -1));
    keep(&rc, evt_log_scalar(t, slashy, 1.0, 2));
    e = evt_begin(t, EVT_EV_RUN_START);
    evt_str(e, "model_name", slashy);
    evt_str(e, "model_args", mib);
    keep(&rc, evt_commit(e));
out:
    free(mib);
    free(name300);
    free(name4k);
    free(key64k);
    free(slashy);
    return rc;
}

static int control_chars(evt_tracker *t)
{
    static const char all_ctl[] =
        "\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f"
        "\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f"
        "\x7f";
    static const char *const names[] = {
        "ctl\x01\x02\x1b[31mred\x1b[0m\x7f",
        "line\nbreak\r\nX-Injected: 1",
        "tab\tand|pipe|and`tick`and*star*",
        "\xe2\x80\xae" "rtl-override", /* U+202E */
        "\xe2\x80\xa8" "line-separator", /* U+2028 */
        "\xef\xbb\xbf" "bom",
        "emoji-\xf0\x9f\x98\x80-e\xcc\x81-\xe4\xb8\xad\xe6\x96\x87",
        "%s%s%n%x",
        "quote\"back\\slash'single"};
    int rc = EVT_OK;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        keep(&rc, named_everywhere(t, names[i], strlen(names[i])));
    keep(&rc, named_everywhere(t, all_ctl, sizeof all_ctl - 1));
    keep(&rc, named_everywhere(t, "nul\0inside", 10));
    evt_ev *e = evt_begin(t, EVT_EV_SAMPLE);
    evt_str(e, "task", "conf_ctl");
    evt_int(e, "doc_id", 1);
    evt_strn(e, "input", all_ctl, sizeof all_ctl - 1);
    evt_map_begin(e, "metrics");
    evt_strn(e, "k\0ey", "v\0al", 4);
    evt_map_end(e);
    keep(&rc, evt_commit(e));
    return rc;
}

static int path_names(evt_tracker *t, const char *marker)
{
    char up[160], deep[320], abs[160], mixed[160], trail[160];
    snprintf(up, sizeof up, "../../%s-up", marker);
    snprintf(deep, sizeof deep, "../../../../../../../../../../tmp/%s-deep",
             marker);
    snprintf(abs, sizeof abs, "/tmp/%s-abs", marker);
    snprintf(mixed, sizeof mixed, "x/../../../%s-mixed", marker);
    snprintf(trail, sizeof trail, "%s-dir/..", marker);
    const char *const names[] = {"/", "..", ".", "", " ", "~", "-rf",
                                 "a/b/c", "a\\b\\c", "CON", "nul:", up, deep,
                                 abs, mixed, trail};
    int rc = EVT_OK;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        keep(&rc, named_everywhere(t, names[i], strlen(names[i])));
    const char *const models[] = {up, abs, "..", "/"};
    for (size_t i = 0; i < sizeof models / sizeof models[0]; i++) {
        evt_ev *e = evt_begin(t, EVT_EV_RUN_START);
        evt_str(e, "model_name", models[i]);
        evt_str(e, "model_source", models[i]);
        keep(&rc, evt_commit(e));
    }
    return rc;
}

/* depth levels of alternating maps and arrays as JSON text. */
static char *nested_json(int depth)
{
    size_t cap = (size_t)depth * 8 + 16, n = 0;
    char *s = malloc(cap);
    if (!s)
        return NULL;
    for (int i = 0; i < depth; i++)
        n += (size_t)snprintf(s + n, cap - n, i % 2 ? "[" : "{\"k\":");
    n += (size_t)snprintf(s + n, cap - n, "1");
    for (int i = depth; i-- > 0;)
        n += (size_t)snprintf(s + n, cap - n, i % 2 ? "]" : "}");
    return s;
}

/* 15 builder containers (maps and arrays in turn) holding a 15-deep JSON
 * value: with the event's own map, the 31 levels the core allows. */
static void deepest(evt_ev *e, const char *key, const char *json15)
{
    for (int i = 0; i < 15; i++) {
        const char *k = i == 0 ? key : (i - 1) % 2 == 0 ? "k" : NULL;
        if (i % 2 == 0)
            evt_map_begin(e, k);
        else
            evt_array_begin(e, k);
    }
    evt_json(e, "v", json15); /* the innermost container is a map */
    for (int i = 15; i-- > 0;) {
        if (i % 2 == 0)
            evt_map_end(e);
        else
            evt_array_end(e);
    }
}

static int deep_nesting(evt_tracker *t)
{
    char *j15 = nested_json(15);
    if (!j15)
        return EVT_ENOMEM;
    int rc = EVT_OK;
    evt_ev *e = evt_begin(t, EVT_EV_TASK_CONFIG);
    evt_str(e, "task", "conf_deep");
    deepest(e, "config", j15);
    keep(&rc, evt_commit(e));
    e = evt_begin(t, EVT_EV_SAMPLE);
    evt_str(e, "task", "conf_deep");
    evt_int(e, "doc_id", 0);
    deepest(e, "doc", j15);
    evt_map_begin(e, "metrics");
    evt_json(e, "acc", j15);
    evt_map_end(e);
    keep(&rc, evt_commit(e));
    e = evt_begin(t, EVT_EV_RESULT);
    evt_str(e, "task", "conf_deep");
    evt_str(e, "metric", "acc");
    evt_json(e, "value", j15);
    deepest(e, "extra", j15);
    keep(&rc, evt_commit(e));
    e = evt_begin(t, EVT_EV_SAMPLE); /* wide rather than deep */
    evt_str(e, "task", "conf_deep");
    evt_int(e, "doc_id", 1);
    evt_map_begin(e, "metrics");
    for (int i = 0; i < 10000; i++) {
        char k[16];
        snprintf(k, sizeof k, "m%d", i);
        evt_int(e, k, i);
    }
    evt_map_end(e);
    evt_array_begin(e, "resps");
    for (int i = 0; i < 10000; i++)
        evt_array_begin(e, NULL), evt_array_end(e);
    evt_array_end(e);
    keep(&rc, evt_commit(e));
    free(j15);
    return rc;
}

static int empty(evt_tracker *t)
{
    int rc = EVT_OK;
    keep(&rc, evt_log_json(t, EVT_EV_RUN_START, "{}"));
    keep(&rc, evt_log_json(t, EVT_EV_TASK_CONFIG,
                           "{\"task\": \"\", \"config\": {}, "
                           "\"higher_is_better\": {}, \"n-samples\": {}, "
                           "\"groups\": [], \"subtasks\": [], \"alias\": \"\""
                           "}"));
    keep(&rc, evt_log_json(t, EVT_EV_SAMPLE,
                           "{\"task\": \"\", \"doc_id\": 0, \"filter\": \"\", "
                           "\"target\": \"\", \"doc\": {}, \"resps\": [], "
                           "\"filtered_resps\": [], \"metrics\": {}, "
                           "\"input\": \"\"}"));
    keep(&rc, evt_log_json(t, EVT_EV_SAMPLE,
                           "{\"task\": \"conf_empty\", \"doc_id\": 1, "
                           "\"resps\": [[]], \"filtered_resps\": [[]], "
                           "\"metrics\": {\"acc\": null}, \"target\": null}"));
    keep(&rc, evt_log_json(t, EVT_EV_RESULT,
                           "{\"task\": \"\", \"metric\": \"\", "
                           "\"value\": null}"));
    keep(&rc, evt_log_json(t, EVT_EV_RESULT,
                           "{\"task\": \"conf_empty\", \"metric\": \"acc\", "
                           "\"filter\": \"\", \"value\": 0}"));
    keep(&rc, evt_log_json(t, EVT_EV_SCALAR, "{\"tag\": \"\", \"value\": 0}"));
    keep(&rc, evt_log_json(t, EVT_EV_RUN_END, "{}"));
    return rc;
}

static int types(evt_tracker *t)
{
    static const char *const ev[][2] = {
        {"run_start", "{\"model_name\": 12, \"model_source\": [], "
                      "\"model_args\": {\"a\": 1}, \"config\": \"text\", "
                      "\"rank\": \"0\", \"world_size\": null, "
                      "\"date\": 20250101}"},
        {"task_config", "{\"task\": 42, \"version\": {\"v\": 1}, "
                        "\"n-shot\": \"five\", \"higher_is_better\": [\"acc\"],"
                        " \"config\": [1, 2], \"n-samples\": \"many\", "
                        "\"alias\": 7, \"groups\": \"g\", "
                        "\"subtasks\": {\"a\": 1}}"},
        {"task_config", "{\"task\": null}"},
        {"sample", "{\"task\": 42, \"doc_id\": \"seven\", \"filter\": 3, "
                   "\"target\": {\"k\": [1]}, \"resps\": \"text\", "
                   "\"filtered_resps\": 5, \"metrics\": [1, 2], "
                   "\"doc\": \"text\"}"},
        {"sample", "{\"task\": [\"a\"], \"doc_id\": -1}"},
        {"sample", "{\"task\": \"conf_types\", \"doc_id\": 1.5, "
                   "\"metrics\": {\"acc\": \"yes\", \"f1\": [1], "
                   "\"em\": {\"x\": 1}}}"},
        {"sample", "{\"task\": \"conf_types\", "
                   "\"doc_id\": 9223372036854775807}"},
        {"result", "{\"task\": 1, \"metric\": {\"a\": 1}, \"value\": \"0.5\", "
                   "\"filter\": 7, \"stderr\": \"N/A\", \"alias\": []}"},
        {"result", "{\"task\": \"conf_types\", \"metric\": \"acc\", "
                   "\"value\": true, \"stderr\": null}"},
        {"result", "{\"task\": \"conf_types\", \"metric\": \"acc\", "
                   "\"value\": [0.5], \"stderr\": {}}"},
        {"result", "{\"task\": \"conf_types\", \"metric\": \"acc\", "
                   "\"value\": 18446744073709551615}"},
        {"scalar", "{\"tag\": 3.5, \"value\": \"x\"}"},
        {"scalar", "{\"tag\": null, \"value\": null, \"step\": 0}"},
        {"scalar", "{\"tag\": \"big\", \"value\": 1, "
                   "\"step\": 9223372036854775807}"},
        {"run_end", "{\"end_time_ns\": \"soon\", \"total_seconds\": null}"},
    };
    static const uint32_t kinds[] = {
        EVT_EV_RUN_START, EVT_EV_TASK_CONFIG, EVT_EV_TASK_CONFIG,
        EVT_EV_SAMPLE,    EVT_EV_SAMPLE,      EVT_EV_SAMPLE,
        EVT_EV_SAMPLE,    EVT_EV_RESULT,      EVT_EV_RESULT,
        EVT_EV_RESULT,    EVT_EV_RESULT,      EVT_EV_SCALAR,
        EVT_EV_SCALAR,    EVT_EV_SCALAR,      EVT_EV_RUN_END};
    int rc = EVT_OK;
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        keep(&rc, evt_log_json(t, (enum evt_event_kind)kinds[i], ev[i][1]));
    return rc;
}

static int msgpack_types(evt_tracker *t)
{
    /* {"task": "conf_mp", "doc_id": uint64 max, "bin": bin8 3 bytes,
     *  "ext": fixext4, "f32": float32 NaN, "keys": {1: "a", nil: 2,
     *  [1]: true}, "neg": int64 min, "arr": [bin8 0 bytes, ext8 0 bytes]} */
    static const unsigned char m[] = {
        0x88,
        0xa4, 't', 'a', 's', 'k', 0xa7, 'c', 'o', 'n', 'f', '_', 'm', 'p',
        0xa6, 'd', 'o', 'c', '_', 'i', 'd',
        0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xa3, 'b', 'i', 'n', 0xc4, 0x03, 0x00, 0xff, 0x7f,
        0xa3, 'e', 'x', 't', 0xd6, 0x05, 0xde, 0xad, 0xbe, 0xef,
        0xa3, 'f', '3', '2', 0xca, 0x7f, 0xc0, 0x00, 0x00,
        0xa4, 'k', 'e', 'y', 's', 0x83, 0x01, 0xa1, 'a', 0xc0, 0x02,
        0x91, 0x01, 0xc3,
        0xa3, 'n', 'e', 'g',
        0xd3, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0xa3, 'a', 'r', 'r', 0x92, 0xc4, 0x00, 0xc7, 0x00, 0x01};
    static const unsigned char bin_value[] = {0xc4, 0x02, 0x00, 0x01};
    int rc = evt_log_sample_msgpack(t, m, sizeof m);
    evt_ev *e = evt_begin(t, EVT_EV_RESULT);
    evt_str(e, "task", "conf_mp");
    evt_str(e, "metric", "acc");
    evt_msgpack(e, "value", bin_value, sizeof bin_value);
    keep(&rc, evt_commit(e));
    return rc;
}

int conf_send_hostile(evt_tracker *t, enum conf_hostile which,
                      const char *marker)
{
    int rc = run_start(t);
    switch (which) {
    case CONF_H_NONFINITE: keep(&rc, nonfinite(t)); break;
    case CONF_H_LONG_STRINGS: keep(&rc, long_strings(t)); break;
    case CONF_H_CONTROL_CHARS: keep(&rc, control_chars(t)); break;
    case CONF_H_PATH_NAMES: keep(&rc, path_names(t, marker)); break;
    case CONF_H_DEEP_NESTING: keep(&rc, deep_nesting(t)); break;
    case CONF_H_EMPTY: keep(&rc, empty(t)); break;
    case CONF_H_TYPES: keep(&rc, types(t)); break;
    case CONF_H_MSGPACK_TYPES: keep(&rc, msgpack_types(t)); break;
    }
    keep(&rc, evt_log_run_end(t));
    return rc;
}
