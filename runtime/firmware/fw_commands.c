/* fw_commands.c - the command handlers of the serial protocol (version 2).
 *
 * What makes a result trustworthy (docs/serial-protocol.md, "Exactness"):
 *  - RUN names the CRC-32 of the input it is meant to run on; the board checks
 *    its input buffer against it first, because the arena plan may reuse the
 *    input bytes for later layers (a second RUN would compute on garbage) and
 *    a reset may have cleared them. A mismatch is INPUT_STALE: the host reloads.
 *  - RUN also carries a host-chosen token; READ_OUTPUT names that token and is
 *    refused (OUTPUT_STALE) unless the output still belongs to that run.
 *  - RUN_STATUS reports the last executed run, so a lost RUN response costs
 *    the host one link timeout, not a model run time.
 *  - Every response carries the session id, which a reset returns to 0.
 *
 * Double buffering (docs/serial-protocol.md, "Double buffering"): a build with
 * FW_STAGE_BYTES >= the model input size has a staging buffer outside the
 * arena. LOAD_NEXT fills it while the output of the last run is still unread
 * (the host sends the next sample right behind RUN_NEXT, so it travels while
 * the board computes); RUN_NEXT copies it into the input and runs, and its
 * response carries the output. The RUN checks apply unchanged: the CRC is
 * checked after the copy, so a damaged or stale staging buffer is INPUT_STALE.
 */
#include "fw_commands.h"

#include <string.h>

#include "fp_model_api.h"
#include "fw_bytes.h"
#include "fw_crc32.h"
#include "fw_platform.h"

typedef uint16_t (*fw_handler_t)(const fw_frame_t *req, uint8_t *resp);

typedef struct {
    uint8_t cmd;
    fw_handler_t handler;
} fw_command_t;

/* The outcome of the last RUN that executed the model. */
typedef struct {
    uint32_t token;     /* 0: no run since boot or RESET */
    uint8_t status;     /* FW_STATUS_OK or FW_STATUS_MODEL_ERROR */
    int32_t rc;
    uint64_t count;
    uint32_t input_crc;
} fw_run_record_t;

typedef struct {
    int init_rc;        /* fp_model_init() result; RUN refuses while != 0 */
    uint32_t session;   /* set by SESSION, echoed in every response; 0 after boot */
    uint32_t runs;
    uint64_t last;
    uint64_t min;
    uint64_t max;
    uint64_t init;      /* cost of the last fp_model_init() */
    fw_run_record_t run;
    int output_valid;   /* output holds the result of run.token */
} fw_state_t;

static fw_state_t fw_state;

#ifndef FW_STAGE_BYTES
#define FW_STAGE_BYTES 0u
#endif
#if FW_STAGE_BYTES > 0u
static uint8_t fw_stage[FW_STAGE_BYTES];
#else
static uint8_t fw_stage[1]; /* never used: fw_staging() is false without FW_STAGE_BYTES */
#endif

/* Unless the counter takes interrupts out of its counts, the receive
 * interrupt is held during a timed run: bytes the host pipelines behind
 * RUN_NEXT must not add interrupt instructions to the count. */
#ifdef FW_UART_RX_IRQ
#define FW_RX_HOLD(hold)                                                                                   \
    do {                                                                                                   \
        if (!fw_counter_excludes_isr()) {                                                                  \
            fw_irq_line_hold(FW_UART_RX_IRQ, (hold));                                                      \
        }                                                                                                  \
    } while (0)
#else
#define FW_RX_HOLD(hold) ((void)0)
#endif

static int fw_staging(void)
{
    return FW_STAGE_BYTES > 0u && fp_model_input_size() <= FW_STAGE_BYTES;
}

/* Generated per build by the build driver (fw_build_id.c), so that the
 * build id never invalidates cached objects. */
extern const char fw_build_id[];

static uint16_t fw_begin(uint8_t *resp, uint8_t status)
{
    resp[0] = status;
    fw_put_u32(resp + 1, fw_state.session);
    return FW_RESP_HEADER;
}

/* Length-prefixed string, cut to what still fits in the payload. */
static uint16_t fw_put_str(uint8_t *resp, uint16_t at, const char *s)
{
    size_t n = strlen(s);
    size_t room;

    if (at >= FW_MAX_PAYLOAD) {
        return at;
    }
    room = (size_t)FW_MAX_PAYLOAD - at - 1u;
    if (n > 255u) {
        n = 255u;
    }
    if (n > room) {
        n = room;
    }
    resp[at] = (uint8_t)n;
    memcpy(resp + at + 1u, s, n);
    return (uint16_t)(at + 1u + n);
}

static int fw_model_reinit(void)
{
    uint64_t start = fw_counter_start();

    fw_state.init_rc = fp_model_init();
    fw_state.init = fw_counter_elapsed(start, fw_counter_now());
    fw_counter_stop();
    fw_state.runs = 0;
    fw_state.last = 0;
    fw_state.min = 0;
    fw_state.max = 0;
    memset(&fw_state.run, 0, sizeof fw_state.run);
    fw_state.output_valid = 0;
#ifdef FW_STREAMING
    fw_stream_init(); /* fp_model_init reset the recurrent state: no steps since */
#endif
    return fw_state.init_rc;
}

void fw_commands_init(void)
{
    memset(fw_stage, 0, sizeof fw_stage); /* as at power-on (the fuzzer boots many times) */
    fw_state.session = 0u;
    (void)fw_model_reinit();
}

static uint16_t fw_cmd_identify(const fw_frame_t *req, uint8_t *resp)
{
    uint16_t at;

    if (req->len != 0u) {
        return fw_begin(resp, FW_STATUS_BAD_LENGTH);
    }
    at = fw_begin(resp, FW_STATUS_OK);
    resp[at] = FW_PROTOCOL_VERSION;
    resp[at + 1u] = fw_counter_unit();
    resp[at + 2u] = (uint8_t)((fw_state.init_rc == 0 ? FW_FLAG_MODEL_READY : 0u) | (fw_staging() ? FW_FLAG_STAGING : 0u));
#ifdef FW_STREAMING
    resp[at + 2u] = (uint8_t)(resp[at + 2u] | FW_FLAG_STREAMING);
#endif
    fw_put_u16(resp + at + 3u, (uint16_t)FW_MAX_PAYLOAD);
    fw_put_u32(resp + at + 5u, fp_model_input_size());
    fw_put_u32(resp + at + 9u, fp_model_output_size());
    fw_put_u32(resp + at + 13u, fp_model_arena_size());
    fw_put_s32(resp + at + 17u, (int32_t)fw_state.init_rc);
    at = (uint16_t)(at + 21u);
    at = fw_put_str(resp, at, fp_model_hash());
    at = fw_put_str(resp, at, fw_build_id);
    at = fw_put_str(resp, at, FW_BOARD_NAME);
    return fw_put_str(resp, at, fp_model_name());
}

static uint16_t fw_cmd_session(const fw_frame_t *req, uint8_t *resp)
{
    if (req->len != 4u) {
        return fw_begin(resp, FW_STATUS_BAD_LENGTH);
    }
    fw_state.session = fw_get_u32(req->payload);
    return fw_begin(resp, FW_STATUS_OK);
}

/* offset + n <= size, written so that it cannot wrap. */
static int fw_in_range(uint32_t offset, uint32_t n, uint32_t size)
{
    return n <= size && offset <= size - n;
}

static uint16_t fw_cmd_load_input(const fw_frame_t *req, uint8_t *resp)
{
    uint32_t offset;
    uint32_t n;

    if (req->len < 4u) {
        return fw_begin(resp, FW_STATUS_BAD_LENGTH);
    }
    offset = fw_get_u32(req->payload);
    n = (uint32_t)req->len - 4u;
    if (!fw_in_range(offset, n, fp_model_input_size())) {
        return fw_begin(resp, FW_STATUS_BAD_RANGE);
    }
    /* The output may share arena bytes with the input: it is no longer the
     * output of the last run. */
    fw_state.output_valid = 0;
    memcpy(fp_model_input() + offset, req->payload + 4, n);
    return fw_begin(resp, FW_STATUS_OK);
}

static uint32_t fw_input_crc(void)
{
    return fw_crc32_update(0u, fp_model_input(), fp_model_input_size());
}

static void fw_record_run(uint64_t count)
{
    fw_state.last = count;
    if (fw_state.runs == 0u || count < fw_state.min) {
        fw_state.min = count;
    }
    if (count > fw_state.max) {
        fw_state.max = count;
    }
    fw_state.runs++;
}

/* token u32 | rc i32 | unit u8 | count u64 | input_crc u32 (21 bytes at `at`). */
static uint16_t fw_put_run(uint8_t *resp, uint16_t at, uint32_t token, int32_t rc, uint64_t count,
                           uint32_t input_crc)
{
    fw_put_u32(resp + at, token);
    fw_put_s32(resp + at + 4u, rc);
    resp[at + 8u] = fw_counter_unit();
    fw_put_u64(resp + at + 9u, count);
    fw_put_u32(resp + at + 17u, input_crc);
    return (uint16_t)(at + 21u);
}

/* Why the model cannot run on the current input, or FW_STATUS_OK. */
static uint8_t fw_check_runnable(uint32_t want_crc, uint32_t *have_crc)
{
    *have_crc = fw_input_crc();
    if (fw_state.init_rc != 0) {
        return FW_STATUS_NOT_READY;
    }
    return *have_crc == want_crc ? FW_STATUS_OK : FW_STATUS_INPUT_STALE;
}

/* RUN on the current input: the CRC check, the timed model run, the record. */
static uint16_t fw_run_input(const fw_frame_t *req, uint8_t *resp)
{
    uint32_t token;
    uint32_t crc;
    uint64_t start;
    uint64_t end;
    uint8_t status;
    fw_run_record_t *run = &fw_state.run;

    token = fw_get_u32(req->payload);
    status = fw_check_runnable(fw_get_u32(req->payload + 4), &crc);
    if (status != FW_STATUS_OK) {
        (void)fw_begin(resp, status);
        return fw_put_run(resp, FW_RESP_HEADER, token, fw_state.init_rc, 0u, crc);
    }
    fw_state.output_valid = 0;
    FW_RX_HOLD(1);
    start = fw_counter_start();
    run->rc = (int32_t)fp_model_run();
    end = fw_counter_now();
    fw_counter_stop();
    FW_RX_HOLD(0);
    run->count = fw_counter_elapsed(start, end);
    run->token = token;
    run->input_crc = crc;
    run->status = (uint8_t)(run->rc == 0 ? FW_STATUS_OK : FW_STATUS_MODEL_ERROR);
    fw_record_run(run->count);
    fw_state.output_valid = run->rc == 0;
    (void)fw_begin(resp, run->status);
    return fw_put_run(resp, FW_RESP_HEADER, token, run->rc, run->count, crc);
}

static uint16_t fw_cmd_run(const fw_frame_t *req, uint8_t *resp)
{
    if (req->len != 8u) {
        return fw_begin(resp, FW_STATUS_BAD_LENGTH);
    }
    return fw_run_input(req, resp);
}

static uint16_t fw_cmd_load_next(const fw_frame_t *req, uint8_t *resp)
{
    uint32_t offset;
    uint32_t n;

    if (!fw_staging()) {
        return fw_begin(resp, FW_STATUS_UNKNOWN_COMMAND);
    }
    if (req->len < 4u) {
        return fw_begin(resp, FW_STATUS_BAD_LENGTH);
    }
    offset = fw_get_u32(req->payload);
    n = (uint32_t)req->len - 4u;
    if (!fw_in_range(offset, n, fp_model_input_size())) {
        return fw_begin(resp, FW_STATUS_BAD_RANGE);
    }
    /* the arena is not touched: the last run's output stays readable */
    memcpy(fw_stage + offset, req->payload + 4, n);
    return fw_begin(resp, FW_STATUS_OK);
}

/* RUN_NEXT: the staged input becomes the input, then RUN; on success the
 * response also carries the whole output when it fits in one payload. */
static uint16_t fw_cmd_run_next(const fw_frame_t *req, uint8_t *resp)
{
    uint16_t at;
    uint32_t n = fp_model_output_size();

    if (!fw_staging()) {
        return fw_begin(resp, FW_STATUS_UNKNOWN_COMMAND);
    }
    if (req->len != 8u) {
        return fw_begin(resp, FW_STATUS_BAD_LENGTH);
    }
    fw_state.output_valid = 0;
    memcpy(fp_model_input(), fw_stage, fp_model_input_size());
    at = fw_run_input(req, resp);
    if (resp[0] == FW_STATUS_OK && fw_state.output_valid && n <= (uint32_t)FW_MAX_PAYLOAD - at) {
        memcpy(resp + at, fp_model_output(), n);
        at = (uint16_t)(at + n);
    }
    return at;
}

/* status OK | outcome u8 | the last run's record (token 0: none). */
static uint16_t fw_cmd_run_status(const fw_frame_t *req, uint8_t *resp)
{
    const fw_run_record_t *run = &fw_state.run;

    if (req->len != 0u) {
        return fw_begin(resp, FW_STATUS_BAD_LENGTH);
    }
    (void)fw_begin(resp, FW_STATUS_OK);
    resp[FW_RESP_HEADER] = run->status;
    return fw_put_run(resp, FW_RESP_HEADER + 1u, run->token, run->rc, run->count, run->input_crc);
}

/* Response: header | offset u32 | n bytes of base + offset. `prefix` is the
 * number of request bytes before `offset u32, length u16`. */
static uint16_t fw_read_region(const fw_frame_t *req, uint8_t *resp, uint16_t prefix, const uint8_t *base,
                               uint32_t size)
{
    uint32_t offset;
    uint32_t n;
    uint16_t at;

    if (req->len != prefix + 6u) {
        return fw_begin(resp, FW_STATUS_BAD_LENGTH);
    }
    offset = fw_get_u32(req->payload + prefix);
    n = fw_get_u16(req->payload + prefix + 4u);
    if (n > FW_MAX_PAYLOAD - FW_RESP_HEADER - prefix - 4u) {
        return fw_begin(resp, FW_STATUS_BAD_LENGTH);
    }
    if (!fw_in_range(offset, n, size)) {
        return fw_begin(resp, FW_STATUS_BAD_RANGE);
    }
    at = fw_begin(resp, FW_STATUS_OK);
    memcpy(resp + at, req->payload, prefix); /* echo what identifies the data */
    at = (uint16_t)(at + prefix);
    fw_put_u32(resp + at, offset);
    memcpy(resp + at + 4u, base + offset, n);
    return (uint16_t)(at + 4u + n);
}

static uint16_t fw_cmd_read_output(const fw_frame_t *req, uint8_t *resp)
{
    if (req->len == 10u && (!fw_state.output_valid || fw_get_u32(req->payload) != fw_state.run.token)) {
        return fw_begin(resp, FW_STATUS_OUTPUT_STALE);
    }
    return fw_read_region(req, resp, 4u, fp_model_output(), fp_model_output_size());
}

static uint16_t fw_cmd_run_layers(const fw_frame_t *req, uint8_t *resp)
{
    uint32_t crc;
    uint8_t status;
    int rc;
    uint16_t at;

    if (req->len != 8u) {
        return fw_begin(resp, FW_STATUS_BAD_LENGTH);
    }
    status = fw_check_runnable(fw_get_u32(req->payload + 4), &crc);
    rc = fw_state.init_rc;
    if (status == FW_STATUS_OK) {
        fw_state.output_valid = 0; /* the layers may write where the output lives */
        rc = fp_model_run_layers(fw_get_u32(req->payload));
        status = (uint8_t)(rc == 0 ? FW_STATUS_OK : FW_STATUS_MODEL_ERROR);
    }
    at = fw_begin(resp, status);
    fw_put_s32(resp + at, (int32_t)rc);
    return (uint16_t)(at + 4u);
}

static uint16_t fw_cmd_read_arena(const fw_frame_t *req, uint8_t *resp)
{
    return fw_read_region(req, resp, 0u, fp_model_arena(), fp_model_arena_size());
}

static uint16_t fw_cmd_read_timing(const fw_frame_t *req, uint8_t *resp)
{
    uint16_t at;

    if (req->len != 0u) {
        return fw_begin(resp, FW_STATUS_BAD_LENGTH);
    }
    at = fw_begin(resp, FW_STATUS_OK);
    resp[at] = fw_counter_unit();
    fw_put_u32(resp + at + 1u, fw_state.runs);
    fw_put_u64(resp + at + 5u, fw_state.last);
    fw_put_u64(resp + at + 13u, fw_state.min);
    fw_put_u64(resp + at + 21u, fw_state.max);
    fw_put_u64(resp + at + 29u, fw_state.init);
    return (uint16_t)(at + 37u);
}

static uint16_t fw_cmd_reset(const fw_frame_t *req, uint8_t *resp)
{
    int rc;
    uint16_t at;

    if (req->len != 0u) {
        return fw_begin(resp, FW_STATUS_BAD_LENGTH);
    }
    memset(fp_model_input(), 0, fp_model_input_size());
    rc = fw_model_reinit();
    at = fw_begin(resp, (uint8_t)(rc == 0 ? FW_STATUS_OK : FW_STATUS_MODEL_ERROR));
    fw_put_s32(resp + at, (int32_t)rc);
    return (uint16_t)(at + 4u);
}

#ifdef FW_STREAMING
/* Helpers of fw_stream.c, only in streaming builds (nothing extra links otherwise). */
uint16_t fw_response_begin(uint8_t *resp, uint8_t status)
{
    return fw_begin(resp, status);
}

uint16_t fw_response_region(const fw_frame_t *req, uint8_t *resp, const uint8_t *base, uint32_t size)
{
    return fw_read_region(req, resp, 0u, base, size);
}

int fw_model_ready(void)
{
    return fw_state.init_rc == 0;
}

void fw_output_invalidate(void)
{
    fw_state.output_valid = 0;
}
#endif

static uint16_t fw_cmd_ping(const fw_frame_t *req, uint8_t *resp)
{
    uint16_t at;

    if (req->len > FW_MAX_PAYLOAD - FW_RESP_HEADER) {
        return fw_begin(resp, FW_STATUS_BAD_LENGTH);
    }
    at = fw_begin(resp, FW_STATUS_OK);
    memcpy(resp + at, req->payload, req->len);
    return (uint16_t)(at + req->len);
}

static const fw_command_t fw_commands[] = {
    {FW_CMD_IDENTIFY, fw_cmd_identify},
    {FW_CMD_LOAD_INPUT, fw_cmd_load_input},
    {FW_CMD_RUN, fw_cmd_run},
    {FW_CMD_READ_OUTPUT, fw_cmd_read_output},
    {FW_CMD_READ_TIMING, fw_cmd_read_timing},
    {FW_CMD_RESET, fw_cmd_reset},
    {FW_CMD_PING, fw_cmd_ping},
    {FW_CMD_RUN_LAYERS, fw_cmd_run_layers},
    {FW_CMD_READ_ARENA, fw_cmd_read_arena},
    {FW_CMD_RUN_STATUS, fw_cmd_run_status},
    {FW_CMD_SESSION, fw_cmd_session},
    {FW_CMD_LOAD_NEXT, fw_cmd_load_next},
    {FW_CMD_RUN_NEXT, fw_cmd_run_next},
#ifdef FW_STREAMING
    {FW_CMD_STATE_RESET, fw_cmd_state_reset},
    {FW_CMD_STEP, fw_cmd_step},
    {FW_CMD_READ_STATE, fw_cmd_read_state},
#endif
};

uint16_t fw_commands_handle(const fw_frame_t *req, uint8_t *resp)
{
    size_t i;

    for (i = 0; i < sizeof fw_commands / sizeof fw_commands[0]; ++i) {
        if (fw_commands[i].cmd == req->cmd) {
            return fw_commands[i].handler(req, resp);
        }
    }
    return fw_begin(resp, FW_STATUS_UNKNOWN_COMMAND);
}

uint16_t fw_commands_reply(fw_event_t event, const fw_frame_t *frame, uint8_t *resp)
{
    switch (event) {
    case FW_EV_FRAME:
        return fw_commands_handle(frame, resp);
    case FW_EV_BAD_CRC:
        return fw_begin(resp, FW_STATUS_BAD_CRC);
    case FW_EV_BAD_LENGTH:
        /* The length field itself may be the corrupted byte: nothing was
         * verified, so this is a transient for the host, not a verdict. */
        return fw_begin(resp, FW_STATUS_FRAME_TOO_LONG);
    default:
        return 0u;
    }
}
