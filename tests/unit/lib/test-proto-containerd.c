/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Wire facts of proto/containerd/services/ (containerd 1.6's gRPC API) and the types they
 * share. Expected bytes are written by hand from upstream's field numbers (tag = number << 3
 * | wire type; 2 = length-delimited, 0 = varint), so a wrong number or type in our .proto
 * files fails here. Method lists are upstream's, in order: a gRPC path is
 * "/<package>.<Service>/<Method>", so a renamed or missing method breaks clients.
 */
#include <string.h>

#include "containerd/events/image.pb-c.h"
#include "containerd/services/containers/v1/containers.pb-c.h"
#include "containerd/services/content/v1/content.pb-c.h"
#include "containerd/services/diff/v1/diff.pb-c.h"
#include "containerd/services/events/v1/events.pb-c.h"
#include "containerd/services/images/v1/images.pb-c.h"
#include "containerd/services/introspection/v1/introspection.pb-c.h"
#include "containerd/services/leases/v1/leases.pb-c.h"
#include "containerd/services/namespaces/v1/namespace.pb-c.h"
#include "containerd/services/snapshots/v1/snapshots.pb-c.h"
#include "containerd/services/tasks/v1/tasks.pb-c.h"
#include "containerd/services/version/v1/version.pb-c.h"
#include "lib/xalloc.h"
#include "tests/unit/unit.h"

/* Packs msg and compares it with the expected bytes. */
static void assert_packs_to(const ProtobufCMessage *msg, const uint8_t *want, size_t want_size)
{
        size_t size = protobuf_c_message_get_packed_size(msg);
        _cleanup_free_ uint8_t *buf = xmalloc(size ? size : 1);

        assert_int_equal(protobuf_c_message_pack(msg, buf), size);
        assert_int_equal(size, want_size);
        assert_memory_equal(buf, want, want_size);
}

static void test_version_response(void **state)
{
        Containerd__Services__Version__V1__VersionResponse resp =
                CONTAINERD__SERVICES__VERSION__V1__VERSION_RESPONSE__INIT;
        static const uint8_t want[] = {
                0x0a, 0x06, '1', '.', '6', '.', '2', '0', /* version = 1 */
                0x12, 0x01, 'x',                          /* revision = 2 */
        };

        (void) state;
        resp.version = (char *) "1.6.20";
        resp.revision = (char *) "x";
        assert_packs_to(&resp.base, want, sizeof(want));
}

static void test_namespaces_list_with_labels(void **state)
{
        Containerd__Services__Namespaces__V1__ListNamespacesResponse resp =
                CONTAINERD__SERVICES__NAMESPACES__V1__LIST_NAMESPACES_RESPONSE__INIT;
        Containerd__Services__Namespaces__V1__Namespace ns =
                CONTAINERD__SERVICES__NAMESPACES__V1__NAMESPACE__INIT;
        Containerd__Services__Namespaces__V1__Namespace__LabelsEntry label =
                CONTAINERD__SERVICES__NAMESPACES__V1__NAMESPACE__LABELS_ENTRY__INIT;
        Containerd__Services__Namespaces__V1__Namespace__LabelsEntry *labels[] = {&label};
        Containerd__Services__Namespaces__V1__Namespace *list[] = {&ns};
        Containerd__Services__Namespaces__V1__ListNamespacesResponse *back;
        /* A map is a repeated entry message with key = 1 and value = 2. */
        static const uint8_t want[] = {
                0x0a, 0x0e,                       /* namespaces = 1 */
                0x0a, 0x04, 'm', 'o',  'b',  'y', /*   name = 1 */
                0x12, 0x06,                       /*   labels = 2 */
                0x0a, 0x01, 'k', 0x12, 0x01, 'v', /*     key, value */
        };

        (void) state;
        ns.name = (char *) "moby";
        label.key = (char *) "k";
        label.value = (char *) "v";
        ns.n_labels = 1;
        ns.labels = labels;
        resp.n_namespaces = 1;
        resp.namespaces = list;
        assert_packs_to(&resp.base, want, sizeof(want));

        back = containerd__services__namespaces__v1__list_namespaces_response__unpack(
                NULL, sizeof(want), want);
        assert_non_null(back);
        assert_int_equal(back->n_namespaces, 1);
        assert_string_equal(back->namespaces[0]->name, "moby");
        assert_int_equal(back->namespaces[0]->n_labels, 1);
        assert_string_equal(back->namespaces[0]->labels[0]->key, "k");
        assert_string_equal(back->namespaces[0]->labels[0]->value, "v");
        containerd__services__namespaces__v1__list_namespaces_response__free_unpacked(back, NULL);
}

static void test_content_write_request(void **state)
{
        Containerd__Services__Content__V1__WriteContentRequest req =
                CONTAINERD__SERVICES__CONTENT__V1__WRITE_CONTENT_REQUEST__INIT;
        Containerd__Services__Content__V1__WriteContentRequest__LabelsEntry label =
                CONTAINERD__SERVICES__CONTENT__V1__WRITE_CONTENT_REQUEST__LABELS_ENTRY__INIT;
        Containerd__Services__Content__V1__WriteContentRequest__LabelsEntry *labels[] = {&label};
        static const uint8_t want[] = {
                0x08, 0x02,                                   /* action = 1: COMMIT */
                0x12, 0x02, 'r',  '1',                        /* ref = 2 */
                0x18, 0xac, 0x02,                             /* total = 3: 300 */
                0x22, 0x03, 's',  'h',  'a',                  /* expected = 4 */
                0x28, 0x01,                                   /* offset = 5 */
                0x32, 0x02, 'h',  'i',                        /* data = 6 */
                0x3a, 0x06, 0x0a, 0x01, 'a', 0x12, 0x01, 'b', /* labels = 7 */
        };
        /* proto3: STAT (0) and the other zero values are not sent at all. */
        static const uint8_t want_stat[] = {0x12, 0x02, 'r', '1'};

        (void) state;
        assert_int_equal(CONTAINERD__SERVICES__CONTENT__V1__WRITE_ACTION__STAT, 0);
        assert_int_equal(CONTAINERD__SERVICES__CONTENT__V1__WRITE_ACTION__WRITE, 1);
        assert_int_equal(CONTAINERD__SERVICES__CONTENT__V1__WRITE_ACTION__COMMIT, 2);

        req.action = CONTAINERD__SERVICES__CONTENT__V1__WRITE_ACTION__COMMIT;
        req.ref = (char *) "r1";
        req.total = 300;
        req.expected = (char *) "sha";
        req.offset = 1;
        req.data.data = (uint8_t *) "hi";
        req.data.len = 2;
        label.key = (char *) "a";
        label.value = (char *) "b";
        req.n_labels = 1;
        req.labels = labels;
        assert_packs_to(&req.base, want, sizeof(want));

        req = (Containerd__Services__Content__V1__WriteContentRequest)
                CONTAINERD__SERVICES__CONTENT__V1__WRITE_CONTENT_REQUEST__INIT;
        req.ref = (char *) "r1";
        assert_packs_to(&req.base, want_stat, sizeof(want_stat));
}

static void test_tasks_create_request(void **state)
{
        Containerd__Services__Tasks__V1__CreateTaskRequest req =
                CONTAINERD__SERVICES__TASKS__V1__CREATE_TASK_REQUEST__INIT;
        Containerd__Types__Mount mount = CONTAINERD__TYPES__MOUNT__INIT;
        Containerd__Types__Mount *rootfs[] = {&mount};
        Google__Protobuf__Any options = GOOGLE__PROTOBUF__ANY__INIT;
        char *mount_options[] = {(char *) "ro"};
        /* Number 2 is unused upstream: rootfs is tag 0x1a and the stdio paths are 4 to 6. */
        static const uint8_t want[] = {
                0x0a, 0x02, 'c',  '1',                           /* container_id = 1 */
                0x1a, 0x16,                                      /* rootfs = 3 */
                0x0a, 0x07, 'o',  'v',  'e', 'r', 'l', 'a', 'y', /*   type = 1 */
                0x12, 0x07, 'o',  'v',  'e', 'r', 'l', 'a', 'y', /*   source = 2 */
                0x22, 0x02, 'r',  'o',                           /*   options = 4 */
                0x2a, 0x04, '/',  'f',  '/', 'o',                /* stdout = 5 */
                0x38, 0x01,                                      /* terminal = 7 */
                0x4a, 0x07,                                      /* options = 9 */
                0x0a, 0x01, 't',                                 /*   type_url = 1 */
                0x12, 0x02, 0x08, 0x01,                          /*   value = 2 */
                0x52, 0x02, '/',  'r',                           /* runtime_path = 10 */
        };

        (void) state;
        req.container_id = (char *) "c1";
        mount.type = (char *) "overlay";
        mount.source = (char *) "overlay";
        mount.n_options = 1;
        mount.options = mount_options;
        req.n_rootfs = 1;
        req.rootfs = rootfs;
        req.stdout = (char *) "/f/o";
        req.terminal = 1;
        options.type_url = (char *) "t";
        options.value.data = (uint8_t *) "\x08\x01";
        options.value.len = 2;
        req.options = &options;
        req.runtime_path = (char *) "/r";
        assert_packs_to(&req.base, want, sizeof(want));
}

static void test_snapshots_prepare_and_mounts(void **state)
{
        Containerd__Services__Snapshots__V1__PrepareSnapshotRequest req =
                CONTAINERD__SERVICES__SNAPSHOTS__V1__PREPARE_SNAPSHOT_REQUEST__INIT;
        Containerd__Services__Snapshots__V1__PrepareSnapshotRequest__LabelsEntry label =
                CONTAINERD__SERVICES__SNAPSHOTS__V1__PREPARE_SNAPSHOT_REQUEST__LABELS_ENTRY__INIT;
        Containerd__Services__Snapshots__V1__PrepareSnapshotRequest__LabelsEntry *labels[] = {
                &label};
        Containerd__Services__Snapshots__V1__MountsResponse resp =
                CONTAINERD__SERVICES__SNAPSHOTS__V1__MOUNTS_RESPONSE__INIT;
        Containerd__Types__Mount mount = CONTAINERD__TYPES__MOUNT__INIT;
        Containerd__Types__Mount *mounts[] = {&mount};
        char *mount_options[] = {(char *) "rbind", (char *) "ro"};
        static const uint8_t want_req[] = {
                0x0a, 0x09, 'o',  'v',  'e', 'r',  'l',  'a', 'y', 'f', 's', /* snapshotter = 1 */
                0x12, 0x01, 'k',                                             /* key = 2 */
                0x1a, 0x01, 'p',                                             /* parent = 3 */
                0x22, 0x06, 0x0a, 0x01, 'a', 0x12, 0x01, 'b',                /* labels = 4 */
        };
        static const uint8_t want_resp[] = {
                0x0a, 0x15,                          /* mounts = 1 */
                0x0a, 0x04, 'b', 'i', 'n', 'd',      /*   type = 1 */
                0x12, 0x02, '/', 's',                /*   source = 2 */
                0x22, 0x05, 'r', 'b', 'i', 'n', 'd', /*   options = 4 */
                0x22, 0x02, 'r', 'o',
        };

        (void) state;
        req.snapshotter = (char *) "overlayfs";
        req.key = (char *) "k";
        req.parent = (char *) "p";
        label.key = (char *) "a";
        label.value = (char *) "b";
        req.n_labels = 1;
        req.labels = labels;
        assert_packs_to(&req.base, want_req, sizeof(want_req));

        mount.type = (char *) "bind";
        mount.source = (char *) "/s";
        mount.n_options = 2;
        mount.options = mount_options;
        resp.n_mounts = 1;
        resp.mounts = mounts;
        assert_packs_to(&resp.base, want_resp, sizeof(want_resp));

        assert_int_equal(CONTAINERD__SERVICES__SNAPSHOTS__V1__KIND__UNKNOWN, 0);
        assert_int_equal(CONTAINERD__SERVICES__SNAPSHOTS__V1__KIND__VIEW, 1);
        assert_int_equal(CONTAINERD__SERVICES__SNAPSHOTS__V1__KIND__ACTIVE, 2);
        assert_int_equal(CONTAINERD__SERVICES__SNAPSHOTS__V1__KIND__COMMITTED, 3);
}

/* The full name of the message type of field in desc. */
static const char *field_type_name(const ProtobufCMessageDescriptor *desc, const char *field)
{
        const ProtobufCFieldDescriptor *f =
                protobuf_c_message_descriptor_get_field_by_name(desc, field);

        assert_non_null(f);
        assert_int_equal(f->type, PROTOBUF_C_TYPE_MESSAGE);
        return ((const ProtobufCMessageDescriptor *) f->descriptor)->name;
}

/* Messages shared across packages resolve to upstream's full names (the Any type URLs). */
static void test_shared_type_names(void **state)
{
        (void) state;
        assert_string_equal(
                field_type_name(&containerd__services__tasks__v1__get_response__descriptor,
                                "process"),
                "containerd.v1.types.Process");
        assert_string_equal(
                field_type_name(&containerd__services__tasks__v1__metrics_response__descriptor,
                                "metrics"),
                "containerd.types.Metric");
        assert_string_equal(
                field_type_name(&containerd__services__images__v1__image__descriptor, "target"),
                "containerd.types.Descriptor");
        assert_string_equal(
                field_type_name(&containerd__services__introspection__v1__plugin__descriptor,
                                "platforms"),
                "containerd.types.Platform");
        assert_string_equal(
                field_type_name(&containerd__services__introspection__v1__plugin__descriptor,
                                "init_err"),
                "google.rpc.Status");
        assert_string_equal(
                field_type_name(&containerd__services__diff__v1__apply_request__descriptor,
                                "mounts"),
                "containerd.types.Mount");
        assert_string_equal(
                field_type_name(&containerd__services__events__v1__forward_request__descriptor,
                                "envelope"),
                "containerd.services.events.v1.Envelope");
        /* Image events live in the images service's package upstream. */
        assert_string_equal(containerd__services__images__v1__image_create__descriptor.name,
                            "containerd.services.images.v1.ImageCreate");
}

struct service_methods {
        const ProtobufCServiceDescriptor *desc;
        const char *name;        /* "<package>.<Service>" */
        const char *methods[18]; /* NULL-terminated */
};

static const struct service_methods upstream_services[] = {
        {&containerd__services__version__v1__version__descriptor,
         "containerd.services.version.v1.Version",
         {"Version"}},
        {&containerd__services__introspection__v1__introspection__descriptor,
         "containerd.services.introspection.v1.Introspection",
         {"Plugins", "Server"}},
        {&containerd__services__namespaces__v1__namespaces__descriptor,
         "containerd.services.namespaces.v1.Namespaces",
         {"Get", "List", "Create", "Update", "Delete"}},
        {&containerd__services__containers__v1__containers__descriptor,
         "containerd.services.containers.v1.Containers",
         {"Get", "List", "ListStream", "Create", "Update", "Delete"}},
        {&containerd__services__content__v1__content__descriptor,
         "containerd.services.content.v1.Content",
         {"Info", "Update", "List", "Delete", "Read", "Status", "ListStatuses", "Write", "Abort"}},
        {&containerd__services__images__v1__images__descriptor,
         "containerd.services.images.v1.Images",
         {"Get", "List", "Create", "Update", "Delete"}},
        {&containerd__services__snapshots__v1__snapshots__descriptor,
         "containerd.services.snapshots.v1.Snapshots",
         {"Prepare", "View", "Mounts", "Commit", "Remove", "Stat", "Update", "List", "Usage",
          "Cleanup"}},
        {&containerd__services__leases__v1__leases__descriptor,
         "containerd.services.leases.v1.Leases",
         {"Create", "Delete", "List", "AddResource", "DeleteResource", "ListResources"}},
        {&containerd__services__diff__v1__diff__descriptor,
         "containerd.services.diff.v1.Diff",
         {"Apply", "Diff"}},
        {&containerd__services__tasks__v1__tasks__descriptor,
         "containerd.services.tasks.v1.Tasks",
         {"Create", "Start", "Delete", "DeleteProcess", "Get", "List", "Kill", "Exec", "ResizePty",
          "CloseIO", "Pause", "Resume", "ListPids", "Checkpoint", "Update", "Metrics", "Wait"}},
        {&containerd__services__events__v1__events__descriptor,
         "containerd.services.events.v1.Events",
         {"Publish", "Forward", "Subscribe"}},
};

static void test_service_methods_match_upstream(void **state)
{
        char path[128];

        (void) state;
        for (size_t i = 0; i < sizeof(upstream_services) / sizeof(upstream_services[0]); i++) {
                const struct service_methods *s = &upstream_services[i];
                unsigned n = 0;

                assert_string_equal(s->desc->name, s->name);
                while (s->methods[n])
                        n++;
                assert_int_equal(s->desc->n_methods, n);
                for (unsigned m = 0; m < n; m++)
                        assert_string_equal(s->desc->methods[m].name, s->methods[m]);
        }

        (void) snprintf(path, sizeof(path), "/%s/%s",
                        containerd__services__version__v1__version__descriptor.name,
                        containerd__services__version__v1__version__descriptor.methods[0].name);
        assert_string_equal(path, "/containerd.services.version.v1.Version/Version");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_version_response),
                cmocka_unit_test(test_namespaces_list_with_labels),
                cmocka_unit_test(test_content_write_request),
                cmocka_unit_test(test_tasks_create_request),
                cmocka_unit_test(test_snapshots_prepare_and_mounts),
                cmocka_unit_test(test_shared_type_names),
                cmocka_unit_test(test_service_methods_match_upstream),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
