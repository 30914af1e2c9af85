/* evtrack/sdk/results.h -- aggregate a run's events into the results dict
 * of lmms-eval ("{date}_results.json"), lm-evaluation-harness
 * ("results_{date}.json") or lighteval ("results/{org}/{model}/
 * results_{date}.json").
 *
 * Feed decoded events (run_start, task_config, result, sample, run_end;
 * docs/EVENTS.md) in delivery order with evt_results_add(); render the
 * dict at any time, as many times as wanted, as JSON text (Python
 * json.dumps(indent=2) bytes, no trailing newline), as msgpack bytes, or as
 * a cJSON tree for evt_make_table(). The key order, the values and the
 * hashes follow shared/reference/formats.md sections 2, 2.4, 2.5 and 4;
 * the rules and the differences from upstream are in
 * docs/sinks/local-json.md.
 *
 * What each event contributes:
 *  - run_start (the last one wins): config, model_source, model_name,
 *    model_args, git_hash, date and the optional top-level fields of the
 *    layout (git_branch, lmms_eval_version, pretty_env_info, ...,
 *    system_instruction, chat_template, fewshot_as_multiturn, start_time);
 *  - run_end (the last one wins): the end time, and the same optional
 *    fields (throughput, usage, efficiency, end_time,
 *    total_evaluation_time_seconds ...), which override run_start's;
 *  - task_config (the last one per task wins): configs, versions, n-shot,
 *    higher_is_better, n-samples, alias, groups, subtasks;
 *  - result: one "<metric>,<filter>" value with its stderr and companion
 *    statistics; the last one per (task, metric, filter) wins and keeps
 *    the place of the first;
 *  - sample: only its doc_hash (or the hash of its doc), prompt_hash and
 *    target_hash, for task_hashes, the count, for n-samples when the
 *    task_config gives none, and the xxh64 of its query, input_tokens and
 *    output_tokens (8 bytes each, when present) for lighteval's
 *    summary_tasks. Samples are not kept.
 * Events repeated by an at-least-once delivery (same run_id, seq not
 * above the last one taken from that run_id) are ignored.
 *
 * Not thread-safe: one aggregator belongs to one thread at a time (a
 * sink's worker). Rendering does not change the aggregator. */
#ifndef EVTRACK_SDK_RESULTS_H
#define EVTRACK_SDK_RESULTS_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>
#include <msgpack.h>

#include "evtrack/sdk/json_write.h"

#ifdef __cplusplus
extern "C" {
#endif

struct evt_results; /* opaque aggregator */

enum evt_results_layout {
    EVT_RESULTS_LMMS_EVAL = 0, /* lmms-eval 0.7: {date}_results.json */
    EVT_RESULTS_LM_EVAL = 1,   /* lm-eval 0.4.x: results_{date}.json */
    /* lighteval 0.13: results/{org}/{model}/results_{date}.json */
    EVT_RESULTS_LIGHTEVAL = 2
};

/* Non-finite floats (NaN, Infinity, -Infinity) anywhere in the dict. */
enum evt_results_nan {
    /* Strict JSON: each becomes null, and the top-level member
     * "nonfinite_values" (last, present only when something was replaced)
     * maps the JSON path of every replaced value to its token, e.g.
     * {"$.results.mme['acc,none']": "NaN"}. */
    EVT_RESULTS_NAN_STRICT = 0,
    /* As json.dumps: bare NaN / Infinity / -Infinity (not JSON). */
    EVT_RESULTS_NAN_BARE = 1
};

#define EVT_RESULTS_MAX_SECRETS 8

/* Rendering options. A zero-initialised struct is the default: lmms-eval,
 * strict NaN, no redaction, no secrets, no run stamp. */
struct evt_results_opts {
    enum evt_results_layout layout;
    enum evt_results_nan nan;
    /* 1: redact the run config, model_args and the model name as
     * lmms-eval does (formats.md 2.3): values of sensitive keys become
     * "[REDACTED]", as do "<...token|secret|password|api_key>=value" values
     * and hf_ tokens inside strings. */
    int redact;
    /* Secret values (e.g. $HF_TOKEN) never written, whatever redact says:
     * a string equal to one becomes "[REDACTED]", and so does every
     * occurrence inside a string (keys included) when the secret has at
     * least 8 bytes. NULL or empty entries are skipped. */
    const char *secrets[EVT_RESULTS_MAX_SECRETS];
    /* Date for the file name and the lmms-eval "date" member when
     * run_start has no string "date" (a sink passes api->run_stamp).
     * NULL: the UTC time of the first event as YYYYMMDD_HHMMSS. */
    const char *run_stamp;
};

/* Fill o->secrets with copies of the values of the environment variables
 * that hold tokens ($HF_TOKEN, $HUGGING_FACE_HUB_TOKEN, $WANDB_API_KEY),
 * kept in store (free with evt_results_free_secrets). Call it on the
 * thread that creates the sink: getenv is not safe against a concurrent
 * setenv. 0, or -1 on OOM. */
int evt_results_load_secrets(struct evt_results_opts *o,
                             char *store[EVT_RESULTS_MAX_SECRETS]);
void evt_results_free_secrets(char *store[EVT_RESULTS_MAX_SECRETS]);

/* A new, empty aggregator, or NULL on OOM. */
struct evt_results *evt_results_new(void);

void evt_results_free(struct evt_results *r);

/* Take one event: a decoded event map (docs/EVENTS.md: "kind", "run_id",
 * "seq", "time_ns", then its fields). The aggregator keeps its own copy of
 * what it needs. Returns
 *   1  the event was taken;
 *   0  it was ignored: a repeat, or a kind that adds nothing (scalar);
 *  -1  it is not a usable event: no string "kind", a task_config, result
 *      or sample without a string "task", a result without a string
 *      "metric" or without "value" (err says which, e.g.
 *      'result event: missing string field "metric"');
 *  -2  out of memory; the aggregator is unchanged, so the same event may
 *      be given again.
 * err may be NULL when errlen is 0. */
int evt_results_add(struct evt_results *r, const msgpack_object *event,
                    char *err, size_t errlen);

/* The same from the event's msgpack bytes. */
int evt_results_add_bytes(struct evt_results *r, const void *buf, size_t len,
                          char *err, size_t errlen);

/* Events taken so far (a sink compares it to know whether to rewrite). */
uint64_t evt_results_count(const struct evt_results *r);

/* 1 once a run_start / run_end was taken. */
int evt_results_has_run_start(const struct evt_results *r);
int evt_results_has_run_end(const struct evt_results *r);

/* Append the results dict as JSON (indent 2, UTF-8 raw, no trailing
 * newline) to out. 0, or -1 with err set (out is then unchanged). */
int evt_results_render_json(const struct evt_results *r,
                            const struct evt_results_opts *o,
                            struct evt_buf *out, char *err, size_t errlen);

/* Append the results dict as one msgpack map to out. 0 or -1. */
int evt_results_render_msgpack(const struct evt_results *r,
                               const struct evt_results_opts *o,
                               struct evt_buf *out, char *err,
                               size_t errlen);

/* The results dict as a cJSON tree (free with cJSON_Delete), e.g. for
 * evt_make_table(). Ints above 2^53 lose precision (cJSON numbers are
 * doubles); in bare NaN mode non-finite values are cJSON numbers holding
 * them. NULL with err set on failure. */
cJSON *evt_results_to_cjson(const struct evt_results *r,
                            const struct evt_results_opts *o, char *err,
                            size_t errlen);

/* Where the tool would write the file, relative to its output folder:
 * *subdir is the sanitized model name made safe as one path component
 * ("" when the model name is empty; files then go directly into the
 * output folder) and *name is "{date}_results.json" (lmms-eval) or
 * "results_{date}.json" (lm-eval, lighteval), date made safe as a
 * component too. For lighteval *subdir is "results/{org}/{model}" (two or
 * three safe components: "results/{model}" for a name without '/',
 * "results" for an empty one). Both are heap strings (free()). 0, or -1
 * on OOM. */
int evt_results_file_path(const struct evt_results *r,
                          const struct evt_results_opts *o, char **subdir,
                          char **name);

/* The subdir of a run's files, as evt_results_file_path gives it, from a
 * run_start event's map alone: the model name (run_start's "model_name",
 * else the pretrained=/model=/... value of "model_args"), sanitized for
 * the layout and made one safe path component; "" when there is none.
 * Sinks other than local-json use it so that a run's samples land next
 * to its results. Heap string; NULL on OOM. */
char *evt_run_model_subdir(const msgpack_object *run_start,
                           const struct evt_results_opts *o);

/* "lmms-eval" / "lm-eval" / "lighteval" -> *out; "strict" / "bare" ->
 * *out. 0, or -1 for any other name (then *out is unchanged). */
int evt_results_layout_from_name(const char *name,
                                 enum evt_results_layout *out);
int evt_results_nan_from_name(const char *name, enum evt_results_nan *out);

/* lmms-eval's string redaction (formats.md 2.3, rules 1 and 2) of s:
 * "<key ending in api_key|token|secret|password>=value" values and
 * hf_ tokens of 20+ letters/digits become "[REDACTED]". Heap string, or
 * NULL on OOM. */
char *evt_results_redact_text(const char *s, size_t len);

/* SHA-256 of data[0..len) as 64 lowercase hex digits and a NUL. */
void evt_results_sha256_hex(const void *data, size_t len, char out[65]);

/* xxh64 (seed 0) of data[0..len) as 16 lowercase hex digits and a NUL, as
 * lighteval's hexdigest(); xxh64("") is "ef46db3751d8e999". */
void evt_results_xxh64_hex(const void *data, size_t len, char out[17]);

/* lighteval's compiled hash (formats.md 4): the xxh64 of the n hashes
 * (each 16 hex digits) sorted and concatenated; n may be 0. E.g.
 * {"59e69564209a91fb", "3351f56a8a456915"} -> "03b164c76f6f3dc5".
 * 0, or -1 on OOM or a hash that is not 16 lowercase hex digits. */
int evt_results_xxh64_compile(const char *const *hex, size_t n,
                              char out[17]);

#ifdef __cplusplus
}
#endif
#endif /* EVTRACK_SDK_RESULTS_H */
