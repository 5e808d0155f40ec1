"""Interop with other quantization tools: QDQ models and encodings in, QDQ / AIMET / CTable out (docs/interop.md)."""

from fixpoint.interop.qdq_import import GivenActivation, GivenParam, QdqError, QdqImport, is_qdq, strip_qdq

__all__ = ["GivenActivation", "GivenParam", "QdqError", "QdqImport", "is_qdq", "strip_qdq"]
