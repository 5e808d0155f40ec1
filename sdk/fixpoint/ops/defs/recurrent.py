"""Recurrent: ONNX ``LSTM`` / ``GRU`` (one direction, batch 1) -> runtime ``lstm`` / ``gru``."""

from __future__ import annotations

from fixpoint.ops.rows import OnnxOp, RuntimeOp

ONNX = (
    OnnxOp(
        "LSTM",
        check="fixpoint.ops.onnx_recurrent:_lstm_check",
        becomes="lstm (Y: every step's h; Y_h: the last h)",
        normalized_by="canonicalize",
        converter="fixpoint.normalize.recurrent_ops:_lstm",
        runtime_ops=("lstm",),
    ),
    OnnxOp(
        "GRU",
        check="fixpoint.ops.onnx_recurrent:_gru_check",
        becomes="gru (Y_h: the last h)",
        normalized_by="canonicalize",
        converter="fixpoint.normalize.recurrent_ops:_gru",
        runtime_ops=("gru",),
    ),
)

RUNTIME = (
    RuntimeOp(
        "lstm",
        enum="FP_OP_LSTM",
        params_struct="fp_lstm_params_t",
        union_member="lstm",
        kernels={"s8": "fp_lstm_s8"},
        datapaths=("s8",),
        doc="LSTM over the whole sequence, TFLite's integer LSTM (int8 x / h, int16 gates and cell)",
        has_weights=True,
        weight_channel_axis=0,
        normalized_attrs=("hidden_size", "output_sequence", "reverse"),
        input_count=3,
        float_kernel="fixpoint.normalize.recurrent_ops:float_lstm",
        lowering="fixpoint.lower.ops_recurrent:lower_lstm",
        output_rule="fixpoint.lower.ops_recurrent:output_recurrent",
        params_builder="fixpoint.cparams_lstm:lstm",
        sim_prepare="fixpoint.sim.kernels_lstm:prep_lstm",
        sim_family="weighted",
        offset_fields=("input_offset", "hidden_offset", "output_offset"),
        requant_mode=True,
        reference=("fixpoint.reference.lstm:lstm_s8",),
        tests=("tests/runtime/test_lstm.py", "tests/lower/test_lower_lstm.py"),
        notes="weights [4H, input_size + H] (W then R per row, gates i, o, f, c); bias [8H] "
        "(W-side then R-side, Wb and Rb); gates Q3.12, cell 2^-cell_frac_bits; tables in the layer's arrays",
    ),
    RuntimeOp(
        "gru",
        enum="FP_OP_GRU",
        params_struct="fp_gru_params_t",
        union_member="gru",
        kernels={"s8": "fp_gru_s8"},
        datapaths=("s8",),
        doc="GRU over the whole sequence (linear_before_reset 1) in the integer LSTM's arithmetic",
        has_weights=True,
        weight_channel_axis=0,
        normalized_attrs=("hidden_size", "output_sequence", "reverse"),
        input_count=3,
        float_kernel="fixpoint.normalize.recurrent_ops:float_gru",
        lowering="fixpoint.lower.ops_recurrent:lower_gru",
        output_rule="fixpoint.lower.ops_recurrent:output_recurrent",
        params_builder="fixpoint.cparams_lstm:gru",
        sim_prepare="fixpoint.sim.kernels_lstm:prep_lstm",
        sim_family="weighted",
        offset_fields=("input_offset", "hidden_offset", "output_offset"),
        reference=("fixpoint.reference.gru:gru_s8",),
        tests=("tests/runtime/test_gru.py", "tests/lower/test_lower_gru.py"),
        notes="weights [3H, input_size + H] (W then R per row, gates z, r, h); bias [6H] (W side then R side); "
        "gates Q3.12; tables in the layer's arrays",
    ),
)
