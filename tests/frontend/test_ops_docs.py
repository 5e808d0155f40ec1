"""The ONNX op table and the generated docs/supported-ops.md."""

from __future__ import annotations

import inspect

from fixpoint.normalize.canonicalize import CONVERTERS
from fixpoint.ops import docs
from fixpoint.ops.onnx_ops import ONNX_OPS
from fixpoint.ops.runtime_ops import RUNTIME_OPS

REQUIRED = (
    "Conv",
    "Gemm",
    "MatMul",
    "BatchNormalization",
    "Relu",
    "Clip",
    "LeakyRelu",
    "Add",
    "Mul",
    "Concat",
    "MaxPool",
    "AveragePool",
    "GlobalAveragePool",
    "Flatten",
    "Reshape",
    "Squeeze",
    "Unsqueeze",
    "Pad",
    "Softmax",
    "Identity",
    "Dropout",
    "Constant",
)


def test_committed_doc_is_up_to_date():
    committed = docs.DOC_PATH.read_text(encoding="utf-8")
    assert committed == docs.render_supported_ops(), "run: python -m fixpoint.ops.docs"


def test_doc_lists_every_onnx_and_runtime_op():
    text = docs.render_supported_ops()
    for op_type, spec in ONNX_OPS.items():
        assert f"| `{op_type}` |" in text and spec.rule in text
    for key, op in RUNTIME_OPS.items():
        assert f"| `{key}` |" in text and op.doc in text


def test_doc_gives_each_runtime_op_its_whole_story():
    text = docs.render_supported_ops()
    for key, op in RUNTIME_OPS.items():
        section = text.split(f"### `{key}`", 1)[1].split("\n### ", 1)[0]
        assert op.defined_in.replace(".", "/") + ".py" in section, key
        for path in [*op.kernel_files(), *op.tests]:
            assert f"`{path}`" in section, (key, path)
        for ref in op.reference:
            assert ref.replace(":", ".") in section, (key, ref)


def test_required_ops_are_in_the_table():
    assert set(REQUIRED) <= set(ONNX_OPS)


def test_each_check_documents_itself():
    for op_type, spec in ONNX_OPS.items():
        doc = inspect.getdoc(spec.check) or ""
        assert doc.startswith(f"{op_type}:"), op_type
        assert spec.summary == " ".join(doc.split())
        # "; " separates nodes in the unsupported-ops error, so rules must not contain it.
        assert ";" not in spec.summary, op_type


def test_canonicalize_only_converts_table_ops():
    assert set(CONVERTERS) <= set(ONNX_OPS)


def test_check_main_detects_a_stale_file(tmp_path):
    stale = tmp_path / "supported-ops.md"
    stale.write_text("old\n")
    assert docs.main(["--check", "--output", str(stale)]) == 1
    assert docs.main(["--output", str(stale)]) == 0
    assert docs.main(["--check", "--output", str(stale)]) == 0
