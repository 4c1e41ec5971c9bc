"""``python -m modeldeploy``: run the operator (``operator``) or the kubectl plugin (anything else)."""

from __future__ import annotations

import sys


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "operator":
        from modeldeploy.controller.main import main as operator_main

        return operator_main(sys.argv[2:])
    print("usage: python -m modeldeploy operator [--namespace NS ...] [--standalone]", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
