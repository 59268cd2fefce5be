/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for berth-ctr's JSON (ctr/pb-json*.c): protobuf-c messages printed as ctr prints
 * the gogo-generated Go structs (events as `ctr events` shows them, captured from the real
 * ctr; maps sorted; Any; Timestamps), Go's string escaping and number formats, the
 * MarshalIndent layout, Go's time formats and the type URL registry.
 */
#include <stdlib.h>

#include "containerd/cgroups/v1/metrics.pb-c.h"
#include "containerd/events/container.pb-c.h"
#include "containerd/events/image.pb-c.h"
#include "containerd/events/task.pb-c.h"
#include "ctr/pb-json.h"
#include "google/protobuf/timestamp.pb-c.h"
#include "tests/unit/unit.h"

static char *compact(const ProtobufCMessage *m)
{
        struct gojson *w = gojson_new(NULL);

        pb_json_message(w, m);
        return gojson_finish(w);
}

/* An Any of m, packed, and back through the registry. */
static char *through_any(const ProtobufCMessage *m)
{
        Google__Protobuf__Any any = GOOGLE__PROTOBUF__ANY__INIT;
        struct errmsg err = {0};
        uint8_t buf[1024];
        char *json = NULL;

        any.type_url = (char *) m->descriptor->name;
        any.value.len = protobuf_c_message_pack(m, buf);
        any.value.data = buf;
        assert_int_equal(pb_any_to_json(&any, &json, &err), 0);
        return json;
}

static void test_task_events_as_ctr_prints_them(void **state)
{
        Containerd__Events__TaskExit exit = CONTAINERD__EVENTS__TASK_EXIT__INIT;
        Containerd__Events__TaskStart start = CONTAINERD__EVENTS__TASK_START__INIT;
        Containerd__Events__TaskDelete del = CONTAINERD__EVENTS__TASK_DELETE__INIT;
        Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
        _cleanup_free_ char *a = NULL, *b = NULL, *c = NULL, *d = NULL;

        (void) state;
        ts.seconds = 1795141958;
        ts.nanos = 636070588;
        exit.container_id = "r1";
        exit.id = "e1";
        exit.pid = 30822;
        exit.exit_status = 137;
        exit.exited_at = &ts;
        a = through_any(&exit.base);
        assert_string_equal(a, "{\"container_id\":\"r1\",\"id\":\"e1\",\"pid\":30822,"
                               "\"exit_status\":137,\"exited_at\":\"2026-11-20T02:32:38."
                               "636070588Z\"}");
        start.container_id = "r1";
        start.pid = 30782;
        b = through_any(&start.base);
        assert_string_equal(b, "{\"container_id\":\"r1\",\"pid\":30782}");
        /* a zero exit status and an empty id are left out; the time never is */
        del.container_id = "r1";
        del.pid = 7;
        c = compact(&del.base);
        assert_string_equal(c, "{\"container_id\":\"r1\",\"pid\":7,\"exited_at\":"
                               "\"0001-01-01T00:00:00Z\"}");
        exit.exited_at = NULL;
        ts.nanos = 500000000;
        del.exited_at = &ts;
        d = compact(&del.base);
        assert_non_null(strstr(d, "\"exited_at\":\"2026-11-20T02:32:38.5Z\""));
}

static void test_task_create_with_mounts_and_io(void **state)
{
        Containerd__Events__TaskCreate tc = CONTAINERD__EVENTS__TASK_CREATE__INIT;
        Containerd__Events__TaskIO io = CONTAINERD__EVENTS__TASK_IO__INIT;
        Containerd__Types__Mount m = CONTAINERD__TYPES__MOUNT__INIT;
        Containerd__Types__Mount *mounts[] = {&m};
        char *options[] = {"index=off", "lowerdir=/l"};
        _cleanup_free_ char *s = NULL;

        (void) state;
        m.type = "overlay";
        m.source = "overlay";
        m.options = options;
        m.n_options = 2;
        io.stdin = "/f/r1-stdin";
        io.stdout = "/f/r1-stdout";
        tc.container_id = "r1";
        tc.bundle = "/b";
        tc.rootfs = mounts;
        tc.n_rootfs = 1;
        tc.io = &io;
        tc.pid = 9;
        s = through_any(&tc.base);
        assert_string_equal(s, "{\"container_id\":\"r1\",\"bundle\":\"/b\",\"rootfs\":[{\"type\":"
                               "\"overlay\",\"source\":\"overlay\",\"options\":[\"index=off\","
                               "\"lowerdir=/l\"]}],\"io\":{\"stdin\":\"/f/r1-stdin\",\"stdout\":"
                               "\"/f/r1-stdout\"},\"pid\":9}");
}

static void test_maps_sorted_and_any(void **state)
{
        Containerd__Services__Images__V1__ImageCreate ic =
                CONTAINERD__SERVICES__IMAGES__V1__IMAGE_CREATE__INIT;
        Containerd__Services__Images__V1__ImageCreate__LabelsEntry l1 =
                CONTAINERD__SERVICES__IMAGES__V1__IMAGE_CREATE__LABELS_ENTRY__INIT;
        Containerd__Services__Images__V1__ImageCreate__LabelsEntry l2 =
                CONTAINERD__SERVICES__IMAGES__V1__IMAGE_CREATE__LABELS_ENTRY__INIT;
        Containerd__Services__Images__V1__ImageCreate__LabelsEntry *labels[] = {&l1, &l2};
        Containerd__Events__ContainerCreate cc = CONTAINERD__EVENTS__CONTAINER_CREATE__INIT;
        Containerd__Events__ContainerCreate__Runtime rt =
                CONTAINERD__EVENTS__CONTAINER_CREATE__RUNTIME__INIT;
        Google__Protobuf__Any opts = GOOGLE__PROTOBUF__ANY__INIT;
        uint8_t value[] = {0x32, 0x01, 'x'};
        _cleanup_free_ char *a = NULL, *b = NULL, *c = NULL;

        (void) state;
        l1.key = "z";
        l1.value = "1";
        l2.key = "a<b>";
        l2.value = "2&3";
        ic.name = "img";
        ic.labels = labels;
        ic.n_labels = 2;
        a = through_any(&ic.base);
        assert_string_equal(a, "{\"name\":\"img\",\"labels\":{\"a\\u003cb\\u003e\":\"2\\u00263\","
                               "\"z\":\"1\"}}");
        opts.type_url = "containerd.runc.v1.Options";
        rt.name = "io.containerd.runc.v2";
        rt.options = &opts;
        cc.id = "c1";
        cc.image = "busybox";
        cc.runtime = &rt;
        b = compact(&cc.base);
        assert_string_equal(b, "{\"id\":\"c1\",\"image\":\"busybox\",\"runtime\":{\"name\":"
                               "\"io.containerd.runc.v2\",\"options\":{\"type_url\":"
                               "\"containerd.runc.v1.Options\"}}}");
        opts.value.data = value;
        opts.value.len = sizeof(value);
        c = compact(&cc.base);
        assert_non_null(strstr(c, "\"options\":{\"type_url\":\"containerd.runc.v1.Options\","
                                  "\"value\":\"MgF4\"}"));
}

static void test_indent_layout(void **state)
{
        Io__Containerd__Cgroups__V1__Metrics m = IO__CONTAINERD__CGROUPS__V1__METRICS__INIT;
        Io__Containerd__Cgroups__V1__PidsStat pids = IO__CONTAINERD__CGROUPS__V1__PIDS_STAT__INIT;
        Io__Containerd__Cgroups__V1__CPUStat cpu = IO__CONTAINERD__CGROUPS__V1__CPUSTAT__INIT;
        Io__Containerd__Cgroups__V1__CPUUsage usage = IO__CONTAINERD__CGROUPS__V1__CPUUSAGE__INIT;
        Io__Containerd__Cgroups__V1__Throttle thr = IO__CONTAINERD__CGROUPS__V1__THROTTLE__INIT;
        uint64_t per_cpu[] = {9234053, 68216360};
        struct gojson *w = gojson_new("  ");
        _cleanup_free_ char *s = NULL;

        (void) state;
        pids.current = 2;
        usage.total = 77450413;
        usage.per_cpu = per_cpu;
        usage.n_per_cpu = 2;
        cpu.usage = &usage;
        cpu.throttling = &thr;
        m.pids = &pids;
        m.cpu = &cpu;
        pb_json_message(w, &m.base);
        s = gojson_finish(w);
        /* as `ctr tasks metrics --format json` prints it: an empty message is {} */
        assert_string_equal(s, "{\n"
                               "  \"pids\": {\n"
                               "    \"current\": 2\n"
                               "  },\n"
                               "  \"cpu\": {\n"
                               "    \"usage\": {\n"
                               "      \"total\": 77450413,\n"
                               "      \"per_cpu\": [\n"
                               "        9234053,\n"
                               "        68216360\n"
                               "      ]\n"
                               "    },\n"
                               "    \"throttling\": {}\n"
                               "  }\n"
                               "}");
}

static void test_go_strings_and_numbers(void **state)
{
        json_t *v = json_pack("{s:s, s:[], s:{}, s:f, s:f, s:f, s:f, s:f, s:n, s:b}", "s",
                              "a\"b\\c\n\t\x01<>&\x7f\xe2\x80\xa8", "empty", "obj", "f1", 1.5, "f2",
                              1e21, "f3", 0.000001, "f4", 1e-7, "f5", 100.0, "null", "t", 1);
        struct gojson *w = gojson_new(NULL);
        _cleanup_free_ char *s = NULL, *i = NULL, *bad = NULL;

        (void) state;
        assert_non_null(v);
        s = gojson_dump(v, NULL);
        assert_string_equal(s, "{\"s\":\"a\\\"b\\\\c\\n\\t\\u0001\\u003c\\u003e\\u0026\x7f"
                               "\\u2028\",\"empty\":[],\"obj\":{},\"f1\":1.5,\"f2\":1e+21,"
                               "\"f3\":0.000001,\"f4\":1e-7,\"f5\":100,\"null\":null,\"t\":true}");
        json_decref(v);
        /* invalid UTF-8 (jansson refuses it; protobuf strings may carry it) */
        gojson_stringn(w, "x\xff\xc3y", 4);
        bad = gojson_finish(w);
        assert_string_equal(bad, "\"x\\ufffd\\ufffdy\"");
        v = json_pack("{s:[i, {s:[]}]}", "a", 1, "b");
        i = gojson_dump(v, "    ");
        assert_string_equal(i, "{\n    \"a\": [\n        1,\n        {\n            \"b\": []\n"
                               "        }\n    ]\n}");
        json_decref(v);
}

static void test_go_times(void **state)
{
        char buf[GO_TIME_MAX];

        (void) state;
        go_time_string(1795141958, 470331510, buf);
        assert_string_equal(buf, "2026-11-20 02:32:38.47033151 +0000 UTC");
        go_time_string(1795141958, 0, buf);
        assert_string_equal(buf, "2026-11-20 02:32:38 +0000 UTC");
        go_time_string(-62135596800LL, 0, buf);
        assert_string_equal(buf, "0001-01-01 00:00:00 +0000 UTC");
        go_time_rfc3339nano(1795141958, 100, buf);
        assert_string_equal(buf, "2026-11-20T02:32:38.0000001Z");
}

static void test_type_urls(void **state)
{
        Google__Protobuf__Any any = GOOGLE__PROTOBUF__ANY__INIT;
        struct errmsg err = {0};
        char *json = (char *) 0x1;
        uint8_t junk[] = {0x0a, 0x7f};

        (void) state;
        assert_ptr_equal(pb_type_lookup("containerd.events.TaskOOM"),
                         &containerd__events__task_oom__descriptor);
        assert_ptr_equal(pb_type_lookup("types.googleapis.com/containerd.events.TaskOOM"),
                         &containerd__events__task_oom__descriptor);
        assert_null(pb_type_lookup("containerd.events.Nope"));
        any.type_url = "containerd.events.Nope";
        assert_int_equal(pb_any_to_json(&any, &json, &err), -ENOENT);
        assert_string_equal(err.msg, "type with url containerd.events.Nope: not found");
        any.type_url = "containerd.events.TaskOOM";
        any.value.data = junk;
        any.value.len = sizeof(junk);
        assert_int_equal(pb_any_to_json(&any, &json, &err), -EBADMSG);
        assert_ptr_equal(json, (char *) 0x1);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_task_events_as_ctr_prints_them),
                cmocka_unit_test(test_task_create_with_mounts_and_io),
                cmocka_unit_test(test_maps_sorted_and_any),
                cmocka_unit_test(test_indent_layout),
                cmocka_unit_test(test_go_strings_and_numbers),
                cmocka_unit_test(test_go_times),
                cmocka_unit_test(test_type_urls),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
