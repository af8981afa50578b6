"""`python -m console`: serve the reviewers' console (see console.app.main)."""

from __future__ import annotations

import sys

from console.app import main

if __name__ == "__main__":
    sys.exit(main())
