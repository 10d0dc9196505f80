"""Benchmarks: ``python -m bench.<name>`` from the project root, one command per figure.

Each prints its figures, the limit it measured in the same run, the ratio, the machine and
the command, and ends with one line of JSON (``bench``, ``value``, ``limit``, ``ratio``;
``p50_ms``/``p99_ms`` where it measures latency). ``--quick`` finishes in under 30 s.
"""
