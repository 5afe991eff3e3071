"""The ``speechflow`` extractor: the condition reaches the decomposition, deltas, swapping, and
the store key (package key, condition, swap file). The registry-wide contract suite
(tests/features/test_contract.py) covers it too, through ``example_params``."""

from __future__ import annotations

import numpy as np
import pytest

from serkit.errors import ConfigError
from serkit.features import get_extractor

from ._tiny import speechflow_package, voice


@pytest.fixture(scope="module")
def package(tmp_path_factory):
    return speechflow_package(tmp_path_factory.mktemp("sf") / "pkg")


def test_every_condition_gives_its_own_mel_and_key(package):
    from serkit.encoders.speechflow import removed_inputs
    from serkit.features.speechflow import family_conditions

    signal = voice(1.0)
    out, keys = {}, set()
    for condition in (*family_conditions(), "RAW"):
        ex = get_extractor("speechflow", encoder=str(package), condition=condition)
        out[condition] = ex(signal, 16000)
        keys.add(ex.key())
    assert len(keys) == len(out)  # the condition is part of the store key
    frames = out["REC"].shape[0]
    assert all(v.shape == (frames, out["REC"].shape[1]) for v in out.values())
    assert not np.allclose(out["REC"], out["RAW"])  # re-synthesis changes the mel
    for condition in family_conditions()[1:]:
        assert removed_inputs(condition), condition
        assert not np.allclose(out[condition], out["REC"], atol=1e-6), condition


def test_raw_is_the_packages_input_mel(package):
    from serkit.features.encoder import cached_package

    signal = voice(0.8, seed=2)
    pkg = cached_package(str(package))
    raw = get_extractor("speechflow", encoder=str(package), condition="RAW")(signal, 16000)
    np.testing.assert_allclose(raw, pkg.frontend.compute(signal, 16000)[:, : raw.shape[1]])


def test_deltas_stack_channel_major_for_the_acrnn(package):
    from serkit.features.spectral import with_deltas

    signal = voice(1.0)
    static = get_extractor("speechflow", encoder=str(package), condition="NR")
    three = get_extractor("speechflow", encoder=str(package), condition="NR", deltas=2)
    s, t = static(signal, 16000), three(signal, 16000)
    assert three.channels == 3 and t.shape == (s.shape[0], 3 * s.shape[1])
    np.testing.assert_allclose(t, with_deltas(s, 2, 2), rtol=1e-5, atol=1e-6)
    assert len(three.feature_names()) == t.shape[1]


def test_swapping_timbre_feeds_another_utterance(package, tmp_path):
    import soundfile as sf

    other = tmp_path / "other.wav"
    sf.write(other, voice(1.2, f0=220.0, seed=5), 16000)
    signal = voice(1.0)
    plain = get_extractor("speechflow", encoder=str(package))
    swapped = get_extractor("speechflow", encoder=str(package), swap="timbre", swap_with=str(other))
    assert swapped.config.swap_key and swapped.key() != plain.key()
    a, b = plain(signal, 16000), swapped(signal, 16000)
    assert a.shape == b.shape and not np.allclose(a, b)
    sf.write(other, voice(1.2, f0=300.0, seed=6), 16000)  # another file at that path
    again = get_extractor("speechflow", encoder=str(package), swap="timbre", swap_with=str(other))
    assert again.key() != swapped.key()


def test_bad_parameters_are_refused(package, tmp_path):
    with pytest.raises(ConfigError, match="unknown condition 'NX'"):
        get_extractor("speechflow", encoder=str(package), condition="NX")
    with pytest.raises(ConfigError, match="go together"):
        get_extractor("speechflow", encoder=str(package), swap="timbre")
    import soundfile as sf

    wav = tmp_path / "w.wav"
    sf.write(wav, voice(0.5), 16000)
    with pytest.raises(ConfigError, match="unknown component"):
        get_extractor("speechflow", encoder=str(package), swap="voice", swap_with=str(wav))
    with pytest.raises(ConfigError, match="is not an audio file"):
        get_extractor("speechflow", encoder=str(package), swap="timbre", swap_with=str(tmp_path))
    with pytest.raises(ConfigError, match="needs encoder"):
        get_extractor("speechflow")
    with pytest.raises(ConfigError, match="content key"):
        get_extractor("speechflow", encoder=str(package), package_key="0" * 16)


def test_a_package_of_another_family_is_refused(tmp_path):
    from tests.encoders._save import save_family

    from serkit.encoders import list_encoders

    other = next(f for f in list_encoders() if f != "speechflow")
    folder = save_family(other, tmp_path / "other")
    with pytest.raises(ConfigError, match=f"family '{other}', not 'speechflow'"):
        get_extractor("speechflow", encoder=str(folder))
