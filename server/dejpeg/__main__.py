"""`python -m dejpeg ...`: see cli.py."""
from .cli import main

raise SystemExit(main())
