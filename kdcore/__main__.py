"""``python -m kdcore``: see :mod:`kdcore.cli.main`."""

import sys

from kdcore.cli.main import main

if __name__ == "__main__":
    sys.exit(main())
