"""`python -m pyxos ...`: the same as the `pyxos` command."""

import sys

from pyxos.cli.main import main

sys.exit(main())
