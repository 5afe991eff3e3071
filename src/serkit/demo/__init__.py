"""A deterministic synthetic emotional speech corpus for trying serkit without real data.

``make_corpus(dir)`` writes RAVDESS-named WAV files (``Actor_NN/03-01-EE-II-SS-RR-AA.wav``)
made by a small source-filter synthesiser (:mod:`serkit.demo.synth`), with speakers, emotion
profiles and sentences from :mod:`serkit.demo.voice`; ``serkit prepare ravdess DIR`` reads it.
"""

from __future__ import annotations

from serkit.demo.corpus import DEFAULT_EMOTIONS, DemoCorpus, make_corpus, synthesize

__all__ = ["DEFAULT_EMOTIONS", "DemoCorpus", "make_corpus", "synthesize"]
