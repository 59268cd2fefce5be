/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The uncompressed bytes of a layer stream (see layer.h): the compression is sniffed from the
 * first bytes, gzip goes through zlib and zstd through libzstd, and every byte handed out is
 * hashed so that the diff_id is known at EOF. Blocks are handed out by pointer into one 1 MiB
 * buffer, so that libarchive parses the tar straight from it without another copy.
 */
#include <zlib.h>
#include <zstd.h>

#include "containerd/layer.h"
#include "lib/xalloc.h"

#define READER_OUT_SIZE (1u << 20) /* uncompressed bytes per block */
#define READER_IN_SIZE  (1u << 20) /* input buffered (a plain tar's blocks) */

struct layer_reader {
        layer_read_fn read;
        void *userdata;
        enum layer_compression compression;
        struct digester *digester;
        uint64_t size;
        char diff_id[DIGEST_STR_MAX];
        bool is_eof; /* the uncompressed stream ended; diff_id is set */
        bool in_eof; /* the source returned 0 */
        /* compressed input (the whole stream for a plain tar) */
        uint8_t *in;
        size_t in_pos, in_len;
        uint8_t *out; /* uncompressed output of gzip and zstd */
        z_stream z;
        bool z_ready;
        bool z_member_done; /* between two gzip members */
        ZSTD_DCtx *zstd;
        bool zstd_frame_done; /* the last step that moved ended a frame */
};

static const char *const whiteouts_table[_LAYER_WHITEOUTS_MAX] = {
        [LAYER_WHITEOUTS_OVERLAY] = "overlay",
        [LAYER_WHITEOUTS_APPLY] = "apply",
};

const char *layer_whiteouts_to_string(enum layer_whiteouts w)
{
        if ((unsigned) w >= _LAYER_WHITEOUTS_MAX)
                return NULL;
        return whiteouts_table[w];
}

int layer_whiteouts_from_string(const char *s)
{
        for (size_t i = 0; s && i < ELEMENTSOF(whiteouts_table); i++)
                if (STREQ(s, whiteouts_table[i]))
                        return (int) i;
        return -EINVAL;
}

ssize_t layer_read_fd(void *userdata, void *buf, size_t size)
{
        int fd = *(int *) userdata;

        for (;;) {
                ssize_t n = read(fd, buf, size);

                if (n >= 0)
                        return n;
                if (errno != EINTR)
                        return -errno;
        }
}

/*
 * Makes at least want bytes of input available at in[in_pos..] unless the source ends first
 * (then in_eof is set). Leftover bytes move to the front of the buffer.
 */
static int reader_fill(struct layer_reader *r, size_t want, struct errmsg *err)
{
        if (r->in_pos > 0) {
                memmove(r->in, r->in + r->in_pos, r->in_len - r->in_pos);
                r->in_len -= r->in_pos;
                r->in_pos = 0;
        }
        want = MIN(want, (size_t) READER_IN_SIZE);
        while (!r->in_eof && r->in_len < want) {
                ssize_t n = r->read(r->userdata, r->in + r->in_len, READER_IN_SIZE - r->in_len);

                if (n < 0)
                        return errmsg_set(err, (int) n, "read: %s", strerror((int) -n));
                if ((size_t) n > READER_IN_SIZE - r->in_len)
                        return errmsg_set(err, -EIO, "read: reader returned too much");
                if (n == 0)
                        r->in_eof = true;
                r->in_len += (size_t) n;
        }
        return 0;
}

static int reader_sniff(struct layer_reader *r, struct errmsg *err)
{
        static const uint8_t gzip_magic[] = {0x1f, 0x8b};
        static const uint8_t zstd_magic[] = {0x28, 0xb5, 0x2f, 0xfd};
        const uint8_t *p = r->in;
        int q;

        q = reader_fill(r, sizeof(zstd_magic), err);
        if (q < 0)
                return q;
        if (r->in_len >= 2 && memcmp(p, gzip_magic, sizeof(gzip_magic)) == 0)
                r->compression = LAYER_COMPRESSION_GZIP;
        else if (r->in_len >= 4 && memcmp(p, zstd_magic, sizeof(zstd_magic)) == 0)
                r->compression = LAYER_COMPRESSION_ZSTD;
        /* zstd skippable frames: magic 0x184D2A50..0x184D2A5F, little-endian */
        else if (r->in_len >= 4 && (p[0] & 0xf0) == 0x50 && p[1] == 0x2a && p[2] == 0x4d &&
                 p[3] == 0x18)
                r->compression = LAYER_COMPRESSION_ZSTD;
        else
                r->compression = LAYER_COMPRESSION_NONE;
        return 0;
}

static int reader_init_codec(struct layer_reader *r)
{
        if (r->compression == LAYER_COMPRESSION_GZIP) {
                /* 16 + 15: a gzip wrapper (not zlib or raw deflate), the largest window */
                if (inflateInit2(&r->z, 16 + MAX_WBITS) != Z_OK)
                        return -ENOMEM;
                r->z_ready = true;
        } else if (r->compression == LAYER_COMPRESSION_ZSTD) {
                r->zstd = ZSTD_createDCtx();
                if (!r->zstd)
                        return -ENOMEM;
        }
        if (r->compression != LAYER_COMPRESSION_NONE)
                r->out = xmalloc(READER_OUT_SIZE);
        return 0;
}

int layer_reader_new(layer_read_fn read, void *userdata, struct layer_reader **ret,
                     struct errmsg *err)
{
        _cleanup_(layer_reader_freep) struct layer_reader *r = xnew0(struct layer_reader, 1);
        int q;

        r->read = read;
        r->userdata = userdata;
        r->digester = digester_new();
        r->in = xmalloc(READER_IN_SIZE);
        q = reader_sniff(r, err);
        if (q < 0)
                return q;
        q = reader_init_codec(r);
        if (q < 0)
                return errmsg_set(err, q, "%s decoder: %s",
                                  layer_compression_to_string(r->compression), strerror(-q));
        *ret = TAKE_PTR(r);
        return 0;
}

/* At the end of a gzip member: another member follows, or the stream ends. */
static int gzip_next_member(struct layer_reader *r, bool *ret_eof, struct errmsg *err)
{
        int q;

        q = reader_fill(r, 2, err);
        if (q < 0)
                return q;
        if (r->in_len - r->in_pos == 0) {
                *ret_eof = true;
                return 0;
        }
        if (r->in_len - r->in_pos < 2 || r->in[r->in_pos] != 0x1f || r->in[r->in_pos + 1] != 0x8b)
                return errmsg_set(err, -EINVAL, "gzip: data after the compressed stream");
        if (inflateReset(&r->z) != Z_OK)
                return errmsg_set(err, -EINVAL, "gzip: cannot reset the decoder");
        r->z_member_done = false;
        *ret_eof = false;
        return 0;
}

static int gzip_block(struct layer_reader *r, size_t *ret_size, struct errmsg *err)
{
        r->z.next_out = r->out;
        r->z.avail_out = READER_OUT_SIZE;
        while (r->z.avail_out > 0) {
                bool eof = false;
                int q;

                if (r->z_member_done) {
                        q = gzip_next_member(r, &eof, err);
                        if (q < 0)
                                return q;
                        if (eof)
                                break;
                }
                if (r->in_pos == r->in_len) {
                        q = reader_fill(r, READER_IN_SIZE, err);
                        if (q < 0)
                                return q;
                }
                r->z.next_in = r->in + r->in_pos;
                r->z.avail_in = (uInt) (r->in_len - r->in_pos);
                q = inflate(&r->z, Z_NO_FLUSH);
                r->in_pos = r->in_len - r->z.avail_in;
                if (q == Z_STREAM_END) {
                        r->z_member_done = true;
                } else if (q == Z_BUF_ERROR && r->in_pos == r->in_len && r->in_eof) {
                        /* no progress and no input left: hand out what came, then fail */
                        if (r->z.avail_out < READER_OUT_SIZE)
                                break;
                        return errmsg_set(err, -EINVAL, "gzip: unexpected end of stream");
                } else if (q != Z_OK && q != Z_BUF_ERROR) {
                        return errmsg_set(err, -EINVAL, "gzip: %s",
                                          r->z.msg ? r->z.msg : "corrupt stream");
                }
        }
        *ret_size = READER_OUT_SIZE - r->z.avail_out;
        return 0;
}

static int zstd_block(struct layer_reader *r, size_t *ret_size, struct errmsg *err)
{
        ZSTD_outBuffer out = {.dst = r->out, .size = READER_OUT_SIZE};

        while (out.pos < out.size) {
                ZSTD_inBuffer in;
                size_t z, before = out.pos;
                int q;

                if (r->in_pos == r->in_len) {
                        q = reader_fill(r, READER_IN_SIZE, err);
                        if (q < 0)
                                return q;
                }
                in = (ZSTD_inBuffer){.src = r->in, .size = r->in_len, .pos = r->in_pos};
                z = ZSTD_decompressStream(r->zstd, &out, &in);
                if (ZSTD_isError(z))
                        return errmsg_set(err, -EINVAL, "zstd: %s", ZSTD_getErrorName(z));
                if (in.pos != r->in_pos || out.pos != before) {
                        r->in_pos = in.pos;
                        r->zstd_frame_done = z == 0;
                } else if (r->in_pos == r->in_len && r->in_eof) {
                        /* the end: fine at a frame boundary, else truncated */
                        if (!r->zstd_frame_done && out.pos == 0)
                                return errmsg_set(err, -EINVAL, "zstd: unexpected end of stream");
                        break;
                }
        }
        *ret_size = out.pos;
        return 0;
}

static int plain_block(struct layer_reader *r, const void **ret_buf, size_t *ret_size,
                       struct errmsg *err)
{
        int q;

        if (r->in_pos == r->in_len) {
                q = reader_fill(r, READER_IN_SIZE, err);
                if (q < 0)
                        return q;
        }
        *ret_buf = r->in + r->in_pos;
        *ret_size = r->in_len - r->in_pos;
        r->in_pos = r->in_len;
        return 0;
}

int layer_reader_next(struct layer_reader *r, const void **ret_buf, size_t *ret_size,
                      struct errmsg *err)
{
        const void *buf = r->out;
        size_t size = 0;
        int q;

        if (r->is_eof) {
                *ret_buf = r->out ? r->out : r->in;
                *ret_size = 0;
                return 0;
        }
        if (r->compression == LAYER_COMPRESSION_GZIP)
                q = gzip_block(r, &size, err);
        else if (r->compression == LAYER_COMPRESSION_ZSTD)
                q = zstd_block(r, &size, err);
        else
                q = plain_block(r, &buf, &size, err);
        if (q < 0)
                return q;
        if (size == 0) {
                r->is_eof = true;
                digester_final(r->digester, r->diff_id);
        } else {
                digester_update(r->digester, buf, size);
                r->size += size;
        }
        *ret_buf = buf;
        *ret_size = size;
        return 0;
}

int layer_reader_drain(struct layer_reader *r, struct errmsg *err)
{
        for (;;) {
                const void *buf;
                size_t size;
                int q;

                q = layer_reader_next(r, &buf, &size, err);
                if (q < 0)
                        return q;
                if (size == 0)
                        return 0;
        }
}

enum layer_compression layer_reader_compression(const struct layer_reader *r)
{
        return r->compression;
}

int layer_reader_diff_id(const struct layer_reader *r, char ret[DIGEST_STR_MAX], uint64_t *ret_size)
{
        if (!r->is_eof)
                return -EBUSY;
        memcpy(ret, r->diff_id, DIGEST_STR_MAX);
        if (ret_size)
                *ret_size = r->size;
        return 0;
}

struct layer_reader *layer_reader_free(struct layer_reader *r)
{
        if (!r)
                return NULL;
        if (r->z_ready)
                (void) inflateEnd(&r->z);
        ZSTD_freeDCtx(r->zstd);
        digester_free(r->digester);
        free(r->in);
        free(r->out);
        free(r);
        return NULL;
}
