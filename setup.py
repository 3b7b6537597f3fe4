"""Builds the optional C kernel of WaveNet's fast generation path; everything else is in pyproject.toml.

``optional=True``: without a C compiler the install still succeeds, and generation uses the numba kernel.
"""
from setuptools import Extension, setup

setup(ext_modules=[Extension("wavetron.generate._ckernel", ["src/wavetron/generate/_ckernel.c"],
                             extra_compile_args=["-O3", "-std=c11", "-ffp-contract=off"], optional=True)])
