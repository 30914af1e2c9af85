/* test_examples.c -- examples/train_loop.c and examples/train_loop.py:
 * each writes one TensorBoard event file whose scalars are at the right
 * steps (train/loss every --log-every steps; eval/toy_qa/acc, its stderr
 * and val/loss every --eval-every steps), and one JSON Lines samples file
 * with 16 samples per evaluation, at that step, whose mean is the logged
 * accuracy. The C example runs in this process (so ASan and valgrind see
 * it; its main is renamed by the build) and as the built program; the
 * Python one ($EVT_TEST_PYTHON, unset under the sanitizers) must write the
 * same numbers as the C one. */
#include "test_util.h"

#include <math.h>
#include <sys/wait.h>

#include <cjson/cJSON.h>

#include "tb_reader.h"

int evt_example_train_loop_main(int argc, char **argv);

#define DOCS 16

struct pt {
    int64_t step;
    char tag[64];
    float value;
};

struct series {
    struct pt *p;
    size_t n;
};

struct spec {
    long steps, eval_every, log_every;
};

/* The one entry of dir whose name starts with prefix and ends with
 * suffix (heap path). */
static char *only_entry(const char *dir, const char *prefix,
                        const char *suffix)
{
    DIR *d = opendir(dir);
    if (!d)
        fail_msg("%s: cannot open the folder", dir);
    char *found = NULL;
    struct dirent *de;
    size_t pl = strlen(prefix), sl = strlen(suffix);
    while ((de = readdir(d))) {
        size_t len = strlen(de->d_name);
        if (de->d_name[0] == '.' || len < pl + sl ||
            strncmp(de->d_name, prefix, pl) != 0 ||
            strcmp(de->d_name + len - sl, suffix) != 0)
            continue;
        if (found)
            fail_msg("%s: two entries match %s*%s", dir, prefix, suffix);
        found = tu_fmt("%s/%s", dir, de->d_name);
    }
    closedir(d);
    if (!found)
        fail_msg("%s: no entry %s*%s", dir, prefix, suffix);
    return found;
}

/* Every simple_value of the run's only event file, in file order. */
static struct series load_scalars(const char *out)
{
    char *tb = tu_fmt("%s/tb", out);
    char *run = only_entry(tb, "", "");
    char *path = only_entry(run, "events.out.tfevents.", "");
    struct tbr_file f;
    char err[512];
    if (tbr_load_path(&f, path, err, sizeof err) != TBR_OK)
        fail_msg("%s", err);
    assert_false(f.recs.torn);
    struct series s = {calloc(f.n + 1, sizeof(struct pt)), 0};
    assert_non_null(s.p);
    int texts = 0;
    for (size_t i = 0; i < f.n; i++) {
        for (size_t j = 0; j < f.ev[i].nvalues; j++) {
            const struct tbr_value *v = &f.ev[i].values[j];
            texts += tbr_bytes_eq(&v->plugin_name, "text");
            if (!v->has_simple)
                continue;
            assert_true(v->tag.len < sizeof s.p[0].tag);
            struct pt *p = &s.p[s.n++];
            p->step = f.ev[i].step;
            memcpy(p->tag, v->tag.p, v->tag.len + 1);
            p->value = v->simple_value;
        }
    }
    assert_int_equal(texts, 1); /* the results table, at run_end */
    tbr_file_free(&f);
    free(path), free(run), free(tb);
    return s;
}

/* The value of tag at step; fails if it is not there exactly once. */
static float value_at(const struct series *s, const char *tag, int64_t step)
{
    size_t hits = 0;
    float v = 0;
    for (size_t i = 0; i < s->n; i++)
        if (s->p[i].step == step && strcmp(s->p[i].tag, tag) == 0)
            hits++, v = s->p[i].value;
    if (hits != 1)
        fail_msg("%s at step %lld: found %zu times", tag, (long long)step,
                 hits);
    return v;
}

static void check_scalars(const struct series *s, const struct spec *sp)
{
    size_t evals = (size_t)(sp->steps / sp->eval_every);
    assert_int_equal(s->n, (size_t)(sp->steps / sp->log_every) + 3 * evals);
    for (long st = sp->log_every; st <= sp->steps; st += sp->log_every) {
        float loss = value_at(s, "train/loss", st);
        assert_true(loss > 0.25f && loss < 2.4f);
    }
    for (long st = sp->eval_every; st <= sp->steps; st += sp->eval_every) {
        float acc = value_at(s, "eval/toy_qa/acc", st);
        assert_true(acc >= 0 && acc <= 1);
        assert_float_equal(acc * DOCS, roundf(acc * DOCS), 1e-6);
        float se = value_at(s, "stderr_eval/toy_qa/acc", st);
        assert_float_equal(se, (float)sqrt(acc * (1.0 - acc) / (DOCS - 1)),
                           1e-6);
        assert_true(value_at(s, "val/loss", st) > 0.3f);
    }
    /* the loss goes down */
    assert_true(value_at(s, "train/loss", sp->steps) <
                value_at(s, "train/loss", sp->log_every));
}

/* The samples file: DOCS lines per evaluation, in order, at its step, and
 * their mean accuracy is the scalar logged at that step. */
static char *check_samples(const char *out, const struct series *s,
                           const struct spec *sp)
{
    char *dir = tu_fmt("%s/example__tiny-lm", out);
    char *path = only_entry(dir, "", "_samples_toy_qa.jsonl");
    char *text = tu_read_file(path, NULL);
    assert_non_null(text);
    long evals = sp->steps / sp->eval_every;
    char *line = text;
    for (long e = 1; e <= evals; e++) {
        double hits = 0;
        for (int d = 0; d < DOCS; d++) {
            char *nl = strchr(line, '\n');
            assert_non_null(nl);
            *nl = '\0';
            cJSON *j = cJSON_Parse(line);
            assert_non_null(j);
            assert_int_equal(cJSON_GetObjectItem(j, "doc_id")->valueint, d);
            assert_int_equal(cJSON_GetObjectItem(j, "step")->valueint,
                             e * sp->eval_every);
            hits += cJSON_GetObjectItem(j, "acc")->valuedouble;
            cJSON_Delete(j);
            *nl = '\n';
            line = nl + 1;
        }
        assert_float_equal(
            (float)(hits / DOCS),
            value_at(s, "eval/toy_qa/acc", e * sp->eval_every), 1e-9);
    }
    assert_string_equal(line, ""); /* nothing more */
    free(path), free(dir);
    return text;
}

static char *check_outputs(const char *out, const struct spec *sp,
                           struct series *s)
{
    *s = load_scalars(out);
    check_scalars(s, sp);
    return check_samples(out, s, sp);
}

/* Run a shell command; its exit status (-1 when it did not exit). */
static int run(const char *cmd)
{
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static char *example_bin(void)
{
    return tu_fmt("%s/bin/evtrack-example-train-loop",
                  getenv("EVT_TEST_BUILD_DIR"));
}

/* "<env> EVTRACK_LIB=... python3 examples/train_loop.py <args>", or NULL
 * when the build runs no Python. EVT_TEST_PYTHON_ENV holds the ASan
 * runtime's LD_PRELOAD in a sanitizer build (tests/CMakeLists.txt). */
static char *python_cmd(const char *args)
{
    const char *py = getenv("EVT_TEST_PYTHON");
    const char *env = getenv("EVT_TEST_PYTHON_ENV");
    if (!py || !*py)
        return NULL;
    return tu_fmt("%s PYTHONDONTWRITEBYTECODE=1 "
                  "EVTRACK_LIB=%s/lib/libevtrack.so %s "
                  "%s/examples/train_loop.py %s",
                  env ? env : "", getenv("EVT_TEST_BUILD_DIR"), py,
                  getenv("EVT_TEST_SOURCE_DIR"), args);
}

static void test_c_in_process(void **state)
{
    (void)state;
    char *dir = tu_tmpdir();
    char *out = tu_fmt("%s/out", dir);
    char *argv[] = {"train_loop", "-o", out, "--steps", "400",
                    "--eval-every", "100", "--log-every", "20", NULL};
    assert_int_equal(evt_example_train_loop_main(9, argv), 0);
    struct spec sp = {400, 100, 20};
    struct series s;
    free(check_outputs(out, &sp, &s));
    free(s.p);
    free(out);
    tu_rmtree(dir);
}

static void test_c_program(void **state)
{
    (void)state;
    char *dir = tu_tmpdir(), *bin = example_bin();
    char *cmd = tu_fmt("cd %s && %s >stdout.txt", dir, bin);
    assert_int_equal(run(cmd), 0); /* the defaults: ./train-loop-out */
    char *stdout_text = tu_fmt("%s/stdout.txt", dir);
    char *printed = tu_read_file(stdout_text, NULL);
    assert_non_null(strstr(printed, "1000 steps, evaluating every 200\n"));
    assert_non_null(strstr(printed, "sink tensorboard-events   written 113, "
                                    "dead-lettered 0\n"));
    assert_non_null(strstr(printed, "sink jsonl                written 82, "
                                    "dead-lettered 0\n"));
    assert_non_null(strstr(printed, "TensorBoard: tensorboard --logdir "
                                    "train-loop-out/tb\n"));
    char *out = tu_fmt("%s/train-loop-out", dir);
    struct spec sp = {1000, 200, 10};
    struct series s;
    free(check_outputs(out, &sp, &s));
    free(s.p);
    free(printed), free(stdout_text), free(out), free(cmd), free(bin);
    tu_rmtree(dir);
}

static void test_python_matches_c(void **state)
{
    (void)state;
    char *probe = python_cmd("");
    if (!probe)
        skip(); /* no python3, or a sanitizer without LD_PRELOAD support */
    free(probe);
    char *dir = tu_tmpdir(), *bin = example_bin();
    const char *args = "--steps 600 --eval-every 150 --log-every 25 "
                       "--seed 7";
    char *cmd_c = tu_fmt("%s -o %s/c %s >/dev/null", bin, dir, args);
    char *py_args = tu_fmt("-o %s/py %s >/dev/null", dir, args);
    char *cmd_py = python_cmd(py_args);
    free(py_args);
    assert_int_equal(run(cmd_c), 0);
    assert_int_equal(run(cmd_py), 0);
    struct spec sp = {600, 150, 25};
    struct series sc, sp_;
    char *oc = tu_fmt("%s/c", dir), *op = tu_fmt("%s/py", dir);
    char *jc = check_outputs(oc, &sp, &sc);
    char *jp = check_outputs(op, &sp, &sp_);
    /* the same numbers, bit for bit, and the same sample lines */
    assert_int_equal(sc.n, sp_.n);
    for (size_t i = 0; i < sc.n; i++) {
        assert_int_equal(sc.p[i].step, sp_.p[i].step);
        assert_string_equal(sc.p[i].tag, sp_.p[i].tag);
        assert_memory_equal(&sc.p[i].value, &sp_.p[i].value, sizeof(float));
    }
    assert_string_equal(jc, jp);
    free(jc), free(jp), free(sc.p), free(sp_.p), free(oc), free(op);
    free(cmd_c), free(cmd_py), free(bin);
    tu_rmtree(dir);
}

static void test_errors(void **state)
{
    (void)state;
    char *dir = tu_tmpdir(), *bin = example_bin();
    char *cmd = tu_fmt("%s -c %s/missing.json 2>%s/err.txt", bin, dir, dir);
    assert_int_equal(run(cmd), 2);
    char *errp = tu_fmt("%s/err.txt", dir);
    char *err = tu_read_file(errp, NULL);
    char *want = tu_fmt("train_loop: %s/missing.json: cannot open", dir);
    assert_non_null(strstr(err, want));
    free(cmd), free(err);
    cmd = tu_fmt("%s --steps 0 2>%s", bin, errp);
    assert_int_equal(run(cmd), 2);
    err = tu_read_file(errp, NULL);
    assert_non_null(strstr(err, "usage: "));
    char *py_args = tu_fmt("-c %s/missing.json 2>%s", dir, errp);
    char *py_cmd = python_cmd(py_args);
    free(py_args);
    if (py_cmd) {
        free(cmd), free(err);
        cmd = py_cmd;
        assert_int_equal(run(cmd), 2);
        err = tu_read_file(errp, NULL);
        assert_non_null(strstr(err, want + strlen("train_loop")));
    }
    free(want), free(err), free(errp), free(cmd), free(bin);
    tu_rmtree(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_c_in_process),
        cmocka_unit_test(test_c_program),
        cmocka_unit_test(test_python_matches_c),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
