"""Parameters checked against their declared types before any work (names, then types).

A registered class declares its parameters in its ``__init__`` signature, type hints included
(``C: float = 1.0``, ``patience: int | None = 8``, ``net_params: dict[str, Any] | None``).
:func:`check_params` refuses a parameter the signature does not take and a value whose type
the hint does not allow, so that ``model.params.epochs=three`` or ``k=6.5`` (from a YAML
override) is an error naming the parameter, not a traceback mid-run or a silent ``int(6.5)``.

Understood hints: ``int`` (an int, never a bool or a float such as ``6.5`` or ``6.0``),
``float`` (an int or a float), ``str``, ``bool``, ``None``, ``dict``, ``list`` / ``tuple``
(a YAML list; ``list[int]``, ``tuple[int, ...]`` check their items), unions of these with
``|``, and ``Any``. Other hints are not checked.

Example::

    check_params(SVMClassifier.__init__, {"C": "ten"}, "model 'svm'")
    # ConfigError: model 'svm': parameter C='ten' has type str; expected a number (float)
"""

from __future__ import annotations

import inspect
import numbers
from collections.abc import Callable
from typing import Any

from serkit.errors import ConfigError

#: how a message names each understood hint
_WORDS = {
    "int": "an integer",
    "float": "a number (float)",
    "str": "a string",
    "bool": "true or false",
    "None": "null",
    "dict": "a mapping",
    "list": "a list",
    "tuple": "a list",
}
_PLURALS = {"int": "integers", "float": "numbers", "str": "strings", "bool": "booleans"}


def _split(text: str, sep: str) -> list[str]:
    """``text`` split on ``sep`` outside brackets."""
    parts, depth, start = [], 0, 0
    for i, char in enumerate(text):
        depth += char == "["
        depth -= char == "]"
        if char == sep and depth == 0:
            parts.append(text[start:i].strip())
            start = i + 1
    parts.append(text[start:].strip())
    return parts


def _hint_text(annotation: Any) -> str:
    if isinstance(annotation, str):
        return annotation
    if annotation is None or annotation is type(None):
        return "None"
    if isinstance(annotation, type):
        return annotation.__name__
    return str(annotation)


def _matches(value: Any, hint: str) -> bool | None:
    """Whether ``value`` fits one union member ``hint``; ``None`` when ``hint`` is not
    understood (so not checked)."""
    base, _, rest = hint.partition("[")
    base = base.strip().removeprefix("typing.")
    if base in ("Any", "object"):
        return True
    if base == "None":
        return value is None
    if base == "bool":
        return isinstance(value, bool)
    if base == "int":
        return isinstance(value, numbers.Integral) and not isinstance(value, bool)
    if base == "float":
        return isinstance(value, numbers.Real) and not isinstance(value, bool)
    if base == "str":
        return isinstance(value, str)
    if base == "dict":
        return isinstance(value, dict)
    if base in ("list", "tuple"):
        if not isinstance(value, (list, tuple)):
            return False
        items = [i for i in _split(rest.rstrip("]"), ",") if i and i != "..."] if rest else []
        if len(items) != 1:  # tuple[int, str] and friends: the items are not checked
            return True
        return all(_matches(item, items[0]) is not False for item in value)
    return None


def check_value(value: Any, annotation: Any, who: str, key: str) -> None:
    """Check one parameter value against its type hint.

    Args:
        value: the value as configured (e.g. parsed from YAML).
        annotation: the hint, a string (``"int | None"``) or a type.
        who: what the parameter belongs to, for the message (``"model 'svm'"``).
        key: the parameter name.

    Raises:
        ConfigError: the value does not fit the hint (names parameter, value and type).
    """
    if annotation is inspect.Parameter.empty:
        return
    hints = _split(_hint_text(annotation), "|")
    verdicts = [_matches(value, hint) for hint in hints]
    if any(v is None or v for v in verdicts):
        return
    words = []
    for hint in hints:
        base = hint.partition("[")[0].strip()
        word = _WORDS.get(base, hint)
        item = _split(hint.partition("[")[2].rstrip("]"), ",")[0]
        if base in ("list", "tuple") and item in _PLURALS:
            word = f"a list of {_PLURALS[item]}"
        if word not in words:
            words.append(word)
    advice = ""
    if isinstance(value, float) and value.is_integer() and "an integer" in words:
        advice = f" (write {int(value)}, without a decimal point)"
    raise ConfigError(
        f"{who}: parameter {key}={value!r} has type {type(value).__name__}; expected "
        f"{' or '.join(words)}{advice}"
    )


def check_params(
    func: Callable[..., Any],
    params: dict[str, Any],
    who: str,
    *,
    skip: tuple[str, ...] = ("self",),
) -> None:
    """Check ``params`` against the signature of ``func`` (e.g. a class's ``__init__``):
    every name must be a parameter (unless it takes ``**kwargs``) and every value must fit
    its type hint.

    Args:
        func: the callable whose signature declares the parameters.
        params: the parameters to check.
        who: what they belong to, for messages (``"model 'svm'"``, ``"net 'cnn-attn'"``).
        skip: signature parameters that are not configurable (``self``, ``input_dim``, ...).

    Raises:
        ConfigError: an unknown name (listing the known ones) or a value of the wrong type.
    """
    accepted = {
        name: p
        for name, p in inspect.signature(func).parameters.items()
        if name not in skip and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    }
    takes_any = any(p.kind is p.VAR_KEYWORD for p in inspect.signature(func).parameters.values())
    unknown = sorted(set(params) - set(accepted))
    if unknown and not takes_any:
        raise ConfigError(
            f"{who} has no parameter(s) {', '.join(unknown)}; "
            f"known: {', '.join(sorted(accepted)) or 'none'}"
        )
    for name, value in params.items():
        if name in accepted:
            check_value(value, accepted[name].annotation, who, name)
