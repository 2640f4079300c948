"""Runs a Python script (argv[1], with the rest as its arguments) under an h5py that refuses
attribute values the way pip's current h5py does, so a test on Debian's older, more lenient h5py
catches them: str subclasses (torch.__version__ is torch.torch_version.TorchVersion) and numpy
strings fail with "No conversion path for dtype('<U..')" there. Also refused: bools (they become
HDF5 enums, which natten-check rejects). Exact str, numbers and numeric arrays pass.
"""

import runpy
import sys

import h5py
import numpy as np
from h5py._hl.attrs import AttributeManager


def _check(name, value):
    if isinstance(value, str) and type(value) is not str:
        raise TypeError(f"attribute '{name}': {type(value).__name__} (a str subclass): "
                        f"No conversion path for dtype: {np.asarray(value).dtype!r}")
    if isinstance(value, (bool, np.bool_)) or (isinstance(value, np.ndarray) and value.dtype.kind in "bU"):
        raise TypeError(f"attribute '{name}': {type(value).__name__} {value!r} would not be a plain HDF5 type")
    if isinstance(value, (list, tuple)):
        for item in value:
            _check(name, item)


_setitem, _create = AttributeManager.__setitem__, AttributeManager.create


def _strict_setitem(self, name, value):
    _check(name, value)
    return _setitem(self, name, value)


def _strict_create(self, name, data, *args, **kwargs):
    _check(name, data)
    return _create(self, name, data, *args, **kwargs)


AttributeManager.__setitem__ = _strict_setitem
AttributeManager.create = _strict_create

if __name__ == "__main__":
    script = sys.argv[1]
    sys.argv = sys.argv[1:]
    assert h5py  # patched above
    runpy.run_path(script, run_name="__main__")
