/* fuzz_ingest.c -- the readers of `evtrack ingest` (core/cli/ingest.c):
 * a results file of lmms-eval, lm-eval (0.4 and v0.3) or lighteval and a
 * samples file of the same run, replayed as events into a tracker with no
 * sink (the events are still built and validated by evt_commit).
 * Input: the results file's text, optionally followed by a line
 * "#samples TASK" and the samples file's text (JSONL, or one JSON array).
 * The files are written to a private temporary folder, named as the tool
 * names them: "{date}_results.json" + "{date}_samples_{TASK}.jsonl" when
 * the text mentions "lmms", else "results_{date}.json" +
 * "samples_{TASK}_{date}.jsonl". */
#include "fuzz_util.h"

#include "evtrack/evtrack.h"
#include "cli/ingest.h"

#define SEP "\n#samples "

static evt_tracker *tracker;
static char dir[128];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    char err[EVT_ERRMSG_SIZE];
    setenv("EVTRACK_LOG", "quiet", 0); /* EVTRACK_LOG=debug to see */
    snprintf(dir, sizeof dir, "%s/in", fz_tmpdir());
    FZ_CHECK(mkdir(dir, 0700) == 0);
    if (evt_open_json("{\"sinks\": [], \"run_id\": \"fuzz\"}", fz_tmpdir(),
                      &tracker, err, sizeof err) != EVT_OK) {
        fprintf(stderr, "open: %s\n", err);
        abort();
    }
    return 0;
}

/* The task part of the samples file name: at most 64 bytes, no '/' or
 * NUL, never "", "." or "..". */
static void task_name(const char *p, size_t n, char out[72])
{
    size_t o = 0;
    for (size_t i = 0; i < n && o < 64; i++)
        out[o++] = p[i] == '/' || p[i] == '\0' ? '_' : p[i];
    out[o] = '\0';
    if (o == 0 || strcmp(out, ".") == 0 || strcmp(out, "..") == 0)
        snprintf(out, 72, "t");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *in = (const char *)data;
    const char *sep = memmem(in, size, SEP, strlen(SEP));
    size_t rlen = sep ? (size_t)(sep - in) : size;
    int lmms = memmem(in, rlen, "lmms", 4) != NULL;
    char results[256], samples[512], task[72];
    snprintf(results, sizeof results, lmms ? "%s/20240101_000000_results.json"
                                           : "%s/results_2024-01-01T00-00-00"
                                             ".000000.json", dir);
    samples[0] = '\0';
    if (sep) {
        const char *t = sep + strlen(SEP), *end = in + size;
        const char *nl = memchr(t, '\n', (size_t)(end - t));
        task_name(t, (size_t)((nl ? nl : end) - t), task);
        const char *body = nl ? nl + 1 : end;
        snprintf(samples, sizeof samples,
                 lmms ? "%s/20240101_000000_samples_%s.jsonl"
                      : "%s/samples_%s_2024-01-01T00-00-00.000000.jsonl",
                 dir, task);
        fz_write_file(samples, body, (size_t)(end - body));
    }
    char *text = fz_cstr(data, rlen);
    (void)evt_cli_ingest_text(tracker, results, text, rlen);
    /* The text is put back as it was. */
    FZ_CHECK(memcmp(text, data, rlen) == 0 && text[rlen] == '\0');
    free(text);
    if (samples[0])
        unlink(samples);
    return 0;
}
