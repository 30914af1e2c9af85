/* bench_jsonl.c -- samples through the jsonl sink, end to end.
 *
 * Logs N sample events (~400 bytes, the shape of an lm-eval samples line)
 * through the jsonl sink (fsync "none") and closes the tracker; prints
 * samples/s and MB/s of JSONL written, then the same bytes copied by
 * `cat` into the same folder, then python3 json.dumps + append of the
 * same records (bench/py_jsonl.py), each timed in this one run. Also the
 * CPU time of the logging thread (the builder) and of the other threads
 * (the sink's worker: transformation and write(2)), which tells which
 * side bounds the throughput. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>

#include "evtrack/evtrack.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_s(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Seconds of system (kernel) CPU time of the whole process so far. */
static double sys_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static const char prompt[] =
    "The following are multiple choice questions (with answers) about "
    "abstract algebra.\n\nFind all c in Z_3 such that Z_3[x]/(x^2 + c) is "
    "a field.\nA. 0\nB. 1\nC. 2\nD. 3\nAnswer:";

static void log_sample(evt_tracker *t, int64_t i)
{
    evt_ev *e = evt_begin(t, EVT_EV_SAMPLE);
    evt_str(e, "task", "mmlu_abstract_algebra");
    evt_int(e, "doc_id", i);
    evt_str(e, "target", "B");
    evt_array_begin(e, "arguments");
    evt_str(e, NULL, prompt);
    evt_str(e, NULL, " B");
    evt_array_end(e);
    evt_array_begin(e, "resps");
    evt_array_begin(e, NULL);
    evt_str(e, NULL, "-0.6931471805599453");
    evt_str(e, NULL, "False");
    evt_array_end(e);
    evt_array_end(e);
    evt_array_begin(e, "filtered_resps");
    evt_str(e, NULL, "-0.6931471805599453");
    evt_array_end(e);
    evt_str(e, "doc_hash",
            "3f2a5b0c9e8d7f6a1b2c3d4e5f60718293a4b5c6d7e8f9012345678901234567");
    evt_map_begin(e, "metrics");
    evt_double(e, "acc", (double)(i % 2));
    evt_map_end(e);
    if (evt_commit(e) != EVT_OK) {
        fprintf(stderr, "commit failed\n");
        exit(1);
    }
}

static int run(const char *cmd)
{
    int rc = system(cmd);
    if (rc != 0)
        fprintf(stderr, "failed: %s\n", cmd);
    return rc;
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? strtol(argv[1], NULL, 10) : 1000000;
    char dir[] = "/tmp/evt-bench-jsonl-XXXXXX";
    if (!mkdtemp(dir))
        return 1;
    char json[1024], err[EVT_ERRMSG_SIZE];
    snprintf(json, sizeof json,
             "{\"output_dir\": \"%s\", \"run_id\": \"bench\", \"sinks\": "
             "[{\"plugin\": \"jsonl\", \"config\": {\"fsync\": \"none\", "
             "\"dir\": \"out\"}}]}", dir);
    evt_tracker *t;
    if (evt_open_json(json, NULL, &t, err, sizeof err) != EVT_OK) {
        fprintf(stderr, "open: %s\n", err);
        return 1;
    }
    evt_log_json(t, EVT_EV_RUN_START,
                 "{\"model_name\": \"bench/model\", \"date\": \"bench\"}");
    double t0 = now_s(), p0 = cpu_s(CLOCK_PROCESS_CPUTIME_ID);
    double m0 = cpu_s(CLOCK_THREAD_CPUTIME_ID), s0 = sys_s();
    for (long i = 0; i < n; i++)
        log_sample(t, i);
    double mdt = cpu_s(CLOCK_THREAD_CPUTIME_ID) - m0;
    evt_close(t, -1);
    double dt = now_s() - t0;
    double pdt_cpu = cpu_s(CLOCK_PROCESS_CPUTIME_ID) - p0;
    double sdt = sys_s() - s0;
    char path[512];
    snprintf(path, sizeof path, "%s/out/bench_samples_mmlu_abstract_algebra"
             ".jsonl", dir);
    struct stat st;
    if (stat(path, &st) != 0) {
        fprintf(stderr, "no output at %s\n", path);
        return 1;
    }
    double mb = (double)st.st_size / 1e6;
    printf("jsonl sink, %ld samples, %.1f MB (%.0f B/line)\n", n, mb,
           (double)st.st_size / (double)n);
    printf("%-28s %12s %10s %10s\n", "path", "samples/s", "MB/s", "us/sample");
    printf("%-28s %12.0f %10.1f %10.3f\n", "evtrack jsonl (log->close)",
           (double)n / dt, mb / dt, dt * 1e6 / (double)n);
    printf("  cpu us/sample: logging thread %.3f, other threads (sink) "
           "%.3f; kernel (all threads) %.3f\n", mdt * 1e6 / (double)n,
           (pdt_cpu - mdt) * 1e6 / (double)n, sdt * 1e6 / (double)n);
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "cat '%s' > '%s/cat-copy.jsonl'", path, dir);
    double c0 = now_s();
    if (run(cmd) != 0)
        return 1;
    double cdt = now_s() - c0;
    printf("%-28s %12.0f %10.1f %10.3f\n", "cat of the same bytes",
           (double)n / cdt, mb / cdt, cdt * 1e6 / (double)n);
    snprintf(cmd, sizeof cmd, "python3 '%s/py_jsonl.py' '%s' '%s/py.jsonl'",
             BENCH_SOURCE_DIR, path, dir);
    FILE *py = getenv("BENCH_NO_PYTHON") ? NULL : popen(cmd, "r");
    double pdt = -1;
    if (py) {
        if (fscanf(py, "%lf", &pdt) != 1)
            pdt = -1;
        pclose(py);
    }
    if (pdt > 0) {
        printf("%-28s %12.0f %10.1f %10.3f\n", "python json.dumps + append",
               (double)n / pdt, mb / pdt, pdt * 1e6 / (double)n);
        printf("ratios: %.1fx python, %.0f%% of cat\n", pdt / dt,
               100.0 * cdt / dt);
        printf("RESULT jsonl_samples_per_s %.0f\n", (double)n / dt);
        printf("RESULT jsonl_mb_per_s %.1f\n", mb / dt);
        printf("RESULT jsonl_x_python %.1f\n", pdt / dt);
        printf("RESULT jsonl_pct_of_cat %.0f\n", 100.0 * cdt / dt);
    }
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    run(cmd);
    return 0;
}
