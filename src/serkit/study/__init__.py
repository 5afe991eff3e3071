"""Studies made of ordinary runs: the SpeechFlow decomposition study (seed 000).

* :mod:`serkit.study.config`: the study config (``serkit study decomposition CONFIG``).
* :mod:`serkit.study.decomposition`: its cells as experiment configs, run and collected.
* :mod:`serkit.study.decompose`: re-synthesised mels and audio of single files
  (``serkit decompose``).
* :mod:`serkit.study.report`: the study report (condition table, UAR plot, explanations).
"""
