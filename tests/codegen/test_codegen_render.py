"""(d) deterministic output, (f) StrictUndefined templates, atomic writes,
symbol naming and the sizes generate() reports."""

from __future__ import annotations

import dataclasses
import logging
from types import SimpleNamespace

import jinja2
import numpy as np
import pytest

from fixpoint.codegen import CodegenError, generate
from fixpoint.codegen.context import build_context
from fixpoint.codegen.names import TEMPLATES
from fixpoint.codegen.render import render_template
from fixpoint.codegen.views_layout import layout_view
from fixpoint.codegen.views_model import header_view, source_view
from fixpoint.cparams import layer_arrays_for_c
from fixpoint.memory import naive_arena_size
from fixpoint.plan import load_plan, save_plan

from codegen_plans import built_plan, example_plan


def _contents(generated) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in generated.files.values()}


def test_same_plan_gives_identical_bytes(tmp_path):
    plan, _ = built_plan("every_op", "s4")
    first = _contents(generate(plan, "mps2-an505", tmp_path / "a"))
    second = _contents(generate(plan, "mps2-an505", tmp_path / "b"))
    assert first == second
    reloaded = load_plan(save_plan(plan, tmp_path / "plan.fxplan"))
    assert _contents(generate(reloaded, "mps2-an505", tmp_path / "c")) == first


def test_regenerating_in_place_replaces_files_and_leaves_no_temporaries(tmp_path):
    plan, _ = built_plan("chain", "s8")
    generate(plan, None, tmp_path)
    generated = generate(plan, None, tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in generated.files.values())


def test_failed_generation_leaves_the_output_folder_untouched(tmp_path):
    plan, _ = built_plan("chain", "s8")
    generate(plan, None, tmp_path)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    broken, _ = built_plan("chain", "s8")
    broken.tensors[2].offset = 2  # misaligned: no file may change
    with pytest.raises(CodegenError, match=r"tensor 't2'"):
        generate(broken, None, tmp_path)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


def _shallow(view) -> dict:
    return {f.name: getattr(view, f.name) for f in dataclasses.fields(view)}


@pytest.mark.parametrize(
    "view_fn,template,missing",
    [
        (header_view, TEMPLATES["model_h"], "guard"),
        (layout_view, TEMPLATES["layout_h"], "checks"),
        (source_view, TEMPLATES["model_c"], "graph_init"),
    ],
)
def test_a_missing_view_field_raises(view_fn, template, missing):
    plan, _ = built_plan("chain", "s8")
    view = _shallow(view_fn(build_context(plan, None, None)))
    render_template(template, view)  # complete: renders
    del view[missing]
    with pytest.raises(jinja2.UndefinedError, match=missing):
        render_template(template, view)


def test_a_missing_nested_field_raises():
    plan, _ = built_plan("chain", "s8")
    view = _shallow(header_view(build_context(plan, None, None)))
    view["defines"] = [SimpleNamespace(name="FP_MODEL_X", value="1")]  # no 'line'
    with pytest.raises(jinja2.UndefinedError, match="line"):
        render_template(TEMPLATES["model_h"], view)


@pytest.mark.parametrize(
    "model_name,prefix",
    [("3 Net-v2!", "m_3_net_v2"), ("main_graph", "main_graph"), ("", "model"), ("Ünïcode net", "n_code_net")],
)
def test_symbol_prefix_is_the_sanitised_model_name(model_name, prefix, tmp_path):
    plan, _ = built_plan("chain", "s8", name=model_name)
    generated = generate(plan, None, tmp_path)
    assert generated.prefix == prefix
    assert generated.files["model_c"].name == f"{prefix}_model.c"
    assert f"static const fp_graph_t {prefix}_graph =" in generated.files["model_c"].read_text()


def test_prefix_override(tmp_path):
    plan, _ = built_plan("chain", "s8")
    assert generate(plan, None, tmp_path, prefix="kws").files["weights_c"].name == "kws_model_weights.c"


def test_reported_sizes(tmp_path, caplog):
    plan = example_plan("cnn_bn_res", weight_bits=4)
    with caplog.at_level(logging.INFO, logger="fixpoint.codegen"):
        g = generate(plan, None, tmp_path)
    assert g.arena_bytes == plan.arena_size and g.naive_arena_bytes == naive_arena_size(plan)
    assert g.arena_bytes < g.naive_arena_bytes  # dead tensors' bytes were reused
    for i, layer in enumerate(plan.layers):
        arrays = layer_arrays_for_c(layer)
        assert g.layer_weight_bytes[layer.name] == sum(a.nbytes for a in arrays.values())
        for name, arr in arrays.items():
            assert g.array_bytes[f"{layer.name}/{name}"] == arr.nbytes
    tables = sum(g.array_bytes.values())
    assert tables <= g.const_bytes <= tables + 8 + 8 * len(g.array_bytes)  # header + alignment padding
    assert g.flash_bytes == g.const_bytes + g.table_bytes
    assert g.scratch_bytes > 0  # the s4 layers need unpacking scratch
    header = g.files["model_h"].read_text()
    assert f"#define FP_MODEL_SCRATCH_SIZE {g.scratch_bytes}u" in header
    assert f"#define FP_MODEL_ARENA_SIZE {plan.arena_size}u" in header
    assert f'#define FP_MODEL_HASH "{plan.model_hash}"' in header
    assert f"arena {g.arena_bytes} bytes ({g.naive_arena_bytes} without reuse)" in caplog.text


def test_weights_are_formatted_16_to_24_values_per_line(tmp_path):
    plan = example_plan("mlp")
    text = generate(plan, None, tmp_path).files["weights_c"].read_text()
    rows = [line for line in text.splitlines() if line.startswith("        ") and line.rstrip().endswith(",")]
    counts = {len(line.split(",")) - 1 for line in rows}
    assert max(counts) in (16, 24) and min(counts) >= 1
    assert np.mean([len(line.split(",")) - 1 for line in rows]) > 15


def test_plan_without_layers_is_an_error(tmp_path):
    plan, _ = built_plan("chain", "s8")
    plan.layers = []
    with pytest.raises(CodegenError, match=r"has no layers"):
        generate(plan, None, tmp_path)
