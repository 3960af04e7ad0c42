"""``python -m curriculax`` runs the ``curriculax`` command."""

import sys

from curriculax.cli import main

sys.exit(main())
