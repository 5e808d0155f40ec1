"""Sample files in and out: streaming readers with one-line errors, a streaming .npz writer.

Shared by every command that reads samples (``calibrate``, ``simulate``,
``eval``, ``hil``, ``deploy``) so that all of them accept the same files and
refuse bad ones with the same messages.
"""

from fixpoint.dataio.errors import (
    DataError,
    DataFileError,
    DataShapeError,
    DataTypeError,
    EmptyDataError,
    NonFiniteDataError,
)
from fixpoint.dataio.multi import (
    LABEL_PREFIX,
    InputSet,
    open_inputs,
    open_output_labels,
    output_label_batches,
    read_output_labels,
    scan_output_labels,
)
from fixpoint.dataio.npzwrite import NpzStreamWriter, stream_npz
from fixpoint.dataio.samples import (
    LABEL_KEY,
    Part,
    SampleSet,
    from_array,
    label_batches,
    open_labels,
    open_samples,
    scan_labels,
)
from fixpoint.dataio.sources import check_path

__all__ = [
    "LABEL_KEY",
    "LABEL_PREFIX",
    "DataError",
    "InputSet",
    "open_inputs",
    "open_output_labels",
    "output_label_batches",
    "read_output_labels",
    "scan_output_labels",
    "DataFileError",
    "DataShapeError",
    "DataTypeError",
    "EmptyDataError",
    "NonFiniteDataError",
    "NpzStreamWriter",
    "Part",
    "SampleSet",
    "check_path",
    "from_array",
    "label_batches",
    "open_labels",
    "open_samples",
    "scan_labels",
    "stream_npz",
]
