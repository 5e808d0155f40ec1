/* fw_commands.c - the command handlers of the serial protocol. */
#include "fw_commands.h"

#include <string.h>

#include "fp_model_api.h"
#include "fw_bytes.h"
#include "fw_platform.h"

typedef uint16_t (*fw_handler_t)(const fw_frame_t *req, uint8_t *resp);

typedef struct {
    uint8_t cmd;
    fw_handler_t handler;
} fw_command_t;

typedef struct {
    int init_rc;        /* fp_model_init() result; RUN refuses while != 0 */
    uint32_t runs;
    uint64_t last;
    uint64_t min;
    uint64_t max;
    uint64_t init;      /* cost of the last fp_model_init() */
} fw_state_t;

static fw_state_t fw_state;

/* Generated per build by the build driver (fw_build_id.c), so that the
 * build id never invalidates cached objects. */
extern const char fw_build_id[];

static uint16_t fw_status_only(uint8_t *resp, uint8_t status)
{
    resp[0] = status;
    return 1u;
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
    fw_state.runs = 0;
    fw_state.last = 0;
    fw_state.min = 0;
    fw_state.max = 0;
    return fw_state.init_rc;
}

void fw_commands_init(void)
{
    (void)fw_model_reinit();
}

static uint16_t fw_cmd_identify(const fw_frame_t *req, uint8_t *resp)
{
    uint16_t at = 22u;

    if (req->len != 0u) {
        return fw_status_only(resp, FW_STATUS_BAD_LENGTH);
    }
    resp[0] = FW_STATUS_OK;
    resp[1] = FW_PROTOCOL_VERSION;
    resp[2] = fw_counter_unit();
    resp[3] = (uint8_t)(fw_state.init_rc == 0 ? 1u : 0u);
    fw_put_u16(resp + 4, (uint16_t)FW_MAX_PAYLOAD);
    fw_put_u32(resp + 6, fp_model_input_size());
    fw_put_u32(resp + 10, fp_model_output_size());
    fw_put_u32(resp + 14, fp_model_arena_size());
    fw_put_s32(resp + 18, (int32_t)fw_state.init_rc);
    at = fw_put_str(resp, at, fp_model_hash());
    at = fw_put_str(resp, at, fw_build_id);
    at = fw_put_str(resp, at, FW_BOARD_NAME);
    return fw_put_str(resp, at, fp_model_name());
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
        return fw_status_only(resp, FW_STATUS_BAD_LENGTH);
    }
    offset = fw_get_u32(req->payload);
    n = (uint32_t)req->len - 4u;
    if (!fw_in_range(offset, n, fp_model_input_size())) {
        return fw_status_only(resp, FW_STATUS_BAD_RANGE);
    }
    memcpy(fp_model_input() + offset, req->payload + 4, n);
    return fw_status_only(resp, FW_STATUS_OK);
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

static uint16_t fw_cmd_run(const fw_frame_t *req, uint8_t *resp)
{
    uint64_t start;
    uint64_t count;
    int rc;

    if (req->len != 0u) {
        return fw_status_only(resp, FW_STATUS_BAD_LENGTH);
    }
    if (fw_state.init_rc != 0) {
        resp[0] = FW_STATUS_NOT_READY;
        rc = fw_state.init_rc;
        count = 0;
    } else {
        start = fw_counter_start();
        rc = fp_model_run();
        count = fw_counter_elapsed(start, fw_counter_now());
        fw_record_run(count);
        resp[0] = (uint8_t)(rc == 0 ? FW_STATUS_OK : FW_STATUS_MODEL_ERROR);
    }
    fw_put_s32(resp + 1, (int32_t)rc);
    resp[5] = fw_counter_unit();
    fw_put_u64(resp + 6, count);
    return 14u;
}

/* READ_OUTPUT and READ_ARENA: `offset u32, length u16` -> status + bytes of a region. */
static uint16_t fw_read_region(const fw_frame_t *req, uint8_t *resp, const uint8_t *base,
                               uint32_t size)
{
    uint32_t offset;
    uint32_t n;

    if (req->len != 6u) {
        return fw_status_only(resp, FW_STATUS_BAD_LENGTH);
    }
    offset = fw_get_u32(req->payload);
    n = fw_get_u16(req->payload + 4);
    if (n > FW_MAX_PAYLOAD - 1u) {
        return fw_status_only(resp, FW_STATUS_BAD_LENGTH);
    }
    if (!fw_in_range(offset, n, size)) {
        return fw_status_only(resp, FW_STATUS_BAD_RANGE);
    }
    resp[0] = FW_STATUS_OK;
    memcpy(resp + 1, base + offset, n);
    return (uint16_t)(1u + n);
}

static uint16_t fw_cmd_read_output(const fw_frame_t *req, uint8_t *resp)
{
    return fw_read_region(req, resp, fp_model_output(), fp_model_output_size());
}

static uint16_t fw_cmd_run_layers(const fw_frame_t *req, uint8_t *resp)
{
    int rc;

    if (req->len != 4u) {
        return fw_status_only(resp, FW_STATUS_BAD_LENGTH);
    }
    if (fw_state.init_rc != 0) {
        resp[0] = FW_STATUS_NOT_READY;
        rc = fw_state.init_rc;
    } else {
        rc = fp_model_run_layers(fw_get_u32(req->payload));
        resp[0] = (uint8_t)(rc == 0 ? FW_STATUS_OK : FW_STATUS_MODEL_ERROR);
    }
    fw_put_s32(resp + 1, (int32_t)rc);
    return 5u;
}

static uint16_t fw_cmd_read_arena(const fw_frame_t *req, uint8_t *resp)
{
    return fw_read_region(req, resp, fp_model_arena(), fp_model_arena_size());
}

static uint16_t fw_cmd_read_timing(const fw_frame_t *req, uint8_t *resp)
{
    if (req->len != 0u) {
        return fw_status_only(resp, FW_STATUS_BAD_LENGTH);
    }
    resp[0] = FW_STATUS_OK;
    resp[1] = fw_counter_unit();
    fw_put_u32(resp + 2, fw_state.runs);
    fw_put_u64(resp + 6, fw_state.last);
    fw_put_u64(resp + 14, fw_state.min);
    fw_put_u64(resp + 22, fw_state.max);
    fw_put_u64(resp + 30, fw_state.init);
    return 38u;
}

static uint16_t fw_cmd_reset(const fw_frame_t *req, uint8_t *resp)
{
    int rc;

    if (req->len != 0u) {
        return fw_status_only(resp, FW_STATUS_BAD_LENGTH);
    }
    memset(fp_model_input(), 0, fp_model_input_size());
    rc = fw_model_reinit();
    resp[0] = (uint8_t)(rc == 0 ? FW_STATUS_OK : FW_STATUS_MODEL_ERROR);
    fw_put_s32(resp + 1, (int32_t)rc);
    return 5u;
}

static uint16_t fw_cmd_ping(const fw_frame_t *req, uint8_t *resp)
{
    if (req->len > FW_MAX_PAYLOAD - 1u) {
        return fw_status_only(resp, FW_STATUS_BAD_LENGTH);
    }
    resp[0] = FW_STATUS_OK;
    memcpy(resp + 1, req->payload, req->len);
    return (uint16_t)(1u + req->len);
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
};

uint16_t fw_commands_handle(const fw_frame_t *req, uint8_t *resp)
{
    size_t i;

    for (i = 0; i < sizeof fw_commands / sizeof fw_commands[0]; ++i) {
        if (fw_commands[i].cmd == req->cmd) {
            return fw_commands[i].handler(req, resp);
        }
    }
    return fw_status_only(resp, FW_STATUS_UNKNOWN_COMMAND);
}
