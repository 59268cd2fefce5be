/* SPDX-License-Identifier: Apache-2.0 */
/*
 * containerd.services.images.v1.Images over the image records (metadata.h), as containerd's
 * services/images/local.go and metadata/images.go: Get, List with filters (name,
 * target.digest, target.mediatype, labels.<key>), Create, Update by field paths (labels,
 * labels.<key>, target; annotations are accepted and not kept: the record has none) and
 * Delete, which collects garbage before answering when asked to (sync).
 */
#include "containerd/events.h"
#include "containerd/events/image.pb-c.h"
#include "containerd/gc.h"
#include "containerd/services/images/v1/images.pb-c.h"
#include "containerd/svc.h"
#include "lib/strv.h"
#include "lib/xalloc.h"

typedef Containerd__Services__Images__V1__Image image_msg_t;

/* A message for record r, in a context that owns what it points to. */
struct image_out {
        image_msg_t m;
        Containerd__Types__Descriptor target;
        Google__Protobuf__Timestamp created, updated;
};

static void message_from_record(const struct image_record *r, struct image_out *o)
{
        size_t n;

        o->m = (image_msg_t) CONTAINERD__SERVICES__IMAGES__V1__IMAGE__INIT;
        o->target = (Containerd__Types__Descriptor) CONTAINERD__TYPES__DESCRIPTOR__INIT;
        o->m.name = r->name;
        o->target.media_type = r->target.media_type ? r->target.media_type : (char *) "";
        o->target.digest = (char *) r->target.digest;
        o->target.size = r->target.size;
        o->m.target = &o->target;
        o->m.labels = (Containerd__Services__Images__V1__Image__LabelsEntry **) svc_map_from_labels(
                r->labels, &containerd__services__images__v1__image__labels_entry__descriptor, &n);
        o->m.n_labels = n;
        svc_timestamp(&r->created_at, &o->created);
        svc_timestamp(&r->updated_at, &o->updated);
        o->m.created_at = &o->created;
        o->m.updated_at = &o->updated;
}

static void image_out_release(struct image_out *o)
{
        svc_map_free((void **) o->m.labels, o->m.n_labels);
}

/* The record of a message (strings borrowed except labels; release with strv_free of them),
 * checked as containerd's validateImage. */
static int record_from_message(const image_msg_t *m, struct image_record *r, struct errmsg *err)
{
        const Containerd__Types__Descriptor *t = m->target;

        if (!m->name || !m->name[0])
                return errmsg_set(err, -EINVAL, "image name must not be empty");
        if (!t || !t->digest || digest_validate(t->digest, NULL) < 0)
                return errmsg_set(err, -EINVAL, "Target.Digest \"%s\" invalid",
                                  t && t->digest ? t->digest : "");
        if (t->size <= 0)
                return errmsg_set(err, -EINVAL, "Target.Size must be greater than zero");
        if (!t->media_type || !t->media_type[0])
                return errmsg_set(err, -EINVAL, "Target.MediaType must be set");
        *r = (struct image_record){
                .name = m->name,
                .target = {.media_type = t->media_type, .size = t->size},
                .labels = svc_labels_from_map((void *const *) m->labels, m->n_labels),
        };
        (void) snprintf(r->target.digest, sizeof(r->target.digest), "%s", t->digest);
        return 0;
}

/* /images/create or /images/update with the image's name and labels as stored: the two
 * events have the same fields. */
static void publish_image(struct daemon *d, const char *ns, const char *topic,
                          const struct image_record *rec)
{
        Containerd__Services__Images__V1__ImageUpdate ev =
                CONTAINERD__SERVICES__IMAGES__V1__IMAGE_UPDATE__INIT;
        bool is_create = STREQ(topic, "/images/create");

        if (is_create)
                ev.base.descriptor = &containerd__services__images__v1__image_create__descriptor;
        ev.name = rec->name;
        ev.labels = (Containerd__Services__Images__V1__ImageUpdate__LabelsEntry **) svc_map_from_labels(
                rec->labels,
                is_create
                        ? &containerd__services__images__v1__image_create__labels_entry__descriptor
                        : &containerd__services__images__v1__image_update__labels_entry__descriptor,
                &ev.n_labels);
        (void) events_publish(d->events, ns, topic, &ev.base);
        svc_map_free((void **) ev.labels, ev.n_labels);
}

/* Answers with ns's image name as it is now, in a response whose only field is the image
 * (Get, Create and Update answers share that layout). */
static int reply_image(struct grpc_call *call, struct daemon *d, const char *ns, const char *name,
                       const ProtobufCMessageDescriptor *desc, const char *topic,
                       struct errmsg *err)
{
        Containerd__Services__Images__V1__GetImageResponse out =
                CONTAINERD__SERVICES__IMAGES__V1__GET_IMAGE_RESPONSE__INIT;
        struct image_record rec;
        struct image_out o;
        int r = image_get(d->st->md, ns, name, &rec, err);

        if (r < 0)
                return r;
        message_from_record(&rec, &o);
        out.base.descriptor = desc;
        out.image = &o.m;
        r = svc_reply(call, &out.base);
        if (r >= 0 && topic)
                publish_image(d, ns, topic, &rec);
        image_out_release(&o);
        image_record_release(&rec);
        return r;
}

static int get_fn(struct grpc_call *call, const uint8_t *msg, size_t len, void *userdata,
                  struct errmsg *err)
{
        _cleanup_pb_ Containerd__Services__Images__V1__GetImageRequest *in = NULL;
        const char *ns;
        int r;

        r = svc_request(call, &containerd__services__images__v1__get_image_request__descriptor, msg,
                        len, &in, &ns, err);
        return r < 0 ? r
                     : reply_image(
                               call, userdata, ns, in->name,
                               &containerd__services__images__v1__get_image_response__descriptor,
                               NULL, err);
}

static const char *record_field(const char *field, void *object)
{
        const struct image_record *r = object;

        if (STREQ(field, "name"))
                return r->name;
        if (STREQ(field, "target.digest"))
                return r->target.digest;
        if (STREQ(field, "target.mediatype"))
                return r->target.media_type;
        return svc_label_field(field, r->labels);
}

static int list_fn(struct grpc_call *call, const uint8_t *msg, size_t len, void *userdata,
                   struct errmsg *err)
{
        _cleanup_pb_ Containerd__Services__Images__V1__ListImagesRequest *in = NULL;
        Containerd__Services__Images__V1__ListImagesResponse out =
                CONTAINERD__SERVICES__IMAGES__V1__LIST_IMAGES_RESPONSE__INIT;
        struct daemon *d = userdata;
        struct image_record *v = NULL;
        struct image_out *o;
        size_t n = 0;
        const char *ns;
        int r;

        r = svc_request(call, &containerd__services__images__v1__list_images_request__descriptor,
                        msg, len, &in, &ns, err);
        if (r >= 0)
                r = image_list(d->st->md, ns, &v, &n, err);
        o = xnew0(struct image_out, n + 1);
        out.images = xnew0(image_msg_t *, n + 1);
        for (size_t i = 0; r >= 0 && i < n; i++) {
                bool match;

                r = svc_filters_match(in->filters, in->n_filters, record_field, &v[i], &match, err);
                if (r < 0 || !match)
                        continue;
                message_from_record(&v[i], &o[out.n_images]);
                out.images[out.n_images] = &o[out.n_images].m;
                out.n_images++;
        }
        if (r >= 0)
                r = svc_reply(call, &out.base);
        for (size_t i = 0; i < out.n_images; i++)
                image_out_release(&o[i]);
        free(out.images);
        free(o);
        image_records_free(v, n);
        return r;
}

static int create_fn(struct grpc_call *call, const uint8_t *msg, size_t len, void *userdata,
                     struct errmsg *err)
{
        _cleanup_pb_ Containerd__Services__Images__V1__CreateImageRequest *in = NULL;
        struct daemon *d = userdata;
        struct image_record rec;
        const char *ns;
        int r;

        r = svc_request(call, &containerd__services__images__v1__create_image_request__descriptor,
                        msg, len, &in, &ns, err);
        if (r >= 0 && !in->image)
                r = errmsg_set(err, -EINVAL, "image name must not be empty");
        if (r >= 0)
                r = record_from_message(in->image, &rec, err);
        if (r < 0)
                return r;
        r = image_put(d->st->md, ns, &rec, false, err);
        strv_free(rec.labels);
        return r < 0 ? r
                     : reply_image(
                               call, d, ns, in->image->name,
                               &containerd__services__images__v1__create_image_response__descriptor,
                               "/images/create", err);
}

/* Sets (or, with an empty value, removes) the label key in *labels. */
static void label_set(char ***labels, const char *key, const char *value)
{
        char **kept = NULL;

        for (size_t j = 0; *labels && (*labels)[j]; j += 2)
                if (!STREQ((*labels)[j], key)) {
                        (void) strv_push(&kept, (*labels)[j]);
                        (void) strv_push(&kept, (*labels)[j + 1]);
                }
        if (value && value[0]) {
                (void) strv_push(&kept, key);
                (void) strv_push(&kept, value);
        }
        strv_free(*labels);
        *labels = kept;
}

/* Applies the update's field paths (metadata/images.go Update) to cur, from upd. */
static int apply_paths(const Google__Protobuf__FieldMask *mask, struct image_record *cur,
                       const struct image_record *upd, struct errmsg *err)
{
        for (size_t i = 0; i < mask->n_paths; i++) {
                const char *p = mask->paths[i];

                if (STREQ(p, "labels")) {
                        strv_free(cur->labels);
                        cur->labels = strv_copy(upd->labels);
                } else if (strncmp(p, "labels.", 7) == 0) {
                        label_set(&cur->labels, p + 7, svc_label_field(p, upd->labels));
                } else if (STREQ(p, "target")) {
                        free(cur->target.media_type);
                        cur->target.media_type = xstrdup(upd->target.media_type);
                        memcpy(cur->target.digest, upd->target.digest, sizeof(cur->target.digest));
                        cur->target.size = upd->target.size;
                } else if (!STREQ(p, "annotations") && strncmp(p, "annotations.", 12) != 0) {
                        return errmsg_set(err, -EINVAL,
                                          "cannot update \"%s\" field on image \"%s\"", p,
                                          cur->name);
                }
        }
        return 0;
}

static int update_fn(struct grpc_call *call, const uint8_t *msg, size_t len, void *userdata,
                     struct errmsg *err)
{
        _cleanup_pb_ Containerd__Services__Images__V1__UpdateImageRequest *in = NULL;
        struct image_record cur = {0}, upd = {0};
        struct daemon *d = userdata;
        bool has_mask;
        const char *ns;
        int r;

        r = svc_request(call, &containerd__services__images__v1__update_image_request__descriptor,
                        msg, len, &in, &ns, err);
        if (r >= 0 && (!in->image || !in->image->name[0]))
                r = errmsg_set(err, -EINVAL, "image name is required for update");
        if (r >= 0)
                r = image_get(d->st->md, ns, in->image->name, &cur, err);
        if (r < 0)
                return r;
        has_mask = in->update_mask && in->update_mask->n_paths > 0;
        if (has_mask) {
                /* a mask may leave the target out: take the current one then */
                upd = (struct image_record){
                        .name = in->image->name,
                        .labels = svc_labels_from_map((void *const *) in->image->labels,
                                                      in->image->n_labels),
                };
                if (in->image->target) {
                        upd.target.media_type = in->image->target->media_type;
                        upd.target.size = in->image->target->size;
                        (void) snprintf(upd.target.digest, sizeof(upd.target.digest), "%s",
                                        in->image->target->digest);
                }
                r = apply_paths(in->update_mask, &cur, &upd, err);
        } else {
                r = record_from_message(in->image, &upd, err);
        }
        if (r >= 0)
                r = image_put(d->st->md, ns, has_mask ? &cur : &upd, true, err);
        strv_free(upd.labels);
        image_record_release(&cur);
        return r < 0 ? r
                     : reply_image(
                               call, d, ns, in->image->name,
                               &containerd__services__images__v1__update_image_response__descriptor,
                               "/images/update", err);
}

static int delete_fn(struct grpc_call *call, const uint8_t *msg, size_t len, void *userdata,
                     struct errmsg *err)
{
        _cleanup_pb_ Containerd__Services__Images__V1__DeleteImageRequest *in = NULL;
        struct daemon *d = userdata;
        struct gc_result gc;
        const char *ns;
        int r;

        r = svc_request(call, &containerd__services__images__v1__delete_image_request__descriptor,
                        msg, len, &in, &ns, err);
        if (r >= 0)
                r = image_delete(d->st->md, ns, in->name, err);
        if (r >= 0) {
                Containerd__Services__Images__V1__ImageDelete ev =
                        CONTAINERD__SERVICES__IMAGES__V1__IMAGE_DELETE__INIT;

                ev.name = in->name;
                (void) events_publish(d->events, ns, "/images/delete", &ev.base);
        }
        if (r >= 0 && in->sync)
                r = metadata_gc(d->st->md, d->st->cs, d->st->snapshotters,
                                ELEMENTSOF(d->st->snapshotters), &gc, err);
        return r < 0 ? r : svc_reply_empty(call);
}

const struct grpc_method svc_images_methods[] = {
        {"/containerd.services.images.v1.Images/Get", GRPC_UNARY, get_fn},
        {"/containerd.services.images.v1.Images/List", GRPC_UNARY, list_fn},
        {"/containerd.services.images.v1.Images/Create", GRPC_UNARY, create_fn},
        {"/containerd.services.images.v1.Images/Update", GRPC_UNARY, update_fn},
        {"/containerd.services.images.v1.Images/Delete", GRPC_UNARY, delete_fn},
        {NULL},
};
