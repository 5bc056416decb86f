"""The command-line doors: one module per tool, each with ``build_parser()`` and ``main(argv) -> int``.

Run them as ``python tools/<tool>.py``, ``python -m aqa_tools.<tool>`` or the ``aqa-<tool>`` console
scripts (setup.py). Nothing is imported here: ``--help`` must stay free of torch and the zoo.
"""
