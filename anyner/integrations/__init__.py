"""Bridges to other libraries. Each module imports its library itself; importing this package
imports none of them.

- :mod:`anyner.integrations.spacy`: the ``"anyner"`` spaCy v3 pipeline component.
- :mod:`anyner.integrations.ray`: ``extract(dataset, labels)`` on Ray Data, for corpora
  beyond one machine.
"""
