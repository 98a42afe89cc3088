"""`python -m monitor` is the `vakt` command."""

import sys

from monitor.cli import main

sys.exit(main())
