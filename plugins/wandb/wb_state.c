/* wb_state.c -- the confirmed state of a W&B run (wb_state.h). */
#include "wb_state.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "evtrack/sdk/files.h"

int wb_state_set_str(char **slot, const char *s)
{
    char *c = s ? strdup(s) : NULL;
    if (s && !c)
        return -1;
    free(*slot);
    *slot = c;
    return 0;
}

static char *read_all(const char *path, int *missing)
{
    FILE *f = fopen(path, "rb");
    *missing = !f && errno == ENOENT;
    if (!f)
        return NULL;
    size_t cap = 4096, n = 0, k;
    char *buf = malloc(cap);
    while (buf && (k = fread(buf + n, 1, cap - n - 1, f)) > 0) {
        n += k;
        if (n + 1 == cap) {
            char *b = realloc(buf, cap *= 2);
            if (!b) {
                free(buf);
                buf = NULL;
            } else {
                buf = b;
            }
        }
    }
    if (buf)
        buf[n] = '\0';
    fclose(f);
    return buf;
}

static int64_t num_of(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(v) ? (int64_t)v->valuedouble : 0;
}

static int from_json(const cJSON *o, struct wb_state *st)
{
    const cJSON *s;
    int rc = 0;
    s = cJSON_GetObjectItemCaseSensitive(o, "storage_id");
    rc |= wb_state_set_str(&st->storage_id, cJSON_GetStringValue(s));
    s = cJSON_GetObjectItemCaseSensitive(o, "entity");
    rc |= wb_state_set_str(&st->entity, cJSON_GetStringValue(s));
    s = cJSON_GetObjectItemCaseSensitive(o, "project");
    rc |= wb_state_set_str(&st->project, cJSON_GetStringValue(s));
    st->have_base = cJSON_IsNumber(
        cJSON_GetObjectItemCaseSensitive(o, "base_offset"));
    st->base_offset = num_of(o, "base_offset");
    st->rows_sent = (uint64_t)num_of(o, "rows_sent");
    st->finished = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o,
                                                                 "finished"));
    st->exitcode = (int)num_of(o, "exitcode");
    const char *sha = cJSON_GetStringValue(
        cJSON_GetObjectItemCaseSensitive(o, "summary_sha256"));
    if (sha && strlen(sha) == 64)
        memcpy(st->summary_sha, sha, 65);
    const cJSON *up = cJSON_GetObjectItemCaseSensitive(o, "uploaded");
    cJSON_ArrayForEach(s, up) {
        if (cJSON_IsString(s))
            rc |= wb_state_add_uploaded(st, s->valuestring);
    }
    return rc;
}

int wb_state_load(const char *path, struct wb_state *st, char *err,
                  size_t errlen)
{
    memset(st, 0, sizeof *st);
    int missing;
    char *text = read_all(path, &missing);
    if (!text) {
        if (missing)
            return 0;
        snprintf(err, errlen, "%s: read: %s", path, strerror(errno));
        return -1;
    }
    cJSON *o = cJSON_Parse(text);
    free(text);
    if (!cJSON_IsObject(o)) {
        cJSON_Delete(o);
        snprintf(err, errlen, "%s: not a wandb run state (bad JSON)", path);
        return -1;
    }
    int rc = from_json(o, st);
    cJSON_Delete(o);
    if (rc != 0) {
        wb_state_free(st);
        snprintf(err, errlen, "%s: out of memory", path);
    }
    return rc;
}

static cJSON *to_json(const struct wb_state *st)
{
    cJSON *o = cJSON_CreateObject(), *up = cJSON_CreateArray();
    if (!o || !up) {
        cJSON_Delete(o);
        cJSON_Delete(up);
        return NULL;
    }
    cJSON_AddNumberToObject(o, "version", 1);
    if (st->storage_id)
        cJSON_AddStringToObject(o, "storage_id", st->storage_id);
    if (st->entity)
        cJSON_AddStringToObject(o, "entity", st->entity);
    if (st->project)
        cJSON_AddStringToObject(o, "project", st->project);
    if (st->have_base)
        cJSON_AddNumberToObject(o, "base_offset", (double)st->base_offset);
    cJSON_AddNumberToObject(o, "rows_sent", (double)st->rows_sent);
    for (size_t i = 0; i < st->nuploaded; i++)
        cJSON_AddItemToArray(up, cJSON_CreateString(st->uploaded[i]));
    cJSON_AddItemToObject(o, "uploaded", up);
    cJSON_AddBoolToObject(o, "finished", st->finished);
    cJSON_AddNumberToObject(o, "exitcode", st->exitcode);
    if (st->summary_sha[0])
        cJSON_AddStringToObject(o, "summary_sha256", st->summary_sha);
    return o;
}

int wb_state_save(const char *path, const struct wb_state *st, char *err,
                  size_t errlen)
{
    cJSON *o = to_json(st);
    char *text = o ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    if (!text) {
        snprintf(err, errlen, "%s: out of memory", path);
        return -1;
    }
    int rc = evt_write_file_atomic(path, text, strlen(text), err, errlen);
    free(text);
    return rc;
}

int wb_state_has_uploaded(const struct wb_state *st, const char *name)
{
    for (size_t i = 0; i < st->nuploaded; i++)
        if (strcmp(st->uploaded[i], name) == 0)
            return 1;
    return 0;
}

int wb_state_add_uploaded(struct wb_state *st, const char *name)
{
    if (wb_state_has_uploaded(st, name))
        return 0;
    char **v = realloc(st->uploaded, (st->nuploaded + 1) * sizeof *v);
    if (!v)
        return -1;
    st->uploaded = v;
    if (!(v[st->nuploaded] = strdup(name)))
        return -1;
    st->nuploaded++;
    return 0;
}

void wb_state_free(struct wb_state *st)
{
    free(st->storage_id);
    free(st->entity);
    free(st->project);
    for (size_t i = 0; i < st->nuploaded; i++)
        free(st->uploaded[i]);
    free(st->uploaded);
    memset(st, 0, sizeof *st);
}
