"""onnxruntime session options that keep onnxruntime's own logging off stderr.

Every failure onnxruntime reports also comes back as an exception, which the
caller turns into one ``error:`` line naming the model. Its log lines (warnings
about the graph, and an ``[E:onnxruntime:...]`` line printed before the very
exception we report) would be a second, differently formatted account of the
same thing, so only fatal messages are let through, for the session and for
the process-wide default logger that environment creation logs to.
"""

from __future__ import annotations

import onnxruntime as ort

FATAL = 4  # onnxruntime severities: 0 verbose, 1 info, 2 warning, 3 error, 4 fatal


def quiet_session_options() -> ort.SessionOptions:
    """Fresh ``SessionOptions`` with session and default logging limited to fatal messages."""
    ort.set_default_logger_severity(FATAL)
    options = ort.SessionOptions()
    options.log_severity_level = FATAL
    return options
