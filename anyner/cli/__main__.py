"""``python -m anyner.cli``: the same as the ``anyner`` command (handy under torchrun)."""

from . import main

main()
