/* wb_graphql.c -- UpsertBucket and CreateRunFiles (wb_graphql.h). */
#include "wb_graphql.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "wb_http.h"
#include "wb_json.h"

const char wb_gql_upsert_doc[] =
    "mutation UpsertBucket($id: String, $name: String, $project: String, "
    "$entity: String, $groupName: String, $description: String, "
    "$displayName: String, $notes: String, $commit: String, "
    "$config: JSONString, $host: String, $debug: Boolean, "
    "$program: String, $repo: String, $jobType: String, $state: String, "
    "$sweep: String, $tags: [String!], $summaryMetrics: JSONString) { "
    "upsertBucket(input: {id: $id, name: $name, groupName: $groupName, "
    "modelName: $project, entityName: $entity, description: $description, "
    "displayName: $displayName, notes: $notes, config: $config, "
    "commit: $commit, host: $host, debug: $debug, jobProgram: $program, "
    "jobRepo: $repo, jobType: $jobType, state: $state, sweep: $sweep, "
    "tags: $tags, summaryMetrics: $summaryMetrics}) { bucket { id name "
    "displayName description config sweepName project { id name entity { "
    "id name } } historyLineCount } inserted } }";

const char wb_gql_files_doc[] =
    "mutation CreateRunFiles($entity: String!, $project: String!, "
    "$run: String!, $files: [String!]!) { createRunFiles(input: "
    "{entityName: $entity, projectName: $project, runName: $run, "
    "files: $files}) { runID uploadHeaders files { name uploadUrl } } }";

/* ---- bodies ------------------------------------------------------------ */

static void var(struct evt_buf *b, int *first, const char *k, const char *v)
{
    wb_json_key(b, first, k);
    wb_json_cstr(b, v);
}

static void str_array(struct evt_buf *b, const char *const *v, size_t n)
{
    evt_buf_puts(b, "[");
    for (size_t i = 0; i < n; i++) {
        evt_buf_puts(b, i ? ", " : "");
        wb_json_cstr(b, v[i]);
    }
    evt_buf_puts(b, "]");
}

/* {"query": doc, "variables": {, then the caller's variables. */
static void open_body(struct evt_buf *out, const char *doc)
{
    evt_buf_puts(out, "{\"query\": ");
    wb_json_cstr(out, doc);
    evt_buf_puts(out, ", \"variables\": {");
}

static void close_body(struct evt_buf *out, const char *op)
{
    evt_buf_puts(out, "}, \"operationName\": ");
    wb_json_cstr(out, op);
    evt_buf_puts(out, "}");
}

void wb_gql_upsert_body(struct evt_buf *out, const struct wb_upsert *u)
{
    int f = 1;
    open_body(out, wb_gql_upsert_doc);
    var(out, &f, "id", u->id);
    var(out, &f, "name", u->name);
    var(out, &f, "project", u->project);
    var(out, &f, "entity", u->entity);
    var(out, &f, "groupName", u->group);
    var(out, &f, "description", NULL);
    var(out, &f, "displayName", u->display_name);
    var(out, &f, "notes", u->notes);
    var(out, &f, "commit", u->commit);
    var(out, &f, "config", u->config); /* a string holding JSON */
    var(out, &f, "host", u->host);
    var(out, &f, "debug", NULL);
    var(out, &f, "program", NULL);
    var(out, &f, "repo", NULL);
    var(out, &f, "jobType", u->job_type);
    var(out, &f, "state", NULL);
    var(out, &f, "sweep", NULL);
    wb_json_key(out, &f, "tags");
    if (u->has_tags)
        str_array(out, u->tags, u->ntags);
    else
        evt_buf_puts(out, "null");
    var(out, &f, "summaryMetrics", NULL);
    close_body(out, "UpsertBucket");
}

void wb_gql_files_body(struct evt_buf *out, const char *entity,
                       const char *project, const char *run,
                       const char *const *names, size_t n)
{
    int f = 1;
    open_body(out, wb_gql_files_doc);
    var(out, &f, "entity", entity);
    var(out, &f, "project", project);
    var(out, &f, "run", run);
    wb_json_key(out, &f, "files");
    str_array(out, names, n);
    close_body(out, "CreateRunFiles");
}

/* ---- responses --------------------------------------------------------- */

static char *dup_str(const cJSON *o)
{
    return cJSON_IsString(o) && o->valuestring ? strdup(o->valuestring)
                                               : NULL;
}

/* The parsed body, or NULL with err: not JSON, or GraphQL errors. */
static cJSON *parse(const char *body, const char *op, char *err,
                    size_t errlen)
{
    cJSON *root = cJSON_Parse(body ? body : "");
    if (!root) {
        snprintf(err, errlen, "%s: the response is not JSON", op);
        return NULL;
    }
    const cJSON *errs = cJSON_GetObjectItemCaseSensitive(root, "errors");
    if (cJSON_IsArray(errs) && cJSON_GetArraySize(errs) > 0) {
        const cJSON *m = cJSON_GetObjectItemCaseSensitive(
            cJSON_GetArrayItem(errs, 0), "message");
        snprintf(err, errlen, "%s: GraphQL error: %.300s", op,
                 cJSON_IsString(m) ? m->valuestring : "(no message)");
        cJSON_Delete(root);
        return NULL;
    }
    return root;
}

static const cJSON *path2(const cJSON *o, const char *a, const char *b)
{
    return cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(o, a), b);
}

void wb_bucket_free(struct wb_bucket *b)
{
    free(b->id);
    free(b->name);
    free(b->project);
    free(b->entity);
    memset(b, 0, sizeof *b);
}

int wb_gql_upsert_parse(const char *body, struct wb_bucket *b, char *err,
                        size_t errlen)
{
    memset(b, 0, sizeof *b);
    cJSON *root = parse(body, "UpsertBucket", err, errlen);
    if (!root)
        return -1;
    const cJSON *up = path2(root, "data", "upsertBucket");
    const cJSON *bk = cJSON_GetObjectItemCaseSensitive(up, "bucket");
    const cJSON *pr = cJSON_GetObjectItemCaseSensitive(bk, "project");
    const cJSON *hl = cJSON_GetObjectItemCaseSensitive(bk, "historyLineCount");
    int rc = -1;
    if (!cJSON_IsObject(bk)) {
        snprintf(err, errlen, "UpsertBucket: no data.upsertBucket.bucket in "
                              "the response");
    } else {
        b->id = dup_str(cJSON_GetObjectItemCaseSensitive(bk, "id"));
        b->name = dup_str(cJSON_GetObjectItemCaseSensitive(bk, "name"));
        b->project = dup_str(cJSON_GetObjectItemCaseSensitive(pr, "name"));
        b->entity = dup_str(path2(pr, "entity", "name"));
        b->history_lines =
            cJSON_IsNumber(hl) && hl->valuedouble > 0 ? (int64_t)hl->valuedouble
            : cJSON_IsString(hl) ? strtoll(hl->valuestring, NULL, 10)
                                 : 0;
        b->inserted =
            cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(up, "inserted"));
        rc = 0;
    }
    cJSON_Delete(root);
    return rc;
}

int wb_gql_upsert(struct wb_conn *c, const struct wb_upsert *u, int attempts,
                  int64_t deadline_ns, struct wb_bucket *out, char *err,
                  size_t errlen)
{
    struct evt_buf body;
    struct evt_http_response resp;
    evt_buf_init(&body);
    memset(out, 0, sizeof *out);
    wb_gql_upsert_body(&body, u);
    if (body.oom) {
        evt_buf_free(&body);
        snprintf(err, errlen, "UpsertBucket: out of memory");
        return EVT_HTTP_TRANSIENT;
    }
    int rc = wb_conn_post(c, "/graphql", body.data, body.len, attempts,
                          deadline_ns, &resp, err, errlen);
    if (rc == EVT_HTTP_DONE &&
        wb_gql_upsert_parse(resp.body, out, err, errlen) != 0)
        rc = EVT_HTTP_FINAL;
    if (rc == EVT_HTTP_FINAL && resp.status == 409)
        rc = EVT_HTTP_TRANSIENT; /* UpsertBucket's policy retries 409 */
    evt_http_response_free(&resp);
    evt_buf_free(&body);
    return rc;
}

/* ---- CreateRunFiles ---------------------------------------------------- */

/* "Key:Value" -> "Key: Value" (value trimmed), as a PUT header line. */
static char *header_line(const char *kv)
{
    const char *colon = strchr(kv, ':');
    if (!colon || colon == kv)
        return NULL;
    const char *v = colon + 1;
    while (*v == ' ' || *v == '\t')
        v++;
    size_t vn = strlen(v);
    while (vn && (v[vn - 1] == ' ' || v[vn - 1] == '\t'))
        vn--;
    size_t n = (size_t)(colon - kv) + vn + 3;
    char *line = malloc(n);
    if (line)
        snprintf(line, n, "%.*s: %.*s", (int)(colon - kv), kv, (int)vn, v);
    return line;
}

/* The server's uploadHeaders as a NULL-terminated list. */
static char **headers_of(const cJSON *hs, int *oom)
{
    int n = cJSON_IsArray(hs) ? cJSON_GetArraySize(hs) : 0;
    char **h = calloc((size_t)n + 1, sizeof *h);
    int k = 0;
    if (!h) {
        *oom = 1;
        return NULL;
    }
    for (int i = 0; i < n; i++) {
        const cJSON *it = cJSON_GetArrayItem(hs, i);
        char *line = cJSON_IsString(it) ? header_line(it->valuestring) : NULL;
        if (line)
            h[k++] = line;
    }
    return h;
}

static int parse_files(const char *body, const char *const *names, size_t n,
                       struct wb_upload *ups, char *err, size_t errlen)
{
    cJSON *root = parse(body, "CreateRunFiles", err, errlen);
    if (!root)
        return -1;
    const cJSON *cr = path2(root, "data", "createRunFiles");
    const cJSON *files = cJSON_GetObjectItemCaseSensitive(cr, "files");
    const cJSON *hs = cJSON_GetObjectItemCaseSensitive(cr, "uploadHeaders");
    int oom = 0;
    for (size_t i = 0; i < n && !oom; i++) {
        const cJSON *f;
        cJSON_ArrayForEach(f, files) {
            const cJSON *nm = cJSON_GetObjectItemCaseSensitive(f, "name");
            if (!cJSON_IsString(nm) || strcmp(nm->valuestring, names[i]) != 0)
                continue;
            ups[i].name = strdup(names[i]);
            ups[i].url = dup_str(cJSON_GetObjectItemCaseSensitive(f,
                                                                  "uploadUrl"));
            ups[i].headers = headers_of(hs, &oom);
            oom |= !ups[i].name;
            break;
        }
    }
    cJSON_Delete(root);
    if (oom)
        snprintf(err, errlen, "CreateRunFiles: out of memory");
    return oom ? -1 : 0;
}

int wb_gql_create_run_files(struct wb_conn *c, const char *entity,
                            const char *project, const char *run,
                            const char *const *names, size_t n,
                            int64_t deadline_ns, struct wb_upload **ups,
                            char *err, size_t errlen)
{
    struct evt_buf body;
    struct evt_http_response resp;
    *ups = calloc(n ? n : 1, sizeof **ups);
    evt_buf_init(&body);
    wb_gql_files_body(&body, entity, project, run, names, n);
    if (!*ups || body.oom) {
        evt_buf_free(&body);
        snprintf(err, errlen, "CreateRunFiles: out of memory");
        return EVT_HTTP_TRANSIENT;
    }
    int rc = wb_conn_post(c, "/graphql", body.data, body.len, 0, deadline_ns,
                          &resp, err, errlen);
    if (rc == EVT_HTTP_DONE &&
        parse_files(resp.body, names, n, *ups, err, errlen) != 0)
        rc = EVT_HTTP_FINAL;
    evt_http_response_free(&resp);
    evt_buf_free(&body);
    return rc;
}

const struct wb_upload *wb_upload_find(const struct wb_upload *ups, size_t n,
                                       const char *name)
{
    for (size_t i = 0; ups && i < n; i++)
        if (ups[i].name && ups[i].url && strcmp(ups[i].name, name) == 0)
            return &ups[i];
    return NULL;
}

void wb_uploads_free(struct wb_upload *ups, size_t n)
{
    for (size_t i = 0; ups && i < n; i++) {
        free(ups[i].name);
        free(ups[i].url);
        for (char **h = ups[i].headers; h && *h; h++)
            free(*h);
        free(ups[i].headers);
    }
    free(ups);
}
