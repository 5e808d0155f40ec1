/*
 * fw_main.c - the firmware's command loop.
 *
 * Boot: platform, counter and UART up, model initialised, then the ready line
 * "FIXPOINT READY <board>\n" -- the only unframed output. From then on the
 * firmware answers every frame with exactly one response frame and otherwise
 * sleeps in fw_uart_read_byte().
 */
#include <stddef.h>

#include "fw_commands.h"
#include "fw_config.h"
#include "fw_frame.h"
#include "fw_platform.h"

static fw_parser_t fw_parser;
static uint8_t fw_tx[FW_FRAME_MAX];

static void fw_send_ready_line(void)
{
    static const char line[] = "FIXPOINT READY " FW_BOARD_NAME "\n";

    fw_uart_write((const uint8_t *)line, sizeof line - 1u);
}

static void fw_respond(uint8_t seq, uint8_t cmd, uint16_t len)
{
    size_t total = fw_frame_finish(fw_tx, seq, (uint8_t)(cmd | FW_CMD_RESPONSE), len);

    fw_uart_write(fw_tx, total);
}

static void fw_dispatch(fw_event_t event, const fw_frame_t *frame)
{
    uint16_t len = fw_commands_reply(event, frame, fw_tx + FW_HEADER_BYTES);

    if (len != 0u) {
        fw_respond(frame->seq, frame->cmd, len);
    }
}

/* Replayed bytes (after a rejected frame) go before fresh ones. */
static int fw_next_byte(void)
{
    uint8_t byte;

    if (fw_parser_take_replay(&fw_parser, &byte)) {
        return byte;
    }
    return fw_uart_read_byte();
}

int main(void)
{
    fw_frame_t frame = {0u, 0u, 0u, NULL};
    int byte;

    fw_platform_init();
    fw_counter_init();
    fw_uart_init();
    fw_commands_init();
    fw_parser_init(&fw_parser);
    fw_send_ready_line();
    for (;;) {
        byte = fw_next_byte();
        if (byte < 0) {
            return 0; /* link closed (host board only) */
        }
        fw_dispatch(fw_parser_feed(&fw_parser, (uint8_t)byte, &frame), &frame);
    }
}
