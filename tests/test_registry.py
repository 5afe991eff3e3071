"""serkit.registry.Registry: registration, lookup, errors with suggestions."""

from __future__ import annotations

import pytest

from serkit.errors import RegistryError
from serkit.registry import Registry


@pytest.fixture
def registry():
    reg: Registry[object] = Registry("model")

    @reg.register("svm")
    class SVM:
        pass

    reg.add("random-forest", "rf")
    return reg


def test_register_and_get(registry):
    assert registry.get("svm").__name__ == "SVM"
    assert registry.get("SVM") is registry.get("svm")
    assert registry.get("random_forest") == "rf"  # underscores match dashes
    assert registry.names() == ["random-forest", "svm"]
    assert list(registry) == registry.names()
    assert len(registry) == 2
    assert "svm" in registry and "Svm" in registry and "mlp" not in registry and 3 not in registry


def test_decorator_returns_the_object(registry):
    def factory():
        return 1

    assert registry.register("factory")(factory) is factory


def test_duplicate_name_is_an_error_unless_same_object(registry):
    registry.add("svm", registry.get("svm"))  # re-registering the same object is harmless
    with pytest.raises(RegistryError, match="model 'SVM' is registered twice"):
        registry.add("SVM", object())


def test_unknown_name_suggests_close_matches(registry):
    with pytest.raises(RegistryError) as info:
        registry.get("svn")
    message = str(info.value)
    assert message.startswith("unknown model 'svn'")
    assert "Did you mean svm?" in message
    assert "Known: random-forest, svm" in message
    with pytest.raises(KeyError):  # RegistryError is also a KeyError
        registry.get("zzz")
    with pytest.raises(RegistryError) as info:
        registry.get("zzzzzz")
    assert "Did you mean" not in str(info.value)
