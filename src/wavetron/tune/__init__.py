"""Hyper-parameter search with Optuna: every trial trains through :func:`wavetron.train.train`.

``load_space`` reads a search space (dotted config keys to ranges or choices), ``run_study``
runs trials against an RDB storage (resumable, shareable between processes) and
``write_outputs`` leaves the best config as a preset, a table of trials and plots.
"""
from .report import summary, write_outputs
from .space import Param, load_space
from .study import BadTrial, TuneSettings, counted_trials, open_study, run_study

__all__ = ["BadTrial", "Param", "TuneSettings", "counted_trials", "load_space", "open_study", "run_study",
           "summary", "write_outputs"]
