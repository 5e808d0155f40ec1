"""C code generation: a lowered plan -> model sources for the firmware.

    generated = generate(plan, board="mps2-an505", out_dir="out/gen")
    module = fixpoint.codegen.host.compile_generated(generated)   # host build, same C
    output_bytes = module.run(input_bytes)

Files, naming and checks: docs/codegen.md.
"""

from .generate import GeneratedModel, generate
from .regvalues import DEFAULT_REGISTER_MAP, CodegenError

__all__ = ["generate", "GeneratedModel", "CodegenError", "DEFAULT_REGISTER_MAP"]
