/* SpiceAccel: a thin shared-library shim over spice-common's public QUIC and LZ entry points
 * (quic_create/quic_encode/quic_decode_begin/quic_decode, lz_create/lz_encode/lz_decode_begin/lz_decode),
 * so the .NET benchmark can call the C codecs in the same process, interleaved with the C# ones.
 * Our own code; spice-common itself is compiled from a tree the user provides (see run.sh) and never vendored. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "quic.h"
#include "lz.h"

static jmp_buf failure;

static void fail(const char *fmt, va_list ap)
{
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    longjmp(failure, 1);
}

static void quiet(void) { }

#define USR_CALLBACKS(Usr)                                                                    \
    static SPICE_GNUC_NORETURN void Usr##_error(Usr *u, const char *fmt, ...)                 \
    { va_list ap; (void)u; va_start(ap, fmt); fail(fmt, ap); va_end(ap); abort(); }           \
    static void Usr##_note(Usr *u, const char *fmt, ...) { (void)u; (void)fmt; quiet(); }     \
    static void *Usr##_malloc(Usr *u, int size) { (void)u; return malloc((size_t)size); }    \
    static void Usr##_free(Usr *u, void *p) { (void)u; free(p); }

USR_CALLBACKS(QuicUsrContext)
USR_CALLBACKS(LzUsrContext)

static int quic_no_space(QuicUsrContext *u, uint32_t **io, int rows) { (void)u; (void)io; (void)rows; return 0; }
static int quic_no_lines(QuicUsrContext *u, uint8_t **lines) { (void)u; (void)lines; return 0; }
static int lz_no_space(LzUsrContext *u, uint8_t **io) { (void)u; (void)io; return 0; }
static int lz_no_lines(LzUsrContext *u, uint8_t **lines) { (void)u; (void)lines; return 0; }

static QuicUsrContext quic_usr = {
    QuicUsrContext_error, QuicUsrContext_note, QuicUsrContext_note,
    QuicUsrContext_malloc, QuicUsrContext_free, quic_no_space, quic_no_lines,
};
static LzUsrContext lz_usr = {
    LzUsrContext_error, LzUsrContext_note, LzUsrContext_note,
    LzUsrContext_malloc, LzUsrContext_free, lz_no_space, lz_no_lines,
};
static QuicContext *quic;
static LzContext *lz;

/* QUIC-encodes a top-down image (type: spice-common QuicImageType). Returns the stream length in bytes, -1 on error. */
int cref_quic_encode(uint8_t *pixels, int width, int height, int stride, int type, uint32_t *out, int out_words)
{
    if (!quic && !(quic = quic_create(&quic_usr))) {
        return -1;
    }
    if (setjmp(failure)) {
        return -1;
    }
    int words = quic_encode(quic, (QuicImageType)type, width, height, pixels, (unsigned)height, stride, out, (unsigned)out_words);
    return words < 0 ? -1 : words * 4;
}

/* Decodes a QUIC stream into BGRX rows (QUIC_IMAGE_TYPE_RGB32, as spice-gtk does). Returns 0, or -1 on error. */
int cref_quic_decode(uint32_t *in, int in_words, uint8_t *out, int stride)
{
    QuicImageType type;
    int width, height;
    if (!quic && !(quic = quic_create(&quic_usr))) {
        return -1;
    }
    if (setjmp(failure)) {
        return -1;
    }
    if (quic_decode_begin(quic, in, (unsigned)in_words, &type, &width, &height) != QUIC_OK) {
        return -1;
    }
    return quic_decode(quic, QUIC_IMAGE_TYPE_RGB32, out, stride) == QUIC_OK ? 0 : -1;
}

/* LZ_RGB32-encodes a top-down, tightly packed BGRX image. Returns the stream length, -1 on error. */
int cref_lz_encode(uint8_t *pixels, int width, int height, uint8_t *out, int out_bytes)
{
    if (!lz && !(lz = lz_create(&lz_usr))) {
        return -1;
    }
    if (setjmp(failure)) {
        return -1;
    }
    return lz_encode(lz, LZ_IMAGE_TYPE_RGB32, width, height, 1, pixels, (unsigned)height, width * 4, out, (unsigned)out_bytes);
}

/* Decodes an LZ_RGB32 stream into tightly packed BGRX. Returns 0, or -1 on error. */
int cref_lz_decode(uint8_t *in, int in_bytes, uint8_t *out)
{
    LzImageType type;
    int width, height, pixels, top_down;
    if (!lz && !(lz = lz_create(&lz_usr))) {
        return -1;
    }
    if (setjmp(failure)) {
        return -1;
    }
    lz_decode_begin(lz, in, (unsigned)in_bytes, &type, &width, &height, &pixels, &top_down, NULL);
    lz_decode(lz, LZ_IMAGE_TYPE_RGB32, out);
    return 0;
}
