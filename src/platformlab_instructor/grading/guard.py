"""The grader's check inside a grading kernel: what student code changed in the kernel, for the instructor's review.

Not imported by the grader: :class:`.kernels.BoundedExecute` sends this file's text to each
kernel (silently, before its first cell), where it keeps a copy of the kernel's state
(:func:`baseline`); after the last cell it calls :func:`check`, through the
``user_expressions`` of a silent execute request, and reads the answer in the execute reply
(the shell channel, where a cell's printing cannot reach), tagged with a fresh nonce.

What it finds (each a finding, which the grader turns into a flag for the instructor):
IPython event hooks, input or AST transformers and custom exception handlers the notebook
added; display and exception hooks, methods of IPython's and ipykernel's classes, builtins,
comparison functions of math, numpy and pandas, and those modules themselves replaced;
functions named like a builtin that a test uses; objects equal to anything. It also puts
back what it found.

Scores do not depend on it: the tests run in the grader (:mod:`.testcells`), not in this
kernel. It runs in the student's process, so code that has read this file can silence it
(README, "Threat model"); it names who tried the known tricks.
Stdlib only; it defines nothing in the notebook's namespace.
"""

import builtins
import json
import sys

NAME = "_platformlab_guard"
EVENTS = ("pre_execute", "pre_run_cell", "post_execute", "post_run_cell")
#: functions tests compare with, by dotted name (each module is imported at the baseline if it can be)
LIBRARY = (
    "math.isclose",
    "numpy.allclose",
    "numpy.isclose",
    "numpy.array_equal",
    "numpy.testing.assert_allclose",
    "numpy.testing.assert_array_equal",
    "numpy.testing.assert_almost_equal",
    "pandas.testing.assert_frame_equal",
    "pandas.testing.assert_series_equal",
    "pandas.testing.assert_index_equal",
    "pandas.DataFrame.equals",
    "pandas.Series.equals",
    "pandas.DataFrame.__eq__",
    "pandas.Series.__eq__",
)
MODULES = ("builtins", "math", "numpy", "numpy.testing", "pandas", "pandas.testing")
#: hooks that libraries register while a notebook uses them (matplotlib's inline backend)
LIBRARY_HOOKS = (
    "matplotlib.pyplot._draw_all_if_interactive",
    "matplotlib_inline.backend_inline.flush_figures",
    "matplotlib_inline.backend_inline.configure_once",
)
#: builtins names IPython itself rebinds as cells run
MOVING = {"_", "__", "___"}
STATE = {}


def _resolve(dotted):
    """The object at ``dotted`` (a module, then attributes), or None."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        module = sys.modules.get(".".join(parts[:cut]))
        if module is not None:
            value = module
            for part in parts[cut:]:
                value = getattr(value, part, None)
            return value
    return None


def _set(dotted, value):
    owner, _, attribute = dotted.rpartition(".")
    setattr(_resolve(owner), attribute, value)


def _label(value):
    return f"{getattr(value, '__module__', '?')}.{getattr(value, '__qualname__', type(value).__name__)}"


def _transformer_lists(ip):
    """(label, owner, attribute) of every list of code transformers IPython applies to a cell."""
    manager = ip.input_transformer_manager
    return [
        ("input transformer", ip, "input_transformers_post"),
        ("AST transformer", ip, "ast_transformers"),
        ("input transformer", manager, "cleanup_transforms"),
        ("input transformer", manager, "line_transforms"),
        ("input transformer", manager, "token_transformers"),
    ]


def _objects(ip):
    """The kernel objects a cell's result and errors pass through: (label, owner, attribute)."""
    # (not sys.displayhook: IPython swaps it in and out around each cell; its display trap holds the real one)
    return [
        ("IPython's display trap", ip.display_trap, "hook"),
        ("IPython's display hook", ip, "displayhook"),
        ("IPython's display publisher", ip, "display_pub"),
        ("IPython's display formatter", ip, "display_formatter"),
        ("IPython's compiler", ip, "compile"),
        ("IPython's input transformer manager", ip, "input_transformer_manager"),
        ("IPython's events", ip, "events"),
    ]


def _classes(ip):
    """The classes whose methods run a cell and report it, each with its bases."""
    found = []
    for value in (ip, ip.kernel, ip.displayhook, ip.display_pub, ip.events, ip.input_transformer_manager, ip.compile):
        for cls in type(value).__mro__:
            if cls is not object and cls not in found:
                found.append(cls)
    return found


def _every_class():
    """Every class in the kernel (a walk of ``__subclasses__`` from ``object``)."""
    seen, stack, found = set(), [object], []
    while stack:
        try:
            subclasses = type.__subclasses__(stack.pop())
        except TypeError:
            continue
        for sub in subclasses:
            if id(sub) not in seen:
                seen.add(id(sub))
                stack.append(sub)
                found.append(sub)
    return found


def baseline(nonce):
    """Keep the kernel's state before any cell of the notebook ran; answer with the nonce."""
    from IPython import get_ipython

    ip = get_ipython()
    for module in MODULES:
        try:
            __import__(module)
        except Exception:  # a kernel without numpy or pandas: nothing to keep of them
            pass
    STATE.update(
        builtins={k: v for k, v in vars(builtins).items() if k not in MOVING},
        library={name: _resolve(name) for name in LIBRARY},
        modules={name: sys.modules.get(name) for name in MODULES},
        hooks={event: list(ip.events.callbacks.get(event, [])) for event in EVENTS},
        transformers={(id(owner), attribute): list(getattr(owner, attribute)) for _, owner, attribute in _transformer_lists(ip)},
        objects={attribute: getattr(owner, attribute) for _, owner, attribute in _objects(ip)},
        classes={cls: dict(vars(cls)) for cls in _classes(ip)},
        instances={id(value): set(vars(value)) for value in (ip, ip.kernel, ip.displayhook, ip.display_pub, ip.events)},
        namespace={key: id(value) for key, value in ip.user_ns.items()},
        every_class={id(cls) for cls in _every_class()},
    )
    return json.dumps({"nonce": nonce, "found": []})


def _machinery(ip, found):
    for label, owner, attribute in _objects(ip):
        original = STATE["objects"][attribute]
        if getattr(owner, attribute) is not original:
            found.append(f"{label} replaced")
            setattr(owner, attribute, original)
    for cls, original in STATE["classes"].items():
        for name, value in original.items():
            if vars(cls).get(name) is not value and callable(value):
                found.append(f"{cls.__name__}.{name} replaced")
                setattr(cls, name, value)
    for value in (ip, ip.kernel, ip.displayhook, ip.display_pub, ip.events):
        for name in set(vars(value)) - STATE["instances"][id(value)]:
            if callable(getattr(type(value), name, None)):
                found.append(f"{type(value).__name__}.{name} replaced on the instance")
                delattr(value, name)
    allowed = {id(hook) for hooks in STATE["hooks"].values() for hook in hooks}
    allowed |= {id(_resolve(name)) for name in LIBRARY_HOOKS if _resolve(name) is not None}
    for event in EVENTS:
        for hook in list(ip.events.callbacks.get(event, [])):
            if id(hook) not in allowed:
                found.append(f"IPython {event} hook {_label(hook)} registered")
                ip.events.callbacks[event].remove(hook)
    for label, owner, attribute in _transformer_lists(ip):
        original = STATE["transformers"][(id(owner), attribute)]
        current = getattr(owner, attribute)
        if [id(t) for t in current] != [id(t) for t in original]:
            known = {id(t) for t in original}
            found.extend(f"{label} {_label(t)} added" for t in current if id(t) not in known)
            if all(id(t) in known for t in current):
                found.append(f"{label}s removed or reordered")
            setattr(owner, attribute, list(original))
    if ip.custom_exceptions:
        found.append(f"custom exception handler for {', '.join(c.__name__ for c in ip.custom_exceptions)}")
        ip.custom_exceptions = ()


def _functions(found):
    for name, original in STATE["builtins"].items():
        if vars(builtins).get(name) is not original:
            found.append(f"builtin {name} replaced")
            setattr(builtins, name, original)
    for name, original in STATE["modules"].items():
        if original is not None and sys.modules.get(name) is not original:
            found.append(f"module {name} replaced")
            sys.modules[name] = original
    for name, original in STATE["library"].items():
        if original is not None and _resolve(name) is not original:
            found.append(f"{name} replaced")
            _set(name, original)


class _Unrelated:
    """A value nothing honest compares equal to."""


def _equal_to_anything(value):
    try:
        answer = value == _Unrelated()
        if answer is True or answer is False:
            return answer
        if getattr(answer, "shape", ()) != ():  # numpy and pandas compare element by element
            return False
        return bool(answer)
    except Exception:
        return False


def _comparisons(ip, names, found):
    for name in names:  # a function named like a builtin that the test calls
        value = ip.user_ns.get(name)
        if name in STATE["builtins"] and value is not None and STATE["namespace"].get(name) != id(value) and callable(value):
            found.append(f"the notebook's {name} hides the builtin the test uses")
            del ip.user_ns[name]
    values = []
    for key, value in ip.user_ns.items():
        if STATE["namespace"].get(key) == id(value) or key in ("_", "__", "___") or key.startswith("_i"):
            continue
        values.append((key, value))
        if type(value) in (list, tuple, set):
            values.extend((key, item) for item in list(value)[:100])
        elif type(value) is dict:
            values.extend((key, item) for item in list(value.values())[:100])
    for key, value in values:
        if not isinstance(value, type) and _equal_to_anything(value):
            found.append(f"{key} compares equal to anything")
    for cls in _every_class():  # classes made since the baseline whose == says yes to anything
        method = vars(cls).get("__eq__") if id(cls) not in STATE["every_class"] else None
        if callable(method):
            try:
                if method(_Unrelated(), _Unrelated()) is True:
                    found.append(f"class {cls.__qualname__} compares equal to anything")
            except Exception:
                pass


def check(nonce, names):
    """What changed since :func:`baseline`, put back; ``names``: the names the test cells use."""
    from IPython import get_ipython

    ip, found = get_ipython(), []
    for step in (lambda: _machinery(ip, found), lambda: _functions(found), lambda: _comparisons(ip, names, found)):
        try:
            step()
        except Exception as error:  # a check that breaks is itself a finding: honest notebooks never cause one
            found.append(f"the grader's check failed ({type(error).__name__}: {error})")
    return json.dumps({"nonce": nonce, "found": list(dict.fromkeys(found))})
