"""Answers as plain data: what crosses between a student's kernel and the grader's tests.

The grader runs a notebook's test cells itself (:mod:`.testcells`), on values it asks the
student's kernel for. What comes back is text that :func:`decode` turns into numbers, strings,
lists, dicts, NumPy arrays and pandas objects of the grader's own libraries, never code or
objects of the notebook's classes: a student's object that compares equal to anything, or a
patched ``numpy.allclose``, cannot cross. A function comes back as :class:`Remote` (calling it
asks the kernel to call the student's function on encoded arguments); a module as its name.

The same file runs on both sides: the grader sends its text to each kernel (as it does
:mod:`.guard`), whose :func:`lookup` and :func:`call` answer the grader's requests. Student
code can change the kernel's copy, which changes only the data it sends: the student's own
answer. :func:`decode`, on the grader's side, trusts nothing in the text (types from a short
list, sizes limited, JSON and raw numbers only, no pickle). Stdlib, NumPy and pandas only.
"""

import base64
import datetime
import json
import sys

NAME = "_platformlab_wire"
#: Characters an answer may take on the wire; past it the answer is refused.
LIMIT = 64 * 2**20
#: Nesting of lists, dicts and tables an answer may have.
DEPTH = 20
#: Extension dtypes of pandas that cross as their name and their items.
EXTENSION = (
    "Int8",
    "Int16",
    "Int32",
    "Int64",
    "UInt8",
    "UInt16",
    "UInt32",
    "UInt64",
    "Float32",
    "Float64",
    "boolean",
    "string",
    "str",
)
#: NumPy dtype kinds that cross as raw bytes (bool, integers, floats, complex, dates, durations, text).
RAW = "biufcmMUS"


class WireError(ValueError):
    """An answer that cannot cross (a type the grader does not read, too large, malformed)."""


class Remote:
    """A function of the notebook, called in the student's kernel (the grader's side binds ``call``)."""

    def __init__(self, name, call):
        self.__name__, self._call = name, call

    def __call__(self, *args, **kwargs):
        return self._call(self.__name__, args, kwargs)

    def __repr__(self):
        return f"<the notebook's function {self.__name__}>"


class Unreadable:
    """A value of the notebook the grader cannot read as data: any use of it fails, saying why."""

    def __init__(self, name, kind):
        object.__setattr__(
            self,
            "_why",
            f"the grader cannot read {name}, which holds {kind}: it checks answers that "
            "are numbers, text, lists, dicts, tuples, sets, NumPy arrays or pandas objects",
        )

    def _fail(self, *args, **kwargs):
        raise TypeError(object.__getattribute__(self, "_why"))

    __getattr__ = __setattr__ = __call__ = __bool__ = __len__ = __iter__ = __getitem__ = __contains__ = _fail
    __eq__ = __ne__ = __lt__ = __le__ = __gt__ = __ge__ = __hash__ = __float__ = __int__ = __index__ = _fail
    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = __truediv__ = __rtruediv__ = __abs__ = _fail
    __neg__ = __pow__ = __rpow__ = __array__ = __format__ = _fail

    def __repr__(self):
        return "<unreadable>"


def _modules():
    """NumPy and pandas if this process has them: a value of theirs implies they are imported."""
    return sys.modules.get("numpy"), sys.modules.get("pandas")


def _libraries():
    """NumPy and pandas, imported (the grader's side reads values of theirs)."""
    import numpy
    import pandas

    return numpy, pandas


# -- encoding: any side --------------------------------------------------------------------------


def _raw(array):
    array = array if array.flags.c_contiguous else array.copy(order="C")
    return {
        "t": "array",
        "dtype": array.dtype.str,
        "shape": list(array.shape),
        "b": base64.b64encode(array.tobytes()).decode("ascii"),
    }


def _array(array, depth):
    if array.dtype.kind in RAW:
        return _raw(array)
    if array.dtype.kind == "O":
        return {"t": "objects", "shape": list(array.shape), "v": [_enc(x, depth) for x in array.ravel().tolist()]}
    raise WireError(f"an array of dtype {array.dtype}")


def _values(values, depth):
    """The values of a pandas Series or Index, dtype kept."""
    np, pd = _modules()
    dtype = values.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        categorical = pd.Categorical(values)
        return {
            "t": "categorical",
            "categories": _enc(pd.Index(categorical.categories), depth),
            "codes": _raw(np.asarray(categorical.codes)),
            "ordered": bool(dtype.ordered),
        }
    if isinstance(dtype, pd.DatetimeTZDtype):
        return {"t": "datetimetz", "tz": str(dtype.tz), "v": _raw(np.asarray(pd.DatetimeIndex(values).tz_convert(None)))}
    if isinstance(dtype, pd.PeriodDtype):
        return {"t": "periods", "freq": pd.PeriodIndex(values).freqstr, "v": _raw(np.asarray(pd.PeriodIndex(values).asi8))}
    if str(dtype) in EXTENSION:
        return {"t": "extension", "dtype": str(dtype), "v": [_enc(None if x is pd.NA else x, depth) for x in list(values)]}
    if isinstance(dtype, np.dtype):
        return _array(np.asarray(values), depth)
    raise WireError(f"a pandas column of dtype {dtype}")


def _index(index, depth):
    np, pd = _modules()
    if type(index) is pd.RangeIndex:
        return {"t": "range", "start": index.start, "stop": index.stop, "step": index.step, "name": _enc(index.name, depth)}
    if isinstance(index, pd.MultiIndex):
        return {
            "t": "multi",
            "levels": [_index(level, depth) for level in index.levels],
            "codes": [_raw(np.asarray(codes)) for codes in index.codes],
            "names": [_enc(n, depth) for n in index.names],
        }
    return {"t": "index", "v": _values(index, depth), "name": _enc(index.name, depth)}


def _enc(value, depth=0):
    if depth > DEPTH:
        raise WireError("an answer nested too deep")
    depth += 1
    kind = type(value)
    if value is None or kind in (bool, str):
        return value
    if kind is int:
        return {"t": "int", "v": str(value)}
    if kind is float:
        return {"t": "float", "v": float.hex(value)}
    np, pd = _modules()
    if np is not None and isinstance(value, np.generic):
        return {"t": "scalar", "v": _raw(np.asarray(value)) if value.dtype.kind in RAW else None}
    if np is not None and isinstance(value, np.ndarray):
        return _array(np.asarray(value), depth)
    if pd is not None:
        if value is pd.NaT:
            return {"t": "nat"}
        if value is pd.NA:
            return {"t": "na"}
        if isinstance(value, pd.Timestamp):
            return {"t": "timestamp", "v": value.value, "tz": str(value.tz) if value.tz else None}
        if isinstance(value, pd.Timedelta):
            return {"t": "timedelta", "v": value.value}
        if isinstance(value, pd.Period):
            return {"t": "period", "v": str(value), "freq": value.freqstr}
        if isinstance(value, pd.Index):
            return _index(value, depth)
        if isinstance(value, pd.Series):
            return {
                "t": "series",
                "v": _values(value, depth),
                "index": _index(value.index, depth),
                "name": _enc(value.name, depth),
            }
        if isinstance(value, pd.DataFrame):
            return {
                "t": "frame",
                "columns": _index(value.columns, depth),
                "index": _index(value.index, depth),
                "v": [_values(value.iloc[:, i], depth) for i in range(value.shape[1])],
            }
    if isinstance(value, bool):  # (subclasses of the basic types cross as the basic type)
        return bool(value)
    if isinstance(value, int):
        return {"t": "int", "v": str(int(value))}
    if isinstance(value, float):
        return {"t": "float", "v": float.hex(float(value))}
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, (list, tuple, set, frozenset)):
        name = "list" if isinstance(value, list) else "tuple" if isinstance(value, tuple) else "set"
        return {"t": name, "v": [_enc(x, depth) for x in list(value)]}
    if isinstance(value, dict):
        return {"t": "dict", "v": [[_enc(k, depth), _enc(v, depth)] for k, v in list(value.items())]}
    if isinstance(value, datetime.datetime):
        return {"t": "datetime", "v": value.isoformat()}
    if isinstance(value, datetime.date):
        return {"t": "date", "v": value.isoformat()}
    if isinstance(value, datetime.timedelta):
        return {"t": "pytimedelta", "v": [value.days, value.seconds, value.microseconds]}
    if isinstance(value, complex):
        return {"t": "complex", "v": [float.hex(value.real), float.hex(value.imag)]}
    if kind is Unreadable:
        raise WireError(object.__getattribute__(value, "_why"))
    raise WireError(f"a {kind.__module__}.{kind.__qualname__}")


def encode(value):
    """``value`` as text for :func:`decode`; :class:`WireError` for a type that cannot cross."""
    return json.dumps(_enc(value))


# -- the kernel's side ---------------------------------------------------------------------------


def _describe(value):
    import types

    if isinstance(value, types.ModuleType):
        return {"t": "module", "v": value.__name__}
    if callable(value) and not isinstance(value, type):
        where = [getattr(value, attribute, None) for attribute in ("__module__", "__qualname__")]
        return {"t": "function", "v": [str.__str__(x) if isinstance(x, str) else None for x in where]}
    try:
        return {"t": "value", "v": _enc(value)}
    except (WireError, RecursionError) as error:
        return {"t": "unreadable", "v": str(error) if isinstance(error, WireError) else "too deep"}
    except Exception as error:  # a value whose own methods fail while being read
        return {"t": "unreadable", "v": f"{type(value).__name__} ({type(error).__name__} while reading it)"}


def lookup(names):
    """The notebook's values of ``names`` (those it has), described for the grader."""
    from IPython import get_ipython

    namespace = get_ipython().user_ns
    return json.dumps({name: _describe(namespace[name]) for name in names if name in namespace})


def call(name, payload):
    """Call the notebook's function ``name`` on the encoded ``[args, kwargs]``; its result or its error, encoded."""
    import traceback

    from IPython import get_ipython

    try:
        args, kwargs = decode(payload)
        result = get_ipython().user_ns[name](*args, **dict(kwargs))
    except Exception as error:
        lines = traceback.format_exception(type(error), error, error.__traceback__)
        return json.dumps(
            {"t": "raised", "ename": type(error).__name__, "evalue": str(error)[:2000], "traceback": "".join(lines[-20:])[-8000:]}
        )
    try:
        return json.dumps({"t": "value", "v": _enc(result)})
    except (WireError, RecursionError) as error:
        return json.dumps({"t": "unreadable", "v": str(error) if isinstance(error, WireError) else "too deep"})


# -- decoding: the grader's side (trusts nothing) ------------------------------------------------


def _dtype(text):
    np, _ = _libraries()
    dtype = np.dtype(str(text))
    if dtype.kind not in RAW or dtype.hasobject:
        raise WireError(f"dtype {text}")
    return dtype


def _from_raw(item):
    np, _ = _libraries()
    if item.get("t") != "array":
        raise WireError("an array was expected")
    dtype, shape = _dtype(item["dtype"]), [int(n) for n in item["shape"]]
    data = base64.b64decode(item["b"], validate=True)
    count = 1
    for n in shape:
        count *= n
    if any(n < 0 for n in shape) or count * dtype.itemsize != len(data):
        raise WireError("an array whose size does not match its shape")
    return np.frombuffer(data, dtype=dtype).reshape(shape).copy()


def _from_values(item, depth):
    np, pd = _libraries()
    kind = item.get("t")
    if kind == "array":
        return _from_raw(item)
    if kind == "objects":
        shape = [int(n) for n in item["shape"]]
        array = np.empty(len(item["v"]), dtype=object)
        array[:] = [_dec(x, depth) for x in item["v"]]
        return array.reshape(shape)
    if kind == "categorical":
        return pd.Categorical.from_codes(
            _from_raw(item["codes"]), categories=_dec(item["categories"], depth), ordered=bool(item["ordered"])
        )
    if kind == "datetimetz":
        return pd.DatetimeIndex(_from_raw(item["v"])).tz_localize("UTC").tz_convert(str(item["tz"])).array
    if kind == "periods":
        return pd.PeriodIndex.from_ordinals(_from_raw(item["v"]), freq=str(item["freq"])).array
    if kind == "extension":
        if item["dtype"] not in EXTENSION:
            raise WireError(f"dtype {item['dtype']}")
        return pd.array([_dec(x, depth) for x in item["v"]], dtype=item["dtype"])
    raise WireError(f"values of kind {kind!r}")


def _from_index(item, depth):
    _, pd = _libraries()
    kind = item.get("t")
    if kind == "range":
        return pd.RangeIndex(int(item["start"]), int(item["stop"]), int(item["step"]), name=_dec(item["name"], depth))
    if kind == "multi":
        return pd.MultiIndex(
            levels=[_from_index(level, depth) for level in item["levels"]],
            codes=[_from_raw(codes) for codes in item["codes"]],
            names=[_dec(n, depth) for n in item["names"]],
        )
    if kind == "index":
        return pd.Index(_from_values(item["v"], depth), name=_dec(item["name"], depth), tupleize_cols=False)
    raise WireError(f"an index of kind {kind!r}")


def _dec(item, depth=0):
    if depth > DEPTH + 5:
        raise WireError("an answer nested too deep")
    depth += 1
    if item is None or type(item) in (bool, str):
        return item
    if type(item) is not dict:
        raise WireError(f"a bare {type(item).__name__}")
    np, pd = _libraries()
    kind = item.get("t")
    if kind == "int":
        text = str(item["v"])
        if len(text) > 4000:
            raise WireError("an integer of more than 4,000 digits")
        return int(text)
    if kind == "float":
        return float.fromhex(str(item["v"]))
    if kind in ("list", "tuple", "set"):
        items = [_dec(x, depth) for x in item["v"]]
        return items if kind == "list" else tuple(items) if kind == "tuple" else set(items)
    if kind == "dict":
        return {_dec(k, depth): _dec(v, depth) for k, v in item["v"]}
    if kind == "scalar":
        if item["v"] is None:
            raise WireError("a NumPy scalar of an unreadable dtype")
        return _from_raw(item["v"])[()]
    if kind in ("array", "objects"):
        return _from_values(item, depth)
    if kind == "nat":
        return pd.NaT
    if kind == "na":
        return pd.NA
    if kind == "timestamp":
        stamp = pd.Timestamp(int(item["v"]), unit="ns")
        return stamp.tz_localize("UTC").tz_convert(str(item["tz"])) if item["tz"] else stamp
    if kind == "timedelta":
        return pd.Timedelta(int(item["v"]), unit="ns")
    if kind == "period":
        return pd.Period(str(item["v"]), freq=str(item["freq"]))
    if kind in ("range", "multi", "index"):
        return _from_index(item, depth)
    if kind == "series":
        values, index = _from_values(item["v"], depth), _from_index(item["index"], depth)
        if len(values) != len(index):
            raise WireError("a Series whose index does not match its values")
        return pd.Series(values, index=index, name=_dec(item["name"], depth), copy=False)
    if kind == "frame":
        columns, index = _from_index(item["columns"], depth), _from_index(item["index"], depth)
        data = [_from_values(v, depth) for v in item["v"]]
        if len(data) != len(columns) or any(len(v) != len(index) for v in data):
            raise WireError("a DataFrame whose columns do not match its shape")
        frame = pd.DataFrame({i: pd.Series(v, index=index, copy=False) for i, v in enumerate(data)}, index=index)
        frame.columns = columns
        return frame
    if kind == "datetime":
        return datetime.datetime.fromisoformat(str(item["v"]))
    if kind == "date":
        return datetime.date.fromisoformat(str(item["v"]))
    if kind == "pytimedelta":
        days, seconds, micro = (int(x) for x in item["v"])
        return datetime.timedelta(days=days, seconds=seconds, microseconds=micro)
    if kind == "complex":
        return complex(float.fromhex(str(item["v"][0])), float.fromhex(str(item["v"][1])))
    raise WireError(f"a value of kind {kind!r}")


def decode(text):
    """The value :func:`encode` wrote; :class:`WireError` for anything else (the grader's side trusts no text)."""
    if not isinstance(text, str) or len(text) > LIMIT:
        raise WireError(f"an answer of more than {LIMIT:,} characters")
    try:
        return _dec(json.loads(text))
    except WireError:
        raise
    except (ValueError, TypeError, KeyError, IndexError, AttributeError, OverflowError, RecursionError) as error:
        raise WireError(f"a malformed answer ({type(error).__name__})") from None
