"""serkit.config: YAML loading, a.b=c overrides with YAML types, errors."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from serkit import config
from serkit.errors import ConfigError


@pytest.fixture
def yaml_file(tmp_path):
    path = tmp_path / "exp.yaml"
    path.write_text(
        "name: demo\nmodel:\n  name: svm\n  params: {C: 1.0, kernel: rbf}\nfeatures: [egemaps]\n"
    )
    return path


def test_load_plain(yaml_file):
    data = config.load(yaml_file)
    assert data == {
        "name": "demo",
        "model": {"name": "svm", "params": {"C": 1.0, "kernel": "rbf"}},
        "features": ["egemaps"],
    }


def test_overrides_nested_and_new_keys(yaml_file):
    data = config.load(
        yaml_file, ["model.params.C=10", "model.params.gamma=scale", "protocol.name=loso"]
    )
    assert data["model"]["params"] == {"C": 10, "kernel": "rbf", "gamma": "scale"}
    assert data["protocol"] == {"name": "loso"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("10", 10),
        ("1e-3", 1e-3),
        ("0.5", 0.5),
        ("true", True),
        ("null", None),
        ("[a, b]", ["a", "b"]),
        ("{x: 1}", {"x": 1}),
        ("svm", "svm"),
        ("a=b", "a=b"),
        ("'10'", "10"),
    ],
)
def test_override_values_take_yaml_types(text, expected):
    assert config.apply_overrides({}, [f"k={text}"])["k"] == expected


def test_yaml_files_read_exponent_floats(tmp_path):
    path = tmp_path / "lr.yaml"
    path.write_text("lr: 1e-3\nwd: 5E-4\nsteps: 10\nname: 1e\n")
    assert config.load(path) == {"lr": 1e-3, "wd": 5e-4, "steps": 10, "name": "1e"}


def test_override_does_not_mutate_input():
    data = {"a": {"b": 1}}
    out = config.apply_overrides(data, ["a.b=2"])
    assert data == {"a": {"b": 1}} and out == {"a": {"b": 2}}


@given(st.dictionaries(st.from_regex(r"[a-z]{1,6}", fullmatch=True), st.integers(), max_size=5))
def test_parse_pairs_round_trips_integers(items):
    pairs = [f"{key}={value}" for key, value in items.items()]
    assert config.parse_pairs(pairs) == items


@pytest.mark.parametrize(
    ("override", "match"),
    [("model.params.C", "expected KEY=VALUE"), ("=3", "empty key"), ("name.x=1", "holds str")],
)
def test_override_errors(yaml_file, override, match):
    with pytest.raises(ConfigError, match=match):
        config.load(yaml_file, [override])


def test_load_errors(tmp_path):
    with pytest.raises(ConfigError, match="no such config"):
        config.load(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("a: [1, 2\n")
    with pytest.raises(ConfigError, match="bad.yaml: invalid YAML"):
        config.load(bad)
    listing = tmp_path / "list.yaml"
    listing.write_text("- a\n- b\n")
    with pytest.raises(ConfigError, match="expected a mapping.*list"):
        config.load(listing)
    empty = tmp_path / "empty.yaml"
    empty.write_text("")
    assert config.load(empty) == {}


def test_yaml_cannot_execute_code(tmp_path):
    evil = tmp_path / "evil.yaml"
    evil.write_text("x: !!python/object/apply:os.system ['echo hi']\n")
    with pytest.raises(ConfigError, match="invalid YAML"):
        config.load(evil)


def test_dump_round_trip(tmp_path, yaml_file):
    data = config.load(yaml_file, ["model.params.C=3"])
    out = config.dump(data, tmp_path / "sub" / "resolved.yaml")
    assert config.load(out) == data
    assert out.read_text().startswith("name: demo")  # insertion order kept
