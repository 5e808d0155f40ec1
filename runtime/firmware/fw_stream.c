/* fw_stream.c - the streaming commands (docs/serial-protocol.md, "Streaming"):
 * STATE_RESET, STEP and READ_STATE over fp_model_stream_api.h.
 *
 * Compiled to nothing unless FW_STREAMING is defined: the build driver defines
 * it only for a model with recurrent state, so other firmware links none of it.
 *
 * STEP names its index in the stream (steps since the last STATE_RESET, init
 * or board reset). A step runs only if that index is the board's next one: a
 * STEP resent after its response was lost must not advance the state twice, so
 * the board answers the resend of its last step from the stored output and
 * state without running, and refuses any other index (BAD_RANGE).
 */
#include "fw_commands.h"

#ifdef FW_STREAMING

#include <string.h>

#include "fp_model_api.h"
#include "fp_model_stream_api.h"
#include "fw_bytes.h"
#include "fw_config.h"

#define FW_STEP_REPLAYED 1u     /* the answer of an already executed step (not run again) */
#define FW_STEP_STATE_INLINE 2u /* the whole state follows the output */

static uint32_t fw_stream_steps; /* steps executed since the stream's start */
static int32_t fw_stream_last_rc;

void fw_stream_init(void)
{
    fw_stream_steps = 0u;
    fw_stream_last_rc = 0;
}

uint16_t fw_cmd_state_reset(const fw_frame_t *req, uint8_t *resp)
{
    int rc;
    uint16_t at;

    if (req->len != 0u) {
        return fw_response_begin(resp, FW_STATUS_BAD_LENGTH);
    }
    rc = fp_model_reset_state();
    fw_stream_init();
    at = fw_response_begin(resp, (uint8_t)(rc == 0 ? FW_STATUS_OK : FW_STATUS_MODEL_ERROR));
    fw_put_s32(resp + at, (int32_t)rc);
    return (uint16_t)(at + 4u);
}

/* body: index u32 | rc i32 | flags u8 | output | state (when it fits) */
static uint16_t fw_step_answer(uint8_t *resp, uint32_t index, uint8_t flags)
{
    uint32_t out = fp_model_step_output_size();
    uint32_t state = fp_model_state_size();
    uint16_t at = fw_response_begin(resp, (uint8_t)(fw_stream_last_rc == 0 ? FW_STATUS_OK : FW_STATUS_MODEL_ERROR));

    fw_put_u32(resp + at, index);
    fw_put_s32(resp + at + 4u, fw_stream_last_rc);
    at = (uint16_t)(at + 9u);
    if (fw_stream_last_rc == 0 && out <= (uint32_t)FW_MAX_PAYLOAD - at) {
        memcpy(resp + at, fp_model_output(), out);
        at = (uint16_t)(at + out);
        if (state <= (uint32_t)FW_MAX_PAYLOAD - at) {
            memcpy(resp + at, fp_model_state(), state);
            at = (uint16_t)(at + state);
            flags = (uint8_t)(flags | FW_STEP_STATE_INLINE);
        }
    }
    resp[FW_RESP_HEADER + 8u] = flags;
    return at;
}

uint16_t fw_cmd_step(const fw_frame_t *req, uint8_t *resp)
{
    uint32_t index;
    uint32_t n = fp_model_step_input_size();

    if (req->len != 4u + n) {
        return fw_response_begin(resp, FW_STATUS_BAD_LENGTH);
    }
    if (!fw_model_ready()) {
        return fw_response_begin(resp, FW_STATUS_NOT_READY);
    }
    index = fw_get_u32(req->payload);
    if (fw_stream_steps > 0u && index == fw_stream_steps - 1u) {
        return fw_step_answer(resp, index, FW_STEP_REPLAYED);
    }
    if (index != fw_stream_steps) {
        return fw_response_begin(resp, FW_STATUS_BAD_RANGE);
    }
    fw_output_invalidate(); /* the step writes where RUN's output lives */
    memcpy(fp_model_input(), req->payload + 4, n);
    fw_stream_last_rc = (int32_t)fp_model_step();
    if (fw_stream_last_rc == 0) {
        fw_stream_steps++;
    }
    return fw_step_answer(resp, index, 0u);
}

uint16_t fw_cmd_read_state(const fw_frame_t *req, uint8_t *resp)
{
    return fw_response_region(req, resp, fp_model_state(), fp_model_state_size());
}

#else
typedef int fw_stream_disabled_t; /* ISO C forbids an empty translation unit */
#endif
