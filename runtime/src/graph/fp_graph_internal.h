/*
 * fp_graph_internal.h - helpers shared by the graph executor files.
 *
 * Static inline, so each public function keeps its own file (CMSIS-NN
 * habit) without a second exported symbol.
 */
#ifndef FP_GRAPH_INTERNAL_H
#define FP_GRAPH_INTERNAL_H

#include "fp_runtime.h"

/* Scratch bytes one layer's kernel needs; 0 for kernels without scratch and
 * for unknown op / datapath values (the executor rejects those anyway). */
static inline size_t fp_graph_layer_scratch_size(const fp_layer_t *layer)
{
    const fp_layer_params_t *p = &layer->params;
    switch (layer->op) {
    case FP_OP_CONV2D:
        switch (layer->datapath) {
        case FP_DP_S8: return fp_conv2d_s8_scratch_size(&p->conv2d);
        case FP_DP_S4: return fp_conv2d_s4_scratch_size(&p->conv2d);
        case FP_DP_S16: return fp_conv2d_s16_scratch_size(&p->conv2d);
        default: return 0;
        }
    case FP_OP_DEPTHWISE_CONV2D:
        switch (layer->datapath) {
        case FP_DP_S8: return fp_depthwise_conv2d_s8_scratch_size(&p->depthwise_conv2d);
        case FP_DP_S4: return fp_depthwise_conv2d_s4_scratch_size(&p->depthwise_conv2d);
        case FP_DP_S16: return fp_depthwise_conv2d_s16_scratch_size(&p->depthwise_conv2d);
        default: return 0;
        }
    case FP_OP_FULLY_CONNECTED:
        switch (layer->datapath) {
        case FP_DP_S8: return fp_fully_connected_s8_scratch_size(&p->fully_connected);
        case FP_DP_S4: return fp_fully_connected_s4_scratch_size(&p->fully_connected);
        case FP_DP_S16: return fp_fully_connected_s16_scratch_size(&p->fully_connected);
        default: return 0;
        }
    default:
        return 0;
    }
}

#endif /* FP_GRAPH_INTERNAL_H */
