/* fuzz_config.c -- the config parser (core/config.c): evt__config_parse on
 * arbitrary text, then, for each parsed sink, evt__config_bind against a
 * key table of every type and the cfg_* accessors the host API exposes.
 * Relative paths resolve against a private temporary folder; plugins are
 * looked up (stat) but never loaded. ${EVT_FUZZ_VAR} expands to a set
 * value; other variables are usually unset. */
#include "fuzz_util.h"

#include "config.h"

static const struct evt_config_key keys[] = {
    {"path", EVT_CFG_STR, 0, "\"out.jsonl\"", ""},
    {"n", EVT_CFG_INT, 0, "3", ""},
    {"ratio", EVT_CFG_DOUBLE, 0, "0.5", ""},
    {"on", EVT_CFG_BOOL, 0, "true", ""},
    {"extra", EVT_CFG_JSON, 0, NULL, ""},
    {"token", EVT_CFG_STR, 0, NULL, ""},
    {NULL, 0, 0, NULL, NULL}};

static const struct evt_config_key required[] = {
    {"must", EVT_CFG_INT, 1, NULL, ""}, {NULL, 0, 0, NULL, NULL}};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    setenv("EVT_FUZZ_VAR", "value-of-the-variable", 1);
    unsetenv("EVTRACK_PLUGIN_PATH");
    fz_tmpdir();
    return 0;
}

static void use_sink(struct evt__sink_spec *s, const char *source)
{
    char err[512];
    FZ_CHECK(s->name != NULL && s->path != NULL && s->config != NULL);
    FZ_CHECK(s->where[0] != '\0');
    if (evt__config_bind(s->config, keys, "fuzz", source, s->where, err,
                         sizeof err) == EVT_OK) {
        (void)evt__cfg_str(s->config, "path", "");
        (void)evt__cfg_int(s->config, "n", 0);
        (void)evt__cfg_double(s->config, "ratio", 0);
        (void)evt__cfg_bool(s->config, "on", 0);
        const char *j = evt__cfg_json(s->config, "extra");
        FZ_CHECK(!j || j[0] != '\0');
        (void)evt__cfg_json(s->config, "path");
    } else {
        FZ_CHECK(strncmp(err, source, strlen(source)) == 0);
    }
    (void)evt__config_bind(s->config, required, "fuzz", source, s->where,
                           err, sizeof err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct evt__config_file c;
    char err[512];
    err[0] = '\0';
    int rc = evt__config_parse((const char *)data, size, "fuzz.json",
                               fz_tmpdir(), &c, err, sizeof err);
    if (rc != EVT_OK) {
        /* Every error names the source (tokens are scrubbed later, by
         * evt_open_*, which this target does not reach). */
        FZ_CHECK(strncmp(err, "fuzz.json", 9) == 0);
        return 0;
    }
    FZ_CHECK(c.output_dir && c.state_dir && c.plugin_dirs);
    for (size_t i = 0; i < c.nsinks; i++)
        use_sink(&c.sinks[i], c.source);
    evt__config_free(&c);
    return 0;
}
