"""``python -m node.cli``: the same as the ``tradeaccord`` console script."""

from node.cli.main import main

main()
