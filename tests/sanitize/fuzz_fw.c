/*
 * fuzz_fw.c - libFuzzer target for the firmware's serial front end: the frame
 * parser (runtime/firmware/fw_frame.c) and the command dispatcher
 * (fw_commands.c), compiled from the firmware sources themselves with a
 * loopback model and the host board's counter (tests/sanitize/fw_fuzz.sh
 * builds and runs it, with ASan + UBSan).
 *
 * One fuzzer input is one byte stream from the host, fed exactly as fw_main.c
 * feeds the UART: the bytes a rejected frame queued for replay first, then
 * fresh ones. Every parser event is answered as fw_main.c answers it
 * (fw_commands_reply, which runs fw_commands_handle on good frames), and the
 * response is encoded with fw_frame_finish() into a heap buffer of exactly
 * FW_FRAME_MAX bytes, like fw_main.c's fw_tx. After the input the stream
 * continues with up to FW_MAX_PAYLOAD + 10 zero bytes: the padding the host
 * sends to recover a link (docs/serial-protocol.md), which also completes any
 * frame the input left truncated. (It stops as soon as the parser is empty,
 * since further zeros would be no-ops.)
 *
 * Checked beyond what the sanitizers see (a failed check aborts, which
 * libFuzzer records as a crash):
 *  - the parser's bounds after every byte: count <= FW_FRAME_MAX,
 *    replay_pos <= replay_len <= FW_FRAME_MAX, and count + pending replay
 *    <= FW_FRAME_MAX (the bounded-memory argument in fw_frame.c);
 *  - progress: frame starts only move forward, so no byte can be parsed more
 *    than FW_FRAME_MAX times;
 *  - a good frame has len <= FW_MAX_PAYLOAD and its payload inside the parser;
 *  - exactly one response per frame event (good or rejected), none otherwise,
 *    of FW_RESP_HEADER (status, session) to FW_MAX_PAYLOAD payload bytes,
 *    and the encoded response decodes
 *    again (a second parser) to the same seq, cmd | 0x80 and payload;
 *  - after the padding the parser holds nothing: the host's recovery works
 *    whatever the input left behind.
 * A handler gets the request payload at the very end of a heap block (a
 * rejected frame: NULL) and writes its response into a block of exactly
 * FW_MAX_PAYLOAD bytes, so reading past the request or writing past the
 * payload limit is an ASan report rather than a silent stray access inside
 * the parser's or fw_main.c's larger buffers.
 *
 * Reproducing a finding: build/fuzz/fw_fuzz_<payload> <artifact file>.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fp_model_api.h"
#include "fw_bytes.h"
#include "fw_commands.h"
#include "fw_crc32.h"
#include "fw_frame.h"

/* IDENTIFY reports it; a real build gets it from the build driver. */
extern const char fw_build_id[];
const char fw_build_id[] = "f022f022f022f022";

/* The libFuzzer interface (no header of its own in C). */
int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max_size);
size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed);

/* Not assert(): the checks must not depend on NDEBUG. */
#define FUZZ_CHECK(cond) ((cond) ? (void)0 : fuzz_fail(#cond, __LINE__))

static void fuzz_fail(const char *what, int line)
{
    fprintf(stderr, "fuzz_fw.c:%d: invariant violated: %s\n", line, what);
    abort();
}


/* Heap blocks of exact sizes (allocated once; ASan redzones around each). */
static fw_parser_t *fuzz_parser; /* the firmware's parser */
static fw_parser_t *fuzz_echo;   /* decodes every response again */
static uint8_t *fuzz_req;        /* FW_MAX_PAYLOAD bytes: a request payload at its end */
static uint8_t *fuzz_resp;       /* FW_MAX_PAYLOAD bytes: what a handler writes */
static uint8_t *fuzz_tx;         /* FW_FRAME_MAX bytes: the encoded response */

static void *fuzz_alloc(size_t n)
{
    void *p = malloc(n);

    FUZZ_CHECK(p != NULL);
    return p;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    static const uint8_t check[] = "123456789";

    (void)argc;
    (void)argv;
    /* The mutator below relies on the firmware's CRC being the documented one. */
    FUZZ_CHECK(fw_crc32_update(0u, check, 9u) == 0xCBF43926u);
    fuzz_parser = fuzz_alloc(sizeof *fuzz_parser);
    fuzz_echo = fuzz_alloc(sizeof *fuzz_echo);
    fuzz_req = fuzz_alloc(FW_MAX_PAYLOAD);
    fuzz_resp = fuzz_alloc(FW_MAX_PAYLOAD);
    fuzz_tx = fuzz_alloc(FW_FRAME_MAX);
    return 0;
}

/* ---- the stream --------------------------------------------------------- */

typedef struct {
    const uint8_t *data;
    size_t size;
    size_t pos;
    size_t pad;     /* zero bytes still to send after the data */
    uint64_t feeds; /* bytes handed to the parser, replays included */
    uint64_t limit; /* ... which can never exceed this */
} fuzz_stream_t;

static int fuzz_parser_empty(const fw_parser_t *p)
{
    return p->count == 0u && p->replay_pos == p->replay_len;
}

/* fw_main.c's fw_next_byte(): replayed bytes go before fresh ones. */
static int fuzz_next_byte(fuzz_stream_t *s, uint8_t *byte)
{
    if (fw_parser_take_replay(fuzz_parser, byte)) {
        return 1;
    }
    if (s->pos < s->size) {
        *byte = s->data[s->pos++];
        return 1;
    }
    /* Zeros reach an empty parser as no-ops: stop padding once it is empty. */
    if (s->pad > 0u && !fuzz_parser_empty(fuzz_parser)) {
        s->pad--;
        *byte = 0u;
        return 1;
    }
    return 0;
}

static void fuzz_check_parser(const fw_parser_t *p)
{
    FUZZ_CHECK(p->count <= FW_FRAME_MAX);
    FUZZ_CHECK(p->replay_pos <= p->replay_len);
    FUZZ_CHECK(p->replay_len <= FW_FRAME_MAX);
    FUZZ_CHECK(p->count + (p->replay_len - p->replay_pos) <= FW_FRAME_MAX);
}

/* ---- responses ---------------------------------------------------------- */

/* The encoded response must decode to what was encoded. */
static void fuzz_check_echo(size_t total, uint8_t seq, uint8_t cmd, uint16_t len)
{
    fw_frame_t got = {0u, 0u, 0u, NULL};
    size_t i;

    for (i = 0; i < total; ++i) {
        fw_event_t event = fw_parser_feed(fuzz_echo, fuzz_tx[i], &got);

        FUZZ_CHECK(event == (i + 1u == total ? FW_EV_FRAME : FW_EV_NONE));
    }
    FUZZ_CHECK(got.seq == seq && got.cmd == cmd && got.len == len);
    FUZZ_CHECK(memcmp(got.payload, fuzz_tx + FW_HEADER_BYTES, len) == 0);
    FUZZ_CHECK(fuzz_parser_empty(fuzz_echo));
}

static void fuzz_respond(const fw_frame_t *frame, uint16_t len)
{
    uint8_t cmd = (uint8_t)(frame->cmd | FW_CMD_RESPONSE);
    size_t total;

    FUZZ_CHECK(len <= FW_MAX_PAYLOAD);
    FUZZ_CHECK(len >= FW_RESP_HEADER); /* status and session, always */
    memcpy(fuzz_tx + FW_HEADER_BYTES, fuzz_resp, len);
    total = fw_frame_finish(fuzz_tx, frame->seq, cmd, len);
    FUZZ_CHECK(total == (size_t)len + FW_FRAME_OVERHEAD);
    fuzz_check_echo(total, frame->seq, cmd, len);
}

static void fuzz_dispatch(fw_event_t event, const fw_frame_t *frame)
{
    fw_frame_t req = *frame;
    uint16_t len;

    req.payload = NULL; /* a rejected frame has no payload worth reading */
    if (event == FW_EV_FRAME) {
        FUZZ_CHECK(frame->len <= FW_MAX_PAYLOAD);
        FUZZ_CHECK(frame->payload >= fuzz_parser->buf &&
                   frame->payload + frame->len <= fuzz_parser->buf + FW_FRAME_MAX);
        /* Right before the redzone: cheaper than a malloc per frame. */
        req.payload = fuzz_req + FW_MAX_PAYLOAD - frame->len;
        memcpy(fuzz_req + FW_MAX_PAYLOAD - frame->len, frame->payload, frame->len);
    }
    len = fw_commands_reply(event, &req, fuzz_resp);
    FUZZ_CHECK((len == 0u) == (event == FW_EV_NONE));
    if (len != 0u) {
        fuzz_respond(frame, len);
    }
}

/* ---- one input ------------------------------------------------------------ */

/* Power-on state, so that every input reproduces on its own. */
static void fuzz_boot(void)
{
    fw_parser_init(fuzz_parser);
    fw_parser_init(fuzz_echo);
    memset(fp_model_input(), 0, fp_model_input_size());
    fw_commands_init();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_stream_t s;
    fw_frame_t frame = {0u, 0u, 0u, NULL};
    uint8_t byte;

    s.data = data;
    s.size = size;
    s.pos = 0;
    s.pad = FW_FRAME_MAX;
    s.feeds = 0;
    s.limit = (uint64_t)(size + FW_FRAME_MAX) * FW_FRAME_MAX;
    fuzz_boot();
    while (fuzz_next_byte(&s, &byte)) {
        fw_event_t event = fw_parser_feed(fuzz_parser, byte, &frame);

        FUZZ_CHECK(++s.feeds <= s.limit);
        fuzz_check_parser(fuzz_parser);
        fuzz_dispatch(event, &frame);
    }
    FUZZ_CHECK(fuzz_parser_empty(fuzz_parser));
    return 0;
}

/* ---- mutator -------------------------------------------------------------- */
/*
 * Byte-level mutation alone almost never yields a frame with a correct CRC-32,
 * so the command handlers would only ever see the seeds. After the default
 * mutation this mutator therefore usually repairs the CRC of every complete
 * frame in the input (and sometimes inserts a fresh well-formed request); it
 * leaves a quarter of the mutants alone so that bad CRCs stay covered. It only
 * shapes the inputs: the target above still parses the raw bytes.
 */

static uint32_t fuzz_rand(uint32_t *state) /* xorshift32 */
{
    uint32_t x = *state;

    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    *state = x;
    return x;
}

/* Frame boundaries as the parser sees them after good frames. */
static void fuzz_fix_crcs(uint8_t *data, size_t size)
{
    size_t i = 0;

    while (i + FW_HEADER_BYTES <= size) {
        if (data[i] == FW_SYNC0 && data[i + 1u] == FW_SYNC1) {
            size_t body = FW_HEADER_BYTES + (size_t)fw_get_u16(data + i + 2u);

            if (body - FW_HEADER_BYTES <= FW_MAX_PAYLOAD && i + body + FW_CRC_BYTES <= size) {
                fw_put_u32(data + i + body, fw_crc32_update(0u, data + i + 2u, body - 2u));
                i += body + FW_CRC_BYTES;
                continue;
            }
        }
        ++i;
    }
}

/* Payload lengths the handlers check against: fixed request sizes, short
 * ones, and the neighbourhood of the payload limit. */
static size_t fuzz_pick_len(uint32_t *rng)
{
    static const uint8_t fixed[] = {0u, 1u, 4u, 5u, 6u, 8u, 10u, 12u};

    switch (fuzz_rand(rng) % 4u) {
    case 0:
        return fixed[fuzz_rand(rng) % sizeof fixed];
    case 1:
        return fuzz_rand(rng) % 32u;
    case 2:
        return FW_MAX_PAYLOAD - fuzz_rand(rng) % 16u;
    default:
        return fuzz_rand(rng) % (FW_MAX_PAYLOAD + 1u);
    }
}

/* Insert one well-formed request: a command code at or near the defined ones,
 * mostly zero payload bytes (offsets and lengths the handlers accept). */
static size_t fuzz_insert_frame(uint8_t *data, size_t size, size_t max_size, uint32_t *rng)
{
    size_t len = fuzz_pick_len(rng);
    size_t total;
    size_t at;
    size_t i;
    uint8_t *f;

    if (size + FW_FRAME_OVERHEAD > max_size) {
        return size;
    }
    if (size + FW_FRAME_OVERHEAD + len > max_size) {
        len = max_size - size - FW_FRAME_OVERHEAD;
    }
    total = len + FW_FRAME_OVERHEAD;
    at = fuzz_rand(rng) % (size + 1u);
    memmove(data + at + total, data + at, size - at);
    f = data + at;
    f[0] = FW_SYNC0;
    f[1] = FW_SYNC1;
    fw_put_u16(f + 2, (uint16_t)len);
    f[4] = (uint8_t)fuzz_rand(rng);
    f[5] = (uint8_t)(fuzz_rand(rng) % 4u == 0u ? fuzz_rand(rng) : fuzz_rand(rng) % 16u);
    for (i = 0; i < len; ++i) {
        f[FW_HEADER_BYTES + i] = (uint8_t)(fuzz_rand(rng) % 4u == 0u ? fuzz_rand(rng) : 0u);
    }
    fw_put_u32(f + FW_HEADER_BYTES + len, fw_crc32_update(0u, f + 2, FW_HEADER_BYTES - 2u + len));
    return size + total;
}

size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed)
{
    uint32_t rng = (uint32_t)seed ^ 0x9E3779B9u;

    if (rng == 0u) {
        rng = 1u; /* xorshift's one fixed point */
    }
    if (fuzz_rand(&rng) % 16u == 0u) {
        size = fuzz_insert_frame(data, size, max_size, &rng);
    } else {
        size = LLVMFuzzerMutate(data, size, max_size);
    }
    if (fuzz_rand(&rng) % 4u != 0u) {
        fuzz_fix_crcs(data, size);
    }
    return size;
}
